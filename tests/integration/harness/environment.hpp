// What an integration test may assume about the machine, checked rather than hoped for.
//
// root_and_netns_unavailable(): why namespace tests cannot run here (not root, no `ip`,
// or creating a probe namespace with a veth pair fails), or nullopt. The answer is cached.
// Tests built with harness_main_dep skip the whole executable with exit code 77 (meson's
// SKIP) when it says no; single Catch2 test cases use OUTPOST_REQUIRE_ROOT_AND_NETNS()
// from harness/catch_support.hpp. A skip always prints its reason on stderr: never silent.
//
// refuse_if_real_cluster(): tests that start corosync and pacemakerd themselves call it
// first. It fails, with the reason, if /etc/corosync/corosync.conf exists and is neither
// the corosync package's unmodified default (checked against dpkg's conffile checksum)
// nor a file the harness wrote (first line kCorosyncConfMarker), or if a corosync or
// pacemakerd process is running that this test process did not start: the tests must
// never touch a real cluster. Tests that replace the package default restore it after.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

// meson counts a test that exits with this code as skipped.
inline constexpr int kSkipExitCode = 77;

// The first line of every corosync.conf the harness writes.
inline constexpr std::string_view kCorosyncConfMarker =
    "# Written by the Outpost integration test harness; safe to overwrite.";
inline constexpr const char* kCorosyncConfPath = "/etc/corosync/corosync.conf";

std::optional<std::string> root_and_netns_unavailable();

// Prints "SKIP: <what>: <why>" on stderr and exits with kSkipExitCode.
[[noreturn]] void skip_executable(const std::string& what, const std::string& why);

// Prints "SKIP: <what>: <why>" on stderr (for callers that then return).
void report_skip(const std::string& what, const std::string& why);

Status refuse_if_real_cluster();

// One test cluster per machine: /etc/corosync, the CIB directory and libvirtd are
// machine-wide, so ClusterHarness::start() takes an exclusive flock on this file (in the
// netns lock directory) and waits up to kClusterLockWait for a cluster of another test
// process (the other stream of scripts/test, a parallel build directory) to finish. A test
// that must see no test cluster while it looks at the machine's processes holds it too.
// The kernel drops a crashed run's lock.
inline constexpr const char* kClusterLockPath = "/run/outpost-harness/cluster.lock";
inline constexpr std::chrono::minutes kClusterLockWait{30};

// Waits (polling, so a stuck holder turns into a clear error, not a hang) for the
// machine-wide cluster lock; it is held as long as the returned descriptor is open.
Result<UniqueFd> take_cluster_lock();

// libvirtd, its bridge and the hugetlb work-around are machine-wide too: LibvirtHarness
// holds this lock from start() to stop(), so libvirt tests of both streams of
// scripts/test (and of other checkouts) run one at a time. Taken before the cluster lock
// wherever both are held.
inline constexpr const char* kLibvirtLockPath = "/run/outpost-harness/libvirt.lock";
// The same wait for any lock file in the netns lock directory; `holder` names who holds
// it in the waiting message ("another test process's cluster").
Result<UniqueFd> take_machine_lock(const char* path, const std::string& holder);

// The two checks of refuse_if_real_cluster(), for tests of the harness itself.
Status check_corosync_conf(const std::filesystem::path& path);
Status check_cluster_processes();
// True if `path` is byte-identical to the version `package` shipped (dpkg's md5).
bool is_unmodified_conffile(const std::filesystem::path& path, const std::string& package);

// PIDs of processes whose /proc/PID/comm is exactly `comm` (comm is cut at 15 bytes).
std::vector<pid_t> find_processes_named(std::string_view comm);

}  // namespace outpost::test
