// outpost-fake-systemd: a stand-in for systemd's manager (org.freedesktop.systemd1) on a
// private D-Bus daemon, for tests on machines where systemd is not PID 1. Both
// outpost-agent (sd-bus) and the real pacemaker-remoted 2.1.5 (libdbus) reach it through
// DBUS_SYSTEM_BUS_ADDRESS; the conformance suite runs one per daemon and compares what each
// daemon asked systemd to do.
//
//   outpost-fake-systemd --address ADDR --log FILE [--ready-file FILE] [--dropin-dir DIR]
//                        [--job-delay-ms N] [--unit NAME=KIND]...
//
// KIND is one of
//   ok      loaded; start and stop are jobs that finish after the job delay (activating ->
//           active, deactivating -> inactive), restart too
//   fail    loaded; a start job ends with the unit "failed" (job result "failed")
//   stuck   loaded; a start job never finishes (the unit stays "activating")
//   masked  LoadState "masked": start/restart refused with org.freedesktop.systemd1.UnitMasked,
//           stop is a job that is done at once
//   bad-setting, error
//           LoadState "bad-setting" / "error" (a unit file systemd could not use): start and
//           restart refused (BadUnitSetting; InvalidArgs for "error"), stop of the inactive
//           unit refused with NoSuchUnit ("not loaded"), as systemd does
// and every other unit name behaves as a unit systemd cannot find: LoadUnit returns its object
// with LoadState "not-found", GetUnit fails with NoSuchUnit ("not loaded"), StartUnit with
// NoSuchUnit ("not found"), StopUnit with NoSuchUnit ("not loaded"), as systemd 252 does.
//
// Every method call that reaches the fake is answered from one place (a connection filter
// hands it to the main loop), so there is one log line per call, in arrival order, and
// unknown methods, interfaces, objects and properties get the D-Bus errors real systemd
// (sd-bus) gives. The log (FILE, one line per event) records calls with their arguments,
// job completions and, at each Reload, the drop-ins found under --dropin-dir (the directory
// the daemon sees as /run/systemd/system).
#include <gio/gio.h>
#include <glib-unix.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

constexpr const char* kBusName = "org.freedesktop.systemd1";
constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
constexpr const char* kUnitPrefix = "/org/freedesktop/systemd1/unit/";
constexpr const char* kJobPrefix = "/org/freedesktop/systemd1/job/";
constexpr const char* kManagerIface = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitIface = "org.freedesktop.systemd1.Unit";
constexpr const char* kServiceIface = "org.freedesktop.systemd1.Service";
constexpr const char* kJobIface = "org.freedesktop.systemd1.Job";
constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";
constexpr const char* kIntrospectableIface = "org.freedesktop.DBus.Introspectable";
constexpr const char* kPeerIface = "org.freedesktop.DBus.Peer";

// Error names as systemd (and sd-bus for the generic ones) sends them.
constexpr const char* kErrNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
constexpr const char* kErrNoSuchJob = "org.freedesktop.systemd1.NoSuchJob";
constexpr const char* kErrUnitMasked = "org.freedesktop.systemd1.UnitMasked";
constexpr const char* kErrBadUnitSetting = "org.freedesktop.systemd1.BadUnitSetting";
constexpr const char* kErrInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kErrUnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";
constexpr const char* kErrUnknownObject = "org.freedesktop.DBus.Error.UnknownObject";
constexpr const char* kErrUnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty";
constexpr const char* kErrUnknownInterface = "org.freedesktop.DBus.Error.UnknownInterface";

constexpr const char* kDropInName = "50-pacemaker.conf";
constexpr guint kDefaultJobDelayMs = 300;
// The name request waits this long for the bus daemon.
constexpr int kRequestNameTimeoutMs = 5000;
constexpr guint32 kNameFlagDoNotQueue = 4;  // DBUS_NAME_FLAG_DO_NOT_QUEUE
constexpr guint32 kNameReplyPrimaryOwner = 1;

enum class Kind { ok, fail, stuck, masked, bad_setting, load_error, not_found };

std::optional<Kind> parse_kind(std::string_view text)
{
    if (text == "ok") return Kind::ok;
    if (text == "fail") return Kind::fail;
    if (text == "stuck") return Kind::stuck;
    if (text == "masked") return Kind::masked;
    if (text == "bad-setting") return Kind::bad_setting;
    if (text == "error") return Kind::load_error;
    return std::nullopt;
}

// systemd's bus_label_escape(): [A-Za-z0-9] kept (a leading digit escaped), anything else
// "_xx" in lower-case hex; "" becomes "_".
std::string escape_label(std::string_view name)
{
    if (name.empty()) return "_";
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        auto c = static_cast<unsigned char>(name[i]);
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool digit = c >= '0' && c <= '9';
        if (alpha || (digit && i > 0)) {
            out.push_back(static_cast<char>(c));
        } else {
            char hex[4];
            (void)std::snprintf(hex, sizeof hex, "_%02x", c);
            out += hex;
        }
    }
    return out;
}

std::optional<std::string> unescape_label(std::string_view label)
{
    if (label == "_") return std::string();
    std::string out;
    for (std::size_t i = 0; i < label.size(); ++i) {
        if (label[i] != '_') {
            out.push_back(label[i]);
            continue;
        }
        if (i + 2 >= label.size()) return std::nullopt;
        int hi = g_ascii_xdigit_value(label[i + 1]);
        int lo = g_ascii_xdigit_value(label[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// A unit name systemd accepts: "<prefix>.<type>" with a known type suffix.
bool valid_unit_name(std::string_view name)
{
    static const char* const kTypes[] = {".service", ".socket", ".target", ".device", ".mount", ".automount",
                                         ".swap",    ".timer",  ".path",   ".slice",  ".scope"};
    for (const char* type : kTypes) {
        std::string_view suffix(type);
        if (name.size() > suffix.size() && name.ends_with(suffix)) return true;
    }
    return false;
}

std::string escape_for_log(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\\') {
            out += "\\\\";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

struct VariantUnref {
    void operator()(GVariant* v) const { g_variant_unref(v); }
};
using VariantPtr = std::unique_ptr<GVariant, VariantUnref>;
struct ObjectUnref {
    void operator()(gpointer p) const { g_object_unref(p); }
};
using MessagePtr = std::unique_ptr<GDBusMessage, ObjectUnref>;
using ConnectionPtr = std::unique_ptr<GDBusConnection, ObjectUnref>;

struct Unit {
    std::string name;
    Kind kind = Kind::not_found;
    std::string active_state = "inactive";
    std::string sub_state = "dead";
    std::uint32_t job_id = 0;  // 0 = no job
    std::string job_type;
    guint job_timer = 0;
};

struct Job {
    std::uint32_t id = 0;
    std::string unit;
    std::string type;
};

class FakeSystemd {
public:
    struct Options {
        std::string address;
        std::string log_path;
        std::string ready_file;
        std::string dropin_dir;
        guint job_delay_ms = kDefaultJobDelayMs;
        std::map<std::string, Kind> units;
    };

    explicit FakeSystemd(Options options)
        : options_(std::move(options)), loop_(g_main_loop_new(nullptr, FALSE))
    {
        for (const auto& [name, kind] : options_.units) {
            Unit& u = units_[name];
            u.name = name;
            u.kind = kind;
        }
        log_.open(options_.log_path, std::ios::app);
    }
    FakeSystemd(const FakeSystemd&) = delete;
    FakeSystemd& operator=(const FakeSystemd&) = delete;
    ~FakeSystemd() { g_main_loop_unref(loop_); }

    int run()
    {
        if (!log_) {
            std::cerr << "outpost-fake-systemd: cannot open " << options_.log_path << "\n";
            return 1;
        }
        GError* error = nullptr;
        conn_.reset(g_dbus_connection_new_for_address_sync(
            options_.address.c_str(),
            static_cast<GDBusConnectionFlags>(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
            nullptr, nullptr, &error));
        if (!conn_) return fail("cannot connect to " + options_.address, error);
        g_dbus_connection_set_exit_on_close(conn_.get(), FALSE);
        // Installed before the name is ours: nothing can be addressed to us earlier.
        filter_id_ = g_dbus_connection_add_filter(conn_.get(), &FakeSystemd::filter, this, nullptr);
        VariantPtr owned(g_dbus_connection_call_sync(
            conn_.get(), "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "RequestName", g_variant_new("(su)", kBusName, kNameFlagDoNotQueue), G_VARIANT_TYPE("(u)"),
            G_DBUS_CALL_FLAGS_NONE, kRequestNameTimeoutMs, nullptr, &error));
        if (!owned) return fail(std::string("cannot own ") + kBusName, error);
        guint32 reply = 0;
        g_variant_get(owned.get(), "(u)", &reply);
        if (reply != kNameReplyPrimaryOwner) {
            std::cerr << "outpost-fake-systemd: " << kBusName << " is owned by someone else\n";
            return 1;
        }
        g_signal_connect(conn_.get(), "closed",
                         G_CALLBACK(+[](GDBusConnection*, gboolean, GError*, gpointer self) {
                             g_main_loop_quit(static_cast<FakeSystemd*>(self)->loop_);
                         }),
                         this);
        g_unix_signal_add(SIGTERM, &FakeSystemd::on_term, this);
        g_unix_signal_add(SIGINT, &FakeSystemd::on_term, this);
        if (!options_.ready_file.empty()) {
            std::ofstream(options_.ready_file) << "ready\n";
        }
        g_main_loop_run(loop_);
        g_dbus_connection_remove_filter(conn_.get(), filter_id_);
        for (auto& [name, unit] : units_) {
            if (unit.job_timer != 0) g_source_remove(unit.job_timer);
        }
        return 0;
    }

private:
    static int fail(const std::string& what, GError* error)
    {
        std::cerr << "outpost-fake-systemd: " << what << ": " << (error != nullptr ? error->message : "?")
                  << "\n";
        g_clear_error(&error);
        return 1;
    }

    static gboolean on_term(gpointer self)
    {
        g_main_loop_quit(static_cast<FakeSystemd*>(self)->loop_);
        return G_SOURCE_REMOVE;
    }

    // Runs on GDBus's worker thread: incoming method calls are taken off the connection
    // (so GDBus answers none of them itself) and handled, in order, on the main loop.
    static GDBusMessage* filter(GDBusConnection*, GDBusMessage* message, gboolean incoming, gpointer user)
    {
        if (incoming == FALSE || g_dbus_message_get_message_type(message) != G_DBUS_MESSAGE_TYPE_METHOD_CALL)
            return message;
        auto* self = static_cast<FakeSystemd*>(user);
        {
            std::lock_guard lock(self->queue_mutex_);
            self->queue_.emplace_back(message);  // takes the filter's reference
        }
        g_main_context_invoke(nullptr, &FakeSystemd::drain, self);
        return nullptr;
    }

    static gboolean drain(gpointer user)
    {
        auto* self = static_cast<FakeSystemd*>(user);
        for (;;) {
            MessagePtr message;
            {
                std::lock_guard lock(self->queue_mutex_);
                if (self->queue_.empty()) break;
                message.reset(self->queue_.front());
                self->queue_.pop_front();
            }
            self->handle(message.get());
        }
        return G_SOURCE_REMOVE;
    }

    void log(const std::string& line)
    {
        log_ << line << "\n";
        log_.flush();
    }

    void reply(GDBusMessage* call, GVariant* body)
    {
        MessagePtr r(g_dbus_message_new_method_reply(call));
        if (body != nullptr) g_dbus_message_set_body(r.get(), body);
        send(r.get());
    }

    void error(GDBusMessage* call, const char* name, const std::string& text)
    {
        log("  -> error " + std::string(name) + ": " + text);
        MessagePtr r(g_dbus_message_new_method_error_literal(call, name, text.c_str()));
        send(r.get());
    }

    void send(GDBusMessage* message)
    {
        GError* err = nullptr;
        if (g_dbus_connection_send_message(conn_.get(), message, G_DBUS_SEND_MESSAGE_FLAGS_NONE, nullptr,
                                           &err) == FALSE) {
            log(std::string("  !! send failed: ") + (err != nullptr ? err->message : "?"));
            g_clear_error(&err);
        }
    }

    void signal(const char* path, const char* iface, const char* member, GVariant* body)
    {
        GError* err = nullptr;
        if (g_dbus_connection_emit_signal(conn_.get(), nullptr, path, iface, member, body, &err) == FALSE) {
            log(std::string("  !! signal failed: ") + (err != nullptr ? err->message : "?"));
            g_clear_error(&err);
        }
    }

    static std::string short_iface(const char* iface)
    {
        std::string_view name = iface != nullptr ? iface : "(none)";
        for (std::string_view prefix : {"org.freedesktop.systemd1.", "org.freedesktop.DBus."}) {
            if (name.starts_with(prefix)) return std::string(name.substr(prefix.size()));
        }
        return std::string(name);
    }

    void handle(GDBusMessage* call)
    {
        const char* path = g_dbus_message_get_path(call);
        const char* iface = g_dbus_message_get_interface(call);
        const char* member = g_dbus_message_get_member(call);
        GVariant* body = g_dbus_message_get_body(call);
        std::string args = "()";
        if (body != nullptr) {
            gchar* printed = g_variant_print(body, FALSE);
            args = printed;
            g_free(printed);
        }
        log(short_iface(iface) + "." + (member != nullptr ? member : "?") + " " +
            (path != nullptr ? path : "?") + " " + args);
        std::string p = path != nullptr ? path : "";
        std::string i = iface != nullptr ? iface : "";
        std::string m = member != nullptr ? member : "";
        if (i == kPeerIface && m == "Ping") return reply(call, nullptr);
        if (p == kManagerPath) return manager_call(call, i, m, body);
        if (p.starts_with(kUnitPrefix)) {
            auto name = unescape_label(std::string_view(p).substr(std::strlen(kUnitPrefix)));
            if (!name || !valid_unit_name(*name))
                return error(call, kErrUnknownObject, "Unknown object '" + p + "'.");
            return unit_call(call, unit(*name), i, m, body);
        }
        if (p.starts_with(kJobPrefix)) {
            std::uint32_t id =
                static_cast<std::uint32_t>(std::strtoul(p.c_str() + std::strlen(kJobPrefix), nullptr, 10));
            auto job = jobs_.find(id);
            if (job == jobs_.end())
                return error(call, kErrNoSuchJob, "Job " + std::to_string(id) + " does not exist.");
            return job_call(call, job->second, i, m, body);
        }
        error(call, kErrUnknownObject, "Unknown object '" + p + "'.");
    }

    Unit& unit(const std::string& name)
    {
        Unit& u = units_[name];
        if (u.name.empty()) {
            u.name = name;
            u.kind = Kind::not_found;
        }
        return u;
    }

    static std::string unit_path(const std::string& name) { return kUnitPrefix + escape_label(name); }
    static std::string job_path(std::uint32_t id) { return kJobPrefix + std::to_string(id); }

    static std::string load_state(const Unit& u)
    {
        switch (u.kind) {
            case Kind::masked:
                return "masked";
            case Kind::bad_setting:
                return "bad-setting";
            case Kind::load_error:
                return "error";
            case Kind::not_found:
                return "not-found";
            case Kind::ok:
            case Kind::fail:
            case Kind::stuck:
                break;
        }
        return "loaded";
    }

    // ------------------------------------------------------------------ manager

    void manager_call(GDBusMessage* call, const std::string& iface, const std::string& member, GVariant* body)
    {
        if (iface == kPropertiesIface)
            return properties_call(call, member, body, &FakeSystemd::manager_property);
        if (iface == kIntrospectableIface && member == "Introspect") return reply(call, introspection());
        if (iface != kManagerIface && !iface.empty())
            return error(call, kErrUnknownInterface, "Unknown interface " + iface + ".");
        if (member == "Reload") {
            log_dropins();
            return reply(call, nullptr);
        }
        if (member == "Subscribe" || member == "Unsubscribe") return reply(call, nullptr);
        if (member == "LoadUnit" || member == "GetUnit") {
            const char* name = nullptr;
            if (!typed(body, "(s)")) return bad_signature(call, member);
            g_variant_get(body, "(&s)", &name);
            if (!valid_unit_name(name))
                return error(call, kErrInvalidArgs, std::string("Unit name ") + name + " is not valid.");
            Unit& u = unit(name);
            // A unit that cannot be found is loaded as a stub by LoadUnit but garbage
            // collected at once: GetUnit never sees it.
            if (member == "GetUnit" && u.kind == Kind::not_found)
                return error(call, kErrNoSuchUnit, "Unit " + u.name + " not loaded.");
            return reply(call, g_variant_new("(o)", unit_path(u.name).c_str()));
        }
        static const std::map<std::string, std::string> kJobMethods{{"StartUnit", "start"},
                                                                    {"StopUnit", "stop"},
                                                                    {"RestartUnit", "restart"},
                                                                    {"TryRestartUnit", "restart"},
                                                                    {"ReloadOrRestartUnit", "restart"},
                                                                    {"ReloadUnit", "reload"}};
        if (auto it = kJobMethods.find(member); it != kJobMethods.end()) {
            const char* name = nullptr;
            const char* mode = nullptr;
            if (!typed(body, "(ss)")) return bad_signature(call, member);
            g_variant_get(body, "(&s&s)", &name, &mode);
            if (!valid_unit_name(name))
                return error(call, kErrInvalidArgs, std::string("Unit name ") + name + " is not valid.");
            static const char* const kModes[] = {"replace",
                                                 "fail",
                                                 "isolate",
                                                 "ignore-dependencies",
                                                 "ignore-requirements",
                                                 "flush",
                                                 "replace-irreversibly"};
            if (std::none_of(std::begin(kModes), std::end(kModes),
                             [&](const char* m) { return std::strcmp(m, mode) == 0; }))
                return error(call, kErrInvalidArgs, std::string("Job mode ") + mode + " invalid.");
            return queue_job(call, unit(name), it->second);
        }
        if (member == "ResetFailedUnit") {
            const char* name = nullptr;
            if (!typed(body, "(s)")) return bad_signature(call, member);
            g_variant_get(body, "(&s)", &name);
            Unit& u = unit(name);
            if (u.kind == Kind::not_found)
                return error(call, kErrNoSuchUnit, "Unit " + u.name + " not loaded.");
            if (u.active_state == "failed") set_state(u, "inactive", "dead");
            return reply(call, nullptr);
        }
        error(call, kErrUnknownMethod, "Unknown method " + member + " or interface " + iface + ".");
    }

    static bool typed(GVariant* body, const char* type)
    {
        return body != nullptr && g_variant_is_of_type(body, G_VARIANT_TYPE(type));
    }

    void bad_signature(GDBusMessage* call, const std::string& member)
    {
        error(call, kErrInvalidArgs, "Invalid arguments for " + member + ".");
    }

    GVariant* manager_property(const std::string& name)
    {
        if (name == "Version") return g_variant_new_string("252-fake");
        if (name == "SystemState") return g_variant_new_string("running");
        if (name == "Virtualization") return g_variant_new_string("");
        if (name == "Architecture") return g_variant_new_string("x86-64");
        return nullptr;
    }

    void log_dropins()
    {
        if (options_.dropin_dir.empty()) return;
        std::vector<std::string> found;
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(options_.dropin_dir, ec)) {
            auto file = entry.path() / kDropInName;
            if (!std::filesystem::exists(file, ec)) continue;
            std::ifstream in(file);
            std::stringstream text;
            text << in.rdbuf();
            found.push_back(entry.path().filename().string() + "/" + kDropInName + ": " +
                            escape_for_log(text.str()));
        }
        std::sort(found.begin(), found.end());
        if (found.empty()) log("  reload sees no drop-in");
        for (const auto& line : found)
            log("  reload sees drop-in " + line);
    }

    // ------------------------------------------------------------------ jobs

    void queue_job(GDBusMessage* call, Unit& u, const std::string& type)
    {
        bool unusable =
            u.kind == Kind::not_found || u.kind == Kind::bad_setting || u.kind == Kind::load_error;
        if (type != "stop") {
            if (u.kind == Kind::not_found)
                return error(call, kErrNoSuchUnit, "Unit " + u.name + " not found.");
            if (u.kind == Kind::masked) return error(call, kErrUnitMasked, "Unit " + u.name + " is masked.");
            if (u.kind == Kind::bad_setting)
                return error(call, kErrBadUnitSetting, "Unit " + u.name + " has a bad unit file setting.");
            if (u.kind == Kind::load_error)
                return error(
                    call, kErrInvalidArgs,
                    "Unit " + u.name +
                        " failed to load properly, please adjust/correct and reload service manager: "
                        "Invalid argument");
        } else if (unusable && u.active_state == "inactive") {
            return error(call, kErrNoSuchUnit, "Unit " + u.name + " not loaded.");
        }
        if (u.job_id != 0) finish_job(u, "canceled");  // mode "replace": the new job wins
        std::uint32_t id = next_job_++;
        jobs_[id] = Job{id, u.name, type};
        u.job_id = id;
        u.job_type = type;
        reply(call, g_variant_new("(o)", job_path(id).c_str()));
        signal(kManagerPath, kManagerIface, "JobNew",
               g_variant_new("(uos)", id, job_path(id).c_str(), u.name.c_str()));

        bool active = u.active_state == "active";
        if (type == "stop") {
            if (u.active_state == "inactive" || u.active_state == "failed") return later(u, 0);
            set_state(u, "deactivating", "stop");
        } else if (type == "start" && active) {
            return later(u, 0);
        } else if (type == "reload") {
            if (!active) return later(u, 0, "failed");
            set_state(u, "reloading", "reload");
        } else {
            set_state(u, "activating", "start");
        }
        if (u.kind == Kind::stuck && type != "stop") return;  // never settles
        later(u, options_.job_delay_ms);
    }

    // The job ends after `delay_ms` (0: on the next loop iteration, as systemd runs jobs).
    void later(Unit& u, guint delay_ms, const char* forced_result = nullptr)
    {
        struct Pending {
            FakeSystemd* self;
            std::string unit;
            std::uint32_t job;
            const char* forced;
        };
        auto* pending = new Pending{this, u.name, u.job_id, forced_result};
        u.job_timer = g_timeout_add_full(
            G_PRIORITY_DEFAULT, delay_ms,
            [](gpointer p) -> gboolean {
                auto* d = static_cast<Pending*>(p);
                Unit& unit = d->self->unit(d->unit);
                unit.job_timer = 0;
                if (unit.job_id == d->job) d->self->complete(unit, d->forced);
                return G_SOURCE_REMOVE;
            },
            pending, [](gpointer p) { delete static_cast<Pending*>(p); });
    }

    void complete(Unit& u, const char* forced_result)
    {
        std::string result = forced_result != nullptr ? forced_result : "done";
        if (forced_result == nullptr) {
            if (u.job_type == "stop") {
                if (u.active_state != "failed") set_state(u, "inactive", "dead");
            } else if (u.kind == Kind::fail) {
                set_state(u, "failed", "failed");
                result = "failed";
            } else {
                set_state(u, "active", "running");
            }
        }
        finish_job(u, result);
    }

    void finish_job(Unit& u, const std::string& result)
    {
        std::uint32_t id = u.job_id;
        if (u.job_timer != 0) {
            g_source_remove(u.job_timer);
            u.job_timer = 0;
        }
        log("  job " + std::to_string(id) + " " + u.job_type + " " + u.name + " " + result + " (unit " +
            u.active_state + ")");
        jobs_.erase(id);
        u.job_id = 0;
        u.job_type.clear();
        signal(kManagerPath, kManagerIface, "JobRemoved",
               g_variant_new("(uoss)", id, job_path(id).c_str(), u.name.c_str(), result.c_str()));
    }

    void set_state(Unit& u, const char* active, const char* sub)
    {
        u.active_state = active;
        u.sub_state = sub;
        GVariantBuilder changed;
        g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&changed, "{sv}", "ActiveState", g_variant_new_string(active));
        g_variant_builder_add(&changed, "{sv}", "SubState", g_variant_new_string(sub));
        signal(unit_path(u.name).c_str(), kPropertiesIface, "PropertiesChanged",
               g_variant_new("(sa{sv}as)", kUnitIface, &changed, nullptr));
    }

    void job_call(GDBusMessage* call, const Job& job, const std::string& iface, const std::string& member,
                  GVariant* body)
    {
        if (iface == kPropertiesIface) {
            return properties_call(
                call, member, body,
                [&job](FakeSystemd&, const std::string& iface_name, const std::string& name) -> GVariant* {
                    if (iface_name != kJobIface) return nullptr;
                    if (name == "Id") return g_variant_new_uint32(job.id);
                    if (name == "JobType") return g_variant_new_string(job.type.c_str());
                    if (name == "State") return g_variant_new_string("running");
                    if (name == "Unit")
                        return g_variant_new("(so)", job.unit.c_str(), unit_path(job.unit).c_str());
                    return nullptr;
                });
        }
        if (iface == kJobIface && member == "Cancel") {
            finish_job(unit(job.unit), "canceled");
            return reply(call, nullptr);
        }
        error(call, kErrUnknownMethod, "Unknown method " + member + " or interface " + iface + ".");
    }

    // ------------------------------------------------------------------ units

    void unit_call(GDBusMessage* call, Unit& u, const std::string& iface, const std::string& member,
                   GVariant* body)
    {
        if (iface == kPropertiesIface) {
            return properties_call(
                call, member, body,
                [&u](FakeSystemd& self, const std::string& iface_name, const std::string& name) {
                    return self.unit_property(u, iface_name, name);
                });
        }
        if (iface == kIntrospectableIface && member == "Introspect") return reply(call, introspection());
        error(call, kErrUnknownMethod, "Unknown method " + member + " or interface " + iface + ".");
    }

    GVariant* unit_property(const Unit& u, const std::string& iface, const std::string& name)
    {
        bool service = u.name.ends_with(".service");
        if (iface == kUnitIface) {
            if (name == "Id") return g_variant_new_string(u.name.c_str());
            if (name == "Names") {
                const gchar* names[] = {u.name.c_str(), nullptr};
                return g_variant_new_strv(names, -1);
            }
            if (name == "Description") return g_variant_new_string(u.name.c_str());
            if (name == "LoadState") return g_variant_new_string(load_state(u).c_str());
            if (name == "ActiveState") return g_variant_new_string(u.active_state.c_str());
            if (name == "SubState") return g_variant_new_string(u.sub_state.c_str());
            if (name == "FragmentPath") {
                std::string fragment = u.kind == Kind::masked      ? "/dev/null"
                                       : u.kind == Kind::not_found ? ""
                                                                   : "/lib/systemd/system/" + u.name;
                return g_variant_new_string(fragment.c_str());
            }
            if (name == "UnitFileState") {
                const char* state = u.kind == Kind::masked      ? "masked"
                                    : u.kind == Kind::not_found ? ""
                                                                : "disabled";
                return g_variant_new_string(state);
            }
            if (name == "CanStart" || name == "CanStop" || name == "CanReload")
                return g_variant_new_boolean(u.kind != Kind::not_found && u.kind != Kind::masked ? TRUE
                                                                                                 : FALSE);
            if (name == "Job")
                return g_variant_new("(uo)", u.job_id, u.job_id != 0 ? job_path(u.job_id).c_str() : "/");
            return nullptr;
        }
        if (iface == kServiceIface && service) {
            if (name == "MainPID" || name == "ExecMainPID") return g_variant_new_uint32(0);
            if (name == "ExecMainStatus") return g_variant_new_int32(u.active_state == "failed" ? 1 : 0);
            if (name == "Result")
                return g_variant_new_string(u.active_state == "failed" ? "exit-code" : "success");
            if (name == "Type") return g_variant_new_string("simple");
            return nullptr;
        }
        return nullptr;
    }

    // ------------------------------------------------------------------ properties

    template <typename Lookup>
    void properties_call(GDBusMessage* call, const std::string& member, GVariant* body, Lookup lookup)
    {
        if (member == "Get") {
            const char* iface = nullptr;
            const char* name = nullptr;
            if (!typed(body, "(ss)")) return bad_signature(call, member);
            g_variant_get(body, "(&s&s)", &iface, &name);
            VariantPtr value(invoke(lookup, iface, name));
            if (!value) return error(call, kErrUnknownProperty, "Unknown property or interface.");
            g_variant_ref_sink(value.get());  // from floating to the reference `value` owns
            gchar* text = g_variant_print(value.get(), FALSE);
            log(std::string("  -> ") + text);
            g_free(text);
            return reply(call, g_variant_new("(v)", value.get()));
        }
        if (member == "GetAll") {
            const char* iface = nullptr;
            if (!typed(body, "(s)")) return bad_signature(call, member);
            g_variant_get(body, "(&s)", &iface);
            GVariantBuilder all;
            g_variant_builder_init(&all, G_VARIANT_TYPE("a{sv}"));
            static const char* const kNames[] = {
                "Id",           "Names",          "Description",    "LoadState", "ActiveState", "SubState",
                "FragmentPath", "UnitFileState",  "CanStart",       "CanStop",   "CanReload",   "Job",
                "MainPID",      "ExecMainPID",    "ExecMainStatus", "Result",    "Type",        "Version",
                "SystemState",  "Virtualization", "Architecture",   "JobType",   "State",       "Unit"};
            for (const char* name : kNames) {
                if (GVariant* value = invoke(lookup, iface, name); value != nullptr)
                    g_variant_builder_add(&all, "{sv}", name, value);
            }
            return reply(call, g_variant_new("(a{sv})", &all));
        }
        if (member == "Set")
            return error(call, "org.freedesktop.DBus.Error.PropertyReadOnly", "Property is read-only.");
        error(call, kErrUnknownMethod,
              "Unknown method " + member + " or interface " + kPropertiesIface + ".");
    }

    template <typename Lookup>
    GVariant* invoke(Lookup& lookup, const char* iface, const char* name)
    {
        if constexpr (std::is_member_function_pointer_v<Lookup>) {
            if (std::strcmp(iface, kManagerIface) != 0) return nullptr;
            return (this->*lookup)(name);
        } else {
            return lookup(*this, iface, name);
        }
    }

    static GVariant* introspection()
    {
        return g_variant_new(
            "(s)",
            "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
            " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node/>\n");
    }

    Options options_;
    GMainLoop* loop_;
    ConnectionPtr conn_;
    guint filter_id_ = 0;
    std::ofstream log_;
    std::mutex queue_mutex_;
    std::deque<GDBusMessage*> queue_;
    std::map<std::string, Unit> units_;
    std::map<std::uint32_t, Job> jobs_;
    std::uint32_t next_job_ = 1;
};

}  // namespace

int main(int argc, char** argv)
{
    FakeSystemd::Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "outpost-fake-systemd: " << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--address") {
            options.address = value();
        } else if (arg == "--log") {
            options.log_path = value();
        } else if (arg == "--ready-file") {
            options.ready_file = value();
        } else if (arg == "--dropin-dir") {
            options.dropin_dir = value();
        } else if (arg == "--job-delay-ms") {
            options.job_delay_ms = static_cast<guint>(std::strtoul(value().c_str(), nullptr, 10));
        } else if (arg == "--unit") {
            std::string spec = value();
            auto eq = spec.find('=');
            auto kind = eq == std::string::npos ? std::nullopt : parse_kind(spec.substr(eq + 1));
            if (!kind) {
                std::cerr << "outpost-fake-systemd: --unit NAME=ok|fail|stuck|masked|bad-setting|error, not "
                          << spec << "\n";
                return 2;
            }
            options.units[spec.substr(0, eq)] = *kind;
        } else {
            std::cerr << "outpost-fake-systemd: unknown argument " << arg << "\n";
            return 2;
        }
    }
    if (options.address.empty()) {
        const char* env = std::getenv("DBUS_SYSTEM_BUS_ADDRESS");
        options.address = env != nullptr ? env : "";
    }
    if (options.address.empty() || options.log_path.empty()) {
        std::cerr
            << "usage: outpost-fake-systemd --address ADDR --log FILE [--ready-file FILE] [--dropin-dir DIR] "
               "[--job-delay-ms N] [--unit NAME=ok|fail|stuck|masked|bad-setting|error]...\n";
        return 2;
    }
    FakeSystemd fake(std::move(options));
    return fake.run();
}
