// Fixtures for the agent-class scenarios: see fixtures.hpp.
#include "conformance/fixtures.hpp"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>

#include "harness/files.hpp"
#include "harness/mounts.hpp"
#include "harness/peers.hpp"

namespace outpost::test::conformance {

namespace {

using namespace std::chrono_literals;

constexpr const char* kDomain = "conformance";
constexpr std::chrono::milliseconds kStartupTimeout{10000};
constexpr std::chrono::milliseconds kStartupPoll{20};
// The fake's jobs take this long: well after a daemon's own follow-up calls to a job
// method (a "service" resource's look-up, ~1 ms, but 100 ms and more were seen on a loaded
// machine), well before the first status poll of the scenarios' starts and stops (1.2 s,
// scenarios_classes.cpp), so the call log's order does not depend on the machine's load.
constexpr const char* kJobDelayMs = "500";
constexpr const char* kRepeatedMark = " (repeated)";

Status mkdirs(const std::filesystem::path& dir)
{
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(kDomain, -ec.value(), "create " + dir.string() + ": " + ec.message());
    return {};
}

// Waits until `ready()` or the process has died or the time is up.
Status wait_ready(Process& process, const std::function<bool()>& ready, const std::string& what)
{
    auto deadline = std::chrono::steady_clock::now() + kStartupTimeout;
    while (!ready()) {
        if (!process.is_running())
            return make_error(kDomain, -ECHILD,
                              what + " exited during start-up: " + file_tail(process.log_file()));
        if (std::chrono::steady_clock::now() > deadline)
            return make_error(kDomain, -ETIMEDOUT, what + " not ready: " + file_tail(process.log_file()));
        std::this_thread::sleep_for(kStartupPoll);
    }
    return {};
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string unmarked(const std::string& line)
{
    std::string_view mark(kRepeatedMark);
    return line.ends_with(mark) ? line.substr(0, line.size() - mark.size()) : line;
}

// Runs `command` (binary + args of `options`) in a private mount namespace with `bind`.
void wrap_in_mounts(GuestDaemonOptions& options, const BindMount& bind)
{
    std::vector<std::string> command{options.binary};
    command.insert(command.end(), options.args.begin(), options.args.end());
    std::vector<std::string> argv = with_private_mounts({bind}, command);
    options.binary = argv.front();
    options.args.assign(argv.begin() + 1, argv.end());
}

}  // namespace

std::vector<std::string> collapse_repeats(const std::vector<std::string>& lines)
{
    constexpr std::size_t kLongestBlock = 3;
    std::vector<std::string> out;
    for (const auto& line : lines) {
        out.push_back(line);
        bool folded = true;
        while (folded) {
            folded = false;
            for (std::size_t n = 1; n <= kLongestBlock && !folded; ++n) {
                if (out.size() < 2 * n) continue;
                auto first = out.end() - static_cast<std::ptrdiff_t>(2 * n);
                auto second = out.end() - static_cast<std::ptrdiff_t>(n);
                if (!std::equal(first, second, second, out.end(),
                                [](const std::string& a, const std::string& b) {
                                    return unmarked(a) == unmarked(b);
                                }))
                    continue;
                out.erase(second, out.end());
                if (!out.back().ends_with(kRepeatedMark)) out.back() += kRepeatedMark;
                folded = true;
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------- systemd

Result<std::unique_ptr<Fixture>> SystemdFixture::create(const std::filesystem::path& dir, Bus bus,
                                                        Units units)
{
    std::unique_ptr<SystemdFixture> fixture(new SystemdFixture(dir / "systemd", std::move(units)));
    const auto& base = fixture->dir_;
    if (auto s = mkdirs(base / "run-systemd"); !s) return s.error();
    if (auto s = mkdirs(base / "bus"); !s) return s.error();
    if (auto s = ensure_mount_point(kSystemdRunMountPoint); !s) return s.error();
    if (bus == Bus::none) {
        // A socket path nobody listens on: connecting fails at once (ENOENT).
        fixture->address_ = "unix:path=" + (base / "bus" / "nobody-listens-here").string();
        return std::unique_ptr<Fixture>(std::move(fixture));
    }
    if (auto s = fixture->start_bus(); !s) return s.error();
    if (bus == Bus::with_systemd) {
        if (auto s = fixture->start_systemd(); !s) return s.error();
    }
    return std::unique_ptr<Fixture>(std::move(fixture));
}

Status SystemdFixture::start_bus()
{
    auto socket = dir_ / "bus" / "socket";
    // A session-type bus that lets everyone own and call anything, with no activatable
    // services (the host's session configuration would try to activate systemd).
    std::string config = "<busconfig><type>session</type><listen>unix:path=" + socket.string() +
                         "</listen><auth>EXTERNAL</auth><policy context='default'>"
                         "<allow send_destination='*' eavesdrop='true'/><allow eavesdrop='true'/>"
                         "<allow own='*'/><allow user='*'/></policy></busconfig>\n";
    if (auto s = write_file(dir_ / "bus.conf", config); !s) return s;
    SpawnOptions spawn;
    spawn.argv = {"dbus-daemon", "--config-file=" + (dir_ / "bus.conf").string(), "--nofork",
                  "--print-address"};
    spawn.log_file = dir_ / "bus.out";
    auto process = Process::spawn(std::move(spawn));
    if (!process) return process.error();
    bus_.emplace(std::move(*process));
    // It prints its address once it listens.
    auto printed = [this] { return file_tail(dir_ / "bus.out").find("unix:path=") != std::string::npos; };
    if (auto s = wait_ready(*bus_, printed, "dbus-daemon"); !s) return s;
    address_ = "unix:path=" + socket.string();
    return {};
}

Status SystemdFixture::start_systemd()
{
    SpawnOptions spawn;
    spawn.argv = {fake_systemd_path(),
                  "--address",
                  address_,
                  "--log",
                  (dir_ / "calls.log").string(),
                  "--ready-file",
                  (dir_ / "ready").string(),
                  "--dropin-dir",
                  (dir_ / "run-systemd" / "system").string(),
                  "--job-delay-ms",
                  kJobDelayMs};
    for (const auto& [name, kind] : units_) {
        spawn.argv.emplace_back("--unit");
        spawn.argv.push_back(name);
        spawn.argv.back().append("=").append(kind);
    }
    spawn.log_file = dir_ / "fake.out";
    auto process = Process::spawn(std::move(spawn));
    if (!process) return process.error();
    fake_.emplace(std::move(*process));
    return wait_ready(
        *fake_, [this] { return std::filesystem::exists(dir_ / "ready"); }, "outpost-fake-systemd");
}

void SystemdFixture::adjust(GuestDaemonOptions& options) const
{
    options.env.emplace_back("DBUS_SYSTEM_BUS_ADDRESS", address_);
    wrap_in_mounts(options, BindMount{dir_ / "run-systemd", kSystemdRunMountPoint});
}

std::vector<std::string> SystemdFixture::calls() const
{
    auto text = read_file(dir_ / "calls.log");
    return collapse_repeats(lines_of(text ? *text : std::string()));
}

void SystemdFixture::observe(ScenarioContext& s)
{
    for (const auto& line : calls())
        s.observe(wire::Element{"systemd", {{"call", line}}, {}});
    // Drop-ins still in place at the end (a unit started and never stopped keeps one).
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_ / "run-systemd" / "system", ec)) {
        if (std::filesystem::exists(entry.path() / "50-pacemaker.conf", ec))
            left.push_back(entry.path().filename().string());
    }
    std::sort(left.begin(), left.end());
    for (const auto& unit : left)
        s.observe("drop-in left at the end", unit);
}

// ---------------------------------------------------------------------------- nagios

namespace {

constexpr const char* kPluginScript = R"SH(#!/bin/sh
# Outpost conformance test plugin (a private copy per test run, see fixtures.hpp).
name=$(basename "$0")
top=$(dirname "$0")/..
{ printf '%s' "$name"; for a in "$@"; do printf ' [%s]' "$a"; done; echo; } >> "$top/runs"
case "$name" in
    check_outpostconf-env)
        { echo "cwd=$(pwd)"; echo "uid=$(id -u)"; env | grep -E '^(OCF_|CRM_)' | LC_ALL=C sort; } > "$top/env.txt"
        exit 0 ;;
    check_outpostconf-err)
        echo "$name stdout"
        echo "$name stderr" >&2
        echo "ocf-exit-reason:nagios plugins have no exit reason" >&2
        exit 2 ;;
esac
echo "$name stdout"
exit "${name#check_outpostconf-rc}"
)SH";

constexpr const char* kPlugins[] = {"check_outpostconf-rc0", "check_outpostconf-rc1", "check_outpostconf-rc2",
                                    "check_outpostconf-rc3", "check_outpostconf-rc4", "check_outpostconf-rc7",
                                    "check_outpostconf-err", "check_outpostconf-env"};

}  // namespace

Result<std::unique_ptr<Fixture>> NagiosFixture::create(const std::filesystem::path& dir, bool plugins_present)
{
    std::unique_ptr<NagiosFixture> fixture(new NagiosFixture(dir / "nagios"));
    if (auto s = mkdirs(fixture->dir_); !s) return s.error();
    if (auto s = ensure_mount_point(kNagiosMountPoint); !s) return s.error();
    if (plugins_present) {
        if (auto s = mkdirs(fixture->dir_ / "plugins"); !s) return s.error();
        for (const char* plugin : kPlugins) {
            if (auto s = write_file(fixture->dir_ / "plugins" / plugin, kPluginScript, 0755); !s)
                return s.error();
        }
    }
    return std::unique_ptr<Fixture>(std::move(fixture));
}

void NagiosFixture::adjust(GuestDaemonOptions& options) const
{
    wrap_in_mounts(options, BindMount{dir_, kNagiosMountPoint});
}

void NagiosFixture::observe(ScenarioContext& s)
{
    auto runs = read_file(dir_ / "runs");
    for (const auto& line : collapse_repeats(lines_of(runs ? *runs : std::string())))
        s.observe(wire::Element{"nagios", {{"run", line}}, {}});
    if (auto env = read_file(dir_ / "env.txt"))
        s.observe(wire::Element{"file", {{"name", "plugin environment"}, {"content", *env}}, {}});
}

}  // namespace outpost::test::conformance
