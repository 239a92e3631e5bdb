// A small CIB for the watch tests: resources of both domain agents and others, with the
// resource history (lrm_rsc_op) shapes Pacemaker 2.1.5 records (observed on a live
// cluster: a pending operation has call-id -1, rc-code 193, op-status -1; crm_resource
// --fail records an "asyncmon" with rc 1 as both _last_0 and _last_failure_0).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace outpost::test {

struct CibOp {
    std::string id;         // "vd1_last_0"
    std::string operation;  // "start"
    int call_id = 0;
    int rc = 0;
    int op_status = 0;
    long interval = 0;
};

struct CibResource {
    std::string id;
    std::string provider = "heartbeat";
    std::string type = "VirtualDomain";
    std::string config;
    std::string hypervisor;
    std::string meta;  // extra <nvpair> elements for meta_attributes
    std::vector<CibOp> ops;
};

inline std::string lrm_op(const std::string& rsc, const CibOp& op)
{
    return "<lrm_rsc_op id=\"" + op.id + "\" operation_key=\"" + rsc + "_" + op.operation + "_" +
           std::to_string(op.interval) + "\" operation=\"" + op.operation + "\" call-id=\"" +
           std::to_string(op.call_id) + "\" rc-code=\"" + std::to_string(op.rc) + "\" op-status=\"" +
           std::to_string(op.op_status) + "\" interval=\"" + std::to_string(op.interval) +
           "\" on_node=\"node1\"/>";
}

inline std::string make_cib(const std::vector<CibResource>& resources, const std::string& properties = "",
                            const std::string& extra_resources = "", const std::string& node = "node1")
{
    std::string config;
    std::string lrm;
    for (const auto& r : resources) {
        config += "<primitive id=\"" + r.id + "\" class=\"ocf\" provider=\"" + r.provider + "\" type=\"" +
                  r.type + "\"><instance_attributes id=\"" + r.id + "-ia\">";
        if (!r.config.empty())
            config += "<nvpair id=\"" + r.id + "-c\" name=\"config\" value=\"" + r.config + "\"/>";
        if (!r.hypervisor.empty())
            config += "<nvpair id=\"" + r.id + "-h\" name=\"hypervisor\" value=\"" + r.hypervisor + "\"/>";
        config += "</instance_attributes>";
        if (!r.meta.empty())
            config += "<meta_attributes id=\"" + r.id + "-meta\">" + r.meta + "</meta_attributes>";
        config += "</primitive>";
        if (r.ops.empty()) continue;
        lrm += "<lrm_resource id=\"" + r.id + "\" class=\"ocf\" provider=\"" + r.provider + "\" type=\"" +
               r.type + "\">";
        for (const auto& op : r.ops)
            lrm += lrm_op(r.id, op);
        lrm += "</lrm_resource>";
    }
    return "<cib epoch=\"1\" num_updates=\"1\" admin_epoch=\"0\"><configuration><crm_config>"
           "<cluster_property_set id=\"opts\">" +
           properties + "</cluster_property_set></crm_config><nodes><node id=\"1\" uname=\"" + node +
           "\"/></nodes><resources>" + config + extra_resources +
           "</resources><constraints/></configuration><status><node_state id=\"1\" uname=\"" + node +
           "\" in_ccm=\"true\" crmd=\"online\"><lrm id=\"1\"><lrm_resources>" + lrm +
           "</lrm_resources></lrm></node_state></status></cib>";
}

// The history of a resource started on node1 (call 5) with a 30 s monitor (call 6).
inline std::vector<CibOp> started_ops(const std::string& rsc, int call = 5)
{
    return {{rsc + "_last_0", "start", call, 0, 0, 0},
            {rsc + "_monitor_30000", "monitor", call + 1, 0, 0, 30000}};
}

}  // namespace outpost::test
