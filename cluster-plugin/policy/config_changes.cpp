// Changed definitions of resources that have history: a different agent deletes the
// history (and restarts the resource where it runs), a changed parameter digest restarts
// the resource or re-runs a recurring operation, orphans lose their history, operations no
// longer configured are cancelled, and a failure whose operation changed has its fail
// count cleared. Also the fail counts of expired failures.
#include <algorithm>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/actions.hpp"
#include "policy/digest.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

ActIdx fence_op(Cluster& c, NodeIdx n, std::string_view op, bool optional, std::string_view reason);
int effective_failcount(const Cluster& c, RscIdx r, NodeIdx n, EpochSeconds* last_failure);
int own_failcount(const Cluster& c, RscIdx r, NodeIdx n);

namespace {

const Op* configured_op(const Resource& r, std::string_view task, std::int64_t interval)
{
    for (const Op& op : r.ops) {
        if (op.name == task && op.interval_ms == interval) return &op;
    }
    return nullptr;
}

bool delete_rsc(Cluster& c, RscIdx r, NodeIdx n, bool optional)
{
    const Resource& rsc = c.resources[r];
    if (rsc.flags.failed) return false;
    const Node& node = c.nodes[n];
    if (node.unclean || !node.online) return false;
    rsc_action(c, r, "delete", n, optional);
    const std::uint32_t f = optional ? kOrderImpliesThen : kOrderOptional;
    order_tasks(c, r, "stop", r, "delete", f);
    order_tasks(c, r, "delete", r, "start", f);
    return true;
}

}  // namespace

ActIdx clear_failcount(Cluster& c, RscIdx r, NodeIdx n, std::string_view reason)
{
    ActIdx a = c.make_action(r, op_key(c.resources[r].id, "clear_failcount", 0), "clear_failcount", n, false);
    Action& act = c.actions[a];
    // F3: made on a node that is offline at the time, it cannot run (a guest whose container
    // failed, while its history is unpacked, observed: rnd-s196-c7-8.)
    if (n == kNone || c.nodes[n].online) {
        act.flags |= kActRunnable;
    } else {
        act.flags &= ~kActRunnable;
    }
    if (act.meta.empty()) {
        act.set_meta("op_no_wait", "true");
        act.set_meta("timeout", std::to_string(c.options.default_op_timeout_ms));
    }
    if (act.reason.empty()) act.reason = std::string(reason);
    return a;
}

namespace {

bool agent_changed(Cluster& c, RscIdx r, NodeIdx n, const NodeHistory& h, bool active_here)
{
    const Resource& rsc = c.resources[r];
    bool changed = false;
    const std::pair<const char*, const std::string*> fields[] = {
        {"type", &rsc.type}, {"class", &rsc.cls}, {"provider", &rsc.provider}};
    for (const auto& [name, value] : fields) {
        const char* old = xml::attr_c(h.xml, name);
        if (!old && value->empty()) continue;
        if (old && *value == old) continue;
        changed = true;
    }
    if (changed && active_here) {
        rsc_action(c, r, "stop", n, false);
        c.resources[r].flags.start_pending = true;
    }
    return changed;
}

// The parameters an operation runs with, as digested.
std::map<std::string, std::string> digest_params(const Resource& rsc, std::string_view task,
                                                 std::int64_t interval)
{
    std::map<std::string, std::string> params;
    for (const auto& [k, v] : rsc.params)
        params[k] = v;
    const Op* op = configured_op(rsc, task, interval);
    if (op) {
        for (const auto& [k, v] : op->params)
            params[k] = v;
    }
    if (interval > 0) {
        std::int64_t timeout = 20000;
        if (op && !op->timeout.empty()) timeout = op->timeout_ms;
        params["CRM_meta_timeout"] = std::to_string(timeout);
    }
    return params;
}

}  // namespace

std::string op_digest(const Resource& rsc, std::string_view task, std::int64_t interval)
{
    return parameters_digest(digest_params(rsc, interval > 0 ? task : std::string_view("start"), interval));
}

// How an operation's recorded digests compare with the current definition.
DigestResult compare_digest(const Cluster& c, RscIdx r, const HistoryOp& op)
{
    const Resource& rsc = c.resources[r];
    std::string task(op.task);
    const std::int64_t interval = op.interval_ms;
    if (interval == 0 && (task == "monitor" || task == "migrate_from" || task == "promote")) task = "start";
    const auto params = digest_params(rsc, task, interval);
    const std::string all = parameters_digest(params);
    std::string restart_calc;
    if (xml::has_attr(op.xml, "op-force-restart")) {
        std::map<std::string, std::string> restart;
        const std::string list(op.op_restart);
        for (const auto& [k, v] : params) {
            if (list.find(" " + k + " ") != std::string::npos) restart[k] = v;
        }
        restart_calc = parameters_digest(restart);
    }
    const bool has_restart_digest = xml::has_attr(op.xml, "op-restart-digest");
    if (has_restart_digest && !restart_calc.empty() && restart_calc != op.restart_digest)
        return DigestResult::restart;
    if (op.digest.empty()) return DigestResult::unknown;
    if (all != op.digest) {
        const char* secure = xml::attr_c(op.xml, "op-secure-digest");
        if (c.sanitized && secure && rsc.flags.fence_device) {
            // Secure parameters (and the fencer's own pcmk_* ones) left out.
            const std::string listed = " " + std::string(xml::attr(op.xml, "op-secure-params")) + " ";
            std::map<std::string, std::string> kept;
            for (const auto& [k, v] : params) {
                if (k.starts_with("pcmk_") || k.starts_with("CRM_meta_") ||
                    listed.find(" " + k + " ") != std::string::npos)
                    continue;
                kept[k] = v;
            }
            if (parameters_digest(kept) == secure) return DigestResult::sanitized_match;
        }
        return DigestResult::all;
    }
    return DigestResult::match;
}

namespace {

// A resource to reload on a node (schedule_reload), once every entry is checked.
using Reloads = std::vector<std::pair<RscIdx, NodeIdx>>;

// A recurring operation of the history to cancel (no longer configured, or its resource or
// node in maintenance): the optional action unpacking made for it becomes the cancellation,
// as crm_simulate 2.1.5 shows it (observed: "cancel=10000", CRM_meta_call_id the history's
// call, CRM_meta_name only where the operation is configured).
ActIdx cancel_recurring(Cluster& c, RscIdx r, NodeIdx n, const HistoryOp& op)
{
    const std::string task(op.task);
    const ActIdx a =
        c.make_action(r, op_key(c.resources[r].id, task, op.interval_ms), "cancel", n, false, op.interval_ms);
    Action& act = c.actions[a];
    act.task = "cancel";
    act.flags |= kActRunnable;
    act.set_meta("interval", std::to_string(op.interval_ms));
    act.set_meta("operation", task);
    act.set_meta("call_id", std::to_string(op.call_id));
    if (!act.op) std::erase_if(act.meta, [](const auto& m) { return m.first == "name"; });
    return a;
}

// Returns true when the operation's definition changed.
bool check_definition(Cluster& c, RscIdx r, NodeIdx n, const HistoryOp& op, Reloads& reloads)
{
    const Resource& rsc = c.resources[r];
    std::string task(op.task);
    const std::int64_t interval = op.interval_ms;
    if (interval > 0) {
        if (!configured_op(rsc, task, interval)) {
            // (After the resource's stop where it stops, observed: `p2_stop_0` before the
            // cancellation when p2 recovers.)
            if (c.options.stop_orphan_actions)
                order_task_then_action(c, r, "stop", cancel_recurring(c, r, n, op), kOrderOptional);
            return true;
        }
    }
    if (interval == 0 && (task == "monitor" || task == "migrate_from" || task == "promote")) task = "start";
    const DigestResult d = compare_digest(c, r, op);
    if (d == DigestResult::sanitized_match) {
        // crm_simulate says so (an informational line, shown only with -s or -U).
        c.info_lines.push_back("Only 'private' parameters to " + c.readable_interval(interval) +
                               "-interval " + task + " for " + rsc.id + " on " + c.nodes[n].name +
                               " changed: " + std::string(xml::attr(op.xml, "transition-magic")));
        return false;
    }
    const bool has_restart_digest = xml::has_attr(op.xml, "op-restart-digest");
    enum { match, restart_changed, all_changed } rc = match;
    if (d == DigestResult::restart) {
        rc = restart_changed;
    } else if (d == DigestResult::all || d == DigestResult::unknown) {
        rc = all_changed;
    }
    if (rc == match) return false;
    const std::string key = op_key(rsc.id, task, interval);
    if (rc == restart_changed) {
        ActIdx req = c.make_action(r, key, task, kNone, false, interval);
        c.actions[req].reason = "resource definition change";
        return true;
    }
    if (interval == 0) unfence_after_device_change(c, r, n);  // UF7
    if (interval > 0) {
        ActIdx a = rsc_action(c, r, task, n, true, interval);
        c.actions[a].flags |= kActReschedule;
    } else if (has_restart_digest) {
        reloads.emplace_back(r, n);
    } else {
        ActIdx req = c.make_action(r, key, task, kNone, false, interval);
        c.actions[req].reason = "resource definition change";
    }
    return true;
}

}  // namespace

namespace {

// A definition change of reloadable parameters only (check_definition) is applied by the
// agent's reload-agent where the resource runs (observed, 2.1.5: "<rsc>_reload-agent_0",
// before the rescheduled recurring monitors); it gives way when the resource stops there
// anyway, and a start still pending when the definition changed is redone instead.
void schedule_reload(Cluster& c, RscIdx r, NodeIdx node)
{
    const Resource& rsc = c.resources[r];
    if (!rsc.flags.managed || rsc.flags.failed || rsc.flags.reload) return;
    if (rsc.flags.start_pending) {
        (void)rsc_action(c, r, "stop", node, false);
        return;
    }
    c.resources[r].flags.reload = true;
    ActIdx reload = rsc_action(c, r, "reload-agent", node, false);
    c.actions[reload].reason = "resource definition change";
    order_action_then_task(c, reload, r, "stop", kOrderOptional | kOrderThenCancelsFirst);
    order_action_then_task(c, reload, r, "demote", kOrderOptional | kOrderThenCancelsFirst);
}

}  // namespace

// Pacemaker's calculate_active_ops over ops sorted by call-id.
void active_op_range(const NodeHistory& h, int& start_index, int& stop_index)
{
    int implied_monitor_start = -1, implied_clone_start = -1;
    start_index = stop_index = -1;
    for (std::size_t i = 0; i < h.ops.size(); ++i) {
        const HistoryOp& op = h.ops[i];
        const int counter = static_cast<int>(i);
        if (op.task == "stop" && op.status == ExecStatus::done) {
            stop_index = counter;
        } else if (op.task == "start" || op.task == "migrate_from") {
            start_index = counter;
        } else if (implied_monitor_start <= stop_index && op.task == "monitor") {
            if (op.rc == ocf::ok || op.rc == ocf::running_promoted) implied_monitor_start = counter;
        } else if (op.task == "promote" || op.task == "demote") {
            implied_clone_start = counter;
        }
    }
    if (start_index == -1) {
        if (implied_clone_start != -1)
            start_index = implied_clone_start;
        else if (implied_monitor_start != -1)
            start_index = implied_monitor_start;
    }
}

void check_config_changes(Cluster& c)
{
    // History entry (lrm_resource element) -> resource and index.
    std::unordered_map<const xmlNode*, std::pair<RscIdx, std::size_t>> by_xml;
    for (RscIdx r = 0; r < c.resources.size(); ++r) {
        const auto& hist = c.resources[r].history;
        for (std::size_t i = 0; i < hist.size(); ++i)
            by_xml[hist[i].xml] = {r, i};
    }
    Reloads reloads;
    for (NodeIdx n : c.node_order) {
        const Node& node = c.nodes[n];
        const bool available =
            node.online && !node.shutdown && !node.unclean && !node.standby && !node.maintenance;
        if (!node.maintenance && !available) continue;
        // Histories recorded on this node, in the order of the status section.
        std::vector<std::pair<const xmlNode*, std::pair<RscIdx, std::size_t>>> entries;
        const xmlNode* lrs = xml::first_child(xml::first_child(node.state_xml, "lrm"), "lrm_resources");
        for (const xmlNode* lr : xml::elements(lrs, "lrm_resource")) {
            auto it = by_xml.find(lr);
            if (it != by_xml.end() && c.resources[it->second.first].history[it->second.second].node == n)
                entries.emplace_back(lr, it->second);
        }
        for (const auto& [x, ref] : entries) {
            const RscIdx r = ref.first;
            const NodeHistory h = c.resources[r].history[ref.second];
            const Resource& rsc = c.resources[r];
            if (!rsc.is_primitive()) continue;
            if (rsc.flags.orphan) {
                const RscIdx cl = c.clone_of(r);
                if (cl == kNone || c.resources[cl].flags.unique) delete_rsc(c, r, n, false);
                continue;
            }
            const bool running =
                std::find(rsc.running_on.begin(), rsc.running_on.end(), n) != rsc.running_on.end();
            if (!running) {
                if (agent_changed(c, r, n, h, false)) delete_rsc(c, r, n, false);
                continue;
            }
            if (agent_changed(c, r, n, h, true)) delete_rsc(c, r, n, false);
            int start_index = -1, stop_index = -1;
            active_op_range(h, start_index, stop_index);
            for (std::size_t i = 0; i < h.ops.size(); ++i) {
                const int offset = static_cast<int>(i);
                if (start_index < stop_index) continue;
                if (offset < start_index) continue;
                const HistoryOp& op = h.ops[i];
                if (op.interval_ms > 0 && (rsc.flags.maintenance || node.maintenance)) {
                    cancel_recurring(c, r, n, op);
                    continue;
                }
                if (op.interval_ms > 0 || op.task == "monitor" || op.task == "start" ||
                    op.task == "promote" || op.task == "migrate_from") {
                    if (check_definition(c, r, n, op, reloads) && effective_failcount(c, r, n, nullptr) > 0)
                        clear_failcount(c, r, n, "action definition changed");
                }
            }
        }
    }
    // After every history entry's check, as 2.1.5 numbers the actions (the rescheduled
    // monitors first).
    for (const auto& [r, n] : reloads)
        schedule_reload(c, r, n);
}

}  // namespace outpost::cluster::policy

namespace outpost::cluster::policy {

// Orphans lose their fail counts (before they stop).
void clear_orphan_failcounts(Cluster& c)
{
    if (!c.options.stop_orphan_resources) return;
    for (RscIdx t : std::vector<RscIdx>(c.top)) {
        if (!c.resources[t].flags.orphan) continue;
        for (NodeIdx n : c.node_order) {
            if (!c.nodes[n].online) continue;
            if (own_failcount(c, t, n) == 0) continue;
            ActIdx clear = clear_failcount(c, t, n, "it is orphaned");
            order_action_then_task(c, clear, t, "stop", kOrderOptional);
        }
    }
}

}  // namespace outpost::cluster::policy
