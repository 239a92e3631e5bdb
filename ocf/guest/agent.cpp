#include "guest/agent.hpp"

#include <glib.h>
#include <libvirt/libvirt.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "lifecycle/domain_config.hpp"
#include "lifecycle/libvirt.hpp"
#include "lifecycle/migration.hpp"
#include "util/env.hpp"
#include "util/log.hpp"

namespace outpost::ocf::guest {

namespace lv = outpost::cluster::lifecycle;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const outpost::log::Category log_cat{"ocf.guest"};

Outcome fail(int rc, std::string reason)
{
    log_error(log_cat, "%s", reason.c_str());
    return Outcome{rc, std::move(reason)};
}

std::string uri_driver(const std::string& uri)
{
    auto end = uri.find_first_of("+:");
    return uri.substr(0, end);
}

// The domain types whose driver we can name; others are not checked.
std::string driver_for_type(const std::string& type)
{
    if (type == "lxc") return "lxc";
    if (type == "qemu" || type == "kvm") return "qemu";
    return "";
}

// --- utilization -------------------------------------------------------------------------

struct UtilizationWanted {
    std::map<std::string, std::string> set;  // name -> value
    std::vector<std::string> remove;
};

fs::path utilization_cache(const Services& services, const std::string& resource)
{
    return utilization_cache_path(services.state_dir(), resource);
}

std::map<std::string, std::string> read_cache(const fs::path& path)
{
    return read_utilization_cache(path);
}

void write_cache(const fs::path& path, const std::map<std::string, std::string>& values)
{
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        for (const auto& [k, v] : values)
            out << k << '=' << v << '\n';
        if (!out) return;
    }
    fs::rename(tmp, path, ec);
}

// The cluster's utilization attributes follow the running domain. Only what changed since
// the last time (cached in the state dir) costs a crm_resource call, so a monitor of an
// unchanged domain runs no process at all.
void update_utilization(const GuestParams& p, const OcfContext& c, const lv::Domain& domain,
                        Services& services)
{
    if (c.resource.empty()) return;
    bool wanted = p.autoset_utilization_cpu || p.autoset_utilization_host_memory ||
                  p.autoset_utilization_hv_memory || p.unset_utilization_cpu ||
                  p.unset_utilization_host_memory || p.unset_utilization_hv_memory;
    if (!wanted) return;
    auto info = domain.info();
    if (!info) {
        log_warning(log_cat, "utilization not updated: %s", info.error().message.c_str());
        return;
    }
    UtilizationSettings settings{p.autoset_utilization_cpu,       p.autoset_utilization_host_memory,
                                 p.autoset_utilization_hv_memory, p.unset_utilization_cpu,
                                 p.unset_utilization_host_memory, p.unset_utilization_hv_memory};
    const auto items = utilization_items(settings, info->vcpus, info->max_memory_kib);
    fs::path cache_path = utilization_cache(services, c.resource);
    auto cache = read_cache(cache_path);
    bool changed = false;
    for (const auto& item : items) {
        // "-" in the cache: deleted by us.
        if (item.unset) {
            if (cache[item.name] == "-") continue;
            if (auto s = services.delete_utilization(c.resource, item.name); !s) {
                log_warning(log_cat, "removing the %s utilization of %s: %s", item.name, c.resource.c_str(),
                            s.error().message.c_str());
                continue;
            }
            cache[item.name] = "-";
            changed = true;
        } else if (item.autoset) {
            if (cache[item.name] == item.value) continue;
            if (auto s = services.set_utilization(c.resource, item.name, item.value); !s) {
                log_warning(log_cat, "setting the %s utilization of %s to %s: %s", item.name,
                            c.resource.c_str(), item.value.c_str(), s.error().message.c_str());
                continue;
            }
            cache[item.name] = item.value;
            changed = true;
        }
    }
    if (changed) write_cache(cache_path, cache);
}

void forget_utilization(const OcfContext& c, const Services& services)
{
    if (c.resource.empty()) return;
    std::error_code ec;
    fs::remove(utilization_cache(services, c.resource), ec);
}

// --- the action runner -------------------------------------------------------------------

class Runner {
public:
    Runner(const OcfContext& context, const Lookup& lookup, Services& services)
        : c_(context), lookup_(lookup), services_(services), begin_(Clock::now())
    {
    }

    Outcome run();

private:
    Outcome start();
    Outcome stop();
    Outcome monitor();
    Outcome migrate_to();
    Outcome migrate_from();
    Outcome reload();
    Outcome validate();

    // Parameters and config; `config_optional` lets monitor and stop go on without a
    // readable file.
    std::optional<Outcome> load(bool config_optional);
    [[nodiscard]] std::string uri() const;
    std::optional<Outcome> connect();
    // The domain by the config's name, else (no config) by our owner mark on the fallback
    // URIs. Sets hypervisor_ to the connection that found it.
    Result<std::optional<lv::Domain>> locate();
    [[nodiscard]] std::string domain_label() const;
    [[nodiscard]] Clock::time_point deadline(
        std::chrono::milliseconds reserve = std::chrono::milliseconds(0)) const;
    // Waits until the domain runs (health running, not paused for a migration or start-up).
    Status wait_running(Clock::time_point until, bool may_be_absent);
    std::optional<Outcome> run_monitor_scripts(Clock::time_point until, bool wait);
    // shutdown_mode, or when unset: signal for LXC application containers (whose init
    // ignores initctl: libvirt's default then does nothing), else the hypervisor's default.
    unsigned shutdown_flags(const lv::Domain& domain) const;
    void save_config(const lv::Domain& domain);

    const OcfContext& c_;
    const Lookup& lookup_;
    Services& services_;
    Clock::time_point begin_;
    GuestParams p_;
    std::optional<lv::DomainConfig> config_;
    Error config_error_;
    std::optional<lv::Hypervisor> hypervisor_;
};

Outcome Runner::run()
{
    const std::string& a = c_.action;
    if (a == "start") return start();
    if (a == "stop") return stop();
    if (a == "monitor" || a == "status") return monitor();
    if (a == "migrate_to") return migrate_to();
    if (a == "migrate_from") return migrate_from();
    if (a == "reload" || a == "reload-agent") return reload();
    if (a == "validate-all") return validate();
    return fail(wire::ocf::unimplemented,
                "action " + log::quote(a) + " is not implemented by ocf:outpost:guest");
}

std::optional<Outcome> Runner::load(bool config_optional)
{
    auto params = parse_params(lookup_);
    if (!params) return fail(wire::ocf::not_configured, params.error().message);
    p_ = std::move(*params);
    auto config = lv::read_domain_config(p_.config);
    if (!config) {
        config_error_ = config.error();
        bool unreadable = config.error().code == -ENOENT || config.error().code == -EACCES;
        if (unreadable && config_optional) {
            log_warning(log_cat, "%s; looking for the domain by its owner mark",
                        config.error().message.c_str());
            return std::nullopt;
        }
        return fail(unreadable ? wire::ocf::not_installed : wire::ocf::not_configured,
                    config.error().message);
    }
    config_ = std::move(*config);
    std::string want = driver_for_type(config_->type);
    if (!want.empty() && !p_.hypervisor.empty() && uri_driver(p_.hypervisor) != want &&
        uri_driver(p_.hypervisor) != "test")
        return fail(wire::ocf::not_configured, "domain " + config_->name + " is of type " + config_->type +
                                                   ", which hypervisor " + p_.hypervisor + " cannot run");
    return std::nullopt;
}

std::string Runner::uri() const
{
    if (!p_.hypervisor.empty()) return p_.hypervisor;
    return config_ ? lv::default_uri_for_type(config_->type) : "";
}

std::string Runner::domain_label() const
{
    if (config_) return "domain " + config_->name;
    return "the domain of " + (c_.resource.empty() ? p_.config : c_.resource);
}

std::optional<Outcome> Runner::connect()
{
    auto h = lv::Hypervisor::open(uri());
    if (!h) return fail(wire::ocf::unknown_error, h.error().message);
    hypervisor_.emplace(std::move(*h));
    return std::nullopt;
}

Result<std::optional<lv::Domain>> Runner::locate()
{
    if (config_) {
        if (!hypervisor_) {
            auto h = lv::Hypervisor::open(uri());
            if (!h) return h.error();
            hypervisor_.emplace(std::move(*h));
        }
        return hypervisor_->find(config_->name);
    }
    // No config file: only a definition we made can be recognised (owner mark).
    if (c_.resource.empty()) return std::optional<lv::Domain>();
    std::vector<std::string> uris;
    if (!p_.hypervisor.empty())
        uris.push_back(p_.hypervisor);
    else
        uris.assign(std::begin(kFallbackUris), std::end(kFallbackUris));
    std::optional<Error> first_error;
    for (const auto& u : uris) {
        auto h = lv::Hypervisor::open(u);
        if (!h) {
            if (!first_error) first_error = h.error();
            continue;
        }
        auto all = h->domains();
        if (!all) return all.error();
        for (auto& d : *all) {
            if (d.owner() == c_.resource) {
                hypervisor_.emplace(std::move(*h));
                log_notice(log_cat, "found domain %s of %s by its owner mark", d.name().c_str(),
                           c_.resource.c_str());
                return std::optional<lv::Domain>(std::move(d));
            }
        }
    }
    if (first_error && !p_.hypervisor.empty()) return *first_error;
    return std::optional<lv::Domain>();
}

Clock::time_point Runner::deadline(std::chrono::milliseconds reserve) const
{
    return begin_ + c_.timeout - reserve;
}

Status Runner::wait_running(Clock::time_point until, bool may_be_absent)
{
    for (;;) {
        auto found = hypervisor_->find(config_->name);
        if (!found) return found.error();
        std::string now = "not defined";
        if (*found) {
            auto st = (*found)->status();
            if (!st) return st.error();
            now = lv::describe(*st);
            bool transitional =
                st->state == lv::State::paused &&
                (st->reason == VIR_DOMAIN_PAUSED_MIGRATION || st->reason == VIR_DOMAIN_PAUSED_STARTING_UP);
            auto health = lv::classify(*st);
            if (health == lv::Health::running && !transitional) return {};
            if (health == lv::Health::failed)
                return make_error("ocf.guest", -EIO, "domain " + config_->name + " is " + now);
            if (health == lv::Health::stopped && !may_be_absent)
                return make_error("ocf.guest", -EIO, "domain " + config_->name + " stopped again: " + now);
        } else if (!may_be_absent) {
            return make_error("ocf.guest", -ENOENT, "domain " + config_->name + " vanished");
        }
        if (Clock::now() >= until)
            return make_error("ocf.guest", -ETIMEDOUT,
                              "domain " + config_->name + " is not running yet (" + now + ")");
        std::this_thread::sleep_for(kPollInterval);
    }
}

std::optional<Outcome> Runner::run_monitor_scripts(Clock::time_point until, bool wait)
{
    for (;;) {
        std::string failed;
        for (const auto& script : p_.monitor_scripts) {
            int status = services_.run({script});
            if (status != 0) {
                failed =
                    "monitor script " + script + " " +
                    (status < 0 ? std::string("could not run") : "exited with " + std::to_string(status));
                break;
            }
        }
        if (failed.empty()) return std::nullopt;
        if (!wait || Clock::now() >= until) return fail(wire::ocf::unknown_error, failed);
        log_info(log_cat, "%s; retrying", failed.c_str());
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
}

Outcome Runner::start()
{
    if (auto o = load(false)) return *o;
    if (auto o = connect()) return *o;
    auto& h = *hypervisor_;
    const auto& name = config_->name;
    if (p_.start_resources) {
        for (const auto& n : config_->networks)
            if (auto s = h.ensure_network_active(n); !s)
                return fail(wire::ocf::unknown_error, s.error().message);
        for (const auto& pool : config_->pools)
            if (auto s = h.ensure_pool_active(pool); !s)
                return fail(wire::ocf::unknown_error, s.error().message);
    }
    auto found = h.find(name);
    if (!found) return fail(wire::ocf::unknown_error, found.error().message);
    std::optional<lv::Domain> domain = std::move(*found);
    bool defined_by_us = false;
    if (domain) {
        auto st = domain->status();
        if (!st) return fail(wire::ocf::unknown_error, st.error().message);
        auto health = lv::classify(*st);
        if (health == lv::Health::running) {
            log_info(log_cat, "domain %s is already %s", name.c_str(), lv::describe(*st).c_str());
            if (st->state == lv::State::paused && st->reason == VIR_DOMAIN_PAUSED_USER) {
                if (virDomainResume(domain->get()) < 0)
                    return fail(wire::ocf::unknown_error, lv::last_error("resuming domain " + name).message);
            }
        } else {
            if (health == lv::Health::failed) {
                log_warning(log_cat, "domain %s is %s: destroying it before the start", name.c_str(),
                            lv::describe(*st).c_str());
                if (auto s = domain->destroy(); !s && !lv::is_operation_invalid(s.error()))
                    return fail(wire::ocf::unknown_error, s.error().message);
            }
            auto persistent = domain->persistent();
            if (persistent && *persistent && domain->owner().empty()) {
                // The administrator's definition: run the file transiently beside it.
                log_info(log_cat,
                         "domain %s is defined by someone else; starting it from %s as VirtualDomain does",
                         name.c_str(), p_.config.c_str());
                auto xml = lv::with_uuid(config_->xml, domain->uuid());
                if (!xml) return fail(wire::ocf::not_configured, xml.error().message);
                auto created = h.create_transient(*xml);
                if (!created)
                    return fail(lv::is_config_error(created.error()) ? wire::ocf::not_configured
                                                                     : wire::ocf::unknown_error,
                                created.error().message);
                domain.emplace(std::move(*created));
            } else {
                domain.reset();  // (re)defined below
            }
        }
    }
    if (!domain) {
        auto marked = lv::with_owner_mark(config_->xml, c_.resource.empty() ? name : c_.resource);
        if (!marked) return fail(wire::ocf::not_configured, marked.error().message);
        auto defined = h.define(*marked);
        if (!defined)
            return fail(
                lv::is_config_error(defined.error()) ? wire::ocf::not_configured : wire::ocf::unknown_error,
                defined.error().message);
        defined_by_us = true;
        if (auto s = defined->start(); !s) {
            if (auto u = defined->undefine(); !u) log_warning(log_cat, "%s", u.error().message.c_str());
            return fail(wire::ocf::unknown_error, s.error().message);
        }
        domain.emplace(std::move(*defined));
    }
    auto until = deadline();
    if (auto s = wait_running(until, false); !s) {
        if (defined_by_us) {
            (void)domain->destroy();
            (void)domain->undefine();
        }
        return fail(wire::ocf::unknown_error, "start of domain " + name + " failed: " + s.error().message);
    }
    if (auto o = run_monitor_scripts(until, true)) return *o;
    update_utilization(p_, c_, *domain, services_);
    log_info(log_cat, "domain %s is running on %s", name.c_str(), h.uri().c_str());
    return {};
}

void Runner::save_config(const lv::Domain& domain)
{
    auto xml = domain.xml(VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE);
    if (!xml) {
        log_warning(log_cat, "configuration not saved: %s", xml.error().message.c_str());
        return;
    }
    auto clean = lv::without_owner_mark(*xml);
    if (!clean) {
        log_warning(log_cat, "configuration not saved: %s", clean.error().message.c_str());
        return;
    }
    fs::path tmp = p_.config + ".outpost-tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << *clean;
        if (!out) {
            log_warning(log_cat, "configuration not saved: cannot write %s", tmp.c_str());
            return;
        }
    }
    std::error_code ec;
    fs::rename(tmp, p_.config, ec);
    if (ec) {
        log_warning(log_cat, "configuration not saved: rename to %s: %s", p_.config.c_str(),
                    ec.message().c_str());
        return;
    }
    log_info(log_cat, "configuration of domain %s saved to %s", domain.name().c_str(), p_.config.c_str());
    if (p_.sync_config_on_stop) {
        int status = services_.run({"csync2", "-x"});
        if (status != 0) log_warning(log_cat, "csync2 -x exited with %d", status);
    }
}

unsigned Runner::shutdown_flags(const lv::Domain& domain) const
{
    if (!p_.shutdown_mode.empty()) return p_.shutdown_flags;
    std::optional<lv::DomainConfig> described = config_;
    if (!described) {
        auto xml = domain.xml();
        if (!xml) return 0;
        auto parsed = lv::parse_domain_config(*xml, "the XML of domain " + domain.name());
        if (!parsed) return 0;
        described = std::move(*parsed);
    }
    if (described->type == "lxc" && !lv::has_system_init(*described)) {
        log_debug(log_cat, "domain %s is an application container (init %s): shutdown mode signal",
                  domain.name().c_str(), described->init.c_str());
        return static_cast<unsigned>(lv::ShutdownMode::signal);
    }
    return 0;
}

Outcome Runner::stop()
{
    if (auto o = load(true)) return *o;
    auto found = locate();
    if (!found)
        return fail(wire::ocf::unknown_error, "cannot stop " + domain_label() + ": " + found.error().message);
    if (!*found) {
        log_info(log_cat, "%s is not defined: stopped", domain_label().c_str());
        forget_utilization(c_, services_);
        return {};
    }
    auto& domain = **found;
    const std::string name = domain.name();
    auto st = domain.status();
    if (!st) return fail(wire::ocf::unknown_error, st.error().message);
    bool active = st->state != lv::State::shut_off && st->state != lv::State::no_state;
    if (active) {
        auto health = lv::classify(*st);
        if (p_.save_config_on_stop && health == lv::Health::running) save_config(domain);
        bool graceful = !p_.force_stop && health == lv::Health::running;
        if (graceful) {
            auto reserve = std::min(kDestroyReserve,
                                    std::chrono::duration_cast<std::chrono::milliseconds>(c_.timeout / 4));
            auto until = deadline(reserve);
            auto s = domain.shutdown(shutdown_flags(domain));
            if (!s) {
                log_warning(log_cat, "%s; destroying it", s.error().message.c_str());
            } else {
                for (;;) {
                    auto now = domain.status();
                    if (!now) {
                        if (lv::is_no_domain(now.error())) break;  // transient and gone
                        return fail(wire::ocf::unknown_error, now.error().message);
                    }
                    if (now->state == lv::State::shut_off) break;
                    if (Clock::now() >= until) {
                        log_warning(log_cat, "domain %s did not shut down within %lld ms; destroying it",
                                    name.c_str(),
                                    static_cast<long long>(
                                        std::chrono::duration_cast<std::chrono::milliseconds>(until - begin_)
                                            .count()));
                        break;
                    }
                    std::this_thread::sleep_for(kPollInterval);
                }
            }
        } else {
            log_info(log_cat, "destroying domain %s (%s)", name.c_str(),
                     p_.force_stop ? "force_stop" : lv::describe(*st).c_str());
        }
        auto now = domain.status();
        if (now && now->state != lv::State::shut_off) {
            if (auto s = domain.destroy();
                !s && !lv::is_operation_invalid(s.error()) && !lv::is_no_domain(s.error()))
                return fail(wire::ocf::unknown_error,
                            "domain " + name + " could not be stopped: " + s.error().message);
        } else if (!now && !lv::is_no_domain(now.error())) {
            return fail(wire::ocf::unknown_error, now.error().message);
        }
    }
    // Ours to remove: a definition with our mark (a transient domain is gone already).
    auto persistent = domain.persistent();
    if (persistent && *persistent) {
        std::string owner = domain.owner();
        if (!owner.empty()) {
            if (owner != c_.resource && !c_.resource.empty())
                log_warning(log_cat, "domain %s was defined for resource %s, removing it for %s",
                            name.c_str(), owner.c_str(), c_.resource.c_str());
            if (auto s = domain.undefine(); !s && !lv::is_no_domain(s.error()))
                return fail(wire::ocf::unknown_error, s.error().message);
        }
    }
    forget_utilization(c_, services_);
    log_info(log_cat, "domain %s is stopped", name.c_str());
    return {};
}

Outcome Runner::monitor()
{
    if (auto o = load(true)) return *o;
    auto found = locate();
    if (!found) {
        if (c_.probe() && lv::is_connection_failure(found.error()))
            return Outcome{wire::ocf::not_running,
                           "no libvirt daemon answers here: " + found.error().message};
        return fail(wire::ocf::unknown_error,
                    "cannot check " + domain_label() + ": " + found.error().message);
    }
    if (!*found) {
        if (!config_) {
            // No file and no domain of ours: a probe may say nothing runs; a recurring
            // monitor cannot know what should run and fails with the reason.
            if (c_.probe()) return Outcome{wire::ocf::not_running, {}};
            return fail(wire::ocf::unknown_error, config_error_.message);
        }
        return Outcome{wire::ocf::not_running, {}};
    }
    auto& domain = **found;
    auto st = domain.status();
    if (!st) {
        if (lv::is_no_domain(st.error())) return Outcome{wire::ocf::not_running, {}};
        return fail(wire::ocf::unknown_error, st.error().message);
    }
    Outcome verdict = monitor_outcome(domain.name(), *st, c_.probe());
    if (verdict.logged_as_error) return fail(verdict.rc, verdict.reason);
    if (verdict.rc != wire::ocf::ok) return verdict;
    if (auto o = run_monitor_scripts(deadline(), false)) return *o;
    update_utilization(p_, c_, domain, services_);
    return {};
}

Outcome Runner::migrate_to()
{
    if (auto o = load(false)) return *o;
    if (c_.migrate_target.empty())
        return fail(wire::ocf::not_configured,
                    "migrate_to needs the target node (OCF_RESKEY_CRM_meta_migrate_target)");
    auto found = locate();
    if (!found) return fail(wire::ocf::unknown_error, found.error().message);
    if (!*found)
        return fail(wire::ocf::unknown_error,
                    "domain " + config_->name + " is not defined here: nothing to migrate");
    auto& domain = **found;
    auto st = domain.status();
    if (!st) return fail(wire::ocf::unknown_error, st.error().message);
    if (lv::classify(*st) != lv::Health::running)
        return fail(wire::ocf::unknown_error,
                    "domain " + config_->name + " is " + lv::describe(*st) + ": cannot migrate it");

    lv::MigrationSettings settings;
    settings.hypervisor_uri = hypervisor_->uri();
    settings.target_node = c_.migrate_target;
    settings.transport = p_.migration_transport;
    settings.user = p_.migration_user;
    settings.network_suffix = p_.migration_network_suffix;
    settings.remote_uri = p_.remoteuri;
    settings.migrate_uri = p_.migrateuri.empty() ? p_.migrate_options_uri : p_.migrateuri;
    settings.port = p_.migrateport;
    auto uris = lv::migration_uris(settings);
    if (!uris) return fail(wire::ocf::not_configured, uris.error().message);

    if (p_.start_resources && (!config_->networks.empty() || !config_->pools.empty())) {
        auto peer = lv::Hypervisor::open(uris->destination);
        if (!peer) return fail(wire::ocf::unknown_error, peer.error().message);
        for (const auto& n : config_->networks)
            if (auto s = peer->ensure_network_active(n); !s)
                return fail(wire::ocf::unknown_error, s.error().message);
        for (const auto& pool : config_->pools)
            if (auto s = peer->ensure_pool_active(pool); !s)
                return fail(wire::ocf::unknown_error, s.error().message);
    }

    lv::MigrationRequest request;
    request.destination_uri = uris->destination;
    request.data_uri = uris->data;
    request.bandwidth_mib_s = p_.migration_speed_mib_s;
    request.max_downtime = p_.migration_downtime;
    request.flags = lv::base_migration_flags() | p_.migrate_option_flags;
    log_info(log_cat, "migrating domain %s to %s (%s%s%s)", config_->name.c_str(), c_.migrate_target.c_str(),
             request.destination_uri.c_str(), request.data_uri.empty() ? "" : ", data ",
             request.data_uri.c_str());
    auto begin = Clock::now();
    if (auto s = domain.migrate(request); !s)
        return fail(lv::is_unsupported(s.error()) ? wire::ocf::unimplemented : wire::ocf::unknown_error,
                    s.error().message);
    log_info(log_cat, "domain %s migrated to %s in %lld ms", config_->name.c_str(), c_.migrate_target.c_str(),
             static_cast<long long>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin).count()));
    forget_utilization(c_, services_);
    return {};
}

Outcome Runner::migrate_from()
{
    if (auto o = load(false)) return *o;
    if (auto o = connect()) return *o;
    auto until = deadline();
    if (auto s = wait_running(until, true); !s)
        return fail(wire::ocf::unknown_error,
                    "domain " + config_->name + " did not arrive from " +
                        (c_.migrate_source.empty() ? std::string("the source") : c_.migrate_source) + ": " +
                        s.error().message);
    if (auto o = run_monitor_scripts(until, true)) return *o;
    auto found = hypervisor_->find(config_->name);
    if (found && *found) update_utilization(p_, c_, **found, services_);
    log_info(log_cat, "domain %s arrived and runs here", config_->name.c_str());
    return {};
}

Outcome Runner::reload()
{
    if (auto o = load(false)) return *o;
    auto found = locate();
    if (found && *found) {
        auto st = (*found)->status();
        if (st && lv::classify(*st) == lv::Health::running) update_utilization(p_, c_, **found, services_);
    }
    return {};
}

Outcome Runner::validate()
{
    if (auto o = load(false)) return *o;
    auto h = lv::Hypervisor::open(uri());
    if (!h) return fail(wire::ocf::not_installed, h.error().message);
    return {};
}

}  // namespace

// --- SystemServices ----------------------------------------------------------------------

namespace {

Status run_tool(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: g_spawn's signature
    args.push_back(nullptr);
    gchar* out = nullptr;
    gchar* err = nullptr;
    gint status = 0;
    GError* error = nullptr;
    gboolean ok = g_spawn_sync(nullptr, args.data(), nullptr, G_SPAWN_SEARCH_PATH, nullptr, nullptr, &out,
                               &err, &status, &error);
    std::string stderr_text = err != nullptr ? err : "";
    g_free(out);
    g_free(err);
    if (!ok) {
        std::string why = error != nullptr ? error->message : "spawn failed";
        g_clear_error(&error);
        return make_error("ocf.guest", -ENOEXEC, argv[0] + ": " + why);
    }
    if (!g_spawn_check_wait_status(status, nullptr)) {
        while (!stderr_text.empty() && stderr_text.back() == '\n')
            stderr_text.pop_back();
        return make_error("ocf.guest", -EIO, argv[0] + " failed: " + stderr_text);
    }
    return {};
}

}  // namespace

Status SystemServices::set_utilization(const std::string& resource, const std::string& name,
                                       const std::string& value)
{
    return run_tool({"crm_resource", "--resource", resource, "--utilization", "--set-parameter", name,
                     "--parameter-value", value});
}

Status SystemServices::delete_utilization(const std::string& resource, const std::string& name)
{
    return run_tool({"crm_resource", "--resource", resource, "--utilization", "--delete-parameter", name});
}

int SystemServices::run(const std::vector<std::string>& argv)
{
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: g_spawn's signature
    args.push_back(nullptr);
    gint status = 0;
    GError* error = nullptr;
    auto flags = static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL);
    if (!g_spawn_sync(nullptr, args.data(), nullptr, flags, nullptr, nullptr, nullptr, nullptr, &status,
                      &error)) {
        log_warning(log_cat, "%s: %s", argv[0].c_str(), error != nullptr ? error->message : "spawn failed");
        g_clear_error(&error);
        return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return -1;
}

fs::path SystemServices::state_dir() const
{
    auto dir = env::get("HA_RSCTMP");
    if (dir && !dir->empty()) return *dir;
    return "/run/resource-agents";
}

Outcome run_action(const OcfContext& context, const Lookup& lookup, Services& services)
{
    if (auto s = lv::initialize(); !s) return fail(wire::ocf::unknown_error, s.error().message);
    Runner runner(context, lookup, services);
    return runner.run();
}

}  // namespace outpost::ocf::guest
