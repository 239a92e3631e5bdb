// Per-resource usage from cgroupfs files: v1 and v2 layouts faked in a temp directory.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "isolation/manager.hpp"
#include "isolation/usage.hpp"
#include "support/files.hpp"

using namespace outpost::agent::isolation;
namespace fs = std::filesystem;

TEST_CASE("flat keyed cgroup files")
{
    CHECK(keyed_value("usage_usec 1500000\nuser_usec 10\n", "usage_usec") == 1500000);
    CHECK(keyed_value("low 0\nhigh 0\nmax 7\noom 1\n", "max") == 7);
    CHECK_FALSE(keyed_value("max_usage 3\n", "max").has_value());
    CHECK_FALSE(keyed_value("max x\n", "max").has_value());
    CHECK_FALSE(keyed_value("", "max").has_value());
}

TEST_CASE("v1: cpuacct, memory and pids files; a missing file leaves its figure out")
{
    outpost::test::TempDir dir("outpost-usage");
    for (const char* c : {"cpuacct", "memory", "pids"})
        fs::create_directories(dir / c);
    REQUIRE(outpost::test::write_file(dir / "cpuacct/cpuacct.usage", "2500000000\n").ok());
    REQUIRE(outpost::test::write_file(dir / "memory/memory.usage_in_bytes", "1048576\n").ok());
    REQUIRE(outpost::test::write_file(dir / "memory/memory.max_usage_in_bytes", "2097152\n").ok());
    REQUIRE(outpost::test::write_file(dir / "memory/memory.failcnt", "3\n").ok());
    REQUIRE(outpost::test::write_file(dir / "pids/pids.current", "4\n").ok());
    Manager::Dirs dirs{{"cpuacct", (dir / "cpuacct").string()},
                       {"memory", (dir / "memory").string()},
                       {"pids", (dir / "pids").string()}};
    Usage u = read_usage(Kind::v1, dirs);
    CHECK(u.cpu_seconds == 2.5);
    CHECK(u.memory_bytes == 1048576);
    CHECK(u.memory_peak_bytes == 2097152);
    CHECK(u.memory_limit_hits == 3);
    CHECK(u.tasks == 4);
    CHECK_FALSE(u.tasks_limit_hits.has_value());  // no pids.events
    CHECK_FALSE(u.oom_kills.has_value());         // no memory.oom_control

    // Swap accounted: a charge over memory+swap counts in memsw's failcnt; OOM kills.
    REQUIRE(outpost::test::write_file(dir / "memory/memory.memsw.failcnt", "4\n").ok());
    REQUIRE(outpost::test::write_file(dir / "memory/memory.oom_control",
                                      "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
                .ok());
    u = read_usage(Kind::v1, dirs);
    CHECK(u.memory_limit_hits == 7);
    CHECK(u.oom_kills == 2);

    // cpu and cpuacct mounted together: the figure is in the cpu directory.
    Manager::Dirs comounted{{"cpu", (dir / "cpuacct").string()}};
    CHECK(read_usage(Kind::v1, comounted).cpu_seconds == 2.5);
}

TEST_CASE("v2: cpu.stat, memory.current/peak/events, pids")
{
    outpost::test::TempDir dir("outpost-usage");
    REQUIRE(outpost::test::write_file(dir / "cpu.stat", "usage_usec 750000\nuser_usec 500000\n").ok());
    REQUIRE(outpost::test::write_file(dir / "memory.current", "4096\n").ok());
    REQUIRE(
        outpost::test::write_file(dir / "memory.events", "low 0\nhigh 2\nmax 5\noom 1\noom_kill 1\n").ok());
    REQUIRE(outpost::test::write_file(dir / "pids.current", "1\n").ok());
    REQUIRE(outpost::test::write_file(dir / "pids.events", "max 9\n").ok());
    Usage u = read_usage(Kind::v2, Manager::Dirs{{"", dir.path().string()}});
    CHECK(u.cpu_seconds == 0.75);
    CHECK(u.memory_bytes == 4096);
    CHECK_FALSE(u.memory_peak_bytes.has_value());  // no memory.peak before Linux 5.19
    CHECK(u.memory_limit_hits == 5);
    CHECK(u.oom_kills == 1);
    CHECK(u.tasks == 1);
    CHECK(u.tasks_limit_hits == 9);
}
