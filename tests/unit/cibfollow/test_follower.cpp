// CibFollower against a recording provider (the server's side of the seam) and the isolation
// manager over a temporary directory shaped like a cgroup v2 tree: the session's messages in
// order (new on cib_ro, register, subscription, query), limits from a snapshot applied to a
// running resource's cgroup, a change read again after the debounce and a removed limit
// lifted, status-only changes ignored, the wait of starts bounded, and the session opened
// again after its provider goes (also after a send to it failed), the cluster destroys it,
// or a request goes unanswered; the last configuration evaluated again when an action
// names the agent's node (a node-attribute rule then holds), then with that node's transient
// attributes, read after each snapshot and after changes of them only (not after operation
// results or other nodes' attributes), evaluated again only when their values changed.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "cibfollow/follower.hpp"
#include "isolation/manager.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"
#include "support/wire_xml.hpp"

using namespace outpost;
using outpost::test::xml;
using namespace outpost::agent;
using namespace std::chrono_literals;

namespace {

class RecordingHost : public proxy::ProxyHost {
public:
    [[nodiscard]] std::optional<std::string> newest_provider() const override { return provider; }
    bool send_to_provider(std::string_view provider_client_id, const wire::ProxyMessage& message) override
    {
        if (!provider || provider_client_id != *provider) return false;
        sent.push_back(message);
        return true;
    }
    void local_client_gone() override {}

    std::optional<std::string> provider = "P1";
    std::vector<wire::ProxyMessage> sent;
};

void fake_v2_cgroup(const test::TempDir& root, const std::string& rel)
{
    std::string prefix = rel.empty() ? std::string() : rel + "/";
    for (const char* f : {"cgroup.procs", "cgroup.subtree_control", "memory.max", "memory.high", "cpu.max",
                          "cpu.weight", "pids.max", "io.weight"})
        root.write(prefix + f, "");
    root.write(prefix + "cgroup.controllers", "cpu io memory pids\n");
}

std::string resources_reply(const std::string& meta)
{
    return R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="0"><cib_calldata><resources>
        <primitive id="web" class="ocf" provider="heartbeat" type="Dummy">)" +
           meta + "</primitive></resources></cib_calldata></cib-reply>";
}

struct Fixture {
    test::ContextPtr context = test::new_context();
    test::TempDir root{"outpost-cibfollow"};
    RecordingHost host;
    std::unique_ptr<isolation::Manager> manager;
    std::unique_ptr<cibfollow::CibFollower> follower;

    Fixture()
    {
        fake_v2_cgroup(root, "");
        fake_v2_cgroup(root, "outpost-agent");
        fake_v2_cgroup(root, "outpost-agent/rsc-web");
        isolation::Hierarchy h;
        h.kind = isolation::Kind::v2;
        h.own.emplace("", root.path().string());
        manager = std::make_unique<isolation::Manager>(context.get(), isolation::Options{}, h);
        REQUIRE(manager->confined());
        cibfollow::FollowerOptions options;
        options.debounce = 20ms;
        options.first_snapshot_wait = 300ms;
        options.request_timeout = 300ms;
        options.retry_delay = 50ms;
        follower = std::make_unique<cibfollow::CibFollower>(context.get(), host, *manager, options);
    }

    std::string file(const std::string& name) const
    {
        return test::read_value(root.file("outpost-agent/rsc-web/" + name));
    }
    const wire::ProxyMessage& last() const
    {
        REQUIRE_FALSE(host.sent.empty());
        return host.sent.back();
    }
    bool wait_sent(std::size_t count, std::chrono::milliseconds limit = 2s)
    {
        return test::run_until(
            context.get(), [&] { return host.sent.size() >= count; }, limit);
    }
    // Opens the session and answers register and subscription.
    void open()
    {
        follower->provider_added("P1");
        REQUIRE(wait_sent(2));
        follower->response(1, xml(R"(<cib_common_callback_worker cib_op="register" cib_clientid="cid-1"/>)"));
        follower->response(2, xml(R"(<ack function="cib_common_callback_worker" status="0"/>)"));
        REQUIRE(host.sent.size() == 4);
    }
};

}  // namespace

TEST_CASE("the session: new on cib_ro, register, subscription, query; a snapshot applied live")
{
    Fixture f;
    // web runs with an instance attribute of its own.
    wire::ParamMap op;
    op.insert("outpost-tasks-max", "40");
    REQUIRE(f.manager->prepare("web", op).ok());
    CHECK(f.file("pids.max") == "40");
    CHECK(f.file("memory.max") == "max");

    f.follower->provider_added("P1");
    CHECK(f.host.sent.empty());  // not from inside the register's dispatch
    REQUIRE(f.wait_sent(2));
    const wire::ProxyMessage& hello_new = f.host.sent[0];
    CHECK(hello_new.op == "new");
    CHECK(hello_new.server == "cib_ro");
    REQUIRE(hello_new.session);
    const std::string session = *hello_new.session;
    CHECK(f.follower->owns(session));
    CHECK(f.manager->cluster_meta_pending());

    const wire::ProxyMessage& hello = f.host.sent[1];
    CHECK(hello.op == "request");
    CHECK(hello.session == session);
    CHECK(hello.ipc_msg_flags == 0x300U);
    REQUIRE(hello.msg);
    CHECK(hello.msg->name == "cib_command");
    CHECK(*hello.msg->attr("cib_op") == "register");
    CHECK(hello.client->starts_with("proxy-cib_ro-"));

    f.follower->response(1, xml(R"(<cib_common_callback_worker cib_op="register" cib_clientid="cid-1"/>)"));
    REQUIRE(f.host.sent.size() == 3);
    REQUIRE(f.last().msg);
    CHECK(f.last().msg->name == "cib-callback");
    CHECK(*f.last().msg->attr("cib_notify_type") == "cib_diff_notify");
    CHECK(*f.last().msg->attr("cib_notify_activate") == "1");

    f.follower->response(2, xml(R"(<ack function="cib_common_callback_worker" status="0"/>)"));
    REQUIRE(f.host.sent.size() == 4);
    CHECK(*f.last().msg->attr("cib_op") == "cib_query");
    CHECK(*f.last().msg->attr("cib_section") == "configuration");
    CHECK(*f.last().msg->attr("cib_clientid") == "cid-1");

    // The answer may come as an event too (it does through some providers).
    bool started = false;
    f.manager->await_cluster_meta([&](bool snapshot) { started = snapshot; });
    f.follower->event(xml(resources_reply(R"(<meta_attributes id="m">
        <nvpair id="1" name="outpost-memory-max" value="64M"/><nvpair id="2" name="outpost-cpu-quota" value="50%"/>
        <nvpair id="3" name="outpost-tasks-max" value="99"/></meta_attributes>)")));
    CHECK(started);
    CHECK_FALSE(f.manager->cluster_meta_pending());
    CHECK(f.follower->snapshots() == 1);
    CHECK(f.file("memory.max") == "67108864");
    CHECK(f.file("cpu.max") == "50000 100000");
    CHECK(f.file("pids.max") == "40");  // the instance attribute wins over the meta attribute

    // A status-only change is not read.
    f.follower->event(
        xml(R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result><diff format="2">
        <change operation="modify" path="/cib/status/node_state[@id='g1']"/></diff></cib_update_result></notify>)"));
    test::loop_for(f.context.get(), 60ms);
    CHECK(f.host.sent.size() == 4);

    // A configuration change: a burst read once after the debounce; the removed limit lifted.
    const std::string change =
        R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result><diff format="2">
        <change operation="delete" path="/cib/configuration/resources/primitive[@id='web']/meta_attributes[@id='m']/nvpair[@id='1']"/>
        </diff></cib_update_result></notify>)";
    f.follower->event(xml(change));
    f.follower->event(xml(change));
    REQUIRE(f.wait_sent(5));
    test::loop_for(f.context.get(), 60ms);
    CHECK(f.host.sent.size() == 5);
    CHECK(*f.last().msg->attr("cib_op") == "cib_query");
    f.follower->response(5, xml(resources_reply(R"(<meta_attributes id="m">
        <nvpair id="2" name="outpost-cpu-quota" value="20%"/></meta_attributes>)")));
    CHECK(f.file("memory.max") == "max");
    CHECK(f.file("cpu.max") == "20000 100000");

    // A change during a query: read again once that answer is in.
    f.follower->event(xml(change));
    REQUIRE(f.wait_sent(6));
    f.follower->event(xml(change));
    f.follower->response(6, xml(resources_reply("")));
    CHECK(f.file("cpu.max") == "max 100000");
    REQUIRE(f.wait_sent(7));

    // A later action of the resource still gets the CIB's limits beneath its own.
    f.follower->response(7, xml(resources_reply(R"(<meta_attributes id="m">
        <nvpair id="2" name="outpost-memory-high" value="32M"/></meta_attributes>)")));
    CHECK(f.file("memory.high") == "33554432");
    REQUIRE(f.manager->prepare("web", op).ok());
    CHECK(f.file("memory.high") == "33554432");

    // A bad value in the CIB: logged, the running limits stay; the next action is refused.
    f.follower->event(xml(change));
    REQUIRE(f.wait_sent(8));
    f.follower->response(8, xml(resources_reply(R"(<meta_attributes id="m">
        <nvpair id="2" name="outpost-memory-high" value="lots"/></meta_attributes>)")));
    CHECK(f.file("memory.high") == "33554432");
    auto refused = f.manager->prepare("web", op);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == -EINVAL);
}

TEST_CASE("a start waits for the first snapshot at most the bounded time")
{
    Fixture f;
    f.host.provider.reset();
    f.follower->provider_added("P1");  // gone again before the session could open
    test::loop_for(f.context.get(), 30ms);
    CHECK(f.host.sent.empty());
    CHECK_FALSE(f.manager->cluster_meta_pending());

    f.host.provider = "P1";
    f.follower->provider_added("P1");
    REQUIRE(f.wait_sent(2));
    REQUIRE(f.manager->cluster_meta_pending());
    std::optional<bool> outcome;
    f.manager->await_cluster_meta([&](bool snapshot) { outcome = snapshot; });
    REQUIRE(test::run_until(
        f.context.get(), [&] { return outcome.has_value(); }, 2s));
    CHECK_FALSE(*outcome);
    // Nothing pending any more: a later start runs at once.
    bool at_once = false;
    f.manager->await_cluster_meta([&](bool) { at_once = true; });
    CHECK(at_once);
}

TEST_CASE("the session is opened again: provider gone, destroyed by the cluster, unanswered")
{
    Fixture f;
    f.open();
    const std::string first = *f.host.sent[0].session;

    // Its provider goes; the newest one takes it.
    f.host.provider = "P2";
    f.follower->provider_gone("P2");  // another provider: nothing happens
    CHECK(f.follower->owns(first));
    f.follower->provider_gone("P1");
    CHECK_FALSE(f.follower->owns(first));
    REQUIRE(f.wait_sent(6));
    CHECK(f.host.sent[4].op == "new");
    const std::string second = *f.host.sent[4].session;
    CHECK(second != first);

    // The cluster destroys it: opened again after the pause, without a destroy of ours.
    f.follower->destroyed();
    CHECK_FALSE(f.follower->owns(second));
    REQUIRE(f.wait_sent(8));
    CHECK(f.host.sent[6].op == "new");
    const std::string third = *f.host.sent[6].session;

    // No answer to the register: destroyed by us, then opened again.
    REQUIRE(f.wait_sent(10, 3s));
    CHECK(f.host.sent[8].op == "destroy");
    CHECK(f.host.sent[8].session == third);
    CHECK(f.host.sent[9].op == "new");

    // A registration refused: the same.
    f.follower->response(1, xml(R"(<cib_common_callback_worker cib_op="register"/>)"));
    REQUIRE(f.wait_sent(12, 3s));
    CHECK(f.host.sent[10].op == "request");
    CHECK(f.host.sent[11].op == "destroy");

    // Destroying the follower destroys its open session.
    REQUIRE(f.wait_sent(14, 3s));
    const std::string open_session = *f.host.sent[12].session;
    f.follower.reset();
    CHECK(f.last().op == "destroy");
    CHECK(f.last().session == open_session);
}

TEST_CASE("a send that fails closes the session; the provider's going opens it on the newest")
{
    Fixture f;
    f.open();
    f.follower->response(3, xml(resources_reply("")));
    f.host.provider.reset();  // P1 cannot be reached any more
    f.follower->event(
        xml(R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result><diff format="2">
        <change operation="delete" path="/cib/configuration/resources/primitive[@id='web']"/>
        </diff></cib_update_result></notify>)"));
    REQUIRE(test::run_until(
        f.context.get(), [&] { return f.follower->session().empty(); }, 2s));
    f.host.provider = "P2";
    f.follower->provider_gone("P1");
    REQUIRE(f.wait_sent(6));
    CHECK(f.host.sent[4].op == "new");
    CHECK(f.follower->owns(*f.host.sent[4].session));
}

TEST_CASE("the last configuration is evaluated again once an action names the agent's node")
{
    Fixture f;
    f.open();
    // A limit only for the node named node7 (and a default for every other resource).
    f.follower->response(3,
                         xml(R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="0"><cib_calldata><configuration>
        <nodes><node id="node7" uname="node7" type="remote"/></nodes>
        <resources><primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
          <meta_attributes id="m" score="10"><rule id="r"><expression id="e" attribute="#uname" operation="eq"
            value="node7"/></rule><nvpair id="n" name="outpost-memory-max" value="64M"/></meta_attributes>
        </primitive></resources>
        <rsc_defaults><meta_attributes id="d"><nvpair id="d1" name="outpost-memory-max" value="32M"/>
        </meta_attributes></rsc_defaults></configuration></cib_calldata></cib-reply>)"));
    // No action yet: no node, the rule does not hold, the default applies.
    const wire::ParamMap* meta = isolation::meta_for(f.manager->cluster_meta(), "web");
    REQUIRE(meta != nullptr);
    CHECK(*meta->find("outpost-memory-max") == "32M");

    wire::ParamMap params;
    params.insert("CRM_meta_on_node", "node7");
    REQUIRE(f.manager->prepare("web", params).ok());
    CHECK(f.manager->node_name() == "node7");
    REQUIRE(test::run_until(
        f.context.get(),
        [&] {
            const wire::ParamMap* m = isolation::meta_for(f.manager->cluster_meta(), "web");
            return m != nullptr && *m->find("outpost-memory-max") == "64M";
        },
        2s));
    // Applied to the running resource's cgroup before any new query; then the node's
    // transient attributes are asked for.
    CHECK(f.file("memory.max") == "67108864");
    REQUIRE(f.wait_sent(5));
    CHECK(*f.last().msg->attr("cib_section") ==
          "/cib/status/node_state[@uname='node7']/transient_attributes");
}

TEST_CASE("the node's transient attributes: read with the snapshot, followed, other status changes not read")
{
    Fixture f;
    wire::ParamMap params;
    params.insert("CRM_meta_on_node", "g1");
    REQUIRE(f.manager->prepare("web", params).ok());
    f.open();
    // tier: permanent silver (20%); gold gives 50%.
    f.follower->response(3,
                         xml(R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="0"><cib_calldata><configuration>
        <nodes><node id="g1" uname="g1" type="remote"><instance_attributes id="na">
          <nvpair id="na1" name="tier" value="silver"/></instance_attributes></node></nodes>
        <resources><primitive id="web" class="ocf" provider="heartbeat" type="Dummy">
          <meta_attributes id="m1" score="10"><rule id="r1"><expression id="e1" attribute="tier" operation="eq"
            value="gold"/></rule><nvpair id="m1a" name="outpost-cpu-quota" value="50%"/></meta_attributes>
          <meta_attributes id="m2" score="5"><rule id="r2"><expression id="e2" attribute="tier" operation="eq"
            value="silver"/></rule><nvpair id="m2a" name="outpost-cpu-quota" value="20%"/></meta_attributes>
        </primitive></resources></configuration></cib_calldata></cib-reply>)"));
    // Evaluated once this node's entry is in too.
    REQUIRE(f.host.sent.size() == 5);
    REQUIRE(f.last().msg);
    CHECK(*f.last().msg->attr("cib_op") == "cib_query");
    CHECK(*f.last().msg->attr("cib_section") == "/cib/status/node_state[@uname='g1']/transient_attributes");
    CHECK(*f.last().msg->attr("cib_callopt") == "4354");
    CHECK(f.follower->evaluations() == 0);
    auto transient = [](const std::string& tier) {
        return xml(R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="0"><cib_calldata>
            <transient_attributes id="g1"><instance_attributes id="status-g1">
            <nvpair id="status-g1-tier" name="tier" value=")" +
                   tier + R"("/></instance_attributes></transient_attributes></cib_calldata></cib-reply>)");
    };
    f.follower->response(5, transient("gold"));
    CHECK(f.follower->evaluations() == 1);
    CHECK(f.file("cpu.max") == "50000 100000");  // the transient tier over the permanent one

    auto notify = [](const std::string& changes) {
        return xml(R"(<notify t="cib_notify" subt="cib_diff_notify"><cib_update_result><diff format="2">)" +
                   changes + "</diff></cib_update_result></notify>");
    };
    const std::string ours = R"(<change operation="modify"
        path="/cib/status/node_state[@id='g1']/transient_attributes[@id='g1']/instance_attributes[@id='status-g1']/nvpair[@id='status-g1-tier']"/>)";
    // Operation history, another node's attributes: not read.
    f.follower->event(notify(R"(<change operation="create"
        path="/cib/status/node_state[@id='g1']/lrm[@id='g1']/lrm_resources/lrm_resource[@id='web']"><lrm_rsc_op id="x"/></change>
        <change operation="modify" path="/cib/status/node_state[@id='n1']/transient_attributes[@id='n1']/instance_attributes[@id='s']/nvpair[@id='t']"/>)"));
    test::loop_for(f.context.get(), 60ms);
    CHECK(f.host.sent.size() == 5);

    // This node's tier changes (a burst): read once after the debounce, the limit follows.
    f.follower->event(notify(ours));
    f.follower->event(notify(ours));
    REQUIRE(f.wait_sent(6));
    test::loop_for(f.context.get(), 60ms);
    REQUIRE(f.host.sent.size() == 6);
    CHECK(*f.last().msg->attr("cib_section") == "/cib/status/node_state[@uname='g1']/transient_attributes");
    f.follower->response(6, transient("copper"));
    CHECK(f.follower->evaluations() == 2);
    CHECK(f.file("cpu.max") == "max 100000");

    // Read again with the same values: not evaluated again.
    f.follower->event(notify(ours));
    REQUIRE(f.wait_sent(7));
    f.follower->response(7, transient("copper"));
    CHECK(f.follower->evaluations() == 2);

    // Gone (nothing matches, -ENXIO): the permanent tier again.
    f.follower->event(notify(R"(<change operation="delete"
        path="/cib/status/node_state[@id='g1']/transient_attributes[@id='g1']"/>)"));
    REQUIRE(f.wait_sent(8));
    f.follower->response(8, xml(R"(<cib-reply t="cib" cib_op="cib_query" cib_rc="-6"/>)"));
    CHECK(f.follower->evaluations() == 3);
    CHECK(f.file("cpu.max") == "20000 100000");

    // A configuration change reads both again.
    f.follower->event(
        notify(R"(<change operation="delete" path="/cib/configuration/resources/primitive[@id='x']"/>)"));
    REQUIRE(f.wait_sent(9));
    CHECK(*f.last().msg->attr("cib_section") == "configuration");
}
