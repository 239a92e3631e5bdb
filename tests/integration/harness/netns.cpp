#include "harness/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "harness/command.hpp"

namespace outpost::test {
namespace {

constexpr std::uint32_t kTestNetworkBase = (10U << 24) | (213U << 16);

// Spreads first choices so that neighbouring PIDs do not start on the same subnet.
constexpr unsigned kPidSpread = 64;

std::atomic<unsigned> instance_counter{0};

std::string format_ipv4(std::uint32_t address)
{
    in_addr addr{htonl(address)};
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &addr, text, sizeof text);
    return text;
}

std::string hex_index(unsigned index)
{
    char text[8];
    (void)std::snprintf(text, sizeof text, "%04x", index);
    return text;
}

// `ip` in the test's namespace, or inside `netns` through setns() in the child: unlike
// `ip -n`, that needs no private mount namespace (which fails e.g. in a chroot).
Status ip(const std::vector<std::string>& args, const Netns* netns = nullptr)
{
    std::vector<std::string> argv{"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_checked(argv, netns);
    if (!result) return result.error();
    return {};
}

}  // namespace

bool netns_exists(const std::string& name)
{
    struct stat st {};
    return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}

bool host_link_exists(const std::string& name)
{
    return ::if_nametoindex(name.c_str()) != 0;
}

Result<Netns> Netns::claim()
{
    if (::mkdir(kLockDir, 0755) != 0 && errno != EEXIST) {
        return make_error("harness", -errno, std::string("mkdir ") + kLockDir + ": " + strerror(errno));
    }
    unsigned start = (static_cast<unsigned>(::getpid()) * kPidSpread + instance_counter++) % kSubnetCount;
    Netns ns;
    for (unsigned attempt = 0; attempt < kSubnetCount && !ns.lock_.valid(); ++attempt) {
        unsigned index = (start + attempt) % kSubnetCount;
        std::string lock_path = std::string(kLockDir) + "/net-" + hex_index(index) + ".lock";
        UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd.valid()) return make_error("harness", -errno, "open " + lock_path + ": " + strerror(errno));
        // flock conflicts between open file descriptions, so this also separates two
        // instances inside one process.
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
        ns.index_ = index;
        ns.lock_ = std::move(fd);
    }
    if (!ns.lock_.valid()) {
        return make_error("harness", -EADDRINUSE, std::string("no free test subnet left in ") + kTestNetwork);
    }
    std::string id = hex_index(ns.index_);
    ns.name_ = kNetnsPrefix + id;
    ns.host_if_ = ns.name_ + "-h";
    ns.guest_if_ = ns.name_ + "-g";
    return ns;
}

Result<Netns> Netns::create()
{
    auto ns = claim();
    if (!ns) return ns.error();
    std::uint32_t base = kTestNetworkBase + ns->index_ * 4;
    ns->host_address_ = format_ipv4(base + 1);
    ns->guest_address_ = format_ipv4(base + 2);
    std::string prefix = "/" + std::to_string(kSubnetPrefix);
    auto status = ns->set_up({{"addr", "add", ns->host_address_ + prefix, "dev", ns->host_if_},
                              {"link", "set", ns->host_if_, "up"}},
                             ns->guest_address_ + prefix);
    if (!status)
        return make_error("harness", status.error().code,
                          "creating namespace " + ns->name_ + ": " + status.error().message);
    return ns;
}

Result<Netns> Netns::create_on(const Bridge& bridge, const std::string& address)
{
    auto ns = claim();
    if (!ns) return ns.error();
    ns->host_address_ = bridge.host_address();
    ns->guest_address_ = address;
    auto status = ns->set_up({{"link", "set", ns->host_if_, "master", bridge.name(), "up"}},
                             address + "/" + std::to_string(bridge.prefix_length()));
    if (!status)
        return make_error(
            "harness", status.error().code,
            "creating namespace " + ns->name_ + " on " + bridge.name() + ": " + status.error().message);
    return ns;
}

Status Netns::set_up(const std::vector<std::vector<std::string>>& host_side, const std::string& guest_cidr)
{
    // We hold the lock for this index, so anything carrying its names is a leftover of a
    // test process that died: ours to remove.
    if (host_link_exists(host_if_)) (void)ip({"link", "del", host_if_});
    if (netns_exists(name_)) (void)ip({"netns", "del", name_});

    if (auto s = ip({"netns", "add", name_}); !s) return s;
    live_ = true;
    if (auto s = ip({"link", "add", host_if_, "type", "veth", "peer", "name", guest_if_, "netns", name_}); !s)
        return s;
    for (const auto& args : host_side) {
        if (auto s = ip(args); !s) return s;
    }
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"addr", "add", guest_cidr, "dev", guest_if_},
             {"link", "set", guest_if_, "up"},
             {"link", "set", "lo", "up"},
         }) {
        if (auto s = ip(args, this); !s) return s;
    }
    return {};
}

Netns::Netns(Netns&& other) noexcept
    : index_(other.index_),
      name_(std::move(other.name_)),
      host_if_(std::move(other.host_if_)),
      guest_if_(std::move(other.guest_if_)),
      host_address_(std::move(other.host_address_)),
      guest_address_(std::move(other.guest_address_)),
      lock_(std::move(other.lock_)),
      live_(std::exchange(other.live_, false))
{
}

Netns& Netns::operator=(Netns&& other) noexcept
{
    if (this != &other) {
        (void)destroy();
        index_ = other.index_;
        name_ = std::move(other.name_);
        host_if_ = std::move(other.host_if_);
        guest_if_ = std::move(other.guest_if_);
        host_address_ = std::move(other.host_address_);
        guest_address_ = std::move(other.guest_address_);
        lock_ = std::move(other.lock_);
        live_ = std::exchange(other.live_, false);
    }
    return *this;
}

Netns::~Netns()
{
    auto status = destroy();
    if (!status) (void)std::fprintf(stderr, "harness: %s\n", status.error().describe().c_str());
}

std::string Netns::subnet() const
{
    return format_ipv4(kTestNetworkBase + index_ * 4) + "/" + std::to_string(kSubnetPrefix);
}

std::vector<std::string> Netns::exec_prefix() const
{
    return {"ip", "netns", "exec", name_};
}

std::vector<std::string> Netns::wrap(const std::vector<std::string>& argv) const
{
    auto full = exec_prefix();
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

Status Netns::destroy()
{
    if (!live_) {
        lock_.reset();
        return {};
    }
    live_ = false;
    std::string problems;

    // Only processes the test started can be inside; a daemon still running here would
    // keep the namespace alive after its name is gone.
    if (auto pids = run_command({"ip", "netns", "pids", name_}); pids && pids->succeeded()) {
        std::istringstream lines(pids->output);
        long pid = 0;
        while (lines >> pid) {
            if (pid <= 1) continue;
            (void)std::fprintf(stderr, "harness: killing PID %ld still running in namespace %s\n", pid,
                               name_.c_str());
            ::kill(static_cast<pid_t>(pid), SIGKILL);
        }
    }
    // Deleting the host end removes the pair at once; the namespace's own cleanup would
    // remove it only later, asynchronously.
    if (host_link_exists(host_if_)) {
        if (auto s = ip({"link", "del", host_if_}); !s) problems += s.error().message + "; ";
    }
    if (auto s = ip({"netns", "del", name_}); !s) problems += s.error().message + "; ";
    if (netns_exists(name_)) problems += "namespace " + name_ + " still exists; ";
    lock_.reset();
    if (!problems.empty()) {
        return make_error("harness", -EBUSY, "deleting namespace " + name_ + ": " + problems);
    }
    return {};
}

Result<ScopedNetns> ScopedNetns::enter(const Netns& netns)
{
    UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!original.valid()) {
        return make_error("harness", -errno,
                          std::string("open /proc/thread-self/ns/net: ") + strerror(errno));
    }
    UniqueFd target(::open(netns.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!target.valid())
        return make_error("harness", -errno, "open " + netns.path() + ": " + strerror(errno));
    if (::setns(target.get(), CLONE_NEWNET) != 0) {
        return make_error("harness", -errno, "setns into " + netns.name() + ": " + strerror(errno));
    }
    return ScopedNetns(std::move(original));
}

ScopedNetns::~ScopedNetns()
{
    if (!original_.valid()) return;
    if (::setns(original_.get(), CLONE_NEWNET) != 0) {
        // Carrying on in the wrong namespace would make every later result meaningless.
        (void)std::fprintf(stderr, "harness: cannot return to the original network namespace: %s\n",
                           strerror(errno));
        std::abort();
    }
}

Result<UniqueFd> socket_in(const Netns& netns, int domain, int type, int protocol)
{
    // A short-lived thread enters the namespace, so the caller's thread never moves.
    Result<UniqueFd> result = make_error("harness", -EINVAL, "socket_in: not run");
    std::thread worker([&] {
        auto scope = ScopedNetns::enter(netns);
        if (!scope) {
            result = scope.error();
            return;
        }
        int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
        if (fd < 0) {
            result = make_error("harness", -errno, "socket in " + netns.name() + ": " + strerror(errno));
        } else {
            result = UniqueFd(fd);
        }
    });
    worker.join();
    return result;
}

// --- Bridge ------------------------------------------------------------------------------

Result<Bridge> Bridge::create(std::string name, std::string host_address, int prefix_length)
{
    Bridge bridge;
    bridge.name_ = std::move(name);
    bridge.host_address_ = std::move(host_address);
    bridge.prefix_length_ = prefix_length;
    // A bridge of that name is a crashed run's leftover: callers hold the lock that
    // makes the name theirs (see the header).
    if (host_link_exists(bridge.name_)) (void)ip({"link", "del", bridge.name_});
    if (auto s = ip({"link", "add", bridge.name_, "type", "bridge"}); !s) return s.error();
    bridge.live_ = true;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"addr", "add", bridge.host_address_ + "/" + std::to_string(prefix_length), "dev", bridge.name_},
             {"link", "set", bridge.name_, "up"},
         }) {
        if (auto s = ip(args); !s) return s.error();
    }
    return bridge;
}

Bridge::Bridge(Bridge&& other) noexcept
    : name_(std::move(other.name_)),
      host_address_(std::move(other.host_address_)),
      prefix_length_(other.prefix_length_),
      live_(std::exchange(other.live_, false))
{
}

Bridge::~Bridge()
{
    auto status = destroy();
    if (!status) (void)std::fprintf(stderr, "harness: %s\n", status.error().describe().c_str());
}

Status Bridge::destroy()
{
    if (!live_) return {};
    live_ = false;
    if (auto s = ip({"link", "del", name_}); !s) return s;
    return {};
}

}  // namespace outpost::test
