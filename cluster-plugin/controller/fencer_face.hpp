// FencerFace: the fencer's local IPC name (stonith-ng) for Pacemaker's tools: stonith_admin
// (--list-registered, --list, --list-targets, --query, --history, --fence, --reboot,
// --confirm, --history --cleanup), crm_mon's fencing history (-m, live updates through
// st_notify_history) and pcs stonith history/fence/confirm, which run stonith_admin. The
// messages are fencer_messages.hpp's; what they do is the control loop's (FencerActions):
// the devices are the CIB's stonith resources, fencing runs through the loop's fencing path,
// a confirmation records the node as fenced, the history is the loop's.
//
// IpcFaces carries its connections (one ipc::Server per process) and hands their messages
// here. A message that cannot be decoded, or a request before registration, closes its
// connection with a log line. Topology levels registered through the IPC (stonith_admin
// --register-level, --deregister-level) are held in memory beside the CIB's, as
// pacemaker-fenced 2.1.5 holds them (the CIB is not written); registering devices through
// the IPC is refused (not supported): outpost-controld takes its devices from the CIB only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controller/fencer_messages.hpp"
#include "ipc/header.hpp"
#include "ipc/server.hpp"
#include "util/lifetime.hpp"
#include "util/result.hpp"

namespace outpost::cluster::controller {

// Told of every finished fencing and every change of the history (the loop's own too).
class FencerListener {
public:
    virtual ~FencerListener() = default;
    virtual void fence_finished(const FenceHistoryEntry& entry) = 0;
    virtual void history_changed() = 0;
};

// A fencing a client asked for.
struct FenceOrder {
    std::string target;
    std::string action;  // off, reboot or on
    std::string client;  // st_clientname
    std::string client_id;
    std::uint32_t timeout_ms = 0;  // 0: the cluster's stonith-timeout
    int delay_s = 0;               // stonith_admin --delay: before the first device; -1: no
                                   // delay at all (pcmk_delay_base/max neither)
};

// What the face asks of the control loop; the loop implements it.
class FencerActions {
public:
    virtual ~FencerActions() = default;
    // The fence devices the CIB configures (primitives of class stonith).
    [[nodiscard]] virtual std::vector<FencerDevice> fence_devices() const = 0;
    [[nodiscard]] virtual const FenceHistory& fence_history() const = 0;
    // The devices that can fence `target` by their host check (pcmk_host_check: a static
    // list, the agent's list or status, or none); `done` runs from the main loop.
    virtual void capable_devices(const std::string& target,
                                 std::function<void(std::vector<FencerDevice>)> done) = 0;
    // Fences a node through the loop's fencing path: its history entry is added pending at
    // once; `done` runs from the main loop with the finished entry (before the listener
    // hears of it).
    virtual void fence(const FenceOrder& order, std::function<void(const FenceHistoryEntry&)> done) = 0;
    // stonith_admin --confirm: the node is recorded fenced (by "a human"); the entry.
    virtual FenceHistoryEntry confirm_fenced(const FenceOrder& order) = 0;
    // Forgets the finished entries of a target (every target when empty).
    virtual void clear_fence_history(const std::string& target) = 0;
    // Runs a device's agent `action` (for `target`, may be empty); `done` runs from the main
    // loop.
    virtual void run_device_action(const FencerDevice& device, const std::string& action,
                                   const std::string& target, std::uint32_t timeout_ms,
                                   std::function<void(const DeviceActionOutcome&)> done) = 0;
    // stonith_admin --register-level / --deregister-level: a level held in memory (lost on
    // restart), used with the CIB's; what the call did.
    virtual FencerResult register_level(const FencerLevel& level) = 0;
    virtual FencerResult remove_level(const FencerLevel& level) = 0;
    // nullptr: nobody listens.
    virtual void set_fencer_listener(FencerListener* listener) = 0;
};

class FencerFace final : public FencerListener {
public:
    // How the face reaches its clients (IpcFaces provides it): send as ipc::Server::send;
    // close ends a connection (with a log line saying why).
    struct Transport {
        std::function<Status(ipc::ConnectionId, ipc::Kind, std::int32_t, const std::string&)> send;
        std::function<void(ipc::ConnectionId, const std::string&)> close;
        // The client's process id (0 unknown): clients are named "<name>.<pid>" as
        // pacemaker-fenced names them in replies and the history.
        std::function<pid_t(ipc::ConnectionId)> pid;
    };

    // `actions` is borrowed and must outlive the face.
    FencerFace(FencerActions& actions, std::string node_name);
    FencerFace(const FencerFace&) = delete;
    FencerFace& operator=(const FencerFace&) = delete;
    ~FencerFace() override;

    void attach(Transport transport) { transport_ = std::move(transport); }
    void message(ipc::ConnectionId id, const ipc::Message& message);
    void closed(ipc::ConnectionId id);
    [[nodiscard]] std::size_t client_count() const { return clients_.size(); }

    // FencerListener
    void fence_finished(const FenceHistoryEntry& entry) override;
    void history_changed() override;

private:
    struct Client {
        std::string id;  // given at registration
        std::string name;
        std::set<std::string> notifications;  // st_notify_fence, st_notify_history, ...
    };

    void handle(ipc::ConnectionId id, Client& client, const ipc::Message& message, FencerRequest& request);
    void query(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id);
    void execute(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id);
    void fence(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id);
    // The answer to a call: the response when the caller waits for it (sync call), an
    // event otherwise.
    void answer(ipc::ConnectionId id, const FencerRequest& request, std::int32_t msg_id,
                const std::string& xml);
    void send(ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id, const std::string& xml);
    void notify(const std::string& event, const std::string& xml);
    void drop(ipc::ConnectionId id, const std::string& why);

    FencerActions& actions_;
    std::string node_name_;
    Transport transport_;
    std::map<ipc::ConnectionId, Client> clients_;
    Lifetime lifetime_;
};

}  // namespace outpost::cluster::controller
