#include "executor/agents.hpp"

#include <glib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "executor/secrets.hpp"
#include "util/log.hpp"

extern char**
    environ;  // NOLINT(readability-redundant-declaration): POSIX, not in <unistd.h> without _GNU_SOURCE

namespace outpost::agent::executor::agents {

namespace {

const outpost::log::Category log_cat{"agent.exec.agents"};

constexpr std::uint32_t kMsPerSecond = 1000;
constexpr std::uint32_t kMsPerMinute = 60 * kMsPerSecond;
constexpr std::uint32_t kMsPerHour = 60 * kMsPerMinute;
constexpr std::uint32_t kMsPerDay = 24 * kMsPerHour;

// Raw LSB status codes Pacemaker adds for its own failures (docs/protocol.md 5.10).
constexpr int kLsbStatusUnknown = 4;
constexpr int kLsbStatusNotInstalled = 150;
constexpr int kLsbStatusInsufficientPriv = 151;
// Nagios plugin exit codes that mean something to 2.1.5 (uniform_rc()).
constexpr int kNagiosOk = 0;
constexpr int kNagiosWarning = 1;
// The services layer's own failures (a plugin killed, incomplete resource information) are
// "unknown" for a nagios resource, which 2.1.5 reports as rc 1 (not the 190 of WARNING).
constexpr int kNagiosUnknown = 3;

bool path_exists(const std::string& path)
{
    struct stat st {};
    return stat(path.c_str(), &st) == 0;
}

bool is_lsb_status(Standard standard, std::string_view action)
{
    return standard == Standard::lsb && (action == "status" || action == "monitor");
}

std::string label_for(const ActionInput& input)
{
    return input.rsc->id + "_" + std::string(input.action) + "_" + std::to_string(input.interval_ms);
}

// 2.1.5 registers resources without checking them; an action on one that lacks its class,
// its type (or, for OCF, its provider) fails fatally, whatever the class, before anything
// runs. The raw code is the class's generic error (LSB status has its own).
constexpr const char* kMissingAgentInfo = "Required agent or action information missing";

bool agent_info_missing(const ActionInput& input)
{
    const ResourceDefinition& rsc = *input.rsc;
    return input.action.empty() || rsc.rsc_class.empty() || rsc.type.empty() ||
           (input.standard == Standard::ocf && rsc.provider.empty());
}

RawResult missing_agent_info(Standard standard, std::string_view action)
{
    RawResult r;
    r.raw_rc = generic_error(standard, action);
    r.status = ExecStatus::error_fatal;
    r.reason = kMissingAgentInfo;
    r.prepared = true;
    return r;
}

// Parameters as a mutable list (secrets are substituted in a copy, never in the echo).
std::vector<std::pair<std::string, std::string>> param_list(const wire::ParamMap* params)
{
    std::vector<std::pair<std::string, std::string>> list;
    if (params == nullptr) return list;
    list.reserve(params->size());
    for (const auto& [name, value] : *params)
        list.emplace_back(name, value);
    return list;
}

// Loads CIB secrets into `list`; on failure fills `failure` and returns false (docs/protocol.md 5.6:
// the action fails with rc 2 and "Unable to load CIB secrets", except stop which proceeds).
bool apply_secrets(const Paths& paths, const ActionInput& input,
                   std::vector<std::pair<std::string, std::string>>& list, RawResult& failure)
{
    if (input.params == nullptr || !secrets::has_secrets(*input.params)) return true;
    auto loaded = secrets::load(paths.secrets_dir, input.rsc->id, list);
    if (loaded) return true;
    log_warning(log_cat, "%s: %s", log::quote(input.rsc->id).c_str(), loaded.error().message.c_str());
    if (input.action == "stop") return true;
    failure.raw_rc = ocf::invalid_param;
    failure.status = ExecStatus::done;
    failure.reason = "Unable to load CIB secrets";
    return false;
}

SpawnRequest base_spawn(const Paths& paths, const ActionInput& input, std::string path)
{
    SpawnRequest spawn;
    spawn.path = std::move(path);
    spawn.timeout_ms = input.timeout_ms;
    spawn.working_dir = paths.working_dir;
    spawn.output_cap = paths.max_output;
    spawn.label = label_for(input);
    if (input.params != nullptr) {
        const std::string* on_fail = input.params->find("CRM_meta_on_fail");
        spawn.kill_group = on_fail == nullptr || *on_fail != "block";
    }
    return spawn;
}

Plan plan_ocf(const Paths& paths, const ActionInput& input)
{
    Plan plan;
    plan.standard = Standard::ocf;
    plan.agent_action = std::string(input.action);
    const ResourceDefinition& rsc = *input.rsc;
    std::string path = find_ocf_agent(paths.ocf_ra_path, rsc.provider, rsc.type);
    if (path.empty()) {
        plan.result = exec_error_result(Standard::ocf, input.action, rsc.type, ENOENT);
        return plan;
    }
    auto params = param_list(input.params);
    if (!apply_secrets(paths, input, params, plan.result)) return plan;

    plan.kind = Plan::Kind::spawn;
    plan.spawn = base_spawn(paths, input, path);
    plan.spawn.argv = {path, std::string(input.action)};
    Environment env = Environment::from_process();
    env.set("OCF_ROOT", paths.ocf_root);
    env.set("OCF_RA_VERSION_MAJOR", "1");
    env.set("OCF_RA_VERSION_MINOR", "1");
    env.set("OCF_EXIT_REASON_PREFIX", kExitReasonPrefix);
    env.set("OCF_RESOURCE_INSTANCE", rsc.id);
    env.set("OCF_RESOURCE_TYPE", rsc.type);
    env.set("OCF_RESOURCE_PROVIDER", rsc.provider);
    for (const auto& [name, value] : params) {
        if (!usable_env_name(name)) {
            log_warning(log_cat, "%s: parameter %s cannot be an environment variable, not passed",
                        log::quote(rsc.id).c_str(), log::quote(name).c_str());
            continue;
        }
        if (name == "OCF_CHECK_LEVEL") {
            env.set(name, value);
        } else {
            env.set("OCF_RESKEY_" + name, value);
        }
    }
    plan.spawn.env = std::move(env).take();
    return plan;
}

Plan plan_lsb(const Paths& paths, const ActionInput& input)
{
    Plan plan;
    plan.standard = Standard::lsb;
    plan.agent_action = agent_action(Standard::lsb, input.action);
    const std::string& type = input.rsc->type;
    std::string path = type.front() == '/' ? type : paths.lsb_dir + "/" + type;
    if (!path_exists(path)) {
        plan.result = exec_error_result(Standard::lsb, plan.agent_action, path, ENOENT);
        // 2.1.5 finds a missing init script only when it tries to run it, so the result
        // takes its completion path and sets rcchange_time (a missing OCF agent does not).
        plan.result.prepared = false;
        return plan;
    }
    plan.kind = Plan::Kind::spawn;
    plan.spawn = base_spawn(paths, input, path);
    plan.spawn.argv = {path, plan.agent_action};
    plan.spawn.env = Environment::from_process().take();
    return plan;
}

Plan plan_nagios(const Paths& paths, const ActionInput& input)
{
    Plan plan;
    plan.standard = Standard::nagios;
    plan.agent_action = std::string(input.action);
    if (input.action == "stop") {
        plan.result.prepared = true;  // nothing to stop: plugins only check
        return plan;
    }
    const std::string& type = input.rsc->type;
    std::string path = type.front() == '/' ? type : paths.nagios_dir + "/" + type;
    if (!path_exists(path)) {
        plan.result = exec_error_result(Standard::nagios, input.action, path, ENOENT);
        plan.result.prepared = false;  // 2.1.5 learns it when it tries to run the plugin
        return plan;
    }
    auto params = param_list(input.params);
    if (!apply_secrets(paths, input, params, plan.result)) return plan;
    plan.kind = Plan::Kind::spawn;
    plan.spawn = base_spawn(paths, input, path);
    plan.spawn.argv = {path};
    if (is_probe(input.action, input.interval_ms)) {
        // A probe only asks the plugin for its version: a plugin that answers is "not
        // running" (uniform_rc()), the check itself runs once started.
        plan.spawn.argv.emplace_back("--version");
    } else {
        for (auto& option : nagios_options(params))
            plan.spawn.argv.push_back(std::move(option));
    }
    plan.spawn.env = Environment::from_process().take();
    return plan;
}

// The hash of 2.1.5's parameter tables, h = h * 31 + c over the name's (signed) chars: with
// it, GLib's hash tables reproduce the order in which 2.1.5 passes nagios options.
guint params_hash(gconstpointer key)
{
    guint32 h = 0;
    for (const auto* p = static_cast<const signed char*>(key); *p != '\0'; ++p)
        h = (h << 5) - h + static_cast<guint32>(static_cast<int>(*p));
    return h;
}

struct HashTableUnref {
    void operator()(GHashTable* table) const { g_hash_table_unref(table); }
};
using HashTablePtr = std::unique_ptr<GHashTable, HashTableUnref>;

}  // namespace

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (g_ascii_tolower(a[i]) != g_ascii_tolower(b[i])) return false;
    }
    return true;
}

bool is_service_class(std::string_view rsc_class)
{
    return iequals(rsc_class, "service");
}

Standard parse_standard(std::string_view rsc_class)
{
    if (iequals(rsc_class, "ocf")) return Standard::ocf;
    if (iequals(rsc_class, "lsb")) return Standard::lsb;
    if (iequals(rsc_class, "systemd")) return Standard::systemd;
    if (iequals(rsc_class, "nagios")) return Standard::nagios;
    if (iequals(rsc_class, "stonith")) return Standard::stonith;
    return Standard::unknown;
}

const char* standard_name(Standard standard)
{
    switch (standard) {
        case Standard::ocf:
            return "ocf";
        case Standard::lsb:
            return "lsb";
        case Standard::systemd:
            return "systemd";
        case Standard::nagios:
            return "nagios";
        case Standard::stonith:
            return "stonith";
        case Standard::unknown:
            break;
    }
    return "unknown";
}

std::string agent_action(Standard standard, std::string_view action)
{
    if ((standard == Standard::lsb || standard == Standard::systemd) && action == "monitor") return "status";
    return std::string(action);
}

int uniform_rc(Standard standard, std::string_view action, int raw_rc, bool probe)
{
    switch (standard) {
        case Standard::nagios: {
            // Nagios states: OK, WARNING (degraded), then CRITICAL, UNKNOWN and anything
            // else (the services layer's own codes included) are errors.
            int rc = raw_rc == kNagiosOk        ? ocf::ok
                     : raw_rc == kNagiosWarning ? ocf::degraded
                                                : ocf::unknown_error;
            return probe && rc == ocf::ok ? ocf::not_running : rc;
        }
        case Standard::lsb:
            if (is_lsb_status(standard, action)) {
                switch (raw_rc) {
                    case 0:
                        return ocf::ok;
                    case 1:
                    case 2:
                    case 3:
                        return ocf::not_running;
                    case kLsbStatusNotInstalled:
                        return ocf::not_installed;
                    case kLsbStatusInsufficientPriv:
                        return ocf::insufficient_priv;
                    default:
                        return ocf::unknown_error;
                }
            }
            return raw_rc >= 0 && raw_rc <= ocf::not_running ? raw_rc : ocf::unknown_error;
        case Standard::systemd:
            return raw_rc;
        case Standard::ocf:
        case Standard::stonith:
        case Standard::unknown:
            break;
    }
    if ((raw_rc >= 0 && raw_rc <= ocf::failed_promoted) || raw_rc == ocf::degraded ||
        raw_rc == ocf::degraded_promoted) {
        return raw_rc;
    }
    return ocf::unknown_error;
}

int generic_error(Standard standard, std::string_view action)
{
    if (standard == Standard::nagios) return kNagiosUnknown;
    return is_lsb_status(standard, action) ? kLsbStatusUnknown : ocf::unknown_error;
}

int not_installed_error(Standard standard, std::string_view action)
{
    return is_lsb_status(standard, action) ? kLsbStatusNotInstalled : ocf::not_installed;
}

int authorization_error(Standard standard, std::string_view action)
{
    return is_lsb_status(standard, action) ? kLsbStatusInsufficientPriv : ocf::insufficient_priv;
}

RawResult exec_error_result(Standard standard, std::string_view action, std::string_view name, int error)
{
    RawResult r;
    r.prepared = true;
    r.reason = std::string(name) + ": " + std::strerror(error);
    switch (error) {
        case ENOENT:
        case EISDIR:
        case ENOTDIR:
        case EINVAL:
        case ENOEXEC:
            r.raw_rc = not_installed_error(standard, action);
            r.status = ExecStatus::not_installed;
            break;
        case EACCES:
        case EPERM:
            r.raw_rc = authorization_error(standard, action);
            r.status = ExecStatus::error;
            break;
        default:
            r.raw_rc = generic_error(standard, action);
            r.status = ExecStatus::error;
            break;
    }
    return r;
}

RawResult result_from_child(Standard standard, std::string_view action, const char* what,
                            std::string_view path, std::uint32_t timeout_ms, ChildOutcome outcome)
{
    RawResult r;
    switch (outcome.end) {
        case ChildEnd::exited:
            r.raw_rc = outcome.exit_code;
            r.status = ExecStatus::done;
            break;
        case ChildEnd::timed_out:
            r.raw_rc = generic_error(standard, action);
            r.status = ExecStatus::timeout;
            r.reason = std::string(what) + " did not complete within " + readable_interval(timeout_ms);
            break;
        case ChildEnd::signaled:
            r.raw_rc = generic_error(standard, action);
            r.status = ExecStatus::error;
            r.reason = std::string(what) + " interrupted by " + strsignal(outcome.signal) + " signal";
            break;
        case ChildEnd::spawn_failed: {
            // Not `prepared`: 2.1.5 learns of exec failures through the child's completion.
            RawResult failed = exec_error_result(standard, action, path, outcome.error);
            failed.prepared = false;
            return failed;
        }
    }
    // Only OCF agents speak the exit-reason convention; a timeout's reason is ours.
    if (standard == Standard::ocf && outcome.end == ChildEnd::exited)
        r.reason = parse_exit_reason(outcome.err);
    r.out = std::move(outcome.out);
    r.err = std::move(outcome.err);
    return r;
}

std::vector<std::string> nagios_options(const std::vector<std::pair<std::string, std::string>>& params)
{
    // 2.1.5 keeps the request's parameters in a hash table (in request order, the last of
    // duplicate names winning in the first one's place), copies it, and walks the copy:
    // the same GLib tables with the same hash give the same order.
    HashTablePtr request_table(g_hash_table_new(params_hash, g_str_equal));
    for (const auto& [name, value] : params) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): GLib's keys are gpointer; never written
        g_hash_table_insert(request_table.get(), const_cast<char*>(name.c_str()),
                            const_cast<std::string*>(&value));
    }
    HashTablePtr copy(g_hash_table_new(params_hash, g_str_equal));
    GHashTableIter it;
    gpointer key = nullptr;
    gpointer value = nullptr;
    g_hash_table_iter_init(&it, request_table.get());
    while (g_hash_table_iter_next(&it, &key, &value) != FALSE)
        g_hash_table_insert(copy.get(), key, value);
    std::vector<std::string> options;
    g_hash_table_iter_init(&it, copy.get());
    while (g_hash_table_iter_next(&it, &key, &value) != FALSE) {
        std::string_view name(static_cast<const char*>(key));
        // Cluster metadata is not the plugin's (exactly these names: CRM_other is passed on).
        if (name.starts_with("CRM_meta_") || name == "crm_feature_set") continue;
        options.push_back("--" + std::string(name));
        options.push_back(*static_cast<const std::string*>(value));
    }
    return options;
}

bool is_probe(std::string_view action, std::uint32_t interval_ms)
{
    return interval_ms == 0 && action == "monitor";
}

std::uint32_t follow_up_delay_ms(std::uint32_t timeout_ms, std::uint32_t elapsed_ms)
{
    if (timeout_ms == 0 || elapsed_ms >= timeout_ms) return 0;
    std::uint32_t delay = std::min({kMaxFollowUpDelayMs, timeout_ms / 10, (timeout_ms - elapsed_ms) / 2});
    return delay < kMinFollowUpDelayMs ? 0 : delay;
}

std::string parse_exit_reason(std::string_view stderr_text)
{
    std::size_t at = stderr_text.rfind(kExitReasonPrefix);
    if (at == std::string_view::npos) return {};
    std::string_view rest = stderr_text.substr(at + std::strlen(kExitReasonPrefix));
    std::size_t eol = rest.find('\n');
    if (eol != std::string_view::npos) rest = rest.substr(0, eol);
    if (rest.size() > kMaxExitReason) rest = rest.substr(0, kMaxExitReason);
    return std::string(rest);
}

std::string readable_interval(std::uint32_t ms)
{
    std::string text;
    // Strictly larger (docs/conformance.md, item 17): exactly one unit is written in the next
    // smaller unit.
    auto part = [&](std::uint32_t unit, const char* suffix) {
        if (ms > unit) {
            text += std::to_string(ms / unit) + suffix;
            ms %= unit;
        }
    };
    part(kMsPerDay, "d");
    part(kMsPerHour, "h");
    part(kMsPerMinute, "m");
    if (ms > kMsPerSecond) {
        text += std::to_string(ms / kMsPerSecond);
        ms %= kMsPerSecond;
        if (ms > 0) {
            char frac[8];
            g_snprintf(frac, sizeof(frac), ".%03u", ms);
            text += frac;
        }
        text += "s";
    } else if (ms > 0) {
        text += std::to_string(ms) + "ms";
    } else if (text.empty()) {
        text = "0s";
    }
    return text;
}

std::string systemd_unit_name(std::string_view type)
{
    for (const char* suffix : {".service", ".socket", ".mount", ".timer", ".path"}) {
        if (type.ends_with(suffix)) return std::string(type);
    }
    return std::string(type) + ".service";
}

std::string find_ocf_agent(const std::vector<std::string>& ra_path, std::string_view provider,
                           std::string_view type)
{
    // Names come from the peer: never let them walk out of the agent directories.
    auto safe = [](std::string_view s) {
        return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos;
    };
    if (!safe(provider) || !safe(type)) return {};
    for (const auto& dir : ra_path) {
        if (dir.empty()) continue;
        std::string path = dir + "/" + std::string(provider) + "/" + std::string(type);
        if (path_exists(path)) return path;
    }
    return {};
}

Environment Environment::from_process()
{
    Environment env;
    for (char** p = environ; p != nullptr && *p != nullptr; ++p)
        env.vars_.emplace_back(*p);
    return env;
}

void Environment::set(std::string_view name, std::string_view value)
{
    std::string entry = std::string(name) + "=" + std::string(value);
    for (auto& var : vars_) {
        if (var.size() > name.size() && var.compare(0, name.size(), name) == 0 && var[name.size()] == '=') {
            var = std::move(entry);
            return;
        }
    }
    vars_.push_back(std::move(entry));
}

bool usable_env_name(std::string_view name)
{
    return !name.empty() && name.find('=') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

Plan plan_action(const Paths& paths, const ActionInput& input)
{
    if (input.rsc == nullptr || agent_info_missing(input)) {
        Plan plan;
        plan.standard = input.standard;
        plan.agent_action = agent_action(input.standard, input.action);
        plan.result = missing_agent_info(input.standard, plan.agent_action);
        return plan;
    }
    // From here on the class, the type and an OCF provider are not empty.
    switch (input.standard) {
        case Standard::ocf:
            return plan_ocf(paths, input);
        case Standard::lsb:
            return plan_lsb(paths, input);
        case Standard::nagios:
            return plan_nagios(paths, input);
        case Standard::systemd: {
            Plan plan;
            plan.standard = Standard::systemd;
            plan.agent_action = agent_action(Standard::systemd, input.action);
            plan.kind = Plan::Kind::systemd;
            plan.unit = systemd_unit_name(input.rsc->type);
            return plan;
        }
        case Standard::stonith: {
            // Fence devices are registered with the fencer, never run by this executor; the
            // scheduler does not place them on remote nodes.
            Plan plan;
            plan.standard = Standard::stonith;
            plan.agent_action = std::string(input.action);
            plan.result.raw_rc = ocf::unimplemented;
            plan.result.status = ExecStatus::not_supported;
            plan.result.reason = "Fence devices cannot be managed by a Pacemaker Remote node's executor";
            plan.result.prepared = true;
            return plan;
        }
        case Standard::unknown:
            break;
    }
    // An unknown class is reported as 2.1.5 does: as if the agent were not installed,
    // named by its type (and, found before anything ran, without rcchange_time).
    log_warning(log_cat, "%s: unknown resource class %s", log::quote(input.rsc->id).c_str(),
                log::quote(input.rsc->rsc_class).c_str());
    Plan plan;
    plan.agent_action = std::string(input.action);
    plan.result = exec_error_result(Standard::unknown, input.action, input.rsc->type, ENOENT);
    return plan;
}

}  // namespace outpost::agent::executor::agents
