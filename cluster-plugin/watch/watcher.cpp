#include "watch/watcher.hpp"

#include "lifecycle/domain_config.hpp"
#include "util/log.hpp"

namespace outpost::cluster::watch {

namespace lc = outpost::cluster::lifecycle;
using Clock = std::chrono::steady_clock;

namespace {

const outpost::log::Category log_cat{"cluster.watch"};

long long ms_between(Clock::time_point a, Clock::time_point b)
{
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
}

}  // namespace

Watcher::Watcher(GMainContext* context, WatcherOptions options, ClusterTools& tools)
    : context_(context != nullptr ? context : g_main_context_default()),
      options_(std::move(options)),
      tools_(tools)
{
}

Watcher::~Watcher()
{
    *alive_ = false;
}

void Watcher::start()
{
    log_notice(log_cat, "watching the guest domains of node %s (CIB re-read every %lld ms%s)",
               options_.node.c_str(), static_cast<long long>(options_.refresh.count()),
               options_.dry_run ? ", dry run" : "");
    refresh();
}

std::vector<std::string> Watcher::watched_uris() const
{
    std::vector<std::string> out;
    out.reserve(watches_.size());
    for (const auto& [uri, w] : watches_)
        out.push_back(uri);
    return out;
}

void Watcher::refresh(std::function<void()> then)
{
    if (then) after_refresh_.push_back(std::move(then));
    if (refreshing_) return;
    refreshing_ = true;
    refresh_timer_.reset();
    std::weak_ptr<bool> alive = alive_;
    tools_.query_cib([this, alive](Result<std::string> cib) {
        if (alive.expired()) return;
        refreshing_ = false;
        if (!cib) {
            log_warning(log_cat, "%s", cib.error().message.c_str());
        } else if (auto parsed = parse_cib(*cib, options_.node); !parsed) {
            log_warning(log_cat, "%s", parsed.error().message.c_str());
        } else {
            apply(*parsed);
            sync_watches();
            check_domains("");
            watch_emulators();
        }
        auto thens = std::move(after_refresh_);
        after_refresh_.clear();
        for (auto& f : thens)
            f();
        if (on_refresh) on_refresh();
        refresh_timer_ = io::add_timeout(context_, options_.refresh, [this] { refresh(); });
    });
}

void Watcher::apply(const CibGuests& cib)
{
    std::map<std::string, Guest> next;
    for (const auto& r : cib.guests) {
        Guest g;
        g.resource = r;
        auto old = guests_.find(r.id);
        if (old != guests_.end()) g.reported_call = old->second.reported_call;
        std::string type;
        if (r.config.empty()) {
            g.config_problem = "no config parameter";
        } else if (auto config = lc::read_domain_config(r.config); !config) {
            g.config_problem = config.error().message;
        } else {
            g.domain = config->name;
            type = config->type;
            g.restarts_on_poweroff = lc::restarts_on_poweroff(*config);
        }
        g.uri = !r.hypervisor.empty() ? r.hypervisor : lc::default_uri_for_type(type);
        if (!g.config_problem.empty()) {
            if (config_warnings_.insert(r.id + "\n" + g.config_problem).second)
                log_warning(log_cat, "resource %s cannot be watched: %s", r.id.c_str(),
                            g.config_problem.c_str());
        }
        log_debug(log_cat, "resource %s (%s): domain %s on %s, %s on %s (%s)%s", r.id.c_str(),
                  r.agent.c_str(), g.domain.empty() ? "?" : g.domain.c_str(),
                  g.uri.empty() ? "libvirt's default URI" : g.uri.c_str(), node_state_name(r.state),
                  options_.node.c_str(), r.detail.c_str(), r.managed ? "" : ", unmanaged");
        next.emplace(r.id, std::move(g));
    }
    guests_ = std::move(next);
    bool maintenance = cib.cluster_maintenance || cib.node_maintenance;
    if (maintenance != maintenance_logged_) {
        log_notice(
            log_cat, "%s",
            maintenance ? "maintenance mode: nothing is reported until it ends" : "maintenance mode ended");
        maintenance_logged_ = maintenance;
    }
}

void Watcher::sync_watches()
{
    std::set<std::string> wanted;
    for (const auto& [id, g] : guests_)
        if (!g.domain.empty()) wanted.insert(g.uri);
    for (auto it = watches_.begin(); it != watches_.end();) {
        if (wanted.count(it->first) == 0) {
            log_info(log_cat, "no guest on %s any more: unsubscribed", it->first.c_str());
            it = watches_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& uri : wanted) {
        if (watches_.count(uri) != 0) continue;
        lc::HypervisorWatch::Callbacks callbacks;
        callbacks.event = [this, uri](const lc::LifecycleEvent& e) { domain_event(uri, e); };
        callbacks.connected = [this, uri](lc::Hypervisor& h) { on_connected(uri, h); };
        // The first failure is worth a warning, the retries that follow are not.
        callbacks.disconnected = [this, uri](const std::string& why) {
            if (disconnected_.insert(uri).second)
                log_warning(log_cat, "%s; reconnecting", why.c_str());
            else
                log_debug(log_cat, "%s; retrying", why.c_str());
        };
        auto w = lc::HypervisorWatch::start(context_, uri, std::move(callbacks), options_.hypervisor);
        if (!w) {
            log_error(log_cat, "cannot watch %s: %s", uri.c_str(), w.error().message.c_str());
            continue;
        }
        watches_.emplace(uri, std::move(*w));
    }
}

void Watcher::on_connected(const std::string& watch_uri, lc::Hypervisor& hypervisor)
{
    disconnected_.erase(watch_uri);
    std::erase_if(answer_domains_, [&](const auto& e) { return e.first.rfind(watch_uri + "\n", 0) == 0; });
    log_notice(log_cat, "subscribed to the domain events of %s", hypervisor.uri().c_str());
    // Whatever happened while we were not connected shows in the domains' states now.
    // (Deferred: the watch is still inside its connect when this runs.)
    std::weak_ptr<bool> alive = alive_;
    GSource* idle = g_idle_source_new();
    auto* data = new std::function<void()>([this, alive, watch_uri] {
        if (alive.expired()) return;
        check_domains(watch_uri);
        watch_emulators();
    });
    g_source_set_callback(
        idle,
        [](gpointer d) -> gboolean {
            (*static_cast<std::function<void()>*>(d))();
            return G_SOURCE_REMOVE;
        },
        data, [](gpointer d) { delete static_cast<std::function<void()>*>(d); });
    g_source_attach(idle, context_);
    g_source_unref(idle);
}

Watcher::Guest* Watcher::guest_for_domain(const std::string& uri, const std::string& name)
{
    for (auto& [id, g] : guests_)
        if (g.uri == uri && g.domain == name) return &g;
    return nullptr;
}

void Watcher::domain_event(const std::string& watch_uri, const lc::LifecycleEvent& event)
{
    auto noticed = Clock::now();
    if (event.type == static_cast<int>(lc::EventType::started)) {
        // A new emulator process (the domain started or came back): watch its exit.
        if (Guest* g = guest_for_domain(watch_uri, event.name)) watch_emulator(*g);
        return;
    }
    auto meaning = lc::meaning(event);
    if (meaning == lc::EventMeaning::irrelevant) return;
    std::string why = lc::describe(event);
    if (meaning == lc::EventMeaning::left) {
        log_info(log_cat, "domain %s %s: it runs on the target now", event.name.c_str(), why.c_str());
        return;
    }
    Suspicion s{"", why, noticed, meaning == lc::EventMeaning::ending ? Evidence::ending : Evidence::ended,
                -1};
    // A guest's power-off restarts a domain configured so; a signal to QEMU always ends it.
    auto restarted = [&](const Guest& g) {
        return s.evidence == Evidence::ending && g.restarts_on_poweroff &&
               event.detail != static_cast<int>(lc::ShutdownDetail::host);
    };
    Guest* g = guest_for_domain(watch_uri, event.name);
    if (g != nullptr) {
        if (restarted(*g)) {
            log_info(log_cat, "domain %s %s: its <on_poweroff> restarts it", event.name.c_str(), why.c_str());
            return;
        }
        s.resource = g->resource.id;
        suspect(s);
        return;
    }
    // Unknown here: maybe a resource newer than our last CIB read.
    std::weak_ptr<bool> alive = alive_;
    refresh([this, alive, watch_uri, name = event.name, s, restarted]() mutable {
        if (alive.expired()) return;
        Guest* found = guest_for_domain(watch_uri, name);
        if (found == nullptr) {
            log_debug(log_cat, "domain %s %s: no cluster resource of ours", name.c_str(), s.why.c_str());
        } else if (!restarted(*found)) {
            s.resource = found->resource.id;
            suspect(s);
        }
    });
}

std::optional<pid_t> Watcher::find_emulator(const std::string& uri, const std::string& domain) const
{
    return options_.emulator_pid ? options_.emulator_pid(uri, domain) : lc::emulator_pid(uri, domain);
}

void Watcher::watch_emulators()
{
    std::erase_if(emulators_, [&](const auto& e) {
        auto g = guests_.find(e.first);
        return g == guests_.end() || g->second.domain != e.second.domain || g->second.uri != e.second.uri;
    });
    for (const auto& [id, g] : guests_)
        watch_emulator(g);
}

void Watcher::watch_emulator(const Guest& g)
{
    if (g.domain.empty()) return;
    auto pid = find_emulator(g.uri, g.domain);
    if (!pid) return;  // none here (not a local QEMU, not running), or not readable
    const std::string& id = g.resource.id;
    auto it = emulators_.find(id);
    if (it != emulators_.end() && it->second.domain == g.domain && it->second.exit->pid() == *pid) return;
    std::weak_ptr<bool> alive = alive_;
    const pid_t p = *pid;
    auto w = lc::ProcessExit::watch(context_, p, [this, alive, id, p] {
        if (!alive.expired()) on_emulator_exit(id, p);
    });
    if (!w) {
        log_debug(log_cat, "not watching process %d of domain %s: %s", static_cast<int>(p), g.domain.c_str(),
                  w.error().message.c_str());
        return;
    }
    log_debug(log_cat, "watching process %d of domain %s (%s)", static_cast<int>(p), g.domain.c_str(),
              id.c_str());
    emulators_.insert_or_assign(id, EmulatorWatch{g.uri, g.domain, std::move(*w)});
}

void Watcher::on_emulator_exit(const std::string& resource, pid_t pid)
{
    auto noticed = Clock::now();
    auto it = emulators_.find(resource);
    if (it == emulators_.end() || it->second.exit->pid() != pid) return;
    emulators_.erase(it);  // the watch is spent (safe inside its own callback)
    suspect(Suspicion{resource, "exited (its process " + std::to_string(pid) + " ended)", noticed,
                      Evidence::exited, pid});
}

std::optional<bool> Watcher::domain_running(const Guest& g)
{
    auto w = watches_.find(g.uri);
    if (w == watches_.end() || w->second->hypervisor() == nullptr) return std::nullopt;
    auto found = w->second->hypervisor()->find(g.domain);
    if (!found) return std::nullopt;
    if (!*found) return false;
    auto st = (*found)->status();
    if (!st) return lc::is_no_domain(st.error()) ? std::optional<bool>(false) : std::nullopt;
    return lc::classify(*st) == lc::Health::running;
}

std::optional<std::string> Watcher::domain_name_of(const std::string& config, std::string& why)
{
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(config, ec);
    if (ec) {
        why = "cannot read " + config + ": " + ec.message();
        return std::nullopt;
    }
    auto it = answer_configs_.find(config);
    if (it != answer_configs_.end() && it->second.mtime == mtime) return it->second.name;
    auto parsed = lc::read_domain_config(config);
    if (!parsed) {
        why = parsed.error().message;
        return std::nullopt;
    }
    if (answer_configs_.size() >= 4096) answer_configs_.clear();  // bounded: the files come from the CIB
    answer_configs_[config] = NamedConfig{mtime, parsed->name};
    return parsed->name;
}

StateAnswer Watcher::answer(const StateQuery& query)
{
    auto unknown = [](std::string why) {
        StateAnswer a;
        a.why = std::move(why);
        return a;
    };
    auto it = guests_.find(query.resource);
    if (it == guests_.end()) return unknown("resource not known from the CIB");
    const auto& g = it->second;
    if (g.resource.config != query.config || g.resource.hypervisor != query.hypervisor)
        return unknown("parameters differ from the CIB's");
    auto w = watches_.find(g.uri);
    if (w == watches_.end() || w->second->hypervisor() == nullptr)
        return unknown("not connected to " + g.uri);
    // The file may have changed since the last refresh: name the domain as the agent would.
    std::string why;
    auto name = domain_name_of(query.config, why);
    if (!name) return unknown(why);
    StateAnswer a;
    a.domain = *name;
    std::string key = g.uri + "\n" + *name;
    auto cached = answer_domains_.find(key);
    if (cached != answer_domains_.end()) {
        // A running domain is told by one call (its state, vCPUs and memory together; the
        // reason is not asked: 0); anything else by its state and reason.
        auto info = cached->second.info();
        if (info && info->state == lc::State::running) {
            a.kind = StateAnswer::Kind::state;
            a.status = lc::DomainStatus{lc::State::running, 0};
            a.vcpus = info->vcpus;
            a.max_memory_kib = info->max_memory_kib;
            return a;
        }
        answer_domains_.erase(cached);  // not running, gone, or the connection changed: afresh
    }
    auto found = w->second->hypervisor()->find(*name);
    if (!found) return unknown(found.error().message);
    if (!*found) {
        a.kind = StateAnswer::Kind::absent;
        return a;
    }
    auto st = (*found)->status();
    if (!st) {
        if (!lc::is_no_domain(st.error())) return unknown(st.error().message);
        a.kind = StateAnswer::Kind::absent;
        return a;
    }
    a.kind = StateAnswer::Kind::state;
    a.status = *st;
    if (lc::classify(*st) == lc::Health::running) {
        auto info = (*found)->info();
        if (!info) return unknown(info.error().message);
        a.vcpus = info->vcpus;
        a.max_memory_kib = info->max_memory_kib;
        if (st->state == lc::State::running) {
            if (answer_domains_.size() >= 4096) answer_domains_.clear();  // bounded, like the guests
            answer_domains_.insert_or_assign(key, std::move(**found));
        }
    }
    return a;
}

void Watcher::check_domains(const std::string& uri)
{
    std::vector<std::string> stopped;  // collected first: suspect() may change guests_
    for (auto& [id, g] : guests_) {
        if (g.domain.empty() || (!uri.empty() && g.uri != uri)) continue;
        if (g.resource.state != NodeState::active || !g.resource.managed) continue;
        if (g.reported_call == g.resource.decisive_call) continue;
        auto running = domain_running(g);
        if (running && !*running) stopped.push_back(id);
    }
    for (const auto& id : stopped)
        suspect(Suspicion{id, "found not running (no event seen)", Clock::now(), Evidence::ended, -1});
}

void Watcher::suspect(const Suspicion& s)
{
    log_info(log_cat, "domain of %s %s: checking with the cluster", s.resource.c_str(), s.why.c_str());
    std::weak_ptr<bool> alive = alive_;
    tools_.query_cib([this, alive, s](Result<std::string> cib) {
        if (alive.expired()) return;
        if (!cib) {
            log_warning(log_cat, "not reporting %s (%s): %s", s.resource.c_str(), s.why.c_str(),
                        cib.error().message.c_str());
            return;
        }
        auto parsed = parse_cib(*cib, options_.node);
        if (!parsed) {
            log_warning(log_cat, "not reporting %s: %s", s.resource.c_str(), parsed.error().message.c_str());
            return;
        }
        apply(*parsed);
        decide(s, *parsed);
    });
}

std::optional<std::string> Watcher::runs_again(const Guest& g, const Suspicion& s)
{
    switch (s.evidence) {
        case Evidence::ended: {
            auto running = domain_running(g);
            if (running && *running) return "it runs again";
            return std::nullopt;
        }
        case Evidence::ending:
            // libvirt says "in shutdown" until the process is gone; nothing to ask.
            return std::nullopt;
        case Evidence::exited: {
            // Not libvirt: a destroy holds the domain until the process is reaped.
            auto pid = find_emulator(g.uri, g.domain);
            if (pid && *pid != s.pid) return "it runs again (process " + std::to_string(*pid) + ")";
            return std::nullopt;
        }
    }
    return std::nullopt;
}

void Watcher::decide(const Suspicion& s, const CibGuests& cib)
{
    auto it = guests_.find(s.resource);
    if (it == guests_.end()) {
        log_info(log_cat, "not reporting %s: no longer configured", s.resource.c_str());
        return;
    }
    Guest& g = it->second;
    const auto& r = g.resource;
    auto skip = [&](const std::string& reason) {
        log_info(log_cat, "domain %s of %s %s; not reported: %s", g.domain.c_str(), r.id.c_str(),
                 s.why.c_str(), reason.c_str());
    };
    if (cib.cluster_maintenance) return skip("the cluster is in maintenance mode");
    if (cib.node_maintenance) return skip("node " + options_.node + " is in maintenance");
    if (!r.managed) return skip("the resource is not managed");
    if (r.state != NodeState::active)
        return skip(std::string("the cluster has it ") + node_state_name(r.state) + " here (" + r.detail +
                    ")");
    if (g.reported_call == r.decisive_call) return skip("already reported");
    if (auto action = tools_.agent_action_in_flight(r.id))
        return skip("the cluster is running its " + *action);
    if (auto again = runs_again(g, s)) return skip(*again);

    g.reported_call = r.decisive_call;
    Report report{r.id, g.domain, s.why, s.noticed, {}, false, {}};
    if (options_.dry_run) {
        report.reported = Clock::now();
        report.ok = true;
        log_notice(log_cat, "dry run: would report %s failed on %s (domain %s %s)", r.id.c_str(),
                   options_.node.c_str(), g.domain.c_str(), s.why.c_str());
        if (on_report) on_report(report);
        return;
    }
    std::weak_ptr<bool> alive = alive_;
    tools_.report_failure(r.id, options_.node, [this, alive, report](const Status& status) mutable {
        if (alive.expired()) return;
        report.reported = Clock::now();
        report.ok = status.ok();
        if (status) {
            log_notice(log_cat,
                       "domain %s of %s %s: reported the resource failed on %s (%lld ms after the event)",
                       report.domain.c_str(), report.resource.c_str(), report.why.c_str(),
                       options_.node.c_str(), ms_between(report.noticed, report.reported));
        } else {
            report.error = status.error().message;
            log_error(log_cat, "domain %s of %s %s: reporting it failed: %s", report.domain.c_str(),
                      report.resource.c_str(), report.why.c_str(), report.error.c_str());
            // Let the next refresh or event try again.
            auto g2 = guests_.find(report.resource);
            if (g2 != guests_.end()) g2->second.reported_call = -2;
        }
        if (on_report) on_report(report);
    });
}

}  // namespace outpost::cluster::watch
