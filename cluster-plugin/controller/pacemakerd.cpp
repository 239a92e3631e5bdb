#include "controller/pacemakerd.hpp"

#include <cerrno>

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

namespace {

std::string ack(const char* status)
{
    XmlDoc doc = new_document("ack");
    set_attr(root_of(doc.get()), "function", "pacemakerd");
    set_attr(root_of(doc.get()), "line", "0");
    set_attr(root_of(doc.get()), "status", status);
    return serialize(root_of(doc.get()));
}

}  // namespace

Result<PacemakerdAnswer> pacemakerd_reply(std::string_view request, std::time_t now)
{
    auto doc = parse_document(request, kMaxPacemakerdRequest, "pacemakerd request");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    if (!is_named(root, "create_request_adv") || attr(root, "subt") != "request") {
        return make_error("pacemakerd", -EBADMSG,
                          "pacemakerd request: <" + name_of(root) + "> is not a request");
    }
    const std::string task = attr(root, "crm_task").value_or("");
    if (task != "ping") return PacemakerdAnswer{ack("3"), {}};
    XmlDoc reply = new_document("create_reply_adv");
    xmlNode* top = root_of(reply.get());
    set_attr(top, "origin", "outpost-controld");
    set_attr(top, "t", "crmd");
    set_attr(top, "version", attr(root, "version").value_or("3.16.1"));
    set_attr(top, "subt", "response");
    set_attr(top, "reference", attr(root, "reference").value_or(""));
    set_attr(top, "crm_task", task);
    set_attr(top, "crm_sys_to", attr(root, "crm_sys_from").value_or(""));
    set_attr(top, "crm_sys_from", "pacemakerd");
    xmlNode* data = xmlNewChild(top, nullptr, reinterpret_cast<const xmlChar*>("crm_xml"), nullptr);
    if (data == nullptr) throw std::bad_alloc();
    xmlNode* ping = xmlNewChild(data, nullptr, reinterpret_cast<const xmlChar*>("ping_response"), nullptr);
    if (ping == nullptr) throw std::bad_alloc();
    set_attr(ping, "crm_subsystem", "pacemakerd");
    set_attr(ping, "crm-timestamp", std::to_string(static_cast<long long>(now)));
    set_attr(ping, "pacemakerd_state", "running");
    set_attr(ping, "result", "ok");
    return PacemakerdAnswer{ack("112"), serialize(top)};
}

}  // namespace outpost::cluster::controller
