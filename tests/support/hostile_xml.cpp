#include "support/hostile_xml.hpp"

#include <initializer_list>
#include <string_view>

namespace outpost::test {

namespace {

const char* const kHead =
    "<lrmd_command lrmd_origin=\"hostile\" lrmd_op=\"lrmd_rsc_exec\" lrmd_callid=\"1\" lrmd_callopt=\"4\" "
    "lrmd_timeout=\"20000\"><lrmd_calldata><lrmd_rsc lrmd_rsc_id=\"r\" lrmd_rsc_action=\"start\" "
    "lrmd_rsc_interval=\"0\" lrmd_timeout=\"20000\">";
const char* const kTail = "</lrmd_rsc></lrmd_calldata></lrmd_command>";

// The attributes 2.1.5 records for an operation in the status section, around on_node.
constexpr std::string_view kOpMiddle =
    "\" crm-debug-origin=\"do_update_resource\" crm_feature_set=\"3.16.2\" "
    "transition-key=\"3:0:0:6d2a7c1e-5b7f-4a4e-9c55-000000000001\" "
    "transition-magic=\"0:0;3:0:0:6d2a7c1e-5b7f-4a4e-9c55-000000000001\" exit-reason=\"\" on_node=\"guest";
constexpr std::string_view kOpTail =
    "\" call-id=\"7\" rc-code=\"0\" op-status=\"0\" interval=\"0\" last-rc-change=\"1733472000\" "
    "exec-time=\"12\" queue-time=\"0\" op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\" "
    "op-force-restart=\" state \" op-restart-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\" "
    "op-secure-params=\" passwd \" op-secure-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/>";

std::string wrap(const std::string& inner)
{
    return std::string(kHead) + inner + kTail;
}

}  // namespace

std::string exec_with_attributes(std::size_t count)
{
    std::string inner = "<attributes";
    inner.reserve(count * 12 + 32);
    for (std::size_t i = 0; i < count; ++i)
        inner += " p" + std::to_string(i) + "=\"\"";
    inner += "/>";
    return wrap(inner);
}

std::string exec_with_elements(std::size_t count)
{
    std::string inner = "<attributes>";
    inner.reserve(count * 4 + 32);
    for (std::size_t i = 0; i < count; ++i)
        inner += "<e/>";
    inner += "</attributes>";
    return wrap(inner);
}

std::string exec_with_long_value(std::size_t bytes)
{
    return wrap("<attributes v=\"" + std::string(bytes, 'x') + "\"/>");
}

std::string exec_with_depth(std::size_t depth)
{
    std::string inner = "<attributes>";
    for (std::size_t i = 0; i < depth; ++i)
        inner += "<d>";
    for (std::size_t i = 0; i < depth; ++i)
        inner += "</d>";
    inner += "</attributes>";
    return wrap(inner);
}

std::string exec_with_wide_elements(std::size_t elements, std::size_t per_element)
{
    std::string one = "<w";
    for (std::size_t i = 0; i < per_element; ++i)
        one += " a" + std::to_string(i) + "=\"\"";
    one += "/>";
    std::string inner = "<attributes>";
    inner.reserve(one.size() * elements + 32);
    for (std::size_t i = 0; i < elements; ++i)
        inner += one;
    inner += "</attributes>";
    return wrap(inner);
}

std::string exec_with_namespaces(std::size_t count)
{
    std::string inner = "<attributes";
    for (std::size_t i = 0; i < count; ++i)
        inner += " xmlns:p" + std::to_string(i) + "=\"urn:" + std::to_string(i) + "\"";
    inner += ">";
    for (std::size_t i = 0; i < 64; ++i) {
        inner += "<e";
        for (std::size_t j = 0; j < count && j < 4096; ++j)
            inner += " p" + std::to_string(j) + ":a=\"\"";
        inner += "/>";
    }
    inner += "</attributes>";
    return wrap(inner);
}

std::string malformed_then_attributes(std::size_t count)
{
    std::string inner = "<x></y><attributes";
    for (std::size_t i = 0; i < count; ++i)
        inner += " p" + std::to_string(i) + "=\"\"";
    inner += "/>";
    return wrap(inner);
}

std::string proxied_cib(std::size_t bytes)
{
    std::string out =
        "<lrmd_ipc_proxy lrmd_ipc_op=\"response\" lrmd_ipc_session=\"s\" lrmd_ipc_msg_id=\"1\"><lrmd_ipc_msg>"
        "<cib-reply t=\"cib\" cib_op=\"cib_query\" cib_callid=\"2\" cib_rc=\"0\"><cib_calldata>"
        "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\"><configuration/><status>";
    const std::string tail = "</status></cib></cib_calldata></cib-reply></lrmd_ipc_msg></lrmd_ipc_proxy>";
    out.reserve(bytes + 2048);
    std::size_t node = 0;
    auto append = [&out](std::initializer_list<std::string_view> pieces) {
        for (std::string_view piece : pieces)
            out.append(piece);
    };
    while (out.size() + tail.size() + 1500 < bytes) {
        const std::string n = std::to_string(node++);
        append({"<node_state id=\"guest", n, "\" uname=\"guest", n,
                "\" in_ccm=\"true\" remote_node=\"true\"><lrm id=\"guest", n, "\"><lrm_resources>"});
        for (int r = 0; r < 5 && out.size() + tail.size() + 1500 < bytes; ++r) {
            const std::string id = "r" + n + "_" + std::to_string(r);
            append({"<lrm_resource id=\"", id, "\" type=\"Dummy\" class=\"ocf\" provider=\"pacemaker\">"});
            for (const char* op : {"start", "monitor"}) {
                append({"<lrm_rsc_op id=\"", id, "_", op, "\" operation_key=\"", id, "_", op,
                        "_0\" operation=\"", op, kOpMiddle, n, kOpTail});
            }
            out += "</lrm_resource>";
        }
        out += "</lrm_resources></lrm></node_state>";
    }
    out += tail;
    return out;
}

}  // namespace outpost::test
