// ClusterScope: what a real-cluster test case holds its cluster in. At the end of the case
// it stops the cluster; when the case's last assertion failed it first writes a
// post-mortem to stderr (crm_mon, this run's pacemaker.log, each guest's log), which meson
// keeps in the test log. Part of the Catch2 main library of cluster tests
// (harness_cluster_main_dep): it asks Catch2 how the case went.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "harness/cluster.hpp"

namespace outpost::test {

struct ClusterScope {
    std::unique_ptr<ClusterHarness> cluster;
    std::vector<ClusterGuest*> guests;  // whose logs the post-mortem shows
    bool show_crm_mon = true;           // off where the status is too large to be useful
    std::size_t log_bytes = 6000;       // of pacemaker.log; half of it per guest log

    ClusterScope() = default;
    ClusterScope(const ClusterScope&) = delete;
    ClusterScope& operator=(const ClusterScope&) = delete;
    ~ClusterScope();

    ClusterHarness& c() { return *cluster; }
};

}  // namespace outpost::test
