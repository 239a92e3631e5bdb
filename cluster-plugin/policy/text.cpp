#include "policy/text.hpp"

#include <algorithm>

#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

namespace {

// crm_mon's text lists. Fancy (crm_simulate without -s and -U): list headings, items
// indented and bulleted, an item's name before its text ("Online: [ ... ]"). Plain
// (crm_simulate 2.1.5 with -s or -U): the items alone, no headings, bullets or names.
struct Out {
    bool fancy = true;
    std::string s;
    void line(int indent, const std::string& text)
    {
        if (fancy) {
            s.append(static_cast<std::size_t>(indent), ' ');
            s += "* ";
        }
        s += text;
        s += '\n';
    }
    // A named item: "Online: [ node1 ]".
    void named(int indent, std::string_view name, const std::string& text)
    {
        line(indent, fancy ? std::string(name) + ": " + text : text);
    }
    // A list heading ("Node List:", "Clone Set: C [P]:").
    void heading(int indent, const std::string& text)
    {
        if (fancy) line(indent, text);
    }
};

std::string agent_text(const Resource& r)
{
    std::string t = r.cls;
    if (!r.provider.empty()) t += ":" + r.provider;
    t += ":" + r.type;
    return t;
}

bool in_promotable(const Cluster& c, RscIdx r)
{
    RscIdx cl = c.clone_of(r);
    return cl != kNone && c.resources[cl].flags.promotable;
}

Role display_role(const Cluster& c, RscIdx r)
{
    Role role = c.resources[r].role;
    if (role == Role::started && in_promotable(c, r)) return Role::unpromoted;
    if (role == Role::unknown) return Role::stopped;
    return role;
}

// Disabled to crm_mon: target-role Stopped, or Unpromoted in a promotable clone (rule TR1).
bool is_disabled(const Resource& r)
{
    return r.target_role == Role::stopped || r.target_role == Role::unpromoted;
}

std::string node_list(const Cluster& c, const std::vector<NodeIdx>& nodes)
{
    std::string s = "[";
    for (NodeIdx n : nodes)
        s += " " + c.nodes[n].name;
    s += " ]";
    return s;
}

std::string pending_text(std::string_view task)
{
    if (task == "start") return "Starting";
    if (task == "stop") return "Stopping";
    if (task == "migrate_to" || task == "migrate_from") return "Migrating";
    if (task == "promote") return "Promoting";
    if (task == "demote") return "Demoting";
    if (task == "monitor") return "Monitoring";
    return {};
}

// Flags after a resource or a collective's heading, as crm_mon 2.1.5 prints them: one
// parenthesis, comma separated ("Clone Set: C [P] (promotable, unmanaged, disabled)",
// "Stopped (disabled, unmanaged)").
std::string heading_flags(const std::vector<const char*>& flags)
{
    std::string out;
    for (const char* f : flags)
        out += std::string(out.empty() ? " (" : ", ") + f;
    return out.empty() ? out : out + ")";
}

std::string primitive_text(const Cluster& c, RscIdx ri, const std::string& name)
{
    const Resource& r = c.resources[ri];
    std::string s = name + "\t(" + agent_text(r) + "):\t ";
    if (r.flags.orphan) s += "ORPHANED ";
    std::string state;
    if (r.flags.failed) {
        state = "FAILED";
        Role role = display_role(c, ri);
        if (role > Role::started) state += std::string(" ") + role_name(role);
    } else {
        const std::string pending = pending_state(c, ri);
        state = !pending.empty() ? pending : role_name(display_role(c, ri));
    }
    s += state;
    if (r.running_on.size() == 1) s += " " + c.nodes[r.running_on[0]].name;
    // (PD1: a pending operation where it runs nowhere shows where it is pending.)
    if (r.running_on.empty() && r.pending_only && !pending_text(r.pending_task).empty())
        s += " " + c.nodes[r.pending_node].name;
    std::vector<const char*> flags;
    if (r.running_on.size() == 1 && c.nodes[r.running_on[0]].unclean && !c.nodes[r.running_on[0]].online)
        flags.push_back("UNCLEAN");
    // (Limited to Unpromoted: the target role as configured, "target-role:Slave".)
    const std::string limit = "target-role:" + std::string(r.meta_value("target-role"));
    if (r.target_role == Role::stopped) flags.push_back("disabled");
    if (r.target_role == Role::unpromoted) flags.push_back(limit.c_str());
    // (A blocked resource is unmanaged too; crm_mon says "blocked" only. One in maintenance
    // is "unmanaged" to crm_simulate 2.1.5.)
    if (r.flags.blocked) {
        flags.push_back("blocked");
    } else if (!r.flags.managed) {
        flags.push_back("unmanaged");
    }
    if (r.flags.failure_ignored) flags.push_back("failure ignored");
    s += heading_flags(flags);
    // (Active on several nodes: the flags come before the node list.)
    if (r.running_on.size() > 1) s += " " + node_list(c, r.running_on);
    return s;
}

void render_resource(const Cluster& c, Out& out, RscIdx ri, int indent);

void render_group(const Cluster& c, Out& out, RscIdx gi, int indent, const std::string& name)
{
    const Resource& g = c.resources[gi];
    std::vector<const char*> flags;
    if (!g.flags.managed) flags.push_back("unmanaged");
    if (is_disabled(g)) flags.push_back("disabled");
    out.heading(indent, "Resource Group: " + name + heading_flags(flags) + ":");
    // (An anonymous clone's group instance shown in full names its members without their
    // instance number, "gm", a unique clone's with it, "gm:0", observed.)
    const RscIdx cl = c.clone_of(gi);
    const bool anonymous = cl != kNone && !c.resources[cl].flags.unique;
    for (RscIdx ch : g.children) {
        const Resource& m = c.resources[ch];
        out.line(indent + 2, primitive_text(c, ch, anonymous ? m.base_id : m.id));
    }
}

// crm_mon's notion of "active": a node that is offline (and clean) does not count for a
// managed resource.
bool native_active(const Cluster& c, RscIdx ri)
{
    const Resource& r = c.resources[ri];
    for (NodeIdx n : r.running_on) {
        const Node& node = c.nodes[n];
        if (node.unclean) return true;
        if (!node.online && r.flags.managed) continue;
        return true;
    }
    return false;
}

bool instance_active(const Cluster& c, RscIdx inst, bool all)
{
    const Resource& r = c.resources[inst];
    if (r.is_primitive()) return native_active(c, inst);
    bool any = false;
    for (RscIdx ch : r.children) {
        const bool a = instance_active(c, ch, all);
        if (a) any = true;
        if (all && !a) return false;
    }
    return all ? !r.children.empty() : any;
}

bool any_leaf(const Cluster& c, RscIdx inst, bool (*pred)(const Resource&))
{
    std::vector<RscIdx> leaves;
    c.leaves(inst, leaves);
    for (RscIdx l : leaves) {
        if (pred(c.resources[l])) return true;
    }
    return pred(c.resources[inst]);
}

// The one node an instance is on, or kNone when it is on several.
NodeIdx instance_location(const Cluster& c, RscIdx inst)
{
    std::vector<RscIdx> leaves;
    c.leaves(inst, leaves);
    NodeIdx where = kNone;
    for (RscIdx l : leaves) {
        const Resource& r = c.resources[l];
        if (r.running_on.empty()) continue;
        if (r.running_on.size() > 1) return kNone;
        if (where != kNone && where != r.running_on[0]) return kNone;
        where = r.running_on[0];
    }
    return where;
}

void render_clone(const Cluster& c, Out& out, RscIdx ci, int indent)
{
    const Resource& cl = c.resources[ci];
    const Resource* first = cl.children.empty() ? nullptr : &c.resources[cl.children.front()];
    std::string head = "Clone Set: " + cl.id + " [" + (first ? first->base_id : std::string()) + "]";
    std::vector<const char*> flags;
    if (cl.flags.promotable) flags.push_back("promotable");
    if (cl.flags.unique) flags.push_back("unique");
    if (!cl.flags.managed) flags.push_back("unmanaged");
    if (is_disabled(cl)) flags.push_back("disabled");
    out.heading(indent, head + heading_flags(flags) + ":");
    if (cl.flags.unique) {
        for (RscIdx inst : cl.children)
            render_resource(c, out, inst, indent + 2);
        return;
    }
    std::vector<NodeIdx> promoted, unpromoted, started;
    bool unpromoted_limited = false;  // "Unpromoted (target-role):" (rule TR1)
    int active = 0;
    for (RscIdx inst : cl.children) {
        const Resource& ir = c.resources[inst];
        if (!instance_active(c, inst, false)) continue;
        ++active;
        bool full = false;
        NodeIdx where = kNone;
        Role role = Role::started;
        // Shown in full unless wholly active, managed and healthy on one clean node.
        const bool summarized = !any_leaf(c, inst, [](const Resource& r) {
            return r.flags.orphan || !r.flags.managed || r.flags.failed;
        }) && instance_active(c, inst, true);
        if (summarized) {
            where = instance_location(c, inst);
            if (where == kNone) {
                full = true;
            } else {
                std::vector<RscIdx> leaves;
                c.leaves(inst, leaves);
                role = Role::unknown;
                for (RscIdx l : leaves)
                    role = std::max(role, display_role(c, l));
                if (!c.nodes[where].online && c.nodes[where].unclean) full = true;
            }
        } else {
            full = true;
        }
        if (full) {
            if (ir.is_group()) {
                render_group(c, out, inst, indent + 2, ir.id);
            } else {
                out.line(indent + 2, primitive_text(c, inst, ir.base_id));
            }
            continue;
        }
        if (role == Role::promoted) {
            promoted.push_back(where);
        } else if (role == Role::unpromoted && cl.flags.promotable) {
            unpromoted.push_back(where);
            // (The instance's own target role: a group member's does not count.)
            if (ir.target_role == Role::unpromoted) unpromoted_limited = true;
        } else {
            started.push_back(where);
        }
    }
    auto by_name = [&](std::vector<NodeIdx>& v) {
        std::sort(v.begin(), v.end(), [&](NodeIdx a, NodeIdx b) {
            return compare_node_names(c.nodes[a].name, c.nodes[b].name) < 0;
        });
    };
    by_name(promoted);
    by_name(unpromoted);
    by_name(started);
    if (!promoted.empty()) out.line(indent + 2, "Promoted: " + node_list(c, promoted));
    if (!unpromoted.empty())
        out.line(indent + 2, std::string(unpromoted_limited ? "Unpromoted (target-role): " : "Unpromoted: ") +
                                 node_list(c, unpromoted));
    if (!started.empty()) out.line(indent + 2, "Started: " + node_list(c, started));
    if (active < cl.clone_max) {
        std::vector<NodeIdx> stopped;
        const bool any_allowed = !cl.allowed.entries().empty() || cl.allowed.class_default(false) ||
                                 cl.allowed.class_default(true);
        for (NodeIdx n : c.node_order) {
            if (std::find(cl.running_on.begin(), cl.running_on.end(), n) != cl.running_on.end()) continue;
            if (any_allowed) {
                if (!cl.allowed.allowed(n, c.nodes[n].is_remote_class())) continue;
            } else if (std::find(cl.known_on.begin(), cl.known_on.end(), n) == cl.known_on.end()) {
                continue;
            }
            stopped.push_back(n);
        }
        by_name(stopped);
        if (!stopped.empty())
            out.line(indent + 2,
                     std::string(cl.target_role == Role::stopped ? "Stopped (disabled): " : "Stopped: ") +
                         node_list(c, stopped));
    }
}

void render_resource(const Cluster& c, Out& out, RscIdx ri, int indent)
{
    const Resource& r = c.resources[ri];
    if (r.flags.internal) return;
    if (r.flags.orphan && r.running_on.empty()) return;
    if (indent <= 4 && hidden_from_status(c, ri)) return;
    switch (r.kind) {
        case RscKind::primitive:
            out.line(indent, primitive_text(c, ri, r.id));
            break;
        case RscKind::group:
            render_group(c, out, ri, indent, r.id);
            break;
        case RscKind::clone:
            render_clone(c, out, ri, indent);
            break;
    }
}

}  // namespace

std::string pending_state(const Cluster& c, RscIdx r)
{
    const Resource& rsc = c.resources[r];
    if (rsc.pending_node == kNone || (rsc.role == Role::stopped && !rsc.pending_only)) return {};
    return pending_text(rsc.pending_task);
}

bool hidden_from_status(const Cluster& c, RscIdx r)
{
    if (c.resources[r].is_primitive()) return false;
    std::vector<RscIdx> leaves;
    c.leaves(r, leaves);
    bool active = false;
    for (RscIdx l : leaves) {
        const Resource& leaf = c.resources[l];
        for (NodeIdx n : leaf.running_on) {
            const Node& node = c.nodes[n];
            if (leaf.flags.managed || node.online) return false;  // the collective runs there
            active = true;  // unmanaged on an offline node: active, but not the collective's
        }
    }
    return active;
}

std::string render_status(const Cluster& c, bool fancy)
{
    // The node lines first: crm_mon leaves out the heading and its blank line when there
    // are none (a CIB without nodes).
    Out out;
    out.fancy = fancy;
    std::vector<NodeIdx> online, offline, remote_online, remote_offline, guest_online;
    for (NodeIdx n : c.node_order) {
        const Node& node = c.nodes[n];
        std::string prefix = node.kind == NodeKind::member
                                 ? "Node "
                                 : (node.kind == NodeKind::remote ? "RemoteNode " : "GuestNode ");
        if (node.kind != NodeKind::member && node.remote_rsc == kNone && !node.has_node_entry) continue;
        if (node.unclean) {
            out.line(4, prefix + node.name + ": UNCLEAN (" +
                            (node.online ? "online" : (node.pending ? "pending" : "offline")) + ")");
        } else if (node.pending) {
            out.line(4, prefix + node.name + ": pending");
        } else if (node.standby_onfail && node.online) {
            out.line(4, prefix + node.name + ": standby (on-fail)");
        } else if (node.standby) {
            out.line(4, prefix + node.name +
                            (node.online
                                 ? (node.running.empty() ? ": standby" : ": standby (with active resources)")
                                 : ": OFFLINE (standby)"));
        } else if (node.maintenance) {
            out.line(4, prefix + node.name + (node.online ? ": maintenance" : ": OFFLINE (maintenance)"));
        } else if (node.online) {
            (node.kind == NodeKind::member   ? online
             : node.kind == NodeKind::remote ? remote_online
                                             : guest_online)
                .push_back(n);
        } else if (node.kind != NodeKind::guest) {
            (node.kind == NodeKind::member ? offline : remote_offline).push_back(n);
        }
    }
    if (!online.empty()) out.named(4, "Online", node_list(c, online));
    if (!offline.empty()) out.named(4, "OFFLINE", node_list(c, offline));
    if (!remote_online.empty()) out.named(4, "RemoteOnline", node_list(c, remote_online));
    if (!remote_offline.empty()) out.named(4, "RemoteOFFLINE", node_list(c, remote_offline));
    if (!guest_online.empty()) out.named(4, "GuestOnline", node_list(c, guest_online));
    if (!out.s.empty()) {
        Out heading;
        heading.fancy = fancy;
        heading.heading(2, "Node List:");
        out.s = heading.s + out.s + "\n";
    }
    out.heading(2, "Full List of Resources:");
    bool any = false;
    for (RscIdx t : c.top) {
        if (c.resources[t].flags.internal) continue;
        any = true;
        render_resource(c, out, t, 4);
    }
    if (!any) out.line(4, "No resources");
    return out.s;
}

std::string render_status_notes(const Cluster& c)
{
    // (A blank line before the banner: crm_simulate 2.1.5 prints one.)
    std::string notes = c.options.maintenance_mode
                            ? "\n              *** Resource management is DISABLED ***\n"
                              "  The cluster will not attempt to start, stop or recover services\n\n"
                            : std::string();
    int total = 0, disabled = 0, blocked = 0;
    // (Implicit guest connections count too.)
    // (Not an inactive orphan: crm_mon does not show it either.)
    for (const Resource& r : c.resources) {
        if (!r.is_primitive() || (r.flags.orphan && r.running_on.empty())) continue;
        ++total;
        if (is_disabled(r)) ++disabled;
        if (r.flags.blocked) ++blocked;
    }
    if (disabled == 0 && blocked == 0) return notes;
    return notes + std::to_string(disabled) + " of " + std::to_string(total) +
           " resource instances DISABLED and " + std::to_string(blocked) +
           " BLOCKED from further action due to failure\n\n";
}

}  // namespace outpost::cluster::policy
