// DispatchBench: the agent's request path as the Server wires it, for the fuzz targets
// fuzz-dispatch (TLS clients) and fuzz-local-dispatch (lrmd local IPC clients).
//
// A real Executor on a RecordingSpawner (nothing is ever started: every child is finished
// at once with an exit code taken from its id, so results and notifications flow), the
// real Dispatcher and Notifier, and the payload entry points the Server itself calls
// (Dispatcher::handle_remote_payload / handle_local_payload), so decoding and dispatch are
// exactly the production ones. Three sessions listen: the TLS client the input comes
// from (named only if the input registers), a named TLS observer, and a local executor
// client (reply and event sinks, as the IPC proxy gives it). A ProxyEndpoint that knows a
// few sessions stands in for the IPC proxy, so ipc_fwd response/event/destroy reach both
// the "delivered" and the "unknown session" branches; the proxy's own session table has
// its own target (fuzz-proxy-sessions).
//
// Safety without rewriting any request: the systemd class (and "service" resolving to it)
// would talk to the real systemd over the system bus, so the process points
// DBUS_SYSTEM_BUS_ADDRESS at a socket that does not exist before anything connects; every
// systemd action then reports "not installed" as on a host without systemd. Agent paths
// point into a private temporary tree, and nothing is ever executed anyway.
#pragma once

#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "executor/executor.hpp"
#include "executor/recording_spawner.hpp"
#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "server/notifier.hpp"
#include "server/proxy_endpoint.hpp"
#include "util/log.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::fuzz {

// Messages one input may carry (inputs are split at NUL bytes, as frame payloads end).
inline constexpr std::size_t kMaxMessagesPerInput = 32;
inline constexpr int kLoopIterationsPerMessage = 8;
// What a peer can make the sessions accumulate within one input stays small anyway; this
// bounds the recorded bytes so a pathological input cannot balloon memory unnoticed.
inline constexpr std::size_t kMaxRecordedBytes = std::size_t{8} * 1024 * 1024;
// Proxy sessions the stand-in endpoint knows at the start of each input (the first is the
// session of protocol-transcripts/transcript2.txt, so its seeds hit a live session).
inline constexpr const char* kKnownProxySessions[] = {"ae10c28f-4329-4f03-b502-13074ab0ca98",
                                                      "fuzz-session-2"};
inline constexpr const char* kObserverId = "observer";
inline constexpr const char* kLocalId = "local-client";

// Once per process: quiet logs, no system bus.
inline void prepare_process()
{
    static const bool done = [] {
        log::Config config;
        config.default_level = log::Level::error;
        log::configure(config);
        // A path that cannot exist: sd-bus fails at once with ENOENT (see the header).
        ::setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/outpost-fuzz/no-system-bus", 1);
        return true;
    }();
    (void)done;
}

// A private agent tree, made once per process and removed at exit.
inline const std::filesystem::path& agent_root()
{
    static const std::filesystem::path root = [] {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "outpost-fuzz-dispatch-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) std::abort();
        std::filesystem::path path(pattern);
        std::filesystem::create_directories(path / "resource.d" / "pacemaker");
        std::filesystem::create_directories(path / "init.d");
        for (const auto& file : {path / "resource.d" / "pacemaker" / "Dummy", path / "init.d" / "dummy"}) {
            std::ofstream(file) << "#!/bin/sh\nexit 0\n";
            ::chmod(file.c_str(), 0755);
        }
        (void)std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(agent_root(), ignored);
        });
        return path;
    }();
    return root;
}

inline agent::executor::Executor::Options executor_options()
{
    const auto& root = agent_root();
    agent::executor::Executor::Options options;
    options.paths.ocf_root = root.string();
    options.paths.ocf_ra_path = {(root / "resource.d").string()};
    options.paths.lsb_dir = (root / "init.d").string();
    options.paths.nagios_dir = (root / "nagios").string();
    options.paths.secrets_dir = (root / "secrets").string();
    options.paths.working_dir = root.string();
    options.paths.systemd_run_dir = (root / "systemd").string();
    return options;
}

class NullControl final : public agent::server::Control {
public:
    void shutdown_acknowledged() override {}
    void shutdown_refused() override {}
    void fatal_exit(int, const std::string&) override {}
};

// Stands in for the IPC proxy: a set of live session ids; what it is handed must be
// something the proxy could serialize for a tool.
class KnownSessions final : public agent::server::ProxyEndpoint {
public:
    KnownSessions() : live_(std::begin(kKnownProxySessions), std::end(kKnownProxySessions)) {}

    bool deliver_response(std::string_view session, std::uint32_t, const wire::Element& msg) override
    {
        return deliver(session, msg);
    }
    bool deliver_event(std::string_view session, const wire::Element& msg) override
    {
        return deliver(session, msg);
    }
    void destroy_session(std::string_view session) override { live_.erase(std::string(session)); }
    [[nodiscard]] bool has_session(std::string_view session) const override
    {
        return live_.count(std::string(session)) != 0;
    }
    void provider_gone(std::string_view) override { live_.clear(); }
    [[nodiscard]] std::size_t local_client_count() const override { return live_.size(); }

private:
    bool deliver(std::string_view session, const wire::Element& msg)
    {
        if (live_.count(std::string(session)) == 0) return false;
        if (!wire::parse_xml(wire::serialize(msg)).ok()) std::abort();  // the tool could not read it
        return true;
    }
    std::set<std::string> live_;
};

class DispatchBench {
public:
    DispatchBench()
    {
        executor_ = std::make_unique<agent::executor::Executor>(
            context_, spawner_, executor_options(),
            agent::executor::Executor::Callbacks{[this](const agent::executor::OpResult& r) {
                if (dispatcher_) dispatcher_->on_result(r);
            }});
        dispatcher_ = std::make_unique<agent::server::Dispatcher>(*executor_, notifier_, control_);
        dispatcher_->attach_proxy(&proxy_);
        observer_.note_name("observer");
        notifier_.add(client_);
        notifier_.add(observer_);
        notifier_.add(local_);
    }
    DispatchBench(const DispatchBench&) = delete;
    DispatchBench& operator=(const DispatchBench&) = delete;
    ~DispatchBench()
    {
        // As the Server does: late results must not reach a dispatcher that is gone.
        auto dispatcher = std::move(dispatcher_);
        executor_.reset();
        dispatcher.reset();
        g_main_context_unref(context_);
    }

    // One payload from the TLS client, as Server::on_message serves it.
    void remote(std::string_view payload)
    {
        (void)dispatcher_->handle_remote_payload(client_, payload);  // an Error: the server drops the client
        settle();
    }

    // One request of the local executor client, as Server::local_executor_request serves it.
    void local(std::string_view payload)
    {
        (void)dispatcher_->handle_local_payload(local_, ++ipc_msg_id_, payload);  // an Error: ignored
        settle();
    }

    // Splits `input` at NUL bytes and feeds each part to `feed`, at most kMaxMessagesPerInput.
    template <typename Feed>
    static void for_each_payload(std::string_view input, Feed&& feed)
    {
        std::size_t count = 0;
        while (!input.empty() && count++ < kMaxMessagesPerInput) {
            std::size_t end = input.find('\0');
            feed(input.substr(0, end));
            if (end == std::string_view::npos) break;
            input.remove_prefix(end + 1);
        }
    }

private:
    Status record_tls(std::string_view xml)
    {
        count(xml);
        // Whatever the server sends a TLS client must be something a client can decode.
        if (!wire::decode_message(xml).ok()) std::abort();
        return {};
    }
    Status record_local(std::string_view xml)
    {
        count(xml);
        // Local messages carry no envelope; a local client parses them as plain XML.
        if (!wire::parse_xml(xml).ok()) std::abort();
        return {};
    }
    void count(std::string_view xml)
    {
        recorded_ += xml.size();
        if (recorded_ > kMaxRecordedBytes) std::abort();  // unbounded output: a bug
    }

    void settle()
    {
        for (int i = 0; i < kLoopIterationsPerMessage; ++i) {
            for (auto id : spawner_.pending())
                spawner_.exit(id, static_cast<int>(id % 8), "out", "ocf-exit-reason:x");
            if (!g_main_context_iteration(context_, FALSE) && spawner_.pending().empty()) break;
        }
    }

    GMainContext* context_ = g_main_context_new();
    agent::executor::RecordingSpawner spawner_{context_};
    agent::server::Notifier notifier_;
    NullControl control_;
    KnownSessions proxy_;
    std::unique_ptr<agent::executor::Executor> executor_;
    std::unique_ptr<agent::server::Dispatcher> dispatcher_;
    std::size_t recorded_ = 0;
    std::uint32_t ipc_msg_id_ = 0;
    agent::server::ClientSession client_{"fuzz-client", "fuzz",
                                         [this](std::string_view xml) { return record_tls(xml); }};
    agent::server::ClientSession observer_{kObserverId, "fuzz",
                                           [this](std::string_view xml) { return record_tls(xml); }};
    agent::server::ClientSession local_{kLocalId, "fuzz",
                                        [this](std::string_view xml) { return record_local(xml); },
                                        [this](std::string_view xml) { return record_local(xml); }};
};

}  // namespace outpost::fuzz
