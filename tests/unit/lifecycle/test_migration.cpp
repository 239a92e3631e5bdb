// lifecycle/migration: VirtualDomain's migration parameters turned into libvirt's
// peer-to-peer migration URIs and flags.
#include <libvirt/libvirt.h>
#include <catch2/catch.hpp>

#include "lifecycle/migration.hpp"

using namespace outpost::cluster::lifecycle;

TEST_CASE("host names with a migration network suffix")
{
    CHECK(host_with_suffix("node2", "") == "node2");
    CHECK(host_with_suffix("node2", "-mig") == "node2-mig");
    CHECK(host_with_suffix("node2.example.com", "-mig") == "node2-mig.example.com");
    CHECK(substitute_node("tcp://%n-mig:49152", "node2") == "tcp://node2-mig:49152");
    CHECK(substitute_node("qemu+ssh://%n/system?x=%n", "b") == "qemu+ssh://b/system?x=b");
    CHECK(substitute_node("100%", "b") == "100%");
}

TEST_CASE("the destination URI follows the hypervisor URI")
{
    MigrationSettings s;
    s.hypervisor_uri = "qemu:///system";
    s.target_node = "node2";
    auto plain = migration_uris(s);
    REQUIRE(plain.ok());
    CHECK(plain->destination == "qemu://node2/system");
    CHECK(plain->data.empty());

    s.transport = "ssh";
    s.user = "admin";
    CHECK(migration_uris(s)->destination == "qemu+ssh://admin@node2/system");

    s.transport.clear();
    s.user.clear();
    s.hypervisor_uri = "qemu+tls://node1/system?no_verify=1";
    CHECK(migration_uris(s)->destination == "qemu+tls://node2/system?no_verify=1");

    s.hypervisor_uri = "qemu:///system";
    s.network_suffix = "-mig";
    auto suffixed = migration_uris(s);
    CHECK(suffixed->destination == "qemu://node2-mig/system");
    CHECK(suffixed->data == "tcp://node2-mig");
    s.port = 49152;
    CHECK(migration_uris(s)->data == "tcp://node2-mig:49152");

    s.remote_uri = "qemu+ssh://%n.example.com/system";
    s.migrate_uri = "tcp://%n-fast:1234";
    auto explicit_uris = migration_uris(s);
    CHECK(explicit_uris->destination == "qemu+ssh://node2.example.com/system");
    CHECK(explicit_uris->data == "tcp://node2-fast:1234");
}

TEST_CASE("migration URIs need a target and a driver")
{
    MigrationSettings s;
    s.hypervisor_uri = "qemu:///system";
    auto no_target = migration_uris(s);
    REQUIRE_FALSE(no_target.ok());
    CHECK(no_target.error().message.find("CRM_meta_migrate_target") != std::string::npos);
    s.target_node = "n2";
    s.hypervisor_uri = "garbage";
    REQUIRE_FALSE(migration_uris(s).ok());
    // LXC has no data channel to name.
    s.hypervisor_uri = "lxc:///";
    s.network_suffix = "-m";
    CHECK(migration_uris(s)->data.empty());
}

TEST_CASE("every migration is live, peer-to-peer, and moves the definition")
{
    unsigned f = base_migration_flags();
    CHECK((f & VIR_MIGRATE_LIVE) != 0);
    CHECK((f & VIR_MIGRATE_PEER2PEER) != 0);
    CHECK((f & VIR_MIGRATE_PERSIST_DEST) != 0);
    CHECK((f & VIR_MIGRATE_UNDEFINE_SOURCE) != 0);
    CHECK((f & VIR_MIGRATE_TUNNELLED) == 0);
}

TEST_CASE("migrate_options: virsh options with a libvirt flag")
{
    unsigned flags = 0;
    std::string uri;
    REQUIRE(
        parse_migrate_options("--live --p2p --tunnelled --compressed --auto-converge --verbose", flags, uri));
    CHECK(flags == (VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_TUNNELLED |
                    VIR_MIGRATE_COMPRESSED | VIR_MIGRATE_AUTO_CONVERGE));
    CHECK(uri.empty());
    flags = 0;
    REQUIRE(parse_migrate_options("--migrateuri tcp://x:1 --copy-storage-all", flags, uri));
    CHECK(uri == "tcp://x:1");
    CHECK(flags == VIR_MIGRATE_NON_SHARED_DISK);
    REQUIRE(parse_migrate_options("--migrateuri=tcp://y", flags, uri));
    CHECK(uri == "tcp://y");
    REQUIRE(parse_migrate_options("", flags, uri));

    auto unknown = parse_migrate_options("--live --frobnicate", flags, uri);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().message.find("\"--frobnicate\" is not supported") != std::string::npos);
    REQUIRE_FALSE(parse_migrate_options("--migrateuri", flags, uri).ok());
}
