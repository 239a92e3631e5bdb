#include "control/status_record.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <vector>

#include "controller/xml.hpp"
#include "util/env.hpp"
#include "wire/codes.hpp"

namespace outpost::cluster::control {

namespace {

namespace cx = controller;

const xmlChar* x(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);
}

xmlNode* child_with_id(xmlNode* parent, const char* name, const std::string& id)
{
    for (xmlNode* c : cx::element_children(parent)) {
        if (cx::is_named(c, name) && cx::attr(c, "id").value_or("") == id) return c;
    }
    return nullptr;
}

xmlNode* ensure_child(xmlNode* parent, const char* name, const std::string& id)
{
    if (xmlNode* found = child_with_id(parent, name, id)) return found;
    xmlNode* c = xmlNewChild(parent, nullptr, x(name), nullptr);
    cx::set_attr(c, "id", id);
    return c;
}

xmlNode* ensure_section(xmlDoc* cib, const char* parent_name, const char* name)
{
    xmlNode* root = cx::root_of(cib);
    xmlNode* parent = std::string(parent_name) == "cib" ? root : cx::child_named(root, parent_name);
    if (parent == nullptr) parent = xmlNewChild(root, nullptr, x(parent_name), nullptr);
    xmlNode* section = cx::child_named(parent, name);
    if (section == nullptr) section = xmlNewChild(parent, nullptr, x(name), nullptr);
    return section;
}

xmlNode* status_of(xmlDoc* cib)
{
    return ensure_section(cib, "cib", "status");
}

xmlNode* find_node_state(xmlDoc* cib, const std::string& uname)
{
    for (xmlNode* ns : cx::element_children(status_of(cib))) {
        if (cx::is_named(ns, "node_state") && cx::attr(ns, "uname").value_or("") == uname) return ns;
    }
    return nullptr;
}

xmlNode* ensure_node_state(xmlDoc* cib, const std::string& uname, const std::string& id)
{
    if (xmlNode* ns = find_node_state(cib, uname)) return ns;
    xmlNode* ns = xmlNewChild(status_of(cib), nullptr, x("node_state"), nullptr);
    cx::set_attr(ns, "id", id);
    cx::set_attr(ns, "uname", uname);
    return ns;
}

void remove_node(xmlNode* node)
{
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

void remove_children_named(xmlNode* parent, const char* name)
{
    for (xmlNode* c : cx::element_children(parent)) {
        if (cx::is_named(c, name)) remove_node(c);
    }
}

xmlNode* attribute_set(xmlNode* ns)
{
    const std::string id = cx::attr(ns, "id").value_or("");
    xmlNode* ta = ensure_child(ns, "transient_attributes", id);
    return ensure_child(ta, "instance_attributes", "status-" + id);
}

std::string attribute_suffix(const OpRecord& r)
{
    return r.rsc_id + "#" + r.task + "_" + std::to_string(r.interval_ms);
}

void set_attribute(xmlNode* set, const std::string& node_id, const std::string& name,
                   const std::string& value)
{
    std::string id = "status-" + node_id + "-" + name;
    std::replace(id.begin(), id.end(), '#', '.');
    xmlNode* nv = nullptr;
    for (xmlNode* c : cx::element_children(set)) {
        if (cx::attr(c, "name").value_or("") == name) nv = c;
    }
    if (nv == nullptr) {
        nv = xmlNewChild(set, nullptr, x("nvpair"), nullptr);
        cx::set_attr(nv, "id", id);
        cx::set_attr(nv, "name", name);
    }
    cx::set_attr(nv, "value", value);
}

std::string attribute_value(xmlNode* set, const std::string& name)
{
    for (xmlNode* c : cx::element_children(set)) {
        if (cx::attr(c, "name").value_or("") == name) return cx::attr(c, "value").value_or("");
    }
    return {};
}

void write_op(xmlNode* op, const OpRecord& r, const std::string& id)
{
    while (op->properties != nullptr)
        xmlRemoveProp(op->properties);
    const std::string key = r.rsc_id + "_" + r.task + "_" + std::to_string(r.interval_ms);
    cx::set_attr(op, "id", id);
    cx::set_attr(op, "operation_key", key);
    cx::set_attr(op, "operation", r.task);
    cx::set_attr(op, "crm-debug-origin", r.origin);
    cx::set_attr(op, "crm_feature_set", kFeatureSet);
    cx::set_attr(op, "transition-key", r.transition_key);
    cx::set_attr(op, "transition-magic", transition_magic(r.op_status, r.rc, r.transition_key));
    cx::set_attr(op, "exit-reason", r.exit_reason);
    cx::set_attr(op, "on_node", r.executed_by.empty() ? r.node : r.executed_by);
    cx::set_attr(op, "call-id", std::to_string(r.call_id));
    cx::set_attr(op, "rc-code", std::to_string(r.rc));
    cx::set_attr(op, "op-status", std::to_string(r.op_status));
    cx::set_attr(op, "interval", std::to_string(r.interval_ms));
    cx::set_attr(op, "last-rc-change", std::to_string(r.last_rc_change));
    cx::set_attr(op, "exec-time", std::to_string(r.exec_time_ms));
    cx::set_attr(op, "queue-time", std::to_string(r.queue_time_ms));
    if (!r.op_digest.empty()) cx::set_attr(op, "op-digest", r.op_digest);
    if (r.force_restart) {
        cx::set_attr(op, "op-force-restart", *r.force_restart);
        cx::set_attr(op, "op-restart-digest", r.restart_digest);
    }
    if (r.secure_params) {
        cx::set_attr(op, "op-secure-params", *r.secure_params);
        cx::set_attr(op, "op-secure-digest", r.secure_digest);
    }
}

bool is_probe(const OpRecord& r)
{
    return r.task == "monitor" && r.interval_ms == 0;
}

}  // namespace

OpRecord pending_record(OpRecord record, std::int64_t now)
{
    record.rc = wire::ocf::pending;
    record.op_status = static_cast<int>(wire::ExecStatus::pending);
    record.call_id = -1;
    record.last_rc_change = now;
    record.exec_time_ms = 0;
    record.queue_time_ms = 0;
    record.exit_reason.clear();
    return record;
}

bool records_pending(const std::string& task)
{
    return task != "cancel" && task != "notify" && task != "meta-data" && task != "delete";
}

std::string transition_key(int action, int transition, int target_rc, const std::string& dc_uuid)
{
    return std::to_string(action) + ":" + std::to_string(transition) + ":" + std::to_string(target_rc) + ":" +
           dc_uuid;
}

std::string transition_magic(int op_status, int rc, const std::string& key)
{
    return std::to_string(op_status) + ":" + std::to_string(rc) + ";" + key;
}

bool expected_result(const OpRecord& r)
{
    return r.op_status == static_cast<int>(wire::ExecStatus::done) && r.rc == r.target_rc;
}

bool counts_as_failure(const OpRecord& r)
{
    if (expected_result(r)) return false;
    if (r.op_status == static_cast<int>(wire::ExecStatus::pending)) return false;
    if (r.op_status == static_cast<int>(wire::ExecStatus::cancelled)) return false;
    if (is_probe(r) && r.op_status == static_cast<int>(wire::ExecStatus::done) &&
        (r.rc == wire::ocf::ok || r.rc == wire::ocf::not_running || r.rc == wire::ocf::running_promoted))
        return false;
    return true;
}

std::string configured_node_id(const xmlDoc* cib, const std::string& name)
{
    const xmlNode* config = cx::child_named(cx::root_of(cib), "configuration");
    const xmlNode* nodes = config != nullptr ? cx::child_named(config, "nodes") : nullptr;
    if (nodes == nullptr) return {};
    for (const xmlNode* n : cx::element_children(nodes)) {
        if (cx::is_named(n, "node") && cx::attr(n, "uname").value_or("") == name)
            return cx::attr(n, "id").value_or("");
    }
    return {};
}

void record_host_member(xmlDoc* cib, const std::string& name, const std::string& id)
{
    xmlNode* nodes = ensure_section(cib, "configuration", "nodes");
    if (configured_node_id(cib, name).empty()) {
        xmlNode* n = xmlNewChild(nodes, nullptr, x("node"), nullptr);
        cx::set_attr(n, "id", id);
        cx::set_attr(n, "uname", name);
    }
    xmlNode* root = cx::root_of(cib);
    cx::set_attr(root, "have-quorum", "1");
    cx::set_attr(root, "dc-uuid", id);
    xmlNode* ns = ensure_node_state(cib, name, id);
    cx::set_attr(ns, "in_ccm", "true");
    cx::set_attr(ns, "crmd", "online");
    cx::set_attr(ns, "crm-debug-origin", "do_state_transition");
    cx::set_attr(ns, "join", "member");
    cx::set_attr(ns, "expected", "member");
}

void forget_node_history(xmlDoc* cib, const std::string& node)
{
    if (xmlNode* ns = find_node_state(cib, node)) {
        remove_children_named(ns, "lrm");
        remove_children_named(ns, "transient_attributes");
    }
}

void forget_operation_history(xmlDoc* cib, const std::string& node)
{
    if (xmlNode* ns = find_node_state(cib, node)) remove_children_named(ns, "lrm");
}

void forget_remote_nodes(xmlDoc* cib)
{
    for (xmlNode* ns : cx::element_children(status_of(cib))) {
        if (!cx::is_named(ns, "node_state") || cx::attr(ns, "remote_node").value_or("") != "true") continue;
        remove_children_named(ns, "lrm");
        remove_children_named(ns, "transient_attributes");
        cx::set_attr(ns, "in_ccm", "false");
    }
}

void record_remote_node(xmlDoc* cib, const std::string& name, bool up)
{
    xmlNode* ns = ensure_node_state(cib, name, name);
    // Down by its fencing already: the connection's end changes nothing (pacemaker-controld
    // keeps the fencing's record).
    if (!up && cx::attr(ns, "in_ccm").value_or("") == "false" &&
        cx::attr(ns, "crm-debug-origin").value_or("") == "send_stonith_update")
        return;
    cx::set_attr(ns, "remote_node", "true");
    cx::set_attr(ns, "in_ccm", up ? "true" : "false");
    cx::set_attr(ns, "crm-debug-origin", up ? "remote_node_init_status" : "remote_node_down");
    if (up) cx::set_attr(ns, "node_fenced", "0");
}

void record_shutdown_request(xmlDoc* cib, const std::string& name, std::int64_t when)
{
    xmlNode* ns = ensure_node_state(cib, name, name);
    set_attribute(attribute_set(ns), name, "shutdown", std::to_string(when));
}

void record_node_maintenance(xmlDoc* cib, const std::string& name, bool on)
{
    xmlNode* ns = ensure_node_state(cib, name, name);
    cx::set_attr(ns, "remote_node", "true");
    cx::set_attr(ns, "node_in_maintenance", on ? "1" : "0");
}

namespace {

// The value of nvpair `name` in the element's child sets named `set_name` ("" if none).
std::string nvpair_in(const xmlNode* element, const char* set_name, const std::string& name)
{
    for (const xmlNode* set : cx::element_children(element)) {
        if (!cx::is_named(set, set_name)) continue;
        for (const xmlNode* nv : cx::element_children(set)) {
            if (cx::attr(nv, "name").value_or("") == name) return cx::attr(nv, "value").value_or("");
        }
    }
    return "";
}

void find_primitives(const xmlNode* parent, std::vector<const xmlNode*>& out)
{
    for (const xmlNode* c : cx::element_children(parent)) {
        if (cx::is_named(c, "primitive")) {
            out.push_back(c);
        } else {
            find_primitives(c, out);  // groups, clones
        }
    }
}

}  // namespace

std::string shutdown_refusal(const xmlDoc* cib, const std::string& name)
{
    const xmlNode* config = cx::child_named(cx::root_of(cib), "configuration");
    if (config == nullptr) return "";
    if (const xmlNode* crm_config = cx::child_named(config, "crm_config")) {
        if (env::is_true_word(nvpair_in(crm_config, "cluster_property_set", "maintenance-mode")))
            return "the cluster is in maintenance mode";
    }
    const xmlNode* resources = cx::child_named(config, "resources");
    if (resources == nullptr) return "";
    std::vector<const xmlNode*> primitives;
    find_primitives(resources, primitives);
    for (const xmlNode* p : primitives) {
        const bool connection = cx::attr(p, "id").value_or("") == name;
        const bool container = nvpair_in(p, "meta_attributes", "remote-node") == name;
        if (!connection && !container) continue;
        const std::string id = cx::attr(p, "id").value_or("");
        // Pacemaker's test: a resource is managed only while is-managed, when set, is true.
        const std::string managed = nvpair_in(p, "meta_attributes", "is-managed");
        if (!managed.empty() && !env::is_true_word(managed)) return id + " is not managed";
        if (env::is_true_word(nvpair_in(p, "meta_attributes", "maintenance")))
            return id + " is in maintenance";
    }
    return "";
}

std::vector<std::string> guests_of_container(const xmlDoc* cib, const std::string& container)
{
    const xmlNode* config = cx::child_named(cx::root_of(cib), "configuration");
    const xmlNode* resources = cx::child_named(config, "resources");
    std::vector<std::string> guests;
    if (resources == nullptr) return guests;
    std::vector<const xmlNode*> primitives;
    find_primitives(resources, primitives);
    for (const xmlNode* p : primitives) {
        if (cx::attr(p, "id").value_or("") != container) continue;
        if (std::string guest = nvpair_in(p, "meta_attributes", "remote-node"); !guest.empty())
            guests.push_back(std::move(guest));
    }
    return guests;
}

bool shutdown_requested(const xmlDoc* cib, const std::string& name)
{
    const xmlNode* status = cx::child_named(cx::root_of(cib), "status");
    if (status == nullptr) return false;
    for (const xmlNode* ns : cx::element_children(status)) {
        if (!cx::is_named(ns, "node_state") || cx::attr(ns, "uname").value_or("") != name) continue;
        const xmlNode* ta = cx::child_named(ns, "transient_attributes");
        for (const xmlNode* set : ta != nullptr ? cx::element_children(ta) : std::vector<xmlNode*>{}) {
            for (const xmlNode* nv : cx::element_children(set)) {
                if (cx::attr(nv, "name").value_or("") != "shutdown") continue;
                const std::string value = cx::attr(nv, "value").value_or("0");
                if (!value.empty() && value != "0") return true;
            }
        }
    }
    return false;
}

void forget_transient_attributes(xmlDoc* cib, const std::string& name)
{
    if (xmlNode* ns = find_node_state(cib, name)) remove_children_named(ns, "transient_attributes");
}

void record_guest_fenced(xmlDoc* cib, const std::string& name)
{
    forget_node_history(cib, name);
    record_remote_node(cib, name, false);
}

void record_remote_fenced(xmlDoc* cib, const std::string& name, std::int64_t when)
{
    forget_node_history(cib, name);
    xmlNode* ns = ensure_node_state(cib, name, name);
    cx::set_attr(ns, "remote_node", "true");
    cx::set_attr(ns, "in_ccm", "false");
    cx::set_attr(ns, "crm-debug-origin", "send_stonith_update");
    cx::set_attr(ns, "node_fenced", std::to_string(when));
}

void record_operation(xmlDoc* cib, const OpRecord& result)
{
    OpRecord r = result;
    if (r.task == "reload" || r.task == "reload-agent")
        r.task = r.op_status == static_cast<int>(wire::ExecStatus::done) ? "start" : "monitor";
    xmlNode* ns = ensure_node_state(cib, r.node, r.node_id);
    if (r.remote_node) cx::set_attr(ns, "remote_node", "true");
    xmlNode* lrm = ensure_child(ns, "lrm", r.node_id);
    xmlNode* resources = cx::child_named(lrm, "lrm_resources");
    if (resources == nullptr) resources = xmlNewChild(lrm, nullptr, x("lrm_resources"), nullptr);
    xmlNode* lr = ensure_child(resources, "lrm_resource", r.rsc_id);
    cx::set_attr(lr, "type", r.rsc_type);
    cx::set_attr(lr, "class", r.rsc_class);
    if (!r.rsc_provider.empty()) cx::set_attr(lr, "provider", r.rsc_provider);
    const std::string id = r.interval_ms > 0 ? r.rsc_id + "_" + r.task + "_" + std::to_string(r.interval_ms)
                                             : r.rsc_id + "_last_0";
    write_op(ensure_child(lr, "lrm_rsc_op", id), r, id);
    if (counts_as_failure(r)) {
        const std::string failure = r.rsc_id + "_last_failure_0";
        write_op(ensure_child(lr, "lrm_rsc_op", failure), r, failure);
    }
}

void forget_recurring(xmlDoc* cib, const std::string& node, const std::string& rsc_id, const std::string& key)
{
    xmlNode* ns = find_node_state(cib, node);
    xmlNode* lrm = ns != nullptr ? cx::child_named(ns, "lrm") : nullptr;
    xmlNode* resources = lrm != nullptr ? cx::child_named(lrm, "lrm_resources") : nullptr;
    xmlNode* lr = resources != nullptr ? child_with_id(resources, "lrm_resource", rsc_id) : nullptr;
    if (lr == nullptr) return;
    for (xmlNode* op : cx::element_children(lr)) {
        if (cx::attr(op, "interval").value_or("0") == "0") continue;
        // A failure stays recorded (until a cleanup) even when its monitor goes.
        if (cx::attr(op, "id").value_or("").ends_with("_last_failure_0")) continue;
        if (!key.empty() && cx::attr(op, "operation_key").value_or("") != key) continue;
        remove_node(op);
    }
}

void forget_resource(xmlDoc* cib, const std::string& node, const std::string& rsc_id)
{
    xmlNode* ns = find_node_state(cib, node);
    xmlNode* lrm = ns != nullptr ? cx::child_named(ns, "lrm") : nullptr;
    xmlNode* resources = lrm != nullptr ? cx::child_named(lrm, "lrm_resources") : nullptr;
    if (xmlNode* lr = resources != nullptr ? child_with_id(resources, "lrm_resource", rsc_id) : nullptr)
        remove_node(lr);
}

void count_failure(xmlDoc* cib, const OpRecord& r, std::int64_t now)
{
    xmlNode* ns = ensure_node_state(cib, r.node, r.node_id);
    xmlNode* set = attribute_set(ns);
    const std::string count_name = "fail-count-" + attribute_suffix(r);
    const std::string old = attribute_value(set, count_name);
    std::string value = "INFINITY";
    if (old != "INFINITY") {
        const long long n = old.empty() ? 0 : std::atoll(old.c_str());
        value = n >= 1000000 - 1 ? std::string("INFINITY") : std::to_string(n + 1);
    }
    // A failed start is fatal for the node (start-failure-is-fatal, the default): attrd gets
    // INFINITY from the controller then.
    if (r.task == "start") value = "INFINITY";
    set_attribute(set, r.node_id, count_name, value);
    set_attribute(set, r.node_id, "last-failure-" + attribute_suffix(r), std::to_string(now));
}

std::vector<RecordedFailure> recorded_failures(const xmlDoc* cib)
{
    std::vector<RecordedFailure> found;
    const xmlNode* status = cx::child_named(cx::root_of(cib), "status");
    if (status == nullptr) return found;
    constexpr std::string_view kPrefix = "last-failure-";
    for (const xmlNode* ns : cx::element_children(status)) {
        const xmlNode* ta = cx::child_named(ns, "transient_attributes");
        for (const xmlNode* set : ta != nullptr ? cx::element_children(ta) : std::vector<xmlNode*>{}) {
            for (const xmlNode* nv : cx::element_children(set)) {
                const std::string name = cx::attr(nv, "name").value_or("");
                const std::size_t hash = name.find('#');
                if (!name.starts_with(kPrefix) || hash == std::string::npos) continue;
                found.push_back({cx::attr(ns, "uname").value_or(""),
                                 name.substr(kPrefix.size(), hash - kPrefix.size()),
                                 std::atoll(cx::attr(nv, "value").value_or("0").c_str())});
            }
        }
    }
    return found;
}

void clear_failures(xmlDoc* cib, const std::string& node, const std::string& rsc_id)
{
    xmlNode* ns = find_node_state(cib, node);
    if (ns == nullptr) return;
    // The failure's history entry goes too, as Pacemaker's controller deletes it: for a
    // connection with reconnect_interval the scheduler asks for a clear as long as an
    // expired <rsc>_last_failure_0 remains.
    xmlNode* lrm = cx::child_named(ns, "lrm");
    xmlNode* resources = lrm != nullptr ? cx::child_named(lrm, "lrm_resources") : nullptr;
    if (xmlNode* lr = resources != nullptr ? child_with_id(resources, "lrm_resource", rsc_id) : nullptr) {
        if (xmlNode* failure = child_with_id(lr, "lrm_rsc_op", rsc_id + "_last_failure_0"))
            remove_node(failure);
    }
    xmlNode* ta = cx::child_named(ns, "transient_attributes");
    if (ta == nullptr) return;
    for (xmlNode* set : cx::element_children(ta)) {
        for (xmlNode* nv : cx::element_children(set)) {
            const std::string name = cx::attr(nv, "name").value_or("");
            if (name.starts_with("fail-count-" + rsc_id + "#") ||
                name.starts_with("last-failure-" + rsc_id + "#"))
                remove_node(nv);
        }
    }
}

void clear_failure_attributes(xmlDoc* cib, const std::string& node, const std::string& rsc_id,
                              const std::string& operation, const std::string& interval_ms)
{
    std::string suffix = rsc_id.empty() ? std::string() : rsc_id + "#";
    if (!suffix.empty() && !operation.empty())
        suffix += operation + "_" + (interval_ms.empty() ? std::string("0") : interval_ms);
    for (xmlNode* ns : cx::element_children(status_of(cib))) {
        if (!cx::is_named(ns, "node_state")) continue;
        if (!node.empty() && cx::attr(ns, "uname").value_or("") != node) continue;
        xmlNode* ta = cx::child_named(ns, "transient_attributes");
        if (ta == nullptr) continue;
        for (xmlNode* set : cx::element_children(ta)) {
            for (xmlNode* nv : cx::element_children(set)) {
                const std::string name = cx::attr(nv, "name").value_or("");
                const bool whole = operation.empty() || rsc_id.empty();
                if ((whole && (name.starts_with("fail-count-" + suffix) ||
                               name.starts_with("last-failure-" + suffix))) ||
                    (!whole && (name == "fail-count-" + suffix || name == "last-failure-" + suffix)))
                    remove_node(nv);
            }
        }
    }
}

namespace {

const xmlNode* lrm_resources_of(const xmlDoc* cib, const std::string& node)
{
    // find_node_state only reads; it is shared with the editing functions.
    const xmlNode* ns =
        find_node_state(const_cast<xmlDoc*>(cib), node);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    const xmlNode* lrm = ns != nullptr ? cx::child_named(ns, "lrm") : nullptr;
    return lrm != nullptr ? cx::child_named(lrm, "lrm_resources") : nullptr;
}

}  // namespace

int highest_call_id(const xmlDoc* cib, const std::string& node)
{
    int highest = 0;
    const xmlNode* resources = lrm_resources_of(cib, node);
    if (resources == nullptr) return highest;
    for (const xmlNode* lr : cx::element_children(resources)) {
        for (const xmlNode* op : cx::element_children(lr)) {
            const std::string text = cx::attr(op, "call-id").value_or("0");
            int id = 0;
            (void)std::from_chars(text.data(), text.data() + text.size(), id);
            highest = std::max(highest, id);
        }
    }
    return highest;
}

std::vector<std::string> history_resources(const xmlDoc* cib, const std::string& node)
{
    std::vector<std::string> ids;
    const xmlNode* resources = lrm_resources_of(cib, node);
    if (resources == nullptr) return ids;
    for (const xmlNode* lr : cx::element_children(resources)) {
        if (auto id = cx::attr(lr, "id")) ids.push_back(*id);
    }
    return ids;
}

}  // namespace outpost::cluster::control

namespace outpost::cluster::control {

namespace {

// The nvpair named `name` in any set of a node's transient attributes.
xmlNode* find_transient(xmlNode* ns, const std::string& name)
{
    xmlNode* ta = ns != nullptr ? cx::child_named(ns, "transient_attributes") : nullptr;
    if (ta == nullptr) return nullptr;
    for (xmlNode* set : cx::element_children(ta)) {
        for (xmlNode* nv : cx::element_children(set)) {
            if (cx::is_named(nv, "nvpair") && cx::attr(nv, "name").value_or("") == name) return nv;
        }
    }
    return nullptr;
}

}  // namespace

std::optional<std::string> transient_attribute(const xmlDoc* cib, const std::string& node,
                                               const std::string& name)
{
    // find_node_state only reads here; it is shared with the editing functions.
    xmlDoc* doc = const_cast<xmlDoc*>(cib);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    const xmlNode* nv = find_transient(find_node_state(doc, node), name);
    if (nv == nullptr) return std::nullopt;
    return cx::attr(nv, "value").value_or("");
}

std::vector<std::pair<std::string, std::string>> transient_attribute_values(const xmlDoc* cib,
                                                                            const std::string& name)
{
    std::vector<std::pair<std::string, std::string>> found;
    const xmlNode* status = cx::child_named(cx::root_of(cib), "status");
    if (status == nullptr) return found;
    for (xmlNode* ns : cx::element_children(status)) {
        if (!cx::is_named(ns, "node_state")) continue;
        if (const xmlNode* nv = find_transient(ns, name))
            found.emplace_back(cx::attr(ns, "uname").value_or(""), cx::attr(nv, "value").value_or(""));
    }
    return found;
}

bool write_transient_attribute(xmlDoc* cib, const std::string& node, const std::string& name,
                               const std::optional<std::string>& value, const std::string& set,
                               const std::string& create_id)
{
    xmlNode* ns = find_node_state(cib, node);
    if (ns == nullptr && create_id.empty()) return false;
    if (ns == nullptr) ns = ensure_node_state(cib, node, create_id);
    if (!value) {
        while (xmlNode* nv = find_transient(ns, name))
            remove_node(nv);
        return true;
    }
    if (set.empty()) {
        // An existing nvpair elsewhere (another set) keeps its place.
        if (xmlNode* nv = find_transient(ns, name)) {
            cx::set_attr(nv, "value", *value);
            return true;
        }
        set_attribute(attribute_set(ns), cx::attr(ns, "id").value_or(node), name, *value);
        return true;
    }
    const std::string node_id = cx::attr(ns, "id").value_or(node);
    xmlNode* ta = ensure_child(ns, "transient_attributes", node_id);
    xmlNode* target = ensure_child(ta, "instance_attributes", set);
    xmlNode* nv = find_transient(ns, name);
    if (nv != nullptr && nv->parent != target) {
        remove_node(nv);
        nv = nullptr;
    }
    if (nv == nullptr) {
        std::string id = set + "-" + name;
        std::replace(id.begin(), id.end(), '#', '.');
        nv = xmlNewChild(target, nullptr, x("nvpair"), nullptr);
        cx::set_attr(nv, "id", id);
        cx::set_attr(nv, "name", name);
    }
    cx::set_attr(nv, "value", *value);
    return true;
}

}  // namespace outpost::cluster::control
