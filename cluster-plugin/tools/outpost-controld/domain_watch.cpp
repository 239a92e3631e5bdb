#include "tools/outpost-controld/domain_watch.hpp"

#include <cerrno>

#include "controller/xml.hpp"
#include "lifecycle/event_loop.hpp"
#include "util/log.hpp"

namespace outpost::controld {

namespace {

namespace ctl = cluster::controller;

const log::Category log_cat{"controld.watch"};

// The first element named `name` whose id is `id` beneath `node`, depth first.
const xmlNode* find_with_id(const xmlNode* node, const char* name, const std::string& id)
{
    for (const xmlNode* child = ctl::first_element(node); child != nullptr;
         child = ctl::next_element(child)) {
        if (ctl::is_named(child, name) && ctl::attr(child, "id") == id) return child;
        if (const xmlNode* found = find_with_id(child, name, id)) return found;
    }
    return nullptr;
}

// The configuration's version: a change of the status section alone leaves it as it is.
std::string configuration_version(const xmlDoc* cib)
{
    const xmlNode* root = ctl::root_of(cib);
    return ctl::attr(root, "admin_epoch").value_or("") + "." + ctl::attr(root, "epoch").value_or("");
}

}  // namespace

std::optional<ctl::FailedResource> configured_primitive(const xmlDoc* cib, const std::string& rsc_id)
{
    const xmlNode* configuration = ctl::child_named(ctl::root_of(cib), "configuration");
    const xmlNode* resources = ctl::child_named(configuration, "resources");
    const xmlNode* primitive = find_with_id(resources, "primitive", rsc_id);
    if (primitive == nullptr) return std::nullopt;
    ctl::FailedResource r;
    r.rsc_id = rsc_id;
    r.rsc_class = ctl::attr(primitive, "class").value_or("");
    r.provider = ctl::attr(primitive, "provider").value_or("");
    r.type = ctl::attr(primitive, "type").value_or("");
    if (auto name = ctl::attr(primitive, "template"); name && r.rsc_class.empty()) {
        if (const xmlNode* tmpl = find_with_id(resources, "template", *name)) {
            r.rsc_class = ctl::attr(tmpl, "class").value_or("");
            r.provider = ctl::attr(tmpl, "provider").value_or("");
            r.type = ctl::attr(tmpl, "type").value_or("");
        }
    }
    return r;
}

ControldTools::ControldTools(GMainContext* context, const ctl::CibStore& store,
                             ctl::ControllerActions& actions, std::string node, InFlight in_flight)
    : context_(context),
      store_(store),
      actions_(actions),
      node_(std::move(node)),
      in_flight_(std::move(in_flight))
{
}

void ControldTools::later(std::function<void()> f)
{
    std::erase_if(pending_, [](const io::Source& s) { return !s.active(); });
    pending_.push_back(io::add_idle(context_, std::move(f)));
}

void ControldTools::query_cib(std::function<void(Result<std::string>)> done)
{
    auto watch = lifetime_.watch();
    later([this, watch, done = std::move(done)] {
        if (!watch) return;
        const xmlNode* root = ctl::root_of(store_.current());
        if (root == nullptr) {
            done(make_error("controld", -ENODATA, "the CIB is empty"));
            return;
        }
        done(ctl::serialize(root));
    });
}

void ControldTools::report_failure(const std::string& resource, const std::string& node,
                                   std::function<void(Status)> done)
{
    auto watch = lifetime_.watch();
    later([this, watch, resource, node, done = std::move(done)] {
        if (!watch) return;
        auto failed = configured_primitive(store_.current(), resource);
        if (!failed) {
            done(make_error("controld", -ENXIO, "no primitive " + resource + " in the CIB"));
            return;
        }
        failed->node = node;
        auto call = actions_.fail_resource(*failed);
        if (!call) {
            done(call.error());
            return;
        }
        log_info(log_cat, "recorded the failure of %s on %s (call %d)", resource.c_str(), node.c_str(),
                 *call);
        // A dead VM closes no connection: without this, an operation in flight on its
        // guest would hold the recovery until its timeout.
        actions_.container_lost(resource);
        done({});
    });
}

std::optional<std::string> ControldTools::agent_action_in_flight(const std::string& resource)
{
    return in_flight_ ? in_flight_(node_, resource) : std::nullopt;
}

Result<std::unique_ptr<DomainWatch>> DomainWatch::start(GMainContext* context, const ctl::CibStore& store,
                                                        ctl::ControllerActions& actions,
                                                        const std::string& node, InFlight in_flight,
                                                        std::chrono::milliseconds refresh)
{
    if (auto installed = cluster::lifecycle::install_event_loop(context); !installed)
        return installed.error();
    std::unique_ptr<DomainWatch> w(new DomainWatch());
    w->tools_ = std::make_unique<ControldTools>(context, store, actions, node, std::move(in_flight));
    cluster::watch::WatcherOptions options;
    options.node = node;
    options.refresh = refresh;
    w->watcher_ = std::make_unique<cluster::watch::Watcher>(context, std::move(options), *w->tools_);
    w->store_ = &store;
    w->config_version_ = configuration_version(store.current());
    w->watcher_->start();
    w->context_ = context;
    w->arm_config_check();
    return w;
}

void DomainWatch::arm_config_check()
{
    config_timer_ = io::add_timeout(context_, kConfigCheck, [this] { check_config(); });
}

void DomainWatch::check_config()
{
    arm_config_check();
    std::string version = configuration_version(store_->current());
    if (version == config_version_) return;
    config_version_ = std::move(version);
    log_debug(log_cat, "the configuration changed (%s): reading the CIB again", config_version_.c_str());
    watcher_->refresh_now();
}

DomainWatch::~DomainWatch()
{
    config_timer_.reset();
    watcher_.reset();  // before the tools it uses
}

}  // namespace outpost::controld
