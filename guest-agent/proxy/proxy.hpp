// IpcProxy: the local libqb IPC servers inside a guest that let the cluster tools
// (crm_mon, cibadmin, crm_attribute, attrd_updater, crm_resource, crm_node, stonith_admin)
// work as on a cluster node, by tunnelling each local session over the agent's TLS
// connection to the newest IPC provider (protocol.md 4).
//
// create() starts every service of channels() (cib_ro, cib_rw, cib_shm, attrd, stonith-ng,
// crmd, lrmd, pacemakerd) on the agent's GMainContext; failing to create any is an Error
// (the daemon exits fatally: another cluster stack owns the names). A local connection is
// refused with -EREMOTEIO when there is no provider (tools fail fast), always on
// pacemakerd, and for peers that are neither root nor in the cluster group (haclient). An
// accepted connection becomes a session (a random UUID) bound to the provider that was
// newest at that moment: `new` goes to it, each request travels as `request`, and the
// provider's `response`/`event`/`destroy` come back through the ProxyEndpoint methods the
// server calls. A local disconnect sends `destroy`; a provider that goes away closes its
// sessions. The proxy only talks to the server through ProxyHost, attached after creation.
//
// The lrmd name serves the local executor API instead (protocol.md 4.2): an lrmd connection
// is not proxied but becomes an executor client of this daemon (ProxyHost::
// local_executor_open, refused if the host says no); each request must ask for a response
// (flag 0x200, as 2.1.5 requires; others are logged and dropped), its XML goes to the host,
// and the host's reply is sent as the IPC response to that request id, its notifications as
// IPC events, numbered daemon-wide as 2.1.5 numbers them. Providers cannot touch lrmd
// sessions (response/event/destroy for one are refused).
#pragma once

#include <glib.h>
#include <qb/qbipcs.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/source.hpp"
#include "proxy/channels.hpp"
#include "proxy/ipc_header.hpp"
#include "proxy/qb_glib.hpp"
#include "server/proxy_endpoint.hpp"
#include "util/result.hpp"

namespace outpost::agent::proxy {

// Group whose members may use the tools (Pacemaker's CRM_DAEMON_GROUP).
inline constexpr const char* kClusterGroup = "haclient";
// Socket and shared-memory files: owner and cluster group read and write.
inline constexpr mode_t kIpcMode = 0660;
// Messages queued for one tool that is not reading (libqb said -EAGAIN); beyond this the
// tool is disconnected rather than letting memory grow without bound.
inline constexpr std::size_t kMaxQueuedPerSession = 500;
// How soon a message the tool's buffer could not take is tried again.
inline constexpr std::chrono::milliseconds kResendDelay{100};

struct ProxyOptions {
    // PCMK_ipc_buffer, read once with the daemon's other settings (server/options.cpp).
    std::size_t ipc_buffer_size = kDefaultIpcBufferSize;
    std::string cluster_group = kClusterGroup;
    // Prepended to every service name; empty in the daemon. Lets tests run services that
    // cannot clash with a cluster stack in the same network namespace.
    std::string name_prefix;
};

class IpcProxy final : public server::ProxyEndpoint {
public:
    static Result<std::unique_ptr<IpcProxy>> create(GMainContext* context, ProxyOptions options = {});
    IpcProxy(const IpcProxy&) = delete;
    IpcProxy& operator=(const IpcProxy&) = delete;
    ~IpcProxy() override;

    // The server side (borrowed; nullptr detaches). Until attached, sessions are refused.
    void attach_host(server::ProxyHost* host) { host_ = host; }

    // ProxyEndpoint
    bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                          const wire::Element& msg) override;
    bool deliver_event(std::string_view session, const wire::Element& msg) override;
    void destroy_session(std::string_view session) override;
    [[nodiscard]] bool has_session(std::string_view session) const override;
    void provider_gone(std::string_view provider_client_id) override;
    [[nodiscard]] std::size_t local_client_count() const override { return sessions_.size(); }
    Status send_local_reply(std::string_view client_id, std::string_view xml) override;
    Status send_local_event(std::string_view client_id, std::string_view xml) override;

    // For tests and logs: the session ids currently open.
    [[nodiscard]] std::vector<std::string> session_ids() const;

private:
    struct Service {
        const ChannelSpec* spec = nullptr;
        std::string name;
        qb_ipcs_service_t* handle = nullptr;
        IpcProxy* owner = nullptr;
    };
    struct Outgoing {
        std::string bytes;
        bool response = false;
    };
    // Header flags and id of one message for a tool.
    struct Framing {
        std::int32_t id = 0;
        std::uint32_t flags = 0;
        bool response = false;
    };
    struct Session {
        std::string id;
        const ChannelSpec* spec = nullptr;
        qb_ipcs_connection_t* connection = nullptr;
        std::string provider;
        uid_t uid = 0;
        pid_t pid = 0;
        std::string user;
        std::string client_name;
        bool announced = false;                 // `new` was sent
        bool ready = false;                     // libqb finished setting the connection up
        bool gone = false;                      // sending failed: the tool left, libqb will say so
        std::optional<std::uint32_t> awaiting;  // request id a response is owed for
        std::uint32_t last_request_id = 0;
        std::deque<Outgoing> queue;
        io::Source resend;
    };

    IpcProxy(GMainContext* context, ProxyOptions options, std::unique_ptr<QbGlibLoop> loop);

    Status start_services();
    bool authorized(uid_t uid, gid_t gid) const;

    // libqb callbacks (static trampolines; no exception leaves them).
    static int32_t on_accept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid);
    static void on_created(qb_ipcs_connection_t* c);
    static int32_t on_message(qb_ipcs_connection_t* c, void* data, size_t size);
    static int32_t on_closed(qb_ipcs_connection_t* c);
    static void on_destroyed(qb_ipcs_connection_t* c);

    int32_t accept(Service& service, qb_ipcs_connection_t* c, uid_t uid, gid_t gid);
    int32_t accept_local_executor(Service& service, qb_ipcs_connection_t* c, uid_t uid);
    // Tells the newest provider about a connection refused for its permissions, as 2.1.5.
    void announce_refused(const ChannelSpec& spec);
    void created(qb_ipcs_connection_t* c);
    void message(qb_ipcs_connection_t* c, const void* data, std::size_t size);
    void closed(qb_ipcs_connection_t* c);

    Session* session_of(qb_ipcs_connection_t* c);
    Session* find_session(std::string_view id);
    bool deliver(Session& session, const wire::Element& msg, std::optional<std::uint32_t> response_id);
    bool deliver_text(Session& session, std::string_view xml, Framing framing);
    void local_request(Session& session, const void* data, std::size_t size);
    Session* find_local_executor(std::string_view id);
    void flush(Session& session);
    // Closes the local connection; `notify_provider` says whether `destroy` goes out.
    void close_session(Session& session, bool notify_provider, const char* why);
    // Disconnects the connections close_session() left behind (see there).
    void reap();

    GMainContext* context_;
    ProxyOptions options_;
    std::unique_ptr<QbGlibLoop> loop_;
    std::optional<gid_t> cluster_gid_;
    std::vector<std::unique_ptr<Service>> services_;
    std::map<std::string, std::unique_ptr<Session>, std::less<>> sessions_;
    std::map<qb_ipcs_connection_t*, std::string> session_by_connection_;
    server::ProxyHost* host_ = nullptr;
    bool quiet_close_ = false;
    std::vector<qb_ipcs_connection_t*> doomed_;  // each holds a connection reference
    io::Source reaper_;                      // closing sessions ourselves: no destroy, no client-gone report
    std::int32_t last_event_id_ = 0;         // lrmd events, numbered over all sessions
    std::vector<std::string> closed_local_;  // local executor clients to report from reap()
};

}  // namespace outpost::agent::proxy
