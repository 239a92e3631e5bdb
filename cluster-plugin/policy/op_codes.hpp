// The protocol vocabulary the policy engine reads from operation history: OCF exit codes
// and executor statuses (protocol.md 4; Pacemaker's PCMK_OCF_* and PCMK_EXEC_*).
//
// To be replaced by common/wire's codes (common/wire/codes.hpp) at merge: this is the one
// place in cluster-plugin/policy that spells them, so the swap is a change of this header.
#pragma once

namespace outpost::cluster::policy {

// OCF exit codes as recorded in lrm_rsc_op rc-code.
inline constexpr int kOcfOk = 0;
inline constexpr int kOcfUnknownError = 1;
inline constexpr int kOcfInvalidParam = 2;
inline constexpr int kOcfUnimplementFeature = 3;
inline constexpr int kOcfInsufficientPriv = 4;
inline constexpr int kOcfNotInstalled = 5;
inline constexpr int kOcfNotConfigured = 6;
inline constexpr int kOcfNotRunning = 7;
inline constexpr int kOcfRunningPromoted = 8;
inline constexpr int kOcfFailedPromoted = 9;
inline constexpr int kOcfDegraded = 190;
inline constexpr int kOcfDegradedPromoted = 191;

// Executor statuses as recorded in lrm_rsc_op op-status.
inline constexpr int kExecPending = -1;
inline constexpr int kExecDone = 0;
inline constexpr int kExecCancelled = 1;
inline constexpr int kExecTimeout = 2;
inline constexpr int kExecNotSupported = 3;
inline constexpr int kExecError = 4;
inline constexpr int kExecErrorHard = 5;
inline constexpr int kExecErrorFatal = 6;
inline constexpr int kExecNotInstalled = 7;
inline constexpr int kExecNotConnected = 8;
inline constexpr int kExecInvalid = 9;
inline constexpr int kExecNoFencing = 10;
inline constexpr int kExecNoSecrets = 11;

}  // namespace outpost::cluster::policy
