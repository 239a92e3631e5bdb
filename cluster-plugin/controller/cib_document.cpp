#include "controller/cib_document.hpp"

#include <array>
#include <charconv>

namespace outpost::cluster::controller {

namespace {

constexpr std::array<std::string_view, 10> kConfigurationSections = {
    "crm_config",  "nodes", "resources", "constraints",      "rsc_defaults",
    "op_defaults", "acls",  "tags",      "fencing-topology", "alerts"};

Result<std::int64_t> version_field(const xmlNode* cib, const char* name)
{
    auto text = attr(cib, name);
    if (!text) return std::int64_t{0};
    std::int64_t value = 0;
    const char* begin = text->data();
    const char* end = begin + text->size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || value < 0) {
        return make_error("cib", cib_rc::invalid,
                          std::string("CIB attribute ") + name + " is not a non-negative integer: " + *text);
    }
    return value;
}

}  // namespace

std::string CibVersion::describe() const
{
    return std::to_string(admin_epoch) + "." + std::to_string(epoch) + "." + std::to_string(num_updates);
}

Result<CibVersion> read_version(const xmlNode* cib)
{
    CibVersion version;
    auto admin = version_field(cib, "admin_epoch");
    if (!admin) return admin.error();
    auto epoch = version_field(cib, "epoch");
    if (!epoch) return epoch.error();
    auto updates = version_field(cib, "num_updates");
    if (!updates) return updates.error();
    version.admin_epoch = *admin;
    version.epoch = *epoch;
    version.num_updates = *updates;
    return version;
}

void write_version(xmlNode* cib, const CibVersion& version)
{
    set_attr(cib, "epoch", std::to_string(version.epoch));
    set_attr(cib, "num_updates", std::to_string(version.num_updates));
    set_attr(cib, "admin_epoch", std::to_string(version.admin_epoch));
}

XmlDoc empty_cib()
{
    XmlDoc doc = new_document("cib");
    xmlNode* cib = root_of(doc.get());
    set_attr(cib, "crm_feature_set", "3.16.1");
    set_attr(cib, "validate-with", "pacemaker-3.9");
    write_version(cib, CibVersion{0, 1, 0});
    xmlNode* configuration =
        xmlNewChild(cib, nullptr, reinterpret_cast<const xmlChar*>("configuration"), nullptr);
    if (configuration == nullptr) throw std::bad_alloc();
    for (const char* section : {"crm_config", "nodes", "resources", "constraints"}) {
        if (xmlNewChild(configuration, nullptr, reinterpret_cast<const xmlChar*>(section), nullptr) ==
            nullptr)
            throw std::bad_alloc();
    }
    if (xmlNewChild(cib, nullptr, reinterpret_cast<const xmlChar*>("status"), nullptr) == nullptr)
        throw std::bad_alloc();
    return doc;
}

bool is_known_section(std::string_view section)
{
    if (section.empty() || section == "all" || section == "cib" || section == "configuration" ||
        section == "status")
        return true;
    for (auto name : kConfigurationSections)
        if (name == section) return true;
    return false;
}

xmlNode* find_section(const xmlDoc* cib, std::string_view section)
{
    xmlNode* root = root_of(cib);
    if (root == nullptr || !is_known_section(section)) return nullptr;
    if (section.empty() || section == "all" || section == "cib") return root;
    if (section == "configuration" || section == "status")
        return child_named(root, std::string(section).c_str());
    return child_named(child_named(root, "configuration"), std::string(section).c_str());
}

xmlNode* ensure_section(xmlDoc* cib, std::string_view section)
{
    xmlNode* found = find_section(cib, section);
    if (found != nullptr || !is_known_section(section)) return found;
    xmlNode* root = root_of(cib);
    if (section == "configuration" || section == "status") return nullptr;  // the shape check requires both
    xmlNode* configuration = child_named(root, "configuration");
    if (configuration == nullptr) return nullptr;
    xmlNode* created = xmlNewChild(configuration, nullptr,
                                   reinterpret_cast<const xmlChar*>(std::string(section).c_str()), nullptr);
    if (created == nullptr) throw std::bad_alloc();
    return created;
}

Status check_cib_shape(const xmlDoc* cib)
{
    xmlNode* root = root_of(cib);
    if (!is_named(root, "cib")) {
        return make_error("cib", cib_rc::invalid, "the root element is <" + name_of(root) + ">, not <cib>");
    }
    if (auto version = read_version(root); !version) return version.error();
    xmlNode* configuration = child_named(root, "configuration");
    if (configuration == nullptr) return make_error("cib", cib_rc::invalid, "the CIB has no <configuration>");
    for (const char* section : {"crm_config", "nodes", "resources", "constraints"}) {
        if (child_named(configuration, section) == nullptr)
            return make_error("cib", cib_rc::invalid,
                              std::string("the CIB has no <") + section + "> section");
    }
    return {};
}

}  // namespace outpost::cluster::controller
