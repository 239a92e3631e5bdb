// Self-test of the integration harness: namespaces, processes, readiness checks and the
// real pacemaker-remoted 2.1.5 running inside a namespace, reached through the veth.
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <thread>

#include "harness/catch_support.hpp"
#include "harness/harness.hpp"

extern char** environ;

using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

// REQUIRE on a Result with the error's message in the failure report.
std::uint32_t parse_ipv4(const std::string& text)
{
    in_addr addr{};
    REQUIRE(::inet_pton(AF_INET, text.c_str(), &addr) == 1);
    return ntohl(addr.s_addr);
}

}  // namespace

TEST_CASE("Netns instances get distinct subnets and names, and vanish when destroyed")
{
    auto a = Netns::create();
    require_ok(a);
    auto b = Netns::create();
    require_ok(b);

    CHECK(a->name() != b->name());
    CHECK(a->subnet_index() != b->subnet_index());
    CHECK(a->name().rfind(kNetnsPrefix, 0) == 0);
    CHECK(a->host_interface().size() <= 15);
    CHECK(a->guest_interface().size() <= 15);

    // Each /30 holds its own two addresses, and the two /30s do not overlap.
    for (auto* ns : {&*a, &*b}) {
        std::uint32_t host = parse_ipv4(ns->host_address());
        std::uint32_t guest = parse_ipv4(ns->guest_address());
        CHECK((host & ~3U) == (guest & ~3U));
        CHECK((host >> 16) == ((10U << 8) | 213U));
    }
    CHECK((parse_ipv4(a->host_address()) & ~3U) != (parse_ipv4(b->host_address()) & ~3U));

    // The guest end really is inside, addressed and up; lo is up.
    auto inside = run_checked({"ip", "-o", "addr", "show"}, &*a);
    require_ok(inside);
    CHECK(contains(*inside, a->guest_address() + "/30"));
    CHECK(contains(*inside, "127.0.0.1/8"));
    CHECK_FALSE(contains(*inside, b->guest_address()));
    auto prefixed = run_checked(a->wrap({"ip", "-o", "link", "show", "dev", a->guest_interface()}));
    require_ok(prefixed);
    CHECK(contains(*prefixed, "state UP"));

    // Traffic crosses the veth: listen inside, connect from the host.
    auto listener = socket_in(*a, AF_INET, SOCK_STREAM);
    require_ok(listener);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(4000);
    addr.sin_addr.s_addr = htonl(parse_ipv4(a->guest_address()));
    REQUIRE(::bind(listener->get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener->get(), 1) == 0);
    require_ok(wait_for_tcp(nullptr, a->guest_address(), 4000, 5s));
    // From inside the namespace, the host's end is reachable too, and the listener is
    // not visible in the host's own namespace.
    require_ok(tcp_connect(&*a, a->guest_address(), 4000, 2s));
    CHECK_FALSE(tcp_connect(nullptr, "127.0.0.1", 4000, 500ms).ok());

    std::string name = a->name();
    std::string host_if = a->host_interface();
    require_ok(a->destroy());
    CHECK_FALSE(netns_exists(name));
    CHECK_FALSE(host_link_exists(host_if));
    CHECK(netns_exists(b->name()));

    // Whatever still runs inside when the namespace goes is killed with it, by PID.
    auto straggler = Process::spawn({"sleep", "60"}, &*b);
    require_ok(straggler);
    require_ok(b->destroy());
    auto status = straggler->wait(5s);
    require_ok(status);
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);
}

TEST_CASE("Process reports exit status, environment and output, and runs inside a namespace")
{
    auto dir = TempDir::create();
    require_ok(dir);

    SECTION("exit status, extra environment, log file")
    {
        SpawnOptions options;
        options.argv = {"sh", "-c", "echo \"value=$OUTPOST_HARNESS_TEST\"; echo to-stderr >&2; exit 3"};
        options.env = {{"OUTPOST_HARNESS_TEST", "forty two"}};
        options.log_file = *dir / "out.log";
        auto p = Process::spawn(options);
        require_ok(p);
        auto status = p->wait(10s);
        require_ok(status);
        CHECK(WIFEXITED(*status));
        CHECK(WEXITSTATUS(*status) == 3);
        CHECK_FALSE(p->is_running());
        auto log = read_file(*dir / "out.log");
        require_ok(log);
        CHECK(contains(*log, "value=forty two"));
        CHECK(contains(*log, "to-stderr"));
        CHECK_FALSE(p->signal(SIGTERM).ok());  // never signal a reaped PID
    }

    SECTION("signal, wait timeout, stop escalating to SIGKILL")
    {
        auto p = Process::spawn({"sleep", "60"});
        require_ok(p);
        CHECK(p->is_running());
        auto early = p->wait(100ms);
        REQUIRE_FALSE(early.ok());
        CHECK(early.error().code == -ETIMEDOUT);
        require_ok(p->signal(SIGTERM));
        auto status = p->wait(5s);
        require_ok(status);
        CHECK(WIFSIGNALED(*status));
        CHECK(WTERMSIG(*status) == SIGTERM);

        // A child that ignores SIGTERM is killed after the grace period.
        auto stubborn = Process::spawn({"sh", "-c", "trap '' TERM; exec sleep 60"});
        require_ok(stubborn);
        std::this_thread::sleep_for(100ms);  // let the trap be installed
        auto begin = std::chrono::steady_clock::now();
        auto killed = stubborn->stop(300ms);
        require_ok(killed);
        CHECK(WIFSIGNALED(*killed));
        CHECK(WTERMSIG(*killed) == SIGKILL);
        CHECK(std::chrono::steady_clock::now() - begin < 5s);
    }

    SECTION("the destructor stops and reaps")
    {
        pid_t pid = -1;
        {
            auto p = Process::spawn({"sleep", "60"});
            require_ok(p);
            pid = p->pid();
            CHECK(started_by_harness(pid));
        }
        // Reaped: the PID no longer names our child (waitpid says so without racing reuse).
        int status = 0;
        CHECK(::waitpid(pid, &status, WNOHANG) == -1);
        CHECK(errno == ECHILD);
    }

    SECTION("spawn failures are errors with the reason")
    {
        auto missing = Process::spawn({"outpost-no-such-program"});
        REQUIRE_FALSE(missing.ok());
        CHECK(contains(missing.error().message, "not found"));

        REQUIRE(write_file(*dir / "not-executable", "#!/bin/sh\n", 0644).ok());
        auto denied = Process::spawn({(*dir / "not-executable").string()});
        REQUIRE_FALSE(denied.ok());
    }

    SECTION("inside a namespace")
    {
        auto ns = Netns::create();
        require_ok(ns);
        SpawnOptions options;
        options.argv = {"ip", "-o", "addr", "show"};
        options.netns = &*ns;
        options.log_file = *dir / "ip.log";
        auto p = Process::spawn(options);
        require_ok(p);
        auto status = p->wait(10s);
        require_ok(status);
        CHECK(WIFEXITED(*status));
        auto log = read_file(*dir / "ip.log");
        require_ok(log);
        CHECK(contains(*log, ns->guest_address()));
        CHECK_FALSE(contains(*log, ns->host_address()));
    }
}

TEST_CASE("wait_for_tcp gives up on a closed port and at once when the daemon dies")
{
    auto ns = Netns::create();
    require_ok(ns);

    auto begin = std::chrono::steady_clock::now();
    auto closed = wait_for_tcp(nullptr, ns->guest_address(), 9, 400ms);
    REQUIRE_FALSE(closed.ok());
    CHECK(closed.error().code == -ETIMEDOUT);
    CHECK(contains(closed.error().message, "did not accept"));
    CHECK(std::chrono::steady_clock::now() - begin < 3s);

    auto dying = Process::spawn({"sh", "-c", "exit 4"}, &*ns);
    require_ok(dying);
    begin = std::chrono::steady_clock::now();
    auto dead = wait_for_tcp(nullptr, ns->guest_address(), 3121, 10s, &*dying);
    REQUIRE_FALSE(dead.ok());
    CHECK(contains(dead.error().message, "exited with status 4"));
    CHECK(std::chrono::steady_clock::now() - begin < 5s);

    CHECK_FALSE(wait_for_tcp(nullptr, "not-an-address", 1, 1s).ok());
}

TEST_CASE("TempDir and Authkey")
{
    std::filesystem::path kept;
    {
        auto dir = TempDir::create("outpost-harness-selftest");
        require_ok(dir);
        kept = dir->path();
        CHECK(std::filesystem::is_directory(kept));
        auto key = Authkey::create(*dir / "authkey");
        require_ok(key);
        CHECK(key->bytes().size() == kAuthkeySize);
        struct stat st {};
        REQUIRE(::stat(key->path().c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0600);
        CHECK(st.st_size == static_cast<off_t>(kAuthkeySize));
        auto on_disk = read_file(key->path());
        require_ok(on_disk);
        CHECK(*on_disk == key->bytes());
        auto other = Authkey::create_temporary();
        require_ok(other);
        CHECK(other->bytes() != key->bytes());
        CHECK_FALSE(Authkey::create(*dir / "authkey").ok());  // never overwrites
    }
    CHECK_FALSE(std::filesystem::exists(kept));
}

TEST_CASE("refuse_if_real_cluster recognises foreign configuration and processes")
{
    auto dir = TempDir::create();
    require_ok(dir);
    CHECK(check_corosync_conf(*dir / "missing.conf").ok());
    REQUIRE(write_file(*dir / "ours.conf", std::string(kCorosyncConfMarker) + "\ntotem {\n}\n").ok());
    CHECK(check_corosync_conf(*dir / "ours.conf").ok());
    REQUIRE(write_file(*dir / "theirs.conf", "totem {\n\tcluster_name: production\n}\n").ok());
    auto theirs = check_corosync_conf(*dir / "theirs.conf");
    REQUIRE_FALSE(theirs.ok());
    CHECK(contains(theirs.error().message, "refusing to run"));

    // Debian's corosync package ships a default single-node corosync.conf: untouched, it
    // is no sign of a real cluster.
    if (is_unmodified_conffile(kCorosyncConfPath, "corosync"))
        CHECK(check_corosync_conf(kCorosyncConfPath).ok());
    REQUIRE(write_file(*dir / "corosync.conf", "# edited\n").ok());
    CHECK_FALSE(is_unmodified_conffile(*dir / "corosync.conf", "corosync"));

    // A test cluster of another test process (scripts/test runs the real-cluster tests
    // beside this one) is waited for, not taken for a real one.
    auto cluster_lock = take_cluster_lock();
    REQUIRE(cluster_lock.ok());
    for (pid_t pid : find_processes_named("corosync")) {
        if (!started_by_harness(pid)) OUTPOST_SKIP("a corosync process not started by this test is running");
    }
    // A "corosync" that this test started through the harness is fine ...
    std::filesystem::copy_file("/bin/sleep", *dir / "corosync");
    auto ours = Process::spawn({(*dir / "corosync").string(), "30"});
    require_ok(ours);
    CHECK(check_cluster_processes().ok());
    (void)ours->stop();

    // ... one started behind the harness's back is not.
    std::string program = (*dir / "corosync").string();
    char arg0[] = "corosync";
    char arg1[] = "30";
    char* argv[] = {arg0, arg1, nullptr};
    pid_t foreign = -1;
    REQUIRE(::posix_spawn(&foreign, program.c_str(), nullptr, nullptr, argv, environ) == 0);
    auto refused = check_cluster_processes();
    ::kill(foreign, SIGKILL);
    int status = 0;
    ::waitpid(foreign, &status, 0);
    REQUIRE_FALSE(refused.ok());
    CHECK(contains(refused.error().message, "corosync[" + std::to_string(foreign) + "]"));
}

TEST_CASE("the real pacemaker-remoted runs in a namespace and is reachable from the host")
{
    auto remoted = remoted_path();
    require_ok(remoted);

    auto ns = Netns::create();
    require_ok(ns);
    auto dir = TempDir::create("outpost-remoted");
    require_ok(dir);
    auto key = Authkey::create(*dir / "authkey");
    require_ok(key);

    SpawnOptions options;
    options.argv = {*remoted};
    options.netns = &*ns;
    options.env = {{"PCMK_authkey_location", key->path().string()},
                   {"PCMK_logfile", (*dir / "remoted.log").string()},
                   {"PCMK_remote_port", "3121"}};
    options.log_file = *dir / "remoted.out";
    auto daemon = Process::spawn(options);
    require_ok(daemon);
    INFO("remoted log tail:\n" << file_tail(*dir / "remoted.log"));

    require_ok(wait_for_tcp(nullptr, ns->guest_address(), 3121, 15s, &*daemon));
    // It listens on the wildcard address: reachable on lo inside the namespace as well.
    require_ok(wait_for_tcp(&*ns, "127.0.0.1", 3121, 5s, &*daemon));
    std::this_thread::sleep_for(500ms);
    CHECK(daemon->is_running());
    auto log = read_file(*dir / "remoted.log");
    require_ok(log);
    CHECK(contains(*log, "accepting connections"));

    require_ok(daemon->signal(SIGTERM));
    auto status = daemon->wait(15s);
    require_ok(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    CHECK_FALSE(daemon->is_running());

    std::string name = ns->name();
    require_ok(ns->destroy());
    CHECK_FALSE(netns_exists(name));
    CHECK_FALSE(host_link_exists(ns->host_interface()));
}

TEST_CASE("GuestDaemon starts pacemaker-remoted ready for a client and stops it cleanly")
{
    auto remoted = remoted_path();
    require_ok(remoted);
    auto guest = GuestDaemon::start(*remoted);
    require_ok(guest);
    auto& g = **guest;
    INFO("log tail:\n" << g.log_tail());
    CHECK(g.port() == kRemotePort);
    CHECK(g.address() == g.netns().guest_address());
    CHECK(g.authkey().bytes().size() == kAuthkeySize);
    // A client in the test's own namespace connects through the veth.
    auto conn = tcp_connect(nullptr, g.address(), g.port(), 5s);
    require_ok(conn);
    conn->reset();
    require_ok(g.stop());
    CHECK_FALSE(g.process().is_running());
}
