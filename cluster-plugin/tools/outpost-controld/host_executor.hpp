// The host's executor for the control loop: the agent's executor module
// (guest-agent/executor) linked in, so the host runs OCF, LSB and systemd agents with the
// very code outpost-agent runs them with in the guests. Its operations' processes are
// entered in the OperationLedger at `ledger_path` while they run (operation_ledger.hpp).
// Fence devices (class stonith) are run as Pacemaker's fencer runs them (fence_devices.hpp).
#pragma once

#include <glib.h>

#include <memory>
#include <string>

#include "control/host_executor.hpp"

namespace outpost::controld {

std::unique_ptr<cluster::control::HostExecutor> make_host_executor(GMainContext* context,
                                                                   const std::string& ledger_path);

}  // namespace outpost::controld
