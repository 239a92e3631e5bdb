// Shared pieces of the agent server unit tests: a real shell agent for the shared
// DispatchBench (tests/support), a stand-in for the IPC proxy, and request builders.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proxy/endpoint.hpp"
#include "server/dispatcher.hpp"
#include "support/dispatch_bench.hpp"
#include "support/main_loop.hpp"
#include "support/raw_client.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

using namespace std::chrono_literals;

// A minimal OCF agent: state kept in the file named by the `state` parameter.
inline constexpr const char* kTestAgent = R"(#!/bin/sh
case "$1" in
start) : > "$OCF_RESKEY_state"; exit 0 ;;
stop) rm -f "$OCF_RESKEY_state"; exit 0 ;;
monitor) [ -f "$OCF_RESKEY_state" ] && exit 0; exit 7 ;;
fail) echo "ocf-exit-reason:it broke" >&2; exit 1 ;;
slow) sleep 2; exit 0 ;;
meta-data) echo '<resource-agent name="Dummy"/>'; exit 0 ;;
*) exit 3 ;;
esac
)";

class FakeProxy final : public agent::proxy::ProxyEndpoint {
public:
    bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                          std::string_view msg_xml) override
    {
        if (session != known) return false;
        responses.push_back({ipc_msg_id, root_name(msg_xml)});
        return true;
    }
    bool deliver_event(std::string_view session, std::string_view msg_xml) override
    {
        if (session != known) return false;
        events.push_back(root_name(msg_xml));
        return true;
    }
    static std::string root_name(std::string_view msg_xml)
    {
        auto msg = wire::parse_xml(msg_xml);
        return msg ? msg->name : "(not XML: " + std::string(msg_xml) + ")";
    }
    void destroy_session(std::string_view session) override { destroyed.emplace_back(session); }
    [[nodiscard]] bool has_session(std::string_view session) const override { return session == known; }
    void provider_gone(std::string_view id) override { gone.emplace_back(id); }
    [[nodiscard]] std::size_t local_client_count() const override { return local_clients; }

    std::string known = "known-session";
    std::vector<std::pair<std::uint32_t, std::string>> responses;
    std::vector<std::string> events;
    std::vector<std::string> destroyed;
    std::vector<std::string> gone;
    std::size_t local_clients = 0;
};

// The shared DispatchBench (support/dispatch_bench.hpp) running the test agent above as
// ocf:test:Dummy with real processes.
inline DispatchBenchSetup agent_setup(agent::server::DispatcherConfig config = {})
{
    DispatchBenchSetup setup;
    setup.dispatcher = std::move(config);
    setup.scripts = {{"resource.d/test/Dummy", kTestAgent}};
    return setup;
}

// Request builders beyond support/raw_client.hpp's make_request and make_register (the
// struct form decode_message produces).
inline wire::Request make_rsc_request(const std::string& op, std::uint64_t msg_id,
                                      std::optional<std::string> rsc_id)
{
    wire::Request request = make_request(op, msg_id);
    request.rsc.emplace();
    request.rsc->id = std::move(rsc_id);
    return request;
}

inline wire::Request make_rsc_register(std::uint64_t msg_id, const std::string& rsc_id,
                                       const std::string& type = "Dummy")
{
    wire::Request request = make_rsc_request("lrmd_rsc_register", msg_id, rsc_id);
    request.callopts = 3;
    request.rsc->rsc_class = "ocf";
    request.rsc->provider = "test";
    request.rsc->type = type;
    return request;
}

inline wire::Request make_exec(std::uint64_t msg_id, const std::string& rsc_id, const std::string& action,
                               const std::string& state_file, unsigned callopts = 4,
                               std::uint32_t interval_ms = 0)
{
    wire::Request request = make_rsc_request("lrmd_rsc_exec", msg_id, rsc_id);
    request.callopts = callopts;
    request.rsc->action = action;
    request.rsc->userdata = "7:3:0:tr&an<si>\"tion\"";
    request.rsc->interval_ms = interval_ms;
    request.rsc->timeout_ms = 20000;
    request.rsc->start_delay_ms = 0;
    request.rsc->params.insert("state", state_file);
    request.rsc->params.insert("CRM_meta_timeout", "20000");
    request.rsc->params.insert("crm_feature_set", "3.16.2");
    request.rsc->params.insert("1numeric", "first");
    return request;
}

template <typename T>
const T& as(const wire::Message& message)
{
    REQUIRE(std::holds_alternative<T>(message));
    return std::get<T>(message);
}

}  // namespace outpost::test
