#include "lifecycle/domain_config.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace outpost::cluster::lifecycle {

namespace {

struct DocFree {
    void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;
struct XmlFree {
    void operator()(xmlChar* text) const noexcept { xmlFree(text); }
};
using XmlText = std::unique_ptr<xmlChar, XmlFree>;

// No network, no entities from outside, no DTD loading: the file describes a domain.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

Error config_error(int code, std::string message)
{
    return make_error("lifecycle", code, std::move(message));
}

const char* as_char(const xmlChar* text)
{
    return reinterpret_cast<const char*>(text);  // NOLINT: libxml2 strings are UTF-8 bytes
}
const xmlChar* as_xml(const char* text)
{
    return reinterpret_cast<const xmlChar*>(text);  // NOLINT
}

bool named(const xmlNode* node, const char* name)
{
    return node->type == XML_ELEMENT_NODE && std::strcmp(as_char(node->name), name) == 0;
}

const xmlNode* first_child(const xmlNode* parent, const char* name)
{
    for (const xmlNode* c = parent->children; c != nullptr; c = c->next)
        if (named(c, name)) return c;
    return nullptr;
}

std::string text_of(const xmlNode* node)
{
    XmlText content(xmlNodeGetContent(node));
    std::string s = content ? as_char(content.get()) : "";
    auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    auto end = s.find_last_not_of(" \t\r\n");
    return s.substr(begin, end - begin + 1);
}

std::string attr_of(const xmlNode* node, const char* name)
{
    XmlText value(xmlGetProp(node, as_xml(name)));
    return value ? as_char(value.get()) : "";
}

void add_unique(std::vector<std::string>& list, std::string value)
{
    if (value.empty() || std::find(list.begin(), list.end(), value) != list.end()) return;
    list.push_back(std::move(value));
}

Result<DocPtr> parse_document(std::string_view xml, std::string_view origin)
{
    if (xml.size() > kMaxDomainXmlBytes)
        return config_error(
            -EFBIG, std::string(origin) + ": larger than " + std::to_string(kMaxDomainXmlBytes) + " bytes");
    DocPtr doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, kParseOptions));
    if (!doc) {
        const xmlError* e = xmlGetLastError();
        std::string why = e != nullptr && e->message != nullptr ? e->message : "not well-formed";
        while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
            why.pop_back();
        std::string where = e != nullptr ? " (line " + std::to_string(e->line) + ")" : "";
        return config_error(-EINVAL, std::string(origin) + " is not valid XML" + where + ": " + why);
    }
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr || !named(root, "domain"))
        return config_error(-EINVAL, std::string(origin) + ": the root element is not <domain>");
    return doc;
}

}  // namespace

Result<DomainConfig> parse_domain_config(std::string_view xml, std::string_view origin)
{
    auto doc = parse_document(xml, origin);
    if (!doc) return doc.error();
    const xmlNode* root = xmlDocGetRootElement(doc->get());
    DomainConfig config;
    config.xml = std::string(xml);
    config.type = attr_of(root, "type");
    if (config.type.empty())
        return config_error(-EINVAL, std::string(origin) + ": <domain> has no type attribute");
    const xmlNode* name = first_child(root, "name");
    if (name != nullptr) config.name = text_of(name);
    if (config.name.empty()) return config_error(-EINVAL, std::string(origin) + ": the domain has no <name>");
    if (const xmlNode* uuid = first_child(root, "uuid"); uuid != nullptr) config.uuid = text_of(uuid);
    if (const xmlNode* os = first_child(root, "os"); os != nullptr)
        if (const xmlNode* init = first_child(os, "init"); init != nullptr) config.init = text_of(init);
    if (const xmlNode* poweroff = first_child(root, "on_poweroff"); poweroff != nullptr)
        config.on_poweroff = text_of(poweroff);
    if (const xmlNode* devices = first_child(root, "devices"); devices != nullptr) {
        for (const xmlNode* d = devices->children; d != nullptr; d = d->next) {
            const xmlNode* source = d->type == XML_ELEMENT_NODE ? first_child(d, "source") : nullptr;
            if (source == nullptr) continue;
            if (named(d, "interface") && attr_of(d, "type") == "network")
                add_unique(config.networks, attr_of(source, "network"));
            else if (named(d, "disk") && attr_of(d, "type") == "volume")
                add_unique(config.pools, attr_of(source, "pool"));
        }
    }
    return config;
}

Result<DomainConfig> read_domain_config(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno;
        std::error_code ec;
        if (!std::filesystem::exists(path, ec))
            return config_error(-ENOENT, "configuration file " + path.string() + " does not exist");
        return config_error(err == 0 ? -EACCES : -err,
                            "configuration file " + path.string() + " cannot be read: " + std::strerror(err));
    }
    std::string text;
    text.resize(kMaxDomainXmlBytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxDomainXmlBytes)
        return config_error(-EFBIG, "configuration file " + path.string() + " is larger than " +
                                        std::to_string(kMaxDomainXmlBytes) + " bytes");
    return parse_domain_config(text, "configuration file " + path.string());
}

namespace {

bool is_mark(const xmlNode* node)
{
    return node->type == XML_ELEMENT_NODE && node->ns != nullptr && node->ns->href != nullptr &&
           std::strcmp(as_char(node->ns->href), kOwnerNamespace) == 0;
}

// Removes every owner mark below <metadata>; returns the (last) metadata element.
xmlNode* strip_marks(xmlNode* root)
{
    xmlNode* metadata = nullptr;
    for (xmlNode* c = root->children; c != nullptr; c = c->next)
        if (named(c, "metadata")) metadata = c;
    if (metadata == nullptr) return nullptr;
    for (xmlNode* c = metadata->children; c != nullptr;) {
        xmlNode* next = c->next;
        if (is_mark(c)) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
        c = next;
    }
    return metadata;
}

Result<std::string> dump(xmlDoc* doc)
{
    xmlChar* out = nullptr;
    int size = 0;
    xmlDocDumpFormatMemory(doc, &out, &size, 1);
    XmlText owned(out);
    if (!owned) return config_error(-ENOMEM, "serialising the domain XML failed");
    return std::string(as_char(owned.get()), static_cast<std::size_t>(size));
}

}  // namespace

Result<std::string> with_owner_mark(std::string_view xml, const std::string& resource)
{
    auto doc = parse_document(xml, "domain XML");
    if (!doc) return doc.error();
    xmlNode* root = xmlDocGetRootElement(doc->get());
    xmlNode* metadata = strip_marks(root);
    if (metadata == nullptr) metadata = xmlNewChild(root, nullptr, as_xml("metadata"), nullptr);
    xmlNode* mark = xmlNewChild(metadata, nullptr, as_xml(kOwnerElement), nullptr);
    xmlNs* ns = xmlNewNs(mark, as_xml(kOwnerNamespace), as_xml(kOwnerPrefix));
    xmlSetNs(mark, ns);
    xmlNewProp(mark, as_xml("resource"), as_xml(resource.c_str()));
    return dump(doc->get());
}

Result<std::string> with_uuid(std::string_view xml, const std::string& uuid)
{
    auto doc = parse_document(xml, "domain XML");
    if (!doc) return doc.error();
    xmlNode* root = xmlDocGetRootElement(doc->get());
    if (first_child(root, "uuid") == nullptr)
        xmlNewTextChild(root, nullptr, as_xml("uuid"), as_xml(uuid.c_str()));
    return dump(doc->get());
}

Result<std::string> without_owner_mark(std::string_view xml)
{
    auto doc = parse_document(xml, "domain XML");
    if (!doc) return doc.error();
    xmlNode* metadata = strip_marks(xmlDocGetRootElement(doc->get()));
    if (metadata != nullptr && xmlFirstElementChild(metadata) == nullptr) {
        xmlUnlinkNode(metadata);
        xmlFreeNode(metadata);
    }
    return dump(doc->get());
}

std::string owner_from_mark(std::string_view mark_xml)
{
    if (mark_xml.empty() || mark_xml.size() > kMaxDomainXmlBytes) return "";
    DocPtr doc(
        xmlReadMemory(mark_xml.data(), static_cast<int>(mark_xml.size()), nullptr, nullptr, kParseOptions));
    if (!doc) return "";
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr || !named(root, kOwnerElement)) return "";
    return attr_of(root, "resource");
}

bool restarts_on_poweroff(const DomainConfig& config)
{
    return config.on_poweroff == "restart" || config.on_poweroff == "rename-restart";
}

bool has_system_init(const DomainConfig& config)
{
    static constexpr std::string_view kSystemInits[] = {
        "", "/sbin/init", "/usr/sbin/init", "/bin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"};
    return std::find(std::begin(kSystemInits), std::end(kSystemInits), config.init) != std::end(kSystemInits);
}

std::string default_uri_for_type(std::string_view type)
{
    if (type == "lxc") return "lxc:///";
    if (type == "qemu" || type == "kvm") return "qemu:///system";
    if (type == "xen") return "xen:///system";
    return "";
}

}  // namespace outpost::cluster::lifecycle
