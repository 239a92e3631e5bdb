// libvirt connections and domains behind RAII owners, with every failure as a value.
//
// Hypervisor owns one virConnectPtr, Domain one virDomainPtr (both closed or freed by
// their destructors). Calls block (libvirt's API is synchronous); what must not block a
// main loop is the caller's concern (the OCF agent is a short-lived process, the watcher
// only does quick state queries). libvirt's own habit of printing every error to stderr is
// switched off by initialize(): errors come back as outpost::Error values, domain
// "libvirt", code = libvirt's virErrorNumber, message "<what we did>: <libvirt's message>".
//
// The header includes libvirt's own (its handle types are named by the owners).
#pragma once

#include <libvirt/libvirt.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifecycle/domain_state.hpp"
#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

inline constexpr const char* kErrorDomain = "libvirt";

// Once per process, before any other call: virInitialize(), and libvirt's default error
// printer replaced by a silent one. Idempotent.
Status initialize();

bool is_no_domain(const Error& error);
bool is_unsupported(const Error& error);
// The hypervisor refused the definition (XML or configuration not valid for it).
bool is_config_error(const Error& error);
bool is_operation_invalid(const Error& error);
// The hypervisor is not there (libvirtd down, no such driver, connection lost).
bool is_connection_failure(const Error& error);

struct ConnectClose {
    void operator()(virConnectPtr connection) const noexcept;
};
struct DomainFree {
    void operator()(virDomainPtr domain) const noexcept;
};
using ConnectPtr = std::unique_ptr<virConnect, ConnectClose>;
using DomainPtr = std::unique_ptr<virDomain, DomainFree>;

// virDomainShutdownFlags modes, by the names `virsh shutdown --mode` takes.
enum class ShutdownMode : unsigned {
    hypervisor_default = 0,
    acpi = 1U << 0,
    agent = 1U << 1,
    initctl = 1U << 2,
    signal = 1U << 3,
    paravirt = 1U << 4,
};
// Parses a comma-separated list of mode names ("acpi", "agent", "initctl", "signal",
// "paravirt"; empty = hypervisor default) into virDomainShutdownFlags bits.
Result<unsigned> parse_shutdown_modes(std::string_view text);

struct DomainInfo {
    unsigned vcpus = 0;
    std::uint64_t max_memory_kib = 0;
    std::uint64_t memory_kib = 0;
    State state = State::no_state;  // as status() has it, without the reason
};

struct MigrationRequest {
    std::string destination_uri;  // the peer libvirtd (peer-to-peer)
    std::string data_uri;         // VIR_MIGRATE_PARAM_URI, empty = libvirt's choice
    unsigned long long bandwidth_mib_s = 0;
    std::chrono::milliseconds max_downtime{0};
    unsigned flags = 0;  // VIR_MIGRATE_*
};

class Domain {
public:
    explicit Domain(DomainPtr domain);

    // Read once at construction: every libvirt call resets libvirt's last error, so error
    // messages must not call into libvirt between a failure and last_error().
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::string uuid() const;
    [[nodiscard]] Result<DomainStatus> status() const;
    [[nodiscard]] Result<bool> persistent() const;
    [[nodiscard]] Result<DomainInfo> info() const;
    // virDomainGetXMLDesc with `flags` (VIR_DOMAIN_XML_*).
    [[nodiscard]] Result<std::string> xml(unsigned flags = 0) const;
    // The owner mark's resource in the persistent definition ("" when unmarked).
    [[nodiscard]] std::string owner() const;

    Status start();  // virDomainCreate
    Status shutdown(unsigned modes);
    Status destroy();
    // Removes the persistent definition; managed-save images, snapshot and checkpoint
    // metadata go with it, NVRAM and TPM state are kept.
    Status undefine();
    // Peer-to-peer migration (blocks until it has finished or failed).
    Status migrate(const MigrationRequest& request);

    [[nodiscard]] virDomainPtr get() const { return domain_.get(); }

private:
    DomainPtr domain_;
    std::string name_;
};

class Hypervisor {
public:
    // uri "" = libvirt's default. `read_only` opens the read-only socket.
    static Result<Hypervisor> open(const std::string& uri, bool read_only = false);

    [[nodiscard]] const std::string& uri() const { return uri_; }
    // Looks a domain up by name: nullopt when there is none.
    Result<std::optional<Domain>> find(const std::string& name) const;
    Result<std::optional<Domain>> find_by_uuid(const std::string& uuid) const;
    // Every domain this hypervisor knows, active and inactive.
    Result<std::vector<Domain>> domains() const;
    // Defines (or redefines) a persistent domain from XML, validated against libvirt's
    // schema.
    Result<Domain> define(const std::string& xml);
    // Starts a transient domain from XML (virDomainCreateXML).
    Result<Domain> create_transient(const std::string& xml);
    // Starts the named virtual network and storage pool if they are defined but inactive.
    Status ensure_network_active(const std::string& name);
    Status ensure_pool_active(const std::string& name);
    // Keepalive probes every `interval`, the connection is closed after `count` missed.
    Status set_keepalive(std::chrono::seconds interval, unsigned count);
    [[nodiscard]] bool alive() const;

    [[nodiscard]] virConnectPtr get() const { return connection_.get(); }

private:
    Hypervisor(ConnectPtr connection, std::string uri)
        : connection_(std::move(connection)), uri_(std::move(uri))
    {
    }
    ConnectPtr connection_;
    std::string uri_;  // canonical, as libvirt reports it
};

// The last libvirt error of this thread as an Error ("<what>: <message>"); libvirt's
// error is reset. Build `what` without calling libvirt: any libvirt call resets the error.
Error last_error(const std::string& what);

}  // namespace outpost::cluster::lifecycle
