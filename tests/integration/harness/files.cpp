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

#include "io/fd.hpp"

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
    io::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
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

}  // namespace outpost::test
