// The meta-data digests pacemaker-controld 2.1.5 adds to an operation's lrm_rsc_op, so the
// scheduler can tell a change that needs a restart from one the agent can reload:
//   op-force-restart / op-restart-digest: on operations with interval 0 (probe, start,
//     stop, ...) of an agent that offers reload-agent, the parameters its meta-data does
//     not mark reloadable="1" (sorted, spelled "  a b  ") and the digest of the
//     operation's parameters restricted to them (observed: "  state  " and the digest of
//     no parameters for ocf:pacemaker:Dummy without `state`);
//   op-secure-params / op-secure-digest: on every operation, the private parameters
//     (private="1", or named password, passwd or user) and the digest of the parameters
//     without them; absent when the agent has none.
// Pure: the meta-data text goes in, the attributes come out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::cluster::control {

// What an agent's meta-data says about its parameters.
struct AgentParameters {
    bool reload_agent = false;         // it offers the reload-agent action
    std::vector<std::string> restart;  // not reloadable, sorted (only with reload_agent)
    std::vector<std::string> secure;   // private, sorted
};

// nullopt when `metadata` is not an agent's meta-data (<resource-agent>).
std::optional<AgentParameters> parse_agent_metadata(std::string_view metadata);

struct OpDigests {
    bool restart = false;  // force_restart and restart_digest are written
    std::string force_restart;
    std::string restart_digest;
    std::string secure_params;  // empty: not written (nor secure_digest)
    std::string secure_digest;
};

// The digests of an operation run with `params` (the parameters op-digest covers).
OpDigests op_digests(const AgentParameters& agent, const std::map<std::string, std::string>& params,
                     std::uint32_t interval_ms);

// "  a b  ", as 2.1.5 spells the lists ("" for none).
std::string spaced_list(const std::vector<std::string>& names);

}  // namespace outpost::cluster::control
