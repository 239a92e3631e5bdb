// agents: planning an action and interpreting its outcome (docs/protocol.md 5.5 - 5.10).
#include <signal.h>
#include <catch2/catch.hpp>

#include <algorithm>

#include "executor/agents.hpp"
#include "executor/secrets.hpp"
#include "executor_test_support.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::agents;
using outpost::agent::executor::test::OcfTree;
using outpost::agent::executor::test::write_file;

namespace {

// argv pieces joined with '|' (an empty argument stays visible).
std::string joined(const std::vector<std::string>& args)
{
    std::string out;
    for (std::size_t i = 0; i < args.size(); ++i)
        out += (i > 0 ? "|" : "") + args[i];
    return out;
}

std::string env_value(const std::vector<std::string>& env, const std::string& name)
{
    for (const auto& var : env) {
        if (var.starts_with(name + "=")) return var.substr(name.size() + 1);
    }
    return "<unset>";
}

}  // namespace

TEST_CASE("OCF exit codes: 0-9, 190, 191 kept, others generic error", "[agents]")
{
    for (int rc : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191})
        CHECK(uniform_rc(Standard::ocf, "monitor", rc) == rc);
    for (int rc : {-1, 10, 99, 189, 192, 193, 255})
        CHECK(uniform_rc(Standard::ocf, "start", rc) == 1);
}

TEST_CASE("LSB exit codes: non-status 0-7 kept; status mapped", "[agents]")
{
    for (int rc = 0; rc <= 7; ++rc)
        CHECK(uniform_rc(Standard::lsb, "start", rc) == rc);
    CHECK(uniform_rc(Standard::lsb, "stop", 8) == 1);
    CHECK(uniform_rc(Standard::lsb, "status", 0) == 0);
    CHECK(uniform_rc(Standard::lsb, "status", 1) == 7);
    CHECK(uniform_rc(Standard::lsb, "status", 2) == 7);
    CHECK(uniform_rc(Standard::lsb, "status", 3) == 7);
    CHECK(uniform_rc(Standard::lsb, "status", 4) == 1);
    CHECK(uniform_rc(Standard::lsb, "status", 5) == 1);
    CHECK(uniform_rc(Standard::lsb, "status", 150) == 5);
    CHECK(uniform_rc(Standard::lsb, "status", 151) == 4);
    CHECK(uniform_rc(Standard::lsb, "status", 7) == 1);
    CHECK(uniform_rc(Standard::systemd, "start", 193) == 193);
}

TEST_CASE("exit reason: last ocf-exit-reason line wins, 128 chars", "[agents]")
{
    CHECK(parse_exit_reason("").empty());
    CHECK(parse_exit_reason("no reason here\n").empty());
    CHECK(
        parse_exit_reason("ocf-exit-reason:first\nnoise\nocf-exit-reason:hyperdrive quota reached\nmore\n") ==
        "hyperdrive quota reached");
    CHECK(parse_exit_reason("x ocf-exit-reason:tail without newline") == "tail without newline");
    std::string long_reason(300, 'r');
    CHECK(parse_exit_reason("ocf-exit-reason:" + long_reason + "\n") == std::string(128, 'r'));
}

TEST_CASE("readable interval as pacemaker-remoted 2.1.5 prints it", "[agents]")
{
    // Each pair observed in 2.1.5's "Resource agent did not complete within ..." reasons.
    const std::pair<std::uint32_t, const char*> observed[] = {
        {500, "500ms"},      {999, "999ms"},        {1000, "1000ms"}, {1001, "1.001s"},
        {1999, "1.999s"},    {2000, "2s"},          {2001, "2.001s"}, {2500, "2.500s"},
        {59999, "59.999s"},  {60000, "60s"},        {60001, "1m1ms"}, {61000, "1m1000ms"},
        {61500, "1m1.500s"}, {119999, "1m59.999s"}, {120000, "2m"},   {121000, "2m1000ms"},
    };
    for (const auto& [ms, text] : observed) {
        INFO(ms);
        CHECK(readable_interval(ms) == text);
    }
    // The same rule extrapolated (not observed: hour-long timeouts).
    CHECK(readable_interval(0) == "0s");
    CHECK(readable_interval(3600000) == "60m");
    CHECK(readable_interval(3600001) == "1h1ms");
    CHECK(readable_interval(90061001) == "1d1h1m1.001s");
}

TEST_CASE("systemd unit names and class names", "[agents]")
{
    CHECK(systemd_unit_name("httpd") == "httpd.service");
    CHECK(systemd_unit_name("httpd.service") == "httpd.service");
    CHECK(systemd_unit_name("x.socket") == "x.socket");
    CHECK(systemd_unit_name("x.mount") == "x.mount");
    CHECK(systemd_unit_name("x.timer") == "x.timer");
    CHECK(systemd_unit_name("x.path") == "x.path");
    CHECK(systemd_unit_name("x.target") == "x.target.service");
    CHECK(parse_standard("OCF") == Standard::ocf);
    CHECK(parse_standard("Lsb") == Standard::lsb);
    CHECK(parse_standard("service") == Standard::unknown);
    CHECK(is_service_class("SERVICE"));
    CHECK(agent_action(Standard::lsb, "monitor") == "status");
    CHECK(agent_action(Standard::systemd, "monitor") == "status");
    CHECK(agent_action(Standard::ocf, "monitor") == "monitor");
}

TEST_CASE("exec errors: reasons and codes", "[agents]")
{
    auto r = exec_error_result(Standard::ocf, "start", "Dummy", ENOENT);
    CHECK(r.raw_rc == 5);
    CHECK(r.status == ExecStatus::not_installed);
    CHECK(r.reason == "Dummy: No such file or directory");
    auto s = exec_error_result(Standard::lsb, "status", "/etc/init.d/x", ENOENT);
    CHECK(s.raw_rc == 150);
    CHECK(uniform_rc(Standard::lsb, "status", s.raw_rc) == 5);
    auto p = exec_error_result(Standard::ocf, "start", "/a", EACCES);
    CHECK(p.raw_rc == 4);
    CHECK(p.status == ExecStatus::error);
    auto o = exec_error_result(Standard::ocf, "start", "/a", ENOMEM);
    CHECK(o.raw_rc == 1);
    CHECK(o.status == ExecStatus::error);
}

TEST_CASE("child outcomes: timeout and signal reasons", "[agents]")
{
    ChildOutcome timed;
    timed.end = ChildEnd::timed_out;
    auto t = result_from_child(Standard::ocf, "start", "Resource agent", "/a", 1500, timed);
    CHECK(t.raw_rc == 1);
    CHECK(t.status == ExecStatus::timeout);
    CHECK(t.reason == "Resource agent did not complete within 1.500s");
    auto lt = result_from_child(Standard::lsb, "status", "Resource agent", "/a", 1500, timed);
    CHECK(lt.raw_rc == 4);
    CHECK(uniform_rc(Standard::lsb, "status", lt.raw_rc) == 1);

    ChildOutcome sig;
    sig.end = ChildEnd::signaled;
    sig.signal = SIGSEGV;
    auto s = result_from_child(Standard::ocf, "start", "Resource agent", "/a", 0, sig);
    CHECK(s.raw_rc == 1);
    CHECK(s.status == ExecStatus::error);
    CHECK(s.reason == std::string("Resource agent interrupted by ") + strsignal(SIGSEGV) + " signal");

    ChildOutcome exited;
    exited.exit_code = 7;
    exited.err = "ocf-exit-reason:gone\n";
    CHECK(result_from_child(Standard::ocf, "monitor", "Resource agent", "/a", 0, exited).reason == "gone");
    CHECK(result_from_child(Standard::lsb, "start", "Resource agent", "/a", 0, exited).reason.empty());
}

TEST_CASE("OCF plan: path, argv and environment", "[agents]")
{
    OcfTree tree;
    tree.agent("test", "Dummy", "exit 0\n");
    ResourceDefinition rsc{"r1", "ocf", "test", "Dummy", 0};
    outpost::wire::ParamMap params;
    (void)params.insert("state", "/tmp/x");
    (void)params.insert("CRM_meta_timeout", "20000");
    (void)params.insert("OCF_CHECK_LEVEL", "10");
    (void)params.insert("crm_feature_set", "3.16.2");
    ActionInput in{&rsc, Standard::ocf, "monitor", 10000, 20000, &params};
    Plan plan = plan_action(tree.paths, in);
    REQUIRE(plan.kind == Plan::Kind::spawn);
    std::string path = tree.paths.ocf_ra_path[0] + "/test/Dummy";
    CHECK(plan.spawn.path == path);
    CHECK(plan.spawn.argv == std::vector<std::string>{path, "monitor"});
    CHECK(plan.spawn.timeout_ms == 20000);
    CHECK(plan.spawn.kill_group);
    CHECK(plan.spawn.working_dir == tree.paths.working_dir);
    const auto& env = plan.spawn.env;
    CHECK(env_value(env, "OCF_ROOT") == tree.paths.ocf_root);
    CHECK(env_value(env, "OCF_RA_VERSION_MAJOR") == "1");
    CHECK(env_value(env, "OCF_RA_VERSION_MINOR") == "1");
    CHECK(env_value(env, "OCF_EXIT_REASON_PREFIX") == "ocf-exit-reason:");
    CHECK(env_value(env, "OCF_RESOURCE_INSTANCE") == "r1");
    CHECK(env_value(env, "OCF_RESOURCE_TYPE") == "Dummy");
    CHECK(env_value(env, "OCF_RESOURCE_PROVIDER") == "test");
    CHECK(env_value(env, "OCF_RESKEY_state") == "/tmp/x");
    CHECK(env_value(env, "OCF_RESKEY_CRM_meta_timeout") == "20000");
    CHECK(env_value(env, "OCF_RESKEY_crm_feature_set") == "3.16.2");
    CHECK(env_value(env, "OCF_CHECK_LEVEL") == "10");
    CHECK(env_value(env, "OCF_RESKEY_OCF_CHECK_LEVEL") == "<unset>");
    // The daemon's own environment is inherited.
    CHECK(env_value(env, "PATH") == g_getenv("PATH"));
}

TEST_CASE("OCF plan: on-fail=block kills only the pid; missing agent is not installed", "[agents]")
{
    OcfTree tree;
    tree.agent("test", "Dummy", "exit 0\n");
    ResourceDefinition rsc{"r1", "ocf", "test", "Dummy", 0};
    outpost::wire::ParamMap params;
    (void)params.insert("CRM_meta_on_fail", "block");
    Plan plan = plan_action(tree.paths, ActionInput{&rsc, Standard::ocf, "start", 0, 0, &params});
    REQUIRE(plan.kind == Plan::Kind::spawn);
    CHECK_FALSE(plan.spawn.kill_group);

    ResourceDefinition missing{"r2", "ocf", "test", "Nope", 0};
    Plan none = plan_action(tree.paths, ActionInput{&missing, Standard::ocf, "start", 0, 0, &params});
    CHECK(none.kind == Plan::Kind::result);
    CHECK(none.result.raw_rc == 5);
    CHECK(none.result.status == ExecStatus::not_installed);
    CHECK(none.result.reason == "Nope: No such file or directory");

    ResourceDefinition escape{"r3", "ocf", "..", "Dummy", 0};
    CHECK(plan_action(tree.paths, ActionInput{&escape, Standard::ocf, "start", 0, 0, &params}).kind ==
          Plan::Kind::result);
}

TEST_CASE("LSB plan: monitor becomes status, no parameters", "[agents]")
{
    OcfTree tree;
    tree.lsb("svc", "exit 0\n");
    ResourceDefinition rsc{"r1", "lsb", "", "svc", 0};
    outpost::wire::ParamMap params;
    (void)params.insert("foo", "bar");
    Plan plan = plan_action(tree.paths, ActionInput{&rsc, Standard::lsb, "monitor", 0, 0, &params});
    REQUIRE(plan.kind == Plan::Kind::spawn);
    CHECK(plan.spawn.argv == std::vector<std::string>{tree.paths.lsb_dir + "/svc", "status"});
    CHECK(env_value(plan.spawn.env, "OCF_RESKEY_foo") == "<unset>");
    CHECK(env_value(plan.spawn.env, "foo") == "<unset>");

    ResourceDefinition missing{"r2", "lsb", "", "gone", 0};
    Plan none = plan_action(tree.paths, ActionInput{&missing, Standard::lsb, "monitor", 0, 0, &params});
    CHECK(none.result.reason == tree.paths.lsb_dir + "/gone: No such file or directory");
    CHECK(uniform_rc(Standard::lsb, none.agent_action, none.result.raw_rc) == 5);
    CHECK(none.result.status == ExecStatus::not_installed);
}

TEST_CASE("CIB secrets: substituted in the agent's environment only, verified by MD5", "[agents][secrets]")
{
    OcfTree tree;
    tree.agent("test", "Dummy", "exit 0\n");
    ResourceDefinition rsc{"r1", "ocf", "test", "Dummy", 0};
    write_file(tree.paths.secrets_dir + "/r1/passwd", "s3cret  \nsecond line\n");
    gchar* md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5, "s3cret", -1);
    write_file(tree.paths.secrets_dir + "/r1/passwd.sign", std::string(md5) + "\n");
    g_free(md5);
    outpost::wire::ParamMap params;
    (void)params.insert("passwd", "lrm://");
    Plan plan = plan_action(tree.paths, ActionInput{&rsc, Standard::ocf, "start", 0, 0, &params});
    REQUIRE(plan.kind == Plan::Kind::spawn);
    CHECK(env_value(plan.spawn.env, "OCF_RESKEY_passwd") == "s3cret");
    CHECK(*params.find("passwd") == "lrm://");

    write_file(tree.paths.secrets_dir + "/r1/passwd.sign", "00000000000000000000000000000000\n");
    Plan bad = plan_action(tree.paths, ActionInput{&rsc, Standard::ocf, "start", 0, 0, &params});
    CHECK(bad.kind == Plan::Kind::result);
    CHECK(bad.result.raw_rc == 2);
    CHECK(bad.result.reason == "Unable to load CIB secrets");
    // stop proceeds without the secret.
    Plan stop = plan_action(tree.paths, ActionInput{&rsc, Standard::ocf, "stop", 0, 0, &params});
    CHECK(stop.kind == Plan::Kind::spawn);
}

TEST_CASE("incomplete resources: every class fails fatally, unknown class is not installed", "[agents]")
{
    // 2.1.5 accepts any registration; actions on a resource without class, type or (OCF)
    // provider fail with rc 1, status 6, this reason, before anything runs. Observed
    // against pacemaker-remoted 2.1.5 for ocf, lsb, service, systemd, nagios and an
    // unknown class, with the attribute absent or empty.
    OcfTree tree;
    tree.agent("test", "Dummy", "exit 0\n");
    tree.lsb("svc", "exit 0\n");
    struct Case {
        ResourceDefinition rsc;
        Standard standard;
    };
    const Case cases[] = {
        {{"no-type", "ocf", "test", "", 0}, Standard::ocf},
        {{"no-provider", "ocf", "", "Dummy", 0}, Standard::ocf},
        {{"no-class", "", "test", "Dummy", 0}, Standard::unknown},
        {{"lsb-no-type", "lsb", "", "", 0}, Standard::lsb},
        {{"systemd-no-type", "systemd", "", "", 0}, Standard::systemd},
        {{"nagios-no-type", "nagios", "", "", 0}, Standard::nagios},
        {{"bogus-no-type", "bogus", "", "", 0}, Standard::unknown},
    };
    for (const auto& c : cases) {
        for (const char* action : {"monitor", "start", "stop"}) {
            INFO(c.rsc.id << " " << action);
            Plan plan = plan_action(tree.paths, ActionInput{&c.rsc, c.standard, action, 0, 0, nullptr});
            REQUIRE(plan.kind == Plan::Kind::result);
            CHECK(uniform_rc(c.standard, plan.agent_action, plan.result.raw_rc) == 1);
            CHECK(plan.result.status == ExecStatus::error_fatal);
            CHECK(plan.result.reason == "Required agent or action information missing");
            CHECK(plan.result.prepared);  // no rcchange_time
        }
    }
    // LSB needs no provider.
    ResourceDefinition lsb{"lsb", "lsb", "", "svc", 0};
    CHECK(plan_action(tree.paths, ActionInput{&lsb, Standard::lsb, "monitor", 0, 0, nullptr}).kind ==
          Plan::Kind::spawn);
    // An unknown class with a type: not installed, named by the type.
    ResourceDefinition bogus{"bogus", "bogus", "", "whatever", 0};
    Plan plan = plan_action(tree.paths, ActionInput{&bogus, Standard::unknown, "monitor", 0, 0, nullptr});
    REQUIRE(plan.kind == Plan::Kind::result);
    CHECK(uniform_rc(Standard::unknown, plan.agent_action, plan.result.raw_rc) == 5);
    CHECK(plan.result.status == ExecStatus::not_installed);
    CHECK(plan.result.reason == "whatever: No such file or directory");
    CHECK(plan.result.prepared);
}

TEST_CASE("nagios exit codes: OK, WARNING degraded, the rest errors; a probe's OK is not running", "[agents]")
{
    // Observed against pacemaker-remoted 2.1.5 (conformance scenario "nagios").
    CHECK(uniform_rc(Standard::nagios, "monitor", 0) == 0);
    CHECK(uniform_rc(Standard::nagios, "monitor", 1) == 190);
    for (int rc : {2, 3, 4, 5, 7, 255, -1})
        CHECK(uniform_rc(Standard::nagios, "monitor", rc) == 1);
    CHECK(uniform_rc(Standard::nagios, "monitor", 0, true) == 7);
    CHECK(uniform_rc(Standard::nagios, "monitor", 1, true) == 190);
    CHECK(uniform_rc(Standard::nagios, "monitor", 2, true) == 1);
    CHECK(uniform_rc(Standard::ocf, "monitor", 0, true) == 0);  // only nagios probes are special
    // The services layer's own failures: rc 1 (a killed plugin, incomplete information).
    CHECK(uniform_rc(Standard::nagios, "start", generic_error(Standard::nagios, "start")) == 1);
    CHECK(is_probe("monitor", 0));
    CHECK_FALSE(is_probe("monitor", 1000));
    CHECK_FALSE(is_probe("start", 0));
}

TEST_CASE("nagios options: --name value in 2.1.5's hash-table order, cluster metadata left out", "[agents]")
{
    using Params = std::vector<std::pair<std::string, std::string>>;
    // The orders pacemaker-remoted 2.1.5 ran check_outpostconf-rc0 with, for these requests
    // (parameters in this order on the wire, "1st" as a <param> child, so last).
    Params first{{"zeta", "z"},
                 {"alpha", "y"},
                 {"b", "2"},
                 {"a", "1"},
                 {"CRM_meta_timeout", "12000"},
                 {"crm_feature_set", "3.16.2"},
                 {"OCF_CHECK_LEVEL", "10"},
                 {"empty", ""},
                 {"spaced", "two words"},
                 {"CRM_other", "c"},
                 {"crm_meta_lower", "l"},
                 {"CRM_metaless", "m"},
                 {"1st", "digit-leading"}};
    CHECK(joined(nagios_options(first)) ==
          "--CRM_other|c|--a|1|--zeta|z|--1st|digit-leading|--alpha|y|--spaced|two words|"
          "--OCF_CHECK_LEVEL|10|--empty||--crm_meta_lower|l|--CRM_metaless|m|--b|2");
    Params second{{"user", "u"},
                  {"CRM_meta_on_node_uuid", "1"},
                  {"CRM_meta_interval", "0"},
                  {"beta", "b"},
                  {"crm_feature_set", "3.16.2"},
                  {"alpha", "a"},
                  {"warning", "5"},
                  {"delta", "d"},
                  {"timeout", "10"},
                  {"critical", "9"},
                  {"CRM_meta_on_node", "guest1"},
                  {"host", "h"},
                  {"z", "26"},
                  {"gamma", "g"},
                  {"w", "23"}};
    CHECK(joined(nagios_options(second)) ==
          "--host|h|--critical|9|--z|26|--alpha|a|--user|u|--timeout|10|--warning|5|--gamma|g|--delta|d|"
          "--beta|b|--w|23");
    CHECK(nagios_options({{"CRM_meta_timeout", "1"}, {"crm_feature_set", "3"}}).empty());
}

TEST_CASE("nagios plans: probe asks for the version, others pass options, stop runs nothing", "[agents]")
{
    OcfTree tree;
    write_file(tree.paths.nagios_dir + "/check_x", "#!/bin/sh\nexit 0\n", 0755);
    ResourceDefinition rsc{"n1", "nagios", "", "check_x", 0};
    outpost::wire::ParamMap params;
    params.set("warning", "5");
    params.set("CRM_meta_timeout", "20000");
    const std::string path = tree.paths.nagios_dir + "/check_x";

    Plan probe = plan_action(tree.paths, ActionInput{&rsc, Standard::nagios, "monitor", 0, 20000, &params});
    REQUIRE(probe.kind == Plan::Kind::spawn);
    CHECK(probe.spawn.argv == std::vector<std::string>{path, "--version"});
    CHECK(env_value(probe.spawn.env, "OCF_RESKEY_warning") == "<unset>");

    for (const auto& [action, interval] : {std::pair{"start", 0U}, {"monitor", 10000U}, {"reload", 0U}}) {
        INFO(action);
        Plan plan =
            plan_action(tree.paths, ActionInput{&rsc, Standard::nagios, action, interval, 20000, &params});
        REQUIRE(plan.kind == Plan::Kind::spawn);
        CHECK(plan.spawn.argv == std::vector<std::string>{path, "--warning", "5"});
        CHECK(plan.spawn.working_dir == tree.paths.working_dir);
    }

    Plan stop = plan_action(tree.paths, ActionInput{&rsc, Standard::nagios, "stop", 0, 20000, &params});
    REQUIRE(stop.kind == Plan::Kind::result);
    CHECK(stop.result.raw_rc == 0);
    CHECK(stop.result.status == ExecStatus::done);

    // A missing plugin (or plugin directory): not installed, mapped like any nagios code.
    ResourceDefinition missing{"n2", "nagios", "", "check_nosuch", 0};
    Plan none =
        plan_action(tree.paths, ActionInput{&missing, Standard::nagios, "monitor", 0, 20000, &params});
    REQUIRE(none.kind == Plan::Kind::result);
    CHECK(none.result.status == ExecStatus::not_installed);
    CHECK(uniform_rc(Standard::nagios, "monitor", none.result.raw_rc, true) == 1);
    CHECK(none.result.reason == tree.paths.nagios_dir + "/check_nosuch: No such file or directory");
    CHECK_FALSE(none.result.prepared);  // 2.1.5 sets the change time
    Plan none_stop =
        plan_action(tree.paths, ActionInput{&missing, Standard::nagios, "stop", 0, 20000, &params});
    REQUIRE(none_stop.kind == Plan::Kind::result);
    CHECK(none_stop.result.raw_rc == 0);
}

TEST_CASE("follow-up delay: min(2 s, timeout/10, half the time left); gives up below 10 ms", "[agents]")
{
    CHECK(follow_up_delay_ms(20000, 3) == 2000);
    CHECK(follow_up_delay_ms(60000, 0) == 2000);
    CHECK(follow_up_delay_ms(3000, 2) == 300);
    CHECK(follow_up_delay_ms(3000, 2736) == 132);
    CHECK(follow_up_delay_ms(3000, 2972) == 14);
    CHECK(follow_up_delay_ms(3000, 2988) == 0);  // 12 ms left: 2.1.5 gives up
    CHECK(follow_up_delay_ms(3000, 3153) == 0);
    CHECK(follow_up_delay_ms(0, 410) == 0);  // no timeout: no second check
}
