// Live migration settings as VirtualDomain's parameters express them, turned into what
// libvirt's peer-to-peer migration takes: the destination libvirtd's URI, the data
// transport URI and VIR_MIGRATE_* flags. Pure: strings in, strings out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace outpost::cluster::lifecycle {

struct MigrationSettings {
    std::string hypervisor_uri;    // the local connection URI ("qemu:///system")
    std::string target_node;       // the cluster node migrated to
    std::string transport;         // migration_transport ("ssh", "tcp", "tls"; "" = the URI's)
    std::string user;              // migration_user
    std::string network_suffix;    // migration_network_suffix
    std::string remote_uri;        // remoteuri; "%n" stands for the target node
    std::string migrate_uri;       // migrateuri; "%n" stands for the target node
    std::optional<unsigned> port;  // migrateport
};

struct MigrationUris {
    std::string destination;  // the peer libvirtd
    std::string data;         // the hypervisor's data channel ("" = libvirt's choice)
};

// "node1" + "-mig" -> "node1-mig"; "node1.example.com" + "-mig" -> "node1-mig.example.com".
std::string host_with_suffix(std::string_view node, std::string_view suffix);
// "%n" replaced by `node` everywhere.
std::string substitute_node(std::string_view pattern, std::string_view node);

// destination: remoteuri (with %n) if set, else the hypervisor URI's driver and path with
// `transport` (when given), `user@` (when given) and the target host (with the suffix);
// data: migrateuri (with %n) if set, else for QEMU "tcp://HOST[:PORT]" when a network suffix
// or a port is configured, else "".
Result<MigrationUris> migration_uris(const MigrationSettings& settings);

// The flags every live migration of a guest uses: live, peer-to-peer, the definition moved
// with the domain (persisted at the destination, removed at the source).
unsigned base_migration_flags();

// VirtualDomain's migrate_options (virsh migrate options) that have a libvirt flag: adds
// them to `flags`; "--migrateuri URI" sets `migrate_uri`. Options that every migration
// here uses already (--live, --p2p, --persistent, --undefinesource) and --verbose are
// accepted; anything else is an Error naming it.
Status parse_migrate_options(std::string_view options, unsigned& flags, std::string& migrate_uri);

}  // namespace outpost::cluster::lifecycle
