#include <cerrno>

#include "policy/policy.hpp"
#include "policy/unpack.hpp"

namespace outpost::cluster::policy {

Status unpack_cib(Cluster& c)
{
    if (auto st = unpack_config(c); !st) return st;
    if (auto st = unpack_nodes(c); !st) return st;
    if (auto st = unpack_resources(c); !st) return st;
    if (auto st = unpack_constraints(c); !st) return st;
    if (auto st = unpack_status(c); !st) return st;
    return {};
}

Result<std::unique_ptr<Cluster>> schedule(xml::Document cib, const ScheduleOptions& options)
{
    auto c = std::make_unique<Cluster>();
    c->cib = std::move(cib);
    c->root = c->cib.root();
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
    if (options.unpack_only) return c;
    return c;
}

}  // namespace outpost::cluster::policy
