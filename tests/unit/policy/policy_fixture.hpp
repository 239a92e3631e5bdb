// Small CIBs for the policy engine's unit tests and helpers to look at what it decided:
// actions by key and node, orderings between them, summary lines.
#pragma once

#include <catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "policy/graph.hpp"
#include "policy/policy.hpp"
#include "policy/text.hpp"

namespace policy_test {

using namespace outpost::cluster::policy;

// A CIB with `nodes` cluster nodes (node1..), all online, the given configuration pieces and
// extra status (node_state elements for nodes beyond the cluster ones, histories).
std::string cib(int nodes, const std::string& resources, const std::string& constraints = {},
                const std::string& status = {}, const std::string& options = {});
// An lrm_resource element with one successful operation (start, or a recurring monitor).
// The op-digest recorded is that of a resource without parameters unless `digest` is given.
std::string history(const std::string& rsc, const std::string& task, int rc = 0, int interval_ms = 0,
                    const std::string& type = "Dummy", const std::string& cls = "ocf",
                    const std::string& provider = "pacemaker", int call = 10, const std::string& digest = {});
// One lrm_resource with several operations (task, rc, interval in ms), in call order.
struct OpRecord {
    std::string task;
    int rc = 0;
    int interval_ms = 0;
};
std::string history_ops(const std::string& rsc, const std::vector<OpRecord>& ops,
                        const std::string& type = "Dummy", const std::string& cls = "ocf",
                        const std::string& provider = "pacemaker", const std::string& digest = {});
// A cluster node's node_state with lrm history.
std::string node_state(int id, const std::string& lrm);
// A remote or guest node's node_state with lrm history.
std::string remote_state(const std::string& name, const std::string& lrm);

struct Scheduled {
    std::unique_ptr<Cluster> cluster;
    Graph graph;

    // The action with this key on this node ("" = any), or kNone.
    [[nodiscard]] ActIdx find(const std::string& key, const std::string& node = {}) const;
    // In the graph (required, runnable, dumped).
    [[nodiscard]] bool in_graph(const std::string& key, const std::string& node = {}) const;
    // The graph orders first before then.
    [[nodiscard]] bool ordered(const std::string& first, const std::string& first_node,
                               const std::string& then, const std::string& then_node) const;
    [[nodiscard]] std::vector<std::string> summary() const;
    [[nodiscard]] std::string summary_text() const;
};

Scheduled schedule_cib(const std::string& text);
// The error unpacking or scheduling gives, or "" if it succeeds.
std::string error_of(const std::string& text);

}  // namespace policy_test
