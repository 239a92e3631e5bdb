// watch/watcher: deciding, on a domain's lifecycle event, whether to report its resource
// failed. libvirt's test driver (test:///default) plays the hypervisor, a scripted
// ClusterTools plays Pacemaker (its CIB made by cib_fixture.hpp). The watcher's answers to
// domain-state queries, and ocf:outpost:guest's front (a real process) asking for them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "cib_fixture.hpp"
#include "guest/monitor_outcome.hpp"
#include "io/source.hpp"
#include "lifecycle/libvirt.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "test_driver.hpp"
#include "watch/state_service.hpp"
#include "watch/watcher.hpp"

using namespace outpost::cluster::watch;
using namespace outpost::test;
namespace lv = outpost::cluster::lifecycle;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Pacemaker as the watcher sees it: a CIB made from `resources`, answered from the loop.
class FakeTools : public ClusterTools {
public:
    explicit FakeTools(GMainContext* context) : context_(context) {}
    void query_cib(std::function<void(outpost::Result<std::string>)> done) override
    {
        ++queries;
        std::string cib = make_cib(resources, properties);
        pending_.push_back(outpost::io::add_idle(context_, [done, cib] { done(cib); }));
    }
    void report_failure(const std::string& resource, const std::string& node,
                        std::function<void(outpost::Status)> done) override
    {
        reports.push_back(resource + "@" + node);
        pending_.push_back(outpost::io::add_idle(context_, [done] { done({}); }));
    }
    std::optional<std::string> agent_action_in_flight(const std::string& resource) override
    {
        auto it = in_flight.find(resource);
        if (it == in_flight.end()) return std::nullopt;
        return it->second;
    }

    std::vector<CibResource> resources;
    std::string properties;
    std::map<std::string, std::string> in_flight;
    std::vector<std::string> reports;
    int queries = 0;

private:
    GMainContext* context_;
    std::vector<outpost::io::Source> pending_;
};

struct Fixture {
    GMainContext* context = test_context();
    outpost::test::TempDir tmp{"outpost-watch-test"};
    fs::path dir = tmp.path();
    lv::Hypervisor keep = lv::Hypervisor::open(kTestUri).value();
    FakeTools tools{context};
    std::vector<Report> reports;
    int refreshes = 0;
    std::unique_ptr<Watcher> watcher;
    // Stands in for libvirt's PID files (a test's own child processes).
    std::map<std::string, pid_t> emulators;

    Fixture() = default;
    ~Fixture()
    {
        watcher.reset();
        remove_test_domains(keep);
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // A running test-driver domain and its resource, active on node1 as far as the CIB goes.
    lv::Domain add_guest(const std::string& rsc, const std::string& domain, const std::string& type = "guest")
    {
        fs::path config = dir / (domain + ".xml");
        std::string xml = "<domain type='test'><name>" + domain +
                          "</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>";
        std::ofstream(config) << xml;
        tools.resources.push_back({rsc, type == "guest" ? "outpost" : "heartbeat", type, config.string(),
                                   kTestUri, "", started_ops(rsc)});
        auto d = keep.define(xml);
        REQUIRE(d.ok());
        REQUIRE(d->start().ok());
        return std::move(*d);
    }
    // Guests busy (a pending stop in the CIB), acting (a stop running, not yet recorded) and
    // off (a recorded stop), their domains named PREFIX-busy, ...: the cluster's own doing.
    std::vector<lv::Domain> cluster_acting_guests(const std::string& prefix)
    {
        std::vector<lv::Domain> out;
        for (const char* id : {"busy", "acting", "off"})
            out.push_back(add_guest(id, prefix + "-" + id));
        resource("busy").ops = {{"busy_last_0", "stop", -1, 193, -1, 0}};
        tools.in_flight["acting"] = "stop";
        resource("off").ops = {{"off_last_0", "stop", 9, 0, 0, 0}};
        return out;
    }
    CibResource& resource(const std::string& id)
    {
        for (auto& r : tools.resources)
            if (r.id == id) return r;
        FAIL("no resource " << id);
        throw std::logic_error("unreachable");
    }

    void start(bool dry_run = false, std::chrono::milliseconds refresh = 60s)
    {
        WatcherOptions o;
        o.node = "node1";
        o.refresh = refresh;
        o.dry_run = dry_run;
        o.emulator_pid = [this](const std::string& uri, const std::string& domain) -> std::optional<pid_t> {
            auto it = emulators.find(domain);
            if (uri != kTestUri || it == emulators.end()) return std::nullopt;
            return it->second;
        };
        watcher = std::make_unique<Watcher>(context, o, tools);
        watcher->on_report = [this](const Report& r) { reports.push_back(r); };
        watcher->on_refresh = [this] { ++refreshes; };
        watcher->start();
        REQUIRE(run_until(
            context, [this] { return refreshes >= 1; }, 5s));
    }
    bool wait_reports(std::size_t n, std::chrono::milliseconds limit = 5s)
    {
        return run_until(
            context, [&] { return reports.size() >= n; }, limit);
    }
    void settle() { loop_for(context, 300ms); }
    // A lifecycle event of `domain` as libvirt would send it.
    void event(const std::string& domain, lv::EventType type, int detail)
    {
        lv::LifecycleEvent e;
        e.uri = kTestUri;
        e.name = domain;
        e.type = static_cast<int>(type);
        e.detail = detail;
        watcher->domain_event(kTestUri, e);
    }
};

// A process standing for a domain's QEMU: killed by the test, reaped at the end.
struct FakeEmulator {
    pid_t pid = fork();
    FakeEmulator()
    {
        REQUIRE(pid >= 0);
        if (pid == 0) {
            pause();
            _exit(0);
        }
    }
    FakeEmulator(const FakeEmulator&) = delete;
    FakeEmulator& operator=(const FakeEmulator&) = delete;
    void end() const { REQUIRE(::kill(pid, SIGKILL) == 0); }
    ~FakeEmulator()
    {
        (void)::kill(pid, SIGKILL);
        (void)::waitpid(pid, nullptr, 0);
    }
};

constexpr int kShutdownHost = static_cast<int>(lv::ShutdownDetail::host);
constexpr int kShutdownGuest = static_cast<int>(lv::ShutdownDetail::guest);
constexpr int kShutdownFinished = static_cast<int>(lv::ShutdownDetail::finished);

}  // namespace

TEST_CASE("a destroyed domain of an active resource is reported once")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-1");
    f.add_guest("vd2", "w-2", "VirtualDomain");
    f.start();
    CHECK(f.watcher->guest_count() == 2);
    CHECK(f.watcher->watched_uris() == std::vector<std::string>{kTestUri});

    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.tools.reports == std::vector<std::string>{"g1@node1"});
    CHECK(f.reports[0].resource == "g1");
    CHECK(f.reports[0].domain == "w-1");
    CHECK(f.reports[0].why == "stopped (destroyed)");
    CHECK(f.reports[0].ok);
    CHECK(f.reports[0].reported >= f.reports[0].noticed);

    // The same history in the CIB (the cluster has not restarted it yet): not again.
    REQUIRE(d.start().ok());
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.size() == 1);

    // A new start recorded: a new death is news again.
    f.resource("g1").ops = started_ops("g1", 20);
    REQUIRE(d.start().ok());
    REQUIRE(d.shutdown(0).ok());
    REQUIRE(f.wait_reports(2));
    CHECK(f.reports[1].why == "stopped (shutdown)");
}

TEST_CASE("what the cluster does itself is never reported")
{
    Fixture f;
    auto acting_guests = f.cluster_acting_guests("w");
    auto& busy = acting_guests[0];
    auto& acting = acting_guests[1];
    auto& off = acting_guests[2];
    auto unmanaged = f.add_guest("unmanaged", "w-unmanaged");
    auto reported = f.add_guest("reported", "w-reported");
    f.resource("unmanaged").meta = "<nvpair id=\"u-m\" name=\"is-managed\" value=\"false\"/>";
    f.resource("reported").ops.push_back({"reported_last_failure_0", "asyncmon", 12, 1, 0, 0});
    f.start();
    for (auto* d : {&busy, &acting, &unmanaged, &reported})
        REQUIRE(d->destroy().ok());
    REQUIRE(off.shutdown(0).ok());
    f.settle();
    CHECK(f.tools.reports.empty());
    CHECK(f.tools.queries >= 4);  // each was checked with a fresh CIB
}

TEST_CASE("maintenance mode holds every report")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-m");
    f.tools.properties = "<nvpair id=\"mm\" name=\"maintenance-mode\" value=\"true\"/>";
    f.start();
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.empty());
}

TEST_CASE("a domain found stopped at a refresh is reported without an event")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-quiet");
    REQUIRE(d.destroy().ok());  // before the watcher runs: no event for it
    f.start(false, 200ms);
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].why == "found not running (no event seen)");
}

TEST_CASE("a resource newer than the last CIB read is found on its domain's event")
{
    Fixture f;
    f.add_guest("g1", "w-old");
    f.start();
    auto d = f.add_guest("g2", "w-new");  // configured after the watcher read the CIB
    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].resource == "g2");
}

TEST_CASE("migrated away is not a death; a dry run reports nothing")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-dry");
    f.start(true);
    REQUIRE(d.destroy().ok());
    REQUIRE(f.wait_reports(1));
    CHECK(f.reports[0].ok);
    CHECK(f.tools.reports.empty());
}

TEST_CASE("a domain running again is not reported")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-again");
    f.start();
    REQUIRE(d.destroy().ok());
    REQUIRE(d.start().ok());  // restarted before the watcher checked (e.g. on_crash=restart)
    f.settle();
    CHECK(f.tools.reports.empty());
}

TEST_CASE("domain-state queries are answered for the CIB's resources with the CIB's parameters only")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-state");
    f.start();
    std::string config = (f.dir / "w-state.xml").string();
    StateQuery q{"g1", kTestUri, config};
    StateAnswer a;
    REQUIRE(run_until(
        f.context,
        [&] {
            a = f.watcher->answer(q);
            return a.kind != StateAnswer::Kind::unknown;
        },
        5s));
    REQUIRE(a.kind == StateAnswer::Kind::state);
    CHECK(a.domain == "w-state");
    CHECK(a.status.state == lv::State::running);
    CHECK(a.max_memory_kib == 64ULL * 1024);
    CHECK(a.vcpus >= 1);

    REQUIRE(d.destroy().ok());
    a = f.watcher->answer(q);
    REQUIRE(a.kind == StateAnswer::Kind::state);
    CHECK(a.status.state == lv::State::shut_off);
    CHECK(lv::reason_name(a.status.state, a.status.reason) == "destroyed");

    REQUIRE(d.undefine().ok());
    CHECK(f.watcher->answer(q).kind == StateAnswer::Kind::absent);

    // Anything the watcher cannot vouch for is left to the agent.
    CHECK(f.watcher->answer(StateQuery{"nosuch", kTestUri, config}).kind == StateAnswer::Kind::unknown);
    CHECK(f.watcher->answer(StateQuery{"g1", "qemu:///system", config}).kind == StateAnswer::Kind::unknown);
    CHECK(f.watcher->answer(StateQuery{"g1", kTestUri, config + ".other"}).kind ==
          StateAnswer::Kind::unknown);
    fs::remove(config);
    CHECK(f.watcher->answer(q).kind == StateAnswer::Kind::unknown);
}

namespace {

// A NULL-terminated environment array over `env` (which must outlive it).
std::vector<char*> env_pointers(std::vector<std::string>& env)
{
    std::vector<char*> p;
    p.reserve(env.size() + 1);
    for (auto& e : env)
        p.push_back(e.data());
    p.push_back(nullptr);
    return p;
}

struct FrontRun {
    int rc = -1;
    std::string stderr_text;
};

// Runs ocf:outpost:guest's front (the built program, OUTPOST_OCF_GUEST_FRONT) with exactly
// `env`, turning the test's loop (which serves the state socket) until it exits.
FrontRun run_front(GMainContext* context, const fs::path& dir, std::vector<std::string> env,
                   const std::string& action = "monitor")
{
    const char* front = std::getenv("OUTPOST_OCF_GUEST_FRONT");
    REQUIRE(front != nullptr);
    fs::path err = dir / "front.err";
    auto envp = env_pointers(env);
    std::string action_arg = action;
    char* argv[] = {const_cast<char*>(front), action_arg.data(), nullptr};
    pid_t pid = 0;
    {
        std::shared_lock lock(fork_lock());
        pid = ::fork();
        if (pid == 0) {
            int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd >= 0) ::dup2(fd, 2);
            ::execve(front, argv, envp.data());
            ::_exit(127);
        }
    }
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(run_until(
        context, [&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10s));
    FrontRun r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err);
    r.stderr_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return r;
}

}  // namespace

TEST_CASE("the guest agent's front answers a monitor from the watcher, and hands the rest to the agent")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-front");
    f.start();
    auto service = StateService::start(f.context, (f.dir / "run" / "watch.sock").string(),
                                       [&f](const StateQuery& q) { return f.watcher->answer(q); });
    REQUIRE(service.ok());
    fs::path state_dir = f.dir / "rsctmp";
    fs::create_directories(state_dir);
    // The agent proper, played by a script that says it ran: exit 42.
    fs::path agent = f.dir / "agent.sh";
    REQUIRE(write_file(agent, "#!/bin/sh\necho \"agent ran: $*\" >&2\nexit 42\n", 0755).ok());
    std::vector<std::string> env = {
        "PATH=/usr/bin:/bin",
        "OCF_RESOURCE_INSTANCE=g1",
        "OCF_RESKEY_config=" + (f.dir / "w-front.xml").string(),
        std::string("OCF_RESKEY_hypervisor=") + kTestUri,
        "OCF_RESKEY_CRM_meta_interval=10000",
        "HA_RSCTMP=" + state_dir.string(),
        "OUTPOST_WATCH_SOCKET=" + (*service)->path(),
        "OUTPOST_GUEST_AGENT=" + agent.string(),
    };
    auto envp = env_pointers(env);
    std::string fingerprint = outpost::ocf::guest::params_fingerprint(envp.data());
    CHECK(fingerprint.find("OCF_RESKEY_CRM_meta") == std::string::npos);

    // Parameters the agent proper has not passed yet: its job.
    auto r = run_front(f.context, f.dir, env);
    CHECK(r.rc == 42);
    CHECK(r.stderr_text.find("agent ran: monitor") != std::string::npos);

    REQUIRE(write_file(outpost::ocf::guest::params_checked_path(state_dir, "g1"), fingerprint).ok());
    // The utilization is not known to be up to date yet (no cache): the agent's job too.
    CHECK(run_front(f.context, f.dir, env).rc == 42);
    REQUIRE(write_file(outpost::ocf::guest::utilization_cache_path(state_dir, "g1"),
                       "cpu=1\nhost_memory=64\nhv_memory=64\n")
                .ok());
    r = run_front(f.context, f.dir, env);
    CHECK(r.rc == 0);
    CHECK(r.stderr_text.empty());

    REQUIRE(d.destroy().ok());
    r = run_front(f.context, f.dir, env);
    CHECK(r.rc == 7);
    CHECK(r.stderr_text.find("ocf-exit-reason:domain w-front is shut off (destroyed)") != std::string::npos);
    auto probe = env;
    probe[4] = "OCF_RESKEY_CRM_meta_interval=0";
    envp = env_pointers(probe);
    REQUIRE(write_file(outpost::ocf::guest::params_checked_path(state_dir, "g1"),
                       outpost::ocf::guest::params_fingerprint(envp.data()))
                .ok());
    r = run_front(f.context, f.dir, probe);
    CHECK(r.rc == 7);
    CHECK(r.stderr_text.empty());  // a probe finding it cleanly off says nothing

    // Other actions, monitor scripts and a service that is gone: the agent proper.
    CHECK(run_front(f.context, f.dir, env, "start").rc == 42);
    auto scripts = env;
    scripts.emplace_back("OCF_RESKEY_monitor_scripts=/bin/true");
    CHECK(run_front(f.context, f.dir, scripts).rc == 42);
    service->reset();
    CHECK(run_front(f.context, f.dir, env).rc == 42);
}

TEST_CASE("a shutdown event is reported at once, and the stop that follows not again")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-sd");
    f.start();
    // QEMU got a signal: libvirt says so long before the process is gone.
    f.event("w-sd", lv::EventType::shutdown, kShutdownHost);
    REQUIRE(f.wait_reports(1));
    CHECK(f.tools.reports == std::vector<std::string>{"g1@node1"});
    CHECK(f.reports[0].why == "shutdown (host)");
    // libvirt's "stopped" when the process is finally gone: reported already.
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.size() == 1);
}

TEST_CASE("a guest's power-off counts unless its <on_poweroff> restarts it")
{
    Fixture f;
    auto off = f.add_guest("off", "w-off");
    auto again = f.add_guest("again", "w-again");
    // w-again's configuration restarts it on a power-off.
    std::ofstream(f.dir / "w-again.xml") << "<domain type='test'><name>w-again</name><memory unit='MiB'>64"
                                            "</memory><os><type>hvm</type></os><on_poweroff>restart"
                                            "</on_poweroff></domain>";
    f.start();
    f.event("w-again", lv::EventType::shutdown, kShutdownGuest);
    f.event("w-again", lv::EventType::shutdown, kShutdownFinished);
    f.event("w-off", lv::EventType::shutdown, kShutdownGuest);
    REQUIRE(f.wait_reports(1));
    f.settle();
    CHECK(f.tools.reports == std::vector<std::string>{"off@node1"});
    CHECK(f.reports[0].why == "shutdown (guest)");
    // A signal to QEMU ends it whatever the configuration says.
    f.event("w-again", lv::EventType::shutdown, kShutdownHost);
    REQUIRE(f.wait_reports(2));
    CHECK(f.tools.reports[1] == "again@node1");
}

TEST_CASE("the shutdowns of the cluster's own stops are not reported")
{
    Fixture f;
    auto acting_guests = f.cluster_acting_guests("sd");
    f.start();
    for (const char* name : {"sd-busy", "sd-acting", "sd-off"})
        f.event(name, lv::EventType::shutdown, kShutdownHost);
    f.settle();
    CHECK(f.tools.reports.empty());
    // Irrelevant events and unknown domains are no suspicion.
    f.event("sd-busy", lv::EventType::resumed, 0);
    f.event("no-such-domain", lv::EventType::shutdown, kShutdownHost);
    f.settle();
    CHECK(f.tools.reports.empty());
}

TEST_CASE("the emulator process's exit is reported at once, the events that follow not again")
{
    Fixture f;
    auto d = f.add_guest("g1", "w-qemu");
    FakeEmulator qemu;
    f.emulators["w-qemu"] = qemu.pid;
    f.start();
    f.settle();
    CHECK(f.tools.reports.empty());
    // libvirt still calls the domain running (a destroy holds it until the process is
    // reaped): the exit alone is reported.
    qemu.end();
    REQUIRE(f.wait_reports(1));
    CHECK(f.tools.reports == std::vector<std::string>{"g1@node1"});
    CHECK(f.reports[0].why == "exited (its process " + std::to_string(qemu.pid) + " ended)");
    f.event("w-qemu", lv::EventType::shutdown, kShutdownHost);
    REQUIRE(d.destroy().ok());
    f.settle();
    CHECK(f.tools.reports.size() == 1);

    // Recovered: a new start recorded and a new process, watched from its "started" event.
    FakeEmulator second;
    f.emulators["w-qemu"] = second.pid;
    f.resource("g1").ops = started_ops("g1", 20);
    REQUIRE(d.start().ok());
    f.settle();
    second.end();
    REQUIRE(f.wait_reports(2));
    CHECK(f.reports[1].why == "exited (its process " + std::to_string(second.pid) + " ended)");
}

TEST_CASE("an emulator process ending under the cluster's own stop, or replaced, is not reported")
{
    Fixture f;
    auto acting = f.add_guest("acting", "w-pacting");
    auto restarted = f.add_guest("restarted", "w-prestarted");
    FakeEmulator a;
    FakeEmulator r;
    FakeEmulator newer;
    f.emulators["w-pacting"] = a.pid;
    f.emulators["w-prestarted"] = r.pid;
    f.tools.in_flight["acting"] = "stop";
    f.start();
    f.settle();
    // The PID file names a newer QEMU of the domain by the time the exit is checked.
    f.emulators["w-prestarted"] = newer.pid;
    a.end();
    r.end();
    f.settle();
    CHECK(f.tools.reports.empty());
}
