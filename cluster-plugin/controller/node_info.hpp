// The nodes the controller's node-info answers about (crm_node -n/-N, crm_resource and
// crm_mon ask it; a remote node's proxied crm_node -n asks for that node by name): the
// controller's own node, the CIB's <nodes> entries, and the remote and guest nodes its
// resources define (ocf:pacemaker:remote primitives, primitives with meta remote-node).
// As observed with 2.1.5 (tests/integration/test_controld_loop.cpp, [proxied-tools]): a
// cluster node answers id = its node id, remote_node="false"; a remote or guest node
// id = uname = its name, remote_node="true"; crmd is "member" while the node is up (a
// remote node: its node_state has in_ccm="true"), "lost" otherwise. Pure: no I/O.
#pragma once

#include <libxml/tree.h>

#include <optional>
#include <string>

namespace outpost::cluster::controller {

struct NodeInfo {
    std::string id;
    std::string uname;
    bool remote = false;
    bool member = false;  // crmd="member", else "lost"
};

struct NodeQuery {
    std::string id;     // the request's id (a cluster node id), "" or "0": none
    std::string uname;  // the request's uname, "": none
};

// The node `query` names in `cib`; the controller's own (`host`, always up) when it names
// none; nullopt when the CIB knows no such node. Names compare exactly.
std::optional<NodeInfo> find_node_info(const xmlDoc* cib, const NodeInfo& host, const NodeQuery& query);

}  // namespace outpost::cluster::controller
