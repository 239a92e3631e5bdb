// The domain-state query of `outpost watch`'s local socket: how ocf:outpost:guest's monitor
// asks the resident watch service for a domain's state instead of loading libvirt itself
// (a fresh process linked against libvirt costs about 10 ms of CPU before its first call;
// docs/benchmarks.md, "ocf:outpost:guest").
//
// One request and one answer per connection, each one line of tab-separated fields:
//   request  "domain-state\t<resource id>\t<hypervisor parameter>\t<config parameter>\n"
//   answer   "state\t<domain>\t<libvirt state>\t<libvirt reason>\t<vcpus>\t<max memory KiB>\n"
//                                                                     the domain's state now
//            (for a running domain the reason may be 0: not asked, it changes nothing)
//            "absent\t<domain>\n"                                     no such domain
//            "unknown\t<why>\n"                 the service cannot tell: ask libvirt yourself
// The watch service answers only for a resource it knows from the CIB with the same
// hypervisor and config parameters, on a hypervisor connection it holds. Pure: no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "lifecycle/domain_state.hpp"

namespace outpost::cluster::watch {

// Where the service listens unless told otherwise (root only: the directory is 0755, the
// socket 0600).
inline constexpr const char* kDefaultStateSocket = "/run/outpost/watch.sock";
// Requests and answers are short; anything longer is refused unread.
inline constexpr std::size_t kMaxStateLine = 8192;

struct StateQuery {
    std::string resource;
    std::string hypervisor;  // as configured ("" = from the domain's type)
    std::string config;
};

struct StateAnswer {
    enum class Kind { state, absent, unknown };
    Kind kind = Kind::unknown;
    std::string domain;              // state, absent
    lifecycle::DomainStatus status;  // state
    unsigned vcpus = 0;              // state (what the agent's utilization needs)
    unsigned long long max_memory_kib = 0;
    std::string why;  // unknown
};

// Encoders return nullopt for a value that cannot be carried (a tab, newline or NUL in a
// field, or a line over kMaxStateLine).
std::optional<std::string> encode_query(const StateQuery& q);
std::optional<StateQuery> decode_query(std::string_view line);
std::string encode_answer(const StateAnswer& a);
std::optional<StateAnswer> decode_answer(std::string_view line);

}  // namespace outpost::cluster::watch
