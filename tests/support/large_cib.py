#!/usr/bin/env python3
"""Writes a CIB as a 2.1.5 cluster with G guest nodes and R resources holds it after every
resource has started: the configuration `pcs` writes (Dummy primitives with pcs's default
operations, one VirtualDomain-style container per guest with meta remote-node, one
location constraint per resource with resource-discovery=exclusive, so each resource is
probed on its own guest only) and a status section with each node's history (start and
recurring monitor entries with the attributes 2.1.5 records, transient attributes).

--measure prints what the bounded XML parse limits (common/wire/xml_bounds.hpp) count:
bytes, elements, depth, most attributes on one element, attributes in all, longest
attribute value, and the duplicate-check work of wide elements. docs/limits.md records
the figures for 1,000 guests and 5,000 resources.

--disabled-resources-only writes just a <resources> of disabled Dummy primitives (for a
real cluster that must carry a CIB this large with nothing to do: proxy-large-cib).

Usage: large_cib.py [-g GUESTS] [-r RESOURCES] [-c CLUSTER_NODES] [--measure]
                    [--disabled-resources-only
                    [--description-bytes N]] [-o FILE]
"""
import argparse
import hashlib
import sys
import xml.sax


def digest(text):
    return hashlib.md5(text.encode()).hexdigest()


def op_entry(w, indent, rsc, op, interval, node, call_id, rc=0):
    key = "%s_%s_%d" % (rsc, op, interval)
    ident = "%s_last_0" % rsc if interval == 0 else "%s_monitor_%d" % (rsc, interval)
    tkey = "%d:0:0:6d2a7c1e-5b7f-4a4e-9c55-%012d" % (call_id % 900 + 1, call_id)
    extra = ""
    if interval == 0:
        extra = (' op-force-restart=" state " op-restart-digest="%s" op-secure-params=" passwd " '
                 'op-secure-digest="%s"' % (digest(key + "r"), digest(key + "s")))
    w('%s<lrm_rsc_op id="%s" operation_key="%s" operation="%s" crm-debug-origin="do_update_resource" '
      'crm_feature_set="3.16.2" transition-key="%s" transition-magic="0:%d;%s" exit-reason="" '
      'on_node="%s" call-id="%d" rc-code="%d" op-status="0" interval="%d" last-rc-change="1733472000" '
      'exec-time="%d" queue-time="0" op-digest="%s"%s/>'
      % (indent, ident, key, op, tkey, rc, tkey, node, call_id, rc, interval, 12 + call_id % 40,
         digest(key), extra))


def guest_states(w, guests, per_guest, call):
    """The node_state of each guest node: its resources started and monitored."""
    for k in range(1, guests + 1):
        g = "guest%d" % k
        w('  <node_state id="%s" uname="%s" in_ccm="true" crm-debug-origin="do_update_resource" '
          'node_fenced="0" remote_node="true">' % (g, g))
        w('   <lrm id="%s">' % g)
        w('    <lrm_resources>')
        for j in range(1, per_guest[k - 1] + 1):
            r = "r%d_%d" % (k, j)
            w('     <lrm_resource id="%s" type="Dummy" class="ocf" provider="pacemaker">' % r)
            call += 1
            op_entry(w, '      ', r, "start", 0, g, call)
            call += 1
            op_entry(w, '      ', r, "monitor", 10000, g, call)
            w('     </lrm_resource>')
        w('    </lrm_resources>')
        w('   </lrm>')
        w('   <transient_attributes id="%s">' % g)
        w('    <instance_attributes id="status-%s">' % g)
        w('     <nvpair id="status-%s-.feature-set" name="#feature-set" value="3.16.2"/>' % g)
        w('    </instance_attributes>')
        w('   </transient_attributes>')
        w('  </node_state>')
    return call


def dummy(w, r, disabled=False, description=""):
    """A Dummy primitive as `pcs resource create` writes it (with --disabled: target-role)."""
    extra = ' description="%s"' % description if description else ""
    w('   <primitive id="%s" class="ocf" provider="pacemaker" type="Dummy"%s>' % (r, extra))
    if disabled:
        w('    <meta_attributes id="%s-meta_attributes">' % r)
        w('     <nvpair id="%s-meta_attributes-target-role" name="target-role" value="Stopped"/>' % r)
        w('    </meta_attributes>')
    w('    <operations>')
    for name, interval, timeout in (("migrate_from", "0s", "20s"), ("migrate_to", "0s", "20s"),
                                    ("monitor", "10s", "20s"), ("reload", "0s", "20s"),
                                    ("reload-agent", "0s", "20s"), ("start", "0s", "20s"),
                                    ("stop", "0s", "20s")):
        w('     <op name="%s" interval="%s" timeout="%s" id="%s-%s-interval-%s"/>'
          % (name, interval, timeout, r, name, interval))
    w('    </operations>')
    w('   </primitive>')


def split(guests, resources):
    return [resources // guests + (1 if k < resources % guests else 0) for k in range(guests)]


def generate(guests, resources, cluster_nodes):
    out = []
    w = out.append
    cnodes = ["node%d" % (i + 1) for i in range(cluster_nodes)]
    per_guest = split(guests, resources)
    w('<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="4211" num_updates="23" '
      'admin_epoch="0" cib-last-written="Sun Dec  6 12:00:00 2026" update-origin="node1" '
      'update-client="crm_resource" update-user="root" have-quorum="1" dc-uuid="1">')
    w(' <configuration>')
    w('  <crm_config>')
    w('   <cluster_property_set id="cib-bootstrap-options">')
    for name, value in (("have-watchdog", "false"), ("dc-version", "2.1.5-a3f44794f94"),
                        ("cluster-infrastructure", "corosync"), ("cluster-name", "big"),
                        ("stonith-enabled", "false"), ("last-lrm-refresh", "1733471000")):
        w('    <nvpair id="cib-bootstrap-options-%s" name="%s" value="%s"/>' % (name, name, value))
    w('   </cluster_property_set>')
    w('  </crm_config>')
    w('  <nodes>')
    for i, n in enumerate(cnodes):
        w('   <node id="%d" uname="%s"/>' % (i + 1, n))
    w('  </nodes>')
    w('  <resources>')
    for k in range(1, guests + 1):
        vm = "vm%d" % k
        w('   <primitive id="%s" class="ocf" provider="heartbeat" type="VirtualDomain">' % vm)
        w('    <instance_attributes id="%s-instance_attributes">' % vm)
        w('     <nvpair id="%s-instance_attributes-config" name="config" value="/etc/libvirt/qemu/guest%d.xml"/>'
          % (vm, k))
        w('     <nvpair id="%s-instance_attributes-hypervisor" name="hypervisor" value="qemu:///system"/>' % vm)
        w('    </instance_attributes>')
        w('    <meta_attributes id="%s-meta_attributes">' % vm)
        w('     <nvpair id="%s-meta_attributes-remote-node" name="remote-node" value="guest%d"/>' % (vm, k))
        w('    </meta_attributes>')
        w('    <operations>')
        for name, interval, timeout in (("migrate_from", "0s", "60s"), ("migrate_to", "0s", "120s"),
                                        ("monitor", "10s", "30s"), ("start", "0s", "90s"),
                                        ("stop", "0s", "90s")):
            w('     <op name="%s" interval="%s" timeout="%s" id="%s-%s-interval-%s"/>'
              % (name, interval, timeout, vm, name, interval))
        w('    </operations>')
        w('   </primitive>')
    for k in range(1, guests + 1):
        for j in range(1, per_guest[k - 1] + 1):
            dummy(w, "r%d_%d" % (k, j))
    w('  </resources>')
    w('  <constraints>')
    for k in range(1, guests + 1):
        for j in range(1, per_guest[k - 1] + 1):
            w('   <rsc_location id="location-r%d_%d-guest%d-INFINITY" rsc="r%d_%d" node="guest%d" '
              'score="INFINITY" resource-discovery="exclusive"/>' % (k, j, k, k, j, k))
    w('  </constraints>')
    w(' </configuration>')
    w(' <status>')
    call = 0
    for i, n in enumerate(cnodes):
        w('  <node_state id="%d" uname="%s" in_ccm="true" crmd="online" crm-debug-origin="do_update_resource" '
          'join="member" expected="member">' % (i + 1, n))
        w('   <lrm id="%d">' % (i + 1))
        w('    <lrm_resources>')
        for k in range(1, guests + 1):
            mine = (k - 1) % cluster_nodes == i
            for rsc, typ, cls_prov in (("vm%d" % k, "VirtualDomain", 'class="ocf" provider="heartbeat"'),
                                       ("guest%d" % k, "remote", 'class="ocf" provider="pacemaker"')):
                w('     <lrm_resource id="%s" type="%s" %s>' % (rsc, typ, cls_prov))
                call += 1
                if mine:
                    op_entry(w, '      ', rsc, "start", 0, n, call)
                    call += 1
                    op_entry(w, '      ', rsc, "monitor", 10000 if typ == "VirtualDomain" else 30000, n, call)
                else:
                    op_entry(w, '      ', rsc, "monitor", 0, n, call, rc=7)
                w('     </lrm_resource>')
        w('    </lrm_resources>')
        w('   </lrm>')
        w('   <transient_attributes id="%d">' % (i + 1))
        w('    <instance_attributes id="status-%d">' % (i + 1))
        w('     <nvpair id="status-%d-.feature-set" name="#feature-set" value="3.16.2"/>' % (i + 1))
        w('    </instance_attributes>')
        w('   </transient_attributes>')
        w('  </node_state>')
    call = guest_states(w, guests, per_guest, call)
    w(' </status>')
    w('</cib>')
    return "\n".join(out) + "\n"


def generate_disabled_resources(resources, description_bytes):
    """Only <resources> with `resources` disabled Dummy primitives as pcs writes them, each
    with a description of `description_bytes`: a configuration of a large CIB's size that a
    real cluster carries with nothing to do (with enable-startup-probes=false it probes none
    of them). Long descriptions make the size: 2.1.5's pacemaker-based needs minutes to take
    tens of thousands of elements in one request."""
    out = []
    w = out.append
    w('<resources>')
    for j in range(1, resources + 1):
        dummy(w, "d%d" % j, disabled=True, description=("d%d " % j).ljust(description_bytes, "x"))
    w('</resources>')
    return "\n".join(out) + "\n"


class Counter(xml.sax.ContentHandler):
    WIDE = 32  # the bounded parse's threshold for counting duplicate-check work

    def __init__(self):
        super().__init__()
        self.elements = self.attributes = self.max_attrs = self.depth = self.max_depth = 0
        self.max_value = self.wide_pairs = 0

    def startElement(self, name, attrs):
        self.elements += 1
        self.depth += 1
        self.max_depth = max(self.max_depth, self.depth)
        n = len(attrs)
        self.attributes += n
        self.max_attrs = max(self.max_attrs, n)
        if n > self.WIDE:
            self.wide_pairs += n * (n - 1) // 2
        for value in attrs.values():
            self.max_value = max(self.max_value, len(value.encode()))

    def endElement(self, name):
        self.depth -= 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-g", "--guests", type=int, default=1000)
    ap.add_argument("-r", "--resources", type=int, default=5000)
    ap.add_argument("-c", "--cluster-nodes", type=int, default=3)
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--disabled-resources-only", action="store_true",
                    help="write only <resources> with RESOURCES disabled Dummy primitives")
    ap.add_argument("--description-bytes", type=int, default=0,
                    help="with --disabled-resources-only: each primitive's description length")
    ap.add_argument("-o", "--output", default=None)
    a = ap.parse_args()
    if a.disabled_resources_only:
        text = generate_disabled_resources(a.resources, a.description_bytes)
    else:
        text = generate(a.guests, a.resources, a.cluster_nodes)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    if a.measure:
        c = Counter()
        xml.sax.parseString(text.encode(), c)
        print("bytes %d elements %d depth %d max-attributes-per-element %d attributes %d "
              "longest-value %d wide-pairs %d" % (len(text.encode()), c.elements, c.max_depth, c.max_attrs,
                                                  c.attributes, c.max_value, c.wide_pairs))
    elif not a.output:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
