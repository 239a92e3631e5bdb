#include "controller/fencer_face.hpp"

#include <cerrno>
#include <ctime>

#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::controller {

namespace {

const log::Category log_cat{"controller.fencer"};

bool known_action(const std::string& action)
{
    return action == "off" || action == "reboot" || action == "on";
}

FencerResult unsupported(const std::string& op)
{
    FencerResult result = FencerResult::failed(wire::ExecStatus::not_supported, -EOPNOTSUPP,
                                               op + " is not supported: outpost-controld takes its fence "
                                                    "devices from the CIB");
    result.exit_code = 3;  // CRM_EX_UNIMPLEMENT_FEATURE
    return result;
}

// How stonith_admin names a level's target: NODE, @PATTERN or ATTRIBUTE=VALUE.
std::string level_target(const FencerLevel& level)
{
    if (!level.target.empty()) return level.target;
    if (!level.target_pattern.empty()) return "@" + level.target_pattern;
    return level.target_attribute + "=" + level.target_value;
}

}  // namespace

FencerFace::FencerFace(FencerActions& actions, std::string node_name)
    : actions_(actions), node_name_(std::move(node_name))
{
    actions_.set_fencer_listener(this);
}

FencerFace::~FencerFace()
{
    lifetime_.end();
    actions_.set_fencer_listener(nullptr);
}

void FencerFace::closed(ipc::ConnectionId id)
{
    clients_.erase(id);
}

void FencerFace::drop(ipc::ConnectionId id, const std::string& why)
{
    auto found = clients_.find(id);
    const std::string name = found != clients_.end() ? found->second.name : std::string();
    clients_.erase(id);
    if (transport_.close)
        transport_.close(id, (name.empty() ? std::string() : log::quote(name) + ": ") + why);
}

void FencerFace::send(ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id, const std::string& xml)
{
    if (clients_.count(id) == 0 || !transport_.send) return;
    log_trace(log_cat, "Fencer %s: %s", kind == ipc::Kind::response ? "response" : "event",
              log::quote(xml, 2000).c_str());
    Status sent = transport_.send(id, kind, msg_id, xml);
    if (!sent && sent.error().code != -ENOTCONN) {
        log_warning(log_cat, "Cannot answer fencer client: %s", sent.error().message.c_str());
        clients_.erase(id);  // the server closed it
    }
}

void FencerFace::answer(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id,
                        const std::string& xml)
{
    // pacemaker-fenced answers a synchronous call as the response to it, anything else as
    // an event (an asynchronous caller does not read a response).
    if ((request.call_options & st_opt::sync_call) != 0)
        send(id, ipc::Kind::response, msg_id, xml);
    else
        send(id, ipc::Kind::event, 0, xml);
}

void FencerFace::notify(const std::string& event, const std::string& xml)
{
    std::vector<ipc::ConnectionId> targets;
    for (const auto& [id, client] : clients_)
        if (client.notifications.count(event) > 0) targets.push_back(id);
    for (auto id : targets)
        send(id, ipc::Kind::event, 0, xml);
}

void FencerFace::fence_finished(const FenceHistoryEntry& entry)
{
    notify("st_notify_fence", fencer_fence_notification(entry));
}

void FencerFace::history_changed()
{
    notify("st_notify_history", fencer_history_notification());
}

void FencerFace::message(ipc::ConnectionId id, const ipc::Message& message)
{
    auto request = parse_fencer_request(message.xml);
    if (!request) {
        drop(id, request.error().message);
        return;
    }
    auto& client = clients_[id];
    handle(id, client, message, *request);
}

void FencerFace::handle(ipc::ConnectionId id, Client& client, const ipc::Message& message,
                        FencerRequest& request)
{
    const bool wants_response = (message.header.flags & wire::ipc_flag::client_response) != 0;
    const ipc::Kind ack_kind = wants_response ? ipc::Kind::response : ipc::Kind::event;
    if (request.op == "register") {
        client.id = random_uuid();
        client.name = request.client_name.empty() ? "unknown" : request.client_name;
        if (const pid_t pid = transport_.pid ? transport_.pid(id) : 0; pid > 0)
            client.name += "." + std::to_string(pid);
        log_debug(log_cat, "Fencer client %s registered as %s", log::quote(client.name).c_str(),
                  client.id.c_str());
        send(id, ack_kind, message.header.id, fencer_register_reply(client.id));
        return;
    }
    if (client.id.empty()) {
        drop(id, "request " + log::quote(request.op) + " before registering");
        return;
    }
    // The registration's names are the ones replies carry.
    request.client_id = client.id;
    request.client_name = client.name;
    const std::int32_t msg_id = message.header.id;
    if (request.op == "st_notify") {
        if (!request.notify_activate.empty()) client.notifications.insert(request.notify_activate);
        if (!request.notify_deactivate.empty()) client.notifications.erase(request.notify_deactivate);
        send(id, ack_kind, msg_id, fencer_notify_ack());
        return;
    }
    if (request.op == "st_query") {
        query(id, request, msg_id);
        return;
    }
    if (request.op == "st_execute") {
        execute(id, request, msg_id);
        return;
    }
    if (request.op == "st_fence") {
        fence(id, request, msg_id);
        return;
    }
    if (request.op == "st_fence_history") {
        if ((request.call_options & st_opt::cleanup) != 0) {
            log_notice(log_cat, "Clearing the fencing history of %s on request of %s",
                       request.target.empty() ? "every node" : request.target.c_str(), client.name.c_str());
            actions_.clear_fence_history(request.target);
            answer(id, request, msg_id, fencer_reply(request, FencerResult::ok()));
            return;
        }
        const auto& entries = actions_.fence_history().entries();
        answer(id, request, msg_id,
               fencer_reply(request, FencerResult::ok(), fencer_history_calldata(entries, request.target)));
        return;
    }
    if (request.op == "st_level_add" || request.op == "st_level_remove") {
        log_debug(log_cat, "Fencer request: %s", message.xml.c_str());
        const bool add = request.op == "st_level_add";
        const FencerResult result =
            add ? actions_.register_level(request.level) : actions_.remove_level(request.level);
        log_notice(log_cat, "%s %s fencing level %d for %s: %s", client.name.c_str(),
                   add ? "registers" : "removes", request.level.index, level_target(request.level).c_str(),
                   result.rc == 0 ? "done" : result.reason.c_str());
        answer(id, request, msg_id, fencer_reply(request, result));
        return;
    }
    log_notice(log_cat, "Refusing fencer request %s of %s: not supported", log::quote(request.op).c_str(),
               client.name.c_str());
    answer(id, request, msg_id, fencer_reply(request, unsupported(request.op)));
}

// st_query: which devices can fence the target (every device without a target).
void FencerFace::query(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id)
{
    if (request.target.empty()) {
        answer(
            id, request, msg_id,
            fencer_reply(request, FencerResult::ok(), fencer_query_calldata({}, actions_.fence_devices())));
        return;
    }
    auto watch = lifetime_.watch();
    actions_.capable_devices(
        request.target, [this, watch, id, request, msg_id](const std::vector<FencerDevice>& devices) {
            if (!watch) return;
            answer(id, request, msg_id,
                   fencer_reply(request, FencerResult::ok(), fencer_query_calldata(request.target, devices)));
        });
}

// st_execute: an agent action of one device (stonith_admin --list-targets, --query).
void FencerFace::execute(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id)
{
    const auto devices = actions_.fence_devices();
    const FencerDevice* device = nullptr;
    for (const auto& d : devices)
        if (d.id == request.device) device = &d;
    if (device == nullptr) {
        answer(id, request, msg_id,
               fencer_reply(request, FencerResult::failed(wire::ExecStatus::no_fence_device, -ENODEV,
                                                          "'" + request.device + "' not found")));
        return;
    }
    if (request.action != "list" && request.action != "monitor" && request.action != "status") {
        answer(id, request, msg_id, fencer_reply(request, unsupported("action " + request.action)));
        return;
    }
    const std::uint32_t timeout_ms =
        request.timeout_s > 0 ? static_cast<std::uint32_t>(request.timeout_s) * 1000 : 20000;
    auto watch = lifetime_.watch();
    actions_.run_device_action(
        *device, request.action, request.target, timeout_ms,
        [this, watch, id, request, msg_id, device_id = device->id](const DeviceActionOutcome& outcome) {
            if (!watch) return;
            FencerResult result;
            if (!outcome.ran) {
                result = FencerResult::failed(wire::ExecStatus::error, -ENOENT, outcome.error);
            } else if (outcome.timed_out) {
                result = FencerResult::failed(wire::ExecStatus::timeout, -ETIME, outcome.error);
            } else if (outcome.exit_code != 0) {
                result = FencerResult::failed(wire::ExecStatus::error, -ENODATA, outcome.error);
            }
            answer(id, request, msg_id,
                   fencer_reply(request, result, {},
                                {{"st_device_id", device_id}, {"st_output", outcome.output}}));
        });
}

// st_fence: fencing (through the loop) or, with st_opt_manual_ack, a confirmation.
void FencerFace::fence(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id)
{
    if (request.target.empty() || !known_action(request.action)) {
        answer(
            id, request, msg_id,
            fencer_reply(request, FencerResult::failed(wire::ExecStatus::invalid, -EINVAL,
                                                       "a fencing needs a target and the action off, reboot "
                                                       "or on")));
        return;
    }
    FenceOrder order{request.target,
                     request.action,
                     request.client_name,
                     request.client_id,
                     static_cast<std::uint32_t>(request.timeout_s) * 1000,
                     request.delay_s};
    if ((request.call_options & st_opt::manual_ack) != 0) {
        log_notice(log_cat, "%s confirms that %s is fenced", request.client_name.c_str(),
                   request.target.c_str());
        const FenceHistoryEntry entry = actions_.confirm_fenced(order);
        answer(id, request, msg_id, fencer_fence_reply(request, entry, node_name_));
        return;
    }
    if (request.tolerance_s > 0) {
        // --tolerance: a like fencing of the target that succeeded that recently will do.
        const auto& entries = actions_.fence_history().entries();
        const std::int64_t since = static_cast<std::int64_t>(std::time(nullptr)) - request.tolerance_s;
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            if (it->target != request.target || it->action != request.action ||
                it->state != FenceState::done || it->completed < since)
                continue;
            log_notice(log_cat, "%s asks to fence (%s) %s: done %lld s ago, within its tolerance",
                       request.client_name.c_str(), request.action.c_str(), request.target.c_str(),
                       static_cast<long long>(std::time(nullptr) - it->completed));
            answer(id, request, msg_id, fencer_fence_reply(request, *it, node_name_));
            return;
        }
    }
    log_notice(log_cat, "%s asks to fence (%s) %s", request.client_name.c_str(), request.action.c_str(),
               request.target.c_str());
    if ((request.call_options & st_opt::sync_call) == 0 && request.timeout_s > 0)
        send(id, ipc::Kind::event, 0, fencer_timeout_value(request.call_id, request.timeout_s));
    auto watch = lifetime_.watch();
    actions_.fence(order, [this, watch, id, request, msg_id](const FenceHistoryEntry& entry) {
        if (!watch) return;
        answer(id, request, msg_id, fencer_fence_reply(request, entry, node_name_));
    });
}

}  // namespace outpost::cluster::controller
