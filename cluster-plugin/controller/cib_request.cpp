#include "controller/cib_request.hpp"

#include <charconv>

#include "controller/cib_diff.hpp"

namespace outpost::cluster::controller {

namespace {

const xmlChar* to_xml(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);
}

Error bad(std::string message)
{
    return make_error("cib", -EBADMSG, "CIB request: " + std::move(message));
}

Result<std::string> field(const xmlNode* node, const char* name,
                          std::size_t max_length = kMaxRequestFieldLength)
{
    auto value = attr(node, name);
    if (!value) return std::string();
    if (value->size() > max_length) {
        return bad(std::string(name) + " has " + std::to_string(value->size()) + " bytes, more than " +
                   std::to_string(max_length));
    }
    return std::move(*value);
}

Result<std::int64_t> integer_field(const xmlNode* node, const char* name)
{
    auto text = field(node, name, 24);
    if (!text) return text.error();
    if (text->empty()) return std::int64_t{0};
    std::int64_t value = 0;
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, value);
    if (ec != std::errc() || ptr != end) return bad(std::string(name) + " is not an integer: " + *text);
    return value;
}

XmlDoc reply_base(const char* element, const std::string& op)
{
    XmlDoc doc = new_document(element);
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "cib");
    set_attr(root, "cib_op", op);
    return doc;
}

}  // namespace

Result<CibRequest> parse_cib_request(std::string_view xml, std::size_t max_size)
{
    auto doc = parse_document(xml, max_size, "CIB request");
    if (!doc) return doc.error();
    CibRequest request;
    request.message = std::move(*doc);
    const xmlNode* root = root_of(request.message.get());
    // Subscriptions come as <cib-callback>, everything else as <cib_command>.
    if (!is_named(root, "cib_command") && !is_named(root, "cib-callback"))
        return bad("root element <" + name_of(root) + ">, not <cib_command>");
    auto op = field(root, "cib_op");
    if (!op) return op.error();
    if (op->empty()) return bad("no cib_op");
    request.op = std::move(*op);
    auto section = field(root, "cib_section", kMaxXpathLength);
    if (!section) return section.error();
    request.section = std::move(*section);
    auto options = integer_field(root, "cib_callopt");
    if (!options) return options.error();
    if (*options < INT32_MIN || *options > UINT32_MAX) return bad("cib_callopt out of range");
    request.options = static_cast<std::uint32_t>(*options);
    auto call_id = integer_field(root, "cib_callid");
    if (!call_id) return call_id.error();
    request.call_id = *call_id;
    for (auto [name, target] :
         {std::pair{"cib_clientid", &request.client_id}, std::pair{"cib_clientname", &request.client_name},
          std::pair{"cib_user", &request.user}, std::pair{"cib_notify_type", &request.notify_type}}) {
        auto value = field(root, name);
        if (!value) return value.error();
        *target = std::move(*value);
    }
    auto activate = integer_field(root, "cib_notify_activate");
    if (!activate) return activate.error();
    request.notify_activate = *activate != 0;
    if (const xmlNode* calldata = child_named(root, "cib_calldata")) request.data = first_element(calldata);
    return request;
}

std::string register_reply(const std::string& client_id)
{
    // The element name 2.1.5's CIB manager uses (observed); tools read only cib_clientid.
    XmlDoc doc = new_document("cib_common_callback_worker");
    set_attr(root_of(doc.get()), "cib_op", "register");
    set_attr(root_of(doc.get()), "cib_clientid", client_id);
    return serialize(root_of(doc.get()));
}

std::string operation_reply(const CibRequest& request, const std::string& client_id, int rc,
                            const xmlDoc* output)
{
    XmlDoc doc = reply_base("cib-reply", request.op);
    xmlNode* root = root_of(doc.get());
    set_attr(root, "cib_callid", std::to_string(request.call_id));
    set_attr(root, "cib_clientid", client_id);
    set_attr(root, "cib_callopt", std::to_string(request.options));
    set_attr(root, "cib_rc", std::to_string(rc));
    if (!request.section.empty()) set_attr(root, "cib_section", request.section);
    if (output != nullptr && root_of(output) != nullptr) {
        xmlNode* calldata = xmlNewChild(root, nullptr, to_xml("cib_calldata"), nullptr);
        if (calldata == nullptr) throw std::bad_alloc();
        xmlNode* copy = xmlDocCopyNode(root_of(output), doc.get(), 1);
        if (copy == nullptr) throw std::bad_alloc();
        xmlAddChild(calldata, copy);
    }
    return serialize(root);
}

std::string notify_reply(const CibRequest& request, int rc)
{
    XmlDoc doc = reply_base("cib-reply", request.op);
    xmlNode* root = root_of(doc.get());
    set_attr(root, "cib_rc", std::to_string(rc));
    return serialize(root);
}

std::string diff_notification(const CibRequest& request, const std::string& client_id, const xmlDoc* before,
                              const xmlDoc* after)
{
    XmlDoc doc = new_document("notify");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "cib_notify");
    set_attr(root, "subt", kDiffNotify);
    set_attr(root, "cib_op", request.op);
    set_attr(root, "cib_rc", "0");
    set_attr(root, "cib_callid", std::to_string(request.call_id));
    set_attr(root, "cib_clientid", client_id);
    if (!request.client_name.empty()) set_attr(root, "cib_clientname", request.client_name);
    if (request.data != nullptr) set_attr(root, "cib_object_type", name_of(request.data));
    if (!request.section.empty()) set_attr(root, "cib_section", request.section);
    // The new CIB's <cib> attributes, as 2.1.5 sends them (observed with crm_mon -VVVVVV).
    xmlNode* generation = xmlNewChild(root, nullptr, to_xml("cib_generation"), nullptr);
    if (generation == nullptr) throw std::bad_alloc();
    xmlNode* tuple = xmlDocCopyNode(root_of(after), doc.get(), 2);
    if (tuple == nullptr) throw std::bad_alloc();
    xmlNodeSetName(tuple, to_xml("generation_tuple"));
    xmlAddChild(generation, tuple);
    xmlNode* result = xmlNewChild(root, nullptr, to_xml("cib_update_result"), nullptr);
    if (result == nullptr) throw std::bad_alloc();
    XmlDoc patch = make_patchset(before, after);
    xmlNode* copy = xmlDocCopyNode(root_of(patch.get()), doc.get(), 1);
    if (copy == nullptr) throw std::bad_alloc();
    xmlAddChild(result, copy);
    return serialize(root);
}

}  // namespace outpost::cluster::controller
