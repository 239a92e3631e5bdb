#include "control/control_loop.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "connection/remote_connection.hpp"
#include "control/cib_edit.hpp"
#include "control/guest_ipc.hpp"
#include "controller/cib_document.hpp"
#include "policy/digest.hpp"
#include "policy/graph.hpp"
#include "policy/policy.hpp"
#include "util/cib_time.hpp"
#include "util/log.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::control {

namespace {

const log::Category log_cat{"controld.loop"};

using connection::Millis;

std::string flight_key(const std::string& node, const std::string& rsc, const std::string& task,
                       std::uint32_t interval_ms)
{
    return node + "\n" + rsc + "_" + task + "_" + std::to_string(interval_ms);
}

bool is_connection(const GraphAction& a)
{
    return a.rsc_class == "ocf" && a.rsc_provider == "pacemaker" && a.rsc_type == "remote";
}

// The node whose job limit an action counts against: where it runs. The host runs its own
// operations, connections' and fencing; a remote or guest node's operations run in that
// node's agent. (pacemaker-controld counts the latter on the node carrying the connection,
// its router node: here they would queue behind the host's container starts.)
std::string job_node(const GraphAction& a, const std::string& host)
{
    if (a.kind != ActionKind::rsc_op || a.node.empty() || is_connection(a)) return host;
    return a.node;
}

// What a transition may run at once, when the CIB says: batch-limit in all and
// node-action-limit per node, as pacemaker-controld reads them. Unset, nothing is limited:
// pacemaker-controld's default (twice the cores per node, less under load) made N=200 of
// bench-controld-scale take 35.5 s instead of 17.0 s (docs/benchmarks.md, issue 12).
RunLimits run_limits(int batch_limit, int node_action_limit)
{
    RunLimits limits;
    if (batch_limit > 0) limits.total = static_cast<std::size_t>(batch_limit);
    if (node_action_limit > 0) limits.per_node = static_cast<std::size_t>(node_action_limit);
    return limits;
}

bool is_guest_fencing(const GraphAction& a)
{
    return a.kind == ActionKind::pseudo && a.operation == "stonith" && (!a.downed.empty() || !a.node.empty());
}

// "action:transition:target:uuid" -> (action, transition); nullopt if malformed.
std::optional<std::pair<int, int>> parse_key(const std::string& key)
{
    int action = 0;
    int transition = 0;
    if (std::sscanf(key.c_str(), "%d:%d:", &action, &transition) != 2) return std::nullopt;
    return std::make_pair(action, transition);
}

}  // namespace

// One ocf:pacemaker:remote connection resource and what waits on it.
struct ControlLoop::Connection {
    std::string rsc;  // the connection resource id = the remote node's name
    // Serves the node's proxied tools; before `remote`, whose bridge refers to it.
    std::unique_ptr<GuestIpc> ipc;
    std::unique_ptr<connection::RemoteConnection> remote;
    std::optional<connection::Subscription> subscription;
    std::optional<GraphAction> pending;  // start/stop/probe awaiting its one result
    std::optional<GraphAction> recurring;
};

ControlLoop::ControlLoop(GMainContext* context, controller::CibStore& store, HostExecutor& host,
                         LoopConfig config)
    : context_(context), store_(store), host_(host), config_(std::move(config))
{
    fencer_ = std::make_unique<LoopFencer>(
        store_, host_, config_.host_name, [this] { return stonith_timeout_ms_; },
        [this](const std::string& node, std::int64_t when, bool requested) {
            node_fenced(node, when, requested);
        });
}

ControlLoop::~ControlLoop()
{
    // Results already learnt are kept (a daemon that stops leaves them recorded).
    flush_records();
    save_deferred();
    lifetime_.end();
    // Connections going down now report nothing to a loop that is going too.
    for (auto& [name, conn] : connections_) {
        conn->remote->on_node({});
        conn->remote->on_result({});
        conn->remote->on_client({});
    }
    store_.on_change({});
    host_.on_result({});
}

Result<std::unique_ptr<ControlLoop>> ControlLoop::create(GMainContext* context, controller::CibStore& store,
                                                         HostExecutor& host, LoopConfig config)
{
    if (config.host_name.empty()) return make_error("control", -EINVAL, "the controller's node has no name");
    std::unique_ptr<ControlLoop> loop(new ControlLoop(context, store, host, std::move(config)));
    ControlLoop* self = loop.get();
    self->host_id_ = configured_node_id(store.current(), self->config_.host_name);
    if (self->host_id_.empty()) self->host_id_ = "1";
    self->update_cib([self](xmlDoc* cib) {
        forget_operation_history(cib, self->config_.host_name);
        forget_remote_nodes(cib);
        record_host_member(cib, self->config_.host_name, self->host_id_);
    });
    store.on_change([self](const controller::UpdateOrigin& origin) {
        if (origin.client_name != kLoopClient) self->trigger("the CIB was changed by " + origin.client_name);
    });
    host.on_result(
        [self](const wire::ExecNotify& notify) { self->on_exec_result(self->config_.host_name, notify); });
    self->trigger("start-up");
    return loop;
}

void ControlLoop::trigger(const std::string& why)
{
    log_debug(log_cat, "Transition wanted: %s", why.c_str());
    if (run_ && !run_->aborted()) {
        log_notice(log_cat, "Aborting transition %d: %s", transition_id_, why.c_str());
        run_->abort();
    }
    pending_trigger_ = true;
    // Without a running transition the only thing pending is a (maybe delayed) compute:
    // a change makes it now.
    if (trigger_source_.active() && run_) return;
    trigger_source_ = io::add_idle(context_, [this] {
        if (run_) {
            advance();  // finishes the aborted run once nothing runs
            return;
        }
        compute();
    });
}

void ControlLoop::want_transition(const std::string& why)
{
    if (!run_) {
        trigger(why);
        return;
    }
    log_debug(log_cat, "Transition wanted after this one: %s", why.c_str());
    pending_trigger_ = true;
}

void ControlLoop::arm_recheck()
{
    recheck_source_ = io::add_timeout(context_, recheck_, [this] { trigger("cluster-recheck-interval"); });
}

void ControlLoop::compute()
{
    pending_trigger_ = false;
    unrunnable_ = false;
    last_compute_ = std::chrono::steady_clock::now();
    // The host stays an online member whatever the configuration pushed meanwhile says
    // (a replaced nodes section, an erased status); no change, no write.
    if (std::string id = configured_node_id(store_.current(), config_.host_name); !id.empty()) host_id_ = id;
    update_cib([this](xmlDoc* cib) { record_host_member(cib, config_.host_name, host_id_); });
    flush_records();  // the policy reads every result learnt so far
    policy::ScheduleOptions options;
    options.clock_now = static_cast<policy::EpochSeconds>(std::time(nullptr));
    policy::xml::Document doc(policy::xml::DocPtr(xmlCopyDoc(const_cast<xmlDoc*>(store_.current()), 1)));
    auto cluster = policy::unpack_and_schedule(std::move(doc), options);
    if (!cluster) {
        log_error(log_cat, "Cannot schedule the CIB: %s", cluster.error().message.c_str());
        arm_recheck();
        return;
    }
    recheck_ = std::max<std::chrono::milliseconds>(
        std::chrono::milliseconds((*cluster)->options.cluster_recheck_interval_ms), kMinRecheck);
    if ((*cluster)->options.cluster_recheck_interval_ms <= 0) recheck_ = std::chrono::minutes(15);
    if (auto ms = util::parse_interval_ms((*cluster)->options.stonith_timeout); ms && *ms > 0)
        stonith_timeout_ms_ = static_cast<std::uint32_t>(std::min<std::int64_t>(*ms, UINT32_MAX));
    // A failure that expires (failure-timeout) before the next recheck brings it forward,
    // as Pacemaker's scheduler does with its recheck-by time.
    for (const RecordedFailure& failure : recorded_failures(store_.current())) {
        const policy::RscIdx r = (*cluster)->find_rsc(failure.rsc_id);
        if (r == policy::kNone) continue;
        const std::int64_t timeout = (*cluster)->rsc(r).failure_timeout_s;
        const std::int64_t expires = failure.when + timeout + 1;  // expired once past the timeout
        if (timeout <= 0 || expires <= options.clock_now) continue;
        recheck_ = std::max<std::chrono::milliseconds>(
            std::min<std::chrono::milliseconds>(recheck_, std::chrono::seconds(expires - options.clock_now)),
            kMinRecheck);
    }
    policy::Graph graph = policy::build_graph(**cluster);
    auto parsed = parse_graph(policy::graph_xml(**cluster, graph));
    if (!parsed) {
        log_error(log_cat, "Cannot read the transition graph: %s", parsed.error().message.c_str());
        arm_recheck();
        return;
    }
    ++transition_id_;
    if (config_.observer != nullptr) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - last_compute_).count();
        config_.observer->transition_computed(parsed->actions.size(), seconds);
    }
    std::vector<Step> steps;
    actions_.clear();
    for (auto& action : parsed->actions) {
        // A guest node's fencing and maintenance_nodes are pseudo actions the loop itself
        // confirms (they change the status section), so they are started like real ones.
        const bool pseudo =
            action.kind == ActionKind::pseudo && !is_guest_fencing(action) && action.maintenance.empty();
        steps.push_back(
            {action.id, pseudo, action.inputs, pseudo ? std::string() : job_node(action, config_.host_name)});
        actions_.emplace(action.id, std::move(action));
    }
    if (steps.empty()) {
        log_info(log_cat, "Transition %d: nothing to do", transition_id_);
        arm_recheck();
        return;
    }
    const RunLimits limits =
        run_limits((*cluster)->options.batch_limit, (*cluster)->options.node_action_limit);
    log_notice(log_cat, "Transition %d: %zu actions (at most %zu at once in all, %zu per node; 0: no limit)",
               transition_id_, steps.size(), limits.total, limits.per_node);
    run_ = std::make_unique<TransitionRun>(std::move(steps), limits);
    advance();
}

void ControlLoop::advance()
{
    advance_idle_.reset();
    advance_deadline_.reset();
    if (!run_) return;
    // A finished action's result is saved before anything that follows it starts.
    flush_records();
    // Actions the loop completes itself (a guest's fencing, clear_failcount, cancels) finish
    // inside start_action and may unblock others: take again until nothing more is ready.
    for (std::vector<int> ready = run_->take_ready(); !ready.empty(); ready = run_->take_ready()) {
        for (int id : ready) {
            auto it = actions_.find(id);
            if (it != actions_.end()) start_action(it->second);
        }
    }
    if (!run_ || !run_->finished()) return;
    log_notice(log_cat, "Transition %d %s", transition_id_,
               run_->complete() ? "complete" : (run_->aborted() ? "aborted" : "stopped (actions blocked)"));
    const bool again = run_->aborted() || pending_trigger_;
    if (config_.observer != nullptr) {
        config_.observer->transition_finished(
            run_->complete() ? "complete" : (run_->aborted() ? "aborted" : "stopped"),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - last_compute_).count());
    }
    run_.reset();
    if (again) {
        // An action that fails at once on every try must not make a busy loop of it; one that
        // could not run at all gives the same graph again until something changes.
        const std::chrono::milliseconds spacing = unrunnable_ ? kUnrunnableRetry : kMinTransitionSpacing;
        const auto since = std::chrono::steady_clock::now() - last_compute_;
        const auto wait = since >= spacing
                              ? std::chrono::milliseconds(0)
                              : std::chrono::duration_cast<std::chrono::milliseconds>(spacing - since);
        trigger_source_ = io::add_timeout(context_, wait, [this] { compute(); });
    } else {
        arm_recheck();
    }
}

std::pair<std::size_t, std::size_t> ControlLoop::connections() const
{
    std::size_t up = 0;
    for (const auto& [name, conn] : connections_) {
        if (conn->remote->client() != nullptr) ++up;
    }
    return {connections_.size(), up};
}

void ControlLoop::finish_action(int id, bool ok)
{
    if (!run_) return;
    run_->complete(id, ok);
    // Out of the caller's stack (results may arrive from inside exec()), when the loop is
    // idle or at the latest kRecordBatchWindow later: an idle source alone waits while
    // other events keep the loop busy, and at N=50 of bench-controld-scale the next actions
    // waited up to 0.4 s behind the results still arriving (docs/benchmarks.md, issue 12).
    if (!advance_idle_.active()) advance_idle_ = io::add_idle(context_, [this] { advance(); });
    if (!advance_deadline_.active())
        advance_deadline_ = io::add_timeout(context_, kRecordBatchWindow, [this] { advance(); });
}

void ControlLoop::fail_unrunnable(int id)
{
    unrunnable_ = true;
    finish_action(id, false);
}

void ControlLoop::start_action(const GraphAction& action)
{
    log_info(log_cat, "Initiating %s on %s (action %d)", action.key.c_str(),
             action.node.empty() ? "the cluster" : action.node.c_str(), action.id);
    switch (action.kind) {
        case ActionKind::pseudo:
            // A guest node's fencing is implied by its container's recovery: once the
            // container stopped, the node is down and its resources with it. <downed> names
            // the node; the event's own node is it too (the policy face's graphs do not
            // write <downed> yet).
            if (is_guest_fencing(action)) {
                if (action.downed.empty()) guest_fenced(action.node);
                for (const std::string& node : action.downed)
                    guest_fenced(node);
            }
            // As pacemaker-controld does: the scheduler's view of each remote node's
            // maintenance is recorded, so the next transition does not ask again.
            if (!action.maintenance.empty()) {
                update_cib([list = action.maintenance](xmlDoc* cib) {
                    for (const auto& [node, on] : list)
                        record_node_maintenance(cib, node, on);
                });
            }
            finish_action(action.id, true);
            return;
        case ActionKind::stonith:
            run_fencing(action);
            return;
        case ActionKind::crm_event:
            run_crm_event(action);
            return;
        case ActionKind::rsc_op:
            break;
    }
    if (action.operation == "delete") {
        // The agent changed: its history goes (Pacemaker's lrm_delete); the new one is probed.
        update_cib(
            [node = action.node, rsc = action.rsc_id](xmlDoc* cib) { forget_resource(cib, node, rsc); });
        finish_action(action.id, true);
    } else if (is_connection(action)) {
        run_connection_op(action);
    } else if (action.node == config_.host_name) {
        run_host_op(action);
    } else {
        run_remote_op(action);
    }
}

void ControlLoop::run_crm_event(const GraphAction& action)
{
    if (action.operation == "clear_failcount") {
        std::string rsc = action.rsc_id;
        if (rsc.empty() && action.key.ends_with("_clear_failcount_0"))
            rsc = action.key.substr(0, action.key.size() - std::string_view("_clear_failcount_0").size());
        update_cib([node = action.node, rsc](xmlDoc* cib) { control::clear_failures(cib, node, rsc); });
    } else if (action.operation != "do_shutdown") {
        log_warning(log_cat, "Skipping %s: not offered yet", action.key.c_str());
    }
    finish_action(action.id, true);
}

const AgentParameters* ControlLoop::agent_parameters(const GraphAction& action)
{
    const std::string key = action.rsc_class + ":" + action.rsc_provider + ":" + action.rsc_type;
    auto found = agents_.find(key);
    if (found == agents_.end()) {
        std::optional<AgentParameters> parsed;
        auto text =
            host_.agent_metadata({action.rsc_id, action.rsc_class, action.rsc_provider, action.rsc_type});
        if (text) parsed = parse_agent_metadata(*text);
        if (!parsed)
            log_info(log_cat, "No meta-data digests for %s: %s", key.c_str(),
                     text ? "its meta-data is not an agent's" : text.error().message.c_str());
        found = agents_.emplace(key, std::move(parsed)).first;
    }
    return found->second ? &*found->second : nullptr;
}

void ControlLoop::record_dispatched(const GraphAction& action, const std::string& exec_node)
{
    if (!records_pending(action.operation)) return;
    update_cib([record = pending_record(record_for(action, exec_node),
                                        static_cast<std::int64_t>(std::time(nullptr)))](
                   xmlDoc* cib) { record_operation(cib, record); },
               Record::forgettable);
}

OpRecord ControlLoop::record_for(const GraphAction& action, const std::string& exec_node)
{
    OpRecord r;
    r.node = exec_node;
    r.remote_node = exec_node != config_.host_name;
    r.node_id = r.remote_node ? exec_node : host_id_;
    r.executed_by = config_.host_name;
    r.rsc_id = action.rsc_id;
    r.rsc_class = action.rsc_class;
    r.rsc_provider = action.rsc_provider;
    r.rsc_type = action.rsc_type;
    r.task = action.operation;
    r.interval_ms = action.interval_ms;
    r.target_rc = action.target_rc;
    r.transition_key = transition_key(action.id, transition_id_, action.target_rc, host_id_);
    const auto params = action.digest_parameters();
    r.op_digest = policy::parameters_digest(params);
    if (const AgentParameters* agent = agent_parameters(action)) {
        OpDigests d = op_digests(*agent, params, action.interval_ms);
        if (d.restart) {
            r.force_restart = std::move(d.force_restart);
            r.restart_digest = std::move(d.restart_digest);
        }
        if (!d.secure_params.empty()) {
            r.secure_params = std::move(d.secure_params);
            r.secure_digest = std::move(d.secure_digest);
        }
    }
    return r;
}

void ControlLoop::update_cib(std::function<void(xmlDoc*)> edit, Record kind)
{
    pending_records_.push_back(std::move(edit));
    if (kind == Record::durable) pending_durable_ = true;
    // Written when the loop is idle (every event of this turn handled), or at the latest
    // kRecordBatchWindow later when events keep coming.
    if (!flush_idle_.active()) flush_idle_ = io::add_idle(context_, [this] { flush_records(); });
    if (!flush_deadline_.active())
        flush_deadline_ = io::add_timeout(context_, kRecordBatchWindow, [this] { flush_records(); });
}

void ControlLoop::flush_records()
{
    flush_idle_.reset();
    flush_deadline_.reset();
    if (pending_records_.empty()) return;
    std::vector<std::function<void(xmlDoc*)>> edits = std::exchange(pending_records_, {});
    const bool durable = std::exchange(pending_durable_, false);
    auto before = edit_cib(
        store_,
        [&edits](xmlDoc* cib) {
            for (const auto& edit : edits)
                edit(cib);
        },
        kLoopClient, config_.host_name, "root",
        durable ? controller::CibStore::Save::now : controller::CibStore::Save::deferred);
    if (store_.unsaved() && !deferred_save_.active())
        deferred_save_ = io::add_timeout(context_, kDeferredSave, [this] { save_deferred(); });
    if (!before) {
        log_error(log_cat, "Cannot record %zu change%s in the CIB (%s)", edits.size(),
                  edits.size() == 1 ? "" : "s", before.error().message.c_str());
        return;
    }
    if (*before && config_.announce) config_.announce(before->get());
}

void ControlLoop::save_deferred()
{
    deferred_save_.reset();
    if (auto saved = store_.save_deferred(); !saved)
        log_error(log_cat, "Cannot save the CIB's latest status records (%s)", saved.error().message.c_str());
}

// --- the host's own resources ------------------------------------------------------------

// The operation a cancel action stops (its meta "operation"; monitors when unsaid).
std::string ControlLoop::cancelled_operation(const GraphAction& action)
{
    const std::string* task = action.meta("operation");
    return task != nullptr ? *task : "monitor";
}

// After a cancel (host or remote): the recurring operation is no longer expected, its
// record leaves the status section, and the action is done.
void ControlLoop::forget_cancelled(const GraphAction& action)
{
    const std::string op = cancelled_operation(action);
    recurring_.erase(flight_key(action.node, action.rsc_id, op, action.interval_ms));
    update_cib([node = action.node, rsc = action.rsc_id,
                key = action.rsc_id + "_" + op + "_" + std::to_string(action.interval_ms)](xmlDoc* cib) {
        forget_recurring(cib, node, rsc, key);
    });
    finish_action(action.id, true);
}

// What the executor (the host's or a remote node's) is asked to run for a graph action.
wire::ExecRequest ControlLoop::exec_request_for(const GraphAction& action) const
{
    wire::ExecRequest request;
    request.rsc_id = action.rsc_id;
    request.action = action.operation;
    request.interval_ms = action.interval_ms;
    request.timeout_ms = action.timeout_ms;
    request.userdata = transition_key(action.id, transition_id_, action.target_rc, host_id_);
    for (const auto& [k, v] : action.attributes)
        request.params.insert(k, v);
    return request;
}

void ControlLoop::run_host_op(const GraphAction& action)
{
    if (action.operation == "cancel") {
        host_.cancel(action.rsc_id, cancelled_operation(action), action.interval_ms);
        forget_cancelled(action);
        return;
    }
    wire::ExecRequest request = exec_request_for(action);
    replace_recurring(action);
    inflight_[flight_key(action.node, action.rsc_id, action.operation, action.interval_ms)] = action;
    auto call = host_.exec({action.rsc_id, action.rsc_class, action.rsc_provider, action.rsc_type}, request);
    if (!call) {
        log_error(log_cat, "Cannot run %s: %s", action.key.c_str(), call.error().message.c_str());
        inflight_.erase(flight_key(action.node, action.rsc_id, action.operation, action.interval_ms));
        fail_unrunnable(action.id);
        return;
    }
    // Results come from the main loop, so this record is queued before the result's.
    record_dispatched(action, action.node);
}

void ControlLoop::replace_recurring(const GraphAction& action)
{
    if (action.interval_ms == 0) return;
    const std::string key = flight_key(action.node, action.rsc_id, action.operation, action.interval_ms);
    const bool running = inflight_.count(key) != 0 || recurring_.count(key) != 0;
    recurring_.erase(key);
    if (!running) return;
    if (action.node == config_.host_name) {
        host_.cancel(action.rsc_id, action.operation, action.interval_ms);
    } else if (Connection* conn = connection_of_node(action.node)) {
        if (connection::RemoteClient* client = conn->remote->client())
            client->cancel(action.rsc_id, action.operation, action.interval_ms, [](const Status&) {});
    }
}

// --- remote nodes -------------------------------------------------------------------------

ControlLoop::Connection* ControlLoop::connection_of_node(const std::string& node)
{
    auto it = connections_.find(node);
    return it == connections_.end() ? nullptr : it->second.get();
}

ControlLoop::Connection& ControlLoop::connection_for(const GraphAction& action)
{
    auto& slot = connections_[action.rsc_id];
    if (slot) return *slot;
    slot = std::make_unique<Connection>();
    Connection& conn = *slot;
    conn.rsc = action.rsc_id;
    connection::RemoteConnectionConfig rc;
    const auto params = action.parameters();
    // ocf:pacemaker:remote says "server"; a guest node's implicit connection "addr"
    // (its remote-addr), as Pacemaker's scheduler writes them.
    auto server = params.find("server");
    if (server == params.end()) server = params.find("addr");
    rc.server = server != params.end() ? server->second : action.rsc_id;
    if (auto port = params.find("port"); port != params.end())
        rc.port = static_cast<std::uint16_t>(std::atoi(port->second.c_str()));
    if (rc.port == 0) rc.port = connection::kDefaultPort;
    // Registered as the node's IPC provider when there is a CIB to serve (the connection
    // then bridges each registered client to it, and closes its sessions when it drops).
    if (config_.cib_service != nullptr) {
        const std::string node = conn.rsc;
        conn.ipc =
            std::make_unique<GuestIpc>(*config_.cib_service, conn.rsc, [this, node] { return drain(node); });
        conn.ipc->set_attributes(config_.attributes);
        conn.ipc->set_proxied_faces(config_.proxied_faces);
        rc.provider = conn.ipc.get();
    }
    rc.ipc_provider = rc.provider != nullptr;
    conn.remote = std::make_unique<connection::RemoteConnection>(context_, config_.tls, rc);
    const std::string name = conn.rsc;
    conn.remote->on_node([this, name](bool up) {
        log_notice(log_cat, "Remote node %s is %s", name.c_str(), up ? "up" : "down");
        // A node coming up is re-learnt after a restart (the connection starts again);
        // one going down may end a shutdown request: durable.
        update_cib(
            [name, up](xmlDoc* cib) {
                if (up) forget_node_history(cib, name);
                // A drained node's connection ended: its attributes go, as Pacemaker's
                // controller purges them, so that the node may come back.
                if (!up && shutdown_requested(cib, name)) {
                    log_notice(log_cat, "Remote node %s is drained and down: its shutdown request is done",
                               name.c_str());
                    forget_transient_attributes(cib, name);
                }
                record_remote_node(cib, name, up);
            },
            up ? Record::forgettable : Record::durable);
        if (!up) forget_node_operations(name);
        // A node that came up is probed by the next transition (a guest's resources are
        // not probed before its container runs): compute again once this one is done.
        if (up) want_transition("remote node " + name + " is up");
    });
    conn.remote->on_client([this, name](connection::RemoteClient& client) {
        Connection* c = connection_of_node(name);
        if (c == nullptr) return;
        connection::Handlers handlers;
        handlers.exec = [this, name](const connection::ExecEvent& event) {
            on_exec_result(name, event.notify);
        };
        c->subscription = client.subscribe(std::move(handlers));
    });
    conn.remote->on_result([this, name](const connection::RaResult& result) {
        on_connection_result(name, result.rc, static_cast<int>(result.status), result.exit_reason,
                             static_cast<std::uint32_t>(result.interval.count()));
    });
    return conn;
}

// Its operations will not report: forget them.
void ControlLoop::forget_node_operations(const std::string& node)
{
    for (auto it = inflight_.begin(); it != inflight_.end();) {
        it = it->first.starts_with(node + "\n") ? inflight_.erase(it) : std::next(it);
    }
    for (auto it = recurring_.begin(); it != recurring_.end();) {
        it = it->first.starts_with(node + "\n") ? recurring_.erase(it) : std::next(it);
    }
}

// What pacemaker-controld does for a shutdown request (docs/protocol.md 4.6): the node's
// `shutdown` attribute is set to now, the scheduler moves or stops everything on it and
// stops its connection, and the daemon, acked, exits once the connection is gone.
connection::ShutdownAnswer ControlLoop::drain(const std::string& node)
{
    flush_records();  // the node's state as last learnt
    const std::string refusal = shutdown_refusal(store_.current(), node);
    if (!refusal.empty()) {
        log_notice(log_cat, "%s asks to shut down: answered nack (%s): its daemon exits, its resources stay",
                   node.c_str(), refusal.c_str());
        return connection::ShutdownAnswer::nack;
    }
    log_notice(log_cat, "%s asks to shut down: answered ack, moving its resources off", node.c_str());
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    update_cib([node, now](xmlDoc* cib) { record_shutdown_request(cib, node, now); });
    flush_records();  // saved before the node is answered
    want_transition("shutdown request of " + node);
    return connection::ShutdownAnswer::ack;
}

// What pacemaker-controld does for a guest node's pseudo fencing: the node is down and its
// whole history goes (resource history and transient attributes), so nothing is thought
// to run there any more; its resources start again once the recovered container's
// connection is up.
void ControlLoop::guest_fenced(const std::string& node)
{
    log_notice(log_cat, "Guest node %s is fenced: its container was recovered", node.c_str());
    forget_node_operations(node);
    update_cib([node](xmlDoc* cib) { record_guest_fenced(cib, node); });
    // Its transient attributes went: the transition under way may have been computed with
    // a shutdown attribute in them (a guest whose container was destroyed asks to shut down
    // on its way out, SIGTERM), and then restarts the container but not its connection.
    // Compute again after it, as Pacemaker's controller does after that CIB change.
    want_transition("guest node " + node + " is fenced");
}

// A fencing action of the graph (crm_event "stonith"): one of the host's fence devices
// fences the node; then it is recorded down and fenced, as pacemaker-controld records it,
// so the policy may start its resources elsewhere. A failure fails the action: the
// transition stops and the next one (kUnrunnableRetry later) tries again.
void ControlLoop::run_fencing(const GraphAction& action)
{
    const std::string target = action.node;
    const std::string* stonith_action = action.meta("stonith_action");
    FenceRequest request;
    request.target = target;
    request.action = stonith_action != nullptr ? *stonith_action : "reboot";
    request.timeout_ms = stonith_timeout_ms_;
    // Its own node is only ever unfenced ("on"), as pacemaker-controld unfences its own.
    if (target.empty() || (target == config_.host_name && request.action != "on")) {
        log_error(log_cat, "Cannot fence %s: the controller does not fence its own node",
                  target.empty() ? "an unnamed node" : target.c_str());
        fail_unrunnable(action.id);
        return;
    }
    log_notice(log_cat, "Requesting fencing (%s) of node %s", request.action.c_str(), target.c_str());
    const int id = action.id;
    const int transition = transition_id_;
    auto watch = lifetime_.watch();
    const std::string* all = action.meta("digests_all");
    const std::string* secure = action.meta("digests_secure");
    auto digests =
        std::make_pair(all != nullptr ? *all : std::string(), secure != nullptr ? *secure : std::string());
    fencer_->fence_for_loop(target, request.action,
                            [this, watch, id, transition, target, digests,
                             on = request.action == "on"](const controller::FenceHistoryEntry& entry) {
                                if (!watch || transition != transition_id_) return;
                                if (entry.state != controller::FenceState::done) {
                                    fail_unrunnable(id);
                                    return;
                                }
                                if (on) record_unfenced(target, digests.first, digests.second);
                                finish_action(id, true);
                            });
}

// After the graph's unfencing of a node: the transient attributes pacemaker-controld sets
// (#node-unfenced, the time; the devices' digests), so the policy does not unfence it again.
void ControlLoop::record_unfenced(const std::string& node, const std::string& digests_all,
                                  const std::string& digests_secure)
{
    if (config_.attributes == nullptr) return;
    const std::string now = std::to_string(static_cast<long long>(std::time(nullptr)));
    for (const auto& [name, value] : {std::pair<std::string, std::string>{"#node-unfenced", now},
                                      {"#digests-all", digests_all},
                                      {"#digests-secure", digests_secure}}) {
        if (value.empty()) continue;
        controller::AttrdOp op;
        op.task = "update";
        op.source = "outpost-controld";
        op.name = name;
        op.value = value;
        op.host = node;
        op.is_remote = node != config_.host_name;
        (void)config_.attributes->handle(op, config_.host_name);
    }
    log_info(log_cat, "Node %s unfenced", node.c_str());
}

// What pacemaker-controld does when the fencer reports a node fenced: a node it knows is
// recorded down and fenced (its operations will not report), so the policy may start its
// resources elsewhere; a client's fencing (stonith_admin) also wants a new transition.
void ControlLoop::node_fenced(const std::string& node, std::int64_t when, bool requested)
{
    if (node == config_.host_name || !knows_node(node)) return;
    log_info(log_cat, "Recording node %s fenced%s", node.c_str(), requested ? " on a client's request" : "");
    forget_node_operations(node);
    update_cib([node, when](xmlDoc* cib) { record_remote_fenced(cib, node, when); });
    flush_records();  // the fencing is reported to its requester
    if (!requested) return;
    // Fenced behind the graph's back while its connection may still look up: as
    // pacemaker-controld does, the connection's monitor fails at once, so the connection is
    // recovered now rather than when a monitor next notices the node is gone.
    Connection* conn = connection_of_node(node);
    if (conn != nullptr && conn->recurring) {
        on_connection_result(conn->rsc, wire::ocf::unknown_error, static_cast<int>(wire::ExecStatus::error),
                             "Remote node was fenced", conn->recurring->interval_ms);
    }
    want_transition("node " + node + " was fenced");
}

void ControlLoop::run_connection_op(const GraphAction& action)
{
    Connection& conn = connection_for(action);
    const Millis timeout(action.timeout_ms);
    // Recorded pending before it runs: its result, however soon, is queued after.
    if (action.operation == "start" || action.operation == "stop" || action.operation == "monitor" ||
        action.operation == "reload-agent")
        record_dispatched(action, config_.host_name);
    if (action.operation == "start") {
        conn.pending = action;
        conn.remote->start(timeout);
    } else if (action.operation == "stop") {
        conn.pending = action;
        conn.remote->stop(timeout);
    } else if (action.operation == "monitor" && action.interval_ms > 0) {
        // Its first result completes the action, whatever an earlier run of it reported.
        recurring_.erase(flight_key(config_.host_name, action.rsc_id, "monitor", action.interval_ms));
        conn.recurring = action;
        conn.remote->monitor(timeout, Millis(action.interval_ms));
    } else if (action.operation == "monitor") {
        conn.pending = action;
        conn.remote->monitor(timeout);
    } else if (action.operation == "reload-agent" || action.operation == "reload") {
        // Only reconnect_interval is reloadable (recorded as the connection's start).
        std::optional<Millis> reconnect;
        const auto params = action.parameters();
        if (auto it = params.find("reconnect_interval"); it != params.end()) {
            if (auto ms = util::parse_interval_ms(it->second)) reconnect = Millis(*ms);
        }
        conn.pending = action;
        conn.remote->reload(reconnect);
    } else if (action.operation == "cancel") {
        conn.remote->cancel_monitor();
        conn.recurring.reset();
        update_cib(
            [node = action.node, rsc = action.rsc_id](xmlDoc* cib) { forget_recurring(cib, node, rsc); });
        finish_action(action.id, true);
    } else {
        log_error(log_cat, "Cannot run %s: not offered for connections yet", action.key.c_str());
        fail_unrunnable(action.id);
    }
}

void ControlLoop::on_connection_result(const std::string& rsc, int rc, int status, const std::string& reason,
                                       std::uint32_t interval_ms)
{
    Connection* conn = connection_of_node(rsc);
    if (conn == nullptr) return;
    if (status == static_cast<int>(wire::ExecStatus::cancelled)) return;
    std::optional<GraphAction> action;
    bool repeat = false;
    if (interval_ms > 0) {
        if (!conn->recurring) return;
        action = *conn->recurring;
        const std::string key = flight_key(config_.host_name, rsc, "monitor", interval_ms);
        repeat = recurring_.count(key) > 0;
    } else {
        if (!conn->pending) return;
        action = std::exchange(conn->pending, std::nullopt);
    }
    OpRecord r = record_for(*action, config_.host_name);
    r.rc = rc;
    r.op_status = status;
    r.exit_reason = reason;
    r.call_id = next_call_id_++;
    r.last_rc_change = static_cast<std::int64_t>(std::time(nullptr));
    if (action->operation == "stop" && rc == wire::ocf::ok) {
        if (conn->recurring)
            recurring_.erase(flight_key(config_.host_name, rsc, "monitor", conn->recurring->interval_ms));
        conn->recurring.reset();
        update_cib([node = config_.host_name, rsc](xmlDoc* cib) { forget_recurring(cib, node, rsc); });
    }
    handle_result(std::move(r), repeat ? std::nullopt : std::optional<int>(action->id), repeat);
}

void ControlLoop::run_remote_op(const GraphAction& action)
{
    Connection* conn = connection_of_node(action.node);
    connection::RemoteClient* client = conn != nullptr ? conn->remote->client() : nullptr;
    if (client == nullptr) {
        log_warning(log_cat, "Cannot run %s: no connection to %s", action.key.c_str(), action.node.c_str());
        fail_unrunnable(action.id);
        return;
    }
    if (action.operation == "cancel") {
        client->cancel(action.rsc_id, cancelled_operation(action), action.interval_ms, [](const Status&) {});
        forget_cancelled(action);
        return;
    }
    wire::ExecRequest request = exec_request_for(action);
    const std::string key = flight_key(action.node, action.rsc_id, action.operation, action.interval_ms);
    replace_recurring(action);
    inflight_[key] = action;
    const int id = action.id;
    const std::string node = action.node;
    auto watch = lifetime_.watch();
    client->register_rsc(
        action.rsc_id, action.rsc_class, action.rsc_provider, action.rsc_type,
        [this, watch, node, id, key, request](const Status& registered) {
            if (!watch) return;
            Connection* c = connection_of_node(node);
            connection::RemoteClient* cl = c != nullptr ? c->remote->client() : nullptr;
            if (!registered || cl == nullptr) {
                log_error(log_cat, "Cannot register %s on %s: %s", request.rsc_id.c_str(), node.c_str(),
                          registered ? "disconnected" : registered.error().message.c_str());
                inflight_.erase(key);
                fail_unrunnable(id);
                return;
            }
            cl->exec(request, [this, watch, id, key](const Result<int>& call) {
                if (!watch) return;
                if (call) {
                    // Accepted: pending until its result, unless that came first.
                    auto it = inflight_.find(key);
                    if (it != inflight_.end() && it->second.id == id && recurring_.count(key) == 0)
                        record_dispatched(it->second, it->second.node);
                    return;
                }
                log_error(log_cat, "Cannot run %s: %s", key.c_str(), call.error().message.c_str());
                inflight_.erase(key);
                fail_unrunnable(id);
            });
        });
}

// --- results ------------------------------------------------------------------------------

void ControlLoop::on_exec_result(const std::string& node, const wire::ExecNotify& notify)
{
    if (notify.op_status == wire::ExecStatus::cancelled) return;
    const std::string key = flight_key(node, notify.rsc_id, notify.action, notify.interval_ms);
    auto it = inflight_.find(key);
    if (it == inflight_.end()) {
        log_debug(log_cat, "Ignoring a result of %s on %s: not ours", notify.rsc_id.c_str(), node.c_str());
        return;
    }
    const GraphAction action = it->second;
    const bool recurring = notify.interval_ms > 0;
    const bool repeat = recurring && recurring_.count(key) > 0;
    if (!recurring) inflight_.erase(it);
    OpRecord r = record_for(action, node);
    // The key the operation was requested with (a recurring monitor keeps its first one).
    if (!notify.userdata.empty()) r.transition_key = notify.userdata;
    r.rc = notify.exec_rc;
    r.op_status = static_cast<int>(notify.op_status);
    r.exit_reason = notify.exit_reason.value_or("");
    r.call_id = notify.call_id;
    r.last_rc_change =
        notify.rcchange_time != 0 ? notify.rcchange_time : static_cast<std::int64_t>(std::time(nullptr));
    r.exec_time_ms = notify.exec_time_ms;
    r.queue_time_ms = notify.queue_time_ms;
    if (action.operation == "stop" && notify.exec_rc == wire::ocf::ok) {
        for (auto f = inflight_.begin(); f != inflight_.end();) {
            f = f->first.starts_with(node + "\n" + notify.rsc_id + "_") ? inflight_.erase(f) : std::next(f);
        }
        for (auto f = recurring_.begin(); f != recurring_.end();) {
            f = f->first.starts_with(node + "\n" + notify.rsc_id + "_") ? recurring_.erase(f) : std::next(f);
        }
        update_cib([node, rsc = notify.rsc_id](xmlDoc* cib) { forget_recurring(cib, node, rsc); });
    }
    std::optional<int> action_id;
    if (auto parsed = parse_key(r.transition_key); parsed && parsed->second == transition_id_ && !repeat)
        action_id = parsed->first;
    handle_result(std::move(r), action_id, repeat);
}

void ControlLoop::handle_result(OpRecord record, std::optional<int> action_id, bool repeat)
{
    const std::string key = flight_key(record.node, record.rsc_id, record.task, record.interval_ms);
    if (record.interval_ms > 0) {
        auto found = recurring_.find(key);
        if (repeat && found != recurring_.end() && found->second.rc == record.rc &&
            found->second.status == record.op_status)
            return;  // unchanged: nothing to record
        recurring_[key] = {record.rc, record.op_status};
    }
    const bool expected = expected_result(record);
    const bool failure = counts_as_failure(record);
    log_notice(log_cat, "Result of %s_%s_%u on %s: rc %d, status %d%s", record.rsc_id.c_str(),
               record.task.c_str(), record.interval_ms, record.node.c_str(), record.rc, record.op_status,
               expected ? "" : " (not the expected one)");
    // A failure count outlives a restart; the operation history does not.
    update_cib(
        [record = std::move(record), failure,
         now = static_cast<std::int64_t>(std::time(nullptr))](xmlDoc* cib) {
            record_operation(cib, record);
            if (failure) count_failure(cib, record, now);
        },
        failure ? Record::durable : Record::forgettable);
    if (action_id) finish_action(*action_id, expected);
    if (!expected && (!action_id || repeat)) trigger("unexpected result of " + key);
}

// --- what the crmd and attrd faces ask (ControllerActions) ---------------------------------

bool ControlLoop::knows_node(const std::string& node)
{
    return node == config_.host_name || connection_of_node(node) != nullptr;
}

void ControlLoop::cancel_recurring(const std::string& node, const std::string& rsc_id)
{
    for (auto it = inflight_.begin(); it != inflight_.end();) {
        const GraphAction& a = it->second;
        if (a.node != node || a.rsc_id != rsc_id || a.interval_ms == 0) {
            ++it;
            continue;
        }
        if (node == config_.host_name) {
            host_.cancel(rsc_id, a.operation, a.interval_ms);
        } else if (Connection* c = connection_of_node(node); c != nullptr && c->remote->client() != nullptr) {
            c->remote->client()->cancel(rsc_id, a.operation, a.interval_ms, [](const Status&) {});
        }
        recurring_.erase(it->first);
        it = inflight_.erase(it);
    }
}

Status ControlLoop::delete_history(const std::string& node, const std::string& rsc_id)
{
    if (!knows_node(node)) return make_error("controld", -ENXIO, "no node " + node);
    // A connection's own monitor is the connection's: its history stays.
    if (connections_.count(rsc_id) == 0) cancel_recurring(node, rsc_id);
    update_cib([node, rsc_id](xmlDoc* cib) { forget_resource(cib, node, rsc_id); });
    flush_records();  // saved before the client is answered
    trigger("the history of " + rsc_id + " on " + node + " was deleted");
    return {};
}

Result<int> ControlLoop::fail_resource(const controller::FailedResource& resource)
{
    if (!knows_node(resource.node)) return make_error("controld", -ENXIO, "no node " + resource.node);
    // As pacemaker-controld records crm_resource --fail: an "asyncmon" that returned 1
    // (generic error) with the reason "Simulated failure".
    OpRecord r;
    r.node = resource.node;
    r.remote_node = resource.node != config_.host_name;
    r.node_id = r.remote_node ? resource.node : host_id_;
    r.executed_by = config_.host_name;
    r.rsc_id = resource.rsc_id;
    r.rsc_class = resource.rsc_class;
    r.rsc_provider = resource.provider;
    r.rsc_type = resource.type;
    r.task = "asyncmon";
    // After every recorded operation of the node: the history is read in call-id order.
    flush_records();
    r.call_id = highest_call_id(store_.current(), resource.node) + 1;
    // The host's next operations (the recovery's start) come after it, never with its id.
    if (!r.remote_node) host_.reserve_call_ids(r.call_id);
    r.transition_key = transition_key(r.call_id, -1, 0, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    r.rc = wire::ocf::unknown_error;
    r.exit_reason = "Simulated failure";
    r.last_rc_change = static_cast<std::int64_t>(std::time(nullptr));
    r.origin = "controld_ack_event_directly";
    update_cib([r](xmlDoc* cib) {
        record_operation(cib, r);
        count_failure(cib, r, r.last_rc_change);
    });
    flush_records();  // saved before the client is answered
    trigger("failure of " + resource.rsc_id + " on " + resource.node + " requested");
    return r.call_id;
}

std::vector<std::string> ControlLoop::container_lost(const std::string& rsc_id)
{
    flush_records();  // the configuration as last changed
    std::vector<std::string> lost;
    for (const std::string& node : guests_of_container(store_.current(), rsc_id)) {
        Connection* conn = connection_of_node(node);
        // Not connected: its connection's loss or stop is under way already.
        if (conn == nullptr || conn->remote->client() == nullptr) continue;
        log_notice(log_cat,
                   "Guest node %s is lost: its container %s died; closing its connection, failing its "
                   "operations in flight",
                   node.c_str(), rsc_id.c_str());
        // The operations' synthesized results and the monitors' failures are recorded by
        // the paths of any dropped connection, from inside lose().
        conn->remote->lose("its container " + rsc_id + " died");
        lost.push_back(node);
    }
    return lost;
}

std::optional<std::string> ControlLoop::operation_in_flight(const std::string& node,
                                                            const std::string& rsc_id) const
{
    const std::string prefix = node + "\n" + rsc_id + "_";
    for (auto it = inflight_.lower_bound(prefix); it != inflight_.end() && it->first.starts_with(prefix);
         ++it) {
        const GraphAction& action = it->second;
        // The prefix also matches resources whose id continues after rsc_id + "_".
        if (action.rsc_id == rsc_id && action.interval_ms == 0) return action.operation;
    }
    return std::nullopt;
}

Status ControlLoop::reprobe(const std::string& node)
{
    if (!knows_node(node)) return make_error("controld", -ENXIO, "no node " + node);
    flush_records();
    std::vector<std::string> resources = history_resources(store_.current(), node);
    std::erase_if(resources, [this](const std::string& id) { return connections_.count(id) > 0; });
    for (const auto& id : resources)
        cancel_recurring(node, id);
    update_cib([node, resources](xmlDoc* cib) {
        for (const auto& id : resources)
            forget_resource(cib, node, id);
    });
    flush_records();  // saved before the client is answered
    trigger("reprobe of " + node + " requested");
    return {};
}

}  // namespace outpost::cluster::control
