// CibFollower: the agent's own session to the cluster's CIB (docs/isolation.md, "Limits from
// the CIB, live"). Once a cluster node has registered as IPC provider, the agent opens a
// proxied cib_ro session of its own exactly as a guest tool's session is proxied
// (docs/protocol.md 4.3: new, request, response/event, destroy), registers, subscribes to
// cib_diff_notify, queries the configuration section and hands the resources' outpost-* meta
// attributes (rsc_defaults and rules applied, cibfollow/resource_meta.hpp) to the isolation
// manager, which applies them to running resources at once. Each change of the configuration
// is read again (debounced); the last one read is evaluated again when a date in a rule
// changes its outcome and when the agent learns its node name (the manager sees it in the
// actions' CRM_meta_on_node). The session is opened again on the
// newest provider when its provider goes, and after a failure, after a pause.
//
// No local tool ever sees it: the proxy routes its messages here (proxy::OwnSession) and does
// not count it as a local client. One request is in flight at a time, each bounded by a
// timeout; what comes in is bounded by the connection's message limit already.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cibfollow/rules.hpp"
#include "io/deferred.hpp"
#include "io/source.hpp"
#include "isolation/manager.hpp"
#include "proxy/endpoint.hpp"
#include "wire/xml.hpp"

namespace outpost::agent::cibfollow {

// A date rule further ahead than this is looked at again after this long anyway.
inline constexpr std::int64_t kMaxReevaluateDelayS = std::int64_t{24} * 3600;

struct FollowerOptions {
    // A burst of changes is read once, this long after its first notification.
    std::chrono::milliseconds debounce{200};
    // How long a start waits for the first snapshot once a session is opening.
    std::chrono::milliseconds first_snapshot_wait{3000};
    // An unanswered request ends the session (opened again after retry_delay).
    std::chrono::milliseconds request_timeout{10000};
    std::chrono::milliseconds retry_delay{5000};
    std::string client_name = "outpost-agent";  // cib_clientname, in the cluster's logs
};

class CibFollower final : public proxy::OwnSession {
public:
    // `host` (the server) and `limits` are borrowed and must outlive the follower.
    CibFollower(GMainContext* context, proxy::ProxyHost& host, isolation::Manager& limits,
                FollowerOptions options = {});
    CibFollower(const CibFollower&) = delete;
    CibFollower& operator=(const CibFollower&) = delete;
    // Destroys the session if one is open.
    ~CibFollower() override;

    // proxy::OwnSession
    [[nodiscard]] bool owns(std::string_view session) const override
    {
        return !session_.empty() && session == session_;
    }
    void response(std::uint32_t ipc_msg_id, const wire::Element& msg) override;
    void event(const wire::Element& msg) override;
    void destroyed() override;
    void provider_added(std::string_view provider_client_id) override;
    void provider_gone(std::string_view provider_client_id) override;

    // For tests and logs.
    [[nodiscard]] const std::string& session() const { return session_; }
    [[nodiscard]] bool following() const { return step_ == Step::idle || step_ == Step::querying; }
    [[nodiscard]] std::uint64_t snapshots() const { return snapshots_; }
    // How often the configuration was evaluated (applied to the limits).
    [[nodiscard]] std::uint64_t evaluations() const { return evaluations_; }

private:
    enum class Step { closed, registering, subscribing, querying, idle };
    enum class Query { configuration, transient };

    void open_on_newest();
    void open(const std::string& provider);
    void close(const char* why, bool tell_provider);
    void fail(const std::string& why, bool tell_provider);
    bool send(wire::Element request);
    // A cib_query of `section` (a section's name, or an XPath with cib_xpath in `callopt`).
    wire::Element query_of(const std::string& section, const char* callopt);
    void query();
    void query_transient();
    // After an answer: the next read that is due, after the debounce.
    void read_later();
    void answered(const wire::Element& msg);
    void snapshot(const wire::Element& reply);
    // Its answer (nullopt: none asked, there is no node name XPath can name).
    void transient_read(const std::optional<wire::Element>& reply);
    void changed(const wire::Element& notify);
    // Applies the last configuration read, for the node and the time now.
    void evaluate(bool first);
    void node_known();

    GMainContext* context_;
    proxy::ProxyHost& host_;
    isolation::Manager& limits_;
    FollowerOptions options_;
    std::string user_;

    std::string session_;  // empty: none open
    std::string provider_;
    std::string client_name_;
    std::string cib_client_id_;
    Step step_ = Step::closed;
    bool awaiting_ = false;                  // a request is in flight
    Query querying_ = Query::configuration;  // what the query in flight asks for
    // Changed since read (or while a query was in flight): the configuration, this node's
    // transient attributes.
    bool stale_ = false;
    bool transient_stale_ = false;
    std::uint32_t next_msg_id_ = 0;
    std::int64_t next_call_id_ = 0;
    std::uint64_t snapshots_ = 0;
    std::uint64_t evaluations_ = 0;

    io::Source debounce_;
    io::Source first_wait_;
    io::Source request_timer_;
    io::Source retry_timer_;
    io::Source reevaluate_;
    wire::Element configuration_;         // the last one read
    std::optional<bool> evaluation_due_;  // a snapshot waits for them (whether the first)
    std::string asked_node_;              // whose transient attributes are being read
    std::string transient_node_;          // whose transient attributes were read last ("": none)
    std::string transient_id_;            // its node_state's id, as change paths name it
    NodeAttrs transient_;                 // the last ones read
    std::string skipped_;                 // what the last evaluation left out (logged when it changes)
    io::Deferred deferred_{context_};
};

}  // namespace outpost::agent::cibfollow
