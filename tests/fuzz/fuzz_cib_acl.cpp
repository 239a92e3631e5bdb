// fuzz-cib-acl: arbitrary bytes as a CIB whose <acls> (admin-written, but never to crash the
// daemon) are evaluated for every user and group they name: the rules, the filtered copy a
// query would see, and the check of a write (the CIB with one more attribute on each
// element in turn, and without its first resource). Invalid XPaths, odd selectors and
// deep documents must give a result, never a crash or a hang.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controller/cib_acl.hpp"
#include "controller/cib_document.hpp"
#include "controller/xml.hpp"

using namespace outpost::cluster::controller;

namespace {

// Inputs beyond this gain nothing but time.
constexpr std::size_t kMaxInput = std::size_t{64} * 1024;
constexpr int kMaxEdits = 32;

// The users and groups the CIB's acls name.
std::vector<std::string> names_in(const xmlDoc* cib)
{
    std::vector<std::string> names;
    const xmlNode* acls = find_section(cib, "acls");
    for (const xmlNode* holder = first_element(acls); holder != nullptr; holder = next_element(holder)) {
        if (auto id = attr(holder, "id")) names.push_back(*id);
        if (auto name = attr(holder, "name")) names.push_back(*name);
    }
    return names;
}

void edit_each(const xmlDoc* cib, const std::vector<AclRule>& rules)
{
    int edits = 0;
    XmlDoc copy = copy_document(cib);
    std::vector<xmlNode*> pending{root_of(copy.get())};
    while (!pending.empty() && edits < kMaxEdits) {
        xmlNode* node = pending.back();
        pending.pop_back();
        if (node == nullptr) continue;
        set_attr(node, "fuzz-edit", std::to_string(edits));
        (void)acl_check_write(cib, copy.get(), rules);
        ++edits;
        for (xmlNode* child = first_element(node); child != nullptr; child = next_element(child))
            pending.push_back(child);
    }
    XmlDoc removed = copy_document(cib);
    if (xmlNode* resources = find_section(removed.get(), "resources")) {
        if (xmlNode* first = first_element(resources)) {
            xmlUnlinkNode(first);
            xmlFreeNode(first);
        }
    }
    (void)acl_check_write(cib, removed.get(), rules);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kMaxInput) return 0;
    auto doc =
        parse_document(std::string_view(reinterpret_cast<const char*>(data), size), kMaxInput, "fuzz input");
    if (!doc || root_of(doc->get()) == nullptr) return 0;
    const xmlDoc* cib = doc->get();
    (void)acls_enabled(cib);
    const std::vector<std::string> names = names_in(cib);
    for (const std::string& name : names) {
        const std::vector<AclRule> rules = acl_rules_for(cib, AclUser{name, names});
        std::vector<std::string> problems;
        (void)acl_filtered_copy(cib, rules, &problems);
        edit_each(cib, rules);
    }
    return 0;
}
