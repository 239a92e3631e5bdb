// DispatchBench: the agent's request path as the Server wires it, without sockets: a real
// Executor on the children the test chooses (real processes, or a RecordingSpawner that
// never forks), the real Dispatcher and Notifier, and sessions whose sent messages are
// recorded. The agent-server unit tests and the dispatcher fuzz targets both use it, through
// the entry points the Server itself calls (Dispatcher::handle_remote_payload and
// handle_local_payload), so what is tested and fuzzed is what is served.
#pragma once

#include <catch.hpp>

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "executor/executor.hpp"
#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "server/notifier.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "support/recording_spawner.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

// What the dispatcher asked of the daemon (shutdown ack/nack, fatal exits).
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

struct DispatchBenchSetup {
    enum class Children {
        real,      // agents run (ProcessSpawner)
        recorded,  // nothing is started (RecordingSpawner): the test finishes each child
    };
    Children children = Children::real;
    agent::server::DispatcherConfig dispatcher;
    // Files written into the bench's directory (path relative to it, content), mode 0755;
    // the executor's agent paths (OCF root, init scripts, nagios plugins, secrets, working
    // and systemd run directories) all point into that directory.
    std::vector<std::pair<std::string, std::string>> scripts;
    // Sees every message a session is sent before it is recorded (`local`: a local executor
    // session; `reply`: the answer to its request); fuzz targets check each one here.
    std::function<void(std::string_view session_id, bool local, bool reply, std::string_view xml)> on_sent;
    // Keep what the sessions are sent, for take() (fuzz targets only check).
    bool record = true;
};

class DispatchBench {
public:
    // One message a session was sent.
    struct Sent {
        std::string xml;
        bool reply = false;  // the answer to a request (an IPC response for a local session)
    };

    explicit DispatchBench(DispatchBenchSetup setup = {});
    DispatchBench(const DispatchBench&) = delete;
    DispatchBench& operator=(const DispatchBench&) = delete;
    ~DispatchBench();

    [[nodiscard]] GMainContext* context() const { return context_.get(); }
    agent::executor::Executor& executor() { return *executor_; }
    agent::server::Dispatcher& dispatcher() { return *dispatcher_; }
    agent::server::Notifier& notifier() { return notifier_; }
    RecordingControl& control() { return control_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // The children's recorder (Children::recorded only).
    RecordingSpawner& recorder();

    // A connected TLS client with this id (unnamed until it registers).
    agent::server::ClientSession& connect(const std::string& id);
    // A client of the local executor API (the lrmd IPC service).
    agent::server::ClientSession& connect_local(const std::string& id);
    void disconnect(const std::string& id);
    agent::server::ClientSession& session(const std::string& id) { return *sessions_.at(id); }

    // Typed requests, as the Server hands them on once decoded.
    void send(const std::string& id, const wire::Request& request);
    void send(const std::string& id, const wire::ProxyMessage& message);
    // Payloads exactly as the Server serves them.
    Status remote(const std::string& id, std::string_view xml);
    Status local(const std::string& id, std::uint32_t ipc_msg_id, std::string_view xml);

    // What `id` was sent so far, oldest first; clears it.
    std::vector<Sent> take_sent(const std::string& id);
    [[nodiscard]] std::size_t pending(const std::string& id) { return inbox_[id].size(); }
    // Runs the loop until `id` has at least `count` messages waiting.
    bool wait_for(const std::string& id, std::size_t count, std::chrono::milliseconds limit = kDefaultWait)
    {
        return run_until(
            context(), [&] { return inbox_[id].size() >= count; }, limit);
    }

    // What `id` was sent so far, decoded (the test fails on anything undecodable); clears
    // it. A local session's messages carry no envelope: it is checked absent and supplied.
    std::vector<wire::Message> take(const std::string& id)
    {
        std::vector<wire::Message> out;
        const bool is_local = session(id).local();
        for (auto& sent : take_sent(id)) {
            INFO(sent.xml);
            auto decoded = is_local ? decode_local(sent.xml) : wire::decode_message(sent.xml);
            REQUIRE(decoded.ok());
            out.push_back(std::move(decoded).value());
        }
        return out;
    }

    // A message as a local session gets it (no envelope), read back as a wire::Message.
    static Result<wire::Message> decode_local(std::string_view xml);

private:
    Status record(const std::string& id, bool local, bool reply, std::string_view xml);

    DispatchBenchSetup setup_;
    TempDir dir_{"outpost-dispatch-bench"};
    ContextPtr context_ = new_context();
    std::unique_ptr<agent::executor::Spawner> spawner_;
    agent::server::Notifier notifier_;
    RecordingControl control_;
    std::unique_ptr<agent::executor::Executor> executor_;
    std::unique_ptr<agent::server::Dispatcher> dispatcher_;
    std::map<std::string, std::unique_ptr<agent::server::ClientSession>> sessions_;
    std::map<std::string, std::vector<Sent>> inbox_;
};

}  // namespace outpost::test
