// AttributeManager (control/attribute_manager.hpp) on a real CibStore (Pacemaker's installed
// schemas) and a GLib context for its dampening timers: what pacemaker-attrd 2.1.5 was seen
// to do (docs/architecture.md, "The attrd face"): values written at once without
// dampening, after a quiet wait with it (each change restarting the wait), private values
// never written, unset values gone from the CIB but still known, value++ from the value in
// the CIB (a fail count the control loop recorded), the query of one node and of all,
// clear-failure, and a value for a node with no status kept in memory.
#include <optional>
#include <string>

#include <catch.hpp>

#include "control/attribute_manager.hpp"
#include "control/cib_edit.hpp"
#include "control/status_record.hpp"
#include "controller/cib_schema.hpp"
#include "controller/cib_service.hpp"
#include "controller/cib_store.hpp"
#include "controller/xml.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"

using namespace outpost;
using namespace outpost::cluster;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

struct Changes final : controller::CibListener {
    int count = 0;
    void cib_changed(const controller::CibChange& /*change*/) override { ++count; }
};

struct Fixture {
    TempDir dir{"outpost-attribute-manager"};
    ContextPtr context{g_main_context_new()};
    std::unique_ptr<controller::CibStore> store;
    std::unique_ptr<controller::CibService> service;
    std::unique_ptr<control::AttributeManager> manager;
    Changes changes;

    Fixture()
    {
        auto opened = controller::CibStore::open(dir.file("cib.xml"), controller::kDefaultSchemaDirectory);
        INFO((opened ? std::string() : opened.error().describe()));
        REQUIRE(opened.ok());
        store = std::move(*opened);
        service = std::make_unique<controller::CibService>(*store, "host1");
        service->add_listener(changes);
        manager = std::make_unique<control::AttributeManager>(context.get(), *service, "host1");
        // The host as the control loop records it, and a remote node that is up.
        edit([](xmlDoc* cib) {
            control::record_host_member(cib, "host1", "1");
            control::record_remote_node(cib, "guest1", true);
        });
    }
    ~Fixture() { service->remove_listener(changes); }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    void edit(const std::function<void(xmlDoc*)>& change)
    {
        REQUIRE(control::edit_cib(*store, change, "test", "host1", "root").ok());
    }

    std::string send(const std::string& xml, const std::string& local = "host1")
    {
        auto op = controller::parse_attrd_op(xml);
        REQUIRE(op.ok());
        return manager->handle(*op, local);
    }

    [[nodiscard]] std::optional<std::string> in_cib(const std::string& node, const std::string& name) const
    {
        return control::transient_attribute(store->current(), node, name);
    }

    [[nodiscard]] std::string status() const
    {
        const xmlNode* root = controller::root_of(store->current());
        return controller::serialize(controller::child_named(root, "status"));
    }
};

std::string update(const std::string& name, const std::string& value, const std::string& extra = {})
{
    return R"(<create_attrd_op t="attrd" src="attrd_updater" task="update" attr_name=")" + name +
           R"(" attr_value=")" + value + "\" " + extra + "/>";
}

std::string query(const std::string& name, const std::string& host = {})
{
    return R"(<create_attrd_op t="attrd" src="attrd_updater" task="query" attr_name=")" + name + "\"" +
           (host.empty() ? std::string() : " attr_host=\"" + host + "\"") + "/>";
}

}  // namespace

TEST_CASE("AttributeManager writes updates at once, as the ids pacemaker-attrd gives them")
{
    Fixture f;
    const int before = f.changes.count;
    CHECK(f.send(update("a1", "v1")) ==
          R"(<ack function="handle_update_request" line="0" status="112" ipc-protocol-version="4"/>)");
    CHECK(f.in_cib("host1", "a1") == std::optional<std::string>("v1"));
    CHECK(f.status().find(R"(<nvpair id="status-1-a1" name="a1" value="v1"/>)") != std::string::npos);
    CHECK(f.changes.count == before + 1);  // subscribers (crm_mon) are told
    // The same value again changes nothing.
    f.send(update("a1", "v1"));
    CHECK(f.changes.count == before + 1);
    // '#' is spelled '.' in the id, as for the fail counts the loop writes.
    f.send(update("fail-count-x#monitor_10000", "3"));
    CHECK(f.status().find(R"(id="status-1-fail-count-x.monitor_10000")") != std::string::npos);
    // Another node (a remote node's status id is its name); a set of its own.
    f.send(update("a1", "g", R"(attr_host="guest1")"));
    CHECK(f.in_cib("guest1", "a1") == std::optional<std::string>("g"));
    f.send(update("s1", "1", R"(attr_set="myset")"));
    CHECK(f.status().find(R"(<instance_attributes id="myset"><nvpair id="myset-s1" name="s1" value="1"/>)") !=
          std::string::npos);

    // Query: one node (the local one when attrd_updater names none is the tool's choice),
    // or all that know it.
    CHECK(f.send(query("a1", "guest1")) ==
          R"(<build_query_reply t="attrd" subt="query" attr_version="4" attr_name="a1">)"
          R"(<node attr_host="guest1" attr_value="g"/></build_query_reply>)");
    CHECK(f.send(query("a1")) ==
          R"(<build_query_reply t="attrd" subt="query" attr_version="4" attr_name="a1">)"
          R"(<node attr_host="guest1" attr_value="g"/>)"
          R"(<node attr_host="host1" attr_value="v1"/></build_query_reply>)");
    CHECK(f.send(query("nope")) == R"(<build_query_reply t="attrd" subt="query" attr_version="4"/>)");

    // Unset (-D): gone from the CIB, still known (answered without a value).
    f.send(R"(<create_attrd_op t="attrd" src="attrd_updater" task="update" attr_name="a1"/>)");
    CHECK_FALSE(f.in_cib("host1", "a1"));
    CHECK(f.send(query("a1", "host1")) ==
          R"(<build_query_reply t="attrd" subt="query" attr_version="4" attr_name="a1">)"
          R"(<node attr_host="host1"/></build_query_reply>)");
}

TEST_CASE("AttributeManager: value++ counts from the CIB, private values stay in memory")
{
    Fixture f;
    // A fail count the control loop recorded (count_failure) is where value++ starts.
    f.edit([](xmlDoc* cib) {
        control::write_transient_attribute(cib, "host1", "fail-count-d1#monitor_2000", std::string("2"));
    });
    f.send(update("fail-count-d1#monitor_2000", "value++"));
    CHECK(f.in_cib("host1", "fail-count-d1#monitor_2000") == std::optional<std::string>("3"));
    f.send(update("fail-count-d1#monitor_2000", "value+=INFINITY"));
    CHECK(f.in_cib("host1", "fail-count-d1#monitor_2000") == std::optional<std::string>("1000000"));

    f.send(update("p1", "secret", R"(attr_is_private="1")"));
    CHECK_FALSE(f.in_cib("host1", "p1"));
    CHECK(f.manager->value("p1", "host1") == std::optional<std::string>("secret"));
    CHECK(f.send(query("p1")).find(R"(attr_value="secret")") != std::string::npos);
    // Private from its creation on: a later update without the flag stays private.
    f.send(update("p1", "other"));
    CHECK_FALSE(f.in_cib("host1", "p1"));
    CHECK(f.manager->value("p1", "host1") == std::optional<std::string>("other"));

    // A value for a node with no status is kept, unwritten, until the node is there.
    f.send(update("a1", "x", R"(attr_host="later")"));
    CHECK(f.manager->value("a1", "later") == std::optional<std::string>("x"));
    f.edit([](xmlDoc* cib) { control::record_remote_node(cib, "later", true); });
    f.send(R"(<create_attrd_op t="attrd" src="attrd_updater" task="refresh"/>)");
    CHECK(f.in_cib("later", "a1") == std::optional<std::string>("x"));
}

TEST_CASE("AttributeManager dampening: written once the value was quiet for the delay")
{
    Fixture f;
    // update-both creates it dampened: nothing written yet.
    f.send(
        R"(<create_attrd_op t="attrd" task="update-both" attr_name="d1" attr_value="1" attr_dampening="300ms"/>)");
    CHECK_FALSE(f.in_cib("host1", "d1"));
    CHECK(f.manager->value("d1", "host1") == std::optional<std::string>("1"));  // query sees it
    loop_for(f.context.get(), 150ms);
    f.send(update("d1", "2"));  // restarts the wait
    loop_for(f.context.get(), 200ms);
    CHECK_FALSE(f.in_cib("host1", "d1"));
    CHECK(f.manager->pending("d1"));
    REQUIRE(run_until(
        f.context.get(), [&] { return f.in_cib("host1", "d1").has_value(); }, 2000ms));
    CHECK(f.in_cib("host1", "d1") == std::optional<std::string>("2"));

    // An invalid dampening refuses the request (acked all the same).
    f.send(
        R"(<create_attrd_op t="attrd" task="update-both" attr_name="d2" attr_value="1" attr_dampening="bogus"/>)");
    CHECK_FALSE(f.manager->value("d2", "host1"));

    // update-delay to 0 writes the pending value at once.
    f.send(update("d1", "3"));
    CHECK(f.in_cib("host1", "d1") == std::optional<std::string>("2"));
    f.send(R"(<create_attrd_op t="attrd" task="update-delay" attr_name="d1" attr_dampening="0"/>)");
    CHECK(f.in_cib("host1", "d1") == std::optional<std::string>("3"));
    CHECK_FALSE(f.manager->pending("d1"));
}

TEST_CASE("AttributeManager clear-failure removes fail counts as crm_resource --cleanup asks")
{
    Fixture f;
    f.edit([](xmlDoc* cib) {
        for (const char* node : {"host1", "guest1"}) {
            control::write_transient_attribute(cib, node, "fail-count-d1#monitor_2000", std::string("1"));
            control::write_transient_attribute(cib, node, "last-failure-d1#monitor_2000", std::string("99"));
            control::write_transient_attribute(cib, node, "fail-count-d1#start_0", std::string("1"));
            control::write_transient_attribute(cib, node, "fail-count-d2#monitor_2000", std::string("1"));
            control::write_transient_attribute(cib, node, "keep", std::string("1"));
        }
    });
    // One operation of one resource on one node.
    CHECK(f.send(R"(<create_attrd_op t="attrd" src="crm_resource" task="clear-failure" attr_host="host1" )"
                 R"(attr_resource="d1" attr_clear_operation="monitor" attr_clear_interval="2000"/>)") ==
          R"(<ack function="attrd_client_clear_failure" line="0" status="112" ipc-protocol-version="4"/>)");
    CHECK_FALSE(f.in_cib("host1", "fail-count-d1#monitor_2000"));
    CHECK_FALSE(f.in_cib("host1", "last-failure-d1#monitor_2000"));
    CHECK(f.in_cib("host1", "fail-count-d1#start_0"));
    CHECK(f.in_cib("guest1", "fail-count-d1#monitor_2000"));
    // One resource everywhere.
    f.send(R"(<create_attrd_op t="attrd" src="crm_resource" task="clear-failure" attr_resource="d1"/>)");
    CHECK_FALSE(f.in_cib("host1", "fail-count-d1#start_0"));
    CHECK_FALSE(f.in_cib("guest1", "fail-count-d1#monitor_2000"));
    CHECK(f.in_cib("guest1", "fail-count-d2#monitor_2000"));
    // Everything (crm_resource --cleanup alone); other attributes stay.
    f.send(R"(<create_attrd_op t="attrd" src="crm_resource" task="clear-failure" attr_is_remote="0"/>)");
    CHECK_FALSE(f.in_cib("guest1", "fail-count-d2#monitor_2000"));
    CHECK(f.in_cib("guest1", "keep"));
    CHECK(f.in_cib("host1", "keep"));
}

TEST_CASE("AttributeManager holds a bounded number of attributes and nodes")
{
    Fixture f;
    for (std::size_t i = 0; i < control::kMaxAttributes; ++i)
        f.send(update("p" + std::to_string(i), "1", R"(attr_is_private="1")"));
    f.send(update("one-more", "1", R"(attr_is_private="1")"));
    CHECK_FALSE(f.manager->value("one-more", "host1"));
    CHECK(f.manager->value("p0", "host1") == std::optional<std::string>("1"));
    // Known names still change.
    f.send(update("p0", "2"));
    CHECK(f.manager->value("p0", "host1") == std::optional<std::string>("2"));
    for (std::size_t i = 0; i < control::kMaxAttributeNodes; ++i)
        f.send(update("p1", "1", "attr_host=\"n" + std::to_string(i) + "\""));
    f.send(update("p1", "1", R"(attr_host="too-many")"));
    CHECK_FALSE(f.manager->value("p1", "too-many"));
}

TEST_CASE("AttributeManager keeps the host's private values in its file across a restart")
{
    Fixture f;
    const std::string file = f.dir.file("cib.xml") + control::kPrivateSuffix;
    f.manager = std::make_unique<control::AttributeManager>(f.context.get(), *f.service, "host1", file);
    f.send(update("p1", "secret", R"(attr_is_private="1" attr_set="s1")"));
    f.send(update("p2", "gone", R"(attr_is_private="1")"));
    f.send(R"(<create_attrd_op t="attrd" src="attrd_updater" task="update" attr_name="p2"/>)");  // unset: not
                                                                                                 // kept
    f.send(update("pg", "guest", R"(attr_is_private="1" attr_host="guest1")"));  // not the host's
    f.send(update("pub", "v"));
    CHECK_FALSE(f.in_cib("host1", "p1"));

    // A new manager (the daemon restarted) reads them back; still private, still unwritten.
    f.manager = std::make_unique<control::AttributeManager>(f.context.get(), *f.service, "host1", file);
    CHECK(f.manager->value("p1", "host1") == std::optional<std::string>("secret"));
    CHECK_FALSE(f.manager->value("p2", "host1"));
    CHECK_FALSE(f.manager->value("pg", "guest1"));
    CHECK(f.manager->value("pub", "host1") == std::optional<std::string>("v"));  // from the CIB
    f.send(update("p1", "again"));
    CHECK_FALSE(f.in_cib("host1", "p1"));
    CHECK(f.send(query("p1")).find(R"(attr_value="again")") != std::string::npos);

    // Without a file nothing is kept; a file that is not ours is ignored.
    f.manager = std::make_unique<control::AttributeManager>(f.context.get(), *f.service, "host1");
    CHECK_FALSE(f.manager->value("p1", "host1"));
    REQUIRE(write_file(file, "<cib/>"));
    f.manager = std::make_unique<control::AttributeManager>(f.context.get(), *f.service, "host1", file);
    CHECK_FALSE(f.manager->value("p1", "host1"));
}
