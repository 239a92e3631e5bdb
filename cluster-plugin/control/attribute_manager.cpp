#include "control/attribute_manager.hpp"

#include <cstdlib>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "control/cib_edit.hpp"
#include "control/status_record.hpp"
#include "controller/cib_file.hpp"
#include "controller/xml.hpp"
#include "util/log.hpp"

namespace outpost::cluster::control {

namespace {

const log::Category log_cat{"control.attrd"};

namespace cx = controller;

// The private attributes file: <private_attributes><attribute name= value= [set=]
// [dampen-ms=]/>...</private_attributes>, the host's values only.
constexpr const char* kPrivateRoot = "private_attributes";
constexpr std::size_t kMaxPrivateFile = std::size_t{16} << 20;

// The ack function names 2.1.5 sends (tools only read the status).
constexpr const char* kUpdateAck = "handle_update_request";

std::string show(const std::optional<std::string>& value)
{
    return value ? log::quote(*value) : std::string("(unset)");
}

}  // namespace

AttributeManager::AttributeManager(GMainContext* context, controller::CibService& service,
                                   std::string host_name, std::string private_file)
    : context_(context),
      service_(service),
      host_name_(std::move(host_name)),
      private_file_(std::move(private_file))
{
    load_private();
}

void AttributeManager::save_private() const
{
    if (private_file_.empty()) return;
    auto doc = cx::new_document(kPrivateRoot);
    xmlNode* root = cx::root_of(doc.get());
    for (const auto& [name, attribute] : attributes_) {
        if (!attribute.is_private) continue;
        auto found = attribute.nodes.find(host_name_);
        if (found == attribute.nodes.end() || !found->second.value) continue;
        xmlNode* a = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("attribute"), nullptr);
        cx::set_attr(a, "name", name);
        cx::set_attr(a, "value", *found->second.value);
        if (!attribute.set.empty()) cx::set_attr(a, "set", attribute.set);
        if (attribute.delay.count() > 0)
            cx::set_attr(a, "dampen-ms", std::to_string(attribute.delay.count()));
    }
    if (auto saved = controller::save_cib_file(private_file_, doc.get()); !saved)
        log_error(log_cat, "Cannot keep the private attributes in %s (%s)", private_file_.c_str(),
                  saved.error().message.c_str());
}

void AttributeManager::load_private()
{
    if (private_file_.empty()) return;
    gchar* contents = nullptr;
    gsize length = 0;
    GError* error = nullptr;
    if (!g_file_get_contents(private_file_.c_str(), &contents, &length, &error)) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            log_warning(log_cat, "Cannot read the private attributes in %s (%s)", private_file_.c_str(),
                        error->message);
        g_clear_error(&error);
        return;
    }
    const std::string text(contents, length);
    g_free(contents);
    auto doc = cx::parse_document(text, kMaxPrivateFile, "private attributes");
    const xmlNode* root = doc ? cx::root_of(doc->get()) : nullptr;
    if (root == nullptr || !cx::is_named(root, kPrivateRoot)) {
        log_warning(log_cat, "Ignoring %s: not a list of private attributes", private_file_.c_str());
        return;
    }
    for (const xmlNode* a : cx::element_children(root)) {
        auto name = cx::attr(a, "name");
        auto value = cx::attr(a, "value");
        if (!cx::is_named(a, "attribute") || !name || name->empty() || !value) continue;
        if (attributes_.size() >= kMaxAttributes) break;
        Attribute& attribute = attributes_[*name];
        attribute.is_private = true;
        attribute.set = cx::attr(a, "set").value_or("");
        attribute.delay =
            std::chrono::milliseconds(std::atoll(cx::attr(a, "dampen-ms").value_or("0").c_str()));
        attribute.nodes[host_name_].value = *value;
    }
    log_info(log_cat, "Read %zu private attribute%s of %s from %s", attributes_.size(),
             attributes_.size() == 1 ? "" : "s", host_name_.c_str(), private_file_.c_str());
}

std::string AttributeManager::handle(const controller::AttrdOp& op, const std::string& local_node)
{
    const std::string node = op.host.empty() ? local_node : op.host;
    if (op.task == "update" || op.task == "update-both" || op.task == "update-delay") return update(op, node);
    if (op.task == "query") return query(op);
    if (op.task == "clear-failure") return clear_failure(op, op.host);
    if (op.task == "refresh") {
        log_info(log_cat, "Writing every attribute on request of %s", log::quote(op.source).c_str());
        std::vector<std::string> names;
        for (const auto& [name, attribute] : attributes_)
            names.push_back(name);
        for (const auto& name : names)
            write(name);
        return controller::attrd_ack("attrd_client_refresh");
    }
    // peer-remove, sync-response and the peer protocol: nothing to do on one host.
    log_info(log_cat, "Ignoring attrd request %s of %s", log::quote(op.task).c_str(),
             log::quote(op.source).c_str());
    return controller::attrd_ack(kUpdateAck);
}

std::optional<std::string> AttributeManager::current(const std::string& name, const Attribute* attribute,
                                                     const std::string& node) const
{
    if (attribute != nullptr) {
        auto found = attribute->nodes.find(node);
        if (found != attribute->nodes.end() && (attribute->is_private || found->second.pending))
            return found->second.value;
    }
    return transient_attribute(service_.store().current(), node, name);
}

std::optional<std::string> AttributeManager::value(const std::string& name, const std::string& node) const
{
    auto found = attributes_.find(name);
    return current(name, found != attributes_.end() ? &found->second : nullptr, node);
}

bool AttributeManager::pending(const std::string& name) const
{
    auto found = attributes_.find(name);
    return found != attributes_.end() && found->second.timer.active();
}

std::string AttributeManager::update(const controller::AttrdOp& op, const std::string& node)
{
    std::optional<std::chrono::milliseconds> delay;
    if (op.task != "update") {
        delay = op.dampening ? controller::parse_dampening(*op.dampening) : std::nullopt;
        if (!delay) {
            log_warning(log_cat, "Ignoring %s of %s: invalid dampening %s", op.task.c_str(), op.name.c_str(),
                        op.dampening ? log::quote(*op.dampening).c_str() : "(none)");
            return controller::attrd_ack(kUpdateAck);
        }
    }
    const bool created = attributes_.count(op.name) == 0;
    if (created && attributes_.size() >= kMaxAttributes) {
        log_warning(log_cat, "Refusing attribute %s of %s: %zu attributes held already",
                    log::quote(op.name).c_str(), log::quote(op.source).c_str(), attributes_.size());
        return controller::attrd_ack(kUpdateAck);
    }
    Attribute& attribute = attributes_[op.name];
    if (attribute.nodes.count(node) == 0 && attribute.nodes.size() >= kMaxAttributeNodes) {
        log_warning(log_cat, "Refusing %s on %s: %zu nodes hold it already", log::quote(op.name).c_str(),
                    log::quote(node).c_str(), attribute.nodes.size());
        return controller::attrd_ack(kUpdateAck);
    }
    if (created) {
        attribute.is_private = op.is_private;
        attribute.set = op.set;
    }
    bool write_now = false;
    if (delay && *delay != attribute.delay) {
        log_info(log_cat, "Dampening of %s is now %lld ms", op.name.c_str(),
                 static_cast<long long>(delay->count()));
        attribute.delay = *delay;
        // As 2.1.5: a changed dampening is written out at once.
        write_now = op.task == "update-delay";
    }
    if (op.task != "update-delay") {
        const std::optional<std::string> before = current(op.name, &attribute, node);
        std::optional<std::string> after = op.value;
        if (after) after = controller::expand_attribute_value(*after, before);
        NodeValue& slot = attribute.nodes[node];  // the node knows it from now on
        if (after != before) {
            log_notice(log_cat, "Setting %s[%s]: %s -> %s%s", op.name.c_str(), node.c_str(),
                       show(before).c_str(), show(after).c_str(),
                       attribute.delay.count() > 0 ? " (dampened)" : "");
            slot.value = after;
            if (attribute.is_private && node == host_name_) save_private();
            if (!attribute.is_private) {
                slot.pending = true;
                if (attribute.delay.count() == 0) {
                    write_now = true;
                } else {
                    // Each change restarts the wait (observed).
                    const std::string name = op.name;
                    attribute.timer =
                        io::add_timeout(context_, attribute.delay, [this, name] { write(name); });
                }
            }
        }
    }
    if (write_now) write(op.name);
    return controller::attrd_ack(kUpdateAck);
}

void AttributeManager::write(const std::string& name)
{
    auto found = attributes_.find(name);
    if (found == attributes_.end()) return;
    Attribute& attribute = found->second;
    attribute.timer.reset();
    if (attribute.is_private) return;
    std::vector<std::string> nodes;
    for (const auto& [node, slot] : attribute.nodes) {
        if (slot.pending) nodes.push_back(node);
    }
    if (nodes.empty()) return;
    const std::string host_id = [&] {
        std::string id = configured_node_id(service_.store().current(), host_name_);
        return id.empty() ? host_name_ : id;
    }();
    update_cib([&](xmlDoc* cib) {
        for (const auto& node : nodes) {
            NodeValue& slot = attribute.nodes[node];
            const std::string create_id = node == host_name_ ? host_id : std::string();
            if (write_transient_attribute(cib, node, name, slot.value, attribute.set, create_id)) {
                slot.pending = false;
            } else {
                log_info(log_cat, "Keeping %s[%s] in memory: the node has no status entry", name.c_str(),
                         node.c_str());
            }
        }
    });
}

void AttributeManager::update_cib(const std::function<void(xmlDoc*)>& edit)
{
    // pacemaker-attrd runs as hacluster.
    auto before = edit_cib(service_.store(), edit, kAttrdClient, host_name_, "hacluster");
    if (!before) {
        log_error(log_cat, "Cannot write attributes to the CIB (%s)", before.error().message.c_str());
        return;
    }
    if (*before) service_.announce("cib_modify", kAttrdClient, before->get());
}

std::string AttributeManager::query(const controller::AttrdOp& op) const
{
    auto found = attributes_.find(op.name);
    const Attribute* attribute = found != attributes_.end() ? &found->second : nullptr;
    std::set<std::string> nodes;
    if (!op.host.empty()) {
        nodes.insert(op.host);
    } else {
        if (attribute != nullptr) {
            for (const auto& [node, slot] : attribute->nodes)
                nodes.insert(node);
        }
        for (const auto& [node, value] : transient_attribute_values(service_.store().current(), op.name))
            nodes.insert(node);
    }
    std::vector<controller::AttrdValue> values;
    for (const auto& node : nodes) {
        auto value = current(op.name, attribute, node);
        const bool known = attribute != nullptr && attribute->nodes.count(node) != 0;
        if (value || known) values.emplace_back(node, std::move(value));
    }
    return controller::attrd_query_reply(op.name, values);
}

std::string AttributeManager::clear_failure(const controller::AttrdOp& op, const std::string& node)
{
    log_notice(log_cat, "Clearing failures of %s%s on %s",
               op.resource.empty() ? "every resource" : op.resource.c_str(),
               op.operation.empty() ? "" : (" (" + op.operation + ")").c_str(),
               node.empty() ? "every node" : node.c_str());
    // What the manager holds of them goes too (a pending fail count must not come back).
    for (auto& [name, attribute] : attributes_) {
        std::string_view rsc = name;
        if (rsc.starts_with("fail-count-")) {
            rsc.remove_prefix(std::string_view("fail-count-").size());
        } else if (rsc.starts_with("last-failure-")) {
            rsc.remove_prefix(std::string_view("last-failure-").size());
        } else {
            continue;
        }
        if (!op.resource.empty() && !rsc.starts_with(op.resource + "#")) continue;
        if (node.empty()) {
            attribute.nodes.clear();
            attribute.timer.reset();
        } else {
            attribute.nodes.erase(node);
        }
    }
    update_cib(
        [&](xmlDoc* cib) { clear_failure_attributes(cib, node, op.resource, op.operation, op.interval); });
    return controller::attrd_ack("attrd_client_clear_failure");
}

}  // namespace outpost::cluster::control
