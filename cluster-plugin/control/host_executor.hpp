// HostExecutor: how the control loop runs resource operations on its own node. The daemon
// implements it with the agent's executor module (guest-agent/executor, linked in: one
// executor for guests and host); cluster-plugin never includes the agent's headers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "util/result.hpp"
#include "wire/messages.hpp"

namespace outpost::cluster::control {

struct ResourceAgent {
    std::string rsc_id;
    std::string rsc_class;
    std::string provider;
    std::string type;
};

class HostExecutor {
public:
    using ResultHandler = std::function<void(const wire::ExecNotify&)>;
    virtual ~HostExecutor() = default;
    // Every completion (each result of a recurring operation, cancellations too) goes here,
    // from the main loop or from inside exec()/cancel() for the operations they cancel.
    virtual void on_result(ResultHandler handler) = 0;
    // Registers the resource (if it is new or changed) and queues the operation; its call id.
    virtual Result<int> exec(const ResourceAgent& agent, const wire::ExecRequest& request) = 0;
    virtual void cancel(const std::string& rsc_id, const std::string& action, std::uint32_t interval_ms) = 0;
};

}  // namespace outpost::cluster::control
