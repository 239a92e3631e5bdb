// lifecycle/emulator_exit: which PID file names a domain's QEMU, the check of its command
// line, and the exit notice of a real process (a child of the test) on a GLib loop.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "lifecycle/emulator_exit.hpp"
#include "support/main_loop.hpp"

using namespace outpost::cluster::lifecycle;
using namespace std::chrono_literals;
using namespace std::string_literals;

TEST_CASE("only a local QEMU system instance has an emulator PID file")
{
    CHECK(emulator_pid_file("qemu:///system", "vm1") == std::filesystem::path("/run/libvirt/qemu/vm1.pid"));
    CHECK(emulator_pid_file("qemu+unix:///system?socket=/x", "vm1").has_value());
    CHECK_FALSE(emulator_pid_file("qemu:///session", "vm1"));
    CHECK_FALSE(emulator_pid_file("qemu+ssh://host/system", "vm1"));
    CHECK_FALSE(emulator_pid_file("lxc:///", "ct1"));
    CHECK_FALSE(emulator_pid_file("test:///default", "t"));
    CHECK_FALSE(emulator_pid_file("qemu:///system", "../etc/x"));
    CHECK_FALSE(emulator_pid_file("qemu:///system", ""));
    // No such domain running: no PID.
    CHECK_FALSE(emulator_pid("qemu:///system", "outpost-no-such-domain"));
}

TEST_CASE("a QEMU command line is matched to its domain by -name guest=")
{
    const std::string cmd = "/usr/bin/qemu-system-x86_64\0-name\0guest=vm1,debug-threads=on\0-S\0"s;
    CHECK(is_qemu_of(cmd, "vm1"));
    CHECK_FALSE(is_qemu_of(cmd, "vm"));
    CHECK_FALSE(is_qemu_of(cmd, "vm12"));
    CHECK(is_qemu_of("qemu\0-name\0guest=vm1\0"s, "vm1"));
    // libvirt doubles a comma in the name.
    CHECK(is_qemu_of("qemu\0-name\0guest=a,,b,debug-threads=on\0"s, "a,b"));
    CHECK_FALSE(is_qemu_of("qemu\0-name\0guest=a,,b,debug-threads=on\0"s, "a"));
    CHECK_FALSE(is_qemu_of("/bin/sleep\0100\0"s, "vm1"));
    CHECK_FALSE(is_qemu_of("", "vm1"));
}

TEST_CASE("a process's exit is noticed once, before it is reaped")
{
    GMainContext* context = g_main_context_new();
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    int exits = 0;
    auto w = ProcessExit::watch(context, child, [&] { ++exits; });
    REQUIRE(w.ok());
    CHECK((*w)->pid() == child);
    outpost::test::loop_for(context, 100ms);
    CHECK(exits == 0);
    REQUIRE(kill(child, SIGKILL) == 0);
    // Not reaped yet (a zombie): the pidfd says it exited all the same.
    CHECK(outpost::test::run_until(
        context, [&] { return exits == 1; }, 5s));
    outpost::test::loop_for(context, 100ms);
    CHECK(exits == 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    // A process that is gone already cannot be watched.
    auto gone = ProcessExit::watch(context, child, [] {});
    CHECK_FALSE(gone.ok());
    w->reset();
    g_main_context_unref(context);
}
