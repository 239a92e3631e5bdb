// cib_ops: each operation's result, version bump and refusal, as observed from 2.1.5's
// cibadmin on CIB files (CIB_file=); the CIB is never changed by a refused request.
#include <catch.hpp>

#include <string>

#include "controller/cib_document.hpp"
#include "controller/cib_ops.hpp"

using namespace outpost::cluster::controller;

namespace {

Schemas& schemas()
{
    static Schemas installed;
    return installed;
}

XmlDoc parse(const std::string& text)
{
    auto doc = parse_document(text, 1 << 20, "test XML");
    REQUIRE(doc.ok());
    return std::move(*doc);
}

const UpdateOrigin kOrigin{"cibadmin", "root", "node1", "Sun Dec  6 10:00:00 2026"};

struct Run {
    XmlDoc cib;
    CibOutcome outcome;
};

// Runs `op` with `data` on `cib` and keeps the CIB as it is afterwards.
CibOutcome run(XmlDoc& cib, const std::string& op, const std::string& section, const std::string& data,
               std::uint32_t options = 0)
{
    XmlDoc data_doc = data.empty() ? XmlDoc() : parse(data);
    CibOperation operation{op, section, options, data_doc ? root_of(data_doc.get()) : nullptr};
    CibOutcome outcome = perform(cib.get(), operation, schemas(), kOrigin);
    if (outcome.updated) cib = copy_document(outcome.updated.get());
    return outcome;
}

CibVersion version_of(const XmlDoc& cib)
{
    return read_version(root_of(cib.get())).value();
}

std::string text_of(const XmlDoc& doc)
{
    return serialize(root_of(doc.get()));
}

XmlDoc with_node()
{
    XmlDoc cib = empty_cib();
    REQUIRE(run(cib, "cib_create", "nodes", R"(<node id="1" uname="node1"/>)").rc == 0);
    return cib;
}

}  // namespace

TEST_CASE("the empty CIB is what cibadmin --empty prints and is valid")
{
    XmlDoc cib = empty_cib();
    CHECK(
        text_of(cib) ==
        R"(<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">)"
        R"(<configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>)");
    CHECK(schemas().validate(cib.get()).ok());
    CHECK(check_cib_shape(cib.get()).ok());
}

TEST_CASE("queries: whole CIB, sections, XPath, no children")
{
    XmlDoc cib = with_node();
    auto whole = run(cib, "cib_query", "", "");
    REQUIRE(whole.rc == 0);
    CHECK(name_of(root_of(whole.output.get())) == "cib");
    auto nodes = run(cib, "cib_query", "nodes", "");
    CHECK(text_of(nodes.output) == R"(<nodes><node id="1" uname="node1"/></nodes>)");
    CHECK(run(cib, "cib_query", "nosuch", "").rc == cib_rc::not_found);
    CHECK(run(cib, "cib_query", "rsc_defaults", "").rc == cib_rc::not_found);
    auto bare = run(cib, "cib_query", "nodes", "", call_option::no_children);
    CHECK(text_of(bare.output) == "<nodes/>");

    auto one = run(cib, "cib_query", "//node[@id='1']", "", call_option::xpath);
    CHECK(text_of(one.output) == R"(<node id="1" uname="node1"/>)");
    auto by_attribute = run(cib, "cib_query", "//node/@uname", "", call_option::xpath);
    CHECK(text_of(by_attribute.output) == R"(<node id="1" uname="node1"/>)");
    REQUIRE(run(cib, "cib_create", "nodes", R"(<node id="2" uname="node2"/>)").rc == 0);
    auto both = run(cib, "cib_query", "//node", "", call_option::xpath);
    CHECK(text_of(both.output) ==
          R"(<xpath-query><node id="1" uname="node1"/><node id="2" uname="node2"/></xpath-query>)");
    CHECK(run(cib, "cib_query", "//node[@id='7']", "", call_option::xpath).rc == cib_rc::not_found);
    CHECK(run(cib, "cib_query", "//node[", "", call_option::xpath).rc == cib_rc::invalid);
    CHECK(run(cib, "cib_query", std::string(kMaxXpathLength + 1, 'a'), "", call_option::xpath).rc ==
          cib_rc::invalid);
}

TEST_CASE("a configuration change bumps epoch and records who made it")
{
    XmlDoc cib = empty_cib();
    auto outcome = run(cib, "cib_create", "nodes", R"(<node id="1" uname="node1"/>)");
    REQUIRE(outcome.rc == 0);
    CHECK(outcome.config_changed);
    CHECK(version_of(cib) == CibVersion{0, 2, 0});
    xmlNode* root = root_of(cib.get());
    CHECK(attr(root, "update-client") == "cibadmin");
    CHECK(attr(root, "update-user") == "root");
    CHECK(attr(root, "update-origin") == "node1");
    CHECK(attr(root, "cib-last-written") == "Sun Dec  6 10:00:00 2026");
}

TEST_CASE("a status change bumps num_updates only; no change, no bump")
{
    XmlDoc cib = with_node();
    REQUIRE(run(cib, "cib_create", "status", R"(<node_state id="1" uname="node1"/>)").rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 2, 1});
    REQUIRE(run(cib, "cib_modify", "", R"(<node_state id="1" in_ccm="true"/>)").rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 2, 2});
    auto same = run(cib, "cib_modify", "", R"(<node_state id="1" in_ccm="true"/>)");
    CHECK(same.rc == 0);
    CHECK_FALSE(same.updated);
    CHECK(version_of(cib) == CibVersion{0, 2, 2});
}

TEST_CASE("create refuses an existing id with a failed report and no change")
{
    XmlDoc cib = with_node();
    const std::string before = text_of(cib);
    auto outcome = run(cib, "cib_create", "nodes", R"(<node id="1" uname="other"/>)");
    CHECK(outcome.rc == cib_rc::exists);
    CHECK_FALSE(outcome.updated);
    REQUIRE(outcome.output);
    CHECK(text_of(outcome.output) ==
          R"(<failed><failed_update id="1" object_type="node" operation="cib_create" reason="File exists">)"
          R"(<node id="1" uname="other"/></failed_update></failed>)");
    CHECK(text_of(cib) == before);
    CHECK(run(cib, "cib_create", "", R"(<node id="9" uname="n9"/>)").rc == cib_rc::not_found);
}

TEST_CASE("a schema-invalid update is refused whole")
{
    XmlDoc cib = with_node();
    const std::string before = text_of(cib);
    auto outcome = run(cib, "cib_create", "nodes", R"(<node id="2" unamex="x"/>)");
    CHECK(outcome.rc == cib_rc::schema_validation);
    CHECK(outcome.message.find("pacemaker-3.9") != std::string::npos);
    CHECK(text_of(cib) == before);
    // Two changes in one request, the second invalid: neither happens.
    outcome = run(cib, "cib_replace", "nodes", R"(<nodes><node id="1" uname="a"/><node id="3"/></nodes>)");
    CHECK(outcome.rc == cib_rc::schema_validation);
    CHECK(text_of(cib) == before);
    // validate-with naming something that is not a schema.
    CHECK(run(cib, "cib_modify", "", R"(<cib validate-with="../../etc/passwd"/>)").rc ==
          cib_rc::schema_validation);
    CHECK(text_of(cib) == before);
}

TEST_CASE("modify merges by name and id, creates only with cib_can_create")
{
    XmlDoc cib = with_node();
    REQUIRE(
        run(cib, "cib_modify", "nodes",
            R"(<node id="1"><instance_attributes id="ia"><nvpair id="p" name="a" value="1"/></instance_attributes></node>)")
            .rc == 0);
    REQUIRE(
        run(cib, "cib_modify", "nodes",
            R"(<node id="1"><instance_attributes id="ia"><nvpair id="p" value="2"/></instance_attributes></node>)")
            .rc == 0);
    auto node = run(cib, "cib_query", "//node[@id='1']", "", call_option::xpath);
    CHECK(
        text_of(node.output) ==
        R"(<node id="1" uname="node1"><instance_attributes id="ia"><nvpair id="p" name="a" value="2"/></instance_attributes></node>)");
    CHECK(run(cib, "cib_modify", "nodes", R"(<node id="5" uname="n5"/>)").rc == cib_rc::not_found);
    CHECK(run(cib, "cib_modify", "nodes", R"(<node id="5" uname="n5"/>)", call_option::can_create).rc == 0);
    CHECK(run(cib, "cib_query", "//node[@id='5']", "", call_option::xpath).rc == 0);
}

TEST_CASE("modify by XPath merges into the match or its descendant with that id")
{
    XmlDoc cib = with_node();
    CHECK(run(cib, "cib_modify", "//nodes", R"(<node id="1" foo="y"/>)", call_option::xpath).rc ==
          cib_rc::schema_validation);
    CHECK(run(cib, "cib_modify", "//node[@id='1']", R"(<node id="9" uname="z"/>)", call_option::xpath).rc ==
          cib_rc::not_found);
    CHECK(run(cib, "cib_modify", "//nodes", R"(<node id="1" uname="renamed"/>)", call_option::xpath).rc == 0);
    CHECK(attr(root_of(run(cib, "cib_query", "//node[@id='1']", "", call_option::xpath).output.get()),
               "uname") == "renamed");
}

TEST_CASE("replace: whole CIB with version rules, section, element")
{
    XmlDoc cib = with_node();  // 0.2.0
    // Older than the current CIB: refused (pcmk_err_old_data).
    auto old = run(cib, "cib_replace", "",
                   R"(<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
      <configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>)");
    CHECK(old.rc == cib_rc::old_data);
    CHECK(version_of(cib) == CibVersion{0, 2, 0});
    // A newer epoch with the same configuration: kept, num_updates bumped.
    auto newer = run(
        cib, "cib_replace", "",
        R"(<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="9" num_updates="0" admin_epoch="0">
      <configuration><crm_config/><nodes><node id="1" uname="node1"/></nodes><resources/><constraints/></configuration><status/></cib>)");
    CHECK(newer.rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 9, 1});
    // The same epoch with a changed configuration: epoch bumped. No status: added empty.
    CHECK(
        run(cib, "cib_replace", "",
            R"(<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="9" num_updates="1" admin_epoch="0">
      <configuration><crm_config/><nodes/><resources/><constraints/></configuration></cib>)")
            .rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 10, 0});
    CHECK(child_named(root_of(cib.get()), "status") != nullptr);
    // A section, then one element by id.
    CHECK(run(cib, "cib_replace", "nodes", R"(<nodes><node id="5" uname="n5"/></nodes>)").rc == 0);
    CHECK(run(cib, "cib_replace", "", R"(<node id="5" uname="n6"/>)").rc == 0);
    CHECK(text_of(run(cib, "cib_query", "nodes", "").output) ==
          R"(<nodes><node id="5" uname="n6"/></nodes>)");
    CHECK(run(cib, "cib_replace", "", R"(<node id="77" uname="x"/>)").rc == cib_rc::not_found);
    // A <cib> lowering the epoch through modify is refused too.
    CHECK(run(cib, "cib_modify", "", R"(<cib epoch="2"/>)").rc == cib_rc::old_data);
    // admin_epoch counts first.
    CHECK(run(cib, "cib_modify", "", R"(<cib admin_epoch="1" epoch="1"/>)").rc == 0);
    CHECK(version_of(cib).admin_epoch == 1);
}

TEST_CASE("delete: matching attributes, missing objects are fine, sections stay")
{
    XmlDoc cib = with_node();
    REQUIRE(run(cib, "cib_create", "nodes", R"(<node id="2" uname="node2"/>)").rc == 0);
    auto mismatch = run(cib, "cib_delete", "", R"(<node id="2" uname="nomatch"/>)");
    CHECK(mismatch.rc == 0);
    CHECK_FALSE(mismatch.updated);
    CHECK(run(cib, "cib_delete", "", R"(<node id="2"/>)").rc == 0);
    CHECK(run(cib, "cib_query", "//node[@id='2']", "", call_option::xpath).rc == cib_rc::not_found);
    CHECK(run(cib, "cib_delete", "", R"(<node id="77"/>)").rc == 0);
    CHECK(run(cib, "cib_delete", "", "<nodes/>").rc == cib_rc::invalid);
    CHECK(run(cib, "cib_delete", "//node[@uname='zz']", "", call_option::xpath).rc == 0);
    CHECK(run(cib, "cib_delete", "/cib", "", call_option::xpath).rc == cib_rc::invalid);
    REQUIRE(run(cib, "cib_create", "nodes", R"(<node id="3" uname="n3"/>)").rc == 0);
    REQUIRE(run(cib, "cib_create", "nodes", R"(<node id="4" uname="n4"/>)").rc == 0);
    CHECK(run(cib, "cib_delete", "//node", "", call_option::xpath | call_option::multiple).rc == 0);
    CHECK(text_of(run(cib, "cib_query", "nodes", "").output) == "<nodes/>");
}

TEST_CASE("delete of the section element deletes each child it lists, as crm_resource --clear sends it")
{
    XmlDoc cib = empty_cib();
    REQUIRE(run(cib, "cib_create", "resources",
                R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/>)")
                .rc == 0);
    REQUIRE(run(cib, "cib_create", "constraints",
                R"(<rsc_location id="cli-prefer-d1" rsc="d1" role="Started" node="node2" score="INFINITY"/>)")
                .rc == 0);
    REQUIRE(
        run(cib, "cib_create", "constraints",
            R"(<rsc_location id="cli-ban-d1-on-node1" rsc="d1" role="Started" node="node1" score="-INFINITY"/>)")
            .rc == 0);
    REQUIRE(
        run(cib, "cib_create", "constraints", R"(<rsc_location id="keep" rsc="d1" node="node1" score="5"/>)")
            .rc == 0);
    // Observed from crm_resource --clear -r d1 (2.1.5): one entry per node; the prefer
    // entry names a node, so it matches only where the constraint is for that node.
    auto cleared = run(cib, "cib_delete", "constraints",
                       R"(<constraints><rsc_location id="cli-ban-d1-on-node1"/>)"
                       R"(<rsc_location id="cli-prefer-d1" node="node1"/></constraints>)");
    CHECK(cleared.rc == 0);
    CHECK(run(cib, "cib_query", "//rsc_location[@id='cli-ban-d1-on-node1']", "", call_option::xpath).rc ==
          cib_rc::not_found);
    CHECK(run(cib, "cib_query", "//rsc_location[@id='cli-prefer-d1']", "", call_option::xpath).rc == 0);
    CHECK(run(cib, "cib_delete", "constraints",
              R"(<constraints><rsc_location id="cli-prefer-d1" node="node2"/></constraints>)")
              .rc == 0);
    CHECK(text_of(run(cib, "cib_query", "constraints", "").output) ==
          R"(<constraints><rsc_location id="keep" rsc="d1" node="node1" score="5"/></constraints>)");
    CHECK(run(cib, "cib_delete", "constraints", "<constraints/>").rc == 0);
}

TEST_CASE("missing configuration sections are created on first use")
{
    XmlDoc cib = empty_cib();
    REQUIRE(
        run(cib, "cib_create", "rsc_defaults",
            R"(<meta_attributes id="rsc-options"><nvpair id="rsc-options-stickiness" name="resource-stickiness" value="1"/></meta_attributes>)")
            .rc == 0);
    CHECK(run(cib, "cib_query", "rsc_defaults", "").rc == 0);
}

TEST_CASE("erase, bump, dry runs, unknown and read-only operations")
{
    XmlDoc cib = with_node();  // 0.2.0
    auto dry = run(cib, "cib_create", "nodes", R"(<node id="3" uname="n3"/>)", call_option::dry_run);
    CHECK(dry.rc == 0);
    CHECK_FALSE(dry.updated);
    CHECK(version_of(cib) == CibVersion{0, 2, 0});
    CHECK(run(cib, "cib_bump", "", "").rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 3, 0});
    CHECK(run(cib, "cib_erase", "", "").rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 4, 0});
    CHECK(run(cib, "cib_query", "nodes", "").output != nullptr);
    CHECK(text_of(run(cib, "cib_query", "nodes", "").output) == "<nodes/>");
    CHECK(run(cib, "cib_frobnicate", "", "").rc == cib_rc::not_supported);
    CHECK(run(cib, "cib_upgrade", "", "").rc == cib_rc::schema_unchanged);  // 3.9 is the newest
    CHECK(run(cib, "cib_modify", "nodes", "").rc == cib_rc::invalid);
    CHECK(kind_of("cib_query") == OpKind::read);
    CHECK(kind_of("cib_replace") == OpKind::write);
}

TEST_CASE("apply_diff: format 2 patchsets as pcs sends them, with cibadmin's version rules")
{
    XmlDoc cib = with_node();  // 0.2.0
    // What pcs sent for `pcs resource create` (no version), then a group around it.
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><change operation="create" path="/cib/configuration/resources" position="0">)"
            R"(<primitive id="d2" class="ocf" type="Dummy" provider="pacemaker"/></change></diff>)")
            .rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 3, 0});
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><change operation="delete" path="/cib/configuration/resources/primitive[@id='d2']"/>)"
            R"(<change operation="create" path="/cib/configuration/resources" position="1"><group id="g1">)"
            R"(<primitive id="d2" class="ocf" type="Dummy" provider="pacemaker"/></group></change></diff>)")
            .rc == 0);
    CHECK(
        text_of(run(cib, "cib_query", "resources", "").output) ==
        R"(<resources><group id="g1"><primitive id="d2" class="ocf" type="Dummy" provider="pacemaker"/></group></resources>)");
    // modify: the attributes become those of change-result; without it, -ENOMSG.
    CHECK(run(cib, "cib_apply_diff", "",
              R"(<diff format="2"><change operation="modify" path="/cib/configuration/nodes/node[@id='1']">)"
              R"(<change-list><change-attr name="uname" operation="set" value="six"/></change-list>)"
              R"(<change-result><node id="1" uname="six"/></change-result></change></diff>)")
              .rc == 0);
    CHECK(attr(root_of(run(cib, "cib_query", "//node[@id='1']", "", call_option::xpath).output.get()),
               "uname") == "six");
    const std::string before = text_of(cib);
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><change operation="modify" path="/cib/configuration/nodes/node[@id='1']">)"
            R"(<change-list><change-attr name="type" operation="set" value="member"/></change-list></change></diff>)")
            .rc == -ENOMSG);
    // A change with nothing at its path fails the whole patch; the first change is undone.
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><change operation="create" path="/cib/configuration/nodes" position="0">)"
            R"(<node id="8" uname="n8"/></change><change operation="create" path="/cib/configuration/nodesX">)"
            R"(<node id="9" uname="n9"/></change></diff>)")
            .rc == -206);
    // Versions: the source must be the CIB's (older -205, newer -207).
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><version><source admin_epoch="0" epoch="1" num_updates="0"/><target admin_epoch="0" )"
            R"(epoch="2" num_updates="0"/></version></diff>)")
            .rc == cib_rc::old_data);
    CHECK(
        run(cib, "cib_apply_diff", "",
            R"(<diff format="2"><version><source admin_epoch="0" epoch="99" num_updates="0"/><target admin_epoch="0" )"
            R"(epoch="100" num_updates="0"/></version></diff>)")
            .rc == -207);
    CHECK(run(cib, "cib_apply_diff", "", R"(<diff format="1"/>)").rc == cib_rc::not_supported);
    CHECK(text_of(cib) == before);
    const CibVersion now = version_of(cib);
    CHECK(run(cib, "cib_apply_diff", "",
              R"(<diff format="2"><version><source admin_epoch="0" epoch=")" + std::to_string(now.epoch) +
                  R"(" num_updates="0"/><target admin_epoch="0" epoch="50" num_updates="0"/></version>)"
                  R"(<change operation="delete" path="/cib/configuration/nodes/node[@id='1']"/></diff>)")
              .rc == 0);
    CHECK(version_of(cib) == CibVersion{0, now.epoch + 1, 0});
}

TEST_CASE("replace of a section with a whole <cib> takes that CIB's section, not its version")
{
    XmlDoc cib = with_node();  // 0.2.0
    CHECK(
        run(cib, "cib_replace", "configuration",
            R"(<cib epoch="5" num_updates="0" admin_epoch="0" validate-with="pacemaker-3.9"><configuration>)"
            R"(<crm_config/><nodes><node id="4" uname="n4"/></nodes><resources/><constraints/></configuration>)"
            R"(<status/></cib>)")
            .rc == 0);
    CHECK(version_of(cib) == CibVersion{0, 3, 0});
    CHECK(text_of(run(cib, "cib_query", "nodes", "").output) ==
          R"(<nodes><node id="4" uname="n4"/></nodes>)");
}

TEST_CASE("upgrade moves a 3.x CIB to the newest installed 3.x schema, as cibadmin --upgrade does")
{
    XmlDoc cib = with_node();  // 0.2.0
    set_attr(root_of(cib.get()), "validate-with", "pacemaker-3.2");
    auto dry = run(cib, "cib_upgrade", "", "", call_option::dry_run);
    CHECK(dry.rc == 0);
    CHECK_FALSE(dry.updated);
    auto upgraded = run(cib, "cib_upgrade", "", "");
    REQUIRE(upgraded.rc == 0);
    const std::string newest = newer_3x_schemas(kDefaultSchemaDirectory, 2).front();
    CHECK(attr(root_of(cib.get()), "validate-with") == newest);
    CHECK(version_of(cib) == CibVersion{0, 2, 2});  // as CIB_file=... cibadmin --upgrade leaves it
    CHECK(run(cib, "cib_upgrade", "", "").rc == cib_rc::schema_unchanged);

    set_attr(root_of(cib.get()), "validate-with", "pacemaker-2.10");
    auto old = run(cib, "cib_upgrade", "", "");
    CHECK(old.rc == cib_rc::not_supported);
    CHECK(old.message.find("CIB_file=") != std::string::npos);
    CHECK(minor_3x("pacemaker-3.9") == 9);
    CHECK(minor_3x("pacemaker-2.9") == -1);
    CHECK(minor_3x("pacemaker-next") == -1);
}
