// outpost-agent: a drop-in replacement for Pacemaker 2.1.5's pacemaker-remoted.
//
// This file only turns the command line and the environment into a running Server:
// container init mode, logging, the TLS credentials, the listener, the main loop. Exit
// statuses follow Pacemaker (and --help lists them): 0 after a clean shutdown, 64
// (kExitUsage) when the command line, an environment value, an environment file or a TLS
// setting cannot be used, 100 (kExitFatal, "do not respawn") when a sound configuration
// still cannot be served (listener, local IPC names, the watchdog check).
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cibfollow/follower.hpp"
#include "executor/executor.hpp"
#include "executor/process_spawner.hpp"
#include "isolation/manager.hpp"
#include "isolation/usage.hpp"
#include "lifecycle/pid1.hpp"
#include "metrics/endpoint.hpp"
#include "metrics/registry.hpp"
#include "proxy/proxy.hpp"
#include "server/metrics.hpp"
#include "server/options.hpp"
#include "server/server.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "util/log.hpp"

namespace {

using namespace outpost;

const log::Category log_cat{"agent.main"};

using agent::kExitUsage;
constexpr const char* kResourceAgentsRunDir = "/run/resource-agents";
constexpr const char* kCoresDir = "/var/lib/pacemaker/cores";
constexpr const char* kAlertUser = "hacluster";

void configure_logging(const agent::AgentOptions& options)
{
    log::Config config = log::config_from_environment("outpost-agent", agent::kDebugNames);
    if (!options.log_file.empty()) config.file = options.log_file;
    int level = static_cast<int>(config.default_level);
    level = std::max(level, static_cast<int>(log::Level::notice) + options.verbosity);
    config.default_level = static_cast<log::Level>(std::min(level, static_cast<int>(log::Level::trace)));
    log::configure(config);
}

// Debian's pacemaker-remoted creates it for agents that keep state there.
void make_resource_agents_dir()
{
    if (::mkdir(kResourceAgentsRunDir, 0755) != 0 && errno != EEXIST) {
        log_warning(log_cat, "Cannot create %s: %s", kResourceAgentsRunDir, std::strerror(errno));
    }
}

// Alerts run as hacluster (docs/protocol.md 5.13); resolved before the first alert's child is
// forked (Executor::Options::alert_user says why not at start).
std::optional<agent::executor::RunAs> alert_user()
{
    auto run_as = agent::executor::lookup_run_as(kAlertUser);
    if (!run_as)
        log_warning(log_cat, "User %s not found: alert agents will run as this daemon's user", kAlertUser);
    return run_as;
}

void check_key_at_startup(tls::AuthkeyStore& keys)
{
    auto key = keys.get();
    if (!key) {
        // Not fatal: the key is read again at each handshake, so it can be installed later.
        log_warning(log_cat,
                    "No usable authentication key yet (%s); clients will be refused until one exists",
                    key.error().message.c_str());
        return;
    }
    log_info(log_cat, "Using authentication key %s", keys.cached_path().c_str());
}

int run(int argc, char** argv)
{
    // The register reply's uptime counts from here (2.1.6+ controllers read it).
    const auto started = std::chrono::steady_clock::now();
    // Before anything else: in a container the init part must own PID 1.
    agent::lifecycle::run_init_if_pid1();

    std::vector<std::string> args(argv, argv + argc);
    auto parsed = agent::parse_options(args);
    if (!parsed) {
        (void)std::fprintf(stderr, "outpost-agent: %s\n", parsed.error().message.c_str());
        return kExitUsage;
    }
    agent::AgentOptions& options = *parsed;
    if (options.show_help) {
        (void)std::fputs(agent::usage_text("outpost-agent").c_str(), stdout);
        return 0;
    }
    if (options.show_version) {
        (void)std::fputs(agent::version_text().c_str(), stdout);
        return 0;
    }
    // Children (agents) and the key lookup see what the command line chose.
    if (!options.authkey_path.empty()) ::setenv(tls::kAuthkeyLocationEnv, options.authkey_path.c_str(), 1);
    // We are not a notify-type service, and agents must not talk to systemd in our name.
    ::unsetenv("NOTIFY_SOCKET");

    configure_logging(options);
    std::string version = agent::version_text();
    if (!version.empty() && version.back() == '\n') version.pop_back();
    log_notice(log_cat, "Starting %s", version.c_str());
    for (const auto& file : options.env_files_read)
        log_info(log_cat, "Read environment file %s", file.c_str());
    for (const auto& name : options.env_vars_set)
        log_debug(log_cat, "%s taken from an environment file", name.c_str());
    for (const auto& warning : options.warnings)
        log_warning(log_cat, "%s", warning.c_str());

    (void)std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error value, not a signal
    make_resource_agents_dir();

    auto keys = std::make_shared<tls::AuthkeyStore>();
    check_key_at_startup(*keys);
    auto settings = tls::TlsSettings::from_environment();
    if (!settings) {
        log_error(log_cat, "Invalid TLS settings: %s", settings.error().message.c_str());
        return kExitUsage;
    }
    for (const auto& note : settings->notes)
        log_warning(log_cat, "%s", note.c_str());
    auto tls = tls::TlsContext::server(*settings, keys);
    if (!tls) {
        // Priorities GnuTLS rejects, certificate, key or CA files that cannot be used: all
        // configuration (exit 64, as for any other bad setting).
        log_error(log_cat, "Cannot set up TLS: %s", tls.error().message.c_str());
        return kExitUsage;
    }
    for (const auto& warning : tls->warnings())
        log_warning(log_cat, "%s", warning.c_str());

    GMainContext* context = g_main_context_default();
    // Never destroyed: run() ends with exit(), because exiting must not kill agents that
    // are still running (pacemaker-remoted leaves them be) and ProcessSpawner's
    // destructor would.
    agent::executor::ProcessSpawner spawner(context);

    agent::server::ServerConfig config;
    config.address = options.address;
    config.port = options.port;
    if (options.sbd_timeout_ms > 0) {
        // Lets TCP notice a dead cluster node well within the watchdog's reach.
        config.tcp_user_timeout = std::chrono::milliseconds(options.sbd_timeout_ms / 2);
    }
    config.dispatcher.started = started;
    config.dispatcher.node_start_state = options.node_start_state;
    config.dispatcher.sbd_timeout_ms = options.sbd_timeout_ms;
    config.executor.alert_user = alert_user;
    // Never destroyed either (see the spawner): resources keep their cgroups past our exit.
    auto isolation = agent::isolation::Manager::create(context, {options.isolation, options.cgroup_parent});
    config.executor.isolation = isolation.get();
    // Never destroyed either after the loop ran (exit() below), like the server it is read with.
    auto registry = std::make_unique<metrics::Registry>();
    auto server_metrics = std::make_unique<agent::server::ServerMetrics>(*registry);
    config.metrics = server_metrics.get();

    // Local IPC names first, as pacemaker-remoted does: if another cluster stack owns them
    // here, exit before the cluster can connect.
    agent::proxy::ProxyOptions proxy_options;
    if (options.ipc_buffer_size != 0) proxy_options.ipc_buffer_size = options.ipc_buffer_size;
    auto proxy = agent::proxy::IpcProxy::create(context, proxy_options);
    if (!proxy) {
        log_error(log_cat, "Cannot create local IPC servers: %s", proxy.error().message.c_str());
        return agent::server::kExitFatal;
    }

    GMainLoop* loop = g_main_loop_new(context, FALSE);
    int exit_code = 0;
    auto server = agent::server::Server::create(context, *tls, spawner, config, [&](int code) {
        exit_code = code;
        g_main_loop_quit(loop);
    });
    if (!server) {
        log_error(log_cat, "Cannot listen for cluster connections: %s", server.error().message.c_str());
        return agent::server::kExitFatal;
    }
    (*proxy)->attach_host(server->get());
    (*server)->attach_proxy(proxy->get());
    // The resources' limits written as meta attributes come from the CIB itself (2.1.5 does
    // not pass them to the executor); pointless where nothing can be confined.
    std::unique_ptr<agent::cibfollow::CibFollower> follower;
    if (options.cib_limits && isolation->confined()) {
        follower = std::make_unique<agent::cibfollow::CibFollower>(context, **server, *isolation);
        (*proxy)->attach_own_session(follower.get());
    }

    std::unique_ptr<metrics::Endpoint> endpoint;
    std::shared_ptr<void> usage_cache;
    if (options.metrics_address) {
        server_metrics->watch(**server, proxy->get());
        usage_cache = agent::isolation::register_metrics(context, *registry, *isolation);
        auto made = metrics::Endpoint::create(context, *options.metrics_address,
                                              [&registry]() { return registry->render(); });
        if (!made) {
            log_error(log_cat, "Cannot serve metrics: %s", made.error().message.c_str());
            return agent::server::kExitFatal;
        }
        endpoint = std::move(*made);
        log_notice(log_cat, "Serving metrics at http://%s/metrics",
                   metrics::describe({options.metrics_address->host, endpoint->port()}).c_str());
    }

    if (::access(kCoresDir, F_OK) == 0 && ::chdir(kCoresDir) != 0) {
        log_warning(log_cat, "Cannot change to %s: %s", kCoresDir, std::strerror(errno));
    }

    g_main_loop_run(loop);
    log_notice(log_cat, "Exiting with status %d", exit_code);
    // The local IPC servers go properly (libqb removes its sockets and shared memory);
    // exit() runs no destructors of the other locals: the spawner stays alive (see above).
    endpoint.reset();
    usage_cache.reset();
    (*proxy)->attach_own_session(nullptr);
    follower.reset();
    (*server)->attach_proxy(nullptr);
    proxy->reset();
    isolation->remove_empty();
    (void)std::fflush(nullptr);
    std::exit(exit_code);
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "outpost-agent: fatal error: %s\n", e.what());
        return outpost::agent::server::kExitFatal;
    } catch (...) {
        (void)std::fprintf(stderr, "outpost-agent: fatal error\n");
        return outpost::agent::server::kExitFatal;
    }
}
