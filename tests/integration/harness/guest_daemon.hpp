// GuestDaemon: a Pacemaker Remote server (the real pacemaker-remoted or our outpost-agent)
// running in its own throw-away namespace, ready for a client test.
//
// start() makes a TempDir, a Netns, a fresh Authkey, and starts the binary inside the
// namespace with PCMK_authkey_location, PCMK_remote_port and PCMK_logfile pointing into the
// TempDir (and OUTPOST_cib_limits=no unless `env` sets it: a test's scripted provider does
// not expect the agent's own CIB session); it returns once the port accepts TCP connections from the host
// through the veth (or fails with the daemon's exit status and log tail). An interop test is then:
//
//     auto remoted = GuestDaemon::start(*remoted_path());
//     REQUIRE(remoted);
//     // connect our client to (*remoted)->address(), (*remoted)->port(),
//     // with the key in (*remoted)->authkey().path()
//
// Destruction stops the daemon (SIGTERM, then SIGKILL), deletes the namespace and the
// files; call keep_files() to keep the log for a post-mortem.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness/command.hpp"
#include "harness/files.hpp"
#include "harness/netns.hpp"
#include "harness/process.hpp"
#include "harness/tcp.hpp"
#include "support/psk.hpp"
#include "support/raw_client.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr std::uint16_t kRemotePort = 3121;

struct GuestDaemonOptions {
    std::string binary;             // pacemaker-remoted or outpost-agent
    std::vector<std::string> args;  // after the binary
    std::uint16_t port = kRemotePort;
    EnvList env;  // extra environment (e.g. PCMK_debug=yes)
    // Listen on the namespace's guest address only (PCMK_remote_address), not the
    // wildcard: inside the namespace, 127.0.0.1 then refuses connections.
    bool bind_guest_address = false;
    std::chrono::milliseconds ready_timeout = kDefaultReadyTimeout;
};

class GuestDaemon {
public:
    static Result<std::unique_ptr<GuestDaemon>> start(GuestDaemonOptions options);
    // Defaults for everything but the binary.
    static Result<std::unique_ptr<GuestDaemon>> start(const std::string& binary);

    GuestDaemon(const GuestDaemon&) = delete;
    GuestDaemon& operator=(const GuestDaemon&) = delete;
    ~GuestDaemon() = default;

    [[nodiscard]] Netns& netns() { return netns_; }
    [[nodiscard]] Process& process() { return process_; }
    [[nodiscard]] const Authkey& authkey() const { return authkey_; }
    [[nodiscard]] const std::string& address() const { return netns_.guest_address(); }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // The daemon's own log (PCMK_logfile) and its stdout/stderr.
    [[nodiscard]] std::filesystem::path log_file() const { return dir_ / "daemon.log"; }
    [[nodiscard]] std::filesystem::path output_file() const { return dir_ / "daemon.out"; }
    // Last lines of both, for failure messages.
    [[nodiscard]] std::string log_tail(std::size_t max_bytes = 4000) const;

    // SIGTERM, then SIGKILL after `grace`; an Error unless it exited with status 0.
    Status stop(std::chrono::milliseconds grace = kDefaultStopGrace);
    // After the daemon exited (a test killed it: it is reaped here), starts it again with
    // the same options in the same namespace and waits until it listens: a guest whose
    // daemon came back. An Error while the old one still runs.
    Status restart();
    void keep_files() { dir_.keep(); }

private:
    GuestDaemon(TempDir dir, Netns netns, Authkey authkey, Process process, GuestDaemonOptions options,
                SpawnOptions spawn);

    // Destruction runs bottom-up: the daemon stops before its namespace and files go.
    TempDir dir_;
    Netns netns_;
    Authkey authkey_;
    std::uint16_t port_;
    GuestDaemonOptions options_;
    SpawnOptions spawn_;  // how process_ was started (its netns pointer reset to netns_)
    Process process_;
};

// Our raw client (support/raw_client.hpp) connected to `daemon` with the daemon's own key;
// the test fails if it cannot connect. (Inline: only Catch test programs may call it.)
inline std::unique_ptr<RawClient> raw_client(GMainContext* context, const GuestDaemon& daemon)
{
    return RawClient::open(context, daemon.address(), daemon.port(), psk_client(daemon.authkey().bytes()));
}

}  // namespace outpost::test
