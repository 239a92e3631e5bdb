#include "proxy/channels.hpp"

#include <array>
#include <cerrno>
#include <vector>

#include "ipc/header.hpp"

namespace outpost::agent::proxy {

namespace {

// Session ids are UUIDs; the client name carries their first 8 characters as 2.1.5 does.
constexpr std::size_t kSessionPrefixLength = 8;

// QB_IPC_NATIVE and QB_IPC_SHM as Pacemaker 2.1.5 creates its servers.
constexpr std::array<ChannelSpec, 8> kChannels{{
    {"cib_ro", QB_IPC_NATIVE, "cib_ro", ChannelPolicy::proxy, false},
    {"cib_rw", QB_IPC_NATIVE, "cib_rw", ChannelPolicy::proxy, false},
    {"cib_shm", QB_IPC_SHM, "cib_rw", ChannelPolicy::proxy, false},
    {"attrd", QB_IPC_NATIVE, "attrd", ChannelPolicy::proxy, false},
    {"stonith-ng", QB_IPC_NATIVE, "stonith-ng", ChannelPolicy::proxy, true},
    {"crmd", QB_IPC_NATIVE, "crmd", ChannelPolicy::proxy, false},
    {"lrmd", QB_IPC_SHM, "lrmd", ChannelPolicy::local_executor, false},
    {"pacemakerd", QB_IPC_NATIVE, "pacemakerd", ChannelPolicy::refuse, false},
}};

}  // namespace

std::span<const ChannelSpec> channels()
{
    return kChannels;
}

const ChannelSpec* find_channel(std::string_view name)
{
    for (const auto& spec : kChannels) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

std::string proxy_client_name(std::string_view proxied_channel, pid_t pid, std::string_view session)
{
    std::string name = "proxy-";
    name += proxied_channel;
    name += '-';
    name += std::to_string(pid);
    name += '-';
    name += session.substr(0, kSessionPrefixLength);
    return name;
}

std::uint32_t forwarded_flags(std::uint32_t tool_flags)
{
    return (tool_flags & ~wire::ipc_flag::compressed) | wire::ipc_flag::proxied;
}

wire::ProxyMessage make_new(std::string_view session, std::string_view proxied_channel)
{
    wire::ProxyMessage message;
    message.type = wire::MsgType::notify;
    message.msg_id = 0;
    message.op = std::string(wire::ipc_op::new_session);
    message.server = std::string(proxied_channel);
    message.session = std::string(session);
    return message;
}

wire::ProxyMessage make_request(std::string_view session, std::string client, std::string user,
                                std::uint32_t ipc_msg_id, std::uint32_t tool_flags, wire::Element msg)
{
    wire::ProxyMessage message;
    message.type = wire::MsgType::notify;
    message.msg_id = 0;
    message.op = std::string(wire::ipc_op::request);
    message.session = std::string(session);
    message.client = std::move(client);
    message.user = std::move(user);
    message.ipc_msg_id = ipc_msg_id;
    message.ipc_msg_flags = forwarded_flags(tool_flags);
    message.msg = std::move(msg);
    return message;
}

wire::ProxyMessage make_destroy(std::string_view session)
{
    wire::ProxyMessage message;
    message.type = wire::MsgType::notify;
    message.msg_id = 0;
    message.op = std::string(wire::ipc_op::destroy);
    message.session = std::string(session);
    return message;
}

Result<ToolRequest> decode_tool_request(const void* data, std::size_t size)
{
    auto message = ipc::decode_message(data, size);
    if (!message) return message.error();
    auto xml = wire::parse_xml(message->xml);
    if (!xml)
        return make_error("proxy", xml.error().code, "IPC request is not valid XML: " + xml.error().message);
    ToolRequest request;
    request.id = static_cast<std::uint32_t>(message->header.id);
    request.flags = message->header.flags;
    request.xml = std::move(xml).value();
    return request;
}

}  // namespace outpost::agent::proxy
