// lrmd-local-client: a real local executor client for the integration tests. It links
// Pacemaker 2.1.5's own client library (liblrmd from Debian's pacemaker-dev) and talks to
// whatever serves the `lrmd` local IPC name in the network namespace it runs in (run it with
// `ip netns exec`): the real pacemaker-remoted or outpost-agent. No Pacemaker source is used;
// only the installed library's public API (<pacemaker/crm/lrmd.h>).
//
// Usage: lrmd-local-client [--name NAME] COMMAND...
// It connects (lrmd_api_new(), i.e. local IPC) with client name NAME, runs the commands in
// order, disconnects, and prints one line per step and per event to stdout, so a test can
// compare what two daemons did. Each command is one argument, fields separated by commas:
//   register,RSC,CLASS,PROVIDER,TYPE[,CALLOPTS]   lrmd_api register_rsc ('-' = no provider)
//   info,RSC                                      get_rsc_info
//   exec,RSC,ACTION,INTERVAL_MS,TIMEOUT_MS[,CALLOPTS[,NAME=VALUE...]]
//   cancel,RSC,ACTION,INTERVAL_MS
//   unregister,RSC
//   recurring[,RSC]                               get_recurring_ops
//   poke                                          poke_connection (answered by a poke event)
//   wait,N[,TIMEOUT_MS]       run the main loop until N more exec_complete events arrived
//   events,N[,TIMEOUT_MS]     the same for events of any type
//   sleep,MS                  run the main loop for MS (events are printed as they come)
//   until,FILE[,TIMEOUT_MS]   print "waiting FILE", run the main loop until FILE exists
// Events are printed as they arrive: "event TYPE rsc=... op=... interval=... rc=...
// status=... call=... deleted=... exit_reason=... output=...". Exit status: 0 if every step
// ran (whatever the daemon answered), 2 if the connection failed, 3 if a wait timed out or
// the connection dropped, 1 for a usage error.
#include <crm/lrmd.h>
#include <crm/services.h>
#include <glib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "support/main_loop.hpp"

namespace {

constexpr int kDefaultWaitMs = 30000;
constexpr int kRecurringTimeoutMs = 10000;
constexpr int kDefaultUntilMs = 120000;
constexpr guint kPollMs = 50;

int g_exec_events = 0;
int g_all_events = 0;
bool g_disconnected = false;

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> fields;
    std::string::size_type start = 0;
    while (true) {
        auto end = text.find(separator, start);
        fields.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return fields;
}

// Agent output can span lines; one event stays one line.
std::string one_line(const char* text)
{
    if (text == nullptr) return "(null)";
    std::string out;
    for (const char* p = text; *p != '\0'; ++p)
        out += (*p == '\n' || *p == '\r') ? '|' : *p;
    return out;
}

void on_event(lrmd_event_data_t* event)
{
    ++g_all_events;
    if (event->type == lrmd_event_disconnect) {
        g_disconnected = true;
        std::printf("event disconnect\n");
        return;
    }
    if (event->type == lrmd_event_exec_complete) {
        ++g_exec_events;
        std::printf(
            "event exec_complete rsc=%s op=%s interval=%u rc=%d status=%d call=%d deleted=%d "
            "userdata=%s exit_reason=%s output=%s\n",
            one_line(event->rsc_id).c_str(), one_line(event->op_type).c_str(), event->interval_ms,
            static_cast<int>(event->rc), event->op_status, event->call_id, event->rsc_deleted,
            one_line(event->user_data).c_str(), one_line(event->exit_reason).c_str(),
            one_line(event->output).c_str());
        return;
    }
    std::printf("event %s rsc=%s call=%d rc=%d\n", lrmd_event_type2str(event->type),
                one_line(event->rsc_id).c_str(), event->call_id, event->connection_rc);
}

// Turns the default main context (where liblrmd's IPC source lives) until `done` or
// `timeout_ms` passed; false on timeout or when the connection dropped.
template <typename Done>
bool wait_for(Done done, int timeout_ms)
{
    (void)outpost::test::run_until(
        nullptr, [&] { return done() || g_disconnected; }, std::chrono::milliseconds(timeout_ms));
    return done();
}

// A periodic wake-up, so wait_for() re-checks for the file the test creates to release us.
gboolean wake_up(gpointer /*data*/)
{
    return G_SOURCE_CONTINUE;
}

int number(const std::string& text)
{
    return static_cast<int>(std::strtol(text.c_str(), nullptr, 10));
}

int usage(const char* what)
{
    (void)std::fprintf(stderr, "lrmd-local-client: %s\n", what);
    return 1;
}

// One command; returns an exit status (0 = go on).
int run(lrmd_t* lrmd, const std::string& command)
{
    std::vector<std::string> f = split(command, ',');
    const std::string& verb = f[0];
    if (verb == "register" && f.size() >= 5) {
        auto options = static_cast<lrmd_call_options>(f.size() > 5 ? number(f[5]) : 0);
        int rc = lrmd->cmds->register_rsc(lrmd, f[1].c_str(), f[2].c_str(),
                                          f[3] == "-" ? nullptr : f[3].c_str(), f[4].c_str(), options);
        std::printf("register %s rc=%d\n", f[1].c_str(), rc);
    } else if (verb == "info" && f.size() == 2) {
        lrmd_rsc_info_t* info = lrmd->cmds->get_rsc_info(lrmd, f[1].c_str(), lrmd_opt_none);
        if (info == nullptr) {
            std::printf("info %s none\n", f[1].c_str());
        } else {
            std::printf("info %s class=%s provider=%s type=%s\n", info->id, one_line(info->standard).c_str(),
                        one_line(info->provider).c_str(), one_line(info->type).c_str());
            lrmd_free_rsc_info(info);
        }
    } else if (verb == "exec" && f.size() >= 5) {
        auto options = static_cast<lrmd_call_options>(f.size() > 5 ? number(f[5]) : 0);
        lrmd_key_value_t* params = nullptr;
        for (std::size_t i = 6; i < f.size(); ++i) {
            auto eq = f[i].find('=');
            if (eq == std::string::npos) return usage("exec parameter without '='");
            params = lrmd_key_value_add(params, f[i].substr(0, eq).c_str(), f[i].substr(eq + 1).c_str());
        }
        std::string userdata = "ud-" + f[1] + "-" + f[2] + "-" + f[3];
        int rc = lrmd->cmds->exec(lrmd, f[1].c_str(), f[2].c_str(), userdata.c_str(),
                                  static_cast<guint>(number(f[3])), number(f[4]), 0, options, params);
        if (rc > 0) {
            std::printf("exec %s %s interval=%s queued call=%d\n", f[1].c_str(), f[2].c_str(), f[3].c_str(),
                        rc);
        } else {
            std::printf("exec %s %s interval=%s rc=%d\n", f[1].c_str(), f[2].c_str(), f[3].c_str(), rc);
        }
    } else if (verb == "cancel" && f.size() == 4) {
        int rc = lrmd->cmds->cancel(lrmd, f[1].c_str(), f[2].c_str(), static_cast<guint>(number(f[3])));
        std::printf("cancel %s %s interval=%s rc=%d\n", f[1].c_str(), f[2].c_str(), f[3].c_str(), rc);
    } else if (verb == "unregister" && f.size() == 2) {
        int rc = lrmd->cmds->unregister_rsc(lrmd, f[1].c_str(), lrmd_opt_none);
        std::printf("unregister %s rc=%d\n", f[1].c_str(), rc);
    } else if (verb == "recurring" && f.size() <= 2) {
        GList* ops = nullptr;
        const char* rsc = f.size() == 2 ? f[1].c_str() : nullptr;
        int rc = lrmd->cmds->get_recurring_ops(lrmd, rsc, kRecurringTimeoutMs, lrmd_opt_none, &ops);
        std::printf("recurring %s rc=%d count=%u\n", rsc != nullptr ? rsc : "*", rc, g_list_length(ops));
        for (GList* item = ops; item != nullptr; item = item->next) {
            auto* op = static_cast<lrmd_op_info_t*>(item->data);
            std::printf("recurring-op rsc=%s op=%s interval=%s timeout=%s\n", one_line(op->rsc_id).c_str(),
                        one_line(op->action).c_str(), one_line(op->interval_ms_s).c_str(),
                        one_line(op->timeout_ms_s).c_str());
        }
        g_list_free_full(ops, [](gpointer op) { lrmd_free_op_info(static_cast<lrmd_op_info_t*>(op)); });
    } else if (verb == "poke" && f.size() == 1) {
        int rc = lrmd->cmds->poke_connection(lrmd);
        std::printf("poke rc=%d\n", rc);
    } else if ((verb == "wait" || verb == "events") && f.size() >= 2 && f.size() <= 3) {
        int want = number(f[1]);
        int timeout = f.size() == 3 ? number(f[2]) : kDefaultWaitMs;
        int* counter = verb == "wait" ? &g_exec_events : &g_all_events;
        int target = *counter + want;
        bool ok = wait_for([&] { return *counter >= target; }, timeout);
        std::printf("%s %d %s\n", verb.c_str(), want,
                    ok ? "done" : (g_disconnected ? "disconnected" : "timeout"));
        if (!ok) return 3;
    } else if (verb == "sleep" && f.size() == 2) {
        wait_for([] { return false; }, number(f[1]));
        std::printf("slept %s\n", f[1].c_str());
        if (g_disconnected) return 3;
    } else if (verb == "until" && f.size() >= 2 && f.size() <= 3) {
        int timeout = f.size() == 3 ? number(f[2]) : kDefaultUntilMs;
        std::printf("waiting %s\n", f[1].c_str());
        (void)std::fflush(stdout);
        guint poll = g_timeout_add(kPollMs, wake_up, nullptr);
        bool ok = wait_for([&] { return ::access(f[1].c_str(), F_OK) == 0; }, timeout);
        g_source_remove(poll);
        std::printf("until %s %s\n", f[1].c_str(),
                    ok ? "done" : (g_disconnected ? "disconnected" : "timeout"));
        if (!ok) return 3;
    } else {
        std::string what = "unknown or malformed command '" + command + "'";
        return usage(what.c_str());
    }
    (void)std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    (void)std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::string name = "lrmd-local-client";
    int first = 1;
    if (argc > 2 && std::strcmp(argv[1], "--name") == 0) {
        name = argv[2];
        first = 3;
    }
    if (first >= argc) return usage("no commands given");

    lrmd_t* lrmd = lrmd_api_new();
    if (lrmd == nullptr) return usage("lrmd_api_new() failed");
    lrmd->cmds->set_callback(lrmd, on_event);
    int rc = lrmd->cmds->connect(lrmd, name.c_str(), nullptr);
    std::printf("connect rc=%d%s%s\n", rc, rc < 0 ? " " : "", rc < 0 ? std::strerror(-rc) : "");
    if (rc != 0) {
        lrmd_api_delete(lrmd);
        return 2;
    }

    int status = 0;
    for (int i = first; i < argc && status == 0; ++i)
        status = run(lrmd, argv[i]);

    rc = lrmd->cmds->disconnect(lrmd);
    std::printf("disconnect rc=%d\n", rc);
    lrmd_api_delete(lrmd);
    return status;
}
