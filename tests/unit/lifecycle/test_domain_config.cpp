// lifecycle/domain_config: reading a domain's config file, the owner mark, default URIs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "lifecycle/domain_config.hpp"
#include "support/files.hpp"

using namespace outpost::cluster::lifecycle;

namespace {

constexpr const char* kLxc = R"(<domain type='lxc'>
  <name>web1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='MiB'>256</memory>
  <os><type>exe</type><init>/bin/sh</init></os>
  <devices>
    <interface type='network'><source network='default'/></interface>
    <interface type='network'><source network='default'/></interface>
    <interface type='bridge'><source bridge='br0'/></interface>
    <disk type='volume' device='disk'><source pool='images' volume='a'/><target dev='vda'/></disk>
    <disk type='file' device='disk'><source file='/x'/><target dev='vdb'/></disk>
  </devices>
</domain>)";

}  // namespace

TEST_CASE("a domain config: name, type, uuid, init, networks, pools")
{
    auto c = parse_domain_config(kLxc, "web1.xml");
    REQUIRE(c.ok());
    CHECK(c->name == "web1");
    CHECK(c->type == "lxc");
    CHECK(c->uuid == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    CHECK(c->init == "/bin/sh");
    CHECK(c->networks == std::vector<std::string>{"default"});
    CHECK(c->pools == std::vector<std::string>{"images"});
    CHECK(c->xml == kLxc);
    CHECK_FALSE(has_system_init(*c));
    CHECK(c->on_poweroff.empty());
    CHECK_FALSE(restarts_on_poweroff(*c));
}

TEST_CASE("a guest's power-off restarts only a domain whose <on_poweroff> says so")
{
    auto with = [](const std::string& action) {
        auto c = parse_domain_config(
            "<domain type='qemu'><name>v</name><on_poweroff>" + action + "</on_poweroff></domain>", "v.xml");
        REQUIRE(c.ok());
        return *c;
    };
    CHECK(with("restart").on_poweroff == "restart");
    CHECK(restarts_on_poweroff(with("restart")));
    CHECK(restarts_on_poweroff(with("rename-restart")));
    CHECK_FALSE(restarts_on_poweroff(with("destroy")));
    CHECK_FALSE(restarts_on_poweroff(with("preserve")));
}

TEST_CASE("system inits are told from application containers")
{
    DomainConfig c;
    c.type = "lxc";
    for (const char* init : {"", "/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"}) {
        c.init = init;
        CHECK(has_system_init(c));
    }
    c.init = "/usr/sbin/outpost-agent";
    CHECK_FALSE(has_system_init(c));
}

TEST_CASE("config errors name the file and the problem")
{
    auto no_name = parse_domain_config("<domain type='kvm'><memory>1</memory></domain>", "a.xml");
    REQUIRE_FALSE(no_name.ok());
    CHECK(no_name.error().message == "a.xml: the domain has no <name>");
    auto no_type = parse_domain_config("<domain><name>x</name></domain>", "b.xml");
    REQUIRE_FALSE(no_type.ok());
    CHECK(no_type.error().message == "b.xml: <domain> has no type attribute");
    auto wrong_root = parse_domain_config("<network><name>x</name></network>", "c.xml");
    REQUIRE_FALSE(wrong_root.ok());
    CHECK(wrong_root.error().message == "c.xml: the root element is not <domain>");
    auto broken = parse_domain_config("<domain type='kvm'><name>x</name>", "d.xml");
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().message.rfind("d.xml is not valid XML (line ", 0) == 0);
    CHECK(broken.error().code == -EINVAL);
}

TEST_CASE("reading a config file: missing, unreadable, fine")
{
    namespace fs = std::filesystem;
    auto missing = read_domain_config("/nonexistent/outpost/dom.xml");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == -ENOENT);
    CHECK(missing.error().message == "configuration file /nonexistent/outpost/dom.xml does not exist");

    outpost::test::TempDir tmp("outpost-domcfg");
    const fs::path& dir = tmp.path();
    fs::path file = dir / "web1.xml";
    std::ofstream(file) << kLxc;
    auto ok = read_domain_config(file);
    REQUIRE(ok.ok());
    CHECK(ok->name == "web1");
    fs::path big = dir / "big.xml";
    {
        std::ofstream out(big);
        out << "<domain type='kvm'><name>x</name><!--" << std::string(kMaxDomainXmlBytes, 'a')
            << "--></domain>";
    }
    auto too_big = read_domain_config(big);
    REQUIRE_FALSE(too_big.ok());
    CHECK(too_big.error().code == -EFBIG);
}

TEST_CASE("the owner mark is added, replaced, read back and stripped")
{
    auto marked = with_owner_mark(kLxc, "vm-web1");
    REQUIRE(marked.ok());
    CHECK(marked->find("<outpost:guest xmlns:outpost=\"https://outpost-cluster.github.io/xmlns/guest/1\" "
                       "resource=\"vm-web1\"/>") != std::string::npos);
    auto again = with_owner_mark(*marked, "other");
    REQUIRE(again.ok());
    CHECK(again->find("resource=\"vm-web1\"") == std::string::npos);
    CHECK(again->find("resource=\"other\"") != std::string::npos);
    // Still the same domain.
    auto parsed = parse_domain_config(*again, "marked");
    REQUIRE(parsed.ok());
    CHECK(parsed->name == "web1");
    CHECK(parsed->networks == std::vector<std::string>{"default"});

    // libvirt returns the mark element on its own (virDomainGetMetadata).
    CHECK(owner_from_mark(
              "<guest xmlns=\"https://outpost-cluster.github.io/xmlns/guest/1\" resource=\"r1\"/>") == "r1");
    CHECK(owner_from_mark("<other resource=\"r1\"/>").empty());
    CHECK(owner_from_mark("").empty());
    CHECK(owner_from_mark("<guest").empty());

    auto stripped = without_owner_mark(*again);
    REQUIRE(stripped.ok());
    CHECK(stripped->find("outpost") == std::string::npos);
    CHECK(stripped->find("<metadata") == std::string::npos);  // emptied, so removed

    // A metadata element with other content keeps it.
    std::string with_other = std::string(kLxc).insert(std::string(kLxc).find("<memory"),
                                                      "<metadata><app:x xmlns:app='urn:app'/></metadata>");
    auto kept = without_owner_mark(*with_owner_mark(with_other, "r"));
    REQUIRE(kept.ok());
    CHECK(kept->find("urn:app") != std::string::npos);
    CHECK(kept->find("outpost") == std::string::npos);
}

TEST_CASE("default connection URIs by domain type")
{
    CHECK(default_uri_for_type("lxc") == "lxc:///");
    CHECK(default_uri_for_type("kvm") == "qemu:///system");
    CHECK(default_uri_for_type("qemu") == "qemu:///system");
    CHECK(default_uri_for_type("xen") == "xen:///system");
    CHECK(default_uri_for_type("vbox").empty());
}
