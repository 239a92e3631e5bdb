// The end of a local domain's emulator process, seen the moment it exits.
//
// Why: libvirt reports a QEMU domain's end (VIR_DOMAIN_EVENT_STOPPED) only once the QEMU
// process is gone from the process table, and `virsh destroy` holds the domain for that
// whole time (libvirt 9.0: SIGTERM, then kill(pid, 0) every 200 ms until it fails), so not
// even its SHUTDOWN event comes earlier. QEMU itself exits 30-80 ms after the SIGTERM, but
// an orphaned process is removed only when its reaper (PID 1, or a subreaper) collects it:
// immediately under systemd, up to about 2 s under a lazy init (this project's CI machines;
// some container runtimes). A pidfd becomes readable when the process exits, before it is
// reaped, so watching it takes the reaper out of the path.
//
// Only for hypervisors whose emulator runs on this host as a process libvirt records in a
// PID file: the QEMU driver's system instance (qemu:///system, /run/libvirt/qemu/NAME.pid).
// The PID is checked against the domain (QEMU's `-name guest=NAME` argument), so a stale
// file naming a reused PID is refused.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/source.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

// Where libvirt's QEMU system driver keeps its PID files.
inline constexpr const char* kQemuPidDir = "/run/libvirt/qemu";

// The PID file of `domain` when `uri` names a hypervisor whose emulator is a local process
// libvirt records (qemu:///system, with or without a query part); nullopt otherwise.
std::optional<std::filesystem::path> emulator_pid_file(const std::string& uri, const std::string& domain);

// Whether the command line `cmdline` (NUL-separated, as /proc/PID/cmdline) is the QEMU of
// domain `domain` (an argument "guest=NAME" or "guest=NAME,...", libvirt's commas doubled).
bool is_qemu_of(std::string_view cmdline, const std::string& domain);

// The running emulator process of `domain`: the PID in its PID file, if that process runs
// and is the domain's QEMU. nullopt: no such file (not a local QEMU, not running, not
// readable), or a stale one.
std::optional<pid_t> emulator_pid(const std::string& uri, const std::string& domain);

// A one-shot notice that process `pid` exited (a pidfd on the loop). Destroying it
// removes the watch; `exited` runs at most once, on `context`'s thread.
class ProcessExit {
public:
    // Errors: the process is gone already (-ESRCH) or pidfds are not available (-ENOSYS,
    // Linux before 5.3; -EPERM under a seccomp filter).
    static Result<std::unique_ptr<ProcessExit>> watch(GMainContext* context, pid_t pid,
                                                      std::function<void()> exited);
    ProcessExit(const ProcessExit&) = delete;
    ProcessExit& operator=(const ProcessExit&) = delete;
    ~ProcessExit() = default;

    [[nodiscard]] pid_t pid() const { return pid_; }

private:
    ProcessExit() = default;
    pid_t pid_ = -1;
    UniqueFd fd_;
    io::FdWatch watch_;
};

}  // namespace outpost::cluster::lifecycle
