#include "lifecycle/hypervisor_watch.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::cluster::lifecycle {

// What libvirt's callbacks hold: the owner while it lives, nullptr after.
struct HypervisorWatch::Shared {
    HypervisorWatch* owner = nullptr;
    std::string uri;  // canonical URI of the current connection
};

namespace {

const outpost::log::Category log_cat{"cluster.lifecycle.watch"};

const char* close_reason(int reason)
{
    switch (reason) {
        case VIR_CONNECT_CLOSE_REASON_ERROR:
            return "I/O error";
        case VIR_CONNECT_CLOSE_REASON_EOF:
            return "end of file (libvirtd went away)";
        case VIR_CONNECT_CLOSE_REASON_KEEPALIVE:
            return "keepalive timeout";
        case VIR_CONNECT_CLOSE_REASON_CLIENT:
            return "closed by the client";
        default:
            return "unknown reason";
    }
}

}  // namespace

// The libvirt callbacks, as static members so they may touch the watch's private parts.
struct WatchCallbacks {
    static void free_shared(void* opaque) noexcept
    {
        delete static_cast<std::shared_ptr<HypervisorWatch::Shared>*>(opaque);
    }

    static int lifecycle(virConnectPtr /*connection*/, virDomainPtr domain, int event, int detail,
                         void* opaque) noexcept
    {
        guarded(log_cat, "a libvirt lifecycle event callback", [&] {
            auto& shared = *static_cast<std::shared_ptr<HypervisorWatch::Shared>*>(opaque);
            HypervisorWatch* owner = shared->owner;
            if (owner == nullptr) return;
            LifecycleEvent e;
            e.uri = shared->uri;
            const char* name = virDomainGetName(domain);
            e.name = name != nullptr ? name : "";
            std::array<char, VIR_UUID_STRING_BUFLEN> uuid{};
            if (virDomainGetUUIDString(domain, uuid.data()) == 0) e.uuid = uuid.data();
            e.type = event;
            e.detail = detail;
            log_debug(log_cat, "%s: domain %s %s", e.uri.c_str(), outpost::log::quote(e.name).c_str(),
                      describe(e).c_str());
            if (owner->callbacks_.event) owner->callbacks_.event(e);
        });
        return 0;
    }

    static void closed(virConnectPtr /*connection*/, int reason, void* opaque) noexcept
    {
        guarded(log_cat, "a libvirt close callback", [&] {
            HypervisorWatch* owner = static_cast<HypervisorWatch::Shared*>(opaque)->owner;
            if (owner == nullptr) return;
            std::string why =
                std::string("connection to ") + owner->uri_ + " closed: " + close_reason(reason);
            // libvirt may call this from inside one of its own calls: finish the drop from
            // a clean stack.
            owner->lost_ = io::add_idle(owner->context_, [owner, why] {
                owner->drop(why);
                owner->schedule_reconnect();
            });
        });
    }
};

Result<std::unique_ptr<HypervisorWatch>> HypervisorWatch::start(GMainContext* context, std::string uri,
                                                                Callbacks callbacks, Options options)
{
    if (auto s = initialize(); !s) return s.error();
    std::unique_ptr<HypervisorWatch> watch(
        new HypervisorWatch(context, std::move(uri), std::move(callbacks), options));
    watch->connect();
    return watch;
}

HypervisorWatch::HypervisorWatch(GMainContext* context, std::string uri, Callbacks callbacks, Options options)
    : context_(context != nullptr ? context : g_main_context_default()),
      uri_(std::move(uri)),
      callbacks_(std::move(callbacks)),
      options_(options),
      backoff_(options.reconnect_min),
      shared_(std::make_shared<Shared>())
{
    shared_->owner = this;
}

HypervisorWatch::~HypervisorWatch()
{
    shared_->owner = nullptr;
    retry_.reset();
    lost_.reset();
    if (hypervisor_) {
        callbacks_.disconnected = nullptr;  // no callbacks from the destructor
        drop("watch stopped");
    }
}

Hypervisor* HypervisorWatch::hypervisor()
{
    return hypervisor_.get();
}

void HypervisorWatch::connect()
{
    retry_.reset();
    auto opened = Hypervisor::open(uri_);
    if (!opened) {
        log_debug(log_cat, "%s", opened.error().message.c_str());
        if (callbacks_.disconnected) callbacks_.disconnected(opened.error().message);
        schedule_reconnect();
        return;
    }
    hypervisor_ = std::make_unique<Hypervisor>(std::move(*opened));
    shared_->uri = hypervisor_->uri();
    virConnectPtr c = hypervisor_->get();

    if (auto s = hypervisor_->set_keepalive(options_.keepalive_interval, options_.keepalive_count); !s)
        log_debug(log_cat, "no keepalive on %s: %s", uri_.c_str(), s.error().message.c_str());

    // No free callback here: drivers without close notices (test:///) accept the
    // registration and never call it. The close callback is unregistered in drop(), on
    // this thread, before shared_ goes, so a plain pointer is enough.
    if (virConnectRegisterCloseCallback(c, WatchCallbacks::closed, shared_.get(), nullptr) < 0) {
        Error e = last_error("watching the connection to " + uri_);
        log_debug(log_cat, "%s", e.message.c_str());
    } else {
        close_registered_ = true;
    }

    auto* event_ref = new std::shared_ptr<Shared>(shared_);
    callback_id_ = virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                    VIR_DOMAIN_EVENT_CALLBACK(WatchCallbacks::lifecycle),
                                                    event_ref, WatchCallbacks::free_shared);
    if (callback_id_ < 0) {
        delete event_ref;
        Error e = last_error("subscribing to the domain events of " + uri_);
        drop(e.message);
        schedule_reconnect();
        return;
    }
    backoff_ = options_.reconnect_min;
    ++connections_;
    log_debug(log_cat, "connected to %s (%s), lifecycle events subscribed", uri_.c_str(),
              shared_->uri.c_str());
    if (callbacks_.connected) callbacks_.connected(*hypervisor_);
}

void HypervisorWatch::drop(const std::string& why)
{
    if (hypervisor_) {
        virConnectPtr c = hypervisor_->get();
        if (callback_id_ >= 0 && virConnectDomainEventDeregisterAny(c, callback_id_) < 0) virResetLastError();
        callback_id_ = -1;
        if (close_registered_ && virConnectUnregisterCloseCallback(c, WatchCallbacks::closed) < 0)
            virResetLastError();
        close_registered_ = false;
        hypervisor_.reset();
    }
    log_debug(log_cat, "%s", why.c_str());
    if (callbacks_.disconnected) callbacks_.disconnected(why);
}

void HypervisorWatch::schedule_reconnect()
{
    auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
    retry_ = io::add_timeout(context_, delay, [this] { connect(); });
}

}  // namespace outpost::cluster::lifecycle
