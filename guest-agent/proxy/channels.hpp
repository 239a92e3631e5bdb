// The local IPC services outpost-agent offers inside a guest (docs/protocol.md 4.2) and the
// translation between a local tool's IPC traffic and the proxy messages on the TLS channel
// (docs/protocol.md 4.3): which names exist, with which libqb type, under which name each is
// proxied, and how new/request/destroy notifications for a provider are built. Pure: no
// libqb handles, so unit tests and the fuzz target check exactly what the proxy sends.
#pragma once

#include <qb/qbipc_common.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::proxy {

enum class ChannelPolicy {
    proxy,           // tunnel each session to the newest IPC provider
    refuse,          // always refuse (-EREMOTEIO): pacemakerd does not run on a remote node
    local_executor,  // lrmd: the executor API served by this daemon (ProxyHost's local executor)
};

struct ChannelSpec {
    std::string_view name;        // the libqb service name tools connect to
    qb_ipc_type type;             // as Pacemaker creates it
    std::string_view proxied_as;  // lrmd_ipc_server in `new`; also in the client name
    ChannelPolicy policy;
    bool high_priority;  // stonith-ng: fencing traffic goes before other IPC
};

// Every service, in creation order (the cluster daemons' names first, so a full cluster
// stack in the same namespace is reported on cib_ro).
std::span<const ChannelSpec> channels();
const ChannelSpec* find_channel(std::string_view name);

// "proxy-<channel>-<pid>-<first 8 characters of the session id>" (docs/protocol.md 4.3).
std::string proxy_client_name(std::string_view proxied_channel, pid_t pid, std::string_view session);
// Flags forwarded for a tool's request: the tool's flags without "compressed" (the XML
// travels inflated; the provider's own IPC send decides compression again) plus proxied.
std::uint32_t forwarded_flags(std::uint32_t tool_flags);

wire::ProxyMessage make_new(std::string_view session, std::string_view proxied_channel);
wire::ProxyMessage make_request(std::string_view session, std::string client, std::string user,
                                std::uint32_t ipc_msg_id, std::uint32_t tool_flags, wire::Element msg);
wire::ProxyMessage make_destroy(std::string_view session);

// The request a tool sent, as a ProxyMessage for the provider: decodes the IPC header and
// payload (decompressing) and parses the XML. Errors name what was wrong with the message.
struct ToolRequest {
    std::uint32_t id = 0;
    std::uint32_t flags = 0;
    wire::Element xml;
};
Result<ToolRequest> decode_tool_request(const void* data, std::size_t size);

}  // namespace outpost::agent::proxy
