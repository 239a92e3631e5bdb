// ProcessSpawner with real children: output capture, exit codes, process hygiene,
// timeouts that kill the whole group, exec failures.
#include <signal.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <optional>

#include "executor/process_spawner.hpp"
#include "executor_test_support.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::test;

namespace {

SpawnRequest shell(const std::string& script, std::uint32_t timeout_ms = 10000)
{
    SpawnRequest r;
    r.path = "/bin/sh";
    r.argv = {"/bin/sh", "-c", script};
    r.env = {"PATH=/usr/bin:/bin"};
    r.timeout_ms = timeout_ms;
    r.label = "test";
    return r;
}

std::optional<ChildOutcome> run(ProcessSpawner& spawner, SpawnRequest request, int timeout_ms = 15000)
{
    std::optional<ChildOutcome> result;
    spawner.spawn(std::move(request), [&](ChildOutcome o) { result = std::move(o); });
    CHECK_FALSE(result.has_value());  // never from inside spawn()
    run_until(
        nullptr, [&] { return result.has_value(); }, std::chrono::milliseconds(timeout_ms));
    return result;
}

bool pid_alive(pid_t pid)
{
    return kill(pid, 0) == 0;
}

}  // namespace

TEST_CASE("spawner: exit code, stdout and stderr", "[spawner]")
{
    ProcessSpawner spawner;
    auto o = run(spawner, shell("echo out; echo err >&2; exit 3"));
    REQUIRE(o);
    CHECK(o->end == ChildEnd::exited);
    CHECK(o->exit_code == 3);
    CHECK(o->out == "out\n");
    CHECK(o->err == "err\n");
    CHECK(spawner.running() == 0);
}

TEST_CASE("spawner: input on stdin (fence agents' arguments), refused when too large", "[spawner]")
{
    ProcessSpawner spawner;
    SpawnRequest r = shell("cat; echo stdin=$(readlink /proc/$$/fd/0 | cut -c1-5)");
    r.input = "action=monitor\nport=r1\n";
    auto o = run(spawner, r);
    REQUIRE(o);
    CHECK(o->end == ChildEnd::exited);
    CHECK(o->out == "action=monitor\nport=r1\nstdin=pipe:\n");
    SpawnRequest big = shell("cat >/dev/null");
    big.input.assign(kMaxSpawnInput + 1, 'x');
    o = run(spawner, big);
    REQUIRE(o);
    CHECK(o->end == ChildEnd::spawn_failed);
    CHECK(o->error == E2BIG);
}

TEST_CASE("spawner: child hygiene (group, stdin, fds, signals, cwd, env)", "[spawner]")
{
    TempDir dir;
    ProcessSpawner spawner;
    // An fd the daemon holds open without CLOEXEC must not leak into the child.
    int leaked = dup2(STDERR_FILENO, 100);
    SpawnRequest r = shell(
        "echo pgid=$(ps -o pgid= -p $$ | tr -d ' ') pid=$$;"
        "echo fds=$(ls /proc/$$/fd | sort -n | tr '\\n' ' ');"
        "echo stdin=$(readlink /proc/$$/fd/0);"
        "echo sigpipe=$(grep SigIgn /proc/$$/status | cut -f2);"
        "echo blocked=$(grep SigBlk /proc/$$/status | cut -f2);"
        "echo cwd=$(pwd); echo env=$FOO");
    r.env.emplace_back("FOO=bar");
    r.working_dir = dir.path();
    // SIGPIPE ignored and SIGUSR1 blocked in the daemon must not reach the child.
    (void)signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    auto o = run(spawner, r);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    close(leaked);
    REQUIRE(o);
    INFO(o->out);
    CHECK(o->out.find("pgid=" + std::to_string(o->pid) + " pid=" + std::to_string(o->pid)) !=
          std::string::npos);
    CHECK(o->out.find("fds=0 1 2") != std::string::npos);
    CHECK(o->out.find(" 100") == std::string::npos);
    CHECK(o->out.find("stdin=/dev/null") != std::string::npos);
    CHECK(o->out.find("sigpipe=0000000000000000") != std::string::npos);
    CHECK(o->out.find("blocked=0000000000000000") != std::string::npos);
    CHECK(o->out.find("cwd=" + dir.path().string()) != std::string::npos);
    CHECK(o->out.find("env=bar") != std::string::npos);
}

TEST_CASE("spawner: timeout SIGKILLs the whole process group", "[spawner]")
{
    TempDir dir;
    ProcessSpawner spawner;
    std::string pidfile = dir / "grandchild.pid";
    gint64 t0 = g_get_monotonic_time();
    auto o = run(spawner, shell("sleep 60 & echo $! > " + pidfile + "; wait", 500));
    REQUIRE(o);
    CHECK(o->end == ChildEnd::timed_out);
    CHECK((g_get_monotonic_time() - t0) / 1000 >= 500);
    pid_t grandchild = std::stoi(read_file(pidfile));
    CHECK(run_until(
        nullptr, [&] { return !pid_alive(grandchild); }, 3000ms));
}

TEST_CASE("spawner: kill_group=false kills only the pid", "[spawner]")
{
    TempDir dir;
    ProcessSpawner spawner;
    std::string pidfile = dir / "grandchild.pid";
    SpawnRequest r = shell("sleep 60 & echo $! > " + pidfile + "; wait", 300);
    r.kill_group = false;
    auto o = run(spawner, r);
    REQUIRE(o);
    CHECK(o->end == ChildEnd::timed_out);
    pid_t grandchild = std::stoi(read_file(pidfile));
    CHECK(pid_alive(grandchild));
    kill(grandchild, SIGKILL);
}

TEST_CASE("spawner: result does not wait for descendants holding the pipes", "[spawner]")
{
    ProcessSpawner spawner;
    gint64 t0 = g_get_monotonic_time();
    auto o = run(spawner, shell("(sleep 3; echo late) & echo early; exit 0"));
    REQUIRE(o);
    CHECK((g_get_monotonic_time() - t0) / 1000 < 2000);
    CHECK(o->out == "early\n");
    CHECK(o->exit_code == 0);
}

TEST_CASE("spawner: exec failure reported from the loop", "[spawner]")
{
    ProcessSpawner spawner;
    SpawnRequest r;
    r.path = "/nonexistent/agent";
    r.argv = {r.path};
    auto o = run(spawner, r);
    REQUIRE(o);
    CHECK(o->end == ChildEnd::spawn_failed);
    CHECK(o->error == ENOENT);

    TempDir dir;
    write_file(dir / "noexec", "#!/bin/sh\n", 0644);
    r.path = dir / "noexec";
    auto p = run(spawner, r);
    REQUIRE(p);
    CHECK(p->end == ChildEnd::spawn_failed);
    CHECK(p->error == EACCES);
}

TEST_CASE("spawner: kill() reports signaled; output is capped with a tail", "[spawner]")
{
    ProcessSpawner spawner;
    std::optional<ChildOutcome> result;
    auto id = spawner.spawn(shell("sleep 30"), [&](ChildOutcome o) { result = std::move(o); });
    loop_for(nullptr, 100ms);
    CHECK(spawner.kill(id));
    REQUIRE(run_until(
        nullptr, [&] { return result.has_value(); }, 5000ms));
    CHECK(result->end == ChildEnd::signaled);
    CHECK(result->signal == SIGKILL);
    CHECK_FALSE(spawner.kill(id));

    SpawnRequest big = shell("head -c 300000 /dev/zero | tr '\\0' a; echo; echo LASTLINE");
    big.output_cap = 1000;
    auto o = run(spawner, big);
    REQUIRE(o);
    CHECK(o->out.size() < 1000 + kCapturedTail + 200);
    CHECK(o->out.find("output truncated") != std::string::npos);
    CHECK(o->out.ends_with("LASTLINE\n"));
}
