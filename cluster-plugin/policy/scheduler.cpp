// The pipeline: unpack, then the scheduling stages in Pacemaker's order.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "policy/actions.hpp"
#include "policy/policy.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

void order_probes(Cluster& c);               // probes.cpp
void check_config_changes(Cluster& c);       // config_changes.cpp
void clear_orphan_failcounts(Cluster& c);    // config_changes.cpp
void disable_invalid_orderings(Cluster& c);  // orderings.cpp

Status unpack_cib(Cluster& c)
{
    if (auto st = unpack_config(c); !st) return st;
    if (auto st = unpack_nodes(c); !st) return st;
    if (auto st = unpack_resources(c); !st) return st;
    // Not modelled yet: refused rather than decided differently from Pacemaker (checked
    // after the resources, so an unsupported resource is named first).
    if (c.options.shutdown_lock) return make_error("cib", -ENOTSUP, "unsupported: shutdown-lock=true");
    for (const Resource& r : c.resources) {
        if (r.flags.fence_device) c.have_fence_device = true;
    }
    if (auto st = unpack_constraints(c); !st) return st;
    if (auto st = unpack_status(c); !st) return st;
    return {};
}

Result<std::unique_ptr<Cluster>> unpack(xml::Document cib, const ScheduleOptions& options)
{
    auto c = std::make_unique<Cluster>();
    c->cib = std::move(cib);
    c->root = c->cib.root();
    c->show_scores = options.show_scores;
    c->show_utilization = options.show_utilization;
    c->sanitized = options.sanitized;
    if (!c->root) return make_error("cib", -EINVAL, "empty document");
    if (options.set_now) {
        c->now = *options.set_now;
    } else if (const char* ed = xml::attr_c(c->root, "execution-date")) {
        c->now = std::atoll(ed);
        c->now_from_cib = true;
    } else {
        c->now = options.clock_now;
    }
    if (auto st = unpack_cib(*c); !st) return st.error();
    return c;
}

static void debug_rsc(const Cluster& c, const char* stage)
{
    if (const char* key = std::getenv("OUTPOST_DEBUG_KEY")) {
        auto it = c.actions_by_key.find(key);
        if (it != c.actions_by_key.end()) {
            for (ActIdx a : it->second)
                (void)std::fprintf(stderr, "[%s] %s flags=%x\n", stage, key, c.actions[a].flags);
        }
    }
    const char* id = std::getenv("OUTPOST_DEBUG_RSC");
    if (!id) return;
    RscIdx r = c.find_rsc(id);
    if (r == kNone) return;
    const Resource& x = c.resources[r];
    (void)std::fprintf(stderr, "[%s] %s role=%s next=%s assigned=%s failed=%d managed=%d\n", stage, id,
                       role_name(x.role), role_name(x.next_role),
                       x.assigned == kNone ? "-" : c.nodes[x.assigned].name.c_str(), x.flags.failed,
                       x.flags.managed);
}

Status schedule(Cluster& c)
{
    debug_rsc(c, "unpacked");
    apply_node_criteria(c);
    add_internal_colocations(c);
    create_internal_orderings(c);
    c.internal_orderings_end = c.orderings.size();
    check_config_changes(c);
    debug_rsc(c, "config");
    assign_resources(c);
    debug_rsc(c, "assigned");
    create_probes(c);
    clear_orphan_failcounts(c);
    create_actions(c);
    order_starts_after_unfencing(c);
    debug_rsc(c, "actions");
    order_remote_actions(c);
    schedule_fencing(c);
    debug_rsc(c, "fencing");
    apply_orderings(c);
    order_probes(c);
    debug_rsc(c, "orderings");
    update_actions(c);
    debug_rsc(c, "updated");
    finish_clone_notifications(c);
    debug_rsc(c, "notified");
    disable_invalid_orderings(c);
    mark_downed_nodes(c);
    add_maintenance_update(c);
    return {};
}

Result<std::unique_ptr<Cluster>> unpack_and_schedule(xml::Document cib, const ScheduleOptions& options)
{
    auto c = unpack(std::move(cib), options);
    if (!c) return c.error();
    if (auto st = schedule(**c); !st) return st.error();
    return c;
}

}  // namespace outpost::cluster::policy
