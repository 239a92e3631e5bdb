#include "executor/systemd.hpp"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <utility>

#include "io/source.hpp"
#include "util/log.hpp"

namespace outpost::agent::executor::systemd {

namespace {

const outpost::log::Category log_cat{"agent.exec.systemd"};

constexpr const char* kBusName = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kTimeoutReason =
    "Investigate reason for timeout, and adjust configured operation timeout if necessary";
// Poll delay when the action has no timeout (timeout/10 would be 0).
constexpr std::uint32_t kUnboundedPollDelayMs = kMaxPollDelayMs;

struct GErrorPtr {
    GError* error = nullptr;
    ~GErrorPtr() { g_clear_error(&error); }
    [[nodiscard]] std::string message() const { return error != nullptr ? error->message : "unknown error"; }
};

struct VariantPtr {
    GVariant* v = nullptr;
    ~VariantPtr()
    {
        if (v != nullptr) g_variant_unref(v);
    }
};

agents::RawResult make_result(int rc, ExecStatus status, std::string reason)
{
    agents::RawResult r;
    r.raw_rc = rc;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// systemd unreachable: the class is unusable here, which the cluster should see as the
// agent not being installed on this node (it then avoids the node instead of retrying).
agents::RawResult unavailable(const std::string& why)
{
    return make_result(ocf::not_installed, ExecStatus::not_installed, "systemd is not available: " + why);
}

// Whether an error means "nobody answers on the bus" rather than "systemd said no".
bool is_unreachable(const GError* error)
{
    if (error == nullptr) return false;
    if (error->domain == G_IO_ERROR) return true;  // closed, timed out, cancelled
    gchar* remote = g_dbus_error_get_remote_error(error);
    bool unreachable =
        remote != nullptr && (g_str_equal(remote, "org.freedesktop.DBus.Error.ServiceUnknown") ||
                              g_str_equal(remote, "org.freedesktop.DBus.Error.NoReply") ||
                              g_str_equal(remote, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
                              g_str_equal(remote, "org.freedesktop.DBus.Error.Disconnected"));
    g_free(remote);
    return unreachable;
}

}  // namespace

int rc_for_active_state(std::string_view state)
{
    if (state == "active" || state == "reloading") return ocf::ok;
    if (state == "activating" || state == "deactivating") return ocf::pending;
    return ocf::not_running;
}

std::uint32_t poll_delay_ms(std::uint32_t timeout_ms)
{
    if (timeout_ms == 0) return kUnboundedPollDelayMs;
    return std::max<std::uint32_t>(1, std::min(kMaxPollDelayMs, timeout_ms / 10));
}

std::string drop_in_path(std::string_view run_dir, std::string_view unit)
{
    return std::string(run_dir) + "/" + std::string(unit) + ".d/" + kDropInName;
}

std::string drop_in_text(std::string_view unit)
{
    std::string_view type = unit;
    if (type.ends_with(".service")) type.remove_suffix(std::string_view(".service").size());
    return "[Unit]\nDescription=Cluster Controlled " + std::string(type) +
           "\nBefore=pacemaker.service pacemaker_remote.service\n\n[Service]\nRestart=no\n";
}

struct Job {
    std::uint64_t id = 0;
    std::string unit;
    std::string action;
    std::uint32_t timeout_ms = 0;
    gint64 deadline_ms = 0;  // monotonic; 0 = none
    Manager::Done done;
    std::string unit_path;
    GCancellable* cancellable = g_cancellable_new();
    io::Source timer;   // poll delay or deferred finish
    io::Source safety;  // fails a silent systemd after timeout + margin

    Job() = default;
    Job(const Job&) = delete;
    Job& operator=(const Job&) = delete;
    ~Job()
    {
        g_cancellable_cancel(cancellable);
        g_object_unref(cancellable);
    }
};

struct Manager::Impl {
    GMainContext* context;
    std::string run_dir;
    GDBusConnection* bus = nullptr;
    std::string bus_error;
    std::map<std::uint64_t, std::unique_ptr<Job>> jobs;
    std::uint64_t next_id = 1;

    Impl(GMainContext* ctx, std::string dir) : context(ctx), run_dir(std::move(dir)) {}
    ~Impl()
    {
        jobs.clear();
        if (bus != nullptr) g_object_unref(bus);
    }

    bool connect()
    {
        if (bus != nullptr && !g_dbus_connection_is_closed(bus)) return true;
        if (bus != nullptr) {
            g_object_unref(bus);
            bus = nullptr;
        }
        GErrorPtr err;
        bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, nullptr, &err.error);
        if (bus == nullptr) {
            bus_error = "cannot connect to the system bus: " + err.message();
            log_debug(log_cat, "%s", bus_error.c_str());
            return false;
        }
        return true;
    }

    Job* find(std::uint64_t id)
    {
        auto it = jobs.find(id);
        return it == jobs.end() ? nullptr : it->second.get();
    }

    void finish(std::uint64_t id, agents::RawResult result)
    {
        auto it = jobs.find(id);
        if (it == jobs.end()) return;
        std::unique_ptr<Job> job = std::move(it->second);
        jobs.erase(it);
        log_debug(log_cat, "%s %s: rc %d status %d %s", job->unit.c_str(), job->action.c_str(), result.raw_rc,
                  static_cast<int>(result.status), result.reason.c_str());
        Done done = std::move(job->done);
        job.reset();
        if (!done) return;
        try {
            done(std::move(result));
        } catch (const std::exception& e) {
            log_error(log_cat, "systemd completion handler failed: %s", e.what());
        }
    }

    void finish_later(std::uint64_t id, const agents::RawResult& result)
    {
        Job* job = find(id);
        if (job == nullptr) return;
        job->timer = io::add_idle(context, [this, id, result]() { finish(id, result); });
    }

    using Reply = std::function<void(GVariant* reply, GError* error)>;

    // One asynchronous D-Bus method call whose reply runs `reply` on our context.
    void call(Job& job, const char* path, const char* iface, const char* method, GVariant* params,
              const GVariantType* reply_type, Reply reply)
    {
        struct Pending {
            Impl* self;
            std::uint64_t id;
            Reply reply;
        };
        int timeout = job.timeout_ms > 0 ? static_cast<int>(job.timeout_ms + kCallSafetyMarginMs) : G_MAXINT;
        g_main_context_push_thread_default(context);
        g_dbus_connection_call(
            bus, kBusName, path, iface, method, params, reply_type, G_DBUS_CALL_FLAGS_NONE, timeout,
            job.cancellable,
            [](GObject* source, GAsyncResult* res, gpointer data) {
                std::unique_ptr<Pending> pending(static_cast<Pending*>(data));
                GErrorPtr err;
                VariantPtr value;
                value.v = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &err.error);
                if (err.error != nullptr && g_error_matches(err.error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                    return;
                if (pending->self->find(pending->id) == nullptr) return;
                try {
                    pending->reply(value.v, err.error);
                } catch (const std::exception& e) {
                    log_error(log_cat, "systemd reply handler failed: %s", e.what());
                }
            },
            new Pending{this, job.id, std::move(reply)});
        g_main_context_pop_thread_default(context);
    }

    void fail_call(std::uint64_t id, const char* what, GError* error)
    {
        Job* job = find(id);
        if (job == nullptr) return;
        if (is_unreachable(error)) {
            finish(id, unavailable(std::string(what) + ": " + error->message));
            return;
        }
        finish(id, make_result(ocf::unknown_error, ExecStatus::error,
                               std::string(what) + " of " + job->unit + " failed: " + error->message));
    }

    void start_job(std::uint64_t id)
    {
        Job* job = find(id);
        call(*job, kManagerPath, kManagerIface, "LoadUnit", g_variant_new("(s)", job->unit.c_str()),
             G_VARIANT_TYPE("(o)"), [this, id](GVariant* reply, GError* error) {
                 if (error != nullptr) {
                     gchar* remote = g_dbus_error_get_remote_error(error);
                     bool no_unit =
                         remote != nullptr && g_str_equal(remote, "org.freedesktop.systemd1.NoSuchUnit");
                     g_free(remote);
                     if (no_unit) {
                         Job* j = find(id);
                         finish(id, make_result(ocf::not_installed, ExecStatus::not_installed,
                                                j->unit + ": unit not found"));
                         return;
                     }
                     fail_call(id, "LoadUnit", error);
                     return;
                 }
                 const gchar* path = nullptr;
                 g_variant_get(reply, "(&o)", &path);
                 find(id)->unit_path = path;
                 check_loaded(id);
             });
    }

    void get_property(std::uint64_t id, const char* property, std::function<void(std::string)> then)
    {
        Job* job = find(id);
        call(*job, job->unit_path.c_str(), "org.freedesktop.DBus.Properties", "Get",
             g_variant_new("(ss)", kUnitIface, property), G_VARIANT_TYPE("(v)"),
             [this, id, then = std::move(then)](GVariant* reply, GError* error) {
                 if (error != nullptr) {
                     fail_call(id, "Get", error);
                     return;
                 }
                 VariantPtr inner;
                 g_variant_get(reply, "(v)", &inner.v);
                 std::string value;
                 if (g_variant_is_of_type(inner.v, G_VARIANT_TYPE_STRING))
                     value = g_variant_get_string(inner.v, nullptr);
                 then(std::move(value));
             });
    }

    void check_loaded(std::uint64_t id)
    {
        get_property(id, "LoadState", [this, id](const std::string& state) {
            Job* job = find(id);
            if (state == "not-found") {
                finish(id, make_result(ocf::not_installed, ExecStatus::not_installed,
                                       job->unit + ": unit not found"));
                return;
            }
            if (job->action == "status") {
                poll(id);
            } else if (job->action == "start") {
                write_drop_in(*job);
                reload_then(id, "StartUnit");
            } else {
                remove_drop_in(*job);
                reload_then(id, "StopUnit");
            }
        });
    }

    void write_drop_in(const Job& job)
    {
        std::string path = drop_in_path(run_dir, job.unit);
        std::string dir = run_dir + "/" + job.unit + ".d";
        std::string text = drop_in_text(job.unit);
        GErrorPtr err;
        if (g_mkdir_with_parents(dir.c_str(), 0755) != 0 ||
            !g_file_set_contents(path.c_str(), text.c_str(), static_cast<gssize>(text.size()), &err.error)) {
            log_warning(log_cat, "cannot write %s: %s", path.c_str(),
                        err.error != nullptr ? err.message().c_str() : g_strerror(errno));
        }
    }

    void remove_drop_in(const Job& job)
    {
        std::string path = drop_in_path(run_dir, job.unit);
        if (g_unlink(path.c_str()) != 0 && errno != ENOENT) {
            log_warning(log_cat, "cannot remove %s: %s", path.c_str(), g_strerror(errno));
        }
    }

    void reload_then(std::uint64_t id, const char* method)
    {
        Job* job = find(id);
        call(*job, kManagerPath, kManagerIface, "Reload", nullptr, nullptr,
             [this, id, method](GVariant*, GError* error) {
                 if (error != nullptr) {
                     fail_call(id, "Reload", error);
                     return;
                 }
                 Job* j = find(id);
                 call(*j, kManagerPath, kManagerIface, method,
                      g_variant_new("(ss)", j->unit.c_str(), "replace"), G_VARIANT_TYPE("(o)"),
                      [this, id, method](GVariant*, GError* err) {
                          if (err != nullptr) {
                              fail_call(id, method, err);
                              return;
                          }
                          // The job is only queued: follow its progress.
                          schedule_poll(id);
                      });
             });
    }

    void schedule_poll(std::uint64_t id)
    {
        Job* job = find(id);
        std::uint32_t delay = poll_delay_ms(job->timeout_ms);
        if (job->deadline_ms > 0 && g_get_monotonic_time() / 1000 + delay > job->deadline_ms) {
            finish(id, make_result(ocf::unknown_error, ExecStatus::timeout, kTimeoutReason));
            return;
        }
        job->timer = io::add_timeout(context, std::chrono::milliseconds(delay), [this, id]() { poll(id); });
    }

    void poll(std::uint64_t id)
    {
        get_property(id, "ActiveState", [this, id](const std::string& state) {
            Job* job = find(id);
            int rc = rc_for_active_state(state);
            if (job->action == "status") {
                if (rc == ocf::pending) {
                    finish(id, make_result(ocf::pending, ExecStatus::pending, state));
                } else {
                    finish(id, make_result(rc, ExecStatus::done, rc == ocf::ok ? "" : state));
                }
            } else if (job->action == "start") {
                if (rc == ocf::ok) {
                    finish(id, make_result(ocf::ok, ExecStatus::done, ""));
                } else if (rc == ocf::pending) {
                    schedule_poll(id);
                } else {
                    finish(id, make_result(ocf::unknown_error, ExecStatus::done, state));
                }
            } else {  // stop
                if (rc == ocf::not_running) {
                    finish(id, make_result(ocf::ok, ExecStatus::done, ""));
                } else {
                    schedule_poll(id);
                }
            }
        });
    }
};

Manager::Manager(GMainContext* context, std::string run_dir)
    : impl_(std::make_unique<Impl>(context != nullptr ? context : g_main_context_get_thread_default(),
                                   std::move(run_dir)))
{
}

Manager::~Manager() = default;

bool Manager::unit_exists(const std::string& unit)
{
    if (!impl_->connect()) return false;
    GErrorPtr err;
    VariantPtr reply;
    reply.v = g_dbus_connection_call_sync(impl_->bus, kBusName, kManagerPath, kManagerIface, "LoadUnit",
                                          g_variant_new("(s)", unit.c_str()), G_VARIANT_TYPE("(o)"),
                                          G_DBUS_CALL_FLAGS_NONE, kSyncCallTimeoutMs, nullptr, &err.error);
    if (reply.v == nullptr) return false;
    const gchar* path = nullptr;
    g_variant_get(reply.v, "(&o)", &path);
    VariantPtr state;
    state.v =
        g_dbus_connection_call_sync(impl_->bus, kBusName, path, "org.freedesktop.DBus.Properties", "Get",
                                    g_variant_new("(ss)", kUnitIface, "LoadState"), G_VARIANT_TYPE("(v)"),
                                    G_DBUS_CALL_FLAGS_NONE, kSyncCallTimeoutMs, nullptr, &err.error);
    if (state.v == nullptr) return false;
    VariantPtr inner;
    g_variant_get(state.v, "(v)", &inner.v);
    return !g_variant_is_of_type(inner.v, G_VARIANT_TYPE_STRING) ||
           !g_str_equal(g_variant_get_string(inner.v, nullptr), "not-found");
}

std::uint64_t Manager::run(const std::string& unit, const std::string& action, std::uint32_t timeout_ms,
                           Done done)
{
    Impl& im = *impl_;
    auto job = std::make_unique<Job>();
    std::uint64_t id = im.next_id++;
    job->id = id;
    job->unit = unit;
    job->action = action;
    job->timeout_ms = timeout_ms;
    job->done = std::move(done);
    if (timeout_ms > 0) {
        job->deadline_ms = g_get_monotonic_time() / 1000 + timeout_ms;
        job->safety = io::add_timeout(
            im.context, std::chrono::milliseconds(timeout_ms + kCallSafetyMarginMs), [&im, id]() {
                im.finish(id, make_result(ocf::unknown_error, ExecStatus::timeout, kTimeoutReason));
            });
    }
    im.jobs.emplace(id, std::move(job));

    if (action != "start" && action != "stop" && action != "status") {
        im.finish_later(id, make_result(ocf::unimplemented, ExecStatus::not_supported,
                                        "systemd units do not support the " + action + " action here"));
        return id;
    }
    if (!im.connect()) {
        im.finish_later(id, unavailable(im.bus_error));
        return id;
    }
    // Deferred so that even an immediate D-Bus failure is reported from the loop.
    im.find(id)->timer = io::add_idle(im.context, [&im, id]() { im.start_job(id); });
    return id;
}

void Manager::cancel(std::uint64_t id)
{
    impl_->jobs.erase(id);
}

}  // namespace outpost::agent::executor::systemd
