#include "isolation/cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

#include "util/fd.hpp"

namespace outpost::agent::isolation::cgroupfs {

namespace {

Error fs_error(int err, const std::string& what, const std::string& path)
{
    return make_error("isolation", -err, "cannot " + what + " " + path + ": " + std::strerror(err));
}

// cgroupfs files are small; this bounds a read of any of them.
constexpr std::size_t kMaxFile = std::size_t{1} << 20;

// Bounds the recursion: cgroupfs itself allows deeper trees, a resource has no need of them.
constexpr int kMaxDepth = 32;

Status remove_tree_at(const std::string& path, int depth)
{
    if (depth > kMaxDepth) return fs_error(ELOOP, "remove", path);
    std::vector<std::string> children;
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d && errno == ENOENT) return {};
    while (d) {
        const dirent* e = ::readdir(d.get());
        if (e == nullptr) break;
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        std::string child = path + "/" += name;
        struct stat st {};
        bool dir = e->d_type == DT_DIR ||
                   (e->d_type == DT_UNKNOWN && ::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode));
        if (dir) children.push_back(std::move(child));
    }
    d.reset();
    Status first;
    for (const auto& child : children) {
        if (auto st = remove_tree_at(child, depth + 1); !st && first) first = st;
    }
    if (!first) return first;
    return remove_dir(path);
}

}  // namespace

bool exists(const std::string& path)
{
    return ::access(path.c_str(), F_OK) == 0;
}

Status write(const std::string& path, const std::string& value)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd) return fs_error(errno, "open", path);
    ssize_t n;
    do {
        n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fs_error(errno, "write \"" + value + "\" to", path);
    if (static_cast<std::size_t>(n) != value.size()) return fs_error(EIO, "write \"" + value + "\" to", path);
    return {};
}

Result<std::string> read(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fs_error(errno, "open", path);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fs_error(errno, "read", path);
        if (n == 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > kMaxFile) return fs_error(EFBIG, "read", path);
    }
}

Result<bool> make_dir(const std::string& path)
{
    if (::mkdir(path.c_str(), 0755) == 0) return true;
    struct stat st {};
    if (errno == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return false;
    return fs_error(errno, "create", path);
}

Status remove_dir(const std::string& path)
{
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return {};
    return fs_error(errno, "remove", path);
}

Status remove_tree(const std::string& path)
{
    return remove_tree_at(path, 0);
}

Result<std::vector<pid_t>> procs(const std::string& dir)
{
    auto text = read(dir + "/cgroup.procs");
    if (!text) return text.error();
    std::vector<pid_t> pids;
    const char* p = text->data();
    const char* end = p + text->size();
    while (p < end) {
        pid_t pid = 0;
        auto [next, ec] = std::from_chars(p, end, pid);
        if (ec == std::errc() && pid > 0) pids.push_back(pid);
        p = next;
        while (p < end && (*p == '\n' || *p == ' '))
            ++p;
        if (ec != std::errc()) ++p;  // skip what is not a number
    }
    return pids;
}

std::string comm(pid_t pid)
{
    auto text = read("/proc/" + std::to_string(pid) + "/comm");
    if (!text) return "?";
    std::string name = std::move(*text);
    while (!name.empty() && name.back() == '\n')
        name.pop_back();
    return name;
}

}  // namespace outpost::agent::isolation::cgroupfs
