// Message translation between local IPC and the proxy sub-protocol (docs/protocol.md 4.2, 4.3),
// checked byte for byte against the real 2.1.5 session in docs/transcripts/transcript2.txt.
#include <catch2/catch.hpp>

#include <string>

#include "ipc/header.hpp"
#include "proxy/channels.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

using namespace outpost;
using namespace outpost::agent::proxy;

TEST_CASE("The local IPC services of docs/protocol.md 4.2", "[proxy][channels]")
{
    REQUIRE(channels().size() == 8);
    struct Expect {
        const char* name;
        qb_ipc_type type;
        const char* proxied;
        ChannelPolicy policy;
    };
    const Expect expected[] = {
        {"cib_ro", QB_IPC_NATIVE, "cib_ro", ChannelPolicy::proxy},
        {"cib_rw", QB_IPC_NATIVE, "cib_rw", ChannelPolicy::proxy},
        {"cib_shm", QB_IPC_SHM, "cib_rw", ChannelPolicy::proxy},
        {"attrd", QB_IPC_NATIVE, "attrd", ChannelPolicy::proxy},
        {"stonith-ng", QB_IPC_NATIVE, "stonith-ng", ChannelPolicy::proxy},
        {"crmd", QB_IPC_NATIVE, "crmd", ChannelPolicy::proxy},
        {"lrmd", QB_IPC_SHM, "lrmd", ChannelPolicy::local_executor},
        {"pacemakerd", QB_IPC_NATIVE, "pacemakerd", ChannelPolicy::refuse},
    };
    for (const auto& e : expected) {
        INFO(e.name);
        const ChannelSpec* spec = find_channel(e.name);
        REQUIRE(spec != nullptr);
        CHECK(spec->type == e.type);
        CHECK(spec->proxied_as == e.proxied);
        CHECK(spec->policy == e.policy);
        CHECK(spec->high_priority == (std::string(e.name) == "stonith-ng"));
    }
    CHECK(find_channel("cib") == nullptr);
}

TEST_CASE("Proxy notifications are byte-identical to 2.1.5", "[proxy][channels]")
{
    const std::string session = "ae10c28f-4329-4f03-b502-13074ab0ca98";
    CHECK(
        wire::encode(make_new(session, "cib_rw")) ==
        R"(<lrmd_ipc_proxy lrmd_ipc_op="new" lrmd_ipc_server="cib_rw" lrmd_ipc_session="ae10c28f-4329-4f03-b502-13074ab0ca98" lrmd_remote_msg_id="0" lrmd_remote_msg_type="notify"/>)");

    auto msg = wire::parse_xml(
        R"(<cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/>)");
    REQUIRE(msg);
    CHECK(proxy_client_name("cib_rw", 22343, session) == "proxy-cib_rw-22343-ae10c28f");
    auto request = make_request(session, proxy_client_name("cib_rw", 22343, session), "root", 1,
                                wire::ipc_flag::client_response, *msg);
    CHECK(
        wire::encode(request) ==
        R"(<lrmd_ipc_proxy lrmd_ipc_op="request" lrmd_ipc_session="ae10c28f-4329-4f03-b502-13074ab0ca98" lrmd_ipc_client="proxy-cib_rw-22343-ae10c28f" lrmd_ipc_user="root" lrmd_ipc_msg_id="1" lrmd_ipc_msg_flags="768" lrmd_remote_msg_id="0" lrmd_remote_msg_type="notify"><lrmd_ipc_msg><cib_command t="cib" cib_op="register" cib_clientname="cibadmin" cib_callopt="4096"/></lrmd_ipc_msg></lrmd_ipc_proxy>)");

    CHECK(
        wire::encode(make_destroy("f6cae03c-b29a-4ad0-8364-1ae1dbf9dca7")) ==
        R"(<lrmd_ipc_proxy lrmd_ipc_op="destroy" lrmd_ipc_session="f6cae03c-b29a-4ad0-8364-1ae1dbf9dca7" lrmd_remote_msg_id="0" lrmd_remote_msg_type="notify"/>)");
}

TEST_CASE("Forwarded flags: proxied added, compressed dropped", "[proxy][channels]")
{
    CHECK(forwarded_flags(0) == 0x100);
    CHECK(forwarded_flags(0x200) == 0x300);
    CHECK(forwarded_flags(0x201) == 0x300);
    CHECK(forwarded_flags(0x100) == 0x100);
}

TEST_CASE("A tool's request decodes into the element to forward", "[proxy][channels]")
{
    const std::string xml =
        R"(<create_attrd_op t="attrd" src="attrd_updater" attr_name="prototest" task="update" attr_value="val1"/>)";
    auto bytes = ipc::encode_message(4, xml, wire::ipc_flag::client_response);
    REQUIRE(bytes);
    auto request = decode_tool_request(bytes->data(), bytes->size());
    REQUIRE(request);
    CHECK(request->id == 4);
    CHECK(request->flags == wire::ipc_flag::client_response);
    CHECK(wire::serialize(request->xml) == xml);

    auto not_xml = ipc::encode_message(5, "this is not xml", 0);
    REQUIRE(not_xml);
    CHECK_FALSE(decode_tool_request(not_xml->data(), not_xml->size()));
}
