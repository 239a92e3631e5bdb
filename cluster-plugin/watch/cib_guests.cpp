#include "watch/cib_guests.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

namespace outpost::cluster::watch {

namespace {

struct DocFree {
    void operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
};
struct ContextFree {
    void operator()(xmlXPathContext* c) const noexcept { xmlXPathFreeContext(c); }
};
struct ObjectFree {
    void operator()(xmlXPathObject* o) const noexcept { xmlXPathFreeObject(o); }
};
struct TextFree {
    void operator()(xmlChar* t) const noexcept { xmlFree(t); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;
using ContextPtr = std::unique_ptr<xmlXPathContext, ContextFree>;
using ObjectPtr = std::unique_ptr<xmlXPathObject, ObjectFree>;
using TextPtr = std::unique_ptr<xmlChar, TextFree>;

// A CIB of thousands of resources stays far below this.
constexpr std::size_t kMaxCibBytes = 256U << 20;
constexpr int kParseOptions =
    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE;

const char* as_char(const xmlChar* t)
{
    return reinterpret_cast<const char*>(t);  // NOLINT: libxml2 strings are UTF-8 bytes
}
const xmlChar* as_xml(const char* t)
{
    return reinterpret_cast<const xmlChar*>(t);  // NOLINT
}

std::string attr(const xmlNode* node, const char* name)
{
    TextPtr v(xmlGetProp(node, as_xml(name)));
    return v ? as_char(v.get()) : "";
}

bool named(const xmlNode* node, const char* name)
{
    return node != nullptr && node->type == XML_ELEMENT_NODE && std::strcmp(as_char(node->name), name) == 0;
}

std::vector<xmlNode*> select(xmlXPathContext* ctx, const std::string& expr, xmlNode* from = nullptr)
{
    std::vector<xmlNode*> out;
    ObjectPtr result(from != nullptr ? xmlXPathNodeEval(from, as_xml(expr.c_str()), ctx)
                                     : xmlXPathEvalExpression(as_xml(expr.c_str()), ctx));
    if (!result || result->type != XPATH_NODESET || result->nodesetval == nullptr) return out;
    for (int i = 0; i < result->nodesetval->nodeNr; ++i)
        out.push_back(result->nodesetval->nodeTab[i]);  // NOLINT: libxml2's array
    return out;
}

// XPath string literal for a value that may hold quotes.
std::string literal(const std::string& v)
{
    if (v.find('\'') == std::string::npos) return "'" + v + "'";
    if (v.find('"') == std::string::npos) return "\"" + v + "\"";
    std::string out = "concat(";
    std::string part;
    for (char c : v) {
        if (c == '\'') {
            out += "'" + part + "', \"'\", ";
            part.clear();
        } else {
            part += c;
        }
    }
    return out + "'" + part + "')";
}

bool is_true(const std::string& v)
{
    return v == "true" || v == "TRUE" || v == "True" || v == "yes" || v == "YES" || v == "y" || v == "on" ||
           v == "1";
}

// First value of nvpair `name` in the direct <SET_NAME> children of `node`.
std::optional<std::string> nvpair(xmlXPathContext* ctx, xmlNode* node, const char* set_name, const char* name)
{
    auto found = select(ctx, std::string("./") + set_name + "/nvpair[@name='" + name + "']", node);
    if (found.empty()) return std::nullopt;
    return attr(found.front(), "value");
}

long to_long(const std::string& s, long fallback)
{
    if (s.empty()) return fallback;
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    return end != nullptr && *end == '\0' ? v : fallback;
}

struct Op {
    std::string operation;
    long call_id = -1;
    int rc = 0;
    int op_status = 0;
    long interval = 0;
    std::string id;
};

bool succeeded(const Op& op)
{
    return op.op_status == 0 &&
           (op.rc == 0 || (op.rc == 8 && (op.operation == "promote" || op.operation == "monitor")));
}

void decide(GuestResource& g, const std::vector<Op>& ops)
{
    // In flight: a pending record of a non-recurring operation.
    for (const auto& op : ops) {
        if ((op.op_status == -1 || op.call_id == -1) && op.interval == 0) {
            g.state = NodeState::busy;
            g.detail = "pending " + op.operation;
            return;
        }
    }
    const Op* last = nullptr;
    for (const auto& op : ops)
        if (op.interval == 0 && (last == nullptr || op.call_id > last->call_id)) last = &op;
    if (last == nullptr) {
        g.state = NodeState::inactive;
        g.detail = "no history on the node";
        return;
    }
    g.decisive_call = last->call_id;
    g.detail =
        last->operation + " rc " + std::to_string(last->rc) + " (call " + std::to_string(last->call_id) + ")";
    const std::string& o = last->operation;
    if (o == "stop" || o == "migrate_to") {
        g.state = succeeded(*last) ? NodeState::inactive : NodeState::failed;
    } else if (o == "monitor") {
        if (last->op_status == 0 && last->rc == 7)
            g.state = NodeState::inactive;
        else
            g.state = succeeded(*last) ? NodeState::active : NodeState::failed;
    } else {
        // start, migrate_from, promote, demote, reload and anything else that leaves the
        // resource running when it succeeds.
        g.state = succeeded(*last) ? NodeState::active : NodeState::failed;
    }
    if (g.state != NodeState::active) return;
    // A failure recorded since (recurring monitor, crm_resource --fail): already known.
    for (const auto& op : ops) {
        if (&op == last || op.call_id < last->call_id) continue;
        bool failure = !succeeded(op) && !(op.operation == "monitor" && op.rc == 7 && op.interval == 0);
        if (op.operation == "monitor" && op.interval > 0 && op.rc == 7) failure = true;
        if (failure) {
            g.state = NodeState::failed;
            g.detail = op.operation + " rc " + std::to_string(op.rc) + " (call " +
                       std::to_string(op.call_id) + ") after " + g.detail;
            return;
        }
    }
}

}  // namespace

const char* node_state_name(NodeState state)
{
    switch (state) {
        case NodeState::inactive:
            return "inactive";
        case NodeState::active:
            return "active";
        case NodeState::busy:
            return "busy";
        case NodeState::failed:
            return "failed";
    }
    return "unknown";
}

bool is_domain_agent(std::string_view cls, std::string_view provider, std::string_view type)
{
    if (cls != "ocf") return false;
    return (provider == "heartbeat" && type == "VirtualDomain") || (provider == "outpost" && type == "guest");
}

Result<CibGuests> parse_cib(std::string_view cib_xml, const std::string& node)
{
    if (cib_xml.size() > kMaxCibBytes) return make_error("watch", -EFBIG, "the CIB is larger than the limit");
    DocPtr doc(
        xmlReadMemory(cib_xml.data(), static_cast<int>(cib_xml.size()), nullptr, nullptr, kParseOptions));
    if (!doc) return make_error("watch", -EINVAL, "the CIB is not well-formed XML");
    ContextPtr ctx(xmlXPathNewContext(doc.get()));
    if (!ctx) return make_error("watch", -ENOMEM, "no XPath context");
    CibGuests out;

    for (auto* p : select(ctx.get(), "/cib/configuration/crm_config//nvpair[@name='maintenance-mode']"))
        out.cluster_maintenance = is_true(attr(p, "value"));
    const std::string n = literal(node);
    std::string maintenance_xpath = "/cib/configuration/nodes/node[@uname=";
    maintenance_xpath.append(n)
        .append("]/instance_attributes/nvpair[@name='maintenance'] | /cib/status/node_state[@uname=")
        .append(n)
        .append("]/transient_attributes/instance_attributes/nvpair[@name='maintenance']");
    for (auto* p : select(ctx.get(), maintenance_xpath))
        if (is_true(attr(p, "value"))) out.node_maintenance = true;
    auto state_nodes = select(ctx.get(), "/cib/status/node_state[@uname=" + n + "]");
    out.node_known = !state_nodes.empty();

    bool default_unmanaged = false;
    for (auto* p : select(ctx.get(), "/cib/configuration/rsc_defaults/meta_attributes/nvpair"))
        if ((attr(p, "name") == "is-managed" && !is_true(attr(p, "value"))) ||
            (attr(p, "name") == "maintenance" && is_true(attr(p, "value"))))
            default_unmanaged = true;

    for (auto* prim : select(ctx.get(), "/cib/configuration/resources//primitive")) {
        std::string cls = attr(prim, "class");
        std::string provider = attr(prim, "provider");
        std::string type = attr(prim, "type");
        xmlNode* tmpl = nullptr;
        if (std::string t = attr(prim, "template"); !t.empty()) {
            auto found = select(ctx.get(), "/cib/configuration/resources/template[@id=" + literal(t) + "]");
            if (!found.empty()) {
                tmpl = found.front();
                if (cls.empty()) cls = attr(tmpl, "class");
                if (provider.empty()) provider = attr(tmpl, "provider");
                if (type.empty()) type = attr(tmpl, "type");
            }
        }
        if (!is_domain_agent(cls, provider, type)) continue;
        GuestResource g;
        g.id = attr(prim, "id");
        g.agent = cls;
        g.agent.append(":").append(provider).append(":").append(type);
        for (const char* name : {"config", "hypervisor"}) {
            auto v = nvpair(ctx.get(), prim, "instance_attributes", name);
            if (!v && tmpl != nullptr) v = nvpair(ctx.get(), tmpl, "instance_attributes", name);
            if (v) (std::strcmp(name, "config") == 0 ? g.config : g.hypervisor) = *v;
        }
        std::optional<bool> managed;
        bool maintenance = false;
        for (xmlNode* r = prim; r != nullptr && !named(r, "resources"); r = r->parent) {
            if (r->type != XML_ELEMENT_NODE) continue;
            // The innermost explicit is-managed wins; maintenance anywhere above counts.
            if (auto v = nvpair(ctx.get(), r, "meta_attributes", "is-managed"); v && !managed)
                managed = is_true(*v);
            if (auto v = nvpair(ctx.get(), r, "meta_attributes", "maintenance"); v && is_true(*v))
                maintenance = true;
        }
        g.managed = managed.value_or(!default_unmanaged) && !maintenance;
        std::vector<Op> ops;
        if (!state_nodes.empty()) {
            for (auto* o :
                 select(ctx.get(), "./lrm/lrm_resources/lrm_resource[@id=" + literal(g.id) + "]/lrm_rsc_op",
                        state_nodes.front())) {
                Op op;
                op.operation = attr(o, "operation");
                op.call_id = to_long(attr(o, "call-id"), -1);
                op.rc = static_cast<int>(to_long(attr(o, "rc-code"), 0));
                op.op_status = static_cast<int>(to_long(attr(o, "op-status"), 0));
                op.interval = to_long(attr(o, "interval"), 0);
                op.id = attr(o, "id");
                ops.push_back(std::move(op));
            }
        }
        decide(g, ops);
        out.guests.push_back(std::move(g));
    }
    return out;
}

}  // namespace outpost::cluster::watch
