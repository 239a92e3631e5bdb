// Unfencing (observed from crm_simulate 2.1.5; docs/policy.md UF1-UF7):
//   UF1 a fence device whose meta attribute provides=unfencing, or a resource with
//      requires=unfencing (with stonith-enabled), makes unfencing required: resources then
//      default to requires=unfencing;
//   UF2 a node that lacks the transient attribute #node-unfenced (guest nodes never) is
//      fenced "on" (stonith-NODE-on) before anything that needs it runs there: the probes and
//      starts of resources that require unfencing and of every fence device; its reason
//      names the first of them ("required by fa monitor"); a fence device's probe makes
//      every node's "on" action first (in node order, optional, unfenced nodes too), so
//      their ids come before it (without stonith-enabled, before every other probe);
//   UF3 the "on" action carries CRM_meta_digests_all and CRM_meta_digests_secure:
//      "id:type:digest," for every device that provides unfencing, the last first; the
//      digest is the operation digest of the device's instance attributes, the secure one
//      without password, passwd and user;
//   UF4 an "on" downs nothing and leaves the node as it is;
//   UF5 a resource that requires unfencing has, on each node it is allowed on, its stop
//      before the node's "on" and its start after it (the start required when the "on" is,
//      on that node: "Restart d1 ( node1 ) due to required stonith"); every start (also of
//      what stays where it runs) of such a resource or of a fence device comes after the
//      "on" (required with it) and makes it required where the node lacks #node-unfenced
//      ("required by fs start"): a node running resources when unfencing is configured is
//      unfenced and they restart;
//   UF6 a node whose #digests-all lacks a device's current "id:type:digest" (and whose
//      #digests-secure lacks its secure one) is unfenced again (the "on" required, with no
//      reason, so the summary does not list it); an absent #digests-all changes nothing;
//   UF7 a fence device's changed definition (its start's digest) requires the unfencing of
//      the node it runs on ("Device parameters changed"), whether or not it provides it.
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

// UF3.
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

namespace {

// Whether `list` (a node's #digests-all or #digests-secure) names `entry`.
bool lists_digest(std::string_view list, std::string_view entry)
{
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        if (list.substr(0, comma) == entry) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// UF6: whether a device that provides unfencing changed since n recorded its digests.
bool device_changed_since_unfencing(Cluster& c, NodeIdx n)
{
    const Node& node = c.nodes[n];
    const std::string_view all = node.attr("#digests-all");
    if (!node.has_attr("#digests-all")) return false;
    const std::string_view secure = node.attr("#digests-secure");
    const auto [now_all, now_secure] = unfencing_digests(c);
    // Both lists hold one "id:type:digest," entry per device, in the same order.
    std::string_view a = now_all, s = now_secure;
    while (!a.empty()) {
        const std::string_view entry_all = a.substr(0, a.find(','));
        const std::string_view entry_secure = s.substr(0, s.find(','));
        if (!lists_digest(all, entry_all)) {
            if (!lists_digest(secure, entry_secure)) return true;
            // (crm_simulate says so, with -s or -U.)
            const std::string id(entry_all.substr(0, entry_all.find(':')));
            c.info_lines.push_back("Only 'private' parameters to " + id + " for unfencing " + node.name +
                                   " changed");
        }
        a.remove_prefix(entry_all.size() + 1);
        s.remove_prefix(entry_secure.size() + 1);
    }
    return false;
}

}  // namespace

// n's "on" action (optional until something needs it), with its digests.
ActIdx unfence_op(Cluster& c, NodeIdx n, bool optional, std::string_view reason)
{
    const bool made = c.find_action(kNone, "stonith-" + c.nodes[n].name + "-on", n) == kNone;
    const ActIdx on = fence_op(c, n, "on", optional, reason);
    if (made) {
        const auto [all, secure] = unfencing_digests(c);
        c.actions[on].set_meta("digests_all", all);
        c.actions[on].set_meta("digests_secure", secure);
        if (device_changed_since_unfencing(c, n)) fence_op(c, n, "on", false, {});  // UF6
    }
    return on;
}

// UF5: r's stop on each node it may run on before that node's "on", its start after it.
void order_restart_around_unfencing(Cluster& c, RscIdx r)
{
    if (!c.resources[r].flags.needs_unfencing) return;
    for (NodeIdx n : c.node_order) {
        const Node& node = c.nodes[n];
        if (node.kind == NodeKind::guest || !c.resources[r].allowed.allowed(n, node.is_remote_class()))
            continue;
        const ActIdx on = unfence_op(c, n, true, {});
        order_task_then_action(c, r, "stop", on, kOrderOptional | kOrderSameNode);
        order_action_then_task(c, on, r, "start", kOrderImpliesThen | kOrderSameNode);
    }
}

// UF7: a fence device's start on n changed its definition.
void unfence_after_device_change(Cluster& c, RscIdx r, NodeIdx n)
{
    if (!c.enable_unfencing || !c.resources[r].flags.fence_device) return;
    const Node& node = c.nodes[n];
    if (node.kind == NodeKind::guest || !node.online || node.unclean || node.shutdown) return;
    unfence_op(c, n, false, "Device parameters changed");
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

// UF2, UF5: `action` (a start of r on n) comes after n's unfencing (required with it), which it
// makes required where n was never unfenced.
void order_after_unfencing(Cluster& c, RscIdx r, NodeIdx n, ActIdx action, std::string_view what)
{
    const Resource& rsc = c.resources[r];
    if (rsc.requires_ != Requires::unfencing && !rsc.flags.fence_device) return;
    if (c.nodes[n].kind == NodeKind::guest) return;
    const ActIdx on = needs_unfencing(c, n)
                          ? unfence_op(c, n, false, "required by " + rsc.id + " " + std::string(what))
                          : unfence_op(c, n, true, {});
    c.order(on, action, kOrderImpliesThen);
}

// UF2 for the starts the transition holds.
void order_starts_after_unfencing(Cluster& c)
{
    if (!c.enable_unfencing) return;
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        if (!c.resources[r].is_primitive()) continue;
        for (ActIdx a : std::vector<ActIdx>(c.resources[r].actions)) {
            const Action& act = c.actions[a];
            if (act.task != "start" || act.node == kNone) continue;
            order_after_unfencing(c, r, act.node, a, "start");
        }
    }
}

}  // namespace outpost::cluster::policy
