// Smoke test of the outpost-agent binary: started in its own network namespace by the
// harness, driven by our own client (io::Connection + wire messages) through a normal
// session with the real ocf:pacemaker:Dummy agent, then stopped with SIGTERM. The full
// differential comparison with pacemaker-remoted lives in the conformance suite.
#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <optional>
#include <string>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDummyAgent = "/usr/lib/ocf/resource.d/pacemaker/Dummy";

wire::Request request(const std::string& op)
{
    return make_request(op);
}

wire::Request exec(const std::string& rsc, const std::string& action, const std::string& state)
{
    wire::Request r = request("lrmd_rsc_exec");
    r.callopts = 4;
    r.timeout_ms = 20000;
    r.rsc.emplace();
    r.rsc->id = rsc;
    r.rsc->action = action;
    r.rsc->userdata = "smoke:" + action;
    r.rsc->interval_ms = 0;
    r.rsc->timeout_ms = 20000;
    r.rsc->start_delay_ms = 0;
    r.rsc->params.insert("state", state);
    r.rsc->params.insert("CRM_meta_timeout", "20000");
    r.rsc->params.insert("crm_feature_set", "3.16.2");
    return r;
}

}  // namespace

TEST_CASE("outpost-agent serves a normal session and exits on SIGTERM")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::access(kDummyAgent, X_OK) != 0) OUTPOST_SKIP(std::string(kDummyAgent) + " is not installed");

    GuestDaemonOptions options;
    options.binary = *agent;
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    ContextPtr context(g_main_context_new());

    {
        auto client = raw_client(context.get(), **daemon);

        auto hello = request("register");
        hello.client_name = "smoke-client";
        hello.protocol_version = "1.1";
        auto registered = client->reply(client->send(hello));
        CHECK(registered.rc == 0);
        CHECK(registered.origin == "process_lrmd_signon");
        CHECK(registered.protocol_version == std::optional<std::string>("1.1"));
        REQUIRE(registered.client_id.has_value());
        CHECK(registered.client_id->size() == 36);
        int last_call = registered.call_id;

        auto reg = request("lrmd_rsc_register");
        reg.callopts = 3;
        reg.rsc.emplace();
        reg.rsc->id = "dummy1";
        reg.rsc->rsc_class = "ocf";
        reg.rsc->provider = "pacemaker";
        reg.rsc->type = "Dummy";
        auto reg_reply = client->reply(client->send(reg));
        CHECK(reg_reply.rc == 0);
        CHECK(reg_reply.call_id == last_call + 1);
        auto reg_notify = client->expect<wire::GenericNotify>();
        CHECK(reg_notify.op == "lrmd_rsc_register");
        CHECK(reg_notify.rsc_id == std::optional<std::string>("dummy1"));
        CHECK(reg_notify.call_id == reg_reply.call_id);

        std::string state = ((*daemon)->dir() / "dummy1.state").string();
        struct Step {
            const char* action;
            int expected_rc;
        };
        for (Step step : {Step{"monitor", 7}, Step{"start", 0}, Step{"monitor", 0}, Step{"stop", 0}}) {
            INFO("action " << step.action);
            auto r = exec("dummy1", step.action, state);
            auto reply = client->reply(client->send(r));
            CHECK(reply.rc > 0);
            CHECK(reply.rc == reply.call_id);
            auto done = client->expect<wire::ExecNotify>();
            CHECK(done.call_id == reply.call_id);
            CHECK(done.exec_rc == step.expected_rc);
            CHECK(done.op_status == wire::ExecStatus::done);
            CHECK(done.action == step.action);
            CHECK(done.userdata == *r.rsc->userdata);
            CHECK(done.params == r.rsc->params);
        }

        auto poke_reply = client->reply(client->send(request("lrmd_rsc_poke")));
        CHECK(poke_reply.rc == 0);
        auto poke = client->expect<wire::GenericNotify>();
        CHECK(poke.op == "lrmd_rsc_poke");
        CHECK(poke.call_id == poke_reply.call_id);

        // lrmd_check gets no reply; the next request's reply comes first.
        client->send(request("lrmd_check"));
        auto unknown = request("lrmd_rsc_metadata");
        auto unsupported = client->reply(client->send(unknown));
        CHECK(unsupported.rc == -95);

        // A second client's handshake is announced to the first (named) one.
        auto second = raw_client(context.get(), **daemon);
        auto announced = client->expect<wire::NewClientNotify>();
        (void)announced;
        CHECK(second->quiet_for(200ms));
        second->close();
        client->close();
    }

    // No provider connected: SIGTERM means a clean, immediate exit.
    auto begin = std::chrono::steady_clock::now();
    auto stopped = (*daemon)->stop(5s);
    INFO((stopped.ok() ? std::string() : stopped.error().describe()));
    CHECK(stopped.ok());
    CHECK(std::chrono::steady_clock::now() - begin < 3s);
}

TEST_CASE("outpost-agent asks its IPC provider before exiting on SIGTERM")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");

    GuestDaemonOptions options;
    options.binary = *agent;
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);
    ContextPtr context(g_main_context_new());

    auto provider = raw_client(context.get(), **daemon);
    auto hello = request("register");
    hello.client_name = "smoke-provider";
    hello.protocol_version = "1.1";
    hello.ipc_provider = true;
    CHECK(provider->reply(provider->send(hello)).rc == 0);

    require_ok((*daemon)->process().signal(SIGTERM));
    auto shutdown = provider->expect<wire::ProxyMessage>();
    CHECK(shutdown.op == "shutdown_req");
    CHECK(shutdown.session == std::optional<std::string>("0"));

    wire::ProxyMessage ack;
    ack.op = std::string(wire::ipc_op::shutdown_ack);
    provider->send(ack);
    CHECK(provider->reply(2).rc == 0);
    // A second SIGTERM only logs; the daemon waits for the cluster to disconnect.
    require_ok((*daemon)->process().signal(SIGTERM));
    CHECK(provider->quiet_for(500ms));
    CHECK((*daemon)->process().is_running());

    provider->close();
    auto status = (*daemon)->process().wait(5s);
    require_ok(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("A second outpost-agent in the same namespace exits 100 with a clear error")
{
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");

    GuestDaemonOptions options;
    options.binary = *agent;
    auto daemon = GuestDaemon::start(options);
    require_ok(daemon);

    // Another port, so only the local IPC names (cib_ro, ...) collide, as they would with
    // a cluster stack running in the same namespace.
    auto second = run_command({*agent, "--port", "3199"}, &(*daemon)->netns(), std::chrono::seconds(20),
                              {{"PCMK_authkey_location", (*daemon)->authkey().path().string()}});
    require_ok(second);
    INFO(second->output);
    CHECK(WIFEXITED(second->wait_status));
    CHECK(WEXITSTATUS(second->wait_status) == 100);
    CHECK(second->output.find("Address already in use") != std::string::npos);
    // The first daemon is unharmed.
    CHECK((*daemon)->process().is_running());
}
