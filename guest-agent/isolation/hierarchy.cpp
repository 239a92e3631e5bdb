#include "isolation/hierarchy.hpp"

#include <algorithm>

#include <cerrno>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace outpost::agent::isolation {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep)
{
    std::vector<std::string_view> parts;
    for (;;) {
        std::size_t at = text.find(sep);
        parts.push_back(text.substr(0, at));
        if (at == std::string_view::npos) return parts;
        text.remove_prefix(at + 1);
    }
}

// mountinfo escapes blanks in paths as \040 and friends (octal).
std::string unescape(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size()) {
            int v = 0;
            bool octal = true;
            for (std::size_t k = 1; k <= 3; ++k) {
                char c = text[i + k];
                if (c < '0' || c > '7') octal = false;
                v = v * 8 + (c - '0');
            }
            if (octal) {
                out.push_back(static_cast<char>(v));
                i += 3;
                continue;
            }
        }
        out.push_back(text[i]);
    }
    return out;
}

struct Mount {
    std::string root;   // the hierarchy's path mounted there
    std::string point;  // mount point
};

// The directory of cgroup `path` in a mount whose root is `m.root`; empty if the cgroup is
// not visible through that mount.
std::string directory(const Mount& m, const std::string& path)
{
    if (m.root == "/") return path == "/" ? m.point : m.point + path;
    if (path == m.root) return m.point;
    if (path.starts_with(m.root + "/")) return m.point + path.substr(m.root.size());
    return {};
}

}  // namespace

Result<Hierarchy> discover(std::string_view mountinfo, std::string_view proc_cgroup)
{
    std::map<std::string, Mount, std::less<>> v1;  // controller -> first mount
    std::optional<Mount> v2;
    for (std::string_view line : split(mountinfo, '\n')) {
        std::vector<std::string_view> f = split(line, ' ');
        std::size_t sep = 0;
        while (sep < f.size() && f[sep] != "-")
            ++sep;
        if (sep < 6 || sep + 3 >= f.size()) continue;  // not a mountinfo line
        std::string_view fstype = f[sep + 1];
        Mount m{unescape(f[3]), unescape(f[4])};
        if (fstype == "cgroup2") {
            if (!v2) v2 = m;
        } else if (fstype == "cgroup") {
            for (std::string_view opt : split(f[sep + 3], ','))
                if (!v1.contains(opt)) v1.emplace(std::string(opt), m);
        }
    }

    std::map<std::string, std::string, std::less<>> v1_paths;  // controller -> own path
    std::optional<std::string> v2_path;
    for (std::string_view line : split(proc_cgroup, '\n')) {
        std::size_t a = line.find(':');
        std::size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
        if (b == std::string_view::npos) continue;
        std::string_view controllers = line.substr(a + 1, b - a - 1);
        std::string path(line.substr(b + 1));
        if (line.substr(0, a) == "0" && controllers.empty()) {
            v2_path = path;
            continue;
        }
        for (std::string_view c : split(controllers, ','))
            v1_paths.emplace(std::string(c), path);
    }

    Hierarchy h;
    bool v1_real = false;
    for (std::string_view c : {"memory", "cpu", "pids"})
        v1_real = v1_real || (v1.contains(c) && v1_paths.contains(c));
    if (v1_real) {
        h.kind = Kind::v1;
        for (std::string_view c : kV1Controllers) {
            auto m = v1.find(c);
            auto p = v1_paths.find(c);
            if (m == v1.end() || p == v1_paths.end()) continue;
            std::string dir = directory(m->second, p->second);
            if (dir.empty()) continue;
            auto shared =
                std::find_if(h.own.begin(), h.own.end(), [&](const auto& e) { return e.second == dir; });
            if (shared != h.own.end()) {
                h.mount_of.emplace(std::string(c), shared->first);
                continue;
            }
            h.own.emplace(std::string(c), std::move(dir));
            h.mount_of.emplace(std::string(c), std::string(c));
        }
        if (h.own.empty())
            return make_error("isolation", -ENOENT,
                              "the agent's own v1 cgroups are not visible through any mount");
        return h;
    }
    if (v2 && v2_path) {
        std::string dir = directory(*v2, *v2_path);
        if (dir.empty())
            return make_error(
                "isolation", -ENOENT,
                "the agent's own cgroup " + *v2_path + " is not visible through the cgroup2 mount");
        h.kind = Kind::v2;
        h.own.emplace("", std::move(dir));
        return h;
    }
    return make_error("isolation", -ENOENT,
                      "no cgroup hierarchy is mounted (neither cgroup2 nor v1 memory/cpu/pids)");
}

std::string Hierarchy::key_of(std::string_view controller) const
{
    if (auto it = mount_of.find(controller); it != mount_of.end()) return it->second;
    if (own.contains(controller)) return std::string(controller);
    return {};
}

Result<Hierarchy> discover_self()
{
    auto slurp = [](const char* path) -> std::optional<std::string> {
        std::ifstream in(path);
        if (!in) return std::nullopt;
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    };
    auto mountinfo = slurp("/proc/self/mountinfo");
    auto cgroup = slurp("/proc/self/cgroup");
    if (!mountinfo || !cgroup)
        return make_error("isolation", -ENOENT, "cannot read /proc/self/mountinfo or /proc/self/cgroup");
    return discover(*mountinfo, *cgroup);
}

}  // namespace outpost::agent::isolation
