#include "isolation/handback.hpp"

#include <cerrno>
#include <vector>

#include "isolation/cgroupfs.hpp"

namespace outpost::agent::isolation {

Status hand_back(const std::string& own, const std::string& deepest, std::string& disabled)
{
    if (deepest != own && !deepest.starts_with(own + "/"))
        return make_error("isolation", -EINVAL, deepest + " is not beneath " + own);
    std::vector<std::string> dirs;
    for (std::string dir = deepest; dir.size() > own.size(); dir.resize(dir.rfind('/')))
        dirs.push_back(dir);
    dirs.push_back(own);
    for (const auto& dir : dirs) {
        if (!cgroupfs::exists(dir)) continue;
        const std::string file = dir + "/cgroup.subtree_control";
        auto enabled = cgroupfs::read(file);
        if (!enabled) return enabled.error();
        // The kernel lists "cpu io"; a fake tree holds what was written ("+cpu +io").
        std::string off;
        std::size_t i = 0;
        const std::string& text = *enabled;
        while (i < text.size()) {
            std::size_t j = text.find_first_of(" \n", i);
            if (j == std::string::npos) j = text.size();
            std::string word = text.substr(i, j - i);
            if (word.starts_with('+')) word.erase(0, 1);
            if (!word.empty() && !word.starts_with('-')) off += (off.empty() ? "-" : " -") + word;
            i = j + 1;
        }
        if (off.empty()) continue;
        if (auto st = cgroupfs::write(file, off); !st) return st;
        disabled.append(disabled.empty() ? "" : "; ").append(off).append(" in ").append(dir);
    }
    return {};
}

}  // namespace outpost::agent::isolation
