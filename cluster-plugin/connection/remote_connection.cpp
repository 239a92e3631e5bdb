#include "connection/remote_connection.hpp"

#include <algorithm>
#include <utility>

#include "util/log.hpp"

namespace outpost::cluster::connection {
namespace {

const log::Category log_cat{"cluster.conn"};

}  // namespace

RemoteConnection::RemoteConnection(GMainContext* context, tls::TlsContext tls, RemoteConnectionConfig config)
    : context_(context), tls_(std::move(tls)), config_(std::move(config))
{
    if (config_.client_name.empty()) {
        config_.client_name = "pacemaker-remote-" + config_.server + ":" + std::to_string(config_.port);
    }
    machine_.set_reconnect_interval(config_.reconnect_interval);
    machine_.set_enforce_reconnect_interval(config_.enforce_reconnect_interval);
}

RemoteConnection::~RemoteConnection()
{
    lifetime_.end();
}

void RemoteConnection::release_client()
{
    // Bridge and subscription refer to the client: they go first.
    bridge_.reset();
    subscription_.reset();
    client_.reset();
}

void RemoteConnection::start(Millis timeout)
{
    apply(machine_.start(Clock::now(), timeout));
}
void RemoteConnection::stop(Millis timeout)
{
    apply(machine_.stop(Clock::now(), timeout));
}
void RemoteConnection::monitor(Millis timeout, Millis interval)
{
    apply(machine_.monitor(Clock::now(), timeout, interval));
}
void RemoteConnection::cancel_monitor()
{
    apply(machine_.cancel_monitor());
}
void RemoteConnection::migrate_to()
{
    apply(machine_.migrate_to());
}
void RemoteConnection::migrate_from(Millis timeout)
{
    apply(machine_.migrate_from(Clock::now(), timeout));
}
void RemoteConnection::reload(std::optional<Millis> reconnect_interval)
{
    apply(machine_.reload(reconnect_interval));
}

bool RemoteConnection::lose(const std::string& reason)
{
    RemoteClient* live = client();
    if (live == nullptr) return false;
    live->lose(reason);
    return true;
}

void RemoteConnection::arm(Timer timer, Millis delay)
{
    auto index = static_cast<std::size_t>(timer);
    const Lifetime::Watch alive = lifetime_.watch();
    timers_[index] = io::add_timeout(context_, delay, [this, alive, timer] {
        if (!alive) return;
        apply(machine_.timer_fired(Clock::now(), timer));
    });
}

void RemoteConnection::disarm(Timer timer)
{
    timers_[static_cast<std::size_t>(timer)].reset();
}

void RemoteConnection::apply(const Effects& effects)
{
    const Lifetime::Watch alive = lifetime_.watch();
    for (const auto& effect : effects) {
        if (!alive) return;
        switch (effect.kind) {
            case Effect::Kind::connect: {
                ClientOptions options;
                options.host = config_.server;
                options.port = config_.port;
                options.client_name = config_.client_name;
                options.ipc_provider = config_.ipc_provider;
                options.connect_timeout = std::max(effect.timeout, Millis{1});
                options.handshake_timeout = config_.handshake_timeout;
                options.reply_timeout = config_.reply_timeout;
                release_client();
                client_ = std::make_unique<RemoteClient>(context_, tls_, options);
                RemoteClient* client = client_.get();
                client->connect([this, alive, client](const Status& status) {
                    if (!alive || client != client_.get()) return;
                    if (!status.ok()) {
                        log_info(log_cat, "connection to %s failed: %s", config_.server.c_str(),
                                 status.error().message.c_str());
                        apply(machine_.connect_failed(Clock::now(), status.error()));
                        return;
                    }
                    Handlers handlers;
                    handlers.generic = [this, alive](const wire::GenericNotify& notify) {
                        if (!alive) return;
                        if (notify.op == wire::op_info(wire::Op::poke).name) {
                            apply(machine_.poke_answered(Clock::now()));
                        }
                    };
                    handlers.new_client = [this, alive] {
                        if (!alive) return;
                        apply(machine_.new_client(Clock::now()));
                    };
                    handlers.closed = [this, alive](const Error& reason) {
                        if (!alive) return;
                        log_notice(log_cat, "lost connection to %s: %s", config_.server.c_str(),
                                   reason.message.c_str());
                        apply(machine_.connection_lost(Clock::now(), reason));
                    };
                    subscription_ = client_->subscribe(std::move(handlers));
                    if (config_.provider != nullptr) {
                        bridge_ = std::make_unique<IpcProxyBridge>(*client_, *config_.provider);
                    }
                    if (on_client_) on_client_(*client_);
                    if (!alive) return;
                    apply(machine_.connect_succeeded(Clock::now()));
                });
                break;
            }
            case Effect::Kind::cancel_connect:
                release_client();
                break;
            case Effect::Kind::disconnect:
                log_info(log_cat, "disconnecting from %s: %s", config_.server.c_str(), effect.reason.c_str());
                if (client_) client_->disconnect();  // the bridge closes its sessions here
                bridge_.reset();
                break;
            case Effect::Kind::poke:
                if (client_) {
                    Status sent = client_->poke();
                    if (!sent.ok()) log_debug(log_cat, "poke not sent: %s", sent.error().message.c_str());
                }
                break;
            case Effect::Kind::arm_timer:
                arm(effect.timer, effect.timeout);
                break;
            case Effect::Kind::cancel_timer:
                disarm(effect.timer);
                break;
            case Effect::Kind::result:
                if (on_result_) on_result_(effect.result);
                break;
            case Effect::Kind::node_up:
                if (on_node_) on_node_(true);
                break;
            case Effect::Kind::node_down:
                if (on_node_) on_node_(false);
                break;
        }
    }
}

}  // namespace outpost::cluster::connection
