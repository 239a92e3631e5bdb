// fuzz-cib: arbitrary bytes as a CIB for the policy engine. Whatever the input (malformed
// XML, deep nesting, huge ids, unknown elements, cycles in orderings and colocations), the
// engine must give an error or a transition, never crash or hang: the input is parsed with
// the engine's limits, unpacked, scheduled, and every output (status text, summary, graph
// XML and dot, simulation) is produced.
#include <cstdint>
#include <string_view>

#include "policy/graph.hpp"
#include "policy/policy.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"

using namespace outpost::cluster::policy;

namespace {

// Large enough for every seed; the engine's own limit (1 GiB) is for real CIBs.
constexpr std::size_t kFuzzMaxInput = std::size_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kFuzzMaxInput) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto doc = xml::parse(text, kFuzzMaxInput);
    if (!doc) return 0;
    ScheduleOptions options;
    options.clock_now = 1700000000;
    options.show_scores = true;
    options.show_utilization = true;
    options.sanitized = true;
    auto cluster = unpack(std::move(*doc), options);
    if (!cluster) return 0;
    Cluster& c = **cluster;
    (void)render_status(c);
    (void)render_status(c, false);
    (void)render_status_notes(c);
    if (!schedule(c)) return 0;
    Graph g = build_graph(c);
    (void)render_summary(c);
    (void)graph_xml(c, g);
    (void)graph_dot(c, g);
    SimulationResult sim = simulate_transition(c, g, {}, options.clock_now);
    ScheduleOptions revised_options;
    revised_options.set_now = c.now;
    auto revised = unpack(std::move(sim.cib), revised_options);
    if (revised) (void)render_status(**revised);
    return 0;
}
