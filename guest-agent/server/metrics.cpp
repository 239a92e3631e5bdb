#include "server/metrics.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "proxy/proxy.hpp"
#include "server/server.hpp"

namespace outpost::agent::server {

namespace {

constexpr std::array<std::string_view, 8> kClasses = {"ocf",     "lsb",    "systemd", "service",
                                                      "stonith", "nagios", "upstart", "alert"};
constexpr std::array<std::string_view, 14> kActions = {
    "start",  "stop",         "monitor",    "status",       "promote",   "demote",       "notify",
    "reload", "reload-agent", "migrate_to", "migrate_from", "meta-data", "validate-all", "recover"};
// OCF_SUCCESS .. OCF_FAILED_PROMOTED by value, as the OCF standard names them.
constexpr std::array<std::string_view, 10> kOcfResults = {"ok",
                                                          "err_generic",
                                                          "err_args",
                                                          "err_unimplemented",
                                                          "err_perm",
                                                          "err_installed",
                                                          "err_configured",
                                                          "not_running",
                                                          "running_promoted",
                                                          "failed_promoted"};

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

template <std::size_t N>
std::string known_or_other(std::string value, const std::array<std::string_view, N>& known)
{
    return std::find(known.begin(), known.end(), value) != known.end() ? value : std::string("other");
}

}  // namespace

std::string class_label(std::string_view rsc_class)
{
    return known_or_other(lower(rsc_class), kClasses);
}

std::string action_label(std::string_view action)
{
    return known_or_other(std::string(action), kActions);
}

std::string result_label(const executor::OpResult& result)
{
    using executor::ExecStatus;
    const auto& n = result.notify;
    switch (n.op_status) {
        case ExecStatus::done:
            if (n.exec_rc >= 0 && n.exec_rc < static_cast<int>(kOcfResults.size()))
                return std::string(kOcfResults[static_cast<std::size_t>(n.exec_rc)]);
            return "err_other";
        case ExecStatus::cancelled:
            return "cancelled";
        case ExecStatus::timeout:
            return "timeout";
        case ExecStatus::not_supported:
            return "not_supported";
        case ExecStatus::error:
            return "exec_error";
        case ExecStatus::error_hard:
            return "exec_error_hard";
        case ExecStatus::error_fatal:
            return "exec_error_fatal";
        case ExecStatus::not_installed:
            return "not_installed";
        case ExecStatus::not_connected:
            return "not_connected";
        case ExecStatus::invalid:
            return "invalid";
        case ExecStatus::no_fence_device:
            return "no_fence_device";
        case ExecStatus::no_secrets:
            return "no_secrets";
        case ExecStatus::pending:
            return "pending";
        case ExecStatus::unknown:
            break;
    }
    return "unknown";
}

ServerMetrics::ServerMetrics(metrics::Registry& registry)
    : registry_(registry),
      operations_(registry.counter("outpost_agent_operations_total",
                                   "Operations run, by resource class, action and result.",
                                   {"class", "action", "result"})),
      exec_seconds_(registry.histogram("outpost_agent_operation_exec_seconds",
                                       "Time an operation's agent ran, by resource class and action.",
                                       {"class", "action"}, metrics::kSecondsBuckets)),
      queue_seconds_(registry.histogram("outpost_agent_operation_queue_seconds",
                                        "Time an operation waited behind others of its resource, by resource "
                                        "class and action.",
                                        {"class", "action"}, metrics::kSecondsBuckets)),
      accepted_(registry
                    .counter("outpost_agent_connections_accepted_total",
                             "TCP connections accepted from the cluster (before the TLS handshake).")
                    .with({})),
      refused_(registry
                   .counter("outpost_agent_connections_refused_total",
                            "TCP connections closed at once because the client limit was reached.")
                   .with({})),
      handshake_failures_(registry
                              .counter("outpost_agent_tls_handshake_failures_total",
                                       "TLS handshakes that failed (wrong key, bad certificate, timeout, "
                                       "peer gone).")
                              .with({}))
{
}

void ServerMetrics::operation_run(const executor::OpResult& result, std::string_view rsc_class)
{
    std::string cls = class_label(rsc_class);
    std::string action = action_label(result.notify.action);
    operations_.with({cls, action, result_label(result)}).inc();
    exec_seconds_.with({cls, action}).observe(result.notify.exec_time_ms / 1000.0);
    queue_seconds_.with({cls, action}).observe(result.notify.queue_time_ms / 1000.0);
}

void ServerMetrics::watch(const Server& server, const proxy::IpcProxy* proxy)
{
    auto& connections =
        registry_.gauge("outpost_agent_connections",
                        "Open connections: cluster (TLS, established), handshake (TLS handshake "
                        "in progress), local_executor (lrmd IPC clients on this node).",
                        {"kind"});
    auto& sessions =
        registry_.gauge("outpost_agent_proxy_sessions",
                        "Local tool sessions (crm_mon, crm_attribute, ...) tunnelled to the cluster.");
    auto& resources = registry_.gauge("outpost_agent_resources", "Resources registered with the executor.");
    auto& queued = registry_.gauge("outpost_agent_operations_queued",
                                   "Operations waiting behind another operation of their resource.");
    auto& running = registry_.gauge("outpost_agent_operations_running", "Operations whose agent is running.");
    registry_.add_collector([&server, proxy, &connections, &sessions, &resources, &queued, &running]() {
        connections.with({"cluster"}).set(static_cast<double>(server.client_count()));
        connections.with({"handshake"}).set(static_cast<double>(server.pending_count()));
        connections.with({"local_executor"}).set(static_cast<double>(server.local_executor_count()));
        sessions.with({}).set(proxy != nullptr ? static_cast<double>(proxy->tool_session_count()) : 0);
        const auto& executor = server.executor();
        resources.with({}).set(static_cast<double>(executor.resource_count()));
        queued.with({}).set(static_cast<double>(executor.queued_count()));
        running.with({}).set(static_cast<double>(executor.running_count()));
    });
}

}  // namespace outpost::agent::server
