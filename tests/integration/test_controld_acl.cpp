// ACLs in outpost-controld's CIB service (controld-acl): with enable-acl=true, the real
// cibadmin, crm_resource, crm_attribute and crm_mon run as unprivileged users in haclient,
// each with one kind of role (read-only, write on the resources, deny of one resource and
// of the cluster options, none at all, read through an acl_group), and must see and be
// refused exactly what a real Pacemaker 2.1.5 cluster showed and refused with the same
// ACLs: the expected outputs below were observed on 2.1.5 (a single-node cluster, the
// same ACLs, the same commands, run with runuser as those users). CIB_user counts only
// for root (and hacluster): an unprivileged user is judged as who they connected as.
// The users and group are made for the run (useradd/groupadd) and removed after it.
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/command.hpp"
#include "harness/controld.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* kGroup = "outpost-acl-ops";
const std::vector<std::string> kUsers = {"outpost-acl-ro", "outpost-acl-rw", "outpost-acl-dn",
                                         "outpost-acl-none", "outpost-acl-grp"};

// The ACLs observed on 2.1.5 (user names aside). The deny with an XPath that does not
// compile was a role of its own there (read on /cib and that deny): 2.1.5 ignored it, the
// user read everything.
const char* const kAcls = R"(<acls>
  <acl_target id="outpost-acl-ro"><role id="r-ro"/></acl_target>
  <acl_target id="outpost-acl-rw"><role id="r-rw"/></acl_target>
  <acl_target id="outpost-acl-dn"><role id="r-deny"/></acl_target>
  <acl_group id="outpost-acl-ops"><role id="r-ro"/></acl_group>
  <acl_role id="r-ro"><acl_permission id="r-ro-1" kind="read" xpath="/cib"/><acl_permission id="r-ro-2" kind="deny" xpath="//[[bad"/></acl_role>
  <acl_role id="r-rw"><acl_permission id="r-rw-1" kind="read" xpath="/cib"/><acl_permission id="r-rw-2" kind="write" xpath="//resources"/></acl_role>
  <acl_role id="r-deny"><acl_permission id="r-deny-1" kind="write" xpath="/cib"/><acl_permission id="r-deny-2" kind="deny" reference="d1"/><acl_permission id="r-deny-3" kind="deny" xpath="//crm_config"/></acl_role>
</acls>)";

int exit_code(const CommandResult& result)
{
    return WIFEXITED(result.wait_status) ? WEXITSTATUS(result.wait_status) : -1;
}

CommandResult must_run(const std::vector<std::string>& argv, const EnvList& env = {})
{
    auto result = run_command(argv, nullptr, 30s, env);
    REQUIRE(result.ok());
    return *result;
}

// The users (in haclient; outpost-acl-grp also in kGroup) for one run, removed after it.
class Users {
public:
    Users()
    {
        for (const std::string& user : kUsers)
            (void)run_command({"userdel", user});
        (void)run_command({"groupdel", kGroup});
        REQUIRE(must_run({"groupadd", "--system", kGroup}).succeeded());
        for (const std::string& user : kUsers) {
            std::string groups = "haclient";
            if (user == "outpost-acl-grp") groups += std::string(",") + kGroup;
            auto added = must_run({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                   "--user-group", "--groups", groups, user});
            INFO("useradd " << user << ": " << added.describe());
            REQUIRE(added.succeeded());
        }
    }
    Users(const Users&) = delete;
    Users& operator=(const Users&) = delete;
    ~Users()
    {
        for (const std::string& user : kUsers)
            (void)run_command({"userdel", user});
        (void)run_command({"groupdel", kGroup});
    }
};

// argv as `user`, with its groups, through setpriv (no PAM session).
CommandResult as(const std::string& user, const std::vector<std::string>& argv, const EnvList& env = {})
{
    const passwd* pw = ::getpwnam(user.c_str());
    REQUIRE(pw != nullptr);
    std::vector<std::string> full{"setpriv", "--reuid=" + user, "--regid=" + std::to_string(pw->pw_gid),
                                  "--init-groups", "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    return must_run(full, env);
}

void expect(const CommandResult& result, int code, const std::string& output)
{
    INFO(result.describe());
    CHECK(exit_code(result) == code);
    CHECK(result.output == output);
}

bool has(const CommandResult& result, const std::string& part)
{
    return result.output.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("ACLs: read, write, deny and no role as 2.1.5 enforces them", "[controld][acl]")
{
    const char* binary = std::getenv("OUTPOST_CONTROLD");
    if (binary == nullptr) OUTPOST_SKIP("OUTPOST_CONTROLD is not set");
    ControldOptions options;
    options.binary = binary;
    auto daemon = ControldHarness::start(options);
    REQUIRE(daemon.ok());
    ControldHarness& d = **daemon;
    Users users;

    // Configured as root (exempt from ACLs).
    REQUIRE(
        d.cibadmin(
             {"--create", "-o", "resources", "--xml-text",
              R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"><instance_attributes id="d1-ia"><nvpair id="d1-fake" name="fake" value="1"/></instance_attributes></primitive>)"})
            .ok());
    REQUIRE(d.cibadmin({"--create", "-o", "resources", "--xml-text",
                        R"(<primitive id="d3" class="ocf" provider="pacemaker" type="Dummy"/>)"})
                .ok());
    REQUIRE(d.cibadmin({"--replace", "-o", "acls", "--xml-text", kAcls}).ok());
    REQUIRE(d.tool_checked({"crm_attribute", "-n", "enable-acl", "-v", "true"}).ok());

    const std::string denied_modify = "Call cib_modify failed: Permission denied\n";
    // Each user tries a value d1 does not have yet: a modify that changes nothing is no
    // change, and 2.1.5 does not refuse it.
    const std::string d1_modify = R"(<primitive id="d1" description="x"/>)";

    {  // read-only role: sees everything, may change nothing
        auto all = as("outpost-acl-ro", {"cibadmin", "-Q", "-o", "resources"});
        CHECK(exit_code(all) == 0);
        CHECK(all.output == d.cibadmin({"-Q", "-o", "resources"}).value());
        expect(as("outpost-acl-ro", {"cibadmin", "--modify", "--xml-text", d1_modify}), 4, denied_modify);
        expect(as("outpost-acl-ro", {"cibadmin", "--delete", "--xml-text", R"(<primitive id="d3"/>)"}), 4,
               "Call cib_delete failed: Permission denied\n");
        expect(as("outpost-acl-ro", {"crm_attribute", "-n", "foo", "-v", "bar"}), 4,
               "Error setting foo=bar (section=crm_config, set=cib-bootstrap-options): Permission denied\n"
               "crm_attribute: Error performing operation: Permission denied\n");
        // 2.1.5: a replace that changes nothing is no change, so not refused.
        expect(as("outpost-acl-ro",
                  {"cibadmin", "--replace", "-o", "constraints", "--xml-text", "<constraints/>"}),
               0, "");
        auto log = read_file(d.log_file());
        REQUIRE(log.ok());
        CHECK(log->find("ACL permission r-ro-2 ignored: invalid selector '//[[bad'") != std::string::npos);
        // The same role through the system group.
        CHECK(exit_code(as("outpost-acl-grp", {"cibadmin", "-Q", "-o", "resources"})) == 0);
        expect(as("outpost-acl-grp", {"cibadmin", "--modify", "--xml-text", d1_modify}), 4, denied_modify);
    }

    {  // write role on the resources: changes them, nothing else
        expect(as("outpost-acl-rw",
                  {"cibadmin", "--modify", "--xml-text", R"(<primitive id="d1" description="rw"/>)"}),
               0, "");
        expect(
            as("outpost-acl-rw",
               {"cibadmin", "--create", "-o", "resources", "--xml-text",
                R"(<primitive id="n2" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="n2-m"><nvpair id="n2-t" name="target-role" value="Stopped"/></meta_attributes></primitive>)"}),
            0, "");
        expect(as("outpost-acl-rw", {"cibadmin", "--delete", "--xml-text", R"(<primitive id="n2"/>)"}), 0,
               "");
        expect(as("outpost-acl-rw",
                  {"crm_resource", "--resource", "d1", "--set-parameter", "fake", "--parameter-value", "2"}),
               0, "Set 'd1' option: id=d1-fake name=fake value=2\n");
        expect(as("outpost-acl-rw", {"cibadmin", "--create", "-o", "constraints", "--xml-text",
                                     R"(<rsc_location id="l1" rsc="d1" node="node1" score="10"/>)"}),
               4, "Call cib_create failed: Permission denied\n");
        CHECK(has(as("outpost-acl-rw", {"crm_attribute", "-n", "foo", "-v", "bar"}),
                  "crm_attribute: Error performing operation: Permission denied"));
        // CIB_user from an unprivileged user is not honoured: still outpost-acl-rw's rights.
        expect(as("outpost-acl-rw", {"cibadmin", "--modify", "--xml-text", d1_modify},
                  {{"CIB_user", "outpost-acl-ro"}}),
               0, "");
        auto resources = d.cibadmin({"-Q", "-o", "resources"});
        REQUIRE(resources.ok());
        CHECK(resources->find(R"(description="x")") != std::string::npos);
        CHECK(resources->find(R"(value="2")") != std::string::npos);
        CHECK(resources->find("n2") == std::string::npos);
    }

    {  // deny role: the denied resource and the cluster options vanish, and stay unchanged
        expect(as("outpost-acl-dn", {"cibadmin", "-Q", "-o", "resources"}), 0,
               "<resources>\n  <primitive id=\"d3\" class=\"ocf\" provider=\"pacemaker\" "
               "type=\"Dummy\"/>\n</resources>\n");
        expect(as("outpost-acl-dn", {"cibadmin", "-Q", "--xpath", "//primitive"}), 0,
               "<primitive id=\"d3\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/>\n");
        auto whole = as("outpost-acl-dn", {"cibadmin", "-Q"});
        CHECK(exit_code(whole) == 0);
        CHECK_FALSE(has(whole, "<crm_config"));
        CHECK_FALSE(has(whole, R"(id="d1")"));  // the status's lrm_resource d1 too
        expect(as("outpost-acl-dn",
                  {"cibadmin", "--modify", "--xml-text", R"(<primitive id="d1" description="dn"/>)"}),
               4, denied_modify);
        expect(as("outpost-acl-dn", {"cibadmin", "--delete", "--xml-text", R"(<primitive id="d1"/>)"}), 4,
               "Call cib_delete failed: Permission denied\n");
        expect(as("outpost-acl-dn",
                  {"cibadmin", "--modify", "--xml-text", R"(<primitive id="d3" description="dn"/>)"}),
               0, "");
        expect(as("outpost-acl-dn", {"crm_attribute", "-n", "foo", "-G"}), 105,
               "crm_attribute: Error performing operation: No such device or address\n");
        auto listed = as("outpost-acl-dn", {"crm_resource", "--list"});
        CHECK(exit_code(listed) == 0);
        CHECK(has(listed, "d3\t(ocf:pacemaker:Dummy):"));
        CHECK_FALSE(has(listed, "d1\t"));
    }

    {  // no role: nothing to read, nothing to write
        expect(as("outpost-acl-none", {"cibadmin", "-Q"}), 4, "Call cib_query failed: Permission denied\n");
        expect(as("outpost-acl-none",
                  {"cibadmin", "--modify", "--xml-text", R"(<primitive id="d1" description="none"/>)"}),
               4, denied_modify);
        auto created =
            as("outpost-acl-none", {"cibadmin", "--create", "-o", "resources", "--xml-text",
                                    R"(<primitive id="n2" class="ocf" provider="pacemaker" type="Dummy"/>)"});
        CHECK(exit_code(created) == 4);
        CHECK(has(created,
                  "Call cib_create failed: Permission denied\n<failed>\n  <failed_update id=\"n2\" "
                  "object_type=\"primitive\" operation=\"cib_create\" reason=\"Permission denied\">"));
        expect(as("outpost-acl-none", {"crm_resource", "--list"}), 4,
               "crm_resource: Error performing operation: Insufficient privileges\n");
        expect(as("outpost-acl-none", {"crm_attribute", "-n", "foo", "-G"}), 4,
               "crm_attribute: Error performing operation: Permission denied\n");
        auto mon = as("outpost-acl-none", {"crm_mon", "-1"});
        CHECK(exit_code(mon) == 0);
        CHECK_FALSE(has(mon, "d1"));
        // Root naming the user with CIB_user gets that user's rights; the user naming root
        // does not get root's.
        auto named = must_run({"cibadmin", "-Q"}, {{"CIB_user", "outpost-acl-none"}});
        expect(named, 4, "Call cib_query failed: Permission denied\n");
        expect(as("outpost-acl-none", {"cibadmin", "-Q"}, {{"CIB_user", "root"}}), 4,
               "Call cib_query failed: Permission denied\n");
    }

    CHECK(d.stop().ok());
}
