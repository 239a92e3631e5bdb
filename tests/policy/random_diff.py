#!/usr/bin/env python3
"""Randomised differential test: outpost-simulate against the installed crm_simulate.

Each case builds a random configuration with cluster, remote and guest nodes (primitives,
groups, anonymous/unique/promotable clones, notifications, location rules, colocations,
orderings, fencing on or off; in some cases a placement strategy with node capacities and
resource utilization), brings it to a steady state with crm_simulate (the oracle)
and then injects events one after another: a guest's container fails, a connection fails,
a resource inside a guest fails, a cluster node dies or leaves, standby, a ban, a disabled
resource, a failed stop during recovery. Every step runs both tools with -S on the same CIB
and compares the current status, transition summary, executed actions, revised status and
the graph (actions and orderings). The next step starts from crm_simulate's result.

A disagreement is written to --save DIR in the corpus layout (xml/, summary/, exp/ with
crm_simulate's outputs), so it becomes a fixed regression input of tests/policy once the
engine is fixed (move it to tests/policy/regressions/).

Usage: random_diff.py SIMULATE [--seed N] [--cases N] [--steps N] [--save DIR] [--known FILE] [--dot] [-v]
Exit: 0 all agree (or only disagreements listed in --known), 1 other disagreements,
77 no crm_simulate (skipped).
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_diff import SCORE_LINE, SECTIONS, graph, normalise, section  # noqa: E402

CRM = shutil.which("crm_simulate") or "/usr/sbin/crm_simulate"
EXEC_DATE = 1700000000


class Builder:
    """Writes one random CIB (configuration plus an all-online status)."""

    def __init__(self, rng, urng):
        self.rng = rng
        self.urng = urng  # utilization choices: their own stream, so the rest of a case is as without
        self.ids = set()
        self.res = []          # XML strings of top-level resources
        self.cons = []         # XML strings of constraints
        self.monitor = {}      # primitive id -> monitor interval (ms)
        self.prims = []        # (id, where) where = "any" | guest name | remote name
        self.containers = {}   # guest name -> container id
        self.remotes = []      # remote node names
        self.cluster = []      # cluster node names
        self.clones = []       # (clone id, primitive id, promotable)
        self.groups = []

    def uid(self, base):
        i, name = 1, base
        while name in self.ids:
            i += 1
            name = "%s%d" % (base, i)
        self.ids.add(name)
        return name

    def op(self, rid, interval, role=None, timeout="20s"):
        oid = self.uid(rid + "-mon" + ("-" + role if role else ""))
        r = ' role="%s"' % role if role else ""
        return '<op id="%s" name="monitor" interval="%ds"%s timeout="%s"/>' % (oid, interval, r, timeout)

    def utilization(self, owner, kind):
        """A <utilization> block for a node ("node") or a resource ("rsc"), or "" (utilization
        cases only)."""
        u = self.urng
        if not self.util or u.random() < (0.15 if kind == "node" else 0.3):
            return ""
        items = {}
        for name in self.util_names:
            if u.random() < 0.8:
                items[name] = str(u.choice([4, 8, 8, 16]) if kind == "node" else u.choice([1, 2, 3, 4, 6]))
        return '<utilization id="%s">%s</utilization>' % (
            self.uid(owner + "-util"),
            "".join('<nvpair id="%s" name="%s" value="%s"/>' % (self.uid(owner + "-u-" + k), k, v)
                    for k, v in items.items()))

    def primitive(self, rid, agent="Dummy", provider="pacemaker", meta=None, ops=None, params=None, cls="ocf"):
        parts = []
        if params:
            parts.append('<instance_attributes id="%s">%s</instance_attributes>' % (
                self.uid(rid + "-params"),
                "".join('<nvpair id="%s" name="%s" value="%s"/>' % (self.uid(rid + "-" + k), k, v)
                        for k, v in params.items())))
        if meta:
            parts.append('<meta_attributes id="%s">%s</meta_attributes>' % (
                self.uid(rid + "-meta"),
                "".join('<nvpair id="%s" name="%s" value="%s"/>' % (self.uid(rid + "-m-" + k), k, v)
                        for k, v in meta.items())))
        if ops is None:
            interval = self.rng.choice([10, 15, 20])
            self.monitor[rid] = interval * 1000
            ops = [self.op(rid, interval)]
        if ops:
            parts.append("<operations>%s</operations>" % "".join(ops))
        if cls == "ocf" and agent != "remote":
            parts.append(self.utilization(rid, "rsc"))
        prov = ' provider="%s"' % provider if provider else ""
        return '<primitive id="%s" class="%s"%s type="%s">%s</primitive>' % (rid, cls, prov, agent, "".join(parts))

    def meta(self, owner, items):
        return '<meta_attributes id="%s">%s</meta_attributes>' % (
            self.uid(owner + "-meta"),
            "".join('<nvpair id="%s" name="%s" value="%s"/>' % (self.uid(owner + "-" + k), k, v)
                    for k, v in items.items()))

    def build(self):
        rng = self.rng
        # Utilization cases: a placement strategy (sometimes default), node capacities and
        # resource utilization.
        u = self.urng
        self.util = u.random() < 0.35
        self.strategy = u.choice(["utilization", "minimal", "balanced", "balanced", "default"]) if self.util else None
        self.util_names = u.sample(["cpu", "mem", "disk"], u.choice([1, 2, 2, 3]))
        n_cluster = rng.choice([1, 2, 2, 3, 3])
        self.cluster = ["node%d" % (i + 1) for i in range(n_cluster)]
        self.stonith = rng.random() < 0.5
        n_remote = rng.choice([0, 0, 1, 1, 2])
        n_guest = rng.choice([0, 1, 1, 2, 3])
        for name in self.cluster:
            self.ids.add(name)
        if self.stonith:
            self.res.append(self.primitive(self.uid("fencer"), agent="fence_dummy", provider=None, cls="stonith",
                                           ops=[]))
        for i in range(n_remote):
            name = self.uid("remote%d" % (i + 1))
            self.remotes.append(name)
            params = {"server": "192.0.2.%d" % (i + 10)}
            if rng.random() < 0.3:
                params["reconnect_interval"] = "60s"
            self.res.append(self.primitive(name, agent="remote", provider="pacemaker", params=params,
                                           ops=['<op id="%s" name="monitor" interval="30s" timeout="30s"/>'
                                                % self.uid(name + "-mon")]))
            self.monitor[name] = 30000
        for i in range(n_guest):
            guest = "guest%d" % (i + 1)
            self.ids.add(guest)
            vm = self.uid("vm%d" % (i + 1))
            meta = {"remote-node": guest}
            if rng.random() < 0.3:
                meta["remote-allow-migrate"] = "true"
            self.res.append(self.primitive(vm, meta=meta))
            self.containers[guest] = vm
        places = ["any"] * 3 + list(self.containers) + self.remotes
        # Plain primitives.
        for _ in range(rng.randint(1, 4)):
            rid = self.uid("p")
            meta = {}
            if rng.random() < 0.2:
                meta["resource-stickiness"] = str(rng.choice([0, 50, 100]))
            if rng.random() < 0.15:
                meta["migration-threshold"] = "2"
            self.res.append(self.primitive(rid, meta=meta or None))
            where = rng.choice(places)
            self.prims.append((rid, where))
            if where != "any":
                self.cons.append('<rsc_location id="%s" rsc="%s" node="%s" score="%s"/>' % (
                    self.uid("loc-" + rid), rid, where, rng.choice(["INFINITY", "100", "50"])))
        # A group.
        if rng.random() < 0.6:
            gid = self.uid("g")
            members = []
            for _ in range(rng.randint(2, 3)):
                rid = self.uid(gid + "m")
                members.append(self.primitive(rid))
                self.prims.append((rid, "group"))
            self.res.append('<group id="%s">%s</group>' % (gid, "".join(members)))
            self.groups.append(gid)
            where = rng.choice(places)
            if where != "any":
                self.cons.append('<rsc_location id="%s" rsc="%s" node="%s" score="INFINITY"/>' % (
                    self.uid("loc-" + gid), gid, where))
        # Clones.
        for _ in range(rng.choice([0, 1, 1, 2])):
            cid = self.uid("c")
            promotable = rng.random() < 0.4
            meta = {}
            if promotable:
                meta["promotable"] = "true"
            if rng.random() < 0.4:
                meta["notify"] = "true"
            if rng.random() < 0.3:
                meta["interleave"] = "true"
            if not promotable and rng.random() < 0.2:
                meta["globally-unique"] = "true"
                meta["clone-max"] = "2"
            pid = self.uid(cid + "r")
            if promotable:
                prim = self.primitive(pid, agent="Stateful",
                                      ops=[self.op(pid, 10, "Unpromoted"), self.op(pid, 11, "Promoted")])
                self.monitor[pid] = 10000
            else:
                prim = self.primitive(pid)
            self.res.append('<clone id="%s">%s%s</clone>' % (cid, self.meta(cid, meta) if meta else "", prim))
            self.clones.append((cid, pid, promotable))
            if rng.random() < 0.5:
                # Keep it off (or on) remote-class nodes by a rule on #kind.
                op = rng.choice(["eq", "ne"])
                self.cons.append(
                    '<rsc_location id="%s" rsc="%s"><rule id="%s" score="-INFINITY">'
                    '<expression id="%s" attribute="#kind" operation="%s" value="cluster"/></rule></rsc_location>'
                    % (self.uid("loc-" + cid), cid, self.uid(cid + "-rule"), self.uid(cid + "-expr"), op))
        # Colocations and orderings between top-level things.
        tops = [p for p, w in self.prims if w != "group"] + self.groups + [c for c, _, _ in self.clones]
        for _ in range(rng.choice([0, 1, 2])):
            if len(tops) < 2:
                break
            a, b = rng.sample(tops, 2)
            self.cons.append('<rsc_colocation id="%s" rsc="%s" with-rsc="%s" score="%s"/>' % (
                self.uid("col"), a, b, rng.choice(["INFINITY", "100", "-100"])))
        for _ in range(rng.choice([0, 1, 2])):
            if len(tops) < 2:
                break
            a, b = rng.sample(tops, 2)
            self.cons.append('<rsc_order id="%s" first="%s" then="%s" kind="%s"/>' % (
                self.uid("ord"), a, b, rng.choice(["Mandatory", "Optional"])))
        opts = ['<nvpair id="o-stonith" name="stonith-enabled" value="%s"/>' % ("true" if self.stonith else "false")]
        if rng.random() < 0.3:
            opts.append('<nvpair id="o-symmetric" name="symmetric-cluster" value="true"/>')
        if self.strategy:
            opts.append('<nvpair id="o-placement" name="placement-strategy" value="%s"/>' % self.strategy)
        nodes = "".join('<node id="%d" uname="%s">%s</node>' % (i + 1, n, self.utilization(n, "node"))
                        for i, n in enumerate(self.cluster))
        if self.util:
            # Remote and guest nodes get capacities through node entries of type remote.
            for name in self.remotes + list(self.containers):
                u = self.utilization(name, "node")
                if u:
                    nodes += '<node id="%s" type="remote" uname="%s">%s</node>' % (name, name, u)
        status = "".join(
            '<node_state id="%d" uname="%s" in_ccm="true" crmd="online" join="member" expected="member" '
            'crm-debug-origin="random_diff"/>' % (i + 1, n) for i, n in enumerate(self.cluster))
        return ('<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" '
                'admin_epoch="0" have-quorum="1" dc-uuid="1" execution-date="%d"><configuration><crm_config>'
                '<cluster_property_set id="cib-bootstrap-options">%s</cluster_property_set></crm_config>'
                '<nodes>%s</nodes><resources>%s</resources><constraints>%s</constraints></configuration>'
                '<status>%s</status></cib>' % (EXEC_DATE, "".join(opts), nodes, "".join(self.res),
                                               "".join(self.cons), status))


def run(cmd, timeout=120):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None


def compare(simulate, cib_path, tmp, extra=(), shown=("-s", "-U"), scores=True, dot=False):
    """Both tools with -S on one CIB, then with -R and the `shown` options (-s, -U: crm_simulate's
    plain text, every line compared, the score lines as "scores"); with `dot`, the -D dot files
    too (as text); returns (differences, crm_simulate result or None)."""
    eg, og, eo = os.path.join(tmp, "e.exp"), os.path.join(tmp, "o.exp"), os.path.join(tmp, "e.out.xml")
    ed, od = os.path.join(tmp, "e.dot"), os.path.join(tmp, "o.dot")
    e = run([CRM, "-x", cib_path, "-S", "-G", eg, "-O", eo] + (["-D", ed] if dot else []) + list(extra))
    if e is None or e.returncode != 0:
        return None, None  # the oracle cannot handle it: not a comparison
    o = run([simulate, "-x", cib_path, "-S", "-G", og] + (["-D", od] if dot else []) + list(extra))
    if o is None:
        return ["outpost-simulate timed out"], e
    if o.returncode != 0:
        return ["outpost-simulate failed: " + o.stderr.strip()[:300]], e
    diffs = []
    for label, start, ends in SECTIONS:
        if section(e.stdout, start, ends) != section(o.stdout, start, ends):
            diffs.append(label)
    ge, go = graph(eg), graph(og)
    if ge is None or go is None or ge[0] != go[0] or ge[1] != go[1]:
        diffs.append("graph")
    if dot and read_text(ed) != read_text(od):
        diffs.append("dot")
    if shown:
        run_args = ["-x", cib_path, "-R"] + list(shown) + [a for a in extra]
        ep = run([CRM] + run_args + ["-O", os.path.join(tmp, "e.plain.xml")])
        op = run([simulate] + run_args)
        if ep is not None and ep.returncode == 0:
            if op is None or op.returncode != 0:
                diffs.append("plain (failed)")
            else:
                def lines(text, want_scores):
                    return [normalise(line) for line in text.split("\n")
                            if bool(SCORE_LINE.search(line)) == want_scores]
                if lines(ep.stdout, False) != lines(op.stdout, False):
                    diffs.append("plain")
                if scores and lines(ep.stdout, True) != lines(op.stdout, True):
                    diffs.append("scores")
    return diffs, e


def read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def save_case(save, name, cib_path, crm_result, extra, tmp):
    for d in ("xml", "summary", "exp"):
        os.makedirs(os.path.join(save, d), exist_ok=True)
    shutil.copy(cib_path, os.path.join(save, "xml", name + ".xml"))
    with open(os.path.join(save, "summary", name + ".summary"), "w", encoding="utf-8") as f:
        f.write(crm_result.stdout)
    shutil.copy(os.path.join(tmp, "e.exp"), os.path.join(save, "exp", name + ".exp"))
    if os.path.exists(os.path.join(tmp, "e.dot")):
        os.makedirs(os.path.join(save, "dot"), exist_ok=True)
        shutil.copy(os.path.join(tmp, "e.dot"), os.path.join(save, "dot", name + ".dot"))
    if extra:
        with open(os.path.join(save, "xml", name + ".args"), "w", encoding="utf-8") as f:
            f.write(" ".join(extra) + "\n")


def current_state(cib_path):
    """Who runs where, from a CIB crm_simulate wrote: node_state names and active ops."""
    root = ET.parse(cib_path).getroot()
    states = {ns.get("uname"): ns for ns in root.iter("node_state")}
    return root, states


def events(rng, b, cib_path):
    """Candidate events for this state: (description, crm_simulate args or None, edit function or None)."""
    root, states = current_state(cib_path)
    out = []
    # Where containers and connections run now.
    host_of = {}
    for uname, ns in states.items():
        for lr in ns.iter("lrm_resource"):
            for op in lr.iter("lrm_rsc_op"):
                if op.get("operation") in ("start", "migrate_from") and op.get("rc-code") == "0" and \
                        op.get("id", "").endswith("_last_0"):
                    host_of.setdefault(lr.get("id"), uname)
    for guest, vm in b.containers.items():
        if vm in host_of:
            out.append(("container %s fails" % vm,
                        ["-i", "%s_monitor_%d@%s=7" % (vm, b.monitor[vm], host_of[vm])], None))
            if guest in host_of:
                out.append(("connection %s fails" % guest,
                            ["-i", "%s_monitor_30000@%s=1" % (guest, host_of[guest])], None))
    for name in b.remotes:
        if name in host_of:
            out.append(("connection %s fails" % name, ["-i", "%s_monitor_30000@%s=1" % (name, host_of[name])], None))
    for rid, where in b.prims:
        for uname, ns in states.items():
            for lr in ns.iter("lrm_resource"):
                if lr.get("id") == rid and any(op.get("operation") == "start" and op.get("rc-code") == "0"
                                               for op in lr.iter("lrm_rsc_op")):
                    out.append(("%s fails on %s" % (rid, uname),
                                ["-i", "%s_monitor_%d@%s=7" % (rid, b.monitor.get(rid, 10000), uname)], None))
                    out.append(("%s fails on %s, its stop fails" % (rid, uname),
                                ["-i", "%s_monitor_%d@%s=7" % (rid, b.monitor.get(rid, 10000), uname),
                                 "-F", "%s_stop_0@%s=1" % (rid, uname)], None))
    online = [n for n in b.cluster
              if n in states and states[n].get("crmd") == "online" and states[n].get("in_ccm") == "true"]
    if len(online) > 1:
        victim = rng.choice(online)
        out.append(("cluster node %s dies" % victim, ["-f", victim], None))
        out.append(("cluster node %s leaves" % victim, ["-d", victim], None))
    offline = [n for n in b.cluster if n not in online]
    if offline:
        out.append(("cluster node %s returns" % offline[0], ["-u", offline[0]], None))

    def standby(node):
        def edit(r):
            for n in r.iter("node"):
                if n.get("uname") == node:
                    ia = ET.SubElement(n, "instance_attributes", {"id": "standby-" + node})
                    ET.SubElement(ia, "nvpair", {"id": "standby-%s-nv" % node, "name": "standby", "value": "on"})
        return edit

    def ban(rsc, node):
        def edit(r):
            c = r.find("configuration/constraints")
            ET.SubElement(c, "rsc_location", {"id": "ban-%s-%s" % (rsc, node), "rsc": rsc, "node": node,
                                               "score": "-INFINITY"})
        return edit

    def disable(rsc):
        def edit(r):
            for p in r.iter():
                if p.get("id") == rsc and p.tag in ("primitive", "group", "clone"):
                    m = ET.Element("meta_attributes", {"id": "disable-" + rsc})
                    ET.SubElement(m, "nvpair", {"id": "disable-%s-nv" % rsc, "name": "target-role",
                                                "value": "Stopped"})
                    p.insert(0, m)
                    return
        return edit

    if online:
        node = rng.choice(online)
        out.append(("standby %s" % node, None, standby(node)))
    tops = [p for p, w in b.prims if w != "group"] + b.groups + [c for c, _, _ in b.clones] + \
        list(b.containers.values())
    if tops:
        rsc = rng.choice(tops)
        where = rng.choice(b.cluster + list(b.containers) + b.remotes)
        out.append(("ban %s from %s" % (rsc, where), None, ban(rsc, where)))
        rsc = rng.choice(tops)
        out.append(("disable %s" % rsc, None, disable(rsc)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("simulate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--save", help="write disagreements here (corpus layout)")
    ap.add_argument("--known", help="file of known disagreements (rnd-sS-cC-STEP per line, optionally followed "
                    "by the only sections that may differ, e.g. \"scores\"): reported, not failed")
    ap.add_argument("--no-scores", action="store_true", help="do not compare the -s score lines")
    ap.add_argument("--keep", action="append", default=[],
                    help="with --save: also save this step (rnd-sS-cC-STEP) when both agree (a fixed one)")
    ap.add_argument("--no-plain", action="store_true", help="no -R -s run (sections and graph only)")
    ap.add_argument("--dot", action="store_true", help="compare the -D dot graphs too (\"dot\")")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    known = {}  # step -> the sections that may differ (None: any)
    if args.known:
        with open(args.known, encoding="utf-8") as f:
            for line in f:
                words = line.split("#")[0].split()
                if words:
                    known[words[0]] = set(words[1:]) or None
    unexpected = []
    fixed = []
    if not os.path.exists(CRM):
        print("crm_simulate not installed: skipped")
        return 77
    rng = random.Random(args.seed)
    compared = disagreements = skipped = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            b = Builder(rng, random.Random(args.seed * 1000003 + case))
            cib = os.path.join(tmp, "step.xml")
            with open(cib, "w", encoding="utf-8") as f:
                f.write(b.build())
            name_base = "rnd-s%d-c%d" % (args.seed, case)
            extra = []
            description = "fresh start"
            for step in range(args.steps + 2):
                diffs, crm = compare(args.simulate, cib, tmp, extra, shown=() if args.no_plain else ("-s", "-U"),
                                     scores=not args.no_scores, dot=args.dot)
                if diffs is None:
                    skipped += 1
                    if args.verbose:
                        print("%s step %d (%s): crm_simulate refused, case ends" % (name_base, step, description))
                    break
                compared += 1
                step_id = "%s-%d" % (name_base, step)
                if diffs:
                    disagreements += 1
                    is_known = step_id in known and (known[step_id] is None or set(diffs) <= known[step_id])
                    tag = "known   " if is_known else "DISAGREE"
                    if not is_known:
                        unexpected.append(step_id)
                    print("%s %s step %d (%s %s)%s: %s" % (tag, name_base, step, description, " ".join(extra),
                                                          " [placement-strategy=%s]" % b.strategy if b.util else "",
                                                          ", ".join(diffs)))
                    if args.save:
                        save_case(args.save, "%s-%d" % (name_base, step), cib, crm, extra, tmp)
                else:
                    if step_id in known:
                        fixed.append(step_id)
                    if args.save and step_id in args.keep:
                        save_case(args.save, step_id, cib, crm, extra, tmp)
                    if args.verbose:
                        print("agree    %s step %d (%s %s)" % (name_base, step, description, " ".join(extra)))
                # Next state: crm_simulate's, then the next event.
                shutil.copy(os.path.join(tmp, "e.out.xml"), cib)
                extra = []
                description = "settling"
                if step < 1:
                    continue  # let the fresh start settle once more
                cands = events(rng, b, cib)
                if not cands:
                    continue
                description, cli, edit = rng.choice(cands)
                if cli:
                    extra = cli
                if edit:
                    tree = ET.parse(cib)
                    edit(tree.getroot())
                    tree.write(cib)
    print("random_diff seed %d: %d comparisons, %d disagreements, %d refused by crm_simulate" %
          (args.seed, compared, disagreements, skipped))
    if fixed:
        print("known disagreements that now agree (remove them from the list): " + " ".join(fixed))
    if args.known:
        if unexpected:
            print("NEW DISAGREEMENTS: " + " ".join(unexpected))
        return 1 if unexpected else 0
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
