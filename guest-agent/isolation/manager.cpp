#include "isolation/manager.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <utility>

#include "isolation/attach.hpp"
#include "isolation/cgroupfs.hpp"
#include "isolation/handback.hpp"
#include "isolation/settings.hpp"
#include "util/log.hpp"

namespace outpost::agent::isolation {

namespace {

const outpost::log::Category log_cat{"agent.isolation"};

// v2 controllers the resources' cgroups get, where the agent's cgroup has them.
constexpr std::string_view kV2Controllers[] = {"cpu", "cpuset", "io", "memory", "pids"};
// On v2 the agent moves itself here when its own cgroup must pass controllers down (a
// cgroup with processes of its own cannot).
constexpr const char* kSelfLeaf = "outpost-agent.self";

std::string trim(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::set<std::string, std::less<>> words(const std::string& text)
{
    std::set<std::string, std::less<>> out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t j = text.find_first_of(" \n", i);
        if (j == std::string::npos) j = text.size();
        if (j > i) out.emplace(text.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

// A resource id as a directory name: Pacemaker ids never hold '/', and the prefix keeps
// names such as "tasks" or "cgroup.procs" from meeting the kernel's own files.
Result<std::string> dir_name(const std::string& rsc_id)
{
    if (rsc_id.empty() || rsc_id.find('/') != std::string::npos || rsc_id.size() > 200)
        return make_error("isolation", -EINVAL,
                          "resource id " + log::quote(rsc_id) + " cannot name a cgroup");
    return "rsc-" + rsc_id;
}

// v1 cpuset cgroups start empty and take no process until cpus and mems are set.
Status init_cpuset(const std::string& parent, const std::string& dir)
{
    for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto value = cgroupfs::read(parent + "/" + file);
        if (!value) return value.error();
        if (auto st = cgroupfs::write(dir + "/" + file, trim(*value)); !st) return st;
    }
    return {};
}

}  // namespace

std::unique_ptr<Manager> Manager::create(GMainContext* context, Options options)
{
    if (!options.enabled) {
        return std::make_unique<Manager>(
            context, std::move(options),
            Result<Hierarchy>(make_error("isolation", 0, "isolation is disabled (OUTPOST_isolation=no)")));
    }
    return std::make_unique<Manager>(context, std::move(options), discover_self());
}

Manager::Manager(GMainContext* context, Options options, Result<Hierarchy> hierarchy)
    : context_(context), options_(std::move(options))
{
    if (!hierarchy) {
        unconfine(hierarchy.error().message);
        return;
    }
    hierarchy_ = std::move(*hierarchy);
    if (options_.parent.empty() || options_.parent.front() == '/' ||
        options_.parent.find("..") != std::string::npos) {
        unconfine("the cgroup parent " + log::quote(options_.parent) +
                  " is not a relative path beneath the agent's cgroup");
        return;
    }
    set_up();
    if (confined() && !lock_parent()) {
        // Another agent in the same cgroup (two instances, or tests) owns the parent: its
        // resource ids could be ours, so this instance takes a parent of its own.
        std::string shared = options_.parent;
        options_.parent += "." + std::to_string(::getpid());
        log_notice(log_cat, "another agent uses the cgroup parent %s: using %s", shared.c_str(),
                   options_.parent.c_str());
        parents_.clear();
        set_up();
        if (confined() && !lock_parent()) unconfine("cannot lock the cgroup parent " + options_.parent);
    }
    if (confined()) {
        std::string where;
        for (const auto& [controller, dir] : parents_)
            where += (where.empty() ? "" : ", ") + dir;
        log_notice(log_cat, "resources run in cgroups of their own (cgroup %s) beneath %s",
                   hierarchy_.kind == Kind::v2 ? "v2" : "v1", where.c_str());
    }
}

Manager::~Manager()
{
    remove_empty();
}

bool Manager::lock_parent()
{
    // flock() on the parent's directory in the first hierarchy, held for the agent's life.
    const std::string& dir = parents_.begin()->second;
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return false;
    parent_lock_ = std::move(fd);
    return true;
}

void Manager::unconfine(std::string reason)
{
    reason_ = std::move(reason);
    parents_.clear();
    log_warning(log_cat, "resources run unconfined: %s", reason_.c_str());
}

void Manager::set_up()
{
    auto make_parent = [this](const std::string& own, const std::string& controller) -> Status {
        std::string dir = own;
        std::string rest = options_.parent;
        while (!rest.empty()) {
            std::size_t slash = rest.find('/');
            std::string part = rest.substr(0, slash);
            rest = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
            if (part.empty()) continue;
            std::string parent_dir = dir;
            dir += "/" + part;
            auto made = cgroupfs::make_dir(dir);
            if (!made) return made.error();
            if (*made && is_cpuset(controller)) {
                if (auto st = init_cpuset(parent_dir, dir); !st) return st;
            }
        }
        parents_.emplace(controller, dir);
        return {};
    };

    if (hierarchy_.kind == Kind::v1) {
        std::string failures;
        for (const auto& [controller, own] : hierarchy_.own) {
            if (auto st = make_parent(own, controller); !st) {
                log_warning(log_cat, "the %s controller is not used: %s", controller.c_str(),
                            st.error().message.c_str());
                failures += (failures.empty() ? "" : "; ") + st.error().message;
            }
        }
        if (parents_.empty()) {
            unconfine(failures.empty() ? "no cgroup v1 controller is usable" : failures);
            return;
        }
        // What follows (attach.hpp) decides among the hierarchies that are usable.
        std::erase_if(hierarchy_.own, [this](const auto& e) { return !parents_.contains(e.first); });
        std::erase_if(hierarchy_.mount_of, [this](const auto& e) { return !parents_.contains(e.second); });
        return;
    }

    // v2: the parent gets the controllers the agent's cgroup has. A cgroup with processes
    // cannot pass controllers down, so when the agent's own cgroup has none enabled for its
    // children yet, the agent moves itself into a leaf of its own first (the delegation
    // contract of systemd's Delegate=yes).
    std::string own = hierarchy_.own.begin()->second;
    if (own.ends_with(std::string("/") + kSelfLeaf)) {
        // Started in the leaf an earlier instance moved itself into (its resources may still
        // run beside it), or placed there by systemd's DelegateSubgroup=outpost-agent.self:
        // the delegated cgroup is the parent, as for the first instance. Working from the
        // leaf would nest a second layout inside it and lose the running resources' cgroups.
        own.resize(own.size() - std::string_view(kSelfLeaf).size() - 1);
        log_info(log_cat, "the agent runs in its own leaf: working from %s", own.c_str());
    }
    auto available = cgroupfs::read(own + "/cgroup.controllers");
    auto enabled = cgroupfs::read(own + "/cgroup.subtree_control");
    if (!available || !enabled) {
        unconfine((available ? enabled.error() : available.error()).message);
        return;
    }
    auto have = words(*available);
    auto on = words(*enabled);
    std::string missing;
    std::string wanted;
    for (std::string_view c : kV2Controllers) {
        if (!have.contains(c)) continue;
        wanted += (wanted.empty() ? "+" : " +") + std::string(c);
        if (!on.contains(c)) missing += (missing.empty() ? "+" : " +") + std::string(c);
    }
    if (!missing.empty()) {
        auto st = cgroupfs::write(own + "/cgroup.subtree_control", missing);
        if (!st && st.error().code == -EBUSY) {
            std::string leaf = own + "/" + kSelfLeaf;
            auto made = cgroupfs::make_dir(leaf);
            if (!made) {
                unconfine(made.error().message);
                return;
            }
            if (auto moved = cgroupfs::write(leaf + "/cgroup.procs", std::to_string(getpid())); !moved) {
                unconfine(moved.error().message);
                return;
            }
            st = cgroupfs::write(own + "/cgroup.subtree_control", missing);
            if (!st) {
                (void)cgroupfs::write(own + "/cgroup.procs", std::to_string(getpid()));
                (void)cgroupfs::remove_dir(leaf);
            } else {
                log_notice(log_cat, "moved the agent into %s so that %s can pass controllers down",
                           leaf.c_str(), own.c_str());
                moved_from_ = own;
            }
        }
        if (!st) {
            unconfine(st.error().message + " (the agent's cgroup must be delegated to it: Delegate=yes)");
            return;
        }
    }
    if (auto st = make_parent(own, ""); !st) {
        unconfine(st.error().message);
        return;
    }
    if (!wanted.empty()) {
        if (auto st = cgroupfs::write(parents_[""] + "/cgroup.subtree_control", wanted); !st) {
            unconfine(st.error().message);
            return;
        }
    }
}

Result<Manager::Group*> Manager::group_for(const std::string& rsc_id)
{
    auto it = groups_.find(rsc_id);
    if (it != groups_.end()) return &it->second;
    auto name = dir_name(rsc_id);
    if (!name) return name.error();
    Group group;
    group.name = *name;
    // v1: the hierarchies every resource joins; more when a limit needs them (apply()). A
    // cgroup that exists already in another (an earlier agent's, for a limit then) is taken
    // over: processes may run in it, and its limit must follow what is configured now.
    KeySet always = hierarchies_for(hierarchy_, Limits{});
    for (const auto& [key, parent] : parents_) {
        std::string dir = parent + "/" + *name;
        if (always.contains(key) || cgroupfs::exists(dir)) group.dirs.emplace(key, std::move(dir));
    }
    if (auto st = make_dirs(group); !st) return st.error();
    log_debug(log_cat, "%s: cgroup %s", log::quote(rsc_id).c_str(), group.dirs.begin()->second.c_str());
    return &groups_.emplace(rsc_id, std::move(group)).first->second;
}

Status Manager::make_dirs(Group& group)
{
    for (const auto& [key, dir] : group.dirs) {
        if (auto st = make_dir(key, dir); !st) return st;
    }
    return {};
}

Status Manager::make_dir(const std::string& key, const std::string& dir)
{
    auto made = cgroupfs::make_dir(dir);
    if (!made) return made.error();
    if (*made && is_cpuset(key)) return init_cpuset(parents_[key], dir);
    return {};
}

Status Manager::join(Group& group, const Limits& limits)
{
    for (const std::string& key : hierarchies_for(hierarchy_, limits)) {
        auto parent = parents_.find(key);
        if (parent == parents_.end() || group.dirs.contains(key)) continue;
        std::string dir = parent->second + "/" + group.name;
        if (auto st = make_dir(key, dir); !st) return st;
        group.dirs.emplace(key, std::move(dir));
        group.unmoved.insert(key);
    }
    return {};
}

namespace {

// The move is repeated until a pass finds nobody left to move: a process forked by one not
// yet moved is born outside and found by the next pass; once all are in, every fork is
// born inside. Bounded for a resource that forks without end.
constexpr int kMovePasses = 50;

// Moves every process listed in `from` into `to` (v1 cgroup.procs: all of a process's
// threads); the number moved.
Result<std::size_t> move_members(const std::string& from, const std::string& to)
{
    std::size_t moved = 0;
    for (int pass = 0; pass < kMovePasses; ++pass) {
        auto all = cgroupfs::procs(from);
        if (!all) return all.error();
        auto there = cgroupfs::procs(to);
        if (!there) return there.error();
        std::set<pid_t> in(there->begin(), there->end());
        std::size_t this_pass = 0;
        for (pid_t pid : *all) {
            if (in.contains(pid)) continue;
            auto st = cgroupfs::write(to + "/cgroup.procs", std::to_string(pid));
            if (st) {
                ++this_pass;
            } else if (st.error().code != -ESRCH) {  // ESRCH: it has exited meanwhile
                return st.error();
            }
        }
        if (this_pass == 0) return moved;
        moved += this_pass;
    }
    return make_error("isolation", -EAGAIN,
                      "the processes in " + from + " kept forking while moved into " + to);
}

}  // namespace

Status Manager::move_unmoved(const std::string& rsc_id, Group& group)
{
    if (group.unmoved.empty()) return {};
    auto from = group.dirs.find(members_hierarchy(hierarchy_));
    if (from == group.dirs.end()) return {};
    while (!group.unmoved.empty()) {
        const std::string& key = *group.unmoved.begin();
        const std::string& to = group.dirs.at(key);
        auto moved = move_members(from->second, to);
        if (!moved) return moved.error();
        if (*moved > 0)
            log_info(log_cat, "%s: moved %zu running process(es) into %s for its limits",
                     log::quote(rsc_id).c_str(), *moved, to.c_str());
        group.unmoved.erase(group.unmoved.begin());
    }
    return {};
}

Result<std::string> Manager::apply(const std::string& rsc_id, Group& group, const Limits& limits)
{
    const bool v1 = hierarchy_.kind == Kind::v1;
    // v1: joins the hierarchies the limits need before writing them, and moves the running
    // processes in after, so they arrive under the limit.
    if (v1) {
        if (auto st = join(group, limits); !st) return st.error();
    }
    std::string cpus_default;
    if (v1) {
        std::string key = hierarchy_.key_of("cpuset");
        if (auto p = parents_.find(key); !key.empty() && p != parents_.end() && group.dirs.contains(key)) {
            auto cpus = cgroupfs::read(p->second + "/cpuset.cpus");
            if (cpus) cpus_default = trim(*cpus);
        }
    }
    std::string unsupported;
    std::set<std::string> reported;
    for (const Write& w : plan_writes(hierarchy_.kind, limits, cpus_default)) {
        auto dir = group.dirs.find(v1 ? hierarchy_.key_of(w.controller) : w.controller);
        std::string path = dir == group.dirs.end() ? std::string() : dir->second + "/" + w.file;
        if (path.empty() || !cgroupfs::exists(path)) {
            if (w.configured && !w.optional && reported.insert(w.attribute).second)
                unsupported += (unsupported.empty() ? "" : ", ") + w.attribute + " (no " + w.file + ")";
            continue;
        }
        if (hierarchy_.kind == Kind::v1 && w.controller == "cpuset" && !w.configured && cpus_default.empty())
            continue;
        auto st = cgroupfs::write(path, w.value);
        if (st) continue;
        if (w.configured)
            return make_error("isolation", st.error().code, w.attribute + ": " + st.error().message);
        log_warning(log_cat, "%s", st.error().message.c_str());
    }
    if (v1) {
        if (auto st = move_unmoved(rsc_id, group); !st) return st.error();
    }
    return unsupported.empty() ? std::string() : "not applied here: " + unsupported;
}

Result<Placement> Manager::prepare(const std::string& rsc_id, const wire::ParamMap& params)
{
    if (const std::string* node = params.find("CRM_meta_on_node");
        node != nullptr && !node->empty() && *node != node_name_) {
        node_name_ = *node;
        if (node_name_changed_) node_name_changed_();
    }
    wire::ParamMap op_params = limit_params(params);
    auto limits = parse(with_cluster_meta(op_params, meta_for(cluster_meta_, rsc_id)));
    if (!limits) return limits.error();
    Placement placement;
    if (!confined()) {
        if (!limits->empty()) placement.note = "resource limits not applied: " + reason_;
        return placement;
    }
    auto group = group_for(rsc_id);
    if (!group) return group.error();
    Group& g = **group;
    if (g.releasing) {
        // An action right after a stop, while the cgroup is being emptied: that ends, and the
        // cgroup (some v1 directories may be gone already) is set up again.
        g.releasing = false;
        g.release_timer.reset();
        if (g.release_done) std::exchange(g.release_done, {})(g.killed);
        g.applied.reset();
    }
    if (!g.applied) {
        if (auto st = make_dirs(g); !st) return st.error();
    }
    g.op_params = std::move(op_params);
    if (auto st = update(rsc_id, g, *limits, "limits changed"); !st) return st.error();
    placement.note = g.note;
    // v1: `tasks` moves the one thread a child has before exec, and the kernel then skips
    // the threadgroup lock that every `cgroup.procs` write takes: a write that waits for
    // every fork on the machine, once per hierarchy the resource joined (attach.hpp: three
    // here without limits; bench-isolation). v2 has only `cgroup.procs`.
    const char* member_file = hierarchy_.kind == Kind::v1 ? "/tasks" : "/cgroup.procs";
    for (const auto& [controller, dir] : g.dirs)
        placement.procs_files.push_back(dir + member_file);
    return placement;
}

Status Manager::update(const std::string& rsc_id, Group& g, const Limits& limits, const char* cause)
{
    if (g.applied && *g.applied == limits) return {};
    auto note = apply(rsc_id, g, limits);
    if (!note) {
        g.applied.reset();  // partly written: write all again next time
        return note.error();
    }
    if (g.applied)
        log_info(log_cat, "%s: %s, applied to the running resource", log::quote(rsc_id).c_str(), cause);
    if (!note->empty() && *note != g.note)
        log_warning(log_cat, "%s: %s", log::quote(rsc_id).c_str(), note->c_str());
    g.note = std::move(*note);
    g.applied = limits;
    return {};
}

void Manager::set_cluster_meta(ClusterMeta meta)
{
    cluster_meta_ = std::move(meta);
    for (auto& [id, g] : groups_) {
        // A cgroup being emptied, or one whose writes failed, is set up by its next action.
        if (g.releasing || !g.applied) continue;
        auto limits = parse(with_cluster_meta(g.op_params, meta_for(cluster_meta_, id)));
        if (!limits) {
            log_warning(log_cat, "%s: limits from the CIB not applied: %s", log::quote(id).c_str(),
                        limits.error().message.c_str());
            continue;
        }
        if (auto st = update(id, g, *limits, "limits changed in the CIB"); !st)
            log_warning(log_cat, "%s: limits from the CIB not applied: %s", log::quote(id).c_str(),
                        st.error().message.c_str());
    }
    end_meta_wait(true);
}

void Manager::set_cluster_meta_pending(bool pending)
{
    if (pending) {
        meta_pending_ = true;
        return;
    }
    end_meta_wait(false);
}

void Manager::await_cluster_meta(std::function<void(bool)> ready)
{
    if (!meta_pending_) {
        ready(true);
        return;
    }
    meta_waiters_.push_back(std::move(ready));
}

void Manager::end_meta_wait(bool snapshot)
{
    meta_pending_ = false;
    auto waiters = std::exchange(meta_waiters_, {});
    for (auto& ready : waiters)
        ready(snapshot);
}

void Manager::release(const std::string& rsc_id, std::function<void(std::size_t)> done)
{
    auto it = groups_.find(rsc_id);
    if (it == groups_.end()) {
        if (done) done(0);
        return;
    }
    Group& g = it->second;
    g.release_timer.reset();
    if (g.release_done) std::exchange(g.release_done, {})(g.killed);
    g.releasing = true;
    g.release_rounds = 0;
    g.killed = 0;
    g.release_done = std::move(done);
    release_round(rsc_id);
}

void Manager::release_round(const std::string& rsc_id)
{
    auto it = groups_.find(rsc_id);
    if (it == groups_.end()) return;
    Group& g = it->second;

    // v2 (Linux 5.14+): cgroup.kill SIGKILLs the whole cgroup at once, including what forks
    // meanwhile and whatever sits in cgroups the resource made beneath its own. Elsewhere
    // (v1 has no cgroup.kill) by listing: a pid listed twice (in several v1 hierarchies)
    // is killed once.
    std::string kill_file;
    if (hierarchy_.kind == Kind::v2 && !g.dirs.empty()) {
        kill_file = g.dirs.begin()->second + "/cgroup.kill";
        if (!cgroupfs::exists(kill_file)) kill_file.clear();
    }
    std::set<pid_t> pids;
    for (const auto& [controller, dir] : g.dirs) {
        if (auto listed = cgroupfs::procs(dir)) pids.insert(listed->begin(), listed->end());
    }
    std::string names;  // for the log, read before the kill: a killed process has no name
    if (g.release_rounds == 0) {
        for (pid_t pid : pids)
            names += (names.empty() ? "" : ", ") + std::to_string(pid) + " (" + cgroupfs::comm(pid) + ")";
    }
    // cgroup.kill also when the cgroup itself lists nobody: cgroups beneath it may.
    bool killed_all = false;
    if (!kill_file.empty()) {
        auto st = cgroupfs::write(kill_file, "1");
        killed_all = st.ok();
        if (!st && g.release_rounds == 0)
            log_warning(log_cat, "%s: %s; killing by pid", log::quote(rsc_id).c_str(),
                        st.error().message.c_str());
    }
    if (!pids.empty()) {
        if (killed_all) {
            // Those listed again in a later round are still dying of the first kill.
            if (g.release_rounds == 0) g.killed += pids.size();
        } else {
            for (pid_t pid : pids)
                if (::kill(pid, SIGKILL) == 0) ++g.killed;
        }
        if (g.release_rounds == 0) {
            log_notice(log_cat, "%s: stopped, killing %zu process(es) left in its cgroup: %s",
                       log::quote(rsc_id).c_str(), pids.size(), names.c_str());
        }
    }

    bool removed = true;
    std::string error;
    for (const auto& [controller, dir] : g.dirs) {
        if (auto st = cgroupfs::remove_tree(dir); !st) {
            removed = false;
            error = st.error().message;
        }
    }
    auto finish = [&](bool forget) {
        auto done = std::exchange(g.release_done, {});
        std::size_t killed = g.killed;
        if (forget) groups_.erase(it);
        if (done) done(killed);
    };
    if (removed) {
        log_debug(log_cat, "%s: cgroup removed", log::quote(rsc_id).c_str());
        finish(true);
        return;
    }
    if (++g.release_rounds * kReleaseRetryMs >= kReleaseTimeoutMs) {
        log_warning(log_cat, "%s: cgroup left in place: %s", log::quote(rsc_id).c_str(), error.c_str());
        g.releasing = false;
        g.applied.reset();
        finish(false);
        return;
    }
    g.release_timer = io::add_timeout(context_, std::chrono::milliseconds(kReleaseRetryMs),
                                      [this, rsc_id]() { release_round(rsc_id); });
}

void Manager::remove_empty()
{
    for (const auto& [id, group] : groups_) {
        for (const auto& [controller, dir] : group.dirs)
            (void)cgroupfs::remove_dir(dir);  // EBUSY while processes remain: kept
    }
    for (const auto& [controller, dir] : parents_) {
        if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EBUSY)
            log_debug(log_cat, "cannot remove %s: %s", dir.c_str(), std::strerror(errno));
    }
    hand_back_delegation();
}

void Manager::hand_back_delegation()
{
    // Only an agent that its supervisor started in the delegated cgroup itself (it moved into
    // the leaf): the next one will be started there too. One started in the leaf (systemd
    // 254+'s DelegateSubgroup=) leaves the controllers, and the resources keep their limits.
    if (moved_from_.empty()) return;
    std::string own = std::exchange(moved_from_, {});
    auto parent = parents_.find("");
    const bool running = parent != parents_.end() && cgroupfs::exists(parent->second);
    std::string disabled;
    auto st = hand_back(own, running ? parent->second : own, disabled);
    if (!st) {
        log_warning(log_cat,
                    "cannot disable the controllers beneath %s (%s): a supervisor that starts the next "
                    "agent in it (systemd before 254) is refused by the kernel",
                    own.c_str(), st.error().message.c_str());
    } else if (running) {
        log_notice(log_cat,
                   "resources still run: disabled the controllers (%s) so that the next agent can be "
                   "started in %s (systemd before 254 puts it there); the resources run without "
                   "limits until it applies them again",
                   disabled.c_str(), own.c_str());
    } else if (!disabled.empty()) {
        log_info(log_cat, "disabled the controllers (%s) so that the next agent can be started in %s",
                 disabled.c_str(), own.c_str());
    }
}

std::string Manager::directory(const std::string& rsc_id, std::string_view controller) const
{
    auto it = groups_.find(rsc_id);
    if (it == groups_.end()) return {};
    auto dir = it->second.dirs.find(hierarchy_.kind == Kind::v1 ? hierarchy_.key_of(controller)
                                                                : std::string(controller));
    return dir == it->second.dirs.end() ? std::string() : dir->second;
}

}  // namespace outpost::agent::isolation
