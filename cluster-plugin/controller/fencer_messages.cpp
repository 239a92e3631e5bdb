#include "controller/fencer_messages.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

namespace {

Error bad(const std::string& why)
{
    return make_error("controller", -EBADMSG, "fencer request: " + why);
}

// An attribute that must be a bounded name when present.
Result<std::string> name_attr(const xmlNode* node, const char* name)
{
    auto value = attr(node, name);
    if (!value) return std::string();
    if (value->size() > kMaxFencerName) return bad(std::string(name) + " is too long");
    return *value;
}

template <typename Int>
Result<Int> number_attr(const xmlNode* node, const char* name)
{
    auto value = attr(node, name);
    if (!value || value->empty()) return Int{0};
    Int out{};
    const char* begin = value->data();
    const char* end = begin + value->size();
    auto [ptr, ec] = std::from_chars(begin, end, out);
    if (ec != std::errc() || ptr != end) return bad(std::string(name) + " is not a number");
    return out;
}

// Reads one bounded name attribute into `out`; false (and `error` set) when it is too long.
bool read_name(const xmlNode* node, const char* name, std::string& out, Error& error)
{
    auto value = name_attr(node, name);
    if (!value) {
        error = value.error();
        return false;
    }
    if (!value->empty()) out = std::move(*value);
    return true;
}

std::string text(int value)
{
    return std::to_string(value);
}

void set_result(xmlNode* node, const FencerResult& result)
{
    set_attr(node, "op-status", text(static_cast<int>(result.status)));
    set_attr(node, "rc-code", text(result.exit_code));
    if (!result.reason.empty()) set_attr(node, "exit-reason", result.reason);
    set_attr(node, "st_rc", text(result.rc));
}

// Adds `xml` (one serialized element) as the child of `parent`.
void add_calldata(xmlNode* parent, const std::string& xml)
{
    if (xml.empty()) return;
    auto doc = parse_document(xml, kMaxFencerRequest * 64, "calldata");
    if (!doc) return;  // built here: cannot fail
    xmlNode* data = xmlNewChild(parent, nullptr, reinterpret_cast<const xmlChar*>("st_calldata"), nullptr);
    xmlAddChild(data, xmlDocCopyNode(root_of(doc->get()), parent->doc, 1));
}

// <st_notify_fence> of an entry: what both the notification and the fence reply carry.
void fill_fence_event(xmlNode* node, const FenceHistoryEntry& entry)
{
    set_attr(node, "state", text(static_cast<int>(entry.state)));
    set_attr(node, "st_target", entry.target);
    set_attr(node, "st_device_action", entry.action);
    if (!entry.delegate.empty()) set_attr(node, "st_delegate", entry.delegate);
    set_attr(node, "st_remote_op", entry.id);
    set_attr(node, "st_origin", entry.origin);
    if (!entry.client_id.empty()) set_attr(node, "st_clientid", entry.client_id);
    set_attr(node, "st_clientname", entry.client);
}

}  // namespace

FencerResult FencerResult::failed(wire::ExecStatus status, int rc, std::string reason)
{
    FencerResult result;
    result.status = status;
    result.exit_code = 1;  // CRM_EX_ERROR
    result.rc = rc;
    result.reason = std::move(reason);
    return result;
}

Result<FencerRequest> parse_fencer_request(std::string_view xml)
{
    auto doc = parse_document(xml, kMaxFencerRequest, "fencer request");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    FencerRequest request;
    request.root = name_of(root);
    if (request.root != "stonith_command" && request.root != "stonith_set_notification")
        return bad("unexpected element <" + request.root.substr(0, kMaxFencerName) + ">");
    Error error;
    if (!read_name(root, "st_op", request.op, error) ||
        !read_name(root, "st_clientid", request.client_id, error) ||
        !read_name(root, "st_clientname", request.client_name, error) ||
        !read_name(root, "st_notify_activate", request.notify_activate, error) ||
        !read_name(root, "st_notify_deactivate", request.notify_deactivate, error))
        return error;
    if (request.op.empty()) return bad("no st_op");
    auto call_id = number_attr<int>(root, "st_callid");
    auto options = number_attr<std::uint32_t>(root, "st_callopt");
    auto timeout = number_attr<int>(root, "st_timeout");
    if (!call_id) return call_id.error();
    if (!options) return options.error();
    if (!timeout) return timeout.error();
    request.call_id = *call_id;
    request.call_options = *options;
    request.timeout_s = std::max(0, *timeout);

    const xmlNode* calldata = child_named(root, "st_calldata");
    const xmlNode* data = calldata != nullptr ? first_element(calldata) : nullptr;
    if (data == nullptr) return request;
    if (!read_name(data, "st_target", request.target, error) ||
        !read_name(data, "st_device_action", request.action, error) ||
        !read_name(data, "st_device_id", request.device, error) ||
        !read_name(data, "id", request.device, error) || !read_name(data, "agent", request.agent, error))
        return error;
    auto tolerance = number_attr<int>(data, "st_tolerance");
    if (!tolerance) return tolerance.error();
    request.tolerance_s = std::max(0, *tolerance);
    auto delay = number_attr<int>(data, "st_delay");
    if (!delay) return delay.error();
    request.delay_s = *delay;
    if (name_of(data) == "fencing-level") {
        FencerLevel& level = request.level;
        if (!read_name(data, "target", level.target, error) ||
            !read_name(data, "target-pattern", level.target_pattern, error) ||
            !read_name(data, "target-attribute", level.target_attribute, error) ||
            !read_name(data, "target-value", level.target_value, error))
            return error;
        auto index = number_attr<int>(data, "index");
        if (!index) return index.error();
        level.index = *index;
        // (At most nine devices a level are useful; the list is bounded like the names.)
        const std::string devices = attr(data, "devices").value_or("");
        if (devices.size() > kMaxFencerName * 16) return bad("devices is too long");
        for (std::size_t at = 0; at < devices.size();) {
            const std::size_t comma = std::min(devices.find(',', at), devices.size());
            if (comma > at) level.devices.push_back(devices.substr(at, comma - at));
            at = comma + 1;
        }
    }
    if (const xmlNode* attributes = child_named(data, "attributes")) {
        for (const xmlAttr* a = attributes->properties; a != nullptr; a = a->next) {
            if (request.params.size() >= kMaxFencerParams) return bad("too many device parameters");
            const std::string name = reinterpret_cast<const char*>(a->name);
            auto value = attr(attributes, name.c_str());
            request.params[name] = value ? *value : std::string();
        }
    }
    return request;
}

void FenceHistory::add(FenceHistoryEntry entry)
{
    entries_.push_back(std::move(entry));
    while (entries_.size() > limit_)
        entries_.pop_front();
}

bool FenceHistory::finish(const std::string& id, FenceState state, const FencerResult& result,
                          const std::string& delegate, std::int64_t when, long when_ns)
{
    for (auto& entry : entries_) {
        if (entry.id != id) continue;
        entry.state = state;
        entry.result = result;
        entry.delegate = delegate;
        entry.completed = when;
        entry.completed_ns = when_ns;
        return true;
    }
    return false;
}

std::size_t FenceHistory::clear(const std::string& target)
{
    return std::erase_if(entries_, [&](const FenceHistoryEntry& e) {
        return e.state != FenceState::pending && (target.empty() || e.target == target);
    });
}

const FenceHistoryEntry* FenceHistory::find(const std::string& id) const
{
    for (const auto& entry : entries_)
        if (entry.id == id) return &entry;
    return nullptr;
}

std::string fencer_register_reply(const std::string& client_id)
{
    XmlDoc doc = new_document("reply");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "st_op", "register");
    set_attr(root, "st_clientid", client_id);
    return serialize(root);
}

std::string fencer_notify_ack()
{
    XmlDoc doc = new_document("ack");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "function", "handle_notify_request");
    set_attr(root, "line", "0");
    set_attr(root, "status", "0");
    return serialize(root);
}

std::string fencer_reply(const FencerRequest& request, const FencerResult& result,
                         const std::string& calldata,
                         const std::vector<std::pair<std::string, std::string>>& extra)
{
    XmlDoc doc = new_document("st-reply");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "st_origin", "fenced_construct_reply");
    set_attr(root, "t", "stonith-ng");
    set_result(root, result);
    set_attr(root, "st_op", request.op);
    set_attr(root, "st_callid", text(request.call_id));
    set_attr(root, "st_clientid", request.client_id);
    set_attr(root, "st_clientname", request.client_name);
    set_attr(root, "st_callopt", std::to_string(request.call_options));
    for (const auto& [name, value] : extra)
        set_attr(root, name.c_str(), value);
    add_calldata(root, calldata);
    return serialize(root);
}

std::string fencer_history_calldata(const std::deque<FenceHistoryEntry>& entries, const std::string& target)
{
    XmlDoc doc = new_document("st_history");
    xmlNode* root = root_of(doc.get());
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        const FenceHistoryEntry& entry = *it;
        if (!target.empty() && entry.target != target) continue;
        xmlNode* node = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("st_execute"), nullptr);
        set_attr(node, "st_target", entry.target);
        set_attr(node, "st_device_action", entry.action);
        set_attr(node, "st_origin", entry.origin);
        if (!entry.delegate.empty()) set_attr(node, "st_delegate", entry.delegate);
        set_attr(node, "st_clientname", entry.client);
        set_attr(node, "st_date", std::to_string(entry.completed));
        set_attr(node, "st_date_nsec", std::to_string(entry.completed_ns));
        set_attr(node, "st_state", text(static_cast<int>(entry.state)));
        set_result(node, entry.result);
    }
    return serialize(root);
}

std::string fencer_query_calldata(const std::string& target, const std::vector<FencerDevice>& devices)
{
    XmlDoc doc = new_document("stonith_query_capable_device_cb");
    xmlNode* root = root_of(doc.get());
    if (!target.empty()) set_attr(root, "st_target", target);
    set_attr(root, "st-available-devices", std::to_string(devices.size()));
    for (const auto& device : devices) {
        xmlNode* node = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("st_device_id"), nullptr);
        set_attr(node, "id", device.id);
        set_attr(node, "namespace", "stonith-ng");
        set_attr(node, "agent", device.agent);
        set_attr(node, "st_monitor_verified", "1");
        if (target.empty()) {
            // Without a target, pacemaker-fenced lists each device's fencer settings.
            xmlNode* attributes =
                xmlNewChild(node, nullptr, reinterpret_cast<const xmlChar*>("attributes"), nullptr);
            for (const auto& [name, value] : device.params)
                if (name.starts_with("pcmk_")) set_attr(attributes, name.c_str(), value);
        }
    }
    return serialize(root);
}

std::string fencer_fence_reply(const FencerRequest& request, const FenceHistoryEntry& entry,
                               const std::string& node_name)
{
    XmlDoc doc = new_document("st-reply");
    xmlNode* broadcast = root_of(doc.get());
    set_attr(broadcast, "t", "st_notify");
    set_attr(broadcast, "subt", "broadcast");
    set_attr(broadcast, "st_op", entry.action);
    set_attr(broadcast, "src", node_name);
    set_attr(broadcast, "state", text(static_cast<int>(entry.state)));
    set_attr(broadcast, "st_target", entry.target);
    xmlNode* data = xmlNewChild(broadcast, nullptr, reinterpret_cast<const xmlChar*>("st_calldata"), nullptr);
    xmlNode* event = xmlNewChild(data, nullptr, reinterpret_cast<const xmlChar*>("st_notify_fence"), nullptr);
    fill_fence_event(event, entry);
    set_result(event, entry.result);
    std::vector<std::pair<std::string, std::string>> extra;
    if (!entry.delegate.empty()) extra.emplace_back("st_delegate", entry.delegate);
    return fencer_reply(request, entry.result, serialize(broadcast), extra);
}

std::string fencer_timeout_value(int call_id, int timeout_s)
{
    XmlDoc doc = new_document("st-async-timeout-value");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "st-async-timeout-value");
    set_attr(root, "st_callid", text(call_id));
    set_attr(root, "st_timeout", text(timeout_s + timeout_s / 5));
    return serialize(root);
}

std::string fencer_fence_notification(const FenceHistoryEntry& entry)
{
    XmlDoc doc = new_document("notify");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "st_notify");
    set_attr(root, "subt", "st_notify_fence");
    set_attr(root, "st_op", "st_notify_fence");
    set_result(root, entry.result);
    xmlNode* data = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("st_calldata"), nullptr);
    xmlNode* event = xmlNewChild(data, nullptr, reinterpret_cast<const xmlChar*>("st_notify_fence"), nullptr);
    fill_fence_event(event, entry);
    return serialize(root);
}

std::string fencer_history_notification()
{
    XmlDoc doc = new_document("notify");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "st_notify");
    set_attr(root, "subt", "st_notify_history");
    set_attr(root, "st_op", "st_notify_history");
    set_result(root, FencerResult::ok());
    return serialize(root);
}

}  // namespace outpost::cluster::controller
