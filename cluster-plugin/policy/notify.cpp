// Clone notifications (notify=true): pre/post notification pseudo actions around the
// clone's start, stop, promote and demote, and the notify operations of each instance.
#include "policy/actions.hpp"

namespace outpost::cluster::policy {

void create_clone_notifications(Cluster& c, RscIdx clone)
{
    // Not yet supported: the scheduler refuses clones with notify=true (scheduler.cpp).
    (void)c;
    (void)clone;
}

}  // namespace outpost::cluster::policy
