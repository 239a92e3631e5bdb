// Rules and expressions (Pacemaker Explained, "Rules"): node attribute expressions,
// date expressions and date specs, resource and operation expressions, nested rules with
// boolean-op. Used by location constraints and by the rule-guarded nvpair sets of options,
// node attributes, resource meta/instance attributes, rsc_defaults and op_defaults.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/model.hpp"
#include "policy/time.hpp"

namespace outpost::cluster::policy {

struct RuleContext {
    EpochSeconds now = 0;
    const std::map<std::string, std::string, std::less<>>* node_attrs = nullptr;  // nullptr: no node
    // rsc_expression
    std::string_view rsc_class, rsc_provider, rsc_type;
    bool has_rsc = false;
    // op_expression
    std::string_view op_name;
    std::int64_t op_interval_ms = 0;
    bool has_op = false;
    // value-source="param"/"meta"
    const std::vector<std::pair<std::string, std::string>>* rsc_params = nullptr;
    const std::map<std::string, std::string, std::less<>>* rsc_meta = nullptr;
    // Earliest future time at which a date expression seen so far changes its value.
    mutable std::optional<EpochSeconds> next_change;
};

// True if the <rule> element holds for the context (an empty rule holds).
bool evaluate_rule(const xmlNode* rule, const RuleContext& ctx);
// True if every <rule> child of `block` holds (a block without rules always applies).
bool block_applies(const xmlNode* block, const RuleContext& ctx);

// nvpair sets: collects name -> value from every child block named `element` of `parent`
// whose rules hold, highest `score` first, the first value for a name winning; existing
// entries of `out` are kept unless `overwrite`.
void unpack_nvpair_sets(const xmlNode* parent, std::string_view element, const RuleContext& ctx,
                        std::map<std::string, std::string, std::less<>>& out, bool overwrite = false);
// The same for one block list given directly.
void unpack_nvpair_blocks(const std::vector<const xmlNode*>& blocks, const RuleContext& ctx,
                          std::map<std::string, std::string, std::less<>>& out, bool overwrite = false);

// The nvpairs of every child block named `element` of `parent` whose rules hold, highest
// `score` first, in document order (value nullptr when the nvpair has none).
void for_each_nvpair(const xmlNode* parent, std::string_view element, const RuleContext& ctx,
                     const std::function<void(const char* name, const char* value)>& f);

// Resolves id-ref: a block or rule written as <x id-ref="..."/> refers to the element with
// that id elsewhere in the document. Returns the element itself if it has no id-ref.
const xmlNode* resolve_ref(const xmlNode* node);

// Compares dotted versions ("3.0.13") number by number: negative, zero or positive.
int compare_versions(std::string_view a, std::string_view b);

}  // namespace outpost::cluster::policy
