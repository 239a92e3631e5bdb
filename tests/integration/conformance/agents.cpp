// Installation of the conformance test agents: see agents.hpp.
#include "conformance/agents.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "harness/files.hpp"

namespace outpost::test::conformance {

namespace {

constexpr const char* kDomain = "conformance";
constexpr const char* kInitDir = "/etc/init.d";

// Removes everything install_test_agents() wrote when the test process exits.
class Installed {
public:
    void add(std::filesystem::path path) { paths_.push_back(std::move(path)); }
    ~Installed()
    {
        std::error_code ignored;
        for (const auto& path : paths_)
            std::filesystem::remove_all(path, ignored);
    }

private:
    std::vector<std::filesystem::path> paths_;
};

Status install(Installed& installed)
{
    std::error_code ec;
    std::filesystem::create_directories(kOcfProviderDir, ec);
    if (ec)
        return make_error(kDomain, -ec.value(),
                          std::string("create ") + kOcfProviderDir + ": " + ec.message());
    installed.add(kOcfProviderDir);
    if (auto s = write_file(std::filesystem::path(kOcfProviderDir) / kOcfAgent, ocf_agent_script(), 0755); !s)
        return s;
    std::filesystem::create_directories(kInitDir, ec);
    for (int code : kLsbExitCodes) {
        auto path = std::filesystem::path(kInitDir) / (std::string(kLsbPrefix) + "rc" + std::to_string(code));
        installed.add(path);
        std::string script =
            "#!/bin/sh\n# Outpost conformance test script (removed by the test).\necho \"lsb $1 rc " +
            std::to_string(code) + "\"\nexit " + std::to_string(code) + "\n";
        if (auto s = write_file(path, script, 0755); !s) return s;
    }
    auto reason = std::filesystem::path(kInitDir) / (std::string(kLsbPrefix) + "reason");
    installed.add(reason);
    return write_file(
        reason,
        "#!/bin/sh\n# Outpost conformance test script (removed by the test).\n"
        "echo \"to stdout\"\necho \"ocf-exit-reason:lsb agents have no exit reasons\" >&2\nexit 1\n",
        0755);
}

}  // namespace

std::string ocf_agent_script()
{
    return R"SH(#!/bin/sh
# ocf:outpostconf:Conf - Outpost conformance test agent (installed and removed by
# test-integration-conformance). Behaviour comes from parameters only; see agents.hpp.
action="$1"
if [ -n "$OCF_RESKEY_log" ]; then echo "$action" >> "$OCF_RESKEY_log"; fi
if [ "$action" = "meta-data" ]; then
    echo '<?xml version="1.0"?><resource-agent name="Conf" version="1.0"><version>1.1</version><actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/><action name="monitor" timeout="20s" interval="10s"/><action name="meta-data" timeout="5s"/></actions></resource-agent>'
    exit 0
fi
if [ -n "$OCF_RESKEY_envdump" ]; then
    { echo "cwd=$(pwd)"; echo "uid=$(id -u)"; env | grep -E '^OCF_' | LC_ALL=C sort; } > "$OCF_RESKEY_envdump.tmp"
    mv "$OCF_RESKEY_envdump.tmp" "$OCF_RESKEY_envdump"
fi
if [ -n "$OCF_RESKEY_stdout_bytes" ]; then head -c "$OCF_RESKEY_stdout_bytes" /dev/zero | tr '\000' o; fi
if [ -n "$OCF_RESKEY_stdout" ]; then printf '%b' "$OCF_RESKEY_stdout"; fi
if [ -n "$OCF_RESKEY_stderr_bytes" ]; then head -c "$OCF_RESKEY_stderr_bytes" /dev/zero | tr '\000' e >&2; fi
if [ -n "$OCF_RESKEY_stderr" ]; then printf '%b' "$OCF_RESKEY_stderr" >&2; fi
if [ -n "$OCF_RESKEY_childpid" ]; then
    sleep 30 &
    echo $! > "$OCF_RESKEY_childpid"
fi
if [ -n "$OCF_RESKEY_sleep" ]; then
    if [ -z "$OCF_RESKEY_sleep_action" ] || [ "$OCF_RESKEY_sleep_action" = "$action" ]; then
        sleep "$OCF_RESKEY_sleep"
    fi
fi
rc=${OCF_RESKEY_rc:-0}
if [ -n "$OCF_RESKEY_state" ] && [ "$action" = monitor ]; then
    rc=$(cat "$OCF_RESKEY_state" 2>/dev/null || echo 7)
fi
case "$action" in
    start) rc=${OCF_RESKEY_rc_start:-$rc} ;;
    stop) rc=${OCF_RESKEY_rc_stop:-$rc} ;;
    monitor) rc=${OCF_RESKEY_rc_monitor:-$rc} ;;
esac
exit $rc
)SH";
}

Status install_test_agents()
{
    static std::mutex mutex;
    static Installed installed;  // destroyed at exit: removes the agents
    static std::optional<Status> result;
    std::lock_guard lock(mutex);
    if (!result) result = install(installed);
    return *result;
}

}  // namespace outpost::test::conformance
