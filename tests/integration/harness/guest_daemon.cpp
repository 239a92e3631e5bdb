#include "harness/guest_daemon.hpp"

#include <sys/wait.h>

#include <cerrno>

namespace outpost::test {

GuestDaemon::GuestDaemon(TempDir dir, Netns netns, Authkey authkey, Process process,
                         GuestDaemonOptions options, SpawnOptions spawn)
    : dir_(std::move(dir)),
      netns_(std::move(netns)),
      authkey_(std::move(authkey)),
      port_(options.port),
      options_(std::move(options)),
      spawn_(std::move(spawn)),
      process_(std::move(process))
{
    spawn_.netns = &netns_;
}

Result<std::unique_ptr<GuestDaemon>> GuestDaemon::start(GuestDaemonOptions options)
{
    if (options.binary.empty()) return make_error("harness", -EINVAL, "GuestDaemon: no binary given");
    auto dir = TempDir::create("outpost-guest");
    if (!dir) return dir.error();
    auto netns = Netns::create();
    if (!netns) return netns.error();
    auto authkey = Authkey::create(*dir / "authkey");
    if (!authkey) return authkey.error();

    SpawnOptions spawn;
    spawn.argv = {options.binary};
    spawn.argv.insert(spawn.argv.end(), options.args.begin(), options.args.end());
    spawn.netns = &*netns;
    spawn.log_file = *dir / "daemon.out";
    spawn.working_dir = dir->path();
    spawn.env = {
        {"PCMK_authkey_location", authkey->path().string()},
        {"PCMK_remote_port", std::to_string(options.port)},
        {"PCMK_logfile", (*dir / "daemon.log").string()},
    };
    if (options.bind_guest_address) spawn.env.emplace_back("PCMK_remote_address", netns->guest_address());
    // The tests' scripted providers answer what their test expects and count the proxy
    // traffic: outpost-agent's own CIB session (docs/isolation.md) is off unless a test
    // turns it on (cluster tests, with a real controller as provider, run with it on).
    bool cib_limits_set = false;
    for (const auto& [name, value] : options.env)
        cib_limits_set = cib_limits_set || name == "OUTPOST_cib_limits";
    if (!cib_limits_set) spawn.env.emplace_back("OUTPOST_cib_limits", "no");
    spawn.env.insert(spawn.env.end(), options.env.begin(), options.env.end());
    auto process = Process::spawn(spawn);
    if (!process) return process.error();

    std::unique_ptr<GuestDaemon> daemon(new GuestDaemon(std::move(*dir), std::move(*netns),
                                                        std::move(*authkey), std::move(*process),
                                                        std::move(options), std::move(spawn)));
    auto ready = wait_for_tcp(nullptr, daemon->address(), daemon->port(), daemon->options_.ready_timeout,
                              &daemon->process_);
    if (!ready) {
        return make_error("harness", ready.error().code,
                          ready.error().message + "\n--- " + daemon->process_.describe() + " log tail ---\n" +
                              daemon->log_tail());
    }
    return daemon;
}

Result<std::unique_ptr<GuestDaemon>> GuestDaemon::start(const std::string& binary)
{
    GuestDaemonOptions options;
    options.binary = binary;
    return start(std::move(options));
}

std::string GuestDaemon::log_tail(std::size_t max_bytes) const
{
    std::string text = file_tail(log_file(), max_bytes);
    std::string output = file_tail(output_file(), max_bytes);
    if (!output.empty()) text += "\n--- stdout/stderr ---\n" + output;
    return text;
}

Status GuestDaemon::stop(std::chrono::milliseconds grace)
{
    auto status = process_.stop(grace);
    if (!status) return status.error();
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        return make_error(
            "harness", -ECHILD,
            process_.describe() + " " + describe_wait_status(*status) + " when stopped\n" + log_tail());
    }
    return {};
}

Status GuestDaemon::restart()
{
    if (process_.is_running())
        return make_error("harness", -EBUSY, process_.describe() + " still runs: no restart");
    auto process = Process::spawn(spawn_);
    if (!process) return process.error();
    process_ = std::move(*process);
    auto ready = wait_for_tcp(nullptr, address(), port(), options_.ready_timeout, &process_);
    if (!ready) {
        return make_error(
            "harness", ready.error().code,
            ready.error().message + "\n--- " + process_.describe() + " log tail ---\n" + log_tail());
    }
    return {};
}

}  // namespace outpost::test
