#include "support/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "util/fd.hpp"

namespace outpost::test {
namespace {

constexpr const char* kDomain = "test";

Status write_all(int fd, const std::string& data, const std::string& what)
{
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(kDomain, -errno, "write " + what + ": " + strerror(errno));
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
        return make_error(kDomain, -errno, "mkdtemp " + pattern + ": " + strerror(errno));
    }
    return TempDir(std::filesystem::path(buffer.data()), 0);
}

TempDir::TempDir(const std::string& prefix)
{
    auto made = create(prefix);
    if (!made) throw std::runtime_error(made.error().describe());
    path_ = std::exchange(made->path_, {});
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

std::string TempDir::write(const std::string& name, const std::string& content, mode_t mode) const
{
    const std::filesystem::path target = path_ / name;
    if (auto written = write_file(target, content, mode); !written)
        throw std::runtime_error(written.error().describe());
    return target.string();
}

void TempDir::keep()
{
    if (path_.empty()) return;
    (void)std::fprintf(stderr, "test: keeping %s\n", path_.c_str());
    path_.clear();
}

void TempDir::remove()
{
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) (void)std::fprintf(stderr, "test: removing %s: %s\n", path_.c_str(), ec.message().c_str());
    path_.clear();
}

Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return make_error(kDomain, -errno, "open " + path.string() + ": " + strerror(errno));
    std::string content;
    std::vector<char> buffer(65536);
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(kDomain, -errno, "read " + path.string() + ": " + strerror(errno));
        if (n == 0) break;
        if (content.size() + static_cast<std::size_t>(n) > limit) {
            return make_error(kDomain, -EFBIG,
                              path.string() + " is larger than " + std::to_string(limit) + " bytes");
        }
        content.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return content;
}

std::string read_value(const std::filesystem::path& path)
{
    auto text = read_file(path, 1U << 20);
    if (!text) return "";
    while (!text->empty() && text->back() == '\n')
        text->pop_back();
    return std::move(*text);
}

std::string file_tail(const std::filesystem::path& path, std::size_t max_bytes)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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

double mtime_epoch(const std::filesystem::path& path)
{
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
}

std::optional<double> first_logged(const std::filesystem::path& log, const std::string& what,
                                   const std::string& name)
{
    auto text = read_file(log);
    if (!text) return std::nullopt;
    std::istringstream lines(*text);
    std::string time;
    std::string action;
    std::string target;
    while (lines >> time >> action >> target) {
        if (action == what && target == name) return std::stod(time);
    }
    return std::nullopt;
}

Status write_file(const std::filesystem::path& path, const std::string& content, mode_t mode)
{
    if (path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec)
            return make_error(kDomain, -ec.value(),
                              "create " + path.parent_path().string() + ": " + ec.message());
    }
    std::unique_lock<std::shared_mutex> no_fork(fork_lock());
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd.valid()) return make_error(kDomain, -errno, "create " + path.string() + ": " + strerror(errno));
    if (::fchmod(fd.get(), mode) != 0) {
        return make_error(kDomain, -errno, "chmod " + path.string() + ": " + strerror(errno));
    }
    return write_all(fd.get(), content, path.string());
}

std::shared_mutex& fork_lock()
{
    static std::shared_mutex lock;
    return lock;
}

}  // namespace outpost::test
