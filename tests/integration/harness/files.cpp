#include "harness/files.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "harness/fd.hpp"

namespace outpost::test {
namespace {

Status write_all(int fd, const std::string& data, const std::string& what)
{
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error("harness", -errno, "write " + what + ": " + strerror(errno));
        done += static_cast<std::size_t>(n);
    }
    return {};
}

}  // namespace

Result<TempDir> TempDir::create(const std::string& prefix)
{
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + ".XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        return make_error("harness", -errno, "mkdtemp " + pattern + ": " + strerror(errno));
    }
    return TempDir(std::filesystem::path(buffer.data()));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept
{
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

TempDir::~TempDir()
{
    remove();
}

void TempDir::keep()
{
    if (path_.empty()) return;
    (void)std::fprintf(stderr, "harness: keeping %s\n", path_.c_str());
    path_.clear();
}

void TempDir::remove()
{
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) (void)std::fprintf(stderr, "harness: removing %s: %s\n", path_.c_str(), ec.message().c_str());
    path_.clear();
}

Authkey::Authkey(std::filesystem::path path, std::string bytes, std::optional<TempDir> dir)
    : path_(std::move(path)), bytes_(std::move(bytes)), dir_(std::move(dir))
{
}

Result<Authkey> Authkey::create(const std::filesystem::path& file, std::size_t size)
{
    std::string bytes(size, '\0');
    std::size_t filled = 0;
    while (filled < size) {
        ssize_t n = ::getrandom(bytes.data() + filled, size - filled, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error("harness", -errno, std::string("getrandom: ") + strerror(errno));
        filled += static_cast<std::size_t>(n);
    }
    Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return make_error("harness", -errno, "create " + file.string() + ": " + strerror(errno));
    if (auto s = write_all(fd.get(), bytes, file.string()); !s) return s.error();
    return Authkey(file, std::move(bytes), std::nullopt);
}

Result<Authkey> Authkey::create_temporary(std::size_t size)
{
    auto dir = TempDir::create("outpost-authkey");
    if (!dir) return dir.error();
    auto key = create(*dir / "authkey", size);
    if (!key) return key.error();
    return Authkey(key->path_, std::move(key->bytes_), std::move(*dir));
}

Status Authkey::share_with_group(const std::string& group)
{
    std::vector<char> buffer(16384);
    struct group entry {};
    struct group* found = nullptr;
    int rc = ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
        return make_error("harness", rc != 0 ? -rc : -ENOENT, "group " + group + " not found");
    }
    if (::chown(path_.c_str(), 0, found->gr_gid) != 0 || ::chmod(path_.c_str(), 0640) != 0) {
        return make_error("harness", -errno, "chown/chmod " + path_.string() + ": " + strerror(errno));
    }
    if (dir_ && ::chmod(dir_->path().c_str(), 0711) != 0) {
        return make_error("harness", -errno, "chmod " + dir_->path().string() + ": " + strerror(errno));
    }
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return make_error("harness", -errno, "open " + path.string() + ": " + strerror(errno));
    std::string content;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error("harness", -errno, "read " + path.string() + ": " + strerror(errno));
        if (n == 0) break;
        if (content.size() + static_cast<std::size_t>(n) > limit) {
            return make_error("harness", -EFBIG,
                              path.string() + " is larger than " + std::to_string(limit) + " bytes");
        }
        content.append(buffer, static_cast<std::size_t>(n));
    }
    return content;
}

std::string file_tail(const std::filesystem::path& path, std::size_t max_bytes)
{
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return "";
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return "";
    off_t start = st.st_size > static_cast<off_t>(max_bytes) ? st.st_size - static_cast<off_t>(max_bytes) : 0;
    std::string tail(static_cast<std::size_t>(st.st_size - start), '\0');
    ssize_t n = ::pread(fd.get(), tail.data(), tail.size(), start);
    if (n < 0) return "";
    tail.resize(static_cast<std::size_t>(n));
    return tail;
}

Status write_file(const std::filesystem::path& path, const std::string& content, mode_t mode)
{
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd.valid()) return make_error("harness", -errno, "create " + path.string() + ": " + strerror(errno));
    if (::fchmod(fd.get(), mode) != 0) {
        return make_error("harness", -errno, "chmod " + path.string() + ": " + strerror(errno));
    }
    return write_all(fd.get(), content, path.string());
}

}  // namespace outpost::test
