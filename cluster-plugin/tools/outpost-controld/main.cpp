// outpost-controld: one machine as a complete cluster side without corosync. It serves the
// CIB (kept in one file) over Pacemaker's local IPC and runs the control loop
// (cluster-plugin/control) that manages the resources. This file turns flags and
// environment into a running service.
#include <glib-unix.h>
#include <glib.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "control/attribute_manager.hpp"
#include "control/control_loop.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_service.hpp"
#include "controller/cib_store.hpp"
#include "controller/ipc_faces.hpp"
#include "metrics/endpoint.hpp"
#include "metrics/registry.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"
#ifdef OUTPOST_WITH_WATCH
#include "tools/outpost-controld/domain_watch.hpp"
#endif
#include "tools/outpost-controld/host_executor.hpp"
#include "tools/outpost-controld/metrics.hpp"
#include "tools/outpost-controld/operation_ledger.hpp"
#include "tools/outpost-controld/options.hpp"
#include "util/log.hpp"

namespace {

using namespace outpost;

const log::Category log_cat{"controld.main"};
constexpr std::string_view kDebugNames[] = {"outpost-controld", "pacemaker-based"};

void configure_logging(const controld::Options& options)
{
    log::Config config = log::config_from_environment("outpost-controld", kDebugNames);
    if (!options.log_file.empty()) config.file = options.log_file;
    int level = std::max(static_cast<int>(config.default_level),
                         static_cast<int>(log::Level::notice) + options.verbosity);
    config.default_level = static_cast<log::Level>(std::min(level, static_cast<int>(log::Level::trace)));
    log::configure(config);
}

gboolean on_signal(gpointer data)
{
    log_notice(log_cat, "Shutting down on request");
    g_main_loop_quit(static_cast<GMainLoop*>(data));
    return G_SOURCE_CONTINUE;
}

int run(int argc, char** argv)
{
    std::vector<std::string> args(argv, argv + argc);
    auto parsed = controld::parse_options(args);
    if (!parsed) {
        (void)std::fprintf(stderr, "outpost-controld: %s\n", parsed.error().message.c_str());
        return controld::kExitUsage;
    }
    const controld::Options& options = *parsed;
    if (options.show_help) {
        (void)std::fputs(controld::usage_text().c_str(), stdout);
        return 0;
    }
    if (options.show_version) {
        (void)std::fputs(controld::version_text().c_str(), stdout);
        return 0;
    }
    configure_logging(options);
    log_notice(log_cat, "Starting outpost-controld: CIB %s, node %s", options.cib_file.c_str(),
               log::quote(options.node_name).c_str());
    for (const auto& warning : options.warnings)
        log_warning(log_cat, "%s", warning.c_str());
    (void)std::signal(SIGPIPE, SIG_IGN);

    auto store = cluster::controller::CibStore::open(options.cib_file, options.schema_directory);
    if (!store) {
        log_error(log_cat, "Cannot use the CIB: %s", store.error().message.c_str());
        return controld::kExitConfig;
    }
    for (const auto& file : (*store)->removed_temporaries())
        log_notice(log_cat, "Removed %s, left by a save that did not finish", file.c_str());
    auto version = cluster::controller::read_version(cluster::controller::root_of((*store)->current()));
    log_notice(log_cat, "%s CIB %s, version %s", (*store)->created() ? "Created an empty" : "Loaded",
               options.cib_file.c_str(), version ? version->describe().c_str() : "?");

    GMainContext* context = g_main_context_default();
    // What a CIB request does, for the local IPC names and the guests' proxied tools alike.
    cluster::controller::CibService cib_service(**store, options.node_name);
    cluster::controller::IpcOptions ipc_options;
    if (options.ipc_buffer_size != 0) ipc_options.buffer_size = options.ipc_buffer_size;
    ipc_options.node_name = options.node_name;
    auto faces = cluster::controller::IpcFaces::create(context, cib_service, ipc_options);
    if (!faces) {
        log_error(log_cat, "Cannot serve the local IPC names: %s", faces.error().message.c_str());
        return controld::kExitFatal;
    }

    // The attribute manager (attrd_updater, crm_attribute -l reboot), for the local attrd
    // name and the guests' proxied tools alike.
    // The host's private attributes are kept beside the CIB file across restarts.
    cluster::control::AttributeManager attributes(context, cib_service, options.node_name,
                                                  options.cib_file + cluster::control::kPrivateSuffix);
    (*faces)->set_attributes(&attributes);

    // Before the loop that reports to them, so that they outlive it.
    metrics::Registry registry;
    controld::ControldMetrics controld_metrics(registry);
    // The control loop: after the IPC names, so that a second daemon exits before it acts.
    std::unique_ptr<cluster::control::HostExecutor> host;
    std::unique_ptr<cluster::control::ControlLoop> control;
    std::unique_ptr<cluster::controller::FencerFace> fencer;
    if (!options.cib_only) {
        auto settings = tls::TlsSettings::from_environment();
        if (!settings) {
            log_error(log_cat, "Cannot set up TLS: %s", settings.error().message.c_str());
            return controld::kExitUsage;
        }
        auto keys = std::make_shared<tls::AuthkeyStore>(tls::AuthkeySearch::from_environment());
        auto tls = tls::TlsContext::client(*settings, keys);
        if (!tls) {
            log_error(log_cat, "Cannot set up TLS: %s", tls.error().message.c_str());
            return controld::kExitUsage;
        }
        // Operations a killed predecessor left running end first: what they did is what
        // the first probes must find.
        const std::string ledger = options.cib_file + controld::kLedgerSuffix;
        controld::await_still_running(context, ledger);
        host = controld::make_host_executor(context, ledger);
        cluster::control::LoopConfig loop_config{options.node_name, std::move(*tls), {}};
        loop_config.announce = [&cib_service](const xmlDoc* before) {
            cib_service.announce("cib_replace", cluster::control::kLoopClient, before);
        };
        // Every remote and guest node connection registers as its IPC provider: the node's
        // tools and the agent's own CIB session are served from this CIB.
        loop_config.cib_service = &cib_service;
        loop_config.attributes = &attributes;
        // Their proxied crmd and stonith-ng sessions: the same faces as the local tools'.
        loop_config.proxied_faces = faces->get();
        if (options.metrics_address) loop_config.observer = &controld_metrics;
        auto created = cluster::control::ControlLoop::create(context, **store, *host, std::move(loop_config));
        if (!created) {
            log_error(log_cat, "Cannot start the control loop: %s", created.error().message.c_str());
            return controld::kExitFatal;
        }
        control = std::move(*created);
        // crm_resource --cleanup/--refresh/--fail, through the crmd and attrd faces.
        (*faces)->set_controller(control.get());
        // stonith_admin, crm_mon -m, pcs stonith: the fencer's face on the loop's fencing.
        fencer = std::make_unique<cluster::controller::FencerFace>(control->fencer(), options.node_name);
        (*faces)->set_fencer(fencer.get());
    }
#ifdef OUTPOST_WITH_WATCH
    // A guest's domain that stops behind the cluster's back, recorded as failed at once.
    std::unique_ptr<controld::DomainWatch> domain_watch;
    if (control && options.watch_domains) {
        auto* loop = control.get();
        auto started = controld::DomainWatch::start(
            context, **store, *loop, options.node_name,
            [loop](const std::string& node, const std::string& rsc) {
                return loop->operation_in_flight(node, rsc);
            },
            cluster::watch::kDefaultRefresh);
        if (!started) {
            log_error(log_cat, "Cannot watch libvirt domains: %s", started.error().message.c_str());
            return controld::kExitFatal;
        }
        domain_watch = std::move(*started);
    }
#else
    if (control && options.watch_domains)
        log_info(log_cat, "Built without libvirt: domain lifecycle events are not watched");
#endif
    std::unique_ptr<metrics::Endpoint> endpoint;
    if (options.metrics_address) {
        controld_metrics.watch(**store, control.get());
        auto made = metrics::Endpoint::create(context, *options.metrics_address,
                                              [&registry]() { return registry.render(); });
        if (!made) {
            log_error(log_cat, "Cannot serve metrics: %s", made.error().message.c_str());
            return controld::kExitFatal;
        }
        endpoint = std::move(*made);
        log_notice(log_cat, "Serving metrics at http://%s/metrics",
                   metrics::describe({options.metrics_address->host, endpoint->port()}).c_str());
    }

    GMainLoop* loop = g_main_loop_new(context, FALSE);
    guint term = g_unix_signal_add(SIGTERM, on_signal, loop);
    guint interrupt = g_unix_signal_add(SIGINT, on_signal, loop);
    log_notice(log_cat, "Serving cib_ro, cib_rw, cib_shm, pacemakerd, crmd, attrd%s",
               fencer ? " and stonith-ng" : "");
    g_main_loop_run(loop);
    g_source_remove(term);
    g_source_remove(interrupt);
    endpoint.reset();
    (*faces)->set_controller(nullptr);
#ifdef OUTPOST_WITH_WATCH
    domain_watch.reset();  // it reports into the loop
#endif
    (*faces)->set_attributes(nullptr);
    (*faces)->set_fencer(nullptr);
    fencer.reset();
    control.reset();
    host.reset();
    faces->reset();  // libqb removes its sockets and shared memory
    g_main_loop_unref(loop);
    log_notice(log_cat, "Exiting");
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        (void)std::fprintf(stderr, "outpost-controld: fatal error: %s\n", e.what());
        return outpost::controld::kExitFatal;
    } catch (...) {
        (void)std::fprintf(stderr, "outpost-controld: fatal error\n");
        return outpost::controld::kExitFatal;
    }
}
