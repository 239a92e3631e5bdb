#include "control/op_digests.hpp"

#include <algorithm>
#include <array>

#include "controller/xml.hpp"
#include "policy/digest.hpp"

namespace outpost::cluster::control {

namespace {

namespace cx = controller;

// Meta-data is small; anything larger is not an agent's.
constexpr std::size_t kMaxMetadata = std::size_t{1} << 20;

// Parameter names 2.1.5 treats as private without a private="1" mark (observed:
// ocf:pacemaker:Dummy's `passwd` is listed in op-secure-params).
constexpr std::array<std::string_view, 3> kSecureNames{"password", "passwd", "user"};

bool is_true(const std::optional<std::string>& value)
{
    return value && (*value == "1" || *value == "true" || *value == "yes" || *value == "on");
}

}  // namespace

std::optional<AgentParameters> parse_agent_metadata(std::string_view metadata)
{
    auto doc = cx::parse_document(metadata, kMaxMetadata, "agent meta-data");
    if (!doc) return std::nullopt;
    const xmlNode* root = cx::root_of(doc->get());
    if (root == nullptr || !cx::is_named(root, "resource-agent")) return std::nullopt;
    AgentParameters agent;
    if (const xmlNode* actions = cx::child_named(root, "actions")) {
        for (const xmlNode* a : cx::element_children(actions)) {
            if (cx::is_named(a, "action") && cx::attr(a, "name").value_or("") == "reload-agent")
                agent.reload_agent = true;
        }
    }
    if (const xmlNode* params = cx::child_named(root, "parameters")) {
        for (const xmlNode* p : cx::element_children(params)) {
            if (!cx::is_named(p, "parameter")) continue;
            const std::string name = cx::attr(p, "name").value_or("");
            if (name.empty()) continue;
            if (agent.reload_agent && !is_true(cx::attr(p, "reloadable"))) agent.restart.push_back(name);
            if (is_true(cx::attr(p, "private")) ||
                std::find(kSecureNames.begin(), kSecureNames.end(), name) != kSecureNames.end())
                agent.secure.push_back(name);
        }
    }
    std::sort(agent.restart.begin(), agent.restart.end());
    std::sort(agent.secure.begin(), agent.secure.end());
    return agent;
}

std::string spaced_list(const std::vector<std::string>& names)
{
    if (names.empty()) return {};
    std::string out = " ";
    for (const auto& name : names) {
        out += ' ';
        out += name;
    }
    out += "  ";
    return out;
}

OpDigests op_digests(const AgentParameters& agent, const std::map<std::string, std::string>& params,
                     std::uint32_t interval_ms)
{
    OpDigests d;
    if (interval_ms == 0 && agent.reload_agent) {
        std::map<std::string, std::string> restart;
        for (const auto& name : agent.restart) {
            if (auto it = params.find(name); it != params.end()) restart.insert(*it);
        }
        d.restart = true;
        d.force_restart = spaced_list(agent.restart);
        d.restart_digest = policy::parameters_digest(restart);
    }
    if (!agent.secure.empty()) {
        std::map<std::string, std::string> kept = params;
        for (const auto& name : agent.secure)
            kept.erase(name);
        d.secure_params = spaced_list(agent.secure);
        d.secure_digest = policy::parameters_digest(kept);
    }
    return d;
}

}  // namespace outpost::cluster::control
