#include "tls/authkey.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/env.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"

namespace outpost::tls {
namespace {

const log::Category log_cat{"tls.authkey"};

constexpr const char* kDomain = "authkey";
// Read in chunks so a file whose reported size is wrong (or changes while we read it) is
// still bounded by max_size.
constexpr std::size_t kReadChunk = 8192;

Error file_error(const std::string& path, int code, const std::string& why)
{
    return make_error(kDomain, code, "authkey file " + log::quote(path) + " " + why);
}

Error errno_error(const std::string& path, int err, const char* action)
{
    if (err == ENOENT) return file_error(path, -ENOENT, "does not exist");
    return file_error(path, -err, std::string("could not be ") + action + ": " + std::strerror(err));
}

void secure_wipe(std::vector<std::uint8_t>& bytes)
{
    if (!bytes.empty()) explicit_bzero(bytes.data(), bytes.size());
}

}  // namespace

Authkey::Authkey(std::string_view bytes) : bytes_(bytes.begin(), bytes.end()) {}

Authkey::Authkey(Authkey&& other) noexcept : bytes_(std::move(other.bytes_))
{
    other.bytes_.clear();
}

Authkey& Authkey::operator=(const Authkey& other)
{
    if (this != &other) {
        wipe();
        bytes_ = other.bytes_;
    }
    return *this;
}

Authkey& Authkey::operator=(Authkey&& other) noexcept
{
    if (this != &other) {
        wipe();
        bytes_ = std::move(other.bytes_);
        other.bytes_.clear();
    }
    return *this;
}

Authkey::~Authkey()
{
    wipe();
}

void Authkey::wipe()
{
    secure_wipe(bytes_);
    bytes_.clear();
}

Result<Authkey> read_authkey_file(const std::string& path, std::size_t max_size)
{
    if (path.empty()) return make_error(kDomain, -EINVAL, "authkey file path is empty");
    // O_NONBLOCK so a FIFO at the path cannot hang us in open(); regular files ignore it.
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!file) return errno_error(path, errno, "opened");
    const int fd = file.get();

    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error(path, errno, "examined");
    if (!S_ISREG(st.st_mode)) return file_error(path, -EINVAL, "is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > max_size) {
        return file_error(path, -EFBIG,
                          "is too large (" + std::to_string(st.st_size) + " bytes; an authkey is at most " +
                              std::to_string(max_size) + " bytes, usually 4096)");
    }

    std::vector<std::uint8_t> bytes;
    bytes.reserve(static_cast<std::size_t>(st.st_size));
    std::uint8_t chunk[kReadChunk];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            secure_wipe(bytes);
            explicit_bzero(chunk, sizeof(chunk));
            return errno_error(path, err, "read");
        }
        if (n == 0) break;
        if (bytes.size() + static_cast<std::size_t>(n) > max_size) {
            secure_wipe(bytes);
            explicit_bzero(chunk, sizeof(chunk));
            return file_error(
                path, -EFBIG,
                "is too large (more than " + std::to_string(max_size) + " bytes; usually 4096)");
        }
        // Grow by hand so no reallocation leaves an unwiped copy of the key behind.
        if (bytes.size() + static_cast<std::size_t>(n) > bytes.capacity()) {
            std::vector<std::uint8_t> bigger;
            bigger.reserve(std::min(max_size, 2 * (bytes.size() + static_cast<std::size_t>(n))));
            bigger.assign(bytes.begin(), bytes.end());
            secure_wipe(bytes);
            bytes.swap(bigger);
        }
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    explicit_bzero(chunk, sizeof(chunk));
    if (bytes.empty()) return file_error(path, -ENOKEY, "is empty (a 0-byte file counts as no key)");

    Authkey key(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    secure_wipe(bytes);
    log_debug(log_cat, "read authkey of %zu bytes from %s", key.size(), log::quote(path).c_str());
    return key;
}

Result<Authkey> generate_authkey(std::size_t size)
{
    std::vector<std::uint8_t> bytes(size);
    for (std::size_t done = 0; done < size;) {
        ssize_t n = ::getrandom(bytes.data() + done, size - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            return make_error(kDomain, -err, std::string("getrandom: ") + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    Authkey key(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    secure_wipe(bytes);
    return key;
}

Result<WrittenAuthkey> write_authkey_file(const std::string& path, const Authkey& key,
                                          const AuthkeyFileOptions& options)
{
    // Replacing: write a sibling and rename it over, so a reader never sees half a key.
    const std::string target = options.replace ? path + ".outpost-new" : path;
    if (options.replace) (void)::unlink(target.c_str());
    UniqueFd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        const int err = errno;
        if (err == EEXIST) return make_error(kAuthkeyCreateDomain, -EEXIST, path + " exists");
        return make_error(kAuthkeyCreateDomain, -err, "cannot create " + target + ": " + std::strerror(err));
    }
    auto fail = [&](const char* what) -> Error {
        const int err = errno;
        fd.reset();
        ::unlink(target.c_str());
        return make_error(kDomain, -err, std::string(what) + " " + target + ": " + std::strerror(err));
    };
    for (std::size_t done = 0; done < key.size();) {
        ssize_t n = ::write(fd.get(), key.data() + done, key.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail("writing");
        }
        done += static_cast<std::size_t>(n);
    }
    if (options.group && ::fchown(fd.get(), 0, *options.group) != 0 && ::geteuid() == 0) return fail("chown");
    if (::fchmod(fd.get(), options.mode) != 0) return fail("chmod");
    if (::fsync(fd.get()) != 0) return fail("fsync");
    struct stat written {};
    if (::fstat(fd.get(), &written) != 0) return fail("stat");
    fd.reset();
    if (options.replace && ::rename(target.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(target.c_str());
        return make_error(kDomain, -err, "replacing " + path + ": " + std::strerror(err));
    }
    return WrittenAuthkey{written.st_uid, written.st_gid, written.st_mode & 07777};
}

AuthkeySearch AuthkeySearch::from_environment()
{
    AuthkeySearch search;
    search.configured = env::get(kAuthkeyLocationEnv);
    return search;
}

Result<FoundAuthkey> find_authkey(const AuthkeySearch& search, std::size_t max_size)
{
    FoundAuthkey found;
    const bool have_configured = search.configured.has_value() && !search.configured->empty();

    auto attempt = [&](const std::string& path) -> bool {
        auto key = read_authkey_file(path, max_size);
        if (!key) {
            log_debug(log_cat, "%s", key.error().message.c_str());
            found.skipped.push_back(key.error());
            return false;
        }
        found.key = std::move(key).value();
        found.path = path;
        return true;
    };

    if (have_configured && attempt(*search.configured)) return found;
    // Step 2 unless step 1 already was that path.
    bool default_ok = false;
    if (!have_configured || *search.configured != search.default_path)
        default_ok = attempt(search.default_path);
    if (default_ok) return found;
    // Step 3 only because step 2 failed (or was the configured path, which failed).
    if ((!have_configured || *search.configured != search.legacy_path) && attempt(search.legacy_path)) {
        return found;
    }

    std::string message = "no usable authkey:";
    for (std::size_t i = 0; i < found.skipped.size(); ++i) {
        message += (i == 0 ? " " : "; ") + found.skipped[i].message;
    }
    return make_error(kDomain, -ENOKEY, message);
}

AuthkeyStore::AuthkeyStore(AuthkeySearch search, Clock clock, std::chrono::seconds lifetime)
    : search_(std::move(search)), clock_(std::move(clock)), lifetime_(lifetime)
{
    if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

Result<Authkey> AuthkeyStore::get()
{
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    if (cached_ && now - cached_at_ < lifetime_) return *cached_;

    // Expired or never read: the old key must not outlive its minute (rotation, removal).
    cached_.reset();
    cached_path_.clear();
    auto found = find_authkey(search_);
    if (!found) return found.error();
    cached_ = found->key;
    cached_path_ = found->path;
    cached_at_ = now;
    return std::move(found->key);
}

void AuthkeyStore::invalidate()
{
    std::lock_guard lock(mutex_);
    cached_.reset();
    cached_path_.clear();
}

std::string AuthkeyStore::cached_path() const
{
    std::lock_guard lock(mutex_);
    return cached_path_;
}

}  // namespace outpost::tls
