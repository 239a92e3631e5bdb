// Which v1 hierarchies a resource joins (attach.hpp): those its figures and stop need
// always, those that only carry limits when it has such a limit; this machine's layout
// (cpu and cpuacct apart), the common one (co-mounted), a container without pids, v2.
#include <catch2/catch.hpp>

#include "isolation/attach.hpp"

using namespace outpost::agent::isolation;

namespace {

constexpr const char* kSelf = "8:pids:/\n4:memory:/\n3:cpuset:/\n1:cpu:/\n2:cpuacct:/\n7:blkio:/\n";
constexpr const char* kApart =
    "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
constexpr const char* kCoMounted =
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
constexpr const char* kCoMountedSelf = "8:pids:/\n4:memory:/\n3:cpuset:/\n1:cpu,cpuacct:/\n7:blkio:/\n";

Hierarchy v1(const char* mounts, const char* self)
{
    auto h = discover(mounts, self);
    REQUIRE(h.ok());
    REQUIRE(h->kind == Kind::v1);
    return *h;
}

Limits with(void (*set)(Limits&))
{
    Limits l;
    set(l);
    return l;
}

}  // namespace

TEST_CASE("v1 controllers: the figures' always, the limits' only when configured")
{
    CHECK(v1_controllers_for(Limits{}) == KeySet{"cpuacct", "memory", "pids"});
    // Memory and tasks limits live in hierarchies every resource joins anyway.
    Limits mem;
    mem.memory_max = 1 << 20;
    mem.memory_high = 1 << 19;
    mem.tasks_max = 10;
    CHECK(v1_controllers_for(mem) == KeySet{"cpuacct", "memory", "pids"});
    CHECK(v1_controllers_for(with([](Limits& l) { l.cpu_quota_us = 50000; })) ==
          KeySet{"cpu", "cpuacct", "memory", "pids"});
    CHECK(v1_controllers_for(with([](Limits& l) { l.cpu_weight = 50; })) ==
          KeySet{"cpu", "cpuacct", "memory", "pids"});
    CHECK(v1_controllers_for(with([](Limits& l) { l.allowed_cpus = "0"; })) ==
          KeySet{"cpuacct", "cpuset", "memory", "pids"});
    CHECK(v1_controllers_for(with([](Limits& l) { l.io_weight = 200; })) ==
          KeySet{"blkio", "cpuacct", "memory", "pids"});
}

TEST_CASE("v1 hierarchies with cpu and cpuacct mounted apart (this machine)")
{
    Hierarchy h = v1(kApart, kSelf);
    CHECK(hierarchies_for(h, Limits{}) == KeySet{"cpuacct", "memory", "pids"});
    CHECK(hierarchies_for(h, with([](Limits& l) { l.cpu_quota_us = 50000; })) ==
          KeySet{"cpu", "cpuacct", "memory", "pids"});
    Limits all;
    all.cpu_weight = 50;
    all.allowed_cpus = "0";
    all.io_weight = 10;
    CHECK(hierarchies_for(h, all) == KeySet{"blkio", "cpu", "cpuacct", "cpuset", "memory", "pids"});
    CHECK(members_hierarchy(h) == "pids");
}

TEST_CASE("v1 hierarchies with cpu,cpuacct co-mounted: one hierarchy for both")
{
    Hierarchy h = v1(kCoMounted, kCoMountedSelf);
    CHECK(h.key_of("cpuacct") == "cpu");
    CHECK(h.key_of("cpu") == "cpu");
    // cpu seconds come from cpuacct, so every resource is in the co-mounted hierarchy.
    CHECK(hierarchies_for(h, Limits{}) == KeySet{"cpu", "memory", "pids"});
    CHECK(hierarchies_for(h, with([](Limits& l) { l.cpu_quota_us = 50000; })) ==
          KeySet{"cpu", "memory", "pids"});
    CHECK(hierarchies_for(h, with([](Limits& l) { l.allowed_cpus = "0"; })) ==
          KeySet{"cpu", "cpuset", "memory", "pids"});
}

TEST_CASE("v1 hierarchies where some are not mounted")
{
    // A libvirt LXC container on a v1 host: no pids hierarchy.
    Hierarchy lxc =
        v1("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
           "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
           "1:cpu,cpuacct:/\n4:memory:/\n");
    CHECK(hierarchies_for(lxc, with([](Limits& l) { l.tasks_max = 5; })) == KeySet{"cpu", "memory"});
    CHECK(hierarchies_for(lxc, with([](Limits& l) { l.allowed_cpus = "0"; })) == KeySet{"cpu", "memory"});
    CHECK(members_hierarchy(lxc) == "memory");
    // Only cpu (no cpuacct, memory or pids): nothing else lists the processes, so every
    // resource joins it (as before this rule).
    Hierarchy cpu_only = v1("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", "1:cpu:/\n");
    CHECK(hierarchies_for(cpu_only, Limits{}) == KeySet{"cpu"});
    CHECK(members_hierarchy(cpu_only) == "cpu");
    // A hand-made hierarchy without mount_of: each controller's own entry.
    Hierarchy plain;
    plain.kind = Kind::v1;
    plain.own = {{"memory", "/m"}, {"cpu", "/c"}};
    CHECK(hierarchies_for(plain, Limits{}) == KeySet{"memory"});
    CHECK(hierarchies_for(plain, with([](Limits& l) { l.cpu_weight = 5; })) == KeySet{"cpu", "memory"});
}

TEST_CASE("v2: the one hierarchy, whatever the limits")
{
    Hierarchy h;
    h.kind = Kind::v2;
    h.own.emplace("", "/sys/fs/cgroup/x");
    CHECK(hierarchies_for(h, Limits{}) == KeySet{""});
    CHECK(hierarchies_for(h, with([](Limits& l) { l.io_weight = 5; })) == KeySet{""});
}
