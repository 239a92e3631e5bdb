// outpost-simulate -L against a real single-node Pacemaker 2.1.5 cluster (ClusterHarness):
// it reads the CIB from pacemaker-based's cib_ro, as crm_simulate -L does. The cluster runs
// a remote node (outpost-agent, or the real pacemaker-remoted when the agent is not built)
// with a Dummy on it and a Dummy on the cluster node; then
//   - outpost-simulate -L -S (text and XML) prints what crm_simulate -L -S prints (both
//     read the live CIB; a status update between the two reads is retried);
//   - the CIB it read (-I FILE) is the one crm_simulate -x FILE decides the same on;
//   - run as a user outside haclient, it fails with crm_simulate's exit code and says why.
// The executable's main (harness_cluster_main_dep) skips, with the reason, on a machine
// that looks like part of a real cluster. About 20 s.
#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/cluster.hpp"
#include "harness/cluster_scope.hpp"
#include "harness/harness.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr auto kStartTimeout = 60s;
constexpr int kCompareAttempts = 5;

std::string simulate_path()
{
    const char* path = std::getenv("OUTPOST_SIMULATE");
    return path != nullptr ? path : "";
}

int exit_code(const CommandResult& result)
{
    return WIFEXITED(result.wait_status) ? WEXITSTATUS(result.wait_status) : -1;
}

std::string guest_binary()
{
    if (auto agent = agent_path()) return *agent;
    auto remoted = remoted_path();
    require_ok(remoted);
    return *remoted;
}

// The output without the XML's request="..." (it echoes argv[0], the path each ran as).
std::string comparable(const CommandResult& result)
{
    static const std::regex request(R"(request="[^"]*")");
    return std::regex_replace(result.output, request, "");
}

}  // namespace

TEST_CASE("outpost-simulate -L reads a real cluster's CIB as crm_simulate -L does")
{
    REQUIRE_FALSE(simulate_path().empty());
    ClusterScope setup;
    auto cluster = ClusterHarness::start();
    require_ok(cluster);
    setup.cluster = std::move(*cluster);
    ClusterHarness& c = *setup.cluster;
    GuestOptions options;
    options.name = "g1";
    options.binary = guest_binary();
    auto guest = c.add_guest(std::move(options));
    require_ok(guest);
    require_ok(c.add_remote_node(**guest));
    require_ok(c.pcs({"resource", "create", "d1", "ocf:pacemaker:Dummy", "op", "monitor", "interval=10s"}));
    require_ok(c.pcs({"constraint", "location", "d1", "prefers", "g1=INFINITY"}));
    require_ok(c.pcs({"resource", "create", "d2", "ocf:pacemaker:Dummy"}));
    require_ok(c.pcs({"constraint", "location", "d2", "prefers", std::string(kClusterNode) + "=INFINITY"}));
    require_ok(c.wait_for(
        [](const CrmMon& mon) {
            auto d1 = mon.resource_nodes("d1");
            auto d2 = mon.resource_nodes("d2");
            return d1.size() == 1 && d1[0] == "g1" && d2.size() == 1 && d2[0] == kClusterNode &&
                   mon.resource_role("d1") == "Started" && mon.resource_role("d2") == "Started";
        },
        kStartTimeout, "d1 to run on g1 and d2 on node1"));

    const std::string saved = c.dir().file("live.xml");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"-L", "-S"}, std::vector<std::string>{"-L", "-S", "--output-as=xml"}}) {
        std::vector<std::string> ours{simulate_path()};
        ours.insert(ours.end(), args.begin(), args.end());
        ours.insert(ours.end(), {"-I", saved});
        std::vector<std::string> theirs{"crm_simulate"};
        theirs.insert(theirs.end(), args.begin(), args.end());
        std::string expected, got;
        for (int attempt = 0; attempt < kCompareAttempts && (got.empty() || got != expected); ++attempt) {
            auto a = c.tool(ours);
            auto b = c.tool(theirs);
            require_ok(a);
            require_ok(b);
            INFO(a->describe());
            REQUIRE(a->succeeded());
            REQUIRE(b->succeeded());
            got = comparable(*a);
            expected = comparable(*b);
        }
        INFO(join_argv(args));
        CHECK(got == expected);
        CHECK(contains(got, "g1"));
        CHECK(contains(got, "d1"));
        // What it read is the cluster's CIB: the real scheduler decides the same on it.
        std::vector<std::string> from_file{"crm_simulate", "-x", saved};
        from_file.insert(from_file.end(), args.begin() + 1, args.end());
        auto file = c.tool(from_file);
        require_ok(file);
        CHECK(comparable(*file) == got);
    }
    auto saved_text = read_file(saved);
    require_ok(saved_text);
    CHECK(std::regex_search(*saved_text, std::regex(R"(<node_state [^>]*uname="g1")")));

    // Outside haclient: refused by pacemaker-based, the same exit code as crm_simulate.
    const std::vector<std::string> nobody{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"};
    std::vector<std::string> ours = nobody;
    ours.insert(ours.end(), {simulate_path(), "-L", "-R"});
    std::vector<std::string> theirs = nobody;
    theirs.insert(theirs.end(), {"crm_simulate", "-L", "-R"});
    auto denied = c.tool(ours);
    auto denied_theirs = c.tool(theirs);
    require_ok(denied);
    require_ok(denied_theirs);
    INFO(denied->describe() << "\ncrm_simulate: " << denied_theirs->describe());
    CHECK(exit_code(*denied_theirs) != 0);
    CHECK(exit_code(*denied) == exit_code(*denied_theirs));
    CHECK(contains(denied->output, "permission denied"));
}
