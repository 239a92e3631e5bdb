// FuzzBench: the agent's request path as the Server wires it (tests/support's
// DispatchBench), for the fuzz targets fuzz-dispatch (TLS clients) and fuzz-local-dispatch
// (lrmd local IPC clients).
//
// Children are recorded, never started: every child is finished at once with an exit code
// taken from its id, so results and notifications flow. Three sessions listen: the TLS
// client the input comes from (named only if the input registers), a named TLS observer,
// and a local executor client (reply and event sinks, as the IPC proxy gives it). A ProxyEndpoint that knows
// a few sessions stands in for the IPC proxy, so ipc_fwd response/event/destroy reach both the "delivered"
// and the "unknown session" branches; the proxy's own session table has its own target (fuzz-proxy-sessions).
//
// Safety without rewriting any request: the systemd class (and "service" resolving to it)
// would talk to the real systemd over the system bus, so the process points
// DBUS_SYSTEM_BUS_ADDRESS at a socket that does not exist before anything connects; every
// systemd action then reports "not installed" as on a host without systemd. Agent paths
// point into a private temporary tree, and nothing is ever executed anyway.
#pragma once

#include <glib.h>

#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "proxy/endpoint.hpp"
#include "support/dispatch_bench.hpp"
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
// session of docs/transcripts/transcript2.txt, so its seeds hit a live session).
inline constexpr const char* kKnownProxySessions[] = {"ae10c28f-4329-4f03-b502-13074ab0ca98",
                                                      "fuzz-session-2"};
inline constexpr const char* kClientId = "fuzz-client";
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

// Stands in for the IPC proxy: a set of live session ids; what it is handed must be XML a
// tool can read.
class KnownSessions final : public agent::proxy::ProxyEndpoint {
public:
    KnownSessions() : live_(std::begin(kKnownProxySessions), std::end(kKnownProxySessions)) {}

    bool deliver_response(std::string_view session, std::uint32_t, std::string_view msg_xml) override
    {
        return deliver(session, msg_xml);
    }
    bool deliver_event(std::string_view session, std::string_view msg_xml) override
    {
        return deliver(session, msg_xml);
    }
    void destroy_session(std::string_view session) override { live_.erase(std::string(session)); }
    [[nodiscard]] bool has_session(std::string_view session) const override
    {
        return live_.count(std::string(session)) != 0;
    }
    void provider_gone(std::string_view) override { live_.clear(); }
    [[nodiscard]] std::size_t local_client_count() const override { return live_.size(); }

private:
    bool deliver(std::string_view session, std::string_view msg_xml)
    {
        if (live_.count(std::string(session)) == 0) return false;
        if (!wire::parse_xml(msg_xml).ok()) std::abort();  // the tool could not read it
        return true;
    }
    std::set<std::string> live_;
};

// The shared DispatchBench (tests/support) with recorded children, the three sessions
// above, and every message checked as it is sent.
class FuzzBench {
public:
    FuzzBench() : bench_(setup())
    {
        bench_.dispatcher().attach_proxy(&proxy_);
        bench_.connect(kClientId);
        bench_.connect(kObserverId).note_name(kObserverId);
        bench_.connect_local(kLocalId);
    }

    // One payload from the TLS client, as Server::on_message serves it.
    void remote(std::string_view payload)
    {
        (void)bench_.remote(kClientId, payload);  // an Error: the server drops the client
        settle();
    }

    // One request of the local executor client, as Server::local_executor_request serves it.
    void local(std::string_view payload)
    {
        (void)bench_.local(kLocalId, ++ipc_msg_id_, payload);  // an Error: ignored
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
    test::DispatchBenchSetup setup()
    {
        test::DispatchBenchSetup setup;
        setup.children = test::DispatchBenchSetup::Children::recorded;
        setup.scripts = {{"resource.d/pacemaker/Dummy", "#!/bin/sh\nexit 0\n"},
                         {"init.d/dummy", "#!/bin/sh\nexit 0\n"}};
        setup.record = false;
        setup.on_sent = [this](std::string_view, bool local, bool, std::string_view xml) {
            check(local, xml);
        };
        return setup;
    }

    void check(bool local, std::string_view xml)
    {
        recorded_ += xml.size();
        if (recorded_ > kMaxRecordedBytes) std::abort();  // unbounded output: a bug
        // Whatever the server sends a TLS client must be something a client can decode;
        // local messages carry no envelope, and a local client parses them as plain XML.
        const bool readable = local ? wire::parse_xml(xml).ok() : wire::decode_message(xml).ok();
        if (!readable) std::abort();
    }

    void settle()
    {
        test::RecordingSpawner& children = bench_.recorder();
        for (int i = 0; i < kLoopIterationsPerMessage; ++i) {
            for (auto id : children.pending())
                children.exit(id, static_cast<int>(id % 8), "out", "ocf-exit-reason:x");
            if (!g_main_context_iteration(bench_.context(), FALSE) && children.pending().empty()) break;
        }
    }

    std::size_t recorded_ = 0;
    std::uint32_t ipc_msg_id_ = 0;
    KnownSessions proxy_;
    test::DispatchBench bench_;
};

}  // namespace outpost::fuzz
