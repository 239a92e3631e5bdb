// ServerMetrics: the agent's own metric families (outpost_agent_*): operations by class,
// action and result with exec and queue time histograms, operations queued and running,
// registered resources, connections, proxy sessions, TLS handshakes that failed. Counters
// are bumped by the server and the executor's run hook; gauges are read from the live
// objects at each scrape. Per-resource cgroup figures are isolation/usage.hpp's.
#pragma once

#include <string>
#include <string_view>

#include "executor/types.hpp"
#include "metrics/registry.hpp"

namespace outpost::agent::proxy {
class IpcProxy;
}

namespace outpost::agent::server {

class Server;

// Label values with bounded cardinality: a class or action outside the known lists is
// "other" (the cluster may send any action name; a series per name would grow unbounded).
[[nodiscard]] std::string class_label(std::string_view rsc_class);
[[nodiscard]] std::string action_label(std::string_view action);
// "ok", "not_running", "err_generic", ... for a completed run (the OCF names, lower case);
// "timeout", "cancelled", "exec_error", ... when it did not complete.
[[nodiscard]] std::string result_label(const executor::OpResult& result);

class ServerMetrics {
public:
    explicit ServerMetrics(metrics::Registry& registry);

    void operation_run(const executor::OpResult& result, std::string_view rsc_class);
    void connection_accepted() { accepted_.inc(); }
    void connection_refused() { refused_.inc(); }
    void handshake_failed() { handshake_failures_.inc(); }

    // The gauges read `server` (and `proxy`) at each scrape; both must outlive the registry's renders.
    void watch(const Server& server, const proxy::IpcProxy* proxy);

private:
    metrics::Registry& registry_;
    metrics::CounterFamily& operations_;
    metrics::HistogramFamily& exec_seconds_;
    metrics::HistogramFamily& queue_seconds_;
    metrics::Counter& accepted_;
    metrics::Counter& refused_;
    metrics::Counter& handshake_failures_;
};

}  // namespace outpost::agent::server
