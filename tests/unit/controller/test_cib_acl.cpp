// cib_acl: the rules a user gets, read filtering and write checks, one rule kind at a time,
// with the outcomes 2.1.5 showed for the same ACLs (tests/integration/test_controld_acl.cpp
// runs the real tools against outpost-controld with them).
#include <catch.hpp>

#include <string>
#include <vector>

#include "controller/cib_acl.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_ops.hpp"
#include "controller/cib_service.hpp"

using namespace outpost::cluster::controller;

namespace {

XmlDoc parse(const std::string& text)
{
    auto doc = parse_document(text, 1 << 20, "test XML");
    REQUIRE(doc.ok());
    return std::move(*doc);
}

// A CIB with two resources, a status entry for d1, and `acls` as its ACL section.
XmlDoc cib_with(const std::string& acls, bool enabled = true)
{
    return parse(
        std::string(R"(<cib validate-with="pacemaker-3.9" epoch="3" num_updates="0" admin_epoch="0">)") +
        "<configuration><crm_config><cluster_property_set id=\"opts\">"
        "<nvpair id=\"opts-acl\" name=\"enable-acl\" value=\"" +
        (enabled ? "true" : "false") +
        "\"/><nvpair id=\"opts-st\" name=\"stonith-enabled\" value=\"false\"/>"
        "</cluster_property_set></crm_config><nodes><node id=\"1\" uname=\"node1\"/></nodes>"
        "<resources><primitive id=\"d1\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
        "<instance_attributes id=\"d1-ia\"><nvpair id=\"d1-fake\" name=\"fake\" value=\"1\"/>"
        "</instance_attributes></primitive>"
        "<primitive id=\"d3\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/></resources>"
        "<constraints/><acls>" +
        acls +
        "</acls></configuration><status><node_state id=\"1\" uname=\"node1\"><lrm id=\"1\"><lrm_resources>"
        "<lrm_resource id=\"d1\" type=\"Dummy\"/><lrm_resource id=\"d3\" type=\"Dummy\"/>"
        "</lrm_resources></lrm></node_state></status></cib>");
}

std::string role(const std::string& user, const std::string& permissions)
{
    return "<acl_target id=\"" + user + "\"><role id=\"r-" + user + "\"/></acl_target><acl_role id=\"r-" +
           user + "\">" + permissions + "</acl_role>";
}

std::vector<AclRule> rules_of(const XmlDoc& cib, const std::string& user,
                              std::vector<std::string> groups = {})
{
    return acl_rules_for(cib.get(), AclUser{user, std::move(groups)});
}

// What `user` may read of `cib`, as text ("" for nothing).
std::string visible(const XmlDoc& cib, const std::string& user, std::vector<std::string>* problems = nullptr)
{
    XmlDoc filtered = acl_filtered_copy(cib.get(), rules_of(cib, user), problems);
    return filtered ? serialize(root_of(filtered.get())) : std::string();
}

bool shows(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// The rc of `op` by `user` on `cib`, through cib_ops as the service runs it.
int write_rc(XmlDoc& cib, const std::string& user, const std::string& op, const std::string& section,
             const std::string& data)
{
    static Schemas schemas;
    const auto rules = rules_of(cib, user);
    XmlDoc data_doc = parse(data);
    CibOperation operation{op, section, 0, root_of(data_doc.get())};
    operation.acl_rules = &rules;
    CibOutcome outcome =
        perform(cib.get(), operation, schemas, UpdateOrigin{"cibadmin", user, "node1", "now"});
    if (outcome.updated) cib = copy_document(outcome.updated.get());
    return outcome.rc;
}

}  // namespace

TEST_CASE("enable-acl and the exempt users decide whether ACLs apply", "[cib_acl]")
{
    CHECK(acls_enabled(cib_with("").get()));
    CHECK_FALSE(acls_enabled(cib_with("", false).get()));
    CHECK_FALSE(acls_enabled(empty_cib().get()));
    CHECK(acl_exempt("root"));
    CHECK(acl_exempt("hacluster"));
    CHECK_FALSE(acl_exempt("alice"));
}

TEST_CASE("a user without target or group gets no rules and reads nothing", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("alice", R"(<acl_permission id="p" kind="read" xpath="/cib"/>)"));
    CHECK(rules_of(cib, "bob").empty());
    CHECK(visible(cib, "bob").empty());
    // Observed on 2.1.5: a query is "Permission denied", a create too.
    CHECK(write_rc(cib, "bob", "cib_create", "resources",
                   R"(<primitive id="n" class="ocf" provider="pacemaker" type="Dummy"/>)") == -EACCES);
}

TEST_CASE("acl_group gives its roles to the members of the system group", "[cib_acl]")
{
    XmlDoc cib =
        cib_with(R"(<acl_group id="ops"><role id="r-ro"/></acl_group>)"
                 R"(<acl_role id="r-ro"><acl_permission id="p" kind="read" xpath="/cib"/></acl_role>)");
    CHECK(rules_of(cib, "carol", {"haclient", "ops"}).size() == 1);
    CHECK(rules_of(cib, "carol", {"haclient"}).empty());
}

TEST_CASE("acl_target's name attribute names the user when set", "[cib_acl]")
{
    XmlDoc cib = cib_with(R"(<acl_target id="t1" name="alice"><role id="r"/></acl_target>)"
                          R"(<acl_role id="r"><acl_permission id="p" kind="read" xpath="/cib"/></acl_role>)");
    CHECK(rules_of(cib, "alice").size() == 1);
    CHECK(rules_of(cib, "t1").empty());
}

TEST_CASE("read on /cib shows everything and allows no change", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("ro", R"(<acl_permission id="p" kind="read" xpath="/cib"/>)"));
    CHECK(visible(cib, "ro") == serialize(root_of(cib.get())));
    CHECK(write_rc(cib, "ro", "cib_modify", "", R"(<primitive id="d1" description="ro"/>)") == -EACCES);
    CHECK(write_rc(cib, "ro", "cib_delete", "", R"(<primitive id="d3"/>)") == -EACCES);
    // No change at all is not refused (2.1.5: a replace with the same content succeeds).
    CHECK(write_rc(cib, "ro", "cib_replace", "constraints", "<constraints/>") == 0);
}

TEST_CASE("write by xpath allows changes inside the selected subtree only", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("rw", R"(<acl_permission id="p1" kind="read" xpath="/cib"/>)"
                                     R"(<acl_permission id="p2" kind="write" xpath="//resources"/>)"));
    CHECK(write_rc(cib, "rw", "cib_modify", "", R"(<primitive id="d1" description="rw"/>)") == 0);
    CHECK(
        write_rc(
            cib, "rw", "cib_create", "resources",
            R"(<primitive id="n2" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="n2-m"><nvpair id="n2-t" name="target-role" value="Stopped"/></meta_attributes></primitive>)") ==
        0);
    CHECK(write_rc(cib, "rw", "cib_delete", "", R"(<primitive id="n2"/>)") == 0);
    CHECK(write_rc(cib, "rw", "cib_create", "constraints",
                   R"(<rsc_location id="l1" rsc="d1" node="node1" score="10"/>)") == -EACCES);
    CHECK(
        write_rc(
            cib, "rw", "cib_modify", "crm_config",
            R"(<cluster_property_set id="opts"><nvpair id="opts-foo" name="foo" value="bar"/></cluster_property_set>)") ==
        -EACCES);
    CHECK(shows(serialize(root_of(cib.get())), R"(description="rw")"));
}

TEST_CASE("deny by reference hides every element with that id and refuses changing it", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("dn", R"(<acl_permission id="p1" kind="write" xpath="/cib"/>)"
                                     R"(<acl_permission id="p2" kind="deny" reference="d1"/>)"
                                     R"(<acl_permission id="p3" kind="deny" xpath="//crm_config"/>)"));
    const std::string seen = visible(cib, "dn");
    CHECK_FALSE(shows(seen, R"(primitive id="d1")"));
    CHECK_FALSE(shows(seen, R"(lrm_resource id="d1")"));  // the reference matches in the status too
    CHECK_FALSE(shows(seen, "<crm_config"));
    CHECK(shows(seen, R"(<primitive id="d3" class="ocf")"));
    CHECK(write_rc(cib, "dn", "cib_modify", "", R"(<primitive id="d1" description="dn"/>)") == -EACCES);
    CHECK(write_rc(cib, "dn", "cib_delete", "", R"(<primitive id="d1"/>)") == -EACCES);
    CHECK(write_rc(cib, "dn", "cib_modify", "", R"(<primitive id="d3" description="dn"/>)") == 0);
}

TEST_CASE("the deepest selection decides, whatever the order of the permissions", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("or", R"(<acl_permission id="p1" kind="deny" xpath="//primitive[@id='d3']"/>)"
                                     R"(<acl_permission id="p2" kind="write" xpath="//resources"/>)"
                                     R"(<acl_permission id="p3" kind="read" xpath="/cib"/>)"));
    CHECK_FALSE(shows(visible(cib, "or"), R"(primitive id="d3")"));
    CHECK(write_rc(cib, "or", "cib_modify", "", R"(<primitive id="d3" description="or"/>)") == -EACCES);
    CHECK(write_rc(cib, "or", "cib_modify", "", R"(<primitive id="d1" description="or"/>)") == 0);
}

TEST_CASE("on one element deny beats write beats read", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("u", R"(<acl_permission id="p1" kind="read" xpath="/cib"/>)"
                                    R"(<acl_permission id="p2" kind="write" reference="d1"/>)"
                                    R"(<acl_permission id="p3" kind="read" reference="d1"/>)"
                                    R"(<acl_permission id="p4" kind="write" reference="d3"/>)"
                                    R"(<acl_permission id="p5" kind="deny" reference="d3"/>)"));
    CHECK(write_rc(cib, "u", "cib_modify", "", R"(<primitive id="d1" description="w"/>)") == 0);
    CHECK(write_rc(cib, "u", "cib_modify", "", R"(<primitive id="d3" description="w"/>)") == -EACCES);
    CHECK_FALSE(shows(visible(cib, "u"), R"(primitive id="d3")"));
}

TEST_CASE("an unreadable element stays, stripped to its id, as the path to a readable one", "[cib_acl]")
{
    // As 2.1.5 showed it: <cib> without attributes, <node_state id="1"> without the rest.
    XmlDoc cib = cib_with(role("pt", R"(<acl_permission id="p1" kind="read" reference="d1"/>)"));
    const std::string seen = visible(cib, "pt");
    CHECK(seen.rfind("<cib><configuration><resources><primitive id=\"d1\" class=\"ocf\"", 0) == 0);
    CHECK(
        shows(seen, R"(<node_state id="1"><lrm id="1"><lrm_resources><lrm_resource id="d1" type="Dummy"/>)"));
    CHECK_FALSE(shows(seen, "d3"));
    CHECK_FALSE(shows(seen, "crm_config"));
    CHECK_FALSE(shows(seen, "epoch"));
}

TEST_CASE("object-type with attribute selects the elements carrying it, judged after the change", "[cib_acl]")
{
    XmlDoc cib = cib_with(
        role("pt", R"(<acl_permission id="p1" kind="read" reference="d1"/>)"
                   R"(<acl_permission id="p2" kind="write" object-type="primitive" attribute="description"/>)"
                   R"(<acl_permission id="p3" kind="read" object-type="nvpair" attribute="value"/>)"));
    const std::string seen = visible(cib, "pt");
    CHECK(shows(seen, R"(<nvpair id="opts-acl" name="enable-acl" value="true"/>)"));
    CHECK(shows(seen, R"(<cluster_property_set id="opts">)"));
    // Observed on 2.1.5: adding the named attribute is allowed, and then the whole
    // element is writable.
    CHECK(write_rc(cib, "pt", "cib_modify", "", R"(<primitive id="d3" description="pt"/>)") == 0);
    CHECK(write_rc(cib, "pt", "cib_modify", "", R"(<primitive id="d3" type="Stateful"/>)") == 0);
    CHECK(write_rc(cib, "pt", "cib_create", "resources",
                   R"(<primitive id="n2" class="ocf" provider="pacemaker" type="Dummy"/>)") == -EACCES);
}

TEST_CASE("object-type without attribute selects every element of that name", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("u", R"(<acl_permission id="p1" kind="read" object-type="primitive"/>)"));
    const std::string seen = visible(cib, "u");
    CHECK(shows(seen, R"(primitive id="d1")"));
    CHECK(shows(seen, R"(primitive id="d3")"));
    CHECK_FALSE(shows(seen, "lrm_resource"));
}

TEST_CASE("scaffolding may be created under what the user may write", "[cib_acl]")
{
    XmlDoc cib = cib_with(
        role("u", R"(<acl_permission id="p1" kind="read" xpath="/cib"/>)"
                  R"(<acl_permission id="p2" kind="write" xpath="//nvpair[@name='target-role']"/>)"));
    // A meta_attributes set with only an id needs no permission of its own; its nvpair
    // does, and has it.
    CHECK(
        write_rc(
            cib, "u", "cib_modify", "",
            R"(<primitive id="d3"><meta_attributes id="d3-m"><nvpair id="d3-t" name="target-role" value="Stopped"/></meta_attributes></primitive>)") ==
        0);
    CHECK(
        write_rc(
            cib, "u", "cib_modify", "",
            R"(<primitive id="d3"><meta_attributes id="d3-m"><nvpair id="d3-x" name="is-managed" value="false"/></meta_attributes></primitive>)") ==
        -EACCES);
}

TEST_CASE("a refused write changes nothing", "[cib_acl]")
{
    XmlDoc cib = cib_with(role("ro", R"(<acl_permission id="p" kind="read" xpath="/cib"/>)"));
    const std::string before = serialize(root_of(cib.get()));
    CHECK(write_rc(cib, "ro", "cib_replace", "resources", "<resources/>") == -EACCES);
    CHECK(serialize(root_of(cib.get())) == before);
}

TEST_CASE("an invalid xpath is ignored with a problem reported, never a crash", "[cib_acl]")
{
    // 2.1.5 ignores the broken deny: the read on /cib still shows everything.
    XmlDoc cib = cib_with(role("bad", R"(<acl_permission id="p1" kind="read" xpath="/cib"/>)"
                                      R"(<acl_permission id="p2" kind="deny" xpath="//[[bad"/>)"));
    std::vector<std::string> problems;
    CHECK(visible(cib, "bad", &problems) == serialize(root_of(cib.get())));
    REQUIRE(problems.size() == 1);
    CHECK(shows(problems.front(), "p2"));
    for (const char* xpath : {"", "count(//*)", "//*[", "string(/cib)", "/cib/@epoch", "//text()"}) {
        XmlDoc odd = cib_with(
            role("odd", std::string(R"(<acl_permission id="p" kind="read" xpath=")") + xpath + "\"/>"));
        (void)visible(odd, "odd");
        CHECK(write_rc(odd, "odd", "cib_modify", "", R"(<primitive id="d1" description="x"/>)") == -EACCES);
    }
}

TEST_CASE("a reference or object-type that is not an XML name selects nothing", "[cib_acl]")
{
    XmlDoc cib =
        cib_with(R"(<acl_target id="u"><role id="r"/></acl_target><acl_role id="r">)"
                 R"(<acl_permission id="p1" kind="read" object-type="primitive]|//*[1"/></acl_role>)");
    std::vector<std::string> problems;
    CHECK(visible(cib, "u", &problems).empty());
    CHECK(problems.size() == 1);
}

TEST_CASE("a change notification shows a restricted user only what they may read", "[cib_acl]")
{
    const std::string acls = role(
        "dn",
        R"(<acl_permission id="p1" kind="read" xpath="/cib"/><acl_permission id="p2" kind="deny" reference="d1"/>)");
    XmlDoc before = cib_with(acls);
    XmlDoc d1_changed = copy_document(before.get());
    XmlDoc d3_changed = copy_document(before.get());
    xmlNode* resources = find_section(d1_changed.get(), "resources");
    set_attr(first_element(resources), "description", "secret");
    set_attr(next_element(first_element(find_section(d3_changed.get(), "resources"))), "description", "open");
    CibRequest request;
    request.op = "cib_modify";
    CibClient admin{"c1", "cibadmin", "root", false, true};
    CibClient restricted{"c2", "crm_mon", "dn", false, true};
    CibClient stranger{"c3", "crm_mon", "nobody-here", false, true};

    const CibChange hidden(request, "c1", before.get(), d1_changed.get());
    REQUIRE(hidden.notification_for(admin) == &hidden.notification());
    CHECK(hidden.notification().find("secret") != std::string::npos);
    CHECK(hidden.notification_for(restricted) == nullptr);  // d1 is denied: nothing to see
    CHECK(hidden.notification_for(stranger) == nullptr);    // no rules: reads nothing

    const CibChange visible_change(request, "c1", before.get(), d3_changed.get());
    const std::string* seen = visible_change.notification_for(restricted);
    REQUIRE(seen != nullptr);
    CHECK(seen != &visible_change.notification());
    CHECK(seen->find("open") != std::string::npos);
    CHECK(seen->find("d1") == std::string::npos);
}
