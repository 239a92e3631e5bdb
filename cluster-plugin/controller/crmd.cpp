#include "controller/crmd.hpp"

#include <cerrno>
#include <new>

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

namespace {

constexpr const char* kVersion = "3.16.1";

xmlNode* add_child(xmlNode* parent, const char* name)
{
    xmlNode* child = xmlNewChild(parent, nullptr, reinterpret_cast<const xmlChar*>(name), nullptr);
    if (child == nullptr) throw std::bad_alloc();
    return child;
}

// The envelope of every answer: who it is for and what it answers.
XmlDoc envelope(const char* element, const char* origin, const CrmdRequest& request, const std::string& subt)
{
    XmlDoc doc = new_document(element);
    xmlNode* top = root_of(doc.get());
    set_attr(top, "origin", origin);
    set_attr(top, "t", "crmd");
    set_attr(top, "version", request.version.empty() ? kVersion : request.version);
    set_attr(top, "subt", subt);
    return doc;
}

std::string lrm_reference(std::time_t now, int serial)
{
    return "lrm_invoke-lrmd-" + std::to_string(static_cast<long long>(now)) + "-" + std::to_string(serial);
}

}  // namespace

Result<CrmdRequest> parse_crmd_request(std::string_view xml)
{
    auto doc = parse_document(xml, kMaxCrmdRequest, "controller request");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    if (!is_named(root, "create_request_adv") || attr(root, "subt") != "request") {
        return make_error("crmd", -EBADMSG, "controller request: <" + name_of(root) + "> is not a request");
    }
    CrmdRequest request;
    request.task = attr(root, "crm_task").value_or("");
    request.reference = attr(root, "reference").value_or("");
    request.sys_from = attr(root, "crm_sys_from").value_or("");
    request.host_to = attr(root, "crm_host_to").value_or("");
    request.version = attr(root, "version").value_or("");
    request.node.id = attr(root, "id").value_or("");
    request.node.uname = attr(root, "uname").value_or("");
    if (request.task != "lrm_delete" && request.task != "lrm_fail") return request;
    const xmlNode* data = child_named(root, "crm_xml");
    const xmlNode* op = data != nullptr ? child_named(data, "rsc_op") : nullptr;
    const xmlNode* primitive = op != nullptr ? child_named(op, "primitive") : nullptr;
    if (primitive == nullptr || attr(primitive, "id").value_or("").empty()) {
        return make_error("crmd", -EBADMSG, "controller request: " + request.task + " names no resource");
    }
    request.transition_key = attr(op, "transition-key").value_or("");
    request.rsc.node = attr(op, "on_node").value_or(request.host_to);
    request.rsc.rsc_id = attr(primitive, "id").value_or("");
    request.rsc.rsc_class = attr(primitive, "class").value_or("");
    request.rsc.provider = attr(primitive, "provider").value_or("");
    request.rsc.type = attr(primitive, "type").value_or("");
    return request;
}

std::string ipc_ack(const char* function, int status)
{
    XmlDoc doc = new_document("ack");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "function", function);
    set_attr(root, "line", "0");
    set_attr(root, "status", std::to_string(status));
    return serialize(root);
}

std::string node_info_reply(const CrmdRequest& request, const std::string& client_uuid,
                            const std::string& node_name, const std::string& node_id)
{
    const NodeInfo own{node_id, node_name, false, true};
    return node_info_reply(request, client_uuid, node_name, &own);
}

std::string node_info_reply(const CrmdRequest& request, const std::string& client_uuid,
                            const std::string& controller_node, const NodeInfo* node)
{
    XmlDoc doc = envelope("create_reply_adv", "handle_node_info_request", request, "response");
    xmlNode* top = root_of(doc.get());
    set_attr(top, "reference", request.reference);
    set_attr(top, "crm_task", request.task);
    set_attr(top, "crm_sys_to", client_uuid);
    set_attr(top, "crm_sys_from", "crmd");
    set_attr(top, "src", controller_node);
    xmlNode* data = add_child(add_child(top, "crm_xml"), "node");
    set_attr(data, "crm_subsystem", "crmd");
    set_attr(data, "have-quorum", "true");
    if (node == nullptr) return serialize(top);
    set_attr(data, "id", node->id);
    set_attr(data, "uname", node->uname);
    set_attr(data, "crmd", node->member ? "member" : "lost");
    set_attr(data, "remote_node", node->remote ? "true" : "false");
    return serialize(top);
}

std::string lrm_invoke_reply(const CrmdRequest& request, const std::string& client_uuid,
                             const std::string& host_name, const std::string& node_id, const LrmAck& ack)
{
    XmlDoc doc = envelope("create_request_adv", "controld_ack_event_directly", request, "request");
    xmlNode* top = root_of(doc.get());
    const std::string node = request.rsc.node.empty() ? host_name : request.rsc.node;
    set_attr(top, "reference", lrm_reference(ack.now, ack.serial));
    set_attr(top, "crm_task", "lrm_invoke");
    set_attr(top, "crm_sys_to", client_uuid);
    set_attr(top, "crm_sys_from", "lrmd");
    set_attr(top, "crm_host_to", node);
    set_attr(top, "src", host_name);
    xmlNode* state = add_child(add_child(top, "crm_xml"), "node_state");
    set_attr(state, "id", node == host_name ? node_id : node);
    set_attr(state, "uname", node);
    set_attr(state, "crm-debug-origin", "controld_ack_event_directly");
    xmlNode* lrm = add_child(state, "lrm");
    set_attr(lrm, "id", node == host_name ? node_id : node);
    xmlNode* resource = add_child(add_child(lrm, "lrm_resources"), "lrm_resource");
    set_attr(resource, "id", request.rsc.rsc_id);
    xmlNode* op = add_child(resource, "lrm_rsc_op");
    const std::string rc = ack.ok ? "0" : std::to_string(ack.error_rc);
    const std::string status = ack.ok ? "0" : "4";
    set_attr(op, "id", request.rsc.rsc_id + "_last_0");
    set_attr(op, "operation_key", request.rsc.rsc_id + "_" + ack.operation + "_0");
    set_attr(op, "operation", ack.operation);
    set_attr(op, "crm-debug-origin", "controld_ack_event_directly");
    set_attr(op, "crm_feature_set", kVersion);
    set_attr(op, "transition-key", request.transition_key);
    set_attr(op, "transition-magic", status + ":" + rc + ";" + request.transition_key);
    set_attr(op, "exit-reason", ack.ok ? std::string() : ack.exit_reason);
    set_attr(op, "on_node", node);
    set_attr(op, "call-id", std::to_string(ack.call_id));
    set_attr(op, "rc-code", rc);
    set_attr(op, "op-status", status);
    set_attr(op, "interval", "0");
    return serialize(top);
}

std::string reprobe_reply(const CrmdRequest& request, const std::string& client_uuid,
                          const std::string& host_name, std::time_t now, int serial)
{
    XmlDoc doc = envelope("create_request_adv", "handle_reprobe_op", request, "request");
    xmlNode* top = root_of(doc.get());
    set_attr(top, "reference", lrm_reference(now, serial));
    set_attr(top, "crm_task", "lrm_invoke");
    set_attr(top, "crm_sys_to", client_uuid);
    set_attr(top, "crm_sys_from", "1_lrmd");
    set_attr(top, "crm_host_to", request.host_to.empty() ? host_name : request.host_to);
    set_attr(top, "src", host_name);
    return serialize(top);
}

}  // namespace outpost::cluster::controller
