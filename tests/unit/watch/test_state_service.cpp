// watch/state_protocol and watch/state_service: the domain-state query's lines, and the
// socket that serves them, against real clients (a well-behaved one, and ones that send
// too much, nothing, or garbage).
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "util/fd.hpp"
#include "watch/state_service.hpp"

using namespace outpost::cluster::watch;
using namespace outpost::test;
namespace lc = outpost::cluster::lifecycle;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST_CASE("domain-state lines round-trip and refuse what they cannot carry")
{
    StateQuery q{"vm-1", "qemu:///system", "/etc/libvirt/vm 1.xml"};
    auto line = encode_query(q);
    REQUIRE(line);
    CHECK(*line == "domain-state\tvm-1\tqemu:///system\t/etc/libvirt/vm 1.xml\n");
    auto back = decode_query(*line);
    REQUIRE(back);
    CHECK(back->resource == q.resource);
    CHECK(back->hypervisor == q.hypervisor);
    CHECK(back->config == q.config);
    CHECK(decode_query("domain-state\tvm\t\t/c.xml\n"));  // hypervisor may be empty

    CHECK_FALSE(encode_query(StateQuery{"a\tb", "", "/c"}));
    CHECK_FALSE(encode_query(StateQuery{"a", "", "/c\nx"}));
    CHECK_FALSE(encode_query(StateQuery{"a", "", std::string(kMaxStateLine, 'x')}));
    for (const char* bad :
         {"", "\n", "domain-state\tvm\t\t/c.xml", "domain-state\t\t\t/c\n", "domain-state\tvm\t\t\n",
          "domain-state\tvm\t\t/c\textra\n", "state\tvm\t\t/c\n", "domain-state\tvm\t\t/c\n\n"})
        CHECK_FALSE(decode_query(bad));

    StateAnswer running;
    running.kind = StateAnswer::Kind::state;
    running.domain = "vm1";
    running.status = lc::DomainStatus{lc::State::running, 1};
    running.vcpus = 2;
    running.max_memory_kib = 1048576;
    auto a = decode_answer(encode_answer(running));
    REQUIRE(a);
    CHECK(a->kind == StateAnswer::Kind::state);
    CHECK(a->domain == "vm1");
    CHECK(a->status.state == lc::State::running);
    CHECK(a->status.reason == 1);
    CHECK(a->vcpus == 2);
    CHECK(a->max_memory_kib == 1048576);
    StateAnswer unknown;
    unknown.why = "not\tconnected\nyet";
    a = decode_answer(encode_answer(unknown));
    REQUIRE(a);
    CHECK(a->kind == StateAnswer::Kind::unknown);
    CHECK(a->why == "not connected yet");
    CHECK(decode_answer("absent\tvm1\n")->kind == StateAnswer::Kind::absent);
    for (const char* bad :
         {"state\tvm\t9\t0\t1\t1\n", "state\tvm\t-1\t0\t1\t1\n", "state\tvm\t1\t0\t1\n",
          "state\tvm\t1\tx\t1\t1\n", "state\t\t1\t0\t1\t1\n", "absent\t\n", "gone\n", "absent\tvm"})
        CHECK_FALSE(decode_answer(bad));
}

namespace {

outpost::UniqueFd connect_to(const std::string& path)
{
    outpost::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0);
    return fd;
}

// What the service sent before closing ("" if it closed without a word), or nullopt if the
// connection is still open when `limit` passes.
std::optional<std::string> read_until_closed(GMainContext* context, int fd, std::chrono::milliseconds limit)
{
    std::string got;
    bool closed = false;
    (void)run_until(
        context,
        [&] {
            char buf[256];
            for (;;) {
                ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
                if (n > 0) {
                    got.append(buf, static_cast<std::size_t>(n));
                    continue;
                }
                if (n == 0 || errno != EAGAIN) closed = true;
                return closed;
            }
        },
        limit);
    if (!closed) return std::nullopt;
    return got;
}

}  // namespace

TEST_CASE("the state service answers one query per client and drops bad clients")
{
    auto context = new_context();
    TempDir dir("outpost-state-service");
    std::string path = (dir.path() / "sub" / "watch.sock").string();
    int asked = 0;
    auto service = StateService::start(context.get(), path, [&](const StateQuery& q) {
        ++asked;
        StateAnswer a;
        a.kind = StateAnswer::Kind::absent;
        a.domain = q.resource + "-domain";
        return a;
    });
    REQUIRE(service.ok());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    {
        auto fd = connect_to(path);
        std::string q = *encode_query(StateQuery{"vm", "", "/c.xml"});
        REQUIRE(::send(fd.get(), q.data(), q.size(), 0) == static_cast<ssize_t>(q.size()));
        auto got = read_until_closed(context.get(), fd.get(), 5s);
        REQUIRE(got);
        CHECK(*got == "absent\tvm-domain\n");
    }
    SECTION("garbage, an overlong line and two lines are dropped unanswered")
    {
        for (const std::string& bad : {std::string("hello\n"), std::string(kMaxStateLine + 10, 'x'),
                                       *encode_query(StateQuery{"a", "", "/c"}) + "more\n"}) {
            auto fd = connect_to(path);
            (void)::send(fd.get(), bad.data(), bad.size(), MSG_NOSIGNAL);
            auto got = read_until_closed(context.get(), fd.get(), 5s);
            REQUIRE(got);
            CHECK(got->empty());
        }
        CHECK(asked == 1);
    }
    SECTION("a silent client is dropped after the deadline; others are served meanwhile")
    {
        auto silent = connect_to(path);
        auto fd = connect_to(path);
        std::string q = *encode_query(StateQuery{"vm2", "", "/c.xml"});
        REQUIRE(::send(fd.get(), q.data(), q.size(), 0) == static_cast<ssize_t>(q.size()));
        auto got = read_until_closed(context.get(), fd.get(), 5s);
        REQUIRE(got);
        CHECK(*got == "absent\tvm2-domain\n");
        auto dropped = read_until_closed(context.get(), silent.get(), StateService::kClientDeadline + 2s);
        REQUIRE(dropped);
        CHECK(dropped->empty());
        CHECK((*service)->clients() == 0);
    }
    SECTION("a file that is not a socket is never replaced")
    {
        std::string plain = (dir.path() / "plain").string();
        REQUIRE(write_file(plain, "keep").ok());
        CHECK_FALSE(
            StateService::start(context.get(), plain, [](const StateQuery&) { return StateAnswer{}; }).ok());
        CHECK(fs::file_size(plain) == 4);
    }
    service->reset();
    CHECK_FALSE(fs::exists(path));
}
