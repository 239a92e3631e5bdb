#include "tools/outpost-controld/metrics.hpp"

#include "control/control_loop.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_store.hpp"

namespace outpost::controld {

ControldMetrics::ControldMetrics(metrics::Registry& registry)
    : registry_(registry),
      transitions_(registry.counter("outpost_controld_transitions_total",
                                    "Transitions computed, by outcome: complete, aborted (a change came "
                                    "meanwhile), stopped (actions blocked) or empty (nothing to do).",
                                    {"outcome"})),
      compute_seconds_(registry.histogram("outpost_controld_transition_compute_seconds",
                                          "Time to compute a transition (unpack the CIB, schedule, build the "
                                          "graph).",
                                          {}, metrics::kSecondsBuckets)),
      run_seconds_(registry.histogram("outpost_controld_transition_run_seconds",
                                      "Time from computing a transition with actions until it ended.", {},
                                      metrics::kSecondsBuckets)),
      nodes_(registry.gauge("outpost_controld_nodes",
                            "Nodes by kind (member, remote, guest) and state (online, standby, maintenance, "
                            "pending, offline, unclean) in the current CIB.",
                            {"kind", "state"})),
      resources_(registry.gauge(
          "outpost_controld_resources",
          "Primitive resources (clone instances each) by state (ok, failed, unmanaged, "
          "blocked) and role (started, stopped, promoted, unpromoted, unknown) in the current CIB.",
          {"state", "role"}))
{
}

void ControldMetrics::watch(const cluster::controller::CibStore& store,
                            const cluster::control::ControlLoop* loop)
{
    auto& connections = registry_.gauge("outpost_controld_guest_connections",
                                        "Connections to remote and guest nodes the loop holds, by state "
                                        "(connected, disconnected).",
                                        {"state"});
    registry_.add_collector([this, &store, loop, &connections]() {
        auto held_up = loop != nullptr ? loop->connections() : std::pair<std::size_t, std::size_t>{0, 0};
        connections.with({"connected"}).set(static_cast<double>(held_up.second));
        connections.with({"disconnected"}).set(static_cast<double>(held_up.first - held_up.second));

        // Unpacking is the costly part: only when the CIB changed since the last scrape.
        auto version = cluster::controller::read_version(cluster::controller::root_of(store.current()));
        std::string key = version ? version->describe() : std::string();
        if (!key.empty() && key == counted_version_) return;
        auto counts = cluster::control::count_cib(store.current());
        if (!counts) return;  // the gauges keep what they showed
        counted_version_ = key;
        nodes_.clear();
        for (const auto& [labels, n] : counts->nodes)
            nodes_.with({labels.first, labels.second}).set(static_cast<double>(n));
        resources_.clear();
        for (const auto& [labels, n] : counts->resources)
            resources_.with({labels.first, labels.second}).set(static_cast<double>(n));
    });
}

void ControldMetrics::transition_computed(std::size_t actions, double seconds)
{
    compute_seconds_.with({}).observe(seconds);
    if (actions == 0) transitions_.with({"empty"}).inc();
}

void ControldMetrics::transition_finished(std::string_view outcome, double seconds)
{
    transitions_.with({std::string(outcome)}).inc();
    run_seconds_.with({}).observe(seconds);
}

}  // namespace outpost::controld
