// ExecutorSession: a registered executor client of a GuestDaemon for tests that run
// resource operations one at a time: register, add an ocf resource, exec a one-shot action
// and wait for its result. Header only: it uses Catch's REQUIRE, so only Catch test
// programs include it.
#pragma once

#include <catch.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "harness/guest_daemon.hpp"
#include "support/main_loop.hpp"
#include "support/psk.hpp"
#include "support/raw_client.hpp"
#include "wire/messages.hpp"

namespace outpost::test {

struct ExecutorSession {
    ContextPtr context{g_main_context_new()};
    std::unique_ptr<RawClient> client;

    ExecutorSession(GuestDaemon& daemon, const std::string& client_name)
        : client(raw_client(context.get(), daemon))
    {
        say_hello(client_name);
    }

    // A daemon elsewhere (in a VM or a container), reached over TLS with its authkey's bytes.
    ExecutorSession(const std::string& address, std::uint16_t port, const std::string& key,
                    const std::string& client_name)
        : client(RawClient::open(context.get(), address, port, psk_client(key)))
    {
        say_hello(client_name);
    }

    void say_hello(const std::string& client_name)
    {
        auto hello = make_request("register");
        hello.client_name = client_name;
        hello.protocol_version = "1.1";
        REQUIRE(client->reply(client->send(hello)).rc == 0);
    }

    void add(const std::string& rsc, const std::string& provider, const std::string& type)
    {
        auto reg = make_request("lrmd_rsc_register");
        reg.callopts = 3;
        reg.rsc.emplace();
        reg.rsc->id = rsc;
        reg.rsc->rsc_class = "ocf";
        reg.rsc->provider = provider;
        reg.rsc->type = type;
        REQUIRE(client->reply(client->send(reg)).rc == 0);
        (void)client->expect<wire::GenericNotify>();
    }

    // A one-shot action with a 20 s timeout; its result (logged with the test's output).
    wire::ExecNotify exec(const std::string& rsc, const std::string& action, const wire::ParamMap& params)
    {
        auto r = make_request("lrmd_rsc_exec");
        r.callopts = 4;
        r.timeout_ms = 20000;
        r.rsc.emplace();
        r.rsc->id = rsc;
        r.rsc->action = action;
        r.rsc->interval_ms = 0;
        r.rsc->timeout_ms = 20000;
        r.rsc->start_delay_ms = 0;
        r.rsc->params = params;
        auto reply = client->reply(client->send(r));
        REQUIRE(reply.rc > 0);
        auto done = client->expect<wire::ExecNotify>(std::chrono::seconds(30));
        REQUIRE(done.call_id == reply.rc);
        UNSCOPED_INFO(rsc << " " << action << ": rc " << done.exec_rc << ", reason "
                          << done.exit_reason.value_or("(none)") << ", output "
                          << done.output.value_or("(none)"));
        return done;
    }
};

}  // namespace outpost::test
