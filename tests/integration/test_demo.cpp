// scripts/demo end to end, as README tells users to run it: the script (with --no-install,
// on the build directory under test) runs the driver outpost-demo (tests/integration/
// demo_*.cpp), then the machine is looked at. Checked from what it prints and from the
// machine afterwards.
// The default variant ([controld], [netns], [remoted]): outpost-controld with two guest
// nodes whose containers the cluster runs:
//   - exit status 0 and "Demo finished"; libvirt LXC containers ([controld], [remoted]:
//     "libvirt LXC works", no fallback), or namespaces because LXC is taken as unavailable
//     ([netns]: OUTPOST_DEMO_PRETEND_NO_LXC=1, the fallback announced);
//   - crm_mon -1 on the host and inside g1 (nsenter into the container, ip netns exec)
//     both show host1 and both guests online (GuestOnline: [ g1 g2 ]), each container
//     Started on host1 and each Dummy on its guest;
//   - g1's container destroyed (virsh destroy; kill -9 of the namespace's daemon): the
//     container runs again in a new first process, then g1 is online, then dummy-g1 runs in
//     the new container, with the times printed (WARN lines);
//   - afterwards: the outpost-controld it started is gone, its directory removed, and
//     (under the machine-wide libvirt and cluster locks, so another test's cannot be
//     mistaken for a leftover) no libvirt_lxc process, no libvirt record or namespace of the
//     demo, no ocf:outpost-demo agent, no cluster daemon.
// [remoted] runs the real pacemaker-remoted 2.1.5 in the LXC guests (--with-remoted).
// The Pacemaker + Corosync variant ([pacemaker], --pacemaker):
//   - exit status 0 and "Demo finished";
//   - crm_mon -1 shows both guests online (RemoteOnline: [ g1 g2 ]) and each Dummy
//     started on its guest;
//   - the failure of dummy-g1 is shown: the monitor failure, the fail count 1
//     (crm_mon --include=failcounts, crm_failcount), the restart, the cleanup back to 0;
//   - teardown: the corosync and pacemakerd the demo started are gone, and no corosync,
//     pacemakerd or pacemaker-* daemon is left and corosync.conf is the package default or
//     the harness's again.
#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/harness.hpp"

using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Measured about 30 s (controld) and 40-60 s (Pacemaker) on 2 cores; a waiting demo
// also waits for another test's cluster (the lock) first.
constexpr auto kDemoTimeout = 15min;

std::string env_or_empty(const char* name)
{
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread
    return value != nullptr ? value : "";
}

bool alive_as(pid_t pid, const std::string& comm)
{
    for (pid_t found : find_processes_named(comm)) {
        if (found == pid) return true;
    }
    return false;
}

enum class Variant { controld_lxc, controld_netns, controld_lxc_remoted, pacemaker };

// scripts/demo with `args`, to completion; its output (the test fails unless it exited 0).
std::string run_demo(const std::vector<std::string>& args, const EnvList& env, const char* what)
{
    const std::string source = env_or_empty("OUTPOST_SOURCE_ROOT");
    const std::string build = env_or_empty("OUTPOST_BUILD_ROOT");
    INFO("OUTPOST_SOURCE_ROOT=" << source << " OUTPOST_BUILD_ROOT=" << build);
    REQUIRE_FALSE(source.empty());
    REQUIRE_FALSE(build.empty());
    std::vector<std::string> argv{"bash", (fs::path(source) / "scripts/demo").string(), "--no-install",
                                  "--build-dir", build};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto begin = std::chrono::steady_clock::now();
    auto run = run_command(argv, nullptr, kDemoTimeout, env);
    require_ok(run);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    INFO(join_argv(argv) << ": " << run->describe());
    WARN("timing: scripts/demo " << what << " ran in " << took << " s");
    REQUIRE(run->succeeded());
    CHECK(contains(run->output, "Demo finished"));
    std::smatch finished;
    if (std::regex_search(run->output, finished, std::regex(R"(Demo finished in ([\d.]+) s)")))
        WARN("timing: the demo itself (without waiting for another test's cluster) " << finished[1].str()
                                                                                     << " s");
    return run->output;
}

// The text between the first `from` and the next `to` (to the end if `to` is absent).
std::string between(const std::string& text, const std::string& from, const std::string& to)
{
    const auto begin = text.find(from);
    if (begin == std::string::npos) return {};
    const auto end = text.find(to, begin);
    return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

void check_placement(const std::string& mon, const std::string& container_agent)
{
    INFO(mon);
    CHECK(contains(mon, "Online: [ host1 ]"));
    CHECK(contains(mon, "GuestOnline: [ g1 g2 ]"));
    for (const char* g : {"g1", "g2"}) {
        std::string container = std::string("ct-") + g;
        container.append(R"(\s+\()").append(container_agent).append(R"(\):\s+Started host1)");
        CHECK(std::regex_search(mon, std::regex(container)));
        std::string dummy = std::string("dummy-") + g;
        dummy.append(R"(\s+\(ocf:pacemaker:Dummy\):\s+Started )").append(g);
        CHECK(std::regex_search(mon, std::regex(dummy)));
    }
}

void run_controld_demo(Variant variant)
{
    std::vector<std::string> args;
    EnvList env;
    const bool lxc = variant != Variant::controld_netns;
    if (variant == Variant::controld_lxc_remoted) {
        auto remoted = remoted_path();
        require_ok(remoted);
        args.emplace_back("--with-remoted");
        env.emplace_back("OUTPOST_REMOTED", *remoted);
    } else if (!agent_path()) {
        OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");
    }
    if (!lxc) env.emplace_back("OUTPOST_DEMO_PRETEND_NO_LXC", "1");
    const std::string out =
        run_demo(args, env, lxc ? (args.empty() ? "(LXC)" : "--with-remoted (LXC)") : "(namespace fallback)");
    INFO(out);
    CHECK(contains(out, "the host runs outpost-controld"));
    CHECK(contains(out, variant == Variant::controld_lxc_remoted
                            ? "guests will run the real pacemaker-remoted"
                            : "guests will run outpost-agent"));
    CHECK(contains(out, "libvirt LXC works") == lxc);
    CHECK(contains(out, "*** FALLBACK: libvirt LXC is not available") == !lxc);
    const std::string agent = lxc ? "ocf:heartbeat:VirtualDomain" : "ocf:outpost-demo:netns-guest";
    CHECK(contains(out, "$ pcs resource create ct-g1 " + agent));
    CHECK(contains(out, "meta remote-node=g1"));

    // crm_mon on the host, then inside g1 (its tools' IPC served through the guest's daemon).
    check_placement(between(out, "$ crm_mon -1\n", "==> the same inside guest g1"), agent);
    const std::string inside = between(out, "==> the same inside guest g1", "==> destroying");
    CHECK(contains(inside, lxc ? "$ nsenter -t " : "$ ip netns exec odemo1 crm_mon -1"));
    check_placement(inside, agent);

    // The destroy and the recovery: the container first, then the node, then the Dummy.
    CHECK(contains(out, lxc ? "$ virsh -c lxc:/// destroy outpost-lv-demo-g1" : "$ kill -9 "));
    std::smatch m;
    REQUIRE(std::regex_search(
        out, m,
        std::regex(R"(container ct-g1 running again \(first process (\d+), was (\d+)\) after ([\d.]+) s)")));
    CHECK(m[1].str() != m[2].str());
    const double container_s = std::stod(m[3].str());
    REQUIRE(std::regex_search(out, m, std::regex(R"(guest node g1 online again after ([\d.]+) s)")));
    const double node_s = std::stod(m[1].str());
    REQUIRE(
        std::regex_search(out, m, std::regex(R"(dummy-g1 started in the new container after ([\d.]+) s)")));
    const double dummy_s = std::stod(m[1].str());
    CHECK(container_s <= node_s);
    CHECK(node_s <= dummy_s);
    WARN("timing: destroy -> container " << container_s << " s, guest online " << node_s << " s, Dummy "
                                         << dummy_s << " s");
    CHECK(std::regex_search(out, std::regex(R"(Online: \[ host1 \][\s\S]*GuestOnline: \[ g1 g2 \][\s\S]*)"
                                            R"(dummy-g1\s+\(ocf:pacemaker:Dummy\):\s+Started g1[\s\S]*)"
                                            R"(fail-count=)")));

    // Teardown.
    REQUIRE(std::regex_search(
        out, m, std::regex(R"(outpost-controld\[(\d+)\] as node host1, CIB file (\S+)/state/cib\.xml)")));
    const auto controld = static_cast<pid_t>(std::stol(m[1].str()));
    const fs::path dir = m[2].str();
    CHECK_FALSE(alive_as(controld, "outpost-control"));
    CHECK_FALSE(fs::exists(dir));
    CHECK(contains(out, "nothing left running"));
    // Under the libvirt lock (then the cluster lock, in that order): nothing of another
    // test's can be running now.
    auto libvirt_lock = take_machine_lock(kLibvirtLockPath, "another test's libvirt guests");
    require_ok(libvirt_lock);
    CHECK(find_processes_named("libvirt_lxc").empty());
    for (const char* g : {"g1", "g2", "probe"}) {
        CHECK_FALSE(fs::exists(std::string("/run/libvirt/lxc/outpost-lv-demo-") + g + ".pid"));
    }
    CHECK_FALSE(fs::exists("/run/netns/odemo1"));
    CHECK_FALSE(fs::exists("/run/netns/odemo2"));
    CHECK_FALSE(fs::exists("/usr/lib/ocf/resource.d/outpost-demo"));
    auto clean = check_machine_for_test_cluster();
    INFO((clean ? std::string() : clean.error().message));
    CHECK(clean.ok());
}

void run_pacemaker_demo()
{
    if (!agent_path()) OUTPOST_SKIP("OUTPOST_AGENT is not set: outpost-agent is not built");
    const std::string out = run_demo({"--pacemaker"}, {}, "--pacemaker");
    INFO(out);
    CHECK(contains(out, "guests will run outpost-agent"));
    CHECK(contains(out, "a throw-away Pacemaker + Corosync cluster"));
    // crm_mon -1 after both Dummies started.
    CHECK(contains(out, "RemoteOnline: [ g1 g2 ]"));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1\s+\(ocf:pacemaker:Dummy\):\s+Started g1)")));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g2\s+\(ocf:pacemaker:Dummy\):\s+Started g2)")));
    // The failure and its recovery.
    CHECK(contains(out, "the monitor failed, the cluster restarted dummy-g1 on g1; state file back: yes"));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1: migration-threshold=\d+ fail-count=1\b)")));
    CHECK(std::regex_search(out, std::regex(R"(dummy-g1 3s-interval monitor on g1 returned 'not running')")));
    CHECK(std::regex_search(out, std::regex(R"(name=fail-count-dummy-g1 value=1\b)")));
    CHECK(contains(out, "fail count of dummy-g1 on g1 is 0 again"));

    // Teardown: the daemons it started are gone...
    std::smatch pids;
    REQUIRE(std::regex_search(out, pids,
                              std::regex(R"(cluster daemons: corosync\[(\d+)\] pacemakerd\[(\d+)\])")));
    const auto corosync = static_cast<pid_t>(std::stol(pids[1].str()));
    const auto pacemakerd = static_cast<pid_t>(std::stol(pids[2].str()));
    CHECK_FALSE(alive_as(corosync, "corosync"));
    CHECK_FALSE(alive_as(pacemakerd, "pacemakerd"));
    // ...and nothing of a cluster is left on the machine.
    auto clean = check_machine_for_test_cluster();
    INFO((clean ? std::string() : clean.error().message));
    CHECK(clean.ok());
}

}  // namespace

TEST_CASE("scripts/demo end to end: outpost-controld, two libvirt LXC guest nodes", "[demo][controld]")
{
    run_controld_demo(Variant::controld_lxc);
}

TEST_CASE("scripts/demo end to end: the fallback to namespace guests when LXC is unavailable",
          "[demo][netns]")
{
    run_controld_demo(Variant::controld_netns);
}

TEST_CASE("scripts/demo --with-remoted end to end (the real pacemaker-remoted 2.1.5 in the LXC guests)",
          "[demo][remoted]")
{
    run_controld_demo(Variant::controld_lxc_remoted);
}

TEST_CASE("scripts/demo --pacemaker end to end (Pacemaker + Corosync, namespace guests)", "[demo][pacemaker]")
{
    run_pacemaker_demo();
}
