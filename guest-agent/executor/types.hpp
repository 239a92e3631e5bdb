// Executor value types: what the server hands the executor and what comes back. Requests and
// results are the protocol's own types and codes (wire/); the executor adds only the client an
// operation belongs to. Nothing here knows XML or TLS.
#pragma once

#include <string>

#include "wire/messages.hpp"

namespace outpost::agent::executor {

// The protocol's codes by their short names (aliases of wire/codes.hpp, not copies).
using wire::ExecStatus;
namespace ocf = wire::ocf;
namespace callopt = wire::callopt;
namespace rc = wire::rc;

// A registered resource (lrmd_rsc_register). `provider` is kept only for the ocf class.
struct ResourceDefinition {
    std::string id;
    std::string rsc_class;  // as sent; compared case-insensitively
    std::string provider;
    std::string type;
    unsigned callopts = 0;  // stored with the resource (drop-recurring)

    bool operator==(const ResourceDefinition&) const = default;
};

// A finished (or cancelled) operation: its exec notify, and for the server the client that
// asked for it and the request's call options (notify_orig_only).
struct OpResult {
    wire::ExecNotify notify;
    std::string client_id;
    unsigned callopts = 0;
};

}  // namespace outpost::agent::executor
