#include "controller/cib_client.hpp"

#include <cerrno>
#include <cstring>

#include "controller/xml.hpp"
#include "ipc/client.hpp"

namespace outpost::cluster::controller {

namespace {

constexpr const char* kDomain = "cib";
// cib_callopt of the tools' sign-on (cib_sync_call) and of crm_simulate -L's query
// (cib_scope_local | cib_sync_call).
constexpr const char* kRegisterOptions = "4096";
constexpr const char* kQueryOptions = "4352";

Error bad_reply(const std::string& message)
{
    return make_error(kDomain, -EBADMSG, "CIB reply: " + message);
}

// Pacemaker's words for the rc values a query can get, else the errno text.
std::string rc_text(int rc)
{
    switch (rc) {
        case -203:
            return "update does not conform to the configured schema";
        case -205:
            return "update was older than existing configuration";
        default:
            return rc < 0 && rc > -4096 ? std::strerror(-rc) : "error " + std::to_string(rc);
    }
}

}  // namespace

std::string register_request(std::string_view client_name)
{
    XmlDoc doc = new_document("cib_command");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "cib");
    set_attr(root, "cib_op", "register");
    set_attr(root, "cib_clientname", std::string(client_name));
    set_attr(root, "cib_callopt", kRegisterOptions);
    return serialize(root);
}

std::string query_request(std::string_view client_id, std::int64_t call_id)
{
    XmlDoc doc = new_document("cib_command");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "cib");
    set_attr(root, "cib_async_id", std::string(client_id));
    set_attr(root, "cib_op", "cib_query");
    set_attr(root, "cib_callid", std::to_string(call_id));
    set_attr(root, "cib_callopt", kQueryOptions);
    return serialize(root);
}

Result<std::string> read_register_reply(std::string_view xml)
{
    auto doc = parse_document(xml, ipc::kMaxPayloadSize, "CIB register reply");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    auto id = attr(root, "cib_clientid");
    if (!id || id->empty()) return bad_reply("<" + name_of(root) + "> without cib_clientid");
    return std::move(*id);
}

Result<std::string> read_query_reply(std::string_view xml)
{
    auto doc = parse_document(xml, ipc::kMaxPayloadSize, "CIB query reply");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    if (!is_named(root, "cib-reply")) return bad_reply("<" + name_of(root) + ">, not <cib-reply>");
    const std::string rc_attr = attr(root, "cib_rc").value_or("0");
    char* end = nullptr;
    const long rc = std::strtol(rc_attr.c_str(), &end, 10);
    if (end == rc_attr.c_str() || *end != '\0') return bad_reply("cib_rc is not a number: " + rc_attr);
    if (rc != 0) {
        return make_error(
            kDomain, static_cast<int>(rc),
            "the CIB manager refused the query: " + rc_text(static_cast<int>(rc)) + " (" + rc_attr + ")");
    }
    const xmlNode* calldata = child_named(root, "cib_calldata");
    const xmlNode* cib = calldata != nullptr ? first_element(calldata) : nullptr;
    if (cib == nullptr || !is_named(cib, "cib")) return bad_reply("no <cib> in the query's answer");
    return serialize(cib);
}

Result<std::string> fetch_live_cib(const LiveCibOptions& options)
{
    auto client = ipc::Client::connect(options.service, options.buffer_size);
    if (!client) {
        const Error& e = client.error();
        if (e.code == -ENOTCONN) {
            return make_error(kDomain, e.code,
                              "no CIB service: " + e.message +
                                  " (start the cluster, or outpost-controld, on this machine)");
        }
        return make_error(kDomain, e.code, e.message);
    }
    auto signed_on = (*client)->request(register_request(options.client_name), options.timeout);
    if (!signed_on) return make_error(kDomain, signed_on.error().code, signed_on.error().message);
    auto client_id = read_register_reply(signed_on->xml);
    if (!client_id) return client_id.error();
    auto answer = (*client)->request(query_request(*client_id, 2), options.timeout);
    if (!answer) return make_error(kDomain, answer.error().code, answer.error().message);
    return read_query_reply(answer->xml);
}

}  // namespace outpost::cluster::controller
