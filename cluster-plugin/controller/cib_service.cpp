#include "controller/cib_service.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "util/log.hpp"

namespace outpost::cluster::controller {

namespace {

const log::Category log_cat{"controller.cib"};

std::string now_text()
{
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buffer[64];
    std::size_t n = std::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S %Y", &local);
    return {buffer, n};
}

// Names of the system groups `user` belongs to (none when the user is unknown here, as a
// user named by a guest's proxy may be).
std::vector<std::string> groups_of(const std::string& user)
{
    std::vector<std::string> names;
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return names;
    int count = 64;
    std::vector<gid_t> gids(static_cast<std::size_t>(count));
    if (::getgrouplist(user.c_str(), pw.pw_gid, gids.data(), &count) < 0) {
        gids.resize(static_cast<std::size_t>(count));
        if (::getgrouplist(user.c_str(), pw.pw_gid, gids.data(), &count) < 0) return names;
    }
    gids.resize(static_cast<std::size_t>(count));
    std::vector<char> group_buffer(65536);
    for (gid_t gid : gids) {
        group entry{};
        group* g = nullptr;
        if (::getgrgid_r(gid, &entry, group_buffer.data(), group_buffer.size(), &g) == 0 && g != nullptr)
            names.emplace_back(g->gr_name);
    }
    return names;
}

}  // namespace

std::optional<std::vector<AclRule>> acl_rules_of(const xmlDoc* cib, const std::string& connected_user,
                                                 const std::string& requested_user)
{
    if (!acls_enabled(cib)) return std::nullopt;
    // As 2.1.5: the user a request names (CIB_user) counts only when root or hacluster
    // sent it; anyone else is judged as who they connected as.
    const std::string& user =
        acl_exempt(connected_user) && !requested_user.empty() ? requested_user : connected_user;
    if (acl_exempt(user)) return std::nullopt;
    return acl_rules_for(cib, AclUser{user, groups_of(user)});
}

const std::string* CibChange::notification_for(const CibClient& client) const
{
    auto cached = filtered_.find(client.user);
    if (cached == filtered_.end())
        cached = filtered_.emplace(client.user, filtered_notification(client.user)).first;
    if (!cached->second) return &notification();
    return cached->second->empty() ? nullptr : &*cached->second;
}

std::optional<std::string> CibChange::filtered_notification(const std::string& user) const
{
    auto rules = acl_rules_of(after_, user, "");
    if (!rules) return std::nullopt;
    // What the user may read of each side: the change as they can see it, nothing when
    // they cannot read either side or see no difference.
    XmlDoc before = before_ != nullptr ? acl_filtered_copy(before_, *rules) : nullptr;
    XmlDoc after = acl_filtered_copy(after_, *rules);
    if (!before || !after || same_tree(root_of(before.get()), root_of(after.get()))) return std::string();
    return diff_notification(request_, origin_id_, before.get(), after.get());
}

const std::string& CibChange::notification() const
{
    if (notification_.empty()) notification_ = diff_notification(request_, origin_id_, before_, after_);
    return notification_;
}

const Result<wire::Element>& CibChange::notification_element() const
{
    if (!element_) element_ = wire::parse_xml(notification());
    return *element_;
}

void CibService::add_listener(CibListener& listener)
{
    if (std::find(listeners_.begin(), listeners_.end(), &listener) == listeners_.end())
        listeners_.push_back(&listener);
}

void CibService::remove_listener(CibListener& listener)
{
    listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), &listener), listeners_.end());
}

void CibService::handle(CibClient& client, std::string_view xml, std::size_t max_size, bool wants_response,
                        const Reply& reply)
{
    auto request = parse_cib_request(xml, max_size);
    if (!request) {
        log_warning(log_cat, "Bad request from CIB client %s (%s): %s", client.id.c_str(),
                    log::quote(client.name).c_str(), request.error().message.c_str());
        if (wants_response) {
            CibRequest empty;
            empty.op = "unknown";
            reply(operation_reply(empty, client.id, -EBADMSG, nullptr));
        }
        return;
    }
    if (request->op == "register") {
        if (!request->client_name.empty()) client.name = request->client_name;
        log_debug(log_cat, "CIB client %s registered as %s", client.id.c_str(),
                  log::quote(client.name).c_str());
        reply(register_reply(client.id));
        return;
    }
    if (request->op == "cib_notify") {
        if (request->notify_type == kDiffNotify) client.diff_notify = request->notify_activate;
        log_debug(log_cat, "CIB client %s %s %s", client.id.c_str(),
                  request->notify_activate ? "subscribed to" : "unsubscribed from",
                  log::quote(request->notify_type).c_str());
        reply(notify_reply(*request, 0));
        return;
    }
    const OpKind kind = kind_of(request->op);
    if (kind == OpKind::write && client.read_only) {
        log_warning(log_cat, "Refused %s of CIB client %s on the read-only channel", request->op.c_str(),
                    log::quote(client.name).c_str());
        reply(operation_reply(*request, client.id, cib_rc::access, nullptr));
        return;
    }
    std::vector<std::string> acl_problems;
    const auto rules = acl_rules_of(store_.current(), client.user, request->user);
    CibOperation operation = request->operation();
    if (rules) {
        operation.acl_rules = &*rules;
        operation.acl_problems = &acl_problems;
    }
    UpdateOrigin origin;
    origin.client_name = client.name.empty() ? request->client_name : client.name;
    origin.user = client.user;
    origin.node = node_name_;
    origin.time_text = now_text();
    XmlDoc before;
    CibOutcome outcome = store_.apply(operation, origin, &before);
    for (const std::string& problem : acl_problems) {
        // Once per problem: a restricted crm_mon would repeat it with every query.
        if (acl_problems_logged_.insert(problem).second) log_warning(log_cat, "%s", problem.c_str());
    }
    if (outcome.rc != cib_rc::ok) {
        log_info(log_cat, "%s of %s failed (%d): %s", request->op.c_str(),
                 log::quote(origin.client_name).c_str(), outcome.rc, outcome.message.c_str());
    } else if (before) {
        auto version = read_version(root_of(store_.current()));
        log_info(log_cat, "%s of %s (user %s): CIB now %s", request->op.c_str(),
                 log::quote(origin.client_name).c_str(), log::quote(origin.user).c_str(),
                 version ? version->describe().c_str() : "?");
    }
    const std::string client_id = client.id;  // `client` may be gone once the reply was sent
    reply(operation_reply(*request, client_id, outcome.rc, outcome.output.get()));
    if (before && (request->options & call_option::inhibit_notify) == 0)
        announce_change(*request, client_id, before.get());
}

void CibService::announce(const std::string& op, const std::string& client_name, const xmlDoc* before)
{
    CibRequest request;
    request.op = op;
    request.client_name = client_name;
    announce_change(request, client_name, before);
}

void CibService::announce_change(const CibRequest& request, const std::string& origin_id,
                                 const xmlDoc* before)
{
    const CibChange change(request, origin_id, before, store_.current());
    // A listener may go while another is told (a face closing on a failed send): a copy.
    const std::vector<CibListener*> listeners = listeners_;
    for (CibListener* listener : listeners) {
        if (std::find(listeners_.begin(), listeners_.end(), listener) != listeners_.end())
            listener->cib_changed(change);
    }
}

}  // namespace outpost::cluster::controller
