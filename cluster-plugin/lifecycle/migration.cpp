#include "lifecycle/migration.hpp"

#include <libvirt/libvirt.h>

#include <array>
#include <cerrno>
#include <sstream>
#include <vector>

#include "util/log.hpp"

namespace outpost::cluster::lifecycle {

namespace {

Error migration_error(std::string message)
{
    return make_error("lifecycle", -EINVAL, std::move(message));
}

// scheme[+transport]://[user@]host[:port]/path[?query]
struct UriParts {
    std::string driver;
    std::string transport;
    std::string path_and_query;
};

Result<UriParts> split_uri(const std::string& uri)
{
    auto sep = uri.find("://");
    if (sep == std::string::npos || sep == 0)
        return migration_error("hypervisor URI " + outpost::log::quote(uri) +
                               " has no driver (expected e.g. qemu:///system)");
    UriParts parts;
    std::string scheme = uri.substr(0, sep);
    auto plus = scheme.find('+');
    parts.driver = scheme.substr(0, plus);
    if (plus != std::string::npos) parts.transport = scheme.substr(plus + 1);
    std::string rest = uri.substr(sep + 3);
    auto slash = rest.find_first_of("/?");
    parts.path_and_query = slash == std::string::npos ? "" : rest.substr(slash);
    return parts;
}

std::vector<std::string> split_words(std::string_view text)
{
    std::vector<std::string> words;
    std::istringstream in{std::string(text)};
    std::string w;
    while (in >> w)
        words.push_back(w);
    return words;
}

}  // namespace

std::string host_with_suffix(std::string_view node, std::string_view suffix)
{
    if (suffix.empty()) return std::string(node);
    auto dot = node.find('.');
    if (dot == std::string_view::npos) return std::string(node) + std::string(suffix);
    return std::string(node.substr(0, dot)) + std::string(suffix) + std::string(node.substr(dot));
}

std::string substitute_node(std::string_view pattern, std::string_view node)
{
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'n') {
            out += node;
            ++i;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

Result<MigrationUris> migration_uris(const MigrationSettings& s)
{
    if (s.target_node.empty())
        return migration_error("no migration target node (CRM_meta_migrate_target unset)");
    MigrationUris uris;
    std::string host = host_with_suffix(s.target_node, s.network_suffix);
    if (!s.remote_uri.empty()) {
        uris.destination = substitute_node(s.remote_uri, s.target_node);
    } else {
        auto parts = split_uri(s.hypervisor_uri);
        if (!parts) return parts.error();
        std::string transport = s.transport.empty() ? parts->transport : s.transport;
        uris.destination = parts->driver + (transport.empty() ? "" : "+" + transport) + "://" +
                           (s.user.empty() ? "" : s.user + "@") + host + parts->path_and_query;
    }
    if (!s.migrate_uri.empty()) {
        uris.data = substitute_node(s.migrate_uri, s.target_node);
    } else if (!s.network_suffix.empty() || s.port) {
        auto parts = split_uri(s.hypervisor_uri);
        if (parts && (parts->driver == "qemu" || parts->driver == "kvm"))
            uris.data = "tcp://" + host + (s.port ? ":" + std::to_string(*s.port) : "");
    }
    return uris;
}

unsigned base_migration_flags()
{
    return VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
}

Status parse_migrate_options(std::string_view options, unsigned& flags, std::string& migrate_uri)
{
    static constexpr std::array<std::pair<std::string_view, unsigned>, 13> kFlags{{
        {"--live", VIR_MIGRATE_LIVE},
        {"--p2p", VIR_MIGRATE_PEER2PEER},
        {"--persistent", VIR_MIGRATE_PERSIST_DEST},
        {"--undefinesource", VIR_MIGRATE_UNDEFINE_SOURCE},
        {"--tunnelled", VIR_MIGRATE_TUNNELLED},
        {"--compressed", VIR_MIGRATE_COMPRESSED},
        {"--auto-converge", VIR_MIGRATE_AUTO_CONVERGE},
        {"--unsafe", VIR_MIGRATE_UNSAFE},
        {"--abort-on-error", VIR_MIGRATE_ABORT_ON_ERROR},
        {"--postcopy", VIR_MIGRATE_POSTCOPY},
        {"--tls", VIR_MIGRATE_TLS},
        {"--copy-storage-all", VIR_MIGRATE_NON_SHARED_DISK},
        {"--copy-storage-inc", VIR_MIGRATE_NON_SHARED_INC},
    }};
    auto words = split_words(options);
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "--verbose") continue;
        if (w == "--migrateuri") {
            if (i + 1 >= words.size()) return migration_error("migrate_options: --migrateuri needs a URI");
            migrate_uri = words[++i];
            continue;
        }
        if (w.rfind("--migrateuri=", 0) == 0) {
            migrate_uri = w.substr(std::string_view("--migrateuri=").size());
            continue;
        }
        bool known = false;
        for (const auto& [name, flag] : kFlags) {
            if (w == name) {
                flags |= flag;
                known = true;
            }
        }
        if (!known)
            return migration_error("migrate_options: " + outpost::log::quote(w) +
                                   " is not supported by ocf:outpost:guest (supported: --live --p2p "
                                   "--persistent --undefinesource --tunnelled --compressed --auto-converge "
                                   "--unsafe --abort-on-error --postcopy --tls --copy-storage-all "
                                   "--copy-storage-inc --migrateuri URI --verbose)");
    }
    return {};
}

}  // namespace outpost::cluster::lifecycle
