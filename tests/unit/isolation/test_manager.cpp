// Manager: the v2 code paths over a temporary directory shaped like cgroupfs (this machine's
// cgroup2 mount has no controllers), and the v1 paths on this machine's real cgroupfs with
// real processes (skipped where the agent could not create cgroups: not root, no v1).
#include <signal.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "executor/process_spawner.hpp"
#include "isolation/cgroupfs.hpp"
#include "isolation/handback.hpp"
#include "isolation/manager.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"

using namespace outpost;
using namespace outpost::agent;
using namespace outpost::agent::isolation;
using namespace std::chrono_literals;

namespace {

wire::ParamMap meta(std::initializer_list<std::pair<const char*, const char*>> attrs)
{
    wire::ParamMap p;
    for (auto [n, v] : attrs)
        p.insert(n, v);
    return p;
}

// A v2 cgroup directory as the kernel would populate it, for the files the manager uses.
void fake_v2_cgroup(const test::TempDir& root, const std::string& rel, bool with_cpuset)
{
    std::string prefix = rel.empty() ? std::string() : rel + "/";
    for (const char* f : {"cgroup.procs", "cgroup.subtree_control", "memory.max", "memory.high", "cpu.max",
                          "cpu.weight", "pids.max", "io.weight"})
        root.write(prefix + f, "");
    if (with_cpuset) root.write(prefix + "cpuset.cpus", "");
    root.write(prefix + "cgroup.controllers", "cpu io memory pids\n");
}

// The parents a test's Manager made (empty by then) in each hierarchy.
void remove_parents(const Hierarchy& h, const std::string& parent)
{
    for (const auto& [controller, own] : h.own)
        (void)cgroupfs::remove_dir(std::string(own).append("/").append(parent));
}

// Runs `script` with /bin/sh as an action's child joining `procs_files`; its output, or
// nothing when it did not exit within 10 s.
std::optional<std::string> run_sh(executor::ProcessSpawner& spawner, const char* script,
                                  const std::vector<std::string>& procs_files)
{
    executor::SpawnRequest r;
    r.path = "/bin/sh";
    r.argv = {"/bin/sh", "-c", script};
    r.env = {"PATH=/usr/bin:/bin"};
    r.label = "web_start_0";
    r.kill_group = false;
    r.cgroup_procs = procs_files;
    std::optional<executor::ChildOutcome> out;
    spawner.spawn(std::move(r), [&](executor::ChildOutcome o) { out = std::move(o); });
    if (!test::run_until(
            nullptr, [&] { return out.has_value(); }, 10s) ||
        out->end != executor::ChildEnd::exited)
        return std::nullopt;
    return out->out;
}

}  // namespace

TEST_CASE("v2: the parent gets the agent's controllers, a resource its limits")
{
    test::TempDir root("outpost-cgv2");
    fake_v2_cgroup(root, "", false);
    fake_v2_cgroup(root, "outpost-agent", false);
    fake_v2_cgroup(root, "outpost-agent/rsc-web", false);
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", root.path().string());
    Manager m(nullptr, Options{}, h);
    REQUIRE(m.confined());
    CHECK(test::read_value(root.file("cgroup.subtree_control")) == "+cpu +io +memory +pids");
    CHECK(test::read_value(root.file("outpost-agent/cgroup.subtree_control")) == "+cpu +io +memory +pids");

    auto p = m.prepare("web", meta({{"CRM_meta_outpost_memory_max", "256M"},
                                    {"CRM_meta_outpost_cpu_quota", "1.5"},
                                    {"CRM_meta_outpost_tasks_max", "100"},
                                    {"CRM_meta_outpost_io_weight", "300"}}));
    REQUIRE(p.ok());
    std::string dir = root.file("outpost-agent/rsc-web");
    CHECK(p->procs_files == std::vector<std::string>{dir + "/cgroup.procs"});
    CHECK(p->note.empty());
    CHECK(m.directory("web") == dir);
    CHECK(test::read_value(dir + "/memory.max") == "268435456");
    CHECK(test::read_value(dir + "/memory.high") == "max");
    CHECK(test::read_value(dir + "/cpu.max") == "150000 100000");
    CHECK(test::read_value(dir + "/cpu.weight") == "100");
    CHECK(test::read_value(dir + "/pids.max") == "100");
    CHECK(test::read_value(dir + "/io.weight") == "default 300");

    // A later action without the memory limit lifts it; the others stay.
    auto again = m.prepare("web", meta({{"CRM_meta_outpost_cpu_quota", "1.5"},
                                        {"CRM_meta_outpost_tasks_max", "100"},
                                        {"CRM_meta_outpost_io_weight", "300"}}));
    REQUIRE(again.ok());
    CHECK(test::read_value(dir + "/memory.max") == "max");
    CHECK(test::read_value(dir + "/pids.max") == "100");

    // A limit this hierarchy has no file for is reported, the rest applied.
    auto cpus = m.prepare("web", meta({{"CRM_meta_outpost_allowed_cpus", "0"}}));
    REQUIRE(cpus.ok());
    CHECK(cpus->note == "not applied here: outpost-allowed-cpus (no cpuset.cpus)");
    CHECK(test::read_value(dir + "/pids.max") == "max");

    // A bad value: refused, nothing written.
    auto bad = m.prepare("web", meta({{"CRM_meta_outpost_tasks_max", "-3"}}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == -EINVAL);
    CHECK(test::read_value(dir + "/pids.max") == "max");

    // Resource ids that cannot name a directory.
    CHECK_FALSE(m.prepare("a/b", {}).ok());
}

TEST_CASE("v2: an agent started in the leaf of an earlier instance works from its parent")
{
    // The layout a first instance left (it moved itself into outpost-agent.self); the new
    // one starts in that leaf (a supervisor's restart, or DelegateSubgroup=): the resources'
    // cgroups stay where they were, nothing is nested in the leaf (seen on a real kernel:
    // agent-isolation-v2-qemu).
    test::TempDir root("outpost-cgv2");
    fake_v2_cgroup(root, "", false);
    fake_v2_cgroup(root, "outpost-agent.self", false);
    fake_v2_cgroup(root, "outpost-agent", false);
    fake_v2_cgroup(root, "outpost-agent/rsc-web", false);
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", root.file("outpost-agent.self"));
    Manager m(nullptr, Options{}, h);
    REQUIRE(m.confined());
    CHECK(test::read_value(root.file("cgroup.subtree_control")) == "+cpu +io +memory +pids");
    CHECK(test::read_value(root.file("outpost-agent.self/cgroup.subtree_control")).empty());
    CHECK_FALSE(std::filesystem::exists(root.file("outpost-agent.self/outpost-agent")));
    REQUIRE(m.prepare("web", meta({{"CRM_meta_outpost_tasks_max", "100"}})).ok());
    CHECK(m.directory("web") == root.file("outpost-agent/rsc-web"));
    CHECK(test::read_value(root.file("outpost-agent/rsc-web/pids.max")) == "100");
}

TEST_CASE("a second agent in the same cgroup takes a parent of its own")
{
    test::TempDir root("outpost-cgv2");
    fake_v2_cgroup(root, "", false);
    fake_v2_cgroup(root, "outpost-agent", false);
    std::string own = "outpost-agent." + std::to_string(::getpid());
    fake_v2_cgroup(root, own, false);
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", root.path().string());
    Manager first(nullptr, Options{}, h);
    REQUIRE(first.confined());
    Manager second(nullptr, Options{}, h);
    REQUIRE(second.confined());
    fake_v2_cgroup(root, "outpost-agent/rsc-web", false);
    fake_v2_cgroup(root, own + "/rsc-web", false);
    REQUIRE(first.prepare("web", {}).ok());
    REQUIRE(second.prepare("web", {}).ok());
    CHECK(first.directory("web") == root.file("outpost-agent/rsc-web"));
    CHECK(second.directory("web") == root.file(own + "/rsc-web"));
}

TEST_CASE("no hierarchy: unconfined, and limits are reported as not applied")
{
    Manager m(nullptr, Options{},
              Result<Hierarchy>(make_error("isolation", -ENOENT, "no cgroup hierarchy is mounted")));
    CHECK_FALSE(m.confined());
    CHECK(m.unconfined_reason() == "no cgroup hierarchy is mounted");
    auto plain = m.prepare("web", {});
    REQUIRE(plain.ok());
    CHECK(plain->procs_files.empty());
    CHECK(plain->note.empty());
    auto limited = m.prepare("web", meta({{"CRM_meta_outpost_memory_max", "1G"}}));
    REQUIRE(limited.ok());
    CHECK(limited->procs_files.empty());
    CHECK(limited->note == "resource limits not applied: no cgroup hierarchy is mounted");
    // Validation still applies.
    CHECK_FALSE(m.prepare("web", meta({{"CRM_meta_outpost_memory_max", "1 G"}})).ok());
}

TEST_CASE("a parent cgroup that cannot be created: unconfined with the reason")
{
    test::TempDir root("outpost-cgro");
    fake_v2_cgroup(root, "", false);
    root.write("outpost-agent", "a file where the parent cgroup would go");
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", root.path().string());
    Manager m(nullptr, Options{}, h);
    CHECK_FALSE(m.confined());
    CHECK(m.unconfined_reason() == "cannot create " + root.file("outpost-agent") + ": File exists");
}

TEST_CASE("disabled by configuration")
{
    auto m = Manager::create(nullptr, Options{false, "outpost-agent"});
    CHECK_FALSE(m->confined());
    CHECK(m->unconfined_reason() == "isolation is disabled (OUTPOST_isolation=no)");
}

TEST_CASE("v1 on this machine: limits written, children born inside, leftovers killed at release")
{
    auto h = discover_self();
    if (!h || h->kind != Kind::v1 || ::geteuid() != 0) {
        WARN("not root on a cgroup v1 host: the real-cgroupfs checks are skipped");
        return;
    }
    std::string parent = "outpost-unit-" + std::to_string(::getpid());
    Manager m(nullptr, Options{true, parent}, h);
    REQUIRE(m.confined());
    auto cleanup = [&] { remove_parents(*h, parent); };

    auto p = m.prepare("web", meta({{"CRM_meta_outpost_memory_max", "64M"},
                                    {"CRM_meta_outpost_cpu_quota", "50%"},
                                    {"CRM_meta_outpost_cpu_weight", "50"},
                                    {"CRM_meta_outpost_tasks_max", "32"},
                                    {"CRM_meta_outpost_allowed_cpus", "0"}}));
    REQUIRE(p.ok());
    std::string mem = m.directory("web", "memory");
    std::string cpu = m.directory("web", "cpu");
    std::string pids = m.directory("web", "pids");
    std::string cpuset = m.directory("web", "cpuset");
    // v1: the child joins through each hierarchy's `tasks` (one thread, no threadgroup lock).
    CHECK(p->procs_files.size() >= 4);
    for (const auto& file : p->procs_files)
        CHECK(file.ends_with("/tasks"));
    CHECK(mem == h->own.at("memory") + "/" + parent + "/rsc-web");
    CHECK(test::read_value(mem + "/memory.limit_in_bytes") == "67108864");
    CHECK(test::read_value(cpu + "/cpu.cfs_quota_us") == "50000");
    CHECK(test::read_value(cpu + "/cpu.shares") == "512");
    CHECK(test::read_value(pids + "/pids.max") == "32");
    CHECK(test::read_value(cpuset + "/cpuset.cpus") == "0");

    // A child and the daemon it leaves behind are both in the resource's cgroups.
    executor::ProcessSpawner spawner;
    auto out = run_sh(spawner, "sleep 300 >/dev/null 2>&1 & echo $!", p->procs_files);
    REQUIRE(out.has_value());
    pid_t daemon = std::stoi(*out);
    std::string self = test::read_value("/proc/" + std::to_string(daemon) + "/cgroup");
    CHECK(self.find(":memory:" + mem.substr(std::string("/sys/fs/cgroup/memory").size())) !=
          std::string::npos);
    CHECK(self.find(":pids:/" + parent + "/rsc-web") != std::string::npos);
    auto members = cgroupfs::procs(pids);
    REQUIRE(members.ok());
    CHECK(*members == std::vector<pid_t>{daemon});

    // Changed limits reach the running resource.
    auto changed = m.prepare("web", meta({{"CRM_meta_outpost_memory_max", "32M"}}));
    REQUIRE(changed.ok());
    CHECK(test::read_value(mem + "/memory.limit_in_bytes") == "33554432");
    CHECK(test::read_value(cpu + "/cpu.cfs_quota_us") == "-1");
    CHECK(test::read_value(pids + "/pids.max") == "max");

    // A limit the kernel refuses (a cpu this machine does not have) fails the action.
    auto refused = m.prepare("web", meta({{"CRM_meta_outpost_allowed_cpus", "4000"}}));
    CHECK_FALSE(refused.ok());

    std::optional<std::size_t> killed;
    m.release("web", [&](std::size_t n) { killed = n; });
    REQUIRE(test::run_until(
        nullptr, [&] { return killed.has_value(); }, 10s));
    CHECK(*killed == 1);
    // Dead: gone, or a zombie until whoever adopted it reaps it.
    std::string stat = test::read_value("/proc/" + std::to_string(daemon) + "/stat");
    CHECK((stat.empty() || stat.find(") Z ") != std::string::npos));
    CHECK_FALSE(std::filesystem::exists(mem));
    CHECK_FALSE(std::filesystem::exists(pids));
    CHECK(m.directory("web").empty());

    // At exit the empty parent goes; a resource still running keeps its cgroup and the
    // parent (covered by the integration test).
    REQUIRE(m.prepare("idle", {}).ok());
    std::string idle = m.directory("idle", "pids");
    CHECK(std::filesystem::exists(idle));
    m.remove_empty();
    CHECK_FALSE(std::filesystem::exists(idle));
    CHECK_FALSE(std::filesystem::exists(h->own.at("pids") + "/" + parent));
    cleanup();
}

TEST_CASE("v1 on this machine: a resource joins cpu and cpuset only for a limit, live")
{
    auto h = discover_self();
    if (!h || h->kind != Kind::v1 || ::geteuid() != 0 || !h->own.contains("cpuset") ||
        h->key_of("cpu").empty()) {
        WARN("not root on a cgroup v1 host with cpu and cpuset: the real-cgroupfs checks are skipped");
        return;
    }
    std::string parent = "outpost-unit-" + std::to_string(::getpid());
    Manager m(nullptr, Options{true, parent}, h);
    REQUIRE(m.confined());
    auto cleanup = [&] { remove_parents(*h, parent); };
    auto in_cgroup = [](const std::string& dir, pid_t pid) {
        auto members = cgroupfs::procs(dir);
        return members.ok() && std::find(members->begin(), members->end(), pid) != members->end();
    };

    // No limits: the hierarchies of the figures and the stop, not those of the limits.
    auto p = m.prepare("calm", {});
    REQUIRE(p.ok());
    std::string cpu_dir = h->own.at(h->key_of("cpu")) + "/" + parent + "/rsc-calm";
    std::string cpuset_dir = h->own.at("cpuset") + "/" + parent + "/rsc-calm";
    CHECK_FALSE(m.directory("calm", "memory").empty());
    CHECK_FALSE(m.directory("calm", "pids").empty());
    CHECK_FALSE(m.directory("calm", "cpuacct").empty());
    CHECK(m.directory("calm", "cpuset").empty());
    CHECK(m.directory("calm", "blkio").empty());
    const bool co_mounted = h->key_of("cpu") == h->key_of("cpuacct");
    CHECK(m.directory("calm", "cpu").empty() == !co_mounted);
    CHECK(std::filesystem::exists(cpu_dir) == co_mounted);
    CHECK_FALSE(std::filesystem::exists(cpuset_dir));
    CHECK(p->procs_files.size() == 3);  // memory, pids, and cpuacct (or cpu,cpuacct)

    // Two daemons, born in those only.
    executor::ProcessSpawner spawner;
    auto out = run_sh(spawner, "sleep 300 >/dev/null 2>&1 & a=$!; sleep 301 >/dev/null 2>&1 & echo $a $!",
                      p->procs_files);
    REQUIRE(out.has_value());
    pid_t first = 0;
    pid_t second = 0;
    REQUIRE(std::sscanf(out->c_str(), "%d %d", &first, &second) == 2);
    CHECK(in_cgroup(m.directory("calm", "pids"), first));
    CHECK(in_cgroup(m.directory("calm", "pids"), second));

    // A CPU quota and allowed cpus added live (as from the CIB): the running daemons move
    // into the new cpu and cpuset cgroups, under the limits.
    ClusterMeta limited;
    limited["calm"].insert("outpost-cpu-quota", "20%");
    limited["calm"].insert("outpost-allowed-cpus", "0");
    m.set_cluster_meta(limited);
    CHECK(m.directory("calm", "cpu") == cpu_dir);
    CHECK(m.directory("calm", "cpuset") == cpuset_dir);
    CHECK(test::read_value(cpu_dir + "/cpu.cfs_quota_us") == "20000");
    CHECK(test::read_value(cpuset_dir + "/cpuset.cpus") == "0");
    for (pid_t pid : {first, second}) {
        INFO(test::read_value("/proc/" + std::to_string(pid) + "/cgroup"));
        CHECK(in_cgroup(cpu_dir, pid));
        CHECK(in_cgroup(cpuset_dir, pid));
        // The cpuset took effect: the kernel narrowed the process's affinity.
        std::string status = test::read_value("/proc/" + std::to_string(pid) + "/status");
        CHECK(status.find("Cpus_allowed_list:\t0\n") != std::string::npos);
    }
    // Later actions join them too.
    auto next = m.prepare("calm", {});
    REQUIRE(next.ok());
    CHECK(std::count(next->procs_files.begin(), next->procs_files.end(), cpuset_dir + "/tasks") == 1);
    CHECK(std::count(next->procs_files.begin(), next->procs_files.end(), cpu_dir + "/tasks") == 1);

    // Removed: the limits are lifted, the daemons stay where they are.
    m.set_cluster_meta({});
    CHECK(test::read_value(cpu_dir + "/cpu.cfs_quota_us") == "-1");
    CHECK(test::read_value(cpuset_dir + "/cpuset.cpus") ==
          test::read_value(h->own.at("cpuset") + "/" + parent + "/cpuset.cpus"));
    CHECK(in_cgroup(cpu_dir, first));

    // The stop's kill still finds them all, and every cgroup of the resource goes.
    std::optional<std::size_t> killed;
    m.release("calm", [&](std::size_t n) { killed = n; });
    REQUIRE(test::run_until(
        nullptr, [&] { return killed.has_value(); }, 10s));
    CHECK(*killed == 2);
    CHECK_FALSE(std::filesystem::exists(cpu_dir));
    CHECK_FALSE(std::filesystem::exists(cpuset_dir));

    // A cgroup the resource has in another hierarchy already (an earlier agent's) is taken
    // over, so its limit follows what is configured now.
    REQUIRE(cgroupfs::make_dir(cpu_dir).ok());
    REQUIRE(cgroupfs::write(cpu_dir + "/cpu.cfs_quota_us", "30000").ok());
    REQUIRE(m.prepare("calm", {}).ok());
    CHECK(m.directory("calm", "cpu") == cpu_dir);
    CHECK(test::read_value(cpu_dir + "/cpu.cfs_quota_us") == "-1");
    m.remove_empty();
    CHECK_FALSE(std::filesystem::exists(cpu_dir));
    cleanup();
}

TEST_CASE("cgroupfs::remove_tree removes the cgroups a resource made inside its own, deepest first")
{
    test::TempDir root("outpost-cgtree");
    std::filesystem::create_directories(root.file("rsc-web/inner/deeper"));
    std::filesystem::create_directories(root.file("rsc-web/other"));
    REQUIRE(cgroupfs::remove_tree(root.file("rsc-web")).ok());
    CHECK_FALSE(std::filesystem::exists(root.file("rsc-web")));
    // Gone already: nothing to do.
    CHECK(cgroupfs::remove_tree(root.file("rsc-web")).ok());
    // A directory that cannot go (here: a file in it; on cgroupfs: a process) is an error
    // naming it, and what could go went.
    std::filesystem::create_directories(root.file("rsc-db/inner"));
    root.write("rsc-db/busy/file", "x");
    auto st = cgroupfs::remove_tree(root.file("rsc-db"));
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find(root.file("rsc-db/busy")) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(root.file("rsc-db/inner")));
}

TEST_CASE("v2: handing the delegated cgroup back disables the controllers bottom-up")
{
    // What an agent that moved itself into its leaf does at a clean exit while a resource
    // still runs (the kernel's side, EBUSY before and the start accepted after, is checked
    // in agent-isolation-v2-qemu).
    test::TempDir root("outpost-cgv2");
    fake_v2_cgroup(root, "", false);
    fake_v2_cgroup(root, "outpost-agent.self", false);
    fake_v2_cgroup(root, "outpost-agent", false);
    fake_v2_cgroup(root, "outpost-agent/rsc-web", false);
    root.write("cgroup.subtree_control", "cpu io memory pids\n");  // as the kernel lists them
    root.write("outpost-agent/cgroup.subtree_control", "+cpu +io +memory +pids");
    std::string disabled;
    REQUIRE(hand_back(root.path().string(), root.file("outpost-agent"), disabled).ok());
    CHECK(test::read_value(root.file("outpost-agent/cgroup.subtree_control")) == "-cpu -io -memory -pids");
    CHECK(test::read_value(root.file("cgroup.subtree_control")) == "-cpu -io -memory -pids");
    CHECK(test::read_value(root.file("outpost-agent/rsc-web/cgroup.subtree_control")).empty());
    CHECK(disabled == "-cpu -io -memory -pids in " + root.file("outpost-agent") +
                          "; -cpu -io -memory -pids in " + root.path().string());

    // Nothing left running (the parent removed): only the delegated cgroup; nothing enabled:
    // nothing written; a path outside the delegated cgroup is refused.
    root.write("cgroup.subtree_control", "cpu pids");
    disabled.clear();
    REQUIRE(hand_back(root.path().string(), root.file("gone/deeper"), disabled).ok());
    CHECK(disabled == "-cpu -pids in " + root.path().string());
    root.write("cgroup.subtree_control", "");
    disabled.clear();
    REQUIRE(hand_back(root.path().string(), root.path(), disabled).ok());
    CHECK(disabled.empty());
    CHECK_FALSE(hand_back(root.file("outpost-agent"), root.path(), disabled).ok());
}

TEST_CASE("v2: an agent that did not move itself leaves the controllers at exit")
{
    // Started in the leaf (systemd 254+'s DelegateSubgroup=), or in a cgroup whose
    // controllers were enabled already: the next agent is placed the same way, so the
    // resources keep their limits across the restart.
    test::TempDir root("outpost-cgv2");
    fake_v2_cgroup(root, "", false);
    fake_v2_cgroup(root, "outpost-agent.self", false);
    fake_v2_cgroup(root, "outpost-agent", false);
    fake_v2_cgroup(root, "outpost-agent/rsc-web", false);  // not empty: "still running"
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", root.file("outpost-agent.self"));
    {
        Manager m(nullptr, Options{}, h);
        REQUIRE(m.confined());
        REQUIRE(m.prepare("web", meta({{"CRM_meta_outpost_tasks_max", "100"}})).ok());
        m.remove_empty();
    }
    CHECK(test::read_value(root.file("cgroup.subtree_control")) == "+cpu +io +memory +pids");
    CHECK(test::read_value(root.file("outpost-agent/cgroup.subtree_control")) == "+cpu +io +memory +pids");
}
