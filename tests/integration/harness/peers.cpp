#include "harness/peers.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "harness/command.hpp"

#ifndef OUTPOST_HARNESS_SOURCE_ROOT
#error "OUTPOST_HARNESS_SOURCE_ROOT must be defined by the build"
#endif
#ifndef OUTPOST_HARNESS_BUILD_ROOT
#error "OUTPOST_HARNESS_BUILD_ROOT must be defined by the build"
#endif

namespace outpost::test {
namespace {

// Downloading the package takes about a second; a slow mirror gets more.
constexpr std::chrono::milliseconds kFetchTimeout{300000};

std::optional<std::string> non_empty_env(const char* name)
{
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
}

}  // namespace

std::filesystem::path source_root()
{
    if (auto env = non_empty_env("OUTPOST_SOURCE_ROOT")) return *env;
    return OUTPOST_HARNESS_SOURCE_ROOT;
}

std::filesystem::path build_root()
{
    if (auto env = non_empty_env("OUTPOST_BUILD_ROOT")) return *env;
    return OUTPOST_HARNESS_BUILD_ROOT;
}

Result<std::string> remoted_path()
{
    static std::mutex mutex;
    static std::optional<Result<std::string>> cached;
    std::lock_guard lock(mutex);
    if (cached) return *cached;

    if (auto env = non_empty_env("OUTPOST_REMOTED")) {
        if (::access(env->c_str(), X_OK) == 0) {
            cached = *env;
        } else {
            cached = make_error("harness", -ENOENT, "OUTPOST_REMOTED=" + *env + " is not an executable file");
        }
        return *cached;
    }
    auto script = source_root() / "tests/integration/fetch-remoted.sh";
    auto fetched =
        run_command({"bash", script.string(), (build_root() / "peers").string()}, nullptr, kFetchTimeout);
    if (!fetched) {
        cached = fetched.error();
    } else if (!fetched->succeeded()) {
        cached = make_error("harness", -ENOENT, script.string() + " " + fetched->describe());
    } else {
        std::string out = fetched->output;
        while (!out.empty() && out.back() == '\n')
            out.pop_back();
        auto newline = out.rfind('\n');
        std::string path = newline == std::string::npos ? out : out.substr(newline + 1);
        if (::access(path.c_str(), X_OK) == 0) {
            cached = path;
        } else {
            cached = make_error("harness", -ENOENT, script.string() + " printed no usable path: " + out);
        }
    }
    return *cached;
}

std::optional<std::string> agent_path()
{
    auto env = non_empty_env("OUTPOST_AGENT");
    if (env && ::access(env->c_str(), X_OK) == 0) return env;
    return std::nullopt;
}

std::string fake_systemd_path()
{
    if (auto env = non_empty_env("OUTPOST_FAKE_SYSTEMD")) return *env;
    return (build_root() / "tests/integration/fake_systemd/outpost-fake-systemd").string();
}

}  // namespace outpost::test
