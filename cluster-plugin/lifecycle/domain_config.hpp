// A domain's configuration file (libvirt domain XML) as the cluster uses it: which domain
// it describes, on which hypervisor, and the owner mark the guest agent puts into the
// definitions it makes. Pure: text in, values out (libxml2, no libvirt connection).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

// Config files are read up to this size; a larger one is refused.
inline constexpr std::size_t kMaxDomainXmlBytes = 4U << 20;

// The XML namespace of the owner mark (<metadata><outpost:guest resource="R"/>): a
// definition carrying it was made by ocf:outpost:guest for resource R and is removed again
// when that resource stops; any other definition belongs to the administrator.
inline constexpr const char* kOwnerNamespace = "https://outpost-cluster.github.io/xmlns/guest/1";
inline constexpr const char* kOwnerPrefix = "outpost";
inline constexpr const char* kOwnerElement = "guest";

struct DomainConfig {
    std::string xml;   // the document as read
    std::string name;  // <name>
    std::string type;  // <domain type='...'>: kvm, qemu, lxc, xen, ...
    std::string uuid;  // <uuid>, empty when the file has none
    std::string init;  // <os><init> (containers), empty when not given
    // <on_poweroff>: what libvirt does when the guest powers off ("" = destroy, the default).
    std::string on_poweroff;
    // Virtual networks (<interface type='network'><source network='N'/>) and storage pools
    // (<disk type='volume'><source pool='P'/>) the domain uses.
    std::vector<std::string> networks;
    std::vector<std::string> pools;
};

// Errors: code -EINVAL, message naming `origin` and what is wrong.
Result<DomainConfig> parse_domain_config(std::string_view xml, std::string_view origin);
// Errors: -ENOENT (no such file), -EACCES (unreadable), -EFBIG, or parse_domain_config's.
Result<DomainConfig> read_domain_config(const std::filesystem::path& path);

// `xml` with the owner mark for `resource` in its <metadata> (replacing an older mark).
Result<std::string> with_owner_mark(std::string_view xml, const std::string& resource);
// `xml` with <uuid>`uuid`</uuid> when it has no <uuid> of its own (libvirt runs a
// transient domain beside an inactive definition of the same name only with its UUID).
Result<std::string> with_uuid(std::string_view xml, const std::string& uuid);
// `xml` without any owner mark (an empty <metadata> left by it is removed too).
Result<std::string> without_owner_mark(std::string_view xml);
// The resource named by an owner mark element as libvirt returns it
// (virDomainGetMetadata), or "" if there is none.
std::string owner_from_mark(std::string_view mark_xml);

// Whether an LXC domain's init is a system init (systemd, sysvinit: "" is libvirt's
// /sbin/init), which shuts the container down through initctl; any other init (an
// application container's) only reacts to a signal.
bool has_system_init(const DomainConfig& config);

// Whether a guest's own power-off starts it again (<on_poweroff> restart or rename-restart)
// instead of ending the domain.
bool restarts_on_poweroff(const DomainConfig& config);

// The connection URI for a domain of `type` when no hypervisor is configured: lxc -> lxc:///,
// qemu and kvm -> qemu:///system, xen -> xen:///system; "" (libvirt's own default) for
// anything else.
std::string default_uri_for_type(std::string_view type);

}  // namespace outpost::cluster::lifecycle
