// wire/codes.hpp: the protocol's vocabulary, and the conversions between the complete
// request types (ExecRequest, AlertRequest) and their wire form.
#include <catch.hpp>

#include "wire/codes.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::wire;

TEST_CASE("codes: names as Pacemaker's tools print them")
{
    CHECK(ocf_rc_name(ocf::ok) == "ok");
    CHECK(ocf_rc_name(ocf::not_running) == "not running");
    CHECK(ocf_rc_name(ocf::failed_promoted) == "promoted (failed)");
    CHECK(ocf_rc_name(ocf::degraded) == "error");
    CHECK(ocf_rc_name(-1) == "error");
    CHECK(exec_status_name(ExecStatus::done) == "complete");
    CHECK(exec_status_name(ExecStatus::timeout) == "Timed Out");
    CHECK(exec_status_name(ExecStatus::no_secrets) == "No secrets");
    CHECK(exec_status_name(ExecStatus::pending) == "Unknown");
    CHECK(exec_status_name(static_cast<ExecStatus>(99)) == "Unknown");
}

TEST_CASE("codes: drop-recurring is tested as 2.1.5 tests it (both bits)")
{
    CHECK(callopt::has_drop_recurring(callopt::drop_recurring));
    CHECK(callopt::has_drop_recurring(7));
    CHECK_FALSE(callopt::has_drop_recurring(callopt::drop_recurring_3_0));
    CHECK_FALSE(callopt::has_drop_recurring(callopt::notify_orig_only));
    CHECK(rc::no_device == -19);
    CHECK(rc::not_supported == -95);
}

TEST_CASE("messages: an ExecRequest survives its wire form; notify_for echoes it")
{
    ExecRequest exec;
    exec.rsc_id = "r1";
    exec.action = "monitor";
    exec.interval_ms = 10000;
    exec.timeout_ms = 5000;
    exec.start_delay_ms = 7;
    exec.userdata = "ud";
    exec.callopts = callopt::notify_changes_only;
    exec.params.insert("state", "/tmp/x");
    auto decoded = decode_message(encode(to_request(exec)));
    REQUIRE(decoded.ok());
    const auto& request = std::get<Request>(*decoded);
    CHECK(request.op == Op::rsc_exec);
    CHECK(request.rsc->origin == "lrmd_api_exec");
    CHECK(exec_request(request) == exec);

    Request incomplete = to_request(exec);
    incomplete.rsc->action.reset();
    CHECK_FALSE(exec_request(incomplete));

    ExecNotify notify = notify_for(exec, 42);
    CHECK(notify.call_id == 42);
    CHECK(notify.rsc_id == "r1");
    CHECK(notify.interval_ms == 10000);
    CHECK(notify.userdata == "ud");
    CHECK(notify.params == exec.params);
    CHECK(notify.op_status == ExecStatus::done);
}

TEST_CASE("messages: an AlertRequest survives its wire form")
{
    AlertRequest alert{"a1", "/usr/bin/true", 1000, {}};
    alert.params.insert("CRM_alert_kind", "node");
    auto decoded = decode_message(encode(to_request(alert)));
    REQUIRE(decoded.ok());
    const auto& request = std::get<Request>(*decoded);
    CHECK(request.callopts == callopt::notify_orig_only);
    CHECK(alert_request(request) == alert);
    Request no_path = to_request(alert);
    no_path.alert->path.reset();
    CHECK_FALSE(alert_request(no_path));
}
