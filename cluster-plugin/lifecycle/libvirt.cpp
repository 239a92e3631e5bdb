#include "lifecycle/libvirt.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "lifecycle/domain_config.hpp"
#include "util/log.hpp"

namespace outpost::cluster::lifecycle {

namespace {

const outpost::log::Category log_cat{"cluster.lifecycle.libvirt"};

void silent_error_handler(void* /*opaque*/, virErrorPtr /*error*/) {}

struct NetworkFree {
    void operator()(virNetworkPtr network) const noexcept { virNetworkFree(network); }
};
struct PoolFree {
    void operator()(virStoragePoolPtr pool) const noexcept { virStoragePoolFree(pool); }
};
struct CharFree {
    void operator()(char* text) const noexcept { std::free(text); }  // NOLINT: libvirt allocates with malloc
};
using CharPtr = std::unique_ptr<char, CharFree>;

bool has_code(const Error& error, std::initializer_list<int> codes)
{
    if (error.domain != kErrorDomain) return false;
    for (int c : codes)
        if (error.code == c) return true;
    return false;
}

}  // namespace

Status initialize()
{
    static std::once_flag once;
    static int result = 0;
    std::call_once(once, [] {
        result = virInitialize();
        virSetErrorFunc(nullptr, silent_error_handler);
    });
    if (result != 0) return last_error("initialising libvirt");
    return {};
}

Error last_error(const std::string& what)
{
    const virError* e = virGetLastError();
    if (e == nullptr)
        return make_error(kErrorDomain, VIR_ERR_INTERNAL_ERROR, what + ": unknown libvirt error");
    Error out =
        make_error(kErrorDomain, e->code, what + ": " + (e->message != nullptr ? e->message : "no message"));
    virResetLastError();
    return out;
}

bool is_no_domain(const Error& error)
{
    return has_code(error, {VIR_ERR_NO_DOMAIN});
}

bool is_unsupported(const Error& error)
{
    return has_code(error, {VIR_ERR_NO_SUPPORT, VIR_ERR_OPERATION_UNSUPPORTED, VIR_ERR_ARGUMENT_UNSUPPORTED});
}

bool is_config_error(const Error& error)
{
    return has_code(
        error, {VIR_ERR_XML_ERROR, VIR_ERR_XML_DETAIL, VIR_ERR_XML_INVALID_SCHEMA, VIR_ERR_CONFIG_UNSUPPORTED,
                VIR_ERR_OS_TYPE, VIR_ERR_NO_NAME, VIR_ERR_NO_OS, VIR_ERR_DOM_EXIST});
}

bool is_operation_invalid(const Error& error)
{
    return has_code(error, {VIR_ERR_OPERATION_INVALID});
}

bool is_connection_failure(const Error& error)
{
    return has_code(error, {VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN, VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC,
                            VIR_ERR_AUTH_FAILED, VIR_ERR_AUTH_UNAVAILABLE});
}

void ConnectClose::operator()(virConnectPtr connection) const noexcept
{
    if (virConnectClose(connection) < 0) virResetLastError();
}

void DomainFree::operator()(virDomainPtr domain) const noexcept
{
    if (virDomainFree(domain) < 0) virResetLastError();
}

Result<unsigned> parse_shutdown_modes(std::string_view text)
{
    static constexpr std::array<std::pair<std::string_view, ShutdownMode>, 5> kModes{{
        {"acpi", ShutdownMode::acpi},
        {"agent", ShutdownMode::agent},
        {"initctl", ShutdownMode::initctl},
        {"signal", ShutdownMode::signal},
        {"paravirt", ShutdownMode::paravirt},
    }};
    unsigned flags = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        auto comma = text.find(',', pos);
        auto word = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
        while (!word.empty() && word.front() == ' ')
            word.remove_prefix(1);
        while (!word.empty() && word.back() == ' ')
            word.remove_suffix(1);
        if (!word.empty()) {
            bool known = false;
            for (const auto& [name, mode] : kModes) {
                if (word == name) {
                    flags |= static_cast<unsigned>(mode);
                    known = true;
                }
            }
            if (!known)
                return make_error("lifecycle", -EINVAL,
                                  "unknown shutdown mode " + outpost::log::quote(word) +
                                      " (known: acpi, agent, initctl, signal, paravirt)");
        }
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return flags;
}

// --- Domain ------------------------------------------------------------------------------

Domain::Domain(DomainPtr domain) : domain_(std::move(domain))
{
    const char* n = virDomainGetName(domain_.get());
    name_ = n != nullptr ? n : "";
}

std::string Domain::uuid() const
{
    std::array<char, VIR_UUID_STRING_BUFLEN> buffer{};
    if (virDomainGetUUIDString(domain_.get(), buffer.data()) < 0) {
        virResetLastError();
        return "";
    }
    return buffer.data();
}

Result<DomainStatus> Domain::status() const
{
    int state = 0;
    int reason = 0;
    if (virDomainGetState(domain_.get(), &state, &reason, 0) < 0)
        return last_error("reading the state of domain " + name_);
    return DomainStatus{static_cast<State>(state), reason};
}

Result<bool> Domain::persistent() const
{
    int p = virDomainIsPersistent(domain_.get());
    if (p < 0) return last_error("asking whether domain " + name_ + " is persistent");
    return p == 1;
}

Result<DomainInfo> Domain::info() const
{
    virDomainInfo info{};
    if (virDomainGetInfo(domain_.get(), &info) < 0)
        return last_error("reading the resources of domain " + name_);
    return DomainInfo{info.nrVirtCpu, info.maxMem, info.memory, static_cast<State>(info.state)};
}

Result<std::string> Domain::xml(unsigned flags) const
{
    CharPtr text(virDomainGetXMLDesc(domain_.get(), flags));
    if (!text) return last_error("reading the XML of domain " + name_);
    return std::string(text.get());
}

std::string Domain::owner() const
{
    CharPtr mark(virDomainGetMetadata(domain_.get(), VIR_DOMAIN_METADATA_ELEMENT, kOwnerNamespace,
                                      VIR_DOMAIN_AFFECT_CURRENT));
    if (!mark) {
        virResetLastError();
        return "";
    }
    return owner_from_mark(mark.get());
}

Status Domain::start()
{
    if (virDomainCreate(domain_.get()) < 0) return last_error("starting domain " + name_);
    return {};
}

Status Domain::shutdown(unsigned modes)
{
    if (virDomainShutdownFlags(domain_.get(), modes) < 0)
        return last_error("shutting domain " + name_ + " down");
    return {};
}

Status Domain::destroy()
{
    if (virDomainDestroy(domain_.get()) < 0) return last_error("destroying domain " + name_);
    return {};
}

Status Domain::undefine()
{
    constexpr unsigned kFlags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |
                                VIR_DOMAIN_UNDEFINE_KEEP_TPM;
    if (virDomainUndefineFlags(domain_.get(), kFlags) == 0) return {};
    Error flagged = last_error("undefining domain " + name_);
    // Drivers without those flags (lxc takes none) refuse them: the plain call then.
    if (!has_code(flagged, {VIR_ERR_INVALID_ARG, VIR_ERR_NO_SUPPORT, VIR_ERR_ARGUMENT_UNSUPPORTED}))
        return flagged;
    log_debug(log_cat, "undefine with flags refused (%s); plain undefine", flagged.message.c_str());
    if (virDomainUndefine(domain_.get()) < 0) return last_error("undefining domain " + name_);
    return {};
}

Status Domain::migrate(const MigrationRequest& request)
{
    virTypedParameterPtr params = nullptr;
    int count = 0;
    int capacity = 0;
    struct ParamsFree {
        virTypedParameterPtr* params;
        int* count;
        ~ParamsFree() { virTypedParamsFree(*params, *count); }
    } free_params{&params, &count};
    if (!request.data_uri.empty() &&
        virTypedParamsAddString(&params, &count, &capacity, VIR_MIGRATE_PARAM_URI, request.data_uri.c_str()) <
            0)
        return last_error("preparing the migration of " + name_);
    if (request.bandwidth_mib_s > 0 &&
        virTypedParamsAddULLong(&params, &count, &capacity, VIR_MIGRATE_PARAM_BANDWIDTH,
                                request.bandwidth_mib_s) < 0)
        return last_error("preparing the migration of " + name_);
    if (request.max_downtime.count() > 0) {
        // QEMU takes the limit as a migration parameter before the migration starts.
        if (virDomainMigrateSetMaxDowntime(
                domain_.get(), static_cast<unsigned long long>(request.max_downtime.count()), 0) < 0) {
            Error e = last_error("setting the maximum downtime of " + name_);
            log_warning(log_cat, "%s (migrating without the limit)", e.message.c_str());
        }
    }
    if (virDomainMigrateToURI3(domain_.get(), request.destination_uri.c_str(), params,
                               static_cast<unsigned>(count), request.flags) < 0)
        return last_error("migrating domain " + name_ + " to " + request.destination_uri);
    return {};
}

// --- Hypervisor --------------------------------------------------------------------------

Result<Hypervisor> Hypervisor::open(const std::string& uri, bool read_only)
{
    if (auto s = initialize(); !s) return s.error();
    const char* name = uri.empty() ? nullptr : uri.c_str();
    ConnectPtr connection(read_only ? virConnectOpenReadOnly(name) : virConnectOpen(name));
    if (!connection)
        return last_error("connecting to " + (uri.empty() ? std::string("libvirt's default URI") : uri));
    CharPtr canonical(virConnectGetURI(connection.get()));
    std::string actual = canonical ? canonical.get() : uri;
    if (!canonical) virResetLastError();
    return Hypervisor(std::move(connection), std::move(actual));
}

Result<std::optional<Domain>> Hypervisor::find(const std::string& name) const
{
    DomainPtr domain(virDomainLookupByName(connection_.get(), name.c_str()));
    if (!domain) {
        Error e = last_error("looking up domain " + name + " on " + uri_);
        if (is_no_domain(e)) return std::optional<Domain>();
        return e;
    }
    return std::optional<Domain>(Domain(std::move(domain)));
}

Result<std::optional<Domain>> Hypervisor::find_by_uuid(const std::string& uuid) const
{
    DomainPtr domain(virDomainLookupByUUIDString(connection_.get(), uuid.c_str()));
    if (!domain) {
        Error e = last_error("looking up domain " + uuid + " on " + uri_);
        if (is_no_domain(e)) return std::optional<Domain>();
        return e;
    }
    return std::optional<Domain>(Domain(std::move(domain)));
}

Result<std::vector<Domain>> Hypervisor::domains() const
{
    virDomainPtr* list = nullptr;
    int n = virConnectListAllDomains(connection_.get(), &list, 0);
    if (n < 0) return last_error("listing the domains of " + uri_);
    std::vector<Domain> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        out.emplace_back(DomainPtr(list[i]));  // NOLINT: libvirt's array
    std::free(list);                           // NOLINT: allocated by libvirt
    return out;
}

Result<Domain> Hypervisor::define(const std::string& xml)
{
    DomainPtr domain(virDomainDefineXMLFlags(connection_.get(), xml.c_str(), VIR_DOMAIN_DEFINE_VALIDATE));
    if (!domain) return last_error("defining the domain on " + uri_);
    return Domain(std::move(domain));
}

Result<Domain> Hypervisor::create_transient(const std::string& xml)
{
    DomainPtr domain(virDomainCreateXML(connection_.get(), xml.c_str(), VIR_DOMAIN_START_VALIDATE));
    if (!domain) return last_error("creating the domain on " + uri_);
    return Domain(std::move(domain));
}

Status Hypervisor::ensure_network_active(const std::string& name)
{
    std::unique_ptr<virNetwork, NetworkFree> network(virNetworkLookupByName(connection_.get(), name.c_str()));
    if (!network) return last_error("looking up network " + name);
    int active = virNetworkIsActive(network.get());
    if (active < 0) return last_error("asking whether network " + name + " is active");
    if (active == 0 && virNetworkCreate(network.get()) < 0) return last_error("starting network " + name);
    return {};
}

Status Hypervisor::ensure_pool_active(const std::string& name)
{
    std::unique_ptr<virStoragePool, PoolFree> pool(
        virStoragePoolLookupByName(connection_.get(), name.c_str()));
    if (!pool) return last_error("looking up storage pool " + name);
    int active = virStoragePoolIsActive(pool.get());
    if (active < 0) return last_error("asking whether storage pool " + name + " is active");
    if (active == 0 && virStoragePoolCreate(pool.get(), 0) < 0)
        return last_error("starting storage pool " + name);
    return {};
}

Status Hypervisor::set_keepalive(std::chrono::seconds interval, unsigned count)
{
    if (virConnectSetKeepAlive(connection_.get(), static_cast<int>(interval.count()), count) < 0)
        return last_error("enabling keepalive on " + uri_);
    return {};
}

bool Hypervisor::alive() const
{
    int a = virConnectIsAlive(connection_.get());
    if (a < 0) virResetLastError();
    return a == 1;
}

}  // namespace outpost::cluster::lifecycle
