// Shared pieces of the agent server unit tests: a GMainContext runner, a temporary OCF
// tree with a real shell agent, and a DispatchBench that wires a real Executor (running
// real processes), the real Notifier and a Dispatcher to sessions whose sent messages are
// decoded back for inspection.
#pragma once

#include <catch2/catch.hpp>

#include <glib.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "executor/executor.hpp"
#include "executor/process_spawner.hpp"
#include "io/source.hpp"
#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "server/notifier.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
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

class RecordingControl final : public agent::server::Control {
public:
    void shutdown_acknowledged() override { ++acks; }
    void shutdown_refused() override { ++nacks; }
    void fatal_exit(int exit_code, const std::string& reason) override
    {
        fatal_code = exit_code;
        fatal_reason = reason;
    }
    int acks = 0;
    int nacks = 0;
    std::optional<int> fatal_code;
    std::string fatal_reason;
};

class FakeProxy final : public agent::server::ProxyEndpoint {
public:
    bool deliver_response(std::string_view session, std::uint32_t ipc_msg_id,
                          const wire::Element& msg) override
    {
        if (session != known) return false;
        responses.push_back({ipc_msg_id, msg.name});
        return true;
    }
    bool deliver_event(std::string_view session, const wire::Element& msg) override
    {
        if (session != known) return false;
        events.push_back(msg.name);
        return true;
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

class DispatchBench {
public:
    explicit DispatchBench(agent::server::DispatcherConfig config = {})
        : context_(g_main_context_new()),
          spawner_(context_.get()),
          executor_(std::make_unique<agent::executor::Executor>(
              context_.get(), spawner_, executor_options(),
              agent::executor::Executor::Callbacks{[this](const agent::executor::OpResult& r) {
                  if (dispatcher_) dispatcher_->on_result(r);
              }})),
          dispatcher_(std::make_unique<agent::server::Dispatcher>(*executor_, notifier_, control_, config))
    {
    }
    DispatchBench(const DispatchBench&) = delete;
    DispatchBench& operator=(const DispatchBench&) = delete;
    ~DispatchBench()
    {
        // The executor may still report while it goes; the dispatcher must outlive it.
        executor_.reset();
        dispatcher_.reset();
    }

    [[nodiscard]] GMainContext* context() const { return context_.get(); }
    agent::executor::Executor& executor() { return *executor_; }
    agent::server::Dispatcher& dispatcher() { return *dispatcher_; }
    agent::server::Notifier& notifier() { return notifier_; }
    RecordingControl& control() { return control_; }
    const TempDir& dir() const { return dir_; }

    // A connected client; `name` empty = it never says who it is.
    agent::server::ClientSession& connect(const std::string& id)
    {
        auto session =
            std::make_unique<agent::server::ClientSession>(id, "test", [this, id](std::string_view xml) {
                inbox_[id].emplace_back(xml);
                return Status{};
            });
        auto& ref = *session;
        sessions_[id] = std::move(session);
        notifier_.add(ref);
        return ref;
    }
    void disconnect(const std::string& id)
    {
        notifier_.remove(id);
        sessions_.erase(id);
    }
    agent::server::ClientSession& session(const std::string& id) { return *sessions_.at(id); }

    // Everything sent to `id` so far, decoded; clears the inbox.
    std::vector<wire::Message> take(const std::string& id)
    {
        std::vector<wire::Message> out;
        for (const auto& xml : inbox_[id]) {
            auto decoded = wire::decode_message(xml);
            INFO(xml);
            REQUIRE(decoded.ok());
            out.push_back(std::move(decoded).value());
        }
        inbox_[id].clear();
        return out;
    }
    [[nodiscard]] std::size_t pending(const std::string& id) { return inbox_[id].size(); }

    void send(const std::string& id, const wire::Request& request)
    {
        dispatcher_->handle(session(id), request);
    }
    void send(const std::string& id, const wire::ProxyMessage& message)
    {
        dispatcher_->handle(session(id), message);
    }

    // Runs the loop until `id` has at least `count` unread messages.
    bool wait_for(const std::string& id, std::size_t count, std::chrono::milliseconds limit = 10s)
    {
        return run_until(
            context(), [&] { return inbox_[id].size() >= count; }, limit);
    }

    std::string agent_dir() const { return dir_.file("resource.d"); }

private:
    agent::executor::Executor::Options executor_options()
    {
        dir_.write("resource.d/test/Dummy", kTestAgent, 0755);
        agent::executor::Executor::Options options;
        options.paths.ocf_root = dir_.path().string();
        options.paths.ocf_ra_path = {dir_.file("resource.d")};
        options.paths.working_dir = dir_.path().string();
        options.paths.secrets_dir = dir_.file("secrets");
        return options;
    }

    TempDir dir_;
    ContextPtr context_;
    agent::executor::ProcessSpawner spawner_;
    agent::server::Notifier notifier_;
    RecordingControl control_;
    std::unique_ptr<agent::executor::Executor> executor_;
    std::unique_ptr<agent::server::Dispatcher> dispatcher_;
    std::map<std::string, std::unique_ptr<agent::server::ClientSession>> sessions_;
    std::map<std::string, std::vector<std::string>> inbox_;
};

// Request builders (the struct form decode_message produces).
inline wire::Request make_request(const std::string& op, std::uint64_t msg_id)
{
    wire::Request request;
    request.msg_id = msg_id;
    const wire::OpInfo* info = wire::find_op(op);
    request.op = info != nullptr ? info->op : wire::Op::unknown;
    request.op_name = op;
    return request;
}

inline wire::Request make_register(std::uint64_t msg_id, const std::string& name,
                                   std::optional<std::string> version = "1.1", bool provider = false)
{
    wire::Request request = make_request("register", msg_id);
    request.client_name = name;
    request.protocol_version = std::move(version);
    request.ipc_provider = provider;
    return request;
}

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
