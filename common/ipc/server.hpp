// ipc::Server: local libqb IPC services that speak Pacemaker 2.1.x's IPC (the header of
// ipc/header.hpp) on a GMainContext (ipc/qb_glib.hpp); the agent's proxy serves the cluster
// tools' names with it. It knows connections, credentials and message framing, not what the
// messages mean: that is the Handler's business.
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

#include "io/deferred.hpp"
#include "io/source.hpp"
#include "ipc/header.hpp"
#include "ipc/qb_glib.hpp"
#include "util/result.hpp"

namespace outpost::ipc {

// Group whose members may use the cluster's IPC (Pacemaker's CRM_DAEMON_GROUP).
inline constexpr const char* kClusterGroup = "haclient";
// Socket and shared-memory files of accepted connections: owner and cluster group rw.
inline constexpr mode_t kIpcMode = 0660;
// Messages queued for one client that is not reading (libqb said -EAGAIN); beyond this the
// client is disconnected rather than letting memory grow without bound.
inline constexpr std::size_t kMaxQueuedPerConnection = 500;
// How soon a message a client's buffer could not take is tried again.
inline constexpr std::chrono::milliseconds kResendDelay{100};

struct ServiceSpec {
    std::string name;  // the libqb service name clients connect to
    qb_ipc_type type = QB_IPC_NATIVE;
    bool high_priority = false;  // its traffic goes before other IPC (stonith-ng)
    // Non-zero: a name held but not served; every connection is refused with this negated
    // errno before anything else, and `refusal` is logged as the reason.
    int refuse = 0;
    std::string refusal;
};

struct ServerOptions {
    // PCMK_ipc_buffer: messages larger than this are compressed.
    std::size_t buffer_size = kDefaultBufferSize;
    std::string cluster_group = kClusterGroup;
};

using ConnectionId = std::uint64_t;

// Owners of libqb handles: a running service (qb_ipcs_destroy), and one reference to a
// connection (qb_ipcs_connection_ref/unref), copyable.
struct ServiceDestroy {
    void operator()(qb_ipcs_service_t* service) const { qb_ipcs_destroy(service); }
};
using ServiceHandle = std::unique_ptr<qb_ipcs_service_t, ServiceDestroy>;

class ConnectionRef {
public:
    explicit ConnectionRef(qb_ipcs_connection_t* connection) : connection_(connection)
    {
        qb_ipcs_connection_ref(connection_);
    }
    ConnectionRef(const ConnectionRef& other) : ConnectionRef(other.connection_) {}
    ConnectionRef& operator=(const ConnectionRef&) = delete;
    ~ConnectionRef() { qb_ipcs_connection_unref(connection_); }
    [[nodiscard]] qb_ipcs_connection_t* get() const { return connection_; }

private:
    qb_ipcs_connection_t* connection_;
};

// Who is on the other end of a connection.
struct Peer {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;  // the name of uid, or the decimal uid
    pid_t pid = 0;     // 0 until the connection is set up (Handler::created)
};

enum class Kind {
    response,  // the answer to a request (libqb response)
    event,     // anything else (libqb event)
};

// Access follows Pacemaker: root, the daemon's own user and members of the cluster group
// (haclient, primary or supplementary) may connect; anyone else is refused with -EACCES before
// the Handler hears of it (Handler::refused says so). An accepted connection's sockets and
// shared memory belong to the cluster group (kIpcMode). Sending queues what a client's full
// buffer cannot take and tries again shortly; a client that stops reading is disconnected.
// Every libqb callback is guarded: no exception reaches libqb.
class Server {
public:
    class Handler {
    public:
        virtual ~Handler() = default;
        // A permitted client connects to service `service` (its index in the list given to
        // create()): return 0 to accept it as connection `id`, or a negative errno that the
        // client gets instead.
        virtual int accept(std::size_t service, ConnectionId id, const Peer& peer) = 0;
        // A client that may not use the IPC was refused (-EACCES).
        virtual void refused(std::size_t service, const Peer& peer) = 0;
        // libqb finished setting connection `id` up; its pid is known now.
        virtual void created(ConnectionId id) = 0;
        // One whole message of `id` (header and payload, as libqb hands it over).
        virtual void message(ConnectionId id, const void* data, std::size_t size) = 0;
        // Connection `id` ended without close() (the client left, or sending to it failed
        // later on). Not called for connections the handler closed itself.
        virtual void closed(ConnectionId id) = 0;
    };

    // Starts every service on `context`; an Error names the one that could not be created
    // (another cluster stack owning the name shows as -EADDRINUSE). One Server per process
    // (libqb's poll handlers carry no context of their own).
    static Result<std::unique_ptr<Server>> create(GMainContext* context, std::vector<ServiceSpec> services,
                                                  ServerOptions options, Handler& handler);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    // Disconnects every client (the handler hears nothing), then removes the services.
    ~Server();

    // Sends `xml` to `id` with the 2.1.x header: a response with request id `msg_id`, or an
    // event. Messages that cannot go yet are queued (created() and the resend timer flush
    // them). -ENOTCONN: the client has gone (the handler hears of it through closed());
    // any other error (the message cannot be encoded, the client stopped reading, libqb
    // refused it): the connection is closed here and the handler will not hear of it.
    Status send(ConnectionId id, Kind kind, std::int32_t msg_id, std::uint32_t flags, std::string_view xml);
    // send() in two halves, for a caller that encodes a large message off the loop
    // (encode_message() is pure): the limits send() would encode with for `id` (nullopt
    // once it has gone), then the bytes encode_message() made with them, sent as send()
    // sends (the same errors).
    struct EncodeLimits {
        std::size_t compress_above = kDefaultBufferSize;  // PCMK_ipc_buffer
        std::size_t max_size = kDefaultBufferSize;        // what the client can receive
    };
    [[nodiscard]] std::optional<EncodeLimits> encode_limits(ConnectionId id) const;
    Status send_encoded(ConnectionId id, Kind kind, std::string bytes);
    // Ends `id` from our side. The disconnect waits for the loop (libqb may be inside a
    // callback for it); closed() is not called for it.
    void close(ConnectionId id);

    [[nodiscard]] const Peer* peer(ConnectionId id) const;
    [[nodiscard]] std::size_t connection_count() const { return connections_.size(); }
    [[nodiscard]] std::size_t service_count() const { return services_.size(); }
    [[nodiscard]] const std::string& service_name(std::size_t service) const
    {
        return services_[service]->name;
    }

private:
    struct Service {
        Server* owner = nullptr;
        std::size_t index = 0;
        std::string name;
        int refuse = 0;
        std::string refusal;
        ServiceHandle handle;
    };
    struct Outgoing {
        std::string bytes;
        Kind kind = Kind::event;
    };
    struct Connection {
        ConnectionId id = 0;
        qb_ipcs_connection_t* handle = nullptr;
        Peer peer;
        bool ready = false;  // libqb finished setting it up
        bool gone = false;   // sending failed: the client left, libqb will say so
        std::deque<Outgoing> queue;
        io::Source resend;
    };

    Server(GMainContext* context, ServerOptions options, Handler& handler, std::unique_ptr<QbGlibLoop> loop);
    Status start(std::vector<ServiceSpec> specs);
    [[nodiscard]] bool permitted(uid_t uid, gid_t gid) const;
    Connection* find(ConnectionId id);
    [[nodiscard]] const Connection* find(ConnectionId id) const;
    Connection* find(qb_ipcs_connection_t* handle);
    // Sends what is queued; false if the connection was closed meanwhile.
    bool flush(Connection& connection);
    // Forgets `connection` and disconnects it from the loop.
    void forget(Connection& connection);

    // libqb's callbacks.
    static Service* service_of(qb_ipcs_connection_t* c);
    static int32_t on_accept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid);
    static void on_created(qb_ipcs_connection_t* c);
    static int32_t on_message(qb_ipcs_connection_t* c, void* data, size_t size);
    static int32_t on_closed(qb_ipcs_connection_t* c);
    static void on_destroyed(qb_ipcs_connection_t* c);
    int32_t accept(Service& service, qb_ipcs_connection_t* c, uid_t uid, gid_t gid);
    void client_left(qb_ipcs_connection_t* c);

    GMainContext* context_;
    ServerOptions options_;
    Handler& handler_;
    std::unique_ptr<QbGlibLoop> loop_;
    std::optional<gid_t> cluster_gid_;
    std::vector<std::unique_ptr<Service>> services_;
    ConnectionId next_id_ = 1;
    std::map<ConnectionId, std::unique_ptr<Connection>> connections_;
    std::map<qb_ipcs_connection_t*, ConnectionId> by_handle_;
    // Connections closed from our side whose disconnect is still due: the reference that
    // keeps each valid, and whether libqb has ended it meanwhile (the client left first).
    struct Closing {
        ConnectionRef held;
        bool ended = false;
    };
    std::map<qb_ipcs_connection_t*, std::shared_ptr<Closing>> closing_;
    io::Deferred deferred_;  // disconnects out of libqb's call stack
};

}  // namespace outpost::ipc
