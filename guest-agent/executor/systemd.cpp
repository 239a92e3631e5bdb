#include "executor/systemd.hpp"

#include <glib/gstdio.h>
#include <poll.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include "io/source.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

// D-Bus through libsystemd's sd-bus rather than GIO's GDBus: libsystemd is mapped into the
// daemon anyway (libqb links it), while GIO and GObject with their dependencies (libmount,
// libblkid, libselinux, libgmodule) cost resident memory from start even when no systemd
// resource is ever configured (docs/benchmarks.md, "Design decisions and their measurements").
// The bus is driven from our GMainContext by a small GSource (BusSource below), so calls,
// replies and timers all run on the main loop as before.

namespace outpost::agent::executor::systemd {

namespace {

const outpost::log::Category log_cat{"agent.exec.systemd"};

constexpr const char* kBusName = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";
constexpr const char* kTimeoutReason = agents::kFollowUpTimeoutReason;
// D-Bus call timeout of an action without a timeout: sd-bus has no "never", so the longest
// a GLib timer can express (about 24 days), as GDBus's G_MAXINT did.
constexpr std::uint64_t kUnboundedCallTimeoutUs = static_cast<std::uint64_t>(INT_MAX) * 1000;

// RAII owners of the sd-bus objects used here.
struct BusError {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    BusError() = default;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    ~BusError() { sd_bus_error_free(&error); }
};

struct MessagePtr {
    sd_bus_message* m = nullptr;
    MessagePtr() = default;
    MessagePtr(const MessagePtr&) = delete;
    MessagePtr& operator=(const MessagePtr&) = delete;
    ~MessagePtr() { sd_bus_message_unref(m); }
};

std::string errno_text(int negative_errno)
{
    return std::strerror(negative_errno < 0 ? -negative_errno : negative_errno);
}

std::string error_text(const sd_bus_error* error)
{
    if (error == nullptr) return "unknown error";
    if (error->message != nullptr) return error->message;
    return error->name != nullptr ? error->name : "unknown error";
}

agents::RawResult make_result(int rc, ExecStatus status, std::string reason)
{
    agents::RawResult r;
    r.raw_rc = rc;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}

// The results 2.1.5 reports, with its exit reasons (docs/conformance.md, "systemd").
agents::RawResult no_connection()
{
    return make_result(ocf::unknown_error, ExecStatus::error, "No DBus connection");
}
agents::RawResult no_object(const std::string& type)
{
    return make_result(ocf::unknown_error, ExecStatus::error,
                       "No DBus object found for systemd unit " + type);
}
agents::RawResult invoke_failed()
{
    return make_result(ocf::unknown_error, ExecStatus::error, "Unable to invoke systemd DBus method");
}
agents::RawResult unit_not_found(const std::string& type)
{
    return make_result(ocf::not_installed, ExecStatus::not_installed, "systemd unit " + type + " not found");
}
agents::RawResult queued()
{
    agents::RawResult r = make_result(ocf::pending, ExecStatus::pending, "");
    r.follow_up = true;
    return r;
}
agents::RawResult call_timed_out()
{
    return make_result(ocf::unknown_error, ExecStatus::timeout, kTimeoutReason);
}

// A LoadUnit reply without an object path is treated like an error reply.
const sd_bus_error kNoObjectPath{SD_BUS_ERROR_INVALID_ARGS, "LoadUnit returned no object path", 0};

bool is_no_such_unit(const sd_bus_error* error)
{
    return error != nullptr && sd_bus_error_has_name(error, "org.freedesktop.systemd1.NoSuchUnit") != 0;
}

// The string inside a "(v)" Properties.Get reply; empty if it holds another type.
std::string variant_string(sd_bus_message* reply)
{
    const char* contents = nullptr;
    char type = 0;
    if (sd_bus_message_peek_type(reply, &type, &contents) <= 0 || type != SD_BUS_TYPE_VARIANT ||
        contents == nullptr || std::strcmp(contents, "s") != 0) {
        return {};
    }
    const char* value = nullptr;
    if (sd_bus_message_read(reply, "v", "s", &value) < 0 || value == nullptr) return {};
    return value;
}

// Drives an sd_bus from a GMainContext: watches the bus fd for what sd_bus_get_events()
// asks, wakes at sd_bus_get_timeout() (both on CLOCK_MONOTONIC, as g_get_monotonic_time),
// and runs sd_bus_process() until it has nothing left, which calls the reply handlers.
struct BusSource {
    GSource base;
    sd_bus* bus;
    gpointer tag;

    static GIOCondition wanted(sd_bus* bus)
    {
        int events = sd_bus_get_events(bus);
        int condition = G_IO_HUP | G_IO_ERR;
        if (events > 0 && (events & POLLIN) != 0) condition |= G_IO_IN;
        if (events > 0 && (events & POLLOUT) != 0) condition |= G_IO_OUT;
        return static_cast<GIOCondition>(condition);
    }

    static gboolean prepare(GSource* source, gint* timeout_ms)
    {
        auto* self = reinterpret_cast<BusSource*>(source);
        *timeout_ms = -1;
        g_source_modify_unix_fd(source, self->tag, wanted(self->bus));
        std::uint64_t until = 0;
        if (sd_bus_get_timeout(self->bus, &until) < 0 || until == UINT64_MAX) return FALSE;
        auto now = static_cast<std::uint64_t>(g_get_monotonic_time());
        if (until <= now) return TRUE;  // also 0: messages already queued
        std::uint64_t ms = (until - now + 999) / 1000;
        *timeout_ms = static_cast<gint>(std::min<std::uint64_t>(ms, G_MAXINT));
        return FALSE;
    }

    static gboolean check(GSource* source)
    {
        auto* self = reinterpret_cast<BusSource*>(source);
        if (g_source_query_unix_fd(source, self->tag) != 0) return TRUE;
        std::uint64_t until = 0;
        return sd_bus_get_timeout(self->bus, &until) >= 0 && until != UINT64_MAX &&
               until <= static_cast<std::uint64_t>(g_get_monotonic_time());
    }

    static gboolean dispatch(GSource* source, GSourceFunc, gpointer)
    {
        auto* self = reinterpret_cast<BusSource*>(source);
        // A reply handler may destroy this source (Manager gone): keep the bus alive.
        sd_bus* bus = sd_bus_ref(self->bus);
        int r = 0;
        while ((r = sd_bus_process(bus, nullptr)) > 0 && !g_source_is_destroyed(source)) {
        }
        if (r < 0) log_debug(log_cat, "system bus: %s", errno_text(r).c_str());
        // Closed (pending calls have had their NoReply): its fd would poll as invalid
        // forever. Impl::connect() opens a new bus and source on the next action.
        bool open = sd_bus_is_open(bus) > 0;
        sd_bus_unref(bus);
        return open ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
    }

    static void finalize(GSource* source)
    {
        auto* self = reinterpret_cast<BusSource*>(source);
        sd_bus_unref(self->bus);
    }

    static GSource* attach(sd_bus* bus, GMainContext* context)
    {
        static GSourceFuncs funcs = {&prepare, &check, &dispatch, &finalize, nullptr, nullptr};
        GSource* source = g_source_new(&funcs, sizeof(BusSource));
        auto* self = reinterpret_cast<BusSource*>(source);
        self->bus = sd_bus_ref(bus);
        self->tag = g_source_add_unix_fd(source, sd_bus_get_fd(bus), wanted(bus));
        g_source_set_name(source, "outpost systemd bus");
        g_source_attach(source, context);
        return source;
    }
};

}  // namespace

int rc_for_active_state(std::string_view state)
{
    if (state == "active" || state == "reloading") return ocf::ok;
    if (state == "activating" || state == "deactivating") return ocf::pending;
    return ocf::not_running;
}

bool load_state_exists(std::string_view load_state)
{
    return load_state == "loaded" || load_state == "masked";
}

std::string drop_in_path(std::string_view run_dir, std::string_view type)
{
    return std::string(run_dir) + "/" + std::string(type) + ".service.d/" + kDropInName;
}

std::string drop_in_text(std::string_view type)
{
    // The blank line at the end is 2.1.5's.
    return "[Unit]\nDescription=Cluster Controlled " + std::string(type) +
           "\nBefore=pacemaker.service pacemaker_remote.service\n\n[Service]\nRestart=no\n\n";
}

std::string metadata(std::string_view type, std::string_view description)
{
    auto escape = [](std::string_view text) {
        gchar* escaped = g_markup_escape_text(text.data(), static_cast<gssize>(text.size()));
        std::string out = escaped;
        g_free(escaped);
        return out;
    };
    std::string name = escape(type);
    std::string longdesc = description.empty() ? "Systemd unit file for " + name : escape(description);
    return "<?xml version=\"1.0\"?>\n"
           "<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">\n"
           "<resource-agent name=\"" +
           name +
           "\" version=\"0.1\">\n"
           "  <version>1.1</version>\n"
           "  <longdesc lang=\"en\">\n"
           "    " +
           longdesc +
           "\n"
           "  </longdesc>\n"
           "  <shortdesc lang=\"en\">systemd unit file for " +
           name +
           "</shortdesc>\n"
           "  <parameters/>\n"
           "  <actions>\n"
           "    <action name=\"start\"     timeout=\"100\" />\n"
           "    <action name=\"stop\"      timeout=\"100\" />\n"
           "    <action name=\"status\"    timeout=\"100\" />\n"
           "    <action name=\"monitor\"   timeout=\"100\" interval=\"60\"/>\n"
           "    <action name=\"meta-data\" timeout=\"5\"   />\n"
           "  </actions>\n"
           "  <special tag=\"systemd\"/>\n"
           "</resource-agent>\n";
}

namespace {

// A reply handler: `reply` is the method return, or nullptr with `error` set.
using Reply = std::function<void(sd_bus_message* reply, const sd_bus_error* error)>;

// One asynchronous method call in flight for a job. Releasing the slot cancels the call:
// its handler is then never run.
struct Call {
    Manager::Impl* self = nullptr;
    std::uint64_t id = 0;
    Reply reply;
    sd_bus_slot* slot = nullptr;

    Call() = default;
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    ~Call() { sd_bus_slot_unref(slot); }
};

agents::RawResult metadata_result(const std::string& type, const std::string& description)
{
    agents::RawResult r;
    r.out = metadata(type, description);
    return r;
}

}  // namespace

struct Job {
    std::uint64_t id = 0;
    std::string unit;
    std::string type;
    std::string action;
    std::uint32_t timeout_ms = 0;
    Manager::Done done;
    std::string unit_path;
    std::unique_ptr<Call> call;  // at most one D-Bus call at a time
    io::Source idle;             // the deferred first step or finish
    io::Source safety;           // fails a silent systemd after timeout + margin
};

struct Manager::Impl {
    GMainContext* context;
    std::string run_dir;
    sd_bus* bus = nullptr;
    GSource* bus_source = nullptr;
    std::map<std::uint64_t, std::unique_ptr<Job>> jobs;
    std::uint64_t next_id = 1;

    Impl(GMainContext* ctx, std::string dir) : context(ctx), run_dir(std::move(dir)) {}
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl()
    {
        jobs.clear();  // cancels their calls first
        disconnect();
    }

    void disconnect()
    {
        if (bus_source != nullptr) {
            g_source_destroy(bus_source);
            g_source_unref(bus_source);
            bus_source = nullptr;
        }
        if (bus != nullptr) bus = sd_bus_close_unref(bus);
    }

    // The bus connection, made on first use and again after it was lost.
    bool connect()
    {
        if (bus != nullptr && sd_bus_is_open(bus) > 0) return true;
        disconnect();
        // Honours DBUS_SYSTEM_BUS_ADDRESS, as libdbus (2.1.5) does; the Hello exchange
        // completes in the background, calls made meanwhile are queued.
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
            bus = nullptr;
            log_debug(log_cat, "cannot connect to the system bus: %s", errno_text(r).c_str());
            return false;
        }
        bus_source = BusSource::attach(bus, context);
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
        if (done) guarded(log_cat, "the systemd completion handler", [&] { done(std::move(result)); });
    }

    void finish_later(std::uint64_t id, const agents::RawResult& result)
    {
        Job* job = find(id);
        if (job == nullptr) return;
        job->idle = io::add_idle(context, [this, id, result]() { finish(id, result); });
    }

    static int on_reply(sd_bus_message* message, void* userdata, sd_bus_error*) noexcept
    {
        auto* call = static_cast<Call*>(userdata);
        Impl* self = call->self;
        Job* job = self->find(call->id);
        if (job == nullptr || job->call.get() != call) return 0;  // not reached: the slot goes with the job
        // The call is over: take it from the job, so the handler can start the next one
        // (or finish the job) freely; sd-bus holds its own reference to the slot meanwhile.
        std::unique_ptr<Call> done = std::move(job->call);
        guarded(log_cat, "the systemd reply handler", [&] {
            if (sd_bus_message_is_method_error(message, nullptr) != 0) {
                done->reply(nullptr, sd_bus_message_get_error(message));
            } else {
                done->reply(message, nullptr);
            }
        });
        return 0;
    }

    [[nodiscard]] static std::uint64_t call_timeout_us(const Job& job)
    {
        return job.timeout_ms > 0 ? (static_cast<std::uint64_t>(job.timeout_ms) + kCallSafetyMarginMs) * 1000
                                  : kUnboundedCallTimeoutUs;
    }

    // One asynchronous D-Bus method call whose reply runs `reply` from the main loop.
    // `append` adds the arguments (may be empty).
    void call(Job& job, const char* path, const char* iface, const char* method,
              const std::function<int(sd_bus_message*)>& append, Reply reply)
    {
        auto pending = std::make_unique<Call>();
        pending->self = this;
        pending->id = job.id;
        pending->reply = std::move(reply);
        MessagePtr request;
        int r = sd_bus_message_new_method_call(bus, &request.m, kBusName, path, iface, method);
        if (r >= 0 && append) r = append(request.m);
        if (r >= 0)
            r = sd_bus_call_async(bus, &pending->slot, request.m, &Impl::on_reply, pending.get(),
                                  call_timeout_us(job));
        if (r < 0) {
            // Not sent at all (connection gone, out of memory): report it from the loop.
            log_debug(log_cat, "%s: %s", method, errno_text(r).c_str());
            finish_later(job.id, invoke_failed());
            return;
        }
        job.call = std::move(pending);
    }

    // A call whose reply nobody waits for (2.1.5 sends Reload and goes straight on to
    // StartUnit/StopUnit); the bus delivers the two in order.
    void send_no_reply(const char* method)
    {
        MessagePtr request;
        int r =
            sd_bus_message_new_method_call(bus, &request.m, kBusName, kManagerPath, kManagerIface, method);
        if (r >= 0) r = sd_bus_message_set_expect_reply(request.m, 0);
        if (r >= 0) r = sd_bus_send(bus, request.m, nullptr);
        if (r < 0) log_warning(log_cat, "cannot send %s to systemd: %s", method, errno_text(r).c_str());
    }

    void load(std::uint64_t id)
    {
        Job* job = find(id);
        std::string unit = job->unit;
        call(
            *job, kManagerPath, kManagerIface, "LoadUnit",
            [unit](sd_bus_message* m) { return sd_bus_message_append(m, "s", unit.c_str()); },
            [this, id](sd_bus_message* reply, const sd_bus_error* error) {
                Job* j = find(id);
                const char* path = nullptr;
                if (error == nullptr && (sd_bus_message_read(reply, "o", &path) < 0 || path == nullptr))
                    error = &kNoObjectPath;
                if (error != nullptr) {
                    log_debug(log_cat, "LoadUnit %s: %s", j->unit.c_str(), error_text(error).c_str());
                    // Without the unit's object, meta-data still describes the agent.
                    finish(id, j->action == "meta-data" ? metadata_result(j->type, "") : no_object(j->type));
                    return;
                }
                j->unit_path = path;
                perform(id);
            });
    }

    void get_property(std::uint64_t id, const char* property,
                      std::function<void(std::optional<std::string>)> then)
    {
        Job* job = find(id);
        call(
            *job, job->unit_path.c_str(), kPropertiesIface, "Get",
            [property](sd_bus_message* m) { return sd_bus_message_append(m, "ss", kUnitIface, property); },
            [then = std::move(then)](sd_bus_message* reply, const sd_bus_error* error) {
                if (error != nullptr) {
                    log_debug(log_cat, "Get: %s", error_text(error).c_str());
                    then(std::nullopt);
                    return;
                }
                then(variant_string(reply));
            });
    }

    // A job method (StartUnit, StopUnit, RestartUnit) with mode "replace".
    void job_call(std::uint64_t id, const char* method, std::function<void(const sd_bus_error*)> then)
    {
        Job* job = find(id);
        std::string unit = job->unit;
        call(
            *job, kManagerPath, kManagerIface, method,
            [unit](sd_bus_message* m) { return sd_bus_message_append(m, "ss", unit.c_str(), "replace"); },
            [method, then = std::move(then)](sd_bus_message*, const sd_bus_error* error) {
                if (error != nullptr) log_debug(log_cat, "%s: %s", method, error_text(error).c_str());
                then(error);
            });
    }

    void perform(std::uint64_t id)
    {
        Job* job = find(id);
        const std::string& action = job->action;
        if (action == "status" || action == "monitor") {
            get_property(id, "ActiveState", [this, id](const std::optional<std::string>& state) {
                if (!state) {
                    finish(id, invoke_failed());
                    return;
                }
                int rc = rc_for_active_state(*state);
                if (rc == ocf::pending) {
                    finish(id, make_result(ocf::pending, ExecStatus::pending, ""));
                } else {
                    finish(id, make_result(rc, ExecStatus::done, rc == ocf::ok ? "" : *state));
                }
            });
        } else if (action == "meta-data") {
            get_property(id, "Description", [this, id](const std::optional<std::string>& description) {
                finish(id, metadata_result(find(id)->type, description.value_or("")));
            });
        } else if (action == "start") {
            write_drop_in(*job);
            send_no_reply("Reload");
            job_call(id, "StartUnit", [this, id](const sd_bus_error* error) {
                if (error == nullptr) {
                    finish(id, queued());
                } else {
                    finish(id, is_no_such_unit(error) ? unit_not_found(find(id)->type) : invoke_failed());
                }
            });
        } else if (action == "stop") {
            if (remove_drop_in(*job)) send_no_reply("Reload");
            job_call(id, "StopUnit", [this, id](const sd_bus_error* error) {
                // A unit systemd does not know is "stopped" by the status follow-up.
                finish(id, error == nullptr || is_no_such_unit(error) ? queued() : invoke_failed());
            });
        } else if (action == "restart") {
            job_call(id, "RestartUnit", [this, id](const sd_bus_error* error) {
                if (error == nullptr) {
                    finish(id, make_result(ocf::ok, ExecStatus::done, ""));
                } else {
                    finish(id, is_no_such_unit(error) ? unit_not_found(find(id)->type) : invoke_failed());
                }
            });
        } else {
            finish(id, make_result(ocf::unimplemented, ExecStatus::error,
                                   "Action " + action + " not implemented for systemd resources"));
        }
    }

    void write_drop_in(const Job& job)
    {
        std::string path = drop_in_path(run_dir, job.type);
        std::string dir = path.substr(0, path.rfind('/'));
        std::string text = drop_in_text(job.type);
        GError* err = nullptr;
        if (g_mkdir_with_parents(dir.c_str(), 0755) != 0 ||
            !g_file_set_contents(path.c_str(), text.c_str(), static_cast<gssize>(text.size()), &err)) {
            log_warning(log_cat, "cannot write %s: %s", path.c_str(),
                        err != nullptr ? err->message : g_strerror(errno));
        }
        g_clear_error(&err);
    }

    // True if there was a drop-in to remove (and systemd must reload to forget it).
    bool remove_drop_in(const Job& job)
    {
        std::string path = drop_in_path(run_dir, job.type);
        if (g_unlink(path.c_str()) == 0) return true;
        if (errno != ENOENT) log_warning(log_cat, "cannot remove %s: %s", path.c_str(), g_strerror(errno));
        return false;
    }

    // A blocking method call (kSyncCallTimeoutMs); the reply, or nullptr on any error.
    sd_bus_message* call_sync(const char* path, const char* iface, const char* method,
                              const std::function<int(sd_bus_message*)>& append)
    {
        MessagePtr request;
        BusError error;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_message_new_method_call(bus, &request.m, kBusName, path, iface, method);
        if (r >= 0) r = append(request.m);
        if (r >= 0)
            r = sd_bus_call(bus, request.m, static_cast<std::uint64_t>(kSyncCallTimeoutMs) * 1000,
                            &error.error, &reply);
        if (r < 0) {
            log_debug(log_cat, "%s: %s", method,
                      sd_bus_error_is_set(&error.error) != 0 ? error_text(&error.error).c_str()
                                                             : errno_text(r).c_str());
            return nullptr;
        }
        return reply;
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
    MessagePtr loaded;
    loaded.m = impl_->call_sync(kManagerPath, kManagerIface, "LoadUnit", [&unit](sd_bus_message* m) {
        return sd_bus_message_append(m, "s", unit.c_str());
    });
    const char* path = nullptr;
    if (loaded.m == nullptr || sd_bus_message_read(loaded.m, "o", &path) < 0 || path == nullptr) return false;
    MessagePtr state;
    state.m = impl_->call_sync(path, kPropertiesIface, "Get", [](sd_bus_message* m) {
        return sd_bus_message_append(m, "ss", kUnitIface, "LoadState");
    });
    return state.m != nullptr && load_state_exists(variant_string(state.m));
}

std::uint64_t Manager::run(const std::string& unit, const std::string& type, const std::string& action,
                           std::uint32_t timeout_ms, Done done)
{
    Impl& im = *impl_;
    auto job = std::make_unique<Job>();
    std::uint64_t id = im.next_id++;
    job->id = id;
    job->unit = unit;
    job->type = type;
    job->action = action;
    job->timeout_ms = timeout_ms;
    job->done = std::move(done);
    if (timeout_ms > 0) {
        job->safety = io::add_timeout(im.context, std::chrono::milliseconds(timeout_ms + kCallSafetyMarginMs),
                                      [&im, id]() { im.finish(id, call_timed_out()); });
    }
    im.jobs.emplace(id, std::move(job));
    if (!im.connect()) {
        im.finish_later(id, no_connection());
        return id;
    }
    // Deferred so that even an immediate D-Bus failure is reported from the loop.
    im.find(id)->idle = io::add_idle(im.context, [&im, id]() { im.load(id); });
    return id;
}

void Manager::cancel(std::uint64_t id)
{
    impl_->jobs.erase(id);
}

}  // namespace outpost::agent::executor::systemd
