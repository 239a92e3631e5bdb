#include "harness/cluster_scope.hpp"

#include <catch.hpp>

#include <cstdio>

namespace outpost::test {

ClusterScope::~ClusterScope()
{
    if (!cluster) return;
    if (!Catch::getResultCapture().lastAssertionPassed()) {
        if (show_crm_mon)
            (void)std::fprintf(stderr, "--- crm_mon ---\n%s\n", cluster->crm_mon_text().c_str());
        (void)std::fprintf(stderr, "--- pacemaker.log (this run) ---\n%s\n",
                           cluster->pacemaker_log_tail(log_bytes).c_str());
        for (const auto* guest : guests)
            (void)std::fprintf(stderr, "--- guest %s log ---\n%s\n", guest->name().c_str(),
                               guest->log_tail(log_bytes / 2).c_str());
    }
    auto stopped = cluster->stop();
    if (!stopped) (void)std::fprintf(stderr, "%s\n", stopped.error().message.c_str());
}

}  // namespace outpost::test
