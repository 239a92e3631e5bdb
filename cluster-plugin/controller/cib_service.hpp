// CibService: what outpost-controld's CIB manager does with one request of one client,
// whichever way the client came: a local libqb connection (ipc_faces) or a tool inside a
// guest or remote node, proxied over that node's connection (control/guest_ipc). Both faces
// run this one code path, so a tool sees the same answers, the same read-only rule and the
// same update-origin wherever it runs.
//
// A request is register, cib_notify (subscribe to cib_diff_notify) or an operation (read or
// write; writes on a read-only client are refused with -EACCES). With enable-acl, a user
// other than root and hacluster reads and writes what the CIB's ACLs allow (cib_acl.hpp),
// and hears of changes only as far as they may read them (stricter than 2.1.5, observed
// sending such a user's crm_mon every change whole, denied parts included). The reply goes to the face
// first; when the request changed the CIB, every listener (each face) then hears of the
// change and pushes the <notify> to its clients that subscribed. A request that is not a
// valid CIB request is answered with -EBADMSG (when the tool waits for an answer).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controller/cib_acl.hpp"
#include "controller/cib_request.hpp"
#include "controller/cib_store.hpp"
#include "controller/xml.hpp"
#include "util/result.hpp"
#include "wire/xml.hpp"

namespace outpost::cluster::controller {

// One CIB client as the service sees it; the face keeps it.
struct CibClient {
    std::string id;          // the CIB client id handed out at register (random, set by the face)
    std::string name;        // what the tool calls itself
    std::string user;        // local peer credentials, or the user a guest's proxy names
    bool read_only = false;  // cib_ro
    bool diff_notify = false;
};

// One change, as the listeners get it. The <notify> is built once, on first use.
class CibChange {
public:
    CibChange(const CibRequest& request, std::string origin_id, const xmlDoc* before, const xmlDoc* after)
        : request_(request), origin_id_(std::move(origin_id)), before_(before), after_(after)
    {
    }
    [[nodiscard]] const std::string& notification() const;
    // The same parsed, also once for all listeners (each guest's proxied sessions get it as
    // an element: parsing it per guest cost as much as sending it); an Error if it cannot be
    // parsed.
    [[nodiscard]] const Result<wire::Element>& notification_element() const;
    // The notification `client` may see: the whole one, or, for a user ACLs restrict, the
    // change between what they may read before and after it (built once per user);
    // nullptr when that shows them nothing.
    [[nodiscard]] const std::string* notification_for(const CibClient& client) const;

private:
    const CibRequest& request_;
    std::string origin_id_;
    const xmlDoc* before_;
    const xmlDoc* after_;
    mutable std::string notification_;
    mutable std::optional<Result<wire::Element>> element_;
    // By user: nullopt for the whole notification, "" for none, else the user's own.
    [[nodiscard]] std::optional<std::string> filtered_notification(const std::string& user) const;
    mutable std::map<std::string, std::optional<std::string>> filtered_;
};

// The ACL rules that restrict a request of `connected_user` (naming `requested_user`, the
// CIB_user of its request, if any) on `cib`; nullopt when ACLs do not apply (enable-acl
// false, root, hacluster).
std::optional<std::vector<AclRule>> acl_rules_of(const xmlDoc* cib, const std::string& connected_user,
                                                 const std::string& requested_user);

class CibListener {
public:
    virtual ~CibListener() = default;
    virtual void cib_changed(const CibChange& change) = 0;
};

class CibService {
public:
    CibService(CibStore& store, std::string node_name) : store_(store), node_name_(std::move(node_name)) {}
    CibService(const CibService&) = delete;
    CibService& operator=(const CibService&) = delete;
    ~CibService() = default;

    [[nodiscard]] CibStore& store() { return store_; }

    // Borrowed: a listener removes itself before it goes.
    void add_listener(CibListener& listener);
    void remove_listener(CibListener& listener);

    // Handles one request (`xml`, at most `max_size` bytes) of `client`. `reply` gets the
    // answer, if there is one to send (a bad request gets one only when the tool waits for
    // it); `client` is not used once `reply` was called (the face may drop it there). A
    // change is then announced to every listener.
    using Reply = std::function<void(const std::string& xml)>;
    void handle(CibClient& client, std::string_view xml, std::size_t max_size, bool wants_response,
                const Reply& reply);

    // Announces a change made in the daemon itself (the control loop's status updates, as
    // `op` by `client_name`); `before` is the CIB before it.
    void announce(const std::string& op, const std::string& client_name, const xmlDoc* before);

private:
    void announce_change(const CibRequest& request, const std::string& origin_id, const xmlDoc* before);

    CibStore& store_;
    std::string node_name_;  // recorded as update-origin
    std::vector<CibListener*> listeners_;
    std::set<std::string> acl_problems_logged_;  // ACL rules found broken, logged once each
};

}  // namespace outpost::cluster::controller
