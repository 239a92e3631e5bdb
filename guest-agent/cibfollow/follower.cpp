#include "cibfollow/follower.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "cibfollow/resource_meta.hpp"
#include "cibfollow/transient.hpp"
#include "proxy/channels.hpp"
#include "util/log.hpp"
#include "util/uuid.hpp"
#include "wire/codes.hpp"

namespace outpost::agent::cibfollow {

namespace {

const log::Category log_cat{"agent.cibfollow"};

// Read-only is all the agent needs.
constexpr std::string_view kChannel = "cib_ro";
// cib_callopt of a synchronous call answered from the node's own copy (what crm_mon sends:
// cib_sync_call | cib_scope_local).
constexpr const char* kRegisterCallopt = "4096";
constexpr const char* kQueryCallopt = "4352";
// The same with cib_xpath: cib_section is an XPath.
constexpr const char* kXpathQueryCallopt = "4354";
// A query's rc when nothing matches its XPath (-ENXIO).
constexpr std::string_view kNothingMatches = "-6";

std::string own_user()
{
    // The proxy sends each request with the user of the tool behind it; ours is the agent's.
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr && pw->pw_name != nullptr ? std::string(pw->pw_name) : std::string("root");
}

wire::Element cib_element(const char* name, const char* op)
{
    wire::Element e;
    e.name = name;
    e.set("t", "cib");
    e.set("cib_op", op);
    return e;
}

}  // namespace

CibFollower::CibFollower(GMainContext* context, proxy::ProxyHost& host, isolation::Manager& limits,
                         FollowerOptions options)
    : context_(context), host_(host), limits_(limits), options_(std::move(options)), user_(own_user())
{
    limits_.on_node_name([this] { node_known(); });
}

CibFollower::~CibFollower()
{
    limits_.on_node_name({});
    close("the agent is exiting", true);
}

// ---- the session's life ---------------------------------------------------------------------

void CibFollower::provider_added(std::string_view /*provider_client_id*/)
{
    // Called while the register is being served: the `new` goes after its reply.
    if (session_.empty()) deferred_.later([this] { open_on_newest(); });
}

void CibFollower::provider_gone(std::string_view provider_client_id)
{
    if (!session_.empty()) {
        if (provider_client_id != provider_) return;
        close("its IPC provider disconnected", false);
    }
    // Also when a send to it had failed already: the newest provider left takes over.
    deferred_.later([this] { open_on_newest(); });
}

void CibFollower::destroyed()
{
    fail("the cluster closed it", false);
}

void CibFollower::open_on_newest()
{
    if (!session_.empty()) return;
    if (auto provider = host_.newest_provider()) open(*provider);
}

void CibFollower::open(const std::string& provider)
{
    retry_timer_.reset();
    session_ = random_uuid();
    provider_ = provider;
    client_name_ = proxy::proxy_client_name(kChannel, ::getpid(), session_);
    cib_client_id_.clear();
    stale_ = false;
    awaiting_ = false;
    if (!host_.send_to_provider(provider_, proxy::make_new(session_, kChannel))) {
        session_.clear();
        return;  // the provider is gone: provider_gone() follows
    }
    log_info(log_cat, "Opened CIB session %s via provider %s for the resources' limits", session_.c_str(),
             provider_.c_str());
    // Starts wait for the first snapshot, for a bounded time.
    limits_.set_cluster_meta_pending(true);
    first_wait_ = io::add_timeout(context_, options_.first_snapshot_wait, [this] {
        first_wait_.reset();
        if (!limits_.cluster_meta_pending()) return;
        log_warning(log_cat, "No answer from the CIB within %lld ms: starts run with the limits known so far",
                    static_cast<long long>(options_.first_snapshot_wait.count()));
        limits_.set_cluster_meta_pending(false);
    });
    step_ = Step::registering;
    wire::Element hello = cib_element("cib_command", "register");
    hello.set("cib_clientname", options_.client_name);
    hello.set("cib_callopt", kRegisterCallopt);
    send(std::move(hello));
}

void CibFollower::close(const char* why, bool tell_provider)
{
    debounce_.reset();
    request_timer_.reset();
    first_wait_.reset();
    evaluation_due_.reset();
    if (session_.empty()) return;
    log_info(log_cat, "Closing CIB session %s: %s", session_.c_str(), why);
    if (tell_provider) (void)host_.send_to_provider(provider_, proxy::make_destroy(session_));
    session_.clear();
    provider_.clear();
    step_ = Step::closed;
    awaiting_ = false;
    // A start waiting for the first snapshot runs now with what is known.
    if (limits_.cluster_meta_pending()) limits_.set_cluster_meta_pending(false);
}

void CibFollower::fail(const std::string& why, bool tell_provider)
{
    log_warning(log_cat, "CIB session %s failed: %s; trying again in %lld ms", session_.c_str(), why.c_str(),
                static_cast<long long>(options_.retry_delay.count()));
    close("it failed", tell_provider);
    retry_timer_ = io::add_timeout(context_, options_.retry_delay, [this] {
        retry_timer_.reset();
        open_on_newest();
    });
}

bool CibFollower::send(wire::Element request)
{
    const std::uint32_t id = ++next_msg_id_;
    auto message = proxy::make_request(session_, client_name_, user_, id, wire::ipc_flag::client_response,
                                       std::move(request));
    if (!host_.send_to_provider(provider_, message)) {
        close("its IPC provider is gone", false);
        return false;
    }
    awaiting_ = true;
    request_timer_ = io::add_timeout(context_, options_.request_timeout, [this] {
        request_timer_.reset();
        fail("no answer within " + std::to_string(options_.request_timeout.count()) + " ms", true);
    });
    return true;
}

wire::Element CibFollower::query_of(const std::string& section, const char* callopt)
{
    wire::Element q = cib_element("cib_command", "cib_query");
    q.set("cib_section", section);
    q.set("cib_callid", std::to_string(++next_call_id_));
    q.set("cib_callopt", callopt);
    q.set("cib_clientid", cib_client_id_);
    q.set("cib_clientname", options_.client_name);
    return q;
}

void CibFollower::query()
{
    debounce_.reset();
    step_ = Step::querying;
    querying_ = Query::configuration;
    stale_ = false;
    send(query_of("configuration", kQueryCallopt));  // resources, rsc_defaults, nodes
}

void CibFollower::query_transient()
{
    debounce_.reset();
    transient_stale_ = false;
    asked_node_ = limits_.node_name();
    const std::string path = transient_xpath(asked_node_);
    if (path.empty()) {  // no node yet, or a name XPath cannot quote: none to read
        transient_read(std::nullopt);
        return;
    }
    step_ = Step::querying;
    querying_ = Query::transient;
    send(query_of(path, kXpathQueryCallopt));  // this node's entry only, not the whole status
}

void CibFollower::read_later()
{
    if (step_ != Step::idle || (!stale_ && !transient_stale_) || debounce_.active()) return;
    debounce_ = io::add_timeout(context_, options_.debounce, [this] {
        if (stale_) {
            query();  // the transient attributes are read after it
        } else {
            query_transient();
        }
    });
}

// ---- what comes back ------------------------------------------------------------------------

void CibFollower::response(std::uint32_t /*ipc_msg_id*/, const wire::Element& msg)
{
    event(msg);
}

void CibFollower::event(const wire::Element& msg)
{
    // Notifications are <notify>; anything else answers the request in flight (a provider
    // may relay an answer as response or as event).
    if (msg.name == "notify") {
        changed(msg);
    } else if (awaiting_) {
        answered(msg);
    } else {
        log_debug(log_cat, "Ignoring unexpected <%s> on CIB session %s", msg.name.c_str(), session_.c_str());
    }
}

void CibFollower::answered(const wire::Element& msg)
{
    awaiting_ = false;
    request_timer_.reset();
    switch (step_) {
        case Step::registering: {
            const std::string* id = msg.attr("cib_clientid");
            if (id == nullptr || id->empty()) {
                fail("the CIB did not accept the registration (<" + msg.name + ">)", true);
                return;
            }
            cib_client_id_ = *id;
            step_ = Step::subscribing;
            wire::Element subscribe;
            subscribe.name = "cib-callback";
            subscribe.set("cib_op", "cib_notify");
            subscribe.set("cib_notify_type", "cib_diff_notify");
            subscribe.set("cib_notify_activate", "1");
            send(std::move(subscribe));
            return;
        }
        case Step::subscribing:
            // An ack; a refusal would only mean no live changes, the snapshot still counts.
            if (const std::string* rc = msg.attr("cib_rc"); rc != nullptr && *rc != "0")
                log_warning(log_cat, "The CIB refused change notifications (rc %s): limits follow no changes",
                            rc->c_str());
            query();
            return;
        case Step::querying:
            if (querying_ == Query::transient) {
                step_ = Step::idle;
                transient_read(msg);
            } else {
                snapshot(msg);
            }
            return;
        case Step::closed:
        case Step::idle:
            return;
    }
}

void CibFollower::snapshot(const wire::Element& reply)
{
    step_ = Step::idle;
    const std::string* rc = reply.attr("cib_rc");
    const wire::Element* data = reply.child("cib_calldata");
    if (reply.name != "cib-reply" || rc == nullptr || *rc != "0" || data == nullptr) {
        fail("the resources query failed (<" + reply.name + "> rc " + (rc != nullptr ? *rc : "none") + ")",
             true);
        return;
    }
    const bool first = snapshots_ == 0 || limits_.cluster_meta_pending();
    ++snapshots_;
    configuration_ = *data;
    if (!limits_.node_name().empty()) {
        // Evaluated once the node's transient attributes are in too (starts wait for that
        // within the first snapshot's bound still).
        evaluation_due_ = first;
        query_transient();
        return;
    }
    first_wait_.reset();
    evaluate(first);
    read_later();
}

void CibFollower::transient_read(const std::optional<wire::Element>& reply)
{
    NodeAttrs attrs;
    std::string id = asked_node_;
    const std::string* rc = reply ? reply->attr("cib_rc") : nullptr;
    const wire::Element* data = reply ? reply->child("cib_calldata") : nullptr;
    if (rc != nullptr && *rc == "0" && data != nullptr && !data->children.empty()) {
        const wire::Element& found = data->children.front();
        attrs = transient_attributes(found);
        const wire::Element* holder =
            found.name == "transient_attributes" ? &found : found.child("transient_attributes");
        if (holder != nullptr && holder->attr("id") != nullptr) id = *holder->attr("id");
    } else if (reply && (rc == nullptr || *rc != kNothingMatches)) {
        // Not the session's end: the configuration still counts, without them.
        log_warning(log_cat,
                    "Reading the transient attributes of node %s failed (<%s> rc %s): rules see none",
                    asked_node_.c_str(), reply->name.c_str(), rc != nullptr ? rc->c_str() : "none");
    }
    // The last evaluation saw none for another node.
    const bool changed = transient_node_ == asked_node_ ? attrs != transient_ : !attrs.empty();
    if (changed && evaluations_ > 0)
        log_info(log_cat, "Transient attributes of node %s changed (%zu now): evaluating the limits again",
                 asked_node_.c_str(), attrs.size());
    transient_node_ = asked_node_;
    transient_id_ = std::move(id);
    transient_ = std::move(attrs);
    if (evaluation_due_) {
        const bool first = *evaluation_due_;
        evaluation_due_.reset();
        first_wait_.reset();
        evaluate(first);
    } else if (changed) {
        evaluate(false);
    }
    read_later();
}

void CibFollower::evaluate(bool first)
{
    reevaluate_.reset();
    MetaContext context;
    context.now = g_get_real_time() / G_USEC_PER_SEC;
    context.node_name = limits_.node_name();
    if (!context.node_name.empty() && context.node_name == transient_node_) context.transient = &transient_;
    ++evaluations_;
    ResourceMeta read = resource_meta(configuration_, context);
    if (read.skipped != skipped_ && !read.skipped.empty())
        log_warning(log_cat, "Resource meta attributes not applied: %s", read.skipped.c_str());
    skipped_ = read.skipped;
    log_debug(log_cat, "CIB snapshot: %zu resource(s) with outpost-* meta attributes (node '%s')",
              read.meta.size(), context.node_name.c_str());
    if (first)
        log_notice(log_cat,
                   "Following the resources' limits in the CIB (%zu resource(s) with outpost-* meta)",
                   read.meta.size());
    limits_.set_cluster_meta(std::move(read.meta));
    if (read.next_change) {
        // A date in a rule changes its outcome then: evaluate the same configuration again.
        const auto delay =
            std::clamp<util::EpochSeconds>(*read.next_change - context.now, 1, kMaxReevaluateDelayS);
        reevaluate_ = io::add_timeout(context_, std::chrono::seconds(delay), [this] { evaluate(false); });
    }
}

void CibFollower::node_known()
{
    // From inside an action's prepare(): evaluate once the loop is back, not under it.
    if (snapshots_ == 0) return;
    deferred_.later([this] {
        evaluate(false);
        // Then with the node's transient attributes, once read.
        if (limits_.node_name() == transient_node_) return;
        transient_stale_ = true;
        if (step_ == Step::idle && !debounce_.active()) query_transient();
    });
}

void CibFollower::changed(const wire::Element& notify)
{
    const std::string* type = notify.attr("subt");
    if (type == nullptr || *type != "cib_diff_notify") return;
    if (may_touch_configuration(notify)) {
        stale_ = true;
    } else if (!limits_.node_name().empty() &&
               may_touch_transient(notify, {limits_.node_name(), transient_id_})) {
        // Most status changes are operation results: this node's entry alone is read.
        transient_stale_ = true;
    } else {
        return;
    }
    read_later();  // or once the answer in flight is in
}

}  // namespace outpost::agent::cibfollow
