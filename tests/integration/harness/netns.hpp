// Netns: RAII owner of a throw-away network namespace for one integration test.
//
// create() claims a free /30 inside 10.213.0.0/16 (kTestNetwork) by taking an exclusive
// flock on /run/outpost-harness/net-<index>.lock, so instances in one process and in
// concurrent test processes never share a subnet, and a crashed test's claim is released
// by the kernel with its process. From the index come the names: namespace "op-<hex>",
// veth "op-<hex>-h" on the host and "op-<hex>-g" inside (all <= 15 characters). The host
// end gets .1 and the guest end .2 of the /30; lo is up inside. Leftovers of a crashed run
// with the same index (namespace, host veth) are removed before reuse.
//
// The destructor kills (by PID, SIGKILL) whatever still runs inside the namespace (only
// harness-started processes can be there), then deletes the namespace; the veth pair goes
// with it. Destroy Process objects first: declare the Netns before them.
//
// create_on(bridge, address) makes the same namespace and veth pair, but plugs the host end
// into a Bridge and gives the inside `address` on the bridge's subnet: namespaces on one
// bridge share an L2 segment (cluster nodes talking corosync to each other, remote nodes
// reachable from every cluster node); host_address() is then the bridge's address.
//
// ScopedNetns switches the calling thread into a namespace for in-process clients (our own
// TLS client connecting from "inside the guest"); socket_in() creates one socket there.
#pragma once

#include <string>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr const char* kTestNetwork = "10.213.0.0/16";
inline constexpr int kSubnetPrefix = 30;
inline constexpr unsigned kSubnetCount = 1U << (32 - 16 - 2);  // /30s in the /16
inline constexpr const char* kNetnsPrefix = "op-";
inline constexpr const char* kLockDir = "/run/outpost-harness";

class Bridge;

class Netns {
public:
    static Result<Netns> create();
    static Result<Netns> create_on(const Bridge& bridge, const std::string& address);

    Netns(Netns&& other) noexcept;
    Netns& operator=(Netns&& other) noexcept;
    Netns(const Netns&) = delete;
    Netns& operator=(const Netns&) = delete;
    ~Netns();

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::string path() const { return "/run/netns/" + name_; }  // for setns()
    [[nodiscard]] unsigned subnet_index() const { return index_; }
    [[nodiscard]] std::string subnet() const;  // "10.213.x.y/30"
    [[nodiscard]] const std::string& host_address() const { return host_address_; }
    [[nodiscard]] const std::string& guest_address() const { return guest_address_; }
    [[nodiscard]] const std::string& host_interface() const { return host_if_; }
    [[nodiscard]] const std::string& guest_interface() const { return guest_if_; }
    // {"ip", "netns", "exec", name}: prefix for shell command lines and tools that need it.
    [[nodiscard]] std::vector<std::string> exec_prefix() const;
    // exec_prefix() + argv.
    [[nodiscard]] std::vector<std::string> wrap(const std::vector<std::string>& argv) const;

    // Deletes now rather than at destruction; an Error if something is left behind.
    Status destroy();

private:
    Netns() = default;
    // Takes a free index (its lock) and derives the names from it.
    static Result<Netns> claim();
    Status set_up(const std::vector<std::vector<std::string>>& host_side, const std::string& guest_cidr);

    unsigned index_ = 0;
    std::string name_;
    std::string host_if_;
    std::string guest_if_;
    std::string host_address_;
    std::string guest_address_;
    UniqueFd lock_;
    bool live_ = false;
};

// Bridge: a Linux bridge in the test's own namespace with an address of its own, owned
// until destruction (deleting it detaches the veths plugged into it). create() first
// removes a bridge of that name left by a crashed run: only use names that a lock held by
// the caller makes its own (the multi-node harness holds the machine-wide cluster lock).
class Bridge {
public:
    static Result<Bridge> create(std::string name, std::string host_address, int prefix_length);
    Bridge(Bridge&& other) noexcept;
    Bridge& operator=(Bridge&&) = delete;
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;
    ~Bridge();

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& host_address() const { return host_address_; }
    [[nodiscard]] int prefix_length() const { return prefix_length_; }
    Status destroy();

private:
    Bridge() = default;
    std::string name_;
    std::string host_address_;
    int prefix_length_ = 24;
    bool live_ = false;
};

// True if a namespace of that name exists (/run/netns/NAME).
bool netns_exists(const std::string& name);
// True if a network interface of that name exists in the test's own namespace.
bool host_link_exists(const std::string& name);

// Switches the calling thread into `netns` until destruction (then back).
class ScopedNetns {
public:
    static Result<ScopedNetns> enter(const Netns& netns);
    ScopedNetns(ScopedNetns&& other) noexcept = default;
    ScopedNetns& operator=(ScopedNetns&&) = delete;
    ScopedNetns(const ScopedNetns&) = delete;
    ScopedNetns& operator=(const ScopedNetns&) = delete;
    ~ScopedNetns();

private:
    explicit ScopedNetns(UniqueFd original) : original_(std::move(original)) {}
    UniqueFd original_;
};

// socket(domain, type | SOCK_CLOEXEC, protocol) created inside `netns`; the caller's
// thread stays where it is.
Result<UniqueFd> socket_in(const Netns& netns, int domain, int type, int protocol = 0);

}  // namespace outpost::test
