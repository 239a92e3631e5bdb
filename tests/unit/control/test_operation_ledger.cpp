#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/outpost-controld/operation_ledger.hpp"

using namespace outpost::controld;

namespace {

std::string temp_path()
{
    char pattern[] = "/tmp/outpost-ledger-XXXXXX";
    const int fd = ::mkstemp(pattern);
    REQUIRE(fd >= 0);
    ::close(fd);
    return pattern;
}

pid_t spawn_sleeper()
{
    pid_t pid = 0;
    char arg0[] = "sleep";
    char arg1[] = "30";
    char* argv[] = {arg0, arg1, nullptr};
    REQUIRE(::posix_spawnp(&pid, "sleep", nullptr, nullptr, argv, environ) == 0);
    return pid;
}

}  // namespace

TEST_CASE("the ledger finds the operations still running, by PID and start time", "[control][ledger]")
{
    const std::string path = temp_path();
    OperationLedger ledger(path);
    const pid_t child = spawn_sleeper();
    ledger.add(7, child, std::chrono::seconds(20));
    auto running = still_running(path);
    REQUIRE(running.size() == 1);
    CHECK(running[0].pid == child);
    CHECK(running[0].start_time == process_start_time(child));
    CHECK(running[0].deadline > 0);

    // The operation ended: gone from the file.
    ledger.remove(7);
    CHECK(still_running(path).empty());

    // The process ended without a word (the daemon was killed): not running any more.
    ledger.add(8, child, std::chrono::milliseconds(0));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(still_running(path).empty());
    ::unlink(path.c_str());
}

// Rewritten in place, never shortened (no truncation: it waited for the disk on a file
// system mounted with discard); the blank padding is not taken for an entry.
TEST_CASE("the ledger file never shrinks and its padding reads as nothing", "[control][ledger]")
{
    const std::string path = temp_path();
    {
        std::ofstream(path) << "left by an earlier daemon, longer than anything written below\n";
    }
    OperationLedger ledger(path);
    const pid_t self = ::getpid();
    ledger.add(1, self, std::chrono::seconds(20));
    auto size = [&] { return std::filesystem::file_size(path); };
    const auto one = size();
    ledger.add(2, self, std::chrono::seconds(20));
    const auto two = size();
    CHECK(two > one);
    CHECK(still_running(path).size() == 2);
    ledger.remove(1);
    CHECK(size() == two);
    REQUIRE(still_running(path).size() == 1);
    CHECK(still_running(path)[0].pid == self);
    ledger.remove(2);
    CHECK(size() == two);
    CHECK(still_running(path).empty());
    ::unlink(path.c_str());
}

TEST_CASE("a reused PID, garbage and torn lines are not taken for operations", "[control][ledger]")
{
    const std::string path = temp_path();
    const pid_t self = ::getpid();
    const std::uint64_t start = process_start_time(self);
    REQUIRE(start > 0);
    {
        std::ofstream out(path);
        out << self << " " << start + 1 << " 0\n"  // same PID, another process
            << "garbage\n"
            << "-5 1 1\n"
            << self << " " << start << " 0\n"  // this one
            << self << " " << start;           // torn: no deadline
    }
    auto running = still_running(path);
    REQUIRE(running.size() == 1);
    CHECK(running[0].pid == self);
    CHECK(still_running(path + ".missing").empty());
    CHECK(process_start_time(0) == 0);
    ::unlink(path.c_str());
}
