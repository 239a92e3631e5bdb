#include <cstdint>

#include "tools/outpost/cli.hpp"
#include "util/env.hpp"

namespace outpost::cluster::tools {
namespace {

// A decimal option value from `min` to `max` (env::parse_integer's rules).
std::optional<std::int64_t> number(const std::string& text, std::int64_t min, std::int64_t max)
{
    auto parsed = env::parse_integer("option", text, min, max);
    if (!parsed) return std::nullopt;
    return *parsed;
}

std::string quote_argument(const std::string& arg)
{
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_@%+=:,./-[]") == std::string::npos;
    if (plain) return arg;
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace

bool wants_xml(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--output-as=xml") return true;
        if (arg == "--output-as" && i + 1 < argc && std::string(argv[i + 1]) == "xml") return true;
    }
    return false;
}

std::optional<std::string> parse_args(int argc, char** argv, Options& options)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const std::string& name) -> std::optional<std::string> {
            std::string prefix = name + "=";
            if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
            if (arg == name && i + 1 < argc) return std::string(argv[++i]);
            return std::nullopt;
        };
        auto is = [&](const std::string& name) { return arg == name || arg.rfind(name + "=", 0) == 0; };
        if (arg == "--help" || arg == "-h") {
            options.help = true;
        } else if (arg == "--force") {
            options.force = true;
        } else if (is("--port")) {
            auto v = value("--port");
            auto port = v ? number(*v, 1, 65535) : std::nullopt;
            if (!port) return "--port needs a number 1-65535";
            options.port = static_cast<std::uint16_t>(*port);
        } else if (is("--authkey")) {
            auto v = value("--authkey");
            if (!v || v->empty()) return "--authkey needs a path";
            options.authkey = *v;
        } else if (is("--output-as")) {
            auto v = value("--output-as");
            if (!v || (*v != "xml" && *v != "text")) return "--output-as must be xml or text";
            options.xml = *v == "xml";
        } else if (is("--param")) {
            auto v = value("--param");
            auto eq = v ? v->find('=') : std::string::npos;
            if (!v || eq == std::string::npos || eq == 0) return "--param needs NAME=VALUE";
            options.params.emplace_back(v->substr(0, eq), v->substr(eq + 1));
        } else if (is("--interval")) {
            auto v = value("--interval");
            auto ms = v ? number(*v, 0, UINT32_MAX) : std::nullopt;
            if (!ms) return "--interval needs milliseconds";
            options.interval_ms = static_cast<std::uint32_t>(*ms);
        } else if (is("--timeout")) {
            auto v = value("--timeout");
            auto ms = v ? number(*v, 0, UINT32_MAX) : std::nullopt;
            if (!ms) return "--timeout needs milliseconds";
            options.timeout_ms = static_cast<std::uint32_t>(*ms);
        } else if (arg == "--dry-run") {
            options.dry_run = true;
        } else if (arg == "--verbose" || arg == "-V") {
            options.verbose = true;
        } else if (is("--node")) {
            auto v = value("--node");
            if (!v || v->empty()) return "--node needs a name";
            options.node = *v;
        } else if (is("--state-socket")) {
            auto v = value("--state-socket");
            if (!v || v->empty() || (*v != "none" && (*v)[0] != '/'))
                return "--state-socket needs an absolute path or none";
            options.state_socket = *v;
        } else if (is("--refresh")) {
            auto v = value("--refresh");
            auto ms = env::parse_duration_ms("--refresh", v.value_or(""));
            if (!v || !ms || *ms <= 0) return "--refresh needs a positive duration (30, 30s, 500ms, 1min)";
            options.refresh = std::chrono::milliseconds(*ms);
        } else if (arg.size() > 1 && arg[0] == '-') {
            return "unknown option " + arg;
        } else if (options.command.empty()) {
            options.command = arg;
        } else {
            options.args.push_back(arg);
        }
    }
    return std::nullopt;
}

std::string command_line(int argc, char** argv)
{
    std::string line;
    for (int i = 0; i < argc; ++i) {
        std::string arg = argv[i];
        if (i == 0) {
            auto slash = arg.rfind('/');
            if (slash != std::string::npos) arg = arg.substr(slash + 1);
        }
        if (!line.empty()) line += ' ';
        line += quote_argument(arg);
    }
    return line;
}

}  // namespace outpost::cluster::tools
