#include <catch2/catch.hpp>

#include "control/status_record.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::control;
namespace cx = outpost::cluster::controller;

namespace {

cx::XmlDoc empty_cib()
{
    auto doc = cx::parse_document(R"(<cib epoch="1" num_updates="0" admin_epoch="0">
  <configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>)",
                                  1 << 20, "test CIB");
    REQUIRE(doc);
    return std::move(*doc);
}

std::string text(const cx::XmlDoc& doc)
{
    return cx::serialize(cx::root_of(doc.get()));
}

OpRecord monitor_record(int rc)
{
    OpRecord r;
    r.node = "g1";
    r.node_id = "g1";
    r.executed_by = "host";  // through the host's connection, recorded so (2.1.5)
    r.remote_node = true;
    r.rsc_id = "d1";
    r.rsc_class = "ocf";
    r.rsc_provider = "pacemaker";
    r.rsc_type = "Dummy";
    r.task = "monitor";
    r.interval_ms = 2000;
    r.transition_key = transition_key(9, 3, 0, "1");
    r.rc = rc;
    r.call_id = 12;
    r.last_rc_change = 1700000000;
    r.op_digest = "abc";
    return r;
}

}  // namespace

TEST_CASE("the host is an online member with quorum", "[control][status]")
{
    auto cib = empty_cib();
    record_host_member(cib.get(), "host", "1");
    const std::string t = text(cib);
    CHECK(t.find(R"(have-quorum="1")") != std::string::npos);
    CHECK(t.find(R"(dc-uuid="1")") != std::string::npos);
    CHECK(t.find(R"(<node id="1" uname="host"/>)") != std::string::npos);
    CHECK(
        t.find(
            R"(<node_state id="1" uname="host" in_ccm="true" crmd="online" crm-debug-origin="do_state_transition" join="member" expected="member"/>)") !=
        std::string::npos);
    CHECK(configured_node_id(cib.get(), "host") == "1");
    record_host_member(cib.get(), "host", "1");  // idempotent
    CHECK(text(cib) == t);
}

TEST_CASE("results are recorded as Pacemaker records them", "[control][status]")
{
    auto cib = empty_cib();
    record_remote_node(cib.get(), "g1", true);
    OpRecord ok = monitor_record(0);
    record_operation(cib.get(), ok);
    std::string t = text(cib);
    CHECK(t.find(R"(<node_state id="g1" uname="g1" remote_node="true" in_ccm="true")") != std::string::npos);
    CHECK(t.find(R"(<lrm_resource id="d1" type="Dummy" class="ocf" provider="pacemaker">)") !=
          std::string::npos);
    CHECK(
        t.find(
            R"(<lrm_rsc_op id="d1_monitor_2000" operation_key="d1_monitor_2000" operation="monitor" )"
            R"(crm-debug-origin="do_update_resource" crm_feature_set="3.16.1" transition-key="9:3:0:1" )"
            R"(transition-magic="0:0;9:3:0:1" exit-reason="" on_node="host" call-id="12" rc-code="0" op-status="0" )"
            R"(interval="2000" last-rc-change="1700000000" exec-time="0" queue-time="0" op-digest="abc"/>)") !=
        std::string::npos);
    CHECK(t.find("last_failure") == std::string::npos);
    CHECK(expected_result(ok));

    // The monitor fails (rc 7): its entry changes, a last_failure entry appears, attrd's
    // attributes count it.
    OpRecord failed = monitor_record(7);
    CHECK_FALSE(expected_result(failed));
    CHECK(counts_as_failure(failed));
    record_operation(cib.get(), failed);
    count_failure(cib.get(), failed, 1700000100);
    count_failure(cib.get(), failed, 1700000200);
    t = text(cib);
    CHECK(t.find(R"(<lrm_rsc_op id="d1_last_failure_0" operation_key="d1_monitor_2000")") !=
          std::string::npos);
    CHECK(t.find(R"(transition-magic="0:7;9:3:0:1")") != std::string::npos);
    CHECK(t.find(R"(<transient_attributes id="g1"><instance_attributes id="status-g1">)") !=
          std::string::npos);
    CHECK(
        t.find(
            R"(<nvpair id="status-g1-fail-count-d1.monitor_2000" name="fail-count-d1#monitor_2000" value="2"/>)") !=
        std::string::npos);
    CHECK(t.find(R"(name="last-failure-d1#monitor_2000" value="1700000200")") != std::string::npos);

    auto failures = recorded_failures(cib.get());
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].node == "g1");
    CHECK(failures[0].rsc_id == "d1");
    CHECK(failures[0].when == 1700000200);

    clear_failures(cib.get(), "g1", "d1");
    CHECK(recorded_failures(cib.get()).empty());
    CHECK(text(cib).find("fail-count") == std::string::npos);
    // The failure's history entry goes with it (or an expired one would be cleared again
    // and again), the operation's own entry stays.
    CHECK(text(cib).find("d1_last_failure_0") == std::string::npos);
    CHECK(text(cib).find("d1_monitor_2000\" operation_key") != std::string::npos);
    record_operation(cib.get(), failed);
    forget_recurring(cib.get(), "g1", "d1");
    CHECK(text(cib).find("d1_monitor_2000\" operation_key") == std::string::npos);
    CHECK(text(cib).find("d1_last_failure_0") != std::string::npos);  // not recurring: kept

    record_host_member(cib.get(), "host", "1");
    record_operation(cib.get(), ok);
    forget_remote_nodes(cib.get());
    CHECK(text(cib).find(R"(<node_state id="g1" uname="g1" remote_node="true" in_ccm="false")") !=
          std::string::npos);
    CHECK(text(cib).find("<lrm id=\"g1\"") == std::string::npos);
    CHECK(text(cib).find("<node_state id=\"1\" uname=\"host\" in_ccm=\"true\"") != std::string::npos);
    record_operation(cib.get(), ok);
    forget_node_history(cib.get(), "g1");
    CHECK(text(cib).find("<lrm id=\"g1\"") == std::string::npos);
}

TEST_CASE("probe answers are not failures; a failed start is fatal", "[control][status]")
{
    OpRecord probe = monitor_record(0);
    probe.interval_ms = 0;
    probe.target_rc = 7;
    CHECK_FALSE(expected_result(probe));  // found running: the transition is recomputed
    CHECK_FALSE(counts_as_failure(probe));
    probe.rc = 1;
    CHECK(counts_as_failure(probe));

    auto cib = empty_cib();
    OpRecord start = monitor_record(1);
    start.task = "start";
    start.interval_ms = 0;
    count_failure(cib.get(), start, 5);
    CHECK(text(cib).find(R"(name="fail-count-d1#start_0" value="INFINITY")") != std::string::npos);
}

TEST_CASE("a guest node's pseudo fencing drops its history and takes it down", "[control][status]")
{
    auto cib = empty_cib();
    record_remote_node(cib.get(), "g1", true);
    OpRecord failed = monitor_record(7);
    record_operation(cib.get(), failed);
    count_failure(cib.get(), failed, 1700000100);
    record_guest_fenced(cib.get(), "g1");
    const std::string t = text(cib);
    CHECK(
        t.find(
            R"(<node_state id="g1" uname="g1" remote_node="true" in_ccm="false" crm-debug-origin="remote_node_down" node_fenced="0"/>)") !=
        std::string::npos);
    CHECK(t.find("lrm") == std::string::npos);
    CHECK(t.find("fail-count") == std::string::npos);
}

TEST_CASE("a remote node fenced through a device is down, fenced and forgotten", "[control][status]")
{
    auto cib = empty_cib();
    record_remote_node(cib.get(), "g1", true);
    OpRecord failed = monitor_record(7);
    record_operation(cib.get(), failed);
    count_failure(cib.get(), failed, 1700000100);
    record_remote_fenced(cib.get(), "g1", 1796612644);
    record_remote_node(cib.get(), "g1", false);  // its connection ends afterwards
    const std::string t = text(cib);
    CHECK(
        t.find(
            R"(<node_state id="g1" uname="g1" remote_node="true" in_ccm="false" crm-debug-origin="send_stonith_update" node_fenced="1796612644"/>)") !=
        std::string::npos);
    CHECK(t.find("lrm") == std::string::npos);
    CHECK(t.find("fail-count") == std::string::npos);
}

TEST_CASE("the host's failures outlive its operation history", "[control][status]")
{
    auto cib = empty_cib();
    record_host_member(cib.get(), "host", "1");
    OpRecord failed = monitor_record(7);
    failed.node = "host";
    failed.node_id = "1";
    failed.remote_node = false;
    record_operation(cib.get(), failed);
    count_failure(cib.get(), failed, 1700000100);
    forget_operation_history(cib.get(), "host");
    const std::string t = text(cib);
    CHECK(t.find("<lrm") == std::string::npos);
    CHECK(t.find(R"(name="fail-count-d1#monitor_2000" value="1")") != std::string::npos);
}

TEST_CASE("a remote node's maintenance as the scheduler saw it is node_in_maintenance", "[control][status]")
{
    auto cib = empty_cib();
    record_remote_node(cib.get(), "g1", true);
    record_node_maintenance(cib.get(), "g1", true);
    CHECK(text(cib).find(R"(node_in_maintenance="1")") != std::string::npos);
    record_node_maintenance(cib.get(), "g1", false);
    CHECK(text(cib).find(R"(node_in_maintenance="0")") != std::string::npos);
    // A node without a node_state yet gets one.
    record_node_maintenance(cib.get(), "g2", true);
    CHECK(text(cib).find(R"(<node_state id="g2" uname="g2")") != std::string::npos);
}

TEST_CASE("a shutdown request is the node's shutdown attribute; unmanaged connections refuse it",
          "[control][status]")
{
    auto cib = empty_cib();
    record_remote_node(cib.get(), "g1", true);
    CHECK_FALSE(shutdown_requested(cib.get(), "g1"));
    record_shutdown_request(cib.get(), "g1", 1700000200);
    CHECK(text(cib).find(R"(<nvpair id="status-g1-shutdown" name="shutdown" value="1700000200"/>)") !=
          std::string::npos);
    CHECK(shutdown_requested(cib.get(), "g1"));
    CHECK_FALSE(shutdown_requested(cib.get(), "g2"));
    forget_transient_attributes(cib.get(), "g1");
    CHECK_FALSE(shutdown_requested(cib.get(), "g1"));

    auto config = [](const std::string& crm_config, const std::string& resources) {
        auto doc = cx::parse_document(
            "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\"><configuration>"
            "<crm_config>" +
                crm_config + "</crm_config><nodes/><resources>" + resources +
                "</resources><constraints/></configuration><status/></cib>",
            1 << 20, "test CIB");
        REQUIRE(doc);
        return std::move(*doc);
    };
    const std::string remote = R"(<primitive id="g1" class="ocf" provider="pacemaker" type="remote">)";
    const std::string unmanaged =
        R"(<meta_attributes id="m"><nvpair id="m1" name="is-managed" value="false"/></meta_attributes>)";
    CHECK(shutdown_refusal(config("", remote + "</primitive>").get(), "g1").empty());
    CHECK(shutdown_refusal(config("", remote + unmanaged + "</primitive>").get(), "g1") ==
          "g1 is not managed");
    // A guest node: its container's meta attributes.
    const std::string container =
        R"(<primitive id="vm1" class="ocf" provider="heartbeat" type="VirtualDomain">)"
        R"(<meta_attributes id="vm1-m"><nvpair id="vm1-m1" name="remote-node" value="g1"/>)"
        R"(<nvpair id="vm1-m2" name="maintenance" value="true"/></meta_attributes>)"
        R"(</primitive>)";
    CHECK(shutdown_refusal(config("", "<group id=\"grp\">" + container + "</group>").get(), "g1") ==
          "vm1 is in maintenance");
    CHECK(shutdown_refusal(config(R"(<cluster_property_set id="p"><nvpair id="p1" name="maintenance-mode" )"
                                  R"(value="true"/></cluster_property_set>)",
                                  remote + "</primitive>")
                               .get(),
                           "g1") == "the cluster is in maintenance mode");
}

TEST_CASE("the guest nodes a container holds: its meta remote-node, in groups and clones too")
{
    auto config = [](const std::string& resources) {
        auto doc = cx::parse_document(
            "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\"><configuration>"
            "<crm_config/><nodes/><resources>" +
                resources + "</resources><constraints/></configuration><status/></cib>",
            1 << 20, "test CIB");
        REQUIRE(doc);
        return std::move(*doc);
    };
    auto container = [](const std::string& id, const std::string& guest) {
        return R"(<primitive id=")" + id + R"(" class="ocf" provider="heartbeat" type="VirtualDomain">)" +
               (guest.empty()
                    ? std::string()
                    : R"(<meta_attributes id=")" + id + R"(-m"><nvpair id=")" + id +
                          R"(-m1" name="remote-node" value=")" + guest + R"("/></meta_attributes>)") +
               "</primitive>";
    };
    const auto cib = config(container("vm1", "g1") + "<group id=\"grp\">" + container("vm2", "g2") +
                            "</group>" + container("vm3", "") +
                            R"(<primitive id="g1" class="ocf" provider="pacemaker" type="remote"/>)");
    CHECK(guests_of_container(cib.get(), "vm1") == std::vector<std::string>{"g1"});
    CHECK(guests_of_container(cib.get(), "vm2") == std::vector<std::string>{"g2"});
    // Not a container, a guest's name, or not configured: nobody is lost.
    CHECK(guests_of_container(cib.get(), "vm3").empty());
    CHECK(guests_of_container(cib.get(), "g1").empty());
    CHECK(guests_of_container(cib.get(), "nothing").empty());
    CHECK(guests_of_container(config("").get(), "vm1").empty());
}

TEST_CASE("an operation in flight is recorded pending, as 2.1.5 records it", "[control][status]")
{
    auto cib = empty_cib();
    record_host_member(cib.get(), "host", "1");
    OpRecord start = monitor_record(0);
    start.node = start.node_id = start.executed_by = "host";
    start.node_id = "1";
    start.remote_node = false;
    start.task = "start";
    start.interval_ms = 0;
    start.exec_time_ms = 17;
    start.force_restart = "  state  ";
    start.restart_digest = "f2317cad3d54cec5d7d7aa7d0bf35cf8";
    start.secure_params = "  passwd  ";
    start.secure_digest = "abc";
    CHECK(records_pending("start"));
    CHECK(records_pending("monitor"));
    CHECK_FALSE(records_pending("cancel"));
    CHECK_FALSE(records_pending("notify"));
    const OpRecord pending = pending_record(start, 1796645359);
    CHECK_FALSE(expected_result(pending));
    CHECK_FALSE(counts_as_failure(pending));
    record_operation(cib.get(), pending);
    std::string t = text(cib);
    // The fields and their order as observed (cibadmin -Q during a slow Dummy start).
    CHECK(
        t.find(
            R"(<lrm_rsc_op id="d1_last_0" operation_key="d1_start_0" operation="start" )"
            R"(crm-debug-origin="do_update_resource" crm_feature_set="3.16.1" transition-key="9:3:0:1" )"
            R"(transition-magic="-1:193;9:3:0:1" exit-reason="" on_node="host" call-id="-1" rc-code="193" )"
            R"(op-status="-1" interval="0" last-rc-change="1796645359" exec-time="0" queue-time="0" )"
            R"(op-digest="abc" op-force-restart="  state  " op-restart-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8" )"
            R"(op-secure-params="  passwd  " op-secure-digest="abc"/>)") != std::string::npos);
    CHECK(t.find("last_failure") == std::string::npos);
    // Its result replaces it.
    record_operation(cib.get(), start);
    t = text(cib);
    CHECK(t.find(R"(call-id="12" rc-code="0" op-status="0")") != std::string::npos);
    CHECK(t.find(R"(rc-code="193")") == std::string::npos);

    // A reload-agent that succeeded is recorded as a start; one that failed as a monitor.
    OpRecord reload = start;
    reload.task = "reload-agent";
    reload.call_id = 13;
    record_operation(cib.get(), reload);
    t = text(cib);
    CHECK(t.find(R"(operation_key="d1_start_0" operation="start")") != std::string::npos);
    CHECK(t.find(R"(call-id="13")") != std::string::npos);
    CHECK(t.find("reload") == std::string::npos);
    reload.rc = 1;
    reload.op_status = 4;  // error
    record_operation(cib.get(), reload);
    CHECK(text(cib).find(R"(<lrm_rsc_op id="d1_last_0" operation_key="d1_monitor_0" operation="monitor")") !=
          std::string::npos);
}
