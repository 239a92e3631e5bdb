// A test IPC provider (docs/protocol.md 4.5): serves one fixed CIB to cib_ro/cib_rw sessions and
// records attrd updates. Shared by the unit tests and the integration test against the
// real pacemaker-remoted, where cibadmin inside the guest namespace talks to it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "connection/ipc_provider.hpp"
#include "wire/xml.hpp"

namespace outpost::test {

inline constexpr const char* kTestCib =
    "<cib epoch=\"7\" num_updates=\"0\" admin_epoch=\"0\" validate-with=\"pacemaker-3.8\" "
    "crm_feature_set=\"3.16.2\"><configuration><crm_config/><nodes/><resources/><constraints/>"
    "</configuration><status/></cib>";

class TestProvider : public cluster::connection::IpcProvider {
public:
    struct AttrdUpdate {
        std::string name;
        std::string value;
        std::string node;
    };

    // How a cib_query without the client_response flag is answered.
    bool answer_async_query_as_event = false;

    std::vector<cluster::connection::ProxySession> opened;
    std::vector<cluster::connection::ProxyRequest> requests;
    std::vector<std::string> closed;
    std::vector<AttrdUpdate> attrd_updates;
    int shutdown_requests = 0;
    cluster::connection::ShutdownAnswer shutdown_answer = cluster::connection::ShutdownAnswer::ack;

    bool session_opened(const cluster::connection::ProxySession& session,
                        cluster::connection::IpcChannel&) override
    {
        opened.push_back(session);
        return true;
    }

    void request(const cluster::connection::ProxyRequest& request,
                 cluster::connection::IpcChannel& channel) override
    {
        requests.push_back(request);
        const wire::Element& msg = request.msg;
        const std::string* op = msg.attr("cib_op");
        if (msg.name == "cib_command" && op && *op == "register") {
            // The tool's register needs a response echoing a client id it will use.
            wire::Element reply{
                "cib_command", {{"t", "cib"}, {"cib_op", "register"}, {"cib_clientid", client_id}}, {}};
            (void)channel.respond(request.session.id, request.msg_id, std::move(reply));
            return;
        }
        if (msg.name == "cib_command" && op && *op == "cib_query") {
            auto cib = wire::parse_xml(kTestCib);
            wire::Element reply{"cib-reply",
                                {{"t", "cib"},
                                 {"cib_op", "cib_query"},
                                 {"cib_callid", value_of(msg, "cib_callid")},
                                 {"cib_clientid", client_id},
                                 {"cib_callopt", value_of(msg, "cib_callopt")},
                                 {"cib_rc", "0"}},
                                {}};
            reply.add_child("cib_calldata")
                .children.push_back(cib.ok() ? *cib : wire::Element{"cib", {}, {}});
            if (!request.wants_response() && answer_async_query_as_event) {
                (void)channel.event(request.session.id, std::move(reply));
            } else {
                (void)channel.respond(request.session.id, request.msg_id, std::move(reply));
            }
            return;
        }
        if (msg.name == "create_attrd_op" || request.session.server == "attrd") {
            AttrdUpdate update;
            update.name = value_of(msg, "attr_name");
            update.value = value_of(msg, "attr_value");
            update.node = value_of(msg, "attr_host");
            attrd_updates.push_back(update);
            if (request.wants_response()) {
                wire::Element ack{
                    "ack", {{"function", "attrd_ipc_dispatch"}, {"line", "1"}, {"status", "0"}}, {}};
                (void)channel.respond(request.session.id, request.msg_id, std::move(ack));
            }
            return;
        }
        // Anything else: a nack so the tool does not hang.
        if (request.wants_response()) {
            wire::Element nack{"nack", {{"function", "test_provider"}, {"line", "1"}, {"rc", "-95"}}, {}};
            (void)channel.respond(request.session.id, request.msg_id, std::move(nack));
        }
    }

    void session_closed(const cluster::connection::ProxySession& session) override
    {
        closed.push_back(session.id);
    }

    cluster::connection::ShutdownAnswer shutdown_requested() override
    {
        ++shutdown_requests;
        return shutdown_answer;
    }

    std::string client_id = "outpost-test-cib-client";

private:
    static std::string value_of(const wire::Element& element, const char* name)
    {
        const std::string* value = element.attr(name);
        return value ? *value : std::string();
    }
};

}  // namespace outpost::test
