// ControldMetrics: outpost-controld's metric families (outpost_controld_*): transitions by
// outcome with their compute and run times, nodes by kind and state and resources by state
// and role in the current CIB, and the remote/guest node connections. It observes the
// control loop (control/loop_observer.hpp).
#pragma once

#include <string>
#include <string_view>

#include "control/loop_observer.hpp"
#include "metrics/registry.hpp"

namespace outpost::cluster::control {
class ControlLoop;
}
namespace outpost::cluster::controller {
class CibStore;
}

namespace outpost::controld {

class ControldMetrics final : public cluster::control::LoopObserver {
public:
    explicit ControldMetrics(metrics::Registry& registry);

    // At each scrape: the node and resource gauges from `store`'s CIB (unpacked again only
    // when its version changed), the connection gauges from `loop` (may be null: --cib-only).
    // Both must outlive the registry's renders.
    void watch(const cluster::controller::CibStore& store, const cluster::control::ControlLoop* loop);

    void transition_computed(std::size_t actions, double seconds) override;
    void transition_finished(std::string_view outcome, double seconds) override;

private:
    metrics::Registry& registry_;
    metrics::CounterFamily& transitions_;
    metrics::HistogramFamily& compute_seconds_;
    metrics::HistogramFamily& run_seconds_;
    metrics::GaugeFamily& nodes_;
    metrics::GaugeFamily& resources_;
    std::string counted_version_;  // of the CIB the node and resource gauges show
};

}  // namespace outpost::controld
