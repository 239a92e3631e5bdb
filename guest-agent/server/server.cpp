#include "server/server.hpp"

#include <glib-unix.h>

#include <cerrno>
#include <csignal>
#include <exception>
#include <utility>

#include "util/guard.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::server {
namespace {

const log::Category log_cat{"agent.server"};

gboolean on_signal(gpointer data)
{
    guarded(log_cat, "the shutdown request", [data] { static_cast<Server*>(data)->request_shutdown(); });
    return G_SOURCE_CONTINUE;
}

io::Source add_signal(GMainContext* context, int signal_number, Server* server)
{
    GSource* source = g_unix_signal_source_new(signal_number);
    g_source_set_callback(source, on_signal, server, nullptr);
    g_source_attach(source, context);
    return io::Source(source);
}

}  // namespace

Server::Server(GMainContext* context, tls::TlsContext tls, ServerConfig config, ExitHandler on_exit)
    : context_(context),
      tls_(std::move(tls)),
      config_(std::move(config)),
      on_exit_(std::move(on_exit)),
      notifier_([this](ClientSession& session, const Error&) {
          drop_later(session.id(), "connection is not keeping up");
      })
{
}

Result<std::unique_ptr<Server>> Server::create(GMainContext* context, tls::TlsContext tls,
                                               executor::Spawner& spawner, ServerConfig config,
                                               ExitHandler on_exit)
{
    std::unique_ptr<Server> server(
        new Server(context, std::move(tls), std::move(config), std::move(on_exit)));
    Server* self = server.get();
    // Large messages are parsed on a worker thread (io/offload.hpp).
    wire::init_xml();

    executor::Executor::Callbacks callbacks;
    callbacks.on_result = [self](const executor::OpResult& result) {
        if (self->dispatcher_) self->dispatcher_->on_result(result);
    };
    if (ServerMetrics* metrics = self->config_.metrics) {
        self->config_.executor.on_run = [metrics](const executor::OpResult& result,
                                                  std::string_view rsc_class) {
            metrics->operation_run(result, rsc_class);
        };
    }
    self->executor_ =
        std::make_unique<executor::Executor>(context, spawner, self->config_.executor, callbacks);
    self->dispatcher_ = std::make_unique<Dispatcher>(*self->executor_, self->notifier_,
                                                     static_cast<Control&>(*self), self->config_.dispatcher);

    io::ListenerOptions listen_options;
    listen_options.tcp_user_timeout = self->config_.tcp_user_timeout;
    auto listener = io::Listener::create(
        self->config_.address, self->config_.port, context,
        [self](UniqueFd fd, const std::string& peer) { self->on_accept(std::move(fd), peer); },
        listen_options);
    if (!listener) return listener.error();
    self->listener_ = std::move(listener).value();
    log_notice(log_cat, "Listening on %s port %u", self->listener_->bound_address().c_str(),
               static_cast<unsigned>(self->listener_->port()));

    if (self->config_.handle_signals) {
        self->sigterm_ = add_signal(context, SIGTERM, self);
        self->sigint_ = add_signal(context, SIGINT, self);
    }
    return server;
}

Server::~Server()
{
    // Sessions first (they hold senders into their connections), then the executor, whose
    // late results must not reach a dispatcher that is gone.
    sigterm_.reset();
    sigint_.reset();
    shutdown_timer_.reset();
    for (auto& [id, client] : clients_)
        client.session->detach();
    clients_.clear();
    for (auto& [id, session] : local_clients_) {
        notifier_.remove(id);
        session->detach();
    }
    local_clients_.clear();
    pending_.clear();
    listener_.reset();
    auto dispatcher = std::move(dispatcher_);
    executor_.reset();
}

std::uint16_t Server::port() const
{
    return listener_ ? listener_->port() : 0;
}

bool Server::listening() const
{
    return listener_ && listener_->listening();
}

void Server::attach_proxy(proxy::ProxyEndpoint* endpoint)
{
    if (endpoint != proxy_) {
        // Local executor clients send through the endpoint they were opened on.
        for (auto& [id, session] : local_clients_) {
            notifier_.remove(id);
            session->detach();
        }
        local_clients_.clear();
    }
    proxy_ = endpoint;
    dispatcher_->attach_proxy(endpoint);
}

void Server::on_accept(UniqueFd fd, const std::string& peer_address)
{
    if (phase_ == Phase::exiting) return;
    std::size_t in_use = pending_.size() + clients_.size();
    if (in_use >= config_.max_clients) {
        log_warning(log_cat, "Refusing connection from %s: already serving %zu clients (limit %zu)",
                    peer_address.c_str(), in_use, config_.max_clients);
        if (config_.metrics != nullptr) config_.metrics->connection_refused();
        return;  // fd closes here
    }
    log_debug(log_cat, "Accepted TCP connection from %s", peer_address.c_str());
    if (config_.metrics != nullptr) config_.metrics->connection_accepted();
    std::uint64_t key = next_pending_++;
    auto pending = io::Connection::accept_async(std::move(fd), peer_address, tls_, context_, config_.accept,
                                                [this, key](Result<std::unique_ptr<io::Connection>> result) {
                                                    on_handshake(key, std::move(result));
                                                });
    pending_.emplace(key, std::move(pending));
}

void Server::on_handshake(std::uint64_t key, Result<std::unique_ptr<io::Connection>> result)
{
    auto node = pending_.extract(key);  // destroyed at the end of this call (allowed by io)
    if (!result) {
        if (config_.metrics != nullptr) config_.metrics->handshake_failed();
        log_warning(log_cat, "Remote client %s not accepted: %s",
                    node.empty() ? "(unknown)" : node.mapped()->describe().c_str(),
                    result.error().message.c_str());
        return;
    }
    std::unique_ptr<io::Connection> connection = std::move(result).value();
    io::Connection* raw = connection.get();

    std::string id = random_uuid();
    auto session = std::make_unique<ClientSession>(id, raw->peer_address(),
                                                   [raw](std::string_view xml) { return raw->send(xml); });
    log_notice(log_cat, "New remote client %s from %s (%s)", id.c_str(), raw->peer_address().c_str(),
               raw->tls_description().c_str());

    ClientSession& added = *session;
    clients_.emplace(
        id, Client{std::move(connection), std::move(session), std::make_unique<io::Offload>(context_)});
    notifier_.add(added);
    // Before the newcomer registers, every other named client hears of it (the 2.1.5
    // controller uses this to notice a takeover).
    notifier_.new_client(added);

    raw->defer_inflate(io::kOffloadAbove, [this, id](wire::CompressedPayload payload) {
        on_compressed(id, std::move(payload));
    });
    raw->start([this, id](std::string xml) { on_message(id, std::move(xml)); },
               [this, id](const Error& reason) { on_closed(id, reason); });
}

namespace {

// Reads a remote client's message (Dispatcher::prepare_remote_payload), on the loop or on a
// worker thread; nullopt if that threw (logged).
std::optional<Result<RemotePayload>> read_payload(std::string_view xml, std::size_t max_size)
{
    return guarded(
        log_cat, "a remote client's message",
        [&] { return std::optional(Dispatcher::prepare_remote_payload(xml, max_size)); },
        std::optional<Result<RemotePayload>>());
}

}  // namespace

void Server::on_message(const std::string& id, std::string xml)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    const std::size_t max_size = config_.accept.limits.max_message_size;
    if (xml.size() <= io::kOffloadAbove) {
        serve(id, read_payload(xml, max_size));
        return;
    }
    // Read on a worker while the connection waits; its lane, and so this step, goes with
    // the client.
    log_debug(log_cat, "Reading a message of %zu bytes from %s off the loop", xml.size(),
              it->second.session->describe().c_str());
    it->second.connection->pause();
    it->second.lane->run([this, id, max_size, xml = std::move(xml)]() -> io::Offload::Step {
        return [this, id, payload = read_payload(xml, max_size)] {
            serve(id, payload);
            auto again = clients_.find(id);
            if (again != clients_.end()) again->second.connection->resume();
        };
    });
}

void Server::on_compressed(const std::string& id, wire::CompressedPayload payload)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    const std::size_t max_size = config_.accept.limits.max_message_size;
    log_debug(log_cat,
              "Inflating and reading a message of %u compressed bytes (%u inflated) from %s off the loop",
              payload.header.payload_compressed, payload.header.payload_uncompressed,
              it->second.session->describe().c_str());
    it->second.connection->pause();
    it->second.lane->run([this, id, max_size, payload = std::move(payload)]() -> io::Offload::Step {
        auto text = wire::inflate_payload(payload);
        if (!text) {
            // What a bad frame on the loop does: the connection ends with that error.
            return [this, id, error = text.error()] {
                auto again = clients_.find(id);
                if (again != clients_.end()) again->second.connection->reject(error);
            };
        }
        return [this, id, read = read_payload(*text, max_size)] {
            serve(id, read);
            auto again = clients_.find(id);
            if (again != clients_.end()) again->second.connection->resume();
        };
    });
}

void Server::serve(const std::string& id, const std::optional<Result<RemotePayload>>& payload)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    ClientSession& session = *it->second.session;
    // Any well-formed message is served as 2.1.5 serves it: by its lrmd_op, whatever its
    // root element or type (an unknown one, a command without lrmd_op, even a reply or
    // notify a client sends, gets the -95 of an unknown op; the connection stays). Only
    // what cannot be read at all (not XML, a msg id or number that is not one) ends the
    // connection: 2.1.5 would leave it open but useless (docs/conformance.md, item 2).
    if (payload && !*payload) {
        drop_client(id, "undecodable message: " + (*payload).error().message);
        return;
    }
    const bool served = payload && guarded(
                                       log_cat, "a remote client's message",
                                       [&] {
                                           dispatcher_->handle_prepared(session, **payload);
                                           return true;
                                       },
                                       false);
    if (!served) drop_later(id, "processing its message failed");
}

void Server::on_closed(const std::string& id, const Error& reason)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    log_notice(log_cat, "Remote client %s disconnected (%s)", it->second.session->describe().c_str(),
               reason.message.c_str());
    client_gone(id);
}

void Server::drop_client(const std::string& id, const std::string& why)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    log_warning(log_cat, "Dropping remote client %s: %s", it->second.session->describe().c_str(),
                log::quote(why).c_str());
    it->second.connection->close();
    client_gone(id);
}

void Server::drop_later(const std::string& id, const std::string& why)
{
    deferred_.later([this, id, why] { drop_client(id, why); });
}

void Server::client_gone(const std::string& id)
{
    auto node = clients_.extract(id);
    if (node.empty()) return;
    Client& client = node.mapped();
    notifier_.remove(id);
    client.session->detach();
    bool was_provider = client.session->is_provider();
    // `node` (the session and the connection) goes at the end of this function; the io
    // contract allows destroying a Connection from inside its own callbacks.

    if (was_provider && proxy_ != nullptr) proxy_->provider_gone(id);
    if (was_provider && phase_ != Phase::running && phase_ != Phase::exiting &&
        notifier_.provider_count() == 0) {
        exit_daemon(0, "the last IPC provider disconnected during shutdown");
        return;
    }
    check_last_client();
}

void Server::check_last_client()
{
    if (!clients_.empty()) return;
    if (proxy_ != nullptr && proxy_->local_client_count() > 0) return;
    // Only recurring ops of resources registered with drop-recurring stop; everything
    // else keeps running and stays registered (docs/protocol.md 5.12).
    log_info(log_cat, "No clients left: cancelling recurring operations registered with drop-recurring");
    executor_->drop_recurring();
}

std::optional<std::string> Server::newest_provider() const
{
    ClientSession* provider = notifier_.newest_provider();
    if (provider == nullptr) return std::nullopt;
    return provider->id();
}

bool Server::send_to_provider(std::string_view provider_client_id, const wire::ProxyMessage& message)
{
    ClientSession* provider = notifier_.find(provider_client_id);
    if (provider == nullptr) return false;
    return notifier_.send(*provider, wire::encode(message), "proxy message");
}

bool Server::send_encoded_to_provider(std::string_view provider_client_id, std::string_view xml)
{
    ClientSession* provider = notifier_.find(provider_client_id);
    if (provider == nullptr) return false;
    return notifier_.send(*provider, xml, "proxy message");
}

void Server::local_client_gone()
{
    check_last_client();
}

Status Server::local_executor_open(std::string_view client_id, std::string_view description)
{
    if (proxy_ == nullptr) return make_error("server", -EPROTONOSUPPORT, "no local IPC endpoint is attached");
    if (phase_ == Phase::exiting) return make_error("server", -ESHUTDOWN, "the agent is exiting");
    std::string id(client_id);
    if (clients_.count(id) != 0 || local_clients_.count(id) != 0)
        return make_error("server", -EEXIST, "client id " + id + " is already in use");
    proxy::ProxyEndpoint* endpoint = proxy_;
    auto session = std::make_unique<ClientSession>(
        id, std::string(description),
        [endpoint, id](std::string_view xml) { return endpoint->send_local_event(id, xml); },
        [endpoint, id](std::string_view xml) { return endpoint->send_local_reply(id, xml); });
    log_notice(log_cat, "New local executor client %s (%.*s)", id.c_str(),
               static_cast<int>(description.size()), description.data());
    ClientSession& added = *session;
    local_clients_.emplace(id, std::move(session));
    notifier_.add(added);
    // 2.1.5 announces a local client to the others exactly like a TLS one.
    notifier_.new_client(added);
    return {};
}

void Server::local_executor_request(std::string_view client_id, std::uint32_t ipc_msg_id,
                                    std::string_view xml)
{
    auto it = local_clients_.find(client_id);
    if (it == local_clients_.end()) return;
    ClientSession& session = *it->second;
    auto served = guarded(
        log_cat, "a local client's request",
        [&]() -> Status { return dispatcher_->handle_local_payload(session, ipc_msg_id, xml); },
        Status(make_error("server", -EIO, "processing it failed")));
    if (!served) {
        // 2.1.5 answers nothing and keeps the connection; the client's own timeout ends
        // its wait.
        log_warning(log_cat, "Ignoring undecodable request %u from local client %s: %s", ipc_msg_id,
                    session.describe().c_str(), served.error().message.c_str());
    }
}

void Server::local_executor_prepared(std::string_view client_id, std::uint32_t ipc_msg_id,
                                     const Result<wire::Message>& request)
{
    auto it = local_clients_.find(client_id);
    if (it == local_clients_.end()) return;
    ClientSession& session = *it->second;
    auto served = guarded(
        log_cat, "a local client's request",
        [&]() -> Status { return dispatcher_->handle_local_prepared(session, request); },
        Status(make_error("server", -EIO, "processing it failed")));
    if (!served) {
        log_warning(log_cat, "Ignoring undecodable request %u from local client %s: %s", ipc_msg_id,
                    session.describe().c_str(), served.error().message.c_str());
    }
}

void Server::local_executor_closed(std::string_view client_id)
{
    auto it = local_clients_.find(client_id);
    if (it == local_clients_.end()) return;
    auto node = local_clients_.extract(it);
    log_notice(log_cat, "Local executor client %s disconnected", node.mapped()->describe().c_str());
    notifier_.remove(client_id);
    node.mapped()->detach();
    // The proxy may report this from inside a send to that very client, with the
    // dispatcher still holding it: the session object goes at the next idle.
    deferred_.release(std::move(node.mapped()));
}

void Server::request_shutdown()
{
    switch (phase_) {
        case Phase::exiting:
            return;
        case Phase::awaiting_ack:
        case Phase::awaiting_disconnect:
            log_notice(log_cat, "Waiting for cluster to stop resources before exiting");
            return;
        case Phase::running:
            break;
    }

    ClientSession* provider = notifier_.newest_provider();
    if (provider == nullptr) {
        exit_daemon(0, "shutdown requested and no cluster connection is active");
        return;
    }
    log_notice(log_cat, "Shutdown requested: asking the cluster (%s) to stop resources here first",
               provider->describe().c_str());
    wire::ProxyMessage request;
    request.type = wire::MsgType::notify;
    request.op = std::string(wire::ipc_op::shutdown_req);
    request.session = "0";  // a dummy the 2.1.5 client needs to route it as proxy traffic
    notifier_.send(*provider, wire::encode(request), "shutdown request");

    // No new clients while we wait (2.1.6+ behaviour; 2.1.5 exited here by accident).
    if (listener_) listener_->close();
    phase_ = Phase::awaiting_ack;
    shutdown_timer_ = io::add_timeout(context_, config_.shutdown_ack_timeout, [this] {
        exit_daemon(0, "the cluster did not answer our shutdown request in time");
    });
}

void Server::shutdown_acknowledged()
{
    if (phase_ != Phase::awaiting_ack) {
        log_info(log_cat, "Ignoring shutdown acknowledgement: no shutdown was requested");
        return;
    }
    log_notice(log_cat, "The cluster acknowledged our shutdown request");
    shutdown_timer_.reset();
    phase_ = Phase::awaiting_disconnect;
    log_notice(log_cat, "Waiting for the cluster to stop resources and disconnect");
    if (notifier_.provider_count() == 0) exit_daemon(0, "no IPC provider is left");
}

void Server::shutdown_refused()
{
    if (phase_ != Phase::awaiting_ack && phase_ != Phase::awaiting_disconnect) {
        log_info(log_cat, "Ignoring shutdown refusal: no shutdown was requested");
        return;
    }
    exit_daemon(0, "the cluster refused to stop resources here (unmanaged or maintenance)");
}

void Server::fatal_exit(int exit_code, const std::string& reason)
{
    if (phase_ == Phase::exiting) return;
    phase_ = Phase::exiting;
    log_error(log_cat, "Exiting with status %d: %s", exit_code, reason.c_str());
    if (listener_) listener_->close();
    shutdown_timer_.reset();
    // Deferred: we are inside the dispatcher; the handler may tear the server down.
    report_exit_later(exit_code);
}

void Server::exit_daemon(int exit_code, const char* why)
{
    if (phase_ == Phase::exiting) return;
    phase_ = Phase::exiting;
    log_notice(log_cat, "Exiting: %s", why);
    if (listener_) listener_->close();
    shutdown_timer_.reset();
    // Alerts already running are waited for; resources are left as they are.
    executor_->drain_alerts([this, exit_code] { report_exit_later(exit_code); });
}

void Server::report_exit_later(int exit_code)
{
    deferred_.later([this, exit_code] {
        if (exit_reported_) return;
        exit_reported_ = true;
        if (on_exit_) on_exit_(exit_code);
    });
}

}  // namespace outpost::agent::server
