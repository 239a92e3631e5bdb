// Unfencing (observed from crm_simulate 2.1.5; docs/policy.md U1-U4):
//   U1 a fence device whose meta attribute provides=unfencing, or a resource with
//      requires=unfencing (with stonith-enabled), makes unfencing required: resources then
//      default to requires=unfencing;
//   U2 a node that lacks the transient attribute #node-unfenced (guest nodes never) is
//      fenced "on" (stonith-NODE-on) before anything that needs it runs there: the probes and
//      starts of resources that require unfencing and of every fence device; its reason
//      names the first of them ("required by fa monitor"); a fence device's probe makes
//      every node's "on" action first (in node order, optional, unfenced nodes too), so
//      their ids come before it (without stonith-enabled, before every other probe);
//   U3 the "on" action carries CRM_meta_digests_all and CRM_meta_digests_secure:
//      "id:type:digest," for every device that provides unfencing, the last first; the
//      digest is the operation digest of the device's instance attributes, the secure one
//      without password, passwd and user;
//   U4 an "on" downs nothing and leaves the node as it is.
#include <algorithm>
#include <map>

#include "policy/actions.hpp"
#include "policy/digest.hpp"

namespace outpost::cluster::policy {

namespace {

bool provides_unfencing(const Resource& r)
{
    return r.is_primitive() && r.flags.fence_device && r.meta_value("provides") == "unfencing";
}

// U3.
std::pair<std::string, std::string> unfencing_digests(const Cluster& c)
{
    std::string all, secure;
    for (auto it = c.resources.rbegin(); it != c.resources.rend(); ++it) {
        if (!provides_unfencing(*it)) continue;
        std::map<std::string, std::string> params(it->params.begin(), it->params.end());
        const std::string prefix = it->id + ":" + it->type + ":";
        all += prefix + parameters_digest(params) + ",";
        for (const char* hidden : {"password", "passwd", "user"})
            params.erase(hidden);
        secure += prefix + parameters_digest(params) + ",";
    }
    return {all, secure};
}

}  // namespace

bool needs_unfencing(const Cluster& c, NodeIdx n)
{
    if (!c.enable_unfencing) return false;
    const Node& node = c.nodes[n];
    if (node.kind == NodeKind::guest) return false;
    const std::string_view unfenced = node.attr("#node-unfenced");
    return unfenced.empty() || unfenced == "0";
}

// n's "on" action (optional until something needs it), with its digests.
ActIdx unfence_op(Cluster& c, NodeIdx n, bool optional, std::string_view reason)
{
    const bool made = c.find_action(kNone, "stonith-" + c.nodes[n].name + "-on", n) == kNone;
    const ActIdx on = fence_op(c, n, "on", optional, reason);
    if (made) {
        const auto [all, secure] = unfencing_digests(c);
        c.actions[on].set_meta("digests_all", all);
        c.actions[on].set_meta("digests_secure", secure);
    }
    return on;
}

ActIdx unfence_before_probe(Cluster& c, RscIdx r, NodeIdx n)
{
    const Resource& rsc = c.resources[r];
    // A fence device's probe: every node's unfencing is made now (their action ids come
    // before the probe's; also for unfenced nodes), each required only by what needs it
    // there. Without stonith-enabled, an optional one before each other probe.
    if (rsc.flags.fence_device && c.enable_unfencing) {
        for (NodeIdx other : c.node_order)
            if (c.nodes[other].kind != NodeKind::guest) unfence_op(c, other, true, {});
    }
    if (c.unfencing_configured && !c.options.stonith_enabled && !rsc.flags.fence_device &&
        c.nodes[n].kind != NodeKind::guest)
        unfence_op(c, n, true, {});
    if (!c.enable_unfencing) return kNone;
    if (rsc.requires_ != Requires::unfencing && !rsc.flags.fence_device) return kNone;
    if (!needs_unfencing(c, n)) return kNone;
    return unfence_op(c, n, false, "required by " + rsc.id + " monitor");
}

// U2: `action` (a start of r on n) comes after n's unfencing, which it makes required.
void order_after_unfencing(Cluster& c, RscIdx r, NodeIdx n, ActIdx action, std::string_view what)
{
    if (!needs_unfencing(c, n)) return;
    const Resource& rsc = c.resources[r];
    if (rsc.requires_ != Requires::unfencing && !rsc.flags.fence_device) return;
    const ActIdx on = unfence_op(c, n, false, "required by " + rsc.id + " " + std::string(what));
    c.order(on, action, kOrderOptional);
}

// U2 for the starts the transition holds.
void order_starts_after_unfencing(Cluster& c)
{
    if (!c.enable_unfencing) return;
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        if (!c.resources[r].is_primitive()) continue;
        for (ActIdx a : std::vector<ActIdx>(c.resources[r].actions)) {
            const Action& act = c.actions[a];
            if (act.task != "start" || act.node == kNone || act.optional()) continue;
            order_after_unfencing(c, r, act.node, a, "start");
        }
    }
}

}  // namespace outpost::cluster::policy
