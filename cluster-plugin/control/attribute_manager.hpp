// AttributeManager: outpost-controld's attribute manager, what pacemaker-attrd is to a
// cluster: transient node attributes set by attrd_updater, crm_attribute -l reboot and
// resource agents (through the local attrd name or a guest's proxied session), kept in the
// CIB's status section (status_record: node_state/transient_attributes, the same places the
// control loop writes fail counts to), so that the scheduler, crm_mon and crm_attribute see
// them. As 2.1.5 behaves (observed; docs/architecture.md, "The attrd face"):
//   - update sets a node's value ("value++"/"value+=N" expanded), written at once when
//     the attribute has no dampening; with one, the write waits until the value has not
//     changed for that long (each change restarts the wait). No attr_value unsets it
//     (the nvpair leaves the CIB; the node still "knows" it: query answers it unset).
//   - update-delay changes the dampening and writes at once; update-both does both (an
//     invalid dampening refuses the whole request, acked all the same).
//   - private attributes (attr_is_private on the request that creates it) stay in memory
//     (and, for the host, in a file of their own: see the constructor).
//   - query answers the current value (a pending one too) of one node or of every node
//     that knows the attribute; refresh writes every pending value now; clear-failure
//     removes fail-count-* and last-failure-* (one resource, operation, node, or all).
// What is written is read back from the CIB, which stays the one truth: a fail count the
// control loop records, or a cleanup, is what query answers next. A value for a node with
// no node_state (unknown, or a remote node whose connection is down) stays in memory,
// unwritten, as pacemaker-attrd keeps a value for a peer it has no id for, until the next
// write of that attribute (or a refresh) finds the node.
// Writes carry the client name "attrd", so the control loop runs the scheduler on them.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "controller/attrd.hpp"
#include "controller/cib_service.hpp"
#include "io/source.hpp"

namespace outpost::cluster::control {

// The client name on the manager's CIB updates (pacemaker-attrd's).
inline constexpr const char* kAttrdClient = "attrd";
// What outpost-controld adds to the CIB file's name for the private attributes file.
inline constexpr const char* kPrivateSuffix = ".private-attributes";
// Attribute names held at most (a guest's tools reach the manager too: a flood of new
// names is refused, logged, not kept). Each holds at most this many nodes.
inline constexpr std::size_t kMaxAttributes = 4096;
inline constexpr std::size_t kMaxAttributeNodes = 1024;

class AttributeManager final : public controller::AttributeService {
public:
    // `service` is borrowed and must outlive the manager; `host_name` is the controller's
    // node (an op without attr_host from a local tool is for it). With `private_file`, the
    // host's private values are kept there too (written atomically on every change, read
    // back here), so they survive a restart of the daemon as the CIB's transient attributes
    // do: what pacemaker-attrd keeps in memory while only its controller restarts. Remote
    // and guest nodes' values are not kept: their attributes go when their connection
    // starts again anyway.
    AttributeManager(GMainContext* context, controller::CibService& service, std::string host_name,
                     std::string private_file = {});
    AttributeManager(const AttributeManager&) = delete;
    AttributeManager& operator=(const AttributeManager&) = delete;
    ~AttributeManager() override = default;

    std::string handle(const controller::AttrdOp& op, const std::string& local_node) override;

    // The current value of `name` on `node` (pending, private or as written), nullopt when
    // unset or unknown.
    [[nodiscard]] std::optional<std::string> value(const std::string& name, const std::string& node) const;
    // Whether a write of `name` waits for its dampening.
    [[nodiscard]] bool pending(const std::string& name) const;

private:
    struct NodeValue {
        std::optional<std::string> value;
        bool pending = false;  // not yet in the CIB (dampening, or the node has no node_state)
    };
    struct Attribute {
        std::chrono::milliseconds delay{0};
        bool is_private = false;
        std::string set;
        std::map<std::string, NodeValue> nodes;  // every node that knows it
        io::Source timer;                        // the dampening wait, while one runs
    };

    std::string update(const controller::AttrdOp& op, const std::string& node);
    std::string query(const controller::AttrdOp& op) const;
    std::string clear_failure(const controller::AttrdOp& op, const std::string& node);
    [[nodiscard]] std::optional<std::string> current(const std::string& name, const Attribute* attribute,
                                                     const std::string& node) const;
    // Writes the attribute's pending values now (timer cancelled).
    void write(const std::string& name);
    // The host's private values, to and from private_file_.
    void save_private() const;
    void load_private();
    // Applies `edit` to a copy of the CIB and stores it as a change made by "attrd".
    void update_cib(const std::function<void(xmlDoc*)>& edit);

    GMainContext* context_;
    controller::CibService& service_;
    std::string host_name_;
    std::string private_file_;
    std::map<std::string, Attribute> attributes_;
};

}  // namespace outpost::cluster::control
