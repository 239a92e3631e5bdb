#include "harness/files.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tls/authkey.hpp"

namespace outpost::test {

Authkey::Authkey(std::filesystem::path path, std::string bytes, std::optional<TempDir> dir)
    : path_(std::move(path)), bytes_(std::move(bytes)), dir_(std::move(dir))
{
}

Result<Authkey> Authkey::create(const std::filesystem::path& file, std::size_t size)
{
    auto key = tls::generate_authkey(size);
    if (!key) return key.error();
    auto written = tls::write_authkey_file(file.string(), *key);
    if (!written) return written.error();
    return Authkey(file, std::string(key->view()), std::nullopt);
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
