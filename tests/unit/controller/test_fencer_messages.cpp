// The fencer's (stonith-ng) messages: requests as stonith_admin and crm_mon 2.1.5 send them
// (observed against a real pacemaker-fenced, docs/architecture.md "The stonith-ng face"),
// the replies, the bounded history, and FencerFace's dispatch (register, subscriptions,
// sync/async answers, refusals, closing on bad input) over a recording transport and a
// scripted FencerActions. The real loop and tools: integration test controld-fencing.
#include <catch.hpp>
#include <cerrno>
#include <ctime>

#include <map>
#include <string>
#include <vector>

#include "controller/fencer_face.hpp"
#include "controller/fencer_messages.hpp"
#include "controller/xml.hpp"

using namespace outpost;
using namespace outpost::cluster::controller;

namespace {

// An attribute of the first element named `element` in `xml` ("" when absent).
std::string attribute(const std::string& xml, const std::string& element, const char* name)
{
    auto doc = parse_document(xml, 1 << 20, "test");
    REQUIRE(doc.ok());
    std::vector<const xmlNode*> todo{root_of(doc->get())};
    while (!todo.empty()) {
        const xmlNode* node = todo.back();
        todo.pop_back();
        if (name_of(node) == element) return attr(node, name).value_or("");
        auto children = element_children(node);
        for (auto it = children.rbegin(); it != children.rend(); ++it)
            todo.push_back(*it);  // document order
    }
    return "";
}

std::size_t count_of(const std::string& xml, const std::string& what)
{
    std::size_t n = 0;
    for (std::size_t at = xml.find(what); at != std::string::npos; at = xml.find(what, at + 1))
        ++n;
    return n;
}

const char* const kFenceRequest =
    R"(<stonith_command __name__="stonith_command" t="stonith-ng" st_async_id="x" st_op="st_fence" )"
    R"(st_callid="2" st_callopt="2" st_timeout="120" st_delay="0" st_clientid="x" st_clientname="stonith_admin">)"
    R"(<st_calldata><stonith_api_fence_with_delay st_target="rem1" st_device_action="off" st_timeout="120" )"
    R"(st_tolerance="0" st_delay="0"/></st_calldata></stonith_command>)";

FenceHistoryEntry entry(const std::string& id, const std::string& target, FenceState state)
{
    FenceHistoryEntry e;
    e.id = id;
    e.target = target;
    e.action = "off";
    e.origin = "node1";
    e.client = "stonith_admin.42";
    e.state = state;
    e.completed = 1796623454;
    e.completed_ns = 293317401;
    if (state == FenceState::done) e.delegate = "node1";
    if (state == FenceState::failed)
        e.result = FencerResult::failed(wire::ExecStatus::no_fence_device, -ENODEV, "none");
    return e;
}

}  // namespace

TEST_CASE("fencer requests parse as stonith_admin and crm_mon send them")
{
    auto reg =
        parse_fencer_request(R"(<stonith_command t="stonith-ng" st_op="register" st_clientname="crm_mon"/>)");
    REQUIRE(reg.ok());
    CHECK(reg->op == "register");
    CHECK(reg->client_name == "crm_mon");

    auto notify = parse_fencer_request(R"(<stonith_set_notification st_op="st_notify" )"
                                       R"(st_notify_activate="st_notify_history"/>)");
    REQUIRE(notify.ok());
    CHECK(notify->notify_activate == "st_notify_history");

    auto fence = parse_fencer_request(kFenceRequest);
    REQUIRE(fence.ok());
    CHECK(fence->op == "st_fence");
    CHECK(fence->call_id == 2);
    CHECK(fence->call_options == 2);
    CHECK(fence->timeout_s == 120);
    CHECK(fence->target == "rem1");
    CHECK(fence->action == "off");

    auto execute = parse_fencer_request(
        R"(<stonith_command t="stonith-ng" st_op="st_execute" st_callid="2" st_callopt="4098" st_timeout="120">)"
        R"(<st_calldata><st_device_id st_origin="stonith_api_call" st_device_id="fobs" )"
        R"(st_device_action="list"/></st_calldata></stonith_command>)");
    REQUIRE(execute.ok());
    CHECK(execute->device == "fobs");
    CHECK(execute->action == "list");
    CHECK((execute->call_options & st_opt::sync_call) != 0);

    auto history = parse_fencer_request(
        R"(<stonith_command t="stonith-ng" st_op="st_fence_history" st_callid="2" st_callopt="528386">)"
        R"(<st_calldata><stonith_api_history st_target="rem1"/></st_calldata></stonith_command>)");
    REQUIRE(history.ok());
    CHECK(history->target == "rem1");
    CHECK((history->call_options & st_opt::cleanup) != 0);

    auto registration = parse_fencer_request(
        R"(<stonith_command t="stonith-ng" st_op="st_device_register" st_callid="2" st_callopt="4098">)"
        R"(<st_calldata><st_device_id id="obs2" agent="fence_observe" namespace="stonith-ng">)"
        R"(<attributes pcmk_host_list="rem3"/></st_device_id></st_calldata></stonith_command>)");
    REQUIRE(registration.ok());
    CHECK(registration->device == "obs2");
    CHECK(registration->agent == "fence_observe");
    CHECK(registration->params == std::map<std::string, std::string>{{"pcmk_host_list", "rem3"}});

    // stonith_admin --register-level @r.* --index 3 --device f1 --device f2
    auto level = parse_fencer_request(
        R"(<stonith_command t="stonith-ng" st_op="st_level_add" st_callid="2" st_callopt="4098">)"
        R"(<st_calldata><fencing-level st_origin="stonith_api_register_level_full" id="3" index="3" )"
        R"(target-pattern="r.*" devices="f1,f2"/></st_calldata></stonith_command>)");
    REQUIRE(level.ok());
    CHECK(level->level.index == 3);
    CHECK(level->level.target_pattern == "r.*");
    CHECK(level->level.devices == std::vector<std::string>{"f1", "f2"});
    auto by_attribute = parse_fencer_request(
        R"(<stonith_command t="stonith-ng" st_op="st_level_remove" st_callid="2" st_callopt="4098">)"
        R"(<st_calldata><fencing-level target-attribute="rack" target-value="1" index="0"/>)"
        R"(</st_calldata></stonith_command>)");
    REQUIRE(by_attribute.ok());
    CHECK(by_attribute->level.target_attribute == "rack");
    CHECK(by_attribute->level.target_value == "1");
    CHECK(by_attribute->level.devices.empty());
}

TEST_CASE("fencer requests that are not are refused")
{
    CHECK_FALSE(parse_fencer_request("").ok());
    CHECK_FALSE(parse_fencer_request("<cib/>").ok());
    CHECK_FALSE(parse_fencer_request(R"(<stonith_command t="stonith-ng"/>)").ok());  // no st_op
    CHECK_FALSE(parse_fencer_request(R"(<stonith_command st_op="st_fence" st_callid="x"/>)").ok());
    CHECK_FALSE(parse_fencer_request(R"(<stonith_command st_op="st_fence" st_callopt="-1"/>)").ok());
    CHECK_FALSE(
        parse_fencer_request(R"(<stonith_command st_op="st_fence" st_timeout="9999999999999"/>)").ok());
    const std::string long_name(kMaxFencerName + 1, 'n');
    CHECK_FALSE(parse_fencer_request(R"(<stonith_command st_op="st_fence"><st_calldata><x st_target=")" +
                                     long_name + R"("/></st_calldata></stonith_command>)")
                    .ok());
    std::string many =
        R"(<stonith_command st_op="st_device_register"><st_calldata><st_device_id><attributes)";
    for (std::size_t i = 0; i <= kMaxFencerParams; ++i)
        many += " p" + std::to_string(i) + "=\"v\"";
    many += "/></st_device_id></st_calldata></stonith_command>";
    CHECK_FALSE(parse_fencer_request(many).ok());
    CHECK_FALSE(parse_fencer_request(std::string(kMaxFencerRequest + 1, ' ')).ok());
}

TEST_CASE("fencer replies carry what the tools read")
{
    auto request = parse_fencer_request(kFenceRequest);
    REQUIRE(request.ok());
    request->client_id = "cid";
    request->client_name = "stonith_admin.42";

    CHECK(fencer_register_reply("cid") == R"(<reply st_op="register" st_clientid="cid"/>)");
    CHECK(attribute(fencer_notify_ack(), "ack", "status") == "0");

    const std::string failed = fencer_reply(
        *request, FencerResult::failed(wire::ExecStatus::no_fence_device, -ENODEV, "'x' not found"));
    CHECK(attribute(failed, "st-reply", "op-status") == "10");
    CHECK(attribute(failed, "st-reply", "rc-code") == "1");
    CHECK(attribute(failed, "st-reply", "st_rc") == "-19");
    CHECK(attribute(failed, "st-reply", "exit-reason") == "'x' not found");
    CHECK(attribute(failed, "st-reply", "st_callid") == "2");
    CHECK(attribute(failed, "st-reply", "st_clientid") == "cid");

    const FenceHistoryEntry done = entry("op1", "rem1", FenceState::done);
    const std::string fenced = fencer_fence_reply(*request, done, "node1");
    CHECK(attribute(fenced, "st-reply", "st_delegate") == "node1");
    CHECK(attribute(fenced, "st_notify_fence", "state") == "2");
    CHECK(attribute(fenced, "st_notify_fence", "st_target") == "rem1");
    CHECK(attribute(fenced, "st_notify_fence", "st_remote_op") == "op1");

    const std::string notification = fencer_fence_notification(entry("op2", "rem9", FenceState::failed));
    CHECK(attribute(notification, "notify", "subt") == "st_notify_fence");
    CHECK(attribute(notification, "notify", "st_rc") == "-19");
    CHECK(attribute(notification, "st_notify_fence", "state") == "4");
    CHECK(attribute(notification, "st_notify_fence", "st_delegate").empty());
    CHECK(attribute(fencer_history_notification(), "notify", "subt") == "st_notify_history");
    CHECK(attribute(fencer_timeout_value(2, 120), "st-async-timeout-value", "st_timeout") == "144");

    FencerDevice device{"f1", "fence_outpost_test", {{"pcmk_host_list", "r1 r2"}, {"config", "/x"}}};
    const std::string all = fencer_query_calldata({}, {device});
    CHECK(attribute(all, "stonith_query_capable_device_cb", "st-available-devices") == "1");
    CHECK(attribute(all, "st_device_id", "id") == "f1");
    CHECK(attribute(all, "attributes", "pcmk_host_list") == "r1 r2");
    CHECK(attribute(all, "attributes", "config").empty());  // not a fencer setting
    const std::string none = fencer_query_calldata("r7", {});
    CHECK(attribute(none, "stonith_query_capable_device_cb", "st_target") == "r7");
    CHECK(attribute(none, "stonith_query_capable_device_cb", "st-available-devices") == "0");
}

TEST_CASE("the fence history is bounded, newest first in replies, cleared by target")
{
    FenceHistory history(3);
    history.add(entry("a", "r1", FenceState::done));
    history.add(entry("b", "r2", FenceState::failed));
    history.add(entry("c", "r1", FenceState::pending));
    history.add(entry("d", "r2", FenceState::done));
    REQUIRE(history.entries().size() == 3);
    CHECK(history.find("a") == nullptr);  // the oldest went

    CHECK(history.finish("c", FenceState::done, FencerResult::ok(), "node1", 1796623500, 7));
    CHECK_FALSE(history.finish("a", FenceState::done, FencerResult::ok(), "node1", 1, 0));
    REQUIRE(history.find("c") != nullptr);
    CHECK(history.find("c")->completed == 1796623500);
    CHECK(history.find("c")->delegate == "node1");

    const std::string listed = fencer_history_calldata(history.entries(), {});
    CHECK(count_of(listed, "<st_execute ") == 3);
    CHECK(listed.find("r2") < listed.find("st_date=\"1796623500\""));  // newest first
    CHECK(attribute(listed, "st_execute", "st_state") == "2");
    CHECK(attribute(listed, "st_execute", "st_date_nsec") == "293317401");
    CHECK(count_of(fencer_history_calldata(history.entries(), "r1"), "<st_execute ") == 1);

    history.add(entry("e", "r1", FenceState::pending));  // b goes
    CHECK(history.clear("r2") == 1);
    CHECK(history.clear({}) == 1);  // c; the pending e stays
    REQUIRE(history.entries().size() == 1);
    CHECK(history.entries().front().id == "e");
}

namespace {

// Scripted loop side: fencing and device actions finish when the test says so.
class ScriptedActions final : public FencerActions {
public:
    std::vector<FencerDevice> devices{{"f1", "fence_x", {{"pcmk_host_list", "r1"}}}};
    FenceHistory history;
    std::vector<std::function<void(const FenceHistoryEntry&)>> fencing;
    std::vector<FenceOrder> orders;
    FencerListener* listener = nullptr;
    DeviceActionOutcome action_outcome;
    std::vector<std::string> actions_run;

    [[nodiscard]] std::vector<FencerDevice> fence_devices() const override { return devices; }
    [[nodiscard]] const FenceHistory& fence_history() const override { return history; }
    void capable_devices(const std::string& target,
                         std::function<void(std::vector<FencerDevice>)> done) override
    {
        done(target == "r1" ? devices : std::vector<FencerDevice>{});
    }
    void fence(const FenceOrder& order, std::function<void(const FenceHistoryEntry&)> done) override
    {
        orders.push_back(order);
        fencing.push_back(std::move(done));
    }
    FenceHistoryEntry confirm_fenced(const FenceOrder& order) override
    {
        FenceHistoryEntry e = entry("confirmed", order.target, FenceState::done);
        e.delegate = "a human";
        e.completed = std::time(nullptr);
        history.add(e);
        return e;
    }
    void clear_fence_history(const std::string& target) override { history.clear(target); }
    void run_device_action(const FencerDevice& device, const std::string& action,
                           const std::string& /*target*/, std::uint32_t /*timeout_ms*/,
                           std::function<void(const DeviceActionOutcome&)> done) override
    {
        actions_run.push_back(device.id + " " + action);
        done(action_outcome);
    }
    FencerResult register_level(const FencerLevel& level) override
    {
        levels.push_back("add " + std::to_string(level.index) + " " + level.target + level.target_pattern);
        return FencerResult::ok();
    }
    FencerResult remove_level(const FencerLevel& level) override
    {
        levels.push_back("remove " + std::to_string(level.index) + " " + level.target);
        return FencerResult::failed(wire::ExecStatus::invalid, -EINVAL, "scripted");
    }
    void set_fencer_listener(FencerListener* l) override { listener = l; }
    std::vector<std::string> levels;
};

struct Sent {
    ipc::ConnectionId id;
    ipc::Kind kind;
    std::int32_t msg_id;
    std::string xml;
};

struct Harness {
    ScriptedActions actions;
    FencerFace face{actions, "node1"};
    std::vector<Sent> sent;
    std::vector<ipc::ConnectionId> closed;

    Harness()
    {
        FencerFace::Transport transport;
        transport.send = [this](ipc::ConnectionId id, ipc::Kind kind, std::int32_t msg_id,
                                const std::string& xml) {
            sent.push_back({id, kind, msg_id, xml});
            return Status{};
        };
        transport.close = [this](ipc::ConnectionId id, const std::string&) { closed.push_back(id); };
        transport.pid = [](ipc::ConnectionId id) { return static_cast<pid_t>(100 + id); };
        face.attach(std::move(transport));
    }
    void request(ipc::ConnectionId id, std::int32_t msg_id, const std::string& xml,
                 bool wants_response = true)
    {
        ipc::Message message;
        message.header.id = msg_id;
        message.header.flags = wants_response ? wire::ipc_flag::client_response : 0;
        message.xml = xml;
        face.message(id, message);
    }
    void registered(ipc::ConnectionId id, const std::string& name)
    {
        request(id, 1,
                R"(<stonith_command t="stonith-ng" st_op="register" st_clientname=")" + name + R"("/>)");
    }
};

std::string call(const std::string& op, int call_options, const std::string& calldata = {})
{
    return R"(<stonith_command t="stonith-ng" st_op=")" + op + R"(" st_callid="2" st_callopt=")" +
           std::to_string(call_options) + R"(" st_timeout="120">)" +
           (calldata.empty() ? "" : "<st_calldata>" + calldata + "</st_calldata>") + "</stonith_command>";
}

}  // namespace

TEST_CASE("FencerFace registers clients and answers sync calls as responses, async ones as events")
{
    Harness h;
    CHECK(h.actions.listener == &h.face);
    h.registered(7, "stonith_admin");
    REQUIRE(h.sent.size() == 1);
    CHECK(h.sent[0].kind == ipc::Kind::response);
    CHECK(h.sent[0].msg_id == 1);
    const std::string client_id = attribute(h.sent[0].xml, "reply", "st_clientid");
    CHECK(client_id.size() == 36);

    // --list-registered: st_query without a target, synchronous.
    h.request(7, 2, call("st_query", 4098, R"(<st_device_id st_device_action="off"/>)"));
    REQUIRE(h.sent.size() == 2);
    CHECK(h.sent[1].kind == ipc::Kind::response);
    CHECK(h.sent[1].msg_id == 2);
    CHECK(attribute(h.sent[1].xml, "st_device_id", "id") == "f1");
    CHECK(attribute(h.sent[1].xml, "st-reply", "st_clientname") == "stonith_admin.107");
    CHECK(attribute(h.sent[1].xml, "st-reply", "st_clientid") == client_id);

    // --list r2: no device can.
    h.request(7, 3, call("st_query", 4098, R"(<st_device_id st_target="r2" st_device_action="off"/>)"));
    CHECK(attribute(h.sent.back().xml, "stonith_query_capable_device_cb", "st-available-devices") == "0");

    // --list-targets f1 runs the agent's list; an unknown device is not found (ENODEV).
    h.actions.action_outcome = {true, false, 0, "r1\n", ""};
    h.request(7, 4, call("st_execute", 4098, R"(<st_device_id st_device_id="f1" st_device_action="list"/>)"));
    CHECK(h.actions.actions_run == std::vector<std::string>{"f1 list"});
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_output") == "r1\n");
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == "0");
    h.request(7, 5,
              call("st_execute", 4098, R"(<st_device_id st_device_id="nosuch" st_device_action="list"/>)"));
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == "-19");
    CHECK(attribute(h.sent.back().xml, "st-reply", "exit-reason") == "'nosuch' not found");

    // Registering a device through the IPC is not supported.
    h.request(7, 6, call("st_device_register", 4098, R"(<st_device_id id="x" agent="fence_x"/>)"));
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == std::to_string(-EOPNOTSUPP));
    CHECK(h.closed.empty());
}

TEST_CASE("FencerFace registers and removes topology levels through the loop")
{
    Harness h;
    h.registered(7, "stonith_admin");
    // stonith_admin --register-level r1 --index 2 --device f1 --device f2
    h.request(7, 2,
              call("st_level_add", 4098,
                   R"(<fencing-level st_origin="stonith_api_register_level_full" id="2" index="2" )"
                   R"(target="r1" devices="f1,f2"/>)"));
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == "0");
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_op") == "st_level_add");
    h.request(7, 3, call("st_level_remove", 4098, R"(<fencing-level index="2" target="r1"/>)"));
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == std::to_string(-EINVAL));
    CHECK(h.actions.levels == std::vector<std::string>{"add 2 r1", "remove 2 r1"});
}

TEST_CASE("FencerFace fences through the loop, notifies subscribers and confirms")
{
    Harness h;
    h.registered(1, "crm_mon");
    h.request(1, 2,
              R"(<stonith_set_notification st_op="st_notify" st_notify_activate="st_notify_history"/>)");
    CHECK(attribute(h.sent.back().xml, "ack", "status") == "0");
    h.registered(2, "stonith_admin");
    h.request(2, 2, R"(<stonith_set_notification st_op="st_notify" st_notify_activate="st_notify_fence"/>)");
    h.sent.clear();

    // stonith_admin --fence r1: asynchronous (call options 2), so no response.
    h.request(2, 3, call("st_fence", 2, R"(<x st_target="r1" st_device_action="off"/>)"));
    REQUIRE(h.actions.orders.size() == 1);
    CHECK(h.actions.orders[0].target == "r1");
    CHECK(h.actions.orders[0].client == "stonith_admin.102");
    CHECK(h.actions.orders[0].timeout_ms == 120000);
    REQUIRE(h.sent.size() == 1);
    CHECK(h.sent[0].kind == ipc::Kind::event);
    CHECK(h.sent[0].xml.starts_with("<st-async-timeout-value"));

    FenceHistoryEntry done = entry("op1", "r1", FenceState::done);
    h.actions.fencing[0](done);
    h.face.fence_finished(done);
    h.face.history_changed();
    REQUIRE(h.sent.size() == 4);
    CHECK(h.sent[1].id == 2);
    CHECK(h.sent[1].kind == ipc::Kind::event);
    CHECK(attribute(h.sent[1].xml, "st-reply", "st_op") == "st_fence");
    CHECK(attribute(h.sent[1].xml, "st-reply", "st_delegate") == "node1");
    CHECK(h.sent[2].id == 2);  // st_notify_fence goes to its subscriber only
    CHECK(attribute(h.sent[2].xml, "notify", "subt") == "st_notify_fence");
    CHECK(h.sent[3].id == 1);
    CHECK(attribute(h.sent[3].xml, "notify", "subt") == "st_notify_history");

    // --confirm: manual ack, synchronous; answered at once.
    h.request(2, 4, call("st_fence", 4106, R"(<x st_target="r2" st_device_action="off"/>)"));
    CHECK(h.sent.back().kind == ipc::Kind::response);
    CHECK(h.sent.back().msg_id == 4);
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_delegate") == "a human");
    CHECK(h.actions.orders.size() == 1);  // nothing fenced

    // --tolerance: the confirmation just now will do.
    h.request(2, 5,
              call("st_fence", 4098, R"(<x st_target="r2" st_device_action="off" st_tolerance="60"/>)"));
    CHECK(h.actions.orders.size() == 1);
    CHECK(attribute(h.sent.back().xml, "st_notify_fence", "st_remote_op") == "confirmed");

    // A bad action is invalid; a client gone before its fencing ends gets nothing.
    h.request(2, 6, call("st_fence", 4098, R"(<x st_target="r2" st_device_action="explode"/>)"));
    CHECK(attribute(h.sent.back().xml, "st-reply", "st_rc") == std::to_string(-EINVAL));
    h.request(2, 7, call("st_fence", 2, R"(<x st_target="r1" st_device_action="reboot"/>)"));
    h.face.closed(2);
    const std::size_t before = h.sent.size();
    h.actions.fencing[1](entry("op3", "r1", FenceState::done));
    CHECK(h.sent.size() == before);

    // History: listed, then cleaned up.
    h.request(1, 8, call("st_fence_history", 4096));
    CHECK(count_of(h.sent.back().xml, "<st_execute ") == 1);
    h.request(1, 9, call("st_fence_history", 528384, R"(<stonith_api_history st_target="r2"/>)"));
    CHECK(h.actions.history.entries().empty());
}

TEST_CASE("FencerFace closes clients that send garbage or call before registering")
{
    Harness h;
    h.request(3, 1, "<not-xml");
    CHECK(h.closed == std::vector<ipc::ConnectionId>{3});
    h.request(4, 1, call("st_fence_history", 4096));
    CHECK(h.closed == std::vector<ipc::ConnectionId>{3, 4});
    CHECK(h.sent.empty());
    CHECK(h.face.client_count() == 0);
}
