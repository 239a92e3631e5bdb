#include "harness/controld.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include "harness/environment.hpp"

namespace outpost::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

Error controld_error(int code, std::string message)
{
    return make_error("harness.controld", code, std::move(message));
}

}  // namespace

Result<std::unique_ptr<ControldHarness>> ControldHarness::start(const ControldOptions& options)
{
    if (::geteuid() != 0) return controld_error(-EPERM, "outpost-controld's IPC names need root");
    if (::access(options.binary.c_str(), X_OK) != 0)
        return controld_error(-ENOENT, options.binary + " is not an executable");
    auto lock = take_cluster_lock();
    if (!lock) return lock.error();
    if (auto s = refuse_if_real_cluster(); !s) return s.error();
    if (auto s = check_pacemaker_daemons(); !s) return s.error();
    auto dir = TempDir::create("outpost-controld");
    if (!dir) return dir.error();
    auto key = Authkey::create(*dir / "authkey");
    if (!key) return key.error();
    std::unique_ptr<ControldHarness> self(
        new ControldHarness(std::move(*lock), std::move(*dir), std::move(*key), options.node_name));
    std::error_code ec;
    fs::create_directories(self->host_run(), ec);
    if (ec) return controld_error(-ec.value(), "create " + self->host_run().string() + ": " + ec.message());

    SpawnOptions spawn;
    spawn.argv = {options.binary, "--cib-file", self->dir_.file("state/cib.xml"), "--node-name",
                  options.node_name};
    spawn.env = {{"PCMK_authkey_location", self->authkey().string()},
                 {"HA_VARRUN", self->host_run().string()},
                 {"HA_RSCTMP", self->host_run().string()},
                 {"OUTPOST_LOG", options.log_spec}};
    spawn.env.insert(spawn.env.end(), options.env.begin(), options.env.end());
    spawn.log_file = self->log_file();
    auto process = Process::spawn(spawn);
    if (!process) return process.error();
    self->process_.emplace(std::move(*process));

    auto ready = wait_until(
        [&] {
            auto query = self->tool({"cibadmin", "-Q", "-o", "nodes"}, 5s);
            return (query && query->succeeded()) || !self->process_->is_running();
        },
        kControldReadyTimeout, "outpost-controld to serve the CIB", 100ms);
    if (!self->process_->is_running()) {
        auto status = self->process_->wait_status();
        return controld_error(-EIO, "outpost-controld " + describe_wait_status(status ? *status : 0) +
                                        " (log " + self->log_file().string() + ")");
    }
    if (!ready) return ready.error();
    return self;
}

ControldHarness::~ControldHarness()
{
    // A destructor runs while an error unwinds: nothing may escape it.
    try {
        auto s = stop();
        if (!s) (void)std::fprintf(stderr, "outpost-controld teardown: %s\n", s.error().message.c_str());
    } catch (...) {
        (void)std::fprintf(stderr, "outpost-controld teardown: unexpected exception\n");
    }
}

Status ControldHarness::stop()
{
    Status result;
    if (process_) {
        auto status = process_->stop();
        if (!status) {
            result = status.error();
        } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
            result = controld_error(-EIO, "outpost-controld " + describe_wait_status(*status));
        }
        process_.reset();
    }
    lock_ = UniqueFd();
    return result;
}

GuestTools::GuestTools(std::vector<std::string> prefix, const std::string& name)
{
    tool_prefix_ = std::move(prefix);
    where_ = name + ": ";
}

GuestTools GuestTools::in_container(pid_t init, const std::string& name)
{
    return GuestTools({"nsenter", "-t", std::to_string(init), "-m", "-n", "-u", "-i", "-p", "-r", "-w"},
                      name);
}

GuestTools GuestTools::in_netns(const std::string& netns, const std::string& name)
{
    return GuestTools({"ip", "netns", "exec", netns}, name);
}

}  // namespace outpost::test
