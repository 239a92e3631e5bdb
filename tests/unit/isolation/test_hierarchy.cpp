// Hierarchy discovery from mountinfo and /proc/self/cgroup text: a hybrid v1 host like
// this one, a pure v2 host, a container whose mounts show only its own subtree, none.
#include <unistd.h>
#include <catch2/catch.hpp>

#include "isolation/hierarchy.hpp"

using namespace outpost::agent::isolation;

namespace {

// As on this machine: v1 per-controller mounts plus a cgroup2 mount without controllers.
constexpr const char* kHybridMounts =
    "30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:29 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:31 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "36 30 0:32 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "37 30 0:33 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n3:cpuset:/\n1:cpu:/\n2:cpuacct:/\n0::/\n";

}  // namespace

TEST_CASE("a hybrid host uses the v1 controllers, in the agent's own cgroup of each")
{
    auto h = discover(kHybridMounts, kHybridSelf);
    REQUIRE(h.ok());
    CHECK(h->kind == Kind::v1);
    CHECK(h->own.at("memory") == "/sys/fs/cgroup/memory/process_api/abc");
    CHECK(h->own.at("cpu") == "/sys/fs/cgroup/cpu");
    CHECK(h->own.at("pids") == "/sys/fs/cgroup/pids");
    CHECK(h->own.at("cpuset") == "/sys/fs/cgroup/cpuset");
    CHECK_FALSE(h->own.contains("blkio"));                    // not mounted
    CHECK(h->own.at("cpuacct") == "/sys/fs/cgroup/cpuacct");  // for cpu time only
}

TEST_CASE("v1 with cpu and cpuacct co-mounted")
{
    auto h = discover("31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
                      "2:cpu,cpuacct:/system.slice/outpost-agent.service\n");
    REQUIRE(h.ok());
    CHECK(h->kind == Kind::v1);
    CHECK(h->own.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct/system.slice/outpost-agent.service");
    CHECK_FALSE(h->own.contains("cpuacct"));  // the same directory: listed once, as cpu
}

TEST_CASE("a unified host uses cgroup2")
{
    auto h = discover("29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
                      "0::/system.slice/outpost-agent.service\n");
    REQUIRE(h.ok());
    CHECK(h->kind == Kind::v2);
    CHECK(h->own.at("") == "/sys/fs/cgroup/system.slice/outpost-agent.service");
}

TEST_CASE("a container sees its own subtree mounted at the root")
{
    // Without a cgroup namespace: the mount's root is the container's cgroup.
    auto h = discover("50 40 0:26 /machine.slice/lxc-guest /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
                      "0::/machine.slice/lxc-guest/init\n");
    REQUIRE(h.ok());
    CHECK(h->own.at("") == "/sys/fs/cgroup/init");
    // With one: everything is "/".
    auto ns = discover("50 40 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/\n");
    REQUIRE(ns.ok());
    CHECK(ns->own.at("") == "/sys/fs/cgroup");
}

TEST_CASE("escaped mount points are unescaped")
{
    auto h = discover("50 40 0:26 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n", "0::/a\n");
    REQUIRE(h.ok());
    CHECK(h->own.at("") == "/mnt/with space/a");
}

TEST_CASE("no usable hierarchy is an error that says why")
{
    auto none = discover("30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", "0::/\n");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message.find("no cgroup hierarchy") != std::string::npos);
    auto outside = discover("50 40 0:26 /lxc/a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/lxc/b\n");
    REQUIRE_FALSE(outside.ok());
    CHECK(outside.error().message.find("not visible") != std::string::npos);
    auto garbage = discover("not mountinfo at all\n\n- - -", "garbage");
    CHECK_FALSE(garbage.ok());
}

TEST_CASE("this machine's own hierarchy is found and exists")
{
    auto h = discover_self();
    REQUIRE(h.ok());
    for (const auto& [controller, dir] : h->own) {
        INFO(controller << " " << dir);
        CHECK(::access((dir + "/cgroup.procs").c_str(), F_OK) == 0);
    }
}
