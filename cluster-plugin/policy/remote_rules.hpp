// The remote and guest node rules of Pacemaker 2.1.5's scheduler, numbered as in
// ../shared/scheduler.md section 1 (our clean-room fact sheet), with where each lives here.
// Comments in the sources cite "rule N" at the place that implements it; the unit tests in
// tests/unit/policy/test_remote_rules.cpp are named by rule. This header holds no code.
//
// 1.A Node identity
//   1-5   node kinds, guest = remote node with a container, name = id = connection id,
//         #kind (cluster/remote/container), never quorum or DC ........ unpack.cpp add_node
//   6     display categories (RemoteOnline, GuestOnline, ...) ........ text.cpp render_status
// 1.B/C Creating remote and guest nodes, the implicit connection
//   7-9   unpack order, remote-node discovery, name collisions ........ unpack.cpp unpack_cib
//   10    the implicit ocf:pacemaker:remote connection of a container .. unpack.cpp
//   11    container / fillers links ...................................... unpack.cpp
//   12    connection properties (requires=quorum, allow-migrate, reconnect_interval as
//         failure-timeout, asymmetric opt-in of guest connections) ...... unpack.cpp
// 1.D Status unpacking
//   13-16 node_fenced, history passes, online status, transient attributes (#uname and
//         #id only with a node_state) ................................ unpack_status.cpp
//   17-21 resource-discovery-enabled, unseen -> clean, shutdown, start-up fencing,
//         orphaned connections ........................................ unpack_status.cpp
// 1.E Failures and fencing decisions
//   22-28 on-fail defaults and severity, restart-container, reset-remote (24: a reset
//         connection waits for its reconnect interval, also when it failed on a node that
//         is unclean, banned from every node from the start), expiry with reconnect_interval,
//         NOT_CONNECTED, active on an offline node ....................... unpack_status.cpp
//   29    fencing a node by kind (fence_node) ........................... unpack_status.cpp
//   30-31 can a node be fenced; guest hosts ............................. actions.cpp can_fence
//   32    container fail counts sum their fillers' ..................... placement.cpp
// 1.F Placement
//   33    connections first, connection node online or shut down ........ placement.cpp
//   34    container/connection colocations, forced into the guest ........ placement.cpp
//         add_internal_colocations; orderings in orderings.cpp
//   35-36 symmetric defaults, unavailable nodes in sorting ............. placement.cpp
//   37    shutdown locks: shutdown-lock=true is refused (not modelled) .... scheduler.cpp
//   38    container-attribute-target=host (promotion scores) ............. placement.cpp
// 1.G Probes
//   39-42 where probes run, never on remote nodes for fence devices and
//         connections, guest container special cases ................... probes.cpp
// 1.H Ordering against the connection
//   43-48 remote and guest ordering tables, connection states (45), user orderings into
//         a guest's container dropped (48); the "alive" stop ordering of 46 does not make
//         the stop required, only unmigratable (docs/policy.md C4) ...... remote.cpp,
//                                                                         orderings.cpp
// 1.I Fencing
//   49-53 fencing decisions, guest pseudo-fence (50), stops and demotes implied by fencing
//         (51, with the notifications of notify.cpp N5), downed nodes (53: fencing a
//         node downs it and the guests whose connections run there, a connection's stop
//         its node unless the connection migrates or could and moves) ..... fencing.cpp
// 1.J Migration
//   54-55 live and partial migration of connections ....................... actions.cpp
//         ActionMaker::migration, unpack_status.cpp migrate_to_success
//   56    router_node ..................................................... graph.cpp
//   57-58 resources behind a migrating connection, migrating containers .. orderings.cpp
// 1.K Graph details
//   59    on_node / on_node_uuid of remote nodes .......................... graph.cpp
//   60    CRM_meta_physical_host of guest actions, CRM_meta_container and
//         CRM_meta_remote_node linking guests and containers ...... graph.cpp action_attributes
//   61    bundle addresses: bundles are refused ("unsupported: bundle <id>")
//   62    maintenance-state actions for remote nodes: not emitted yet
// 1.L Bundles
//   63    refused ("unsupported: bundle <id>"), unpack.cpp
#pragma once
