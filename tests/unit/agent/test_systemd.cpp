// systemd class: pure rules, the "not available" path (no system bus, or no systemd on
// it), and the start/stop/status flow against a fake org.freedesktop.systemd1 served on a
// private dbus-daemon (this machine runs no systemd).
#include <gio/gio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "executor/process_spawner.hpp"
#include "executor/systemd.hpp"
#include "executor_test_support.hpp"

using namespace outpost::agent::executor;
using namespace outpost::agent::executor::test;

TEST_CASE("systemd: ActiveState mapping, poll delay, drop-in", "[systemd]")
{
    CHECK(systemd::rc_for_active_state("active") == 0);
    CHECK(systemd::rc_for_active_state("reloading") == 0);
    CHECK(systemd::rc_for_active_state("activating") == 193);
    CHECK(systemd::rc_for_active_state("deactivating") == 193);
    CHECK(systemd::rc_for_active_state("inactive") == 7);
    CHECK(systemd::rc_for_active_state("failed") == 7);
    CHECK(systemd::rc_for_active_state("") == 7);
    CHECK(systemd::poll_delay_ms(60000) == 2000);
    CHECK(systemd::poll_delay_ms(5000) == 500);
    CHECK(systemd::poll_delay_ms(0) == 2000);
    CHECK(systemd::drop_in_path("/run/systemd/system", "httpd.service") ==
          "/run/systemd/system/httpd.service.d/50-pacemaker.conf");
    std::string text = systemd::drop_in_text("httpd.service");
    CHECK(text.find("Description=Cluster Controlled httpd\n") != std::string::npos);
    CHECK(text.find("Before=pacemaker.service pacemaker_remote.service\n") != std::string::npos);
    CHECK(text.find("[Service]\nRestart=no\n") != std::string::npos);
}

namespace {

// A minimal systemd manager: units "web.service" (starts/stops in 300 ms) and
// "broken.service" (fails to start); everything else is not-found.
const char* kIntrospection = R"(<node>
  <interface name='org.freedesktop.systemd1.Manager'>
    <method name='LoadUnit'><arg type='s' direction='in'/><arg type='o' direction='out'/></method>
    <method name='GetUnit'><arg type='s' direction='in'/><arg type='o' direction='out'/></method>
    <method name='Reload'/>
    <method name='StartUnit'><arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='o' direction='out'/></method>
    <method name='StopUnit'><arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='o' direction='out'/></method>
  </interface>
  <interface name='org.freedesktop.systemd1.Unit'>
    <property name='ActiveState' type='s' access='read'/>
    <property name='LoadState' type='s' access='read'/>
  </interface>
</node>)";

struct FakeSystemd {
    GMainContext* context = g_main_context_new();
    GMainLoop* loop = g_main_loop_new(context, FALSE);
    GDBusConnection* conn = nullptr;
    std::thread thread;
    std::mutex mu;
    std::map<std::string, std::string> state{{"web", "inactive"}, {"broken", "inactive"}, {"missing", ""}};
    std::vector<std::string> calls;

    explicit FakeSystemd(const std::string& address)
    {
        g_main_context_push_thread_default(context);
        GError* error = nullptr;
        conn = g_dbus_connection_new_for_address_sync(
            address.c_str(),
            static_cast<GDBusConnectionFlags>(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
            nullptr, nullptr, &error);
        REQUIRE(conn != nullptr);
        GVariant* owned = g_dbus_connection_call_sync(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                      "org.freedesktop.DBus", "RequestName",
                                                      g_variant_new("(su)", "org.freedesktop.systemd1", 4u),
                                                      nullptr, G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &error);
        REQUIRE(owned != nullptr);
        g_variant_unref(owned);
        GDBusNodeInfo* info = g_dbus_node_info_new_for_xml(kIntrospection, &error);
        REQUIRE(info != nullptr);
        static const GDBusInterfaceVTable manager_vtable = {&FakeSystemd::method, nullptr, nullptr, {}};
        static const GDBusInterfaceVTable unit_vtable = {nullptr, &FakeSystemd::property, nullptr, {}};
        REQUIRE(g_dbus_connection_register_object(conn, "/org/freedesktop/systemd1", info->interfaces[0],
                                                  &manager_vtable, this, nullptr, &error) > 0);
        for (const char* unit : {"web", "broken", "missing"}) {
            std::string path = std::string("/org/freedesktop/systemd1/unit/") + unit;
            REQUIRE(g_dbus_connection_register_object(conn, path.c_str(), info->interfaces[1], &unit_vtable,
                                                      this, nullptr, &error) > 0);
        }
        g_dbus_node_info_unref(info);
        g_main_context_pop_thread_default(context);
        thread = std::thread([this] {
            g_main_context_push_thread_default(context);
            g_main_loop_run(loop);
            g_main_context_pop_thread_default(context);
        });
    }
    ~FakeSystemd()
    {
        g_main_loop_quit(loop);
        thread.join();
        g_dbus_connection_close_sync(conn, nullptr, nullptr);
        g_object_unref(conn);
        g_main_loop_unref(loop);
        g_main_context_unref(context);
    }

    static std::string short_name(const char* unit)
    {
        std::string name = unit;
        if (name.ends_with(".service")) name.resize(name.size() - 8);
        return name;
    }

    void later(std::string unit, std::string value)
    {
        auto* data = new std::pair<FakeSystemd*, std::pair<std::string, std::string>>(this, {unit, value});
        GSource* source = g_timeout_source_new(300);
        g_source_set_callback(
            source,
            [](gpointer p) -> gboolean {
                auto* d = static_cast<std::pair<FakeSystemd*, std::pair<std::string, std::string>>*>(p);
                std::lock_guard lock(d->first->mu);
                d->first->state[d->second.first] = d->second.second;
                return G_SOURCE_REMOVE;
            },
            data,
            [](gpointer p) {
                delete static_cast<std::pair<FakeSystemd*, std::pair<std::string, std::string>>*>(p);
            });
        g_source_attach(source, context);
        g_source_unref(source);
    }

    static void method(GDBusConnection*, const gchar*, const gchar*, const gchar*, const gchar* name,
                       GVariant* params, GDBusMethodInvocation* invocation, gpointer user)
    {
        auto* self = static_cast<FakeSystemd*>(user);
        std::lock_guard lock(self->mu);
        self->calls.push_back(name);
        if (g_str_equal(name, "Reload")) {
            g_dbus_method_invocation_return_value(invocation, nullptr);
            return;
        }
        const gchar* unit = nullptr;
        if (g_str_equal(name, "LoadUnit") || g_str_equal(name, "GetUnit")) {
            g_variant_get(params, "(&s)", &unit);
        } else {
            const gchar* mode = nullptr;
            g_variant_get(params, "(&s&s)", &unit, &mode);
        }
        std::string shortname = short_name(unit);
        if (!self->state.contains(shortname)) {
            g_dbus_method_invocation_return_dbus_error(invocation, "org.freedesktop.systemd1.NoSuchUnit",
                                                       "no unit");
            return;
        }
        std::string path = "/org/freedesktop/systemd1/unit/" + shortname;
        if (g_str_equal(name, "StartUnit")) {
            self->state[shortname] = "activating";
            self->later(shortname, shortname == "broken" ? "failed" : "active");
            path = "/org/freedesktop/systemd1/job/1";
        } else if (g_str_equal(name, "StopUnit")) {
            self->state[shortname] = "deactivating";
            self->later(shortname, "inactive");
            path = "/org/freedesktop/systemd1/job/2";
        }
        g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", path.c_str()));
    }

    static GVariant* property(GDBusConnection*, const gchar*, const gchar* path, const gchar*,
                              const gchar* name, GError**, gpointer user)
    {
        auto* self = static_cast<FakeSystemd*>(user);
        std::lock_guard lock(self->mu);
        std::string unit = std::string(path).substr(std::string("/org/freedesktop/systemd1/unit/").size());
        if (g_str_equal(name, "LoadState"))
            return g_variant_new_string(unit == "missing" ? "not-found" : "loaded");
        return g_variant_new_string(self->state[unit].c_str());
    }
};

// A private dbus-daemon standing in for the system bus.
struct PrivateBus {
    GPid pid = 0;
    std::string address;

    TempDir dir;

    PrivateBus()
    {
        // No service directories: nothing is bus-activated (the host's session config would
        // try to activate systemd).
        std::string config = dir / "bus.conf";
        write_file(config, "<busconfig><type>session</type><listen>unix:dir=" + dir.path() +
                               "</listen><auth>EXTERNAL</auth><policy context='default'>"
                               "<allow send_destination='*' eavesdrop='true'/><allow eavesdrop='true'/>"
                               "<allow own='*'/></policy></busconfig>\n");
        std::string config_arg = "--config-file=" + config;
        const gchar* argv[] = {"dbus-daemon", config_arg.c_str(), "--nofork", "--print-address=1", nullptr};
        gint out_fd = -1;
        GError* error = nullptr;
        REQUIRE(g_spawn_async_with_pipes(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_SEARCH_PATH,
                                         nullptr, nullptr, &pid, nullptr, &out_fd, nullptr, &error));
        char buf[512];
        std::size_t n = 0;
        while (n < sizeof(buf) - 1) {
            ssize_t got = read(out_fd, buf + n, 1);
            if (got <= 0 || buf[n] == '\n') break;
            ++n;
        }
        buf[n] = '\0';
        close(out_fd);
        address = buf;
        REQUIRE_FALSE(address.empty());
    }
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;
    ~PrivateBus() { stop(); }

    // Ends the bus daemon (as a crashed or restarted dbus-daemon would go).
    void stop()
    {
        if (pid == 0) return;
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
        g_spawn_close_pid(pid);
        pid = 0;
    }
};

agents::RawResult run_action(systemd::Manager& manager, const std::string& unit, const std::string& action,
                             std::uint32_t timeout_ms = 10000)
{
    std::optional<agents::RawResult> result;
    manager.run(unit, action, timeout_ms, [&](agents::RawResult r) { result = std::move(r); });
    CHECK_FALSE(result.has_value());
    REQUIRE(run_until([&] { return result.has_value(); }, 20000));
    return *result;
}

}  // namespace

TEST_CASE("systemd: unavailable bus, no systemd on the bus, and a fake systemd", "[systemd]")
{
    TempDir dir;
    // 1. No system bus at all (this machine): not installed, with the cause.
    g_setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir / "no-such-socket")).c_str(), TRUE);
    {
        systemd::Manager manager(nullptr, dir / "run");
        CHECK_FALSE(manager.unit_exists("web.service"));
        agents::RawResult r = run_action(manager, "web.service", "start");
        CHECK(r.raw_rc == 5);
        CHECK(r.status == ExecStatus::not_installed);
        CHECK(r.reason.starts_with("systemd is not available: cannot connect to the system bus"));

        // Through the executor: the systemd class, and "service" falling back to LSB.
        OcfTree tree;
        tree.paths.systemd_run_dir = dir / "run";
        ProcessSpawner spawner;
        Collected got;
        Executor exec(nullptr, spawner, Executor::Options{tree.paths, {}}, got.callbacks());
        exec.register_resource(ResourceDefinition{"s", "systemd", "", "web", 0});
        exec.register_resource(ResourceDefinition{"v", "service", "", "web", 0});
        CHECK(exec.exec(1, req("s", "monitor")) == 1);
        CHECK(exec.exec(2, req("v", "monitor")) == 2);
        CHECK(got.results.empty());
        REQUIRE(got.wait(1));
        REQUIRE(got.wait(2));
        CHECK(got.last(1)->exec_rc == 5);
        CHECK(got.last(1)->status == ExecStatus::not_installed);
        CHECK(got.last(1)->action == "monitor");
        CHECK(got.last(2)->exec_rc == 5);
        CHECK(got.last(2)->exit_reason == tree.paths.lsb_dir + "/web: No such file or directory");
    }

    // 2. A bus without systemd on it.
    PrivateBus bus;
    g_setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address.c_str(), TRUE);
    {
        systemd::Manager manager(nullptr, dir / "run");
        agents::RawResult r = run_action(manager, "web.service", "status");
        CHECK(r.raw_rc == 5);
        CHECK(r.status == ExecStatus::not_installed);
        CHECK(r.reason.starts_with("systemd is not available"));
    }

    // 3. A fake systemd: the full start / status / stop flow with follow-up polls.
    FakeSystemd fake(bus.address);
    {
        systemd::Manager manager(nullptr, dir / "run");
        CHECK(manager.unit_exists("web.service"));
        CHECK_FALSE(manager.unit_exists("missing.service"));
        CHECK_FALSE(manager.unit_exists("nosuch.service"));
        CHECK(run_action(manager, "web.service", "status").raw_rc == 7);
        gint64 t0 = g_get_monotonic_time();
        agents::RawResult started = run_action(manager, "web.service", "start", 2000);
        CHECK(started.raw_rc == 0);
        CHECK(started.status == ExecStatus::done);
        CHECK((g_get_monotonic_time() - t0) / 1000 >= 200);  // waited for "active"
        std::string dropin = systemd::drop_in_path(dir / "run", "web.service");
        CHECK(read_file(dropin) == systemd::drop_in_text("web.service"));
        CHECK(run_action(manager, "web.service", "status").raw_rc == 0);
        CHECK(run_action(manager, "web.service", "stop", 2000).raw_rc == 0);
        CHECK_FALSE(file_exists(dropin));
        agents::RawResult broken = run_action(manager, "broken.service", "start", 2000);
        CHECK(broken.raw_rc == 1);
        CHECK(broken.reason == "failed");
        agents::RawResult missing = run_action(manager, "nosuch.service", "start");
        CHECK(missing.raw_rc == 5);
        CHECK(missing.status == ExecStatus::not_installed);
        CHECK(run_action(manager, "web.service", "reload").status == ExecStatus::not_supported);
        std::lock_guard lock(fake.mu);
        auto& calls = fake.calls;
        auto start = std::find(calls.begin(), calls.end(), "StartUnit");
        REQUIRE(start != calls.end());
        CHECK(*(start - 1) == "Reload");  // the drop-in is loaded before the start
    }
    {
        // The executor reports the original action for a systemd start.
        OcfTree tree;
        tree.paths.systemd_run_dir = dir / "run";
        ProcessSpawner spawner;
        Collected got;
        Executor exec(nullptr, spawner, Executor::Options{tree.paths, {}}, got.callbacks());
        exec.register_resource(ResourceDefinition{"w", "service", "", "web", 0});
        exec.exec(1, req("w", "start", 0, 5000));
        REQUIRE(got.wait(1, 1, 20000));
        CHECK(got.last(1)->action == "start");
        CHECK(got.last(1)->exec_rc == 0);
        CHECK(got.last(1)->exec_time_ms >= 200);
        exec.exec(2, req("w", "monitor"));
        REQUIRE(got.wait(2, 1, 20000));
        CHECK(got.last(2)->exec_rc == 0);
    }
    g_unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

TEST_CASE("systemd: the bus going away fails the action as unavailable, without spinning", "[systemd]")
{
    TempDir dir;
    PrivateBus bus;
    g_setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address.c_str(), TRUE);
    {
        FakeSystemd fake(bus.address);
        systemd::Manager manager(nullptr, dir / "run");
        REQUIRE(run_action(manager, "web.service", "status").raw_rc == 7);  // connected

        // A start polls every 200 ms until "active" (300 ms): the bus dies in between.
        std::optional<agents::RawResult> result;
        manager.run("web.service", "start", 2000, [&](agents::RawResult r) { result = std::move(r); });
        run_until([&] {
            std::lock_guard lock(fake.mu);
            return std::find(fake.calls.begin(), fake.calls.end(), "StartUnit") != fake.calls.end();
        });
        bus.stop();
        REQUIRE(run_until([&] { return result.has_value(); }, 10000));
        CHECK(result->raw_rc == 5);
        CHECK(result->status == ExecStatus::not_installed);
        CHECK(result->reason.starts_with("systemd is not available"));

        // The dead connection is not polled in a loop: the process stays idle.
        struct rusage before {};
        struct rusage after {};
        getrusage(RUSAGE_SELF, &before);
        run_for(500);
        getrusage(RUSAGE_SELF, &after);
        auto cpu_us = [](const struct rusage& u) {
            return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000L + u.ru_utime.tv_usec +
                   u.ru_stime.tv_usec;
        };
        // The fake's thread shares the process; 500 ms of a spinning loop would be ~500000.
        CHECK(cpu_us(after) - cpu_us(before) < 100000);

        // The next action opens a new connection, which fails now.
        agents::RawResult again = run_action(manager, "web.service", "status");
        CHECK(again.raw_rc == 5);
        CHECK(again.reason.starts_with("systemd is not available: cannot connect to the system bus"));
        CHECK_FALSE(manager.unit_exists("web.service"));
    }
    g_unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}
