// fuzz-cib-request: arbitrary bytes as the payload of a CIB (or pacemakerd, crmd, attrd) IPC
// request; a crmd request that parses gets every answer built.
// Parsing must give a request or an error, never crash; an accepted request is performed
// on a small CIB exactly as outpost-controld would (query, writes with XPath, schema
// validation), its reply built, and a change turned into a patchset whose target version
// is the new CIB's.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "controller/attrd.hpp"
#include "controller/cib_diff.hpp"
#include "controller/cib_document.hpp"
#include "controller/cib_ops.hpp"
#include "controller/cib_request.hpp"
#include "controller/crmd.hpp"
#include "controller/pacemakerd.hpp"

using namespace outpost::cluster::controller;

namespace {

// Inputs beyond this gain nothing but time.
constexpr std::size_t kMaxInput = std::size_t{64} * 1024;

const char* const kCib =
    R"(<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="3" num_updates="1" admin_epoch="0">)"
    R"(<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">)"
    R"(<nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>)"
    R"(</cluster_property_set></crm_config><nodes><node id="1" uname="node1"/></nodes><resources>)"
    R"(<primitive id="d1" class="ocf" provider="pacemaker" type="Dummy"/></resources><constraints/>)"
    R"(</configuration><status><node_state id="1" uname="node1"/></status></cib>)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kMaxInput) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)pacemakerd_reply(text, 0);
    (void)parse_attrd_op(text);
    if (auto crmd = parse_crmd_request(text); crmd.ok()) {
        (void)node_info_reply(*crmd, "fuzz-client", "node1", "1");
        (void)lrm_invoke_reply(*crmd, "fuzz-client", "node1", "1", LrmAck{"delete", 3, true, 0, 1, 1, {}});
        (void)reprobe_reply(*crmd, "fuzz-client", "node1", 0, 2);
    }
    auto request = parse_cib_request(text, kMaxInput);
    if (!request.ok()) return 0;
    static Schemas schemas;
    auto cib = parse_document(kCib, kMaxInput, "fuzz CIB");
    if (!cib.ok()) std::abort();
    const UpdateOrigin origin{"fuzz", "root", "node1", "Sun Dec  6 10:00:00 2026"};
    CibOutcome outcome = perform(cib->get(), request->operation(), schemas, origin);
    (void)operation_reply(*request, "fuzz-client", outcome.rc, outcome.output.get());
    if (outcome.rc != cib_rc::ok && outcome.updated) std::abort();  // nothing half-applied
    if (outcome.updated) {
        if (!check_cib_shape(outcome.updated.get()).ok()) std::abort();
        XmlDoc patch = make_patchset(cib->get(), outcome.updated.get());
        const xmlNode* target = child_named(child_named(root_of(patch.get()), "version"), "target");
        if (target == nullptr) std::abort();
        auto new_version = read_version(root_of(outcome.updated.get()));
        auto old_version = read_version(root_of(cib->get()));
        if (!new_version.ok() || !old_version.ok() || !(old_version.value() < new_version.value()))
            std::abort();
        if (attr(target, "epoch") != std::to_string(new_version->epoch)) std::abort();
        (void)diff_notification(*request, "fuzz-client", cib->get(), outcome.updated.get());
    }
    return 0;
}
