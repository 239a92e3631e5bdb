// outpost: the admin command line for Pacemaker Remote nodes (ours or the real daemon).
//
//   outpost check HOST[:PORT]          connect, handshake, register, poke; timings and version
//   outpost exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param k=v ...] [--interval ms] [--timeout ms]
//   outpost keygen FILE [--force]      write a new 4096-byte authkey
//   outpost watch [--node NAME] ...    the service that reports dead guest domains at once
//
// Exit codes: exec returns the operation's OCF rc; check returns 0 or 1; 69 when the node
// cannot be reached, 77 for key and certificate problems, 78 for invalid TLS settings in
// the environment, 73 when keygen cannot write, 64 for usage errors. With --output-as=xml
// every outcome, usage errors included, is one document in Pacemaker's tool format on
// stdout (cli.hpp, Output); nothing goes to stderr but warnings.
#include <array>
#include <cstdio>
#include <exception>

#include "tools/outpost/cli.hpp"
#include "util/log.hpp"

namespace {

using namespace outpost;
using namespace outpost::cluster::tools;

const char* const kUsage =
    "Usage: outpost [OPTIONS] COMMAND ARGS\n"
    "\n"
    "Commands:\n"
    "  check HOST[:PORT]            connect, TLS handshake, register and poke; print timings,\n"
    "                               the remote protocol version and uptime\n"
    "  exec HOST RSC CLASS:PROVIDER:TYPE ACTION [--param NAME=VALUE ...] [--interval MS]\n"
    "       [--timeout MS]          register RSC and run one operation; print rc, status,\n"
    "                               exit reason and output (a recurring one is cancelled\n"
    "                               after its first result); exits with the OCF rc\n"
    "  keygen FILE [--force]        write 4096 random bytes as a new authkey (mode 0640,\n"
    "                               owner root, group haclient if it exists)\n"
    "  watch [--node NAME] [--refresh DURATION] [--state-socket PATH|none] [--dry-run] [--verbose]\n"
    "                               a service: reports a guest domain that stops or\n"
    "                               crashes behind the cluster's back as a failed resource\n"
    "                               at once (crm_resource --fail)\n"
    "\n"
    "Options:\n"
    "  --port N                     remote port (default PCMK_remote_port or 3121)\n"
    "  --authkey PATH               key file (default PCMK_authkey_location, then\n"
    "                               /etc/pacemaker/authkey, then /etc/corosync/authkey);\n"
    "                               with PCMK_cert_file, PCMK_key_file and PCMK_ca_file all\n"
    "                               set, X.509 certificates are used instead of a key\n"
    "  --output-as=xml|text         output format (default text); xml is Pacemaker's tool\n"
    "                               format: <pacemaker-result> with the data, then\n"
    "                               <status code=\"EXIT CODE\" message=\"...\"/> (errors inside)\n"
    "  --help                       this text (also after a command)\n"
    "\n"
    "Exit codes: exec: the OCF rc; check: 0 ok, 1 poke not answered; 69 node unreachable,\n"
    "77 key or certificate problem (missing, unreadable, rejected), 78 invalid TLS setting\n"
    "in the environment (PCMK_dh_min_bits, ...), 73 keygen cannot write, 64 usage error.\n";

struct Command {
    std::string_view name;
    int (*run)(const Options&, Output&);
    const char* const* usage;
};
const std::array<Command, 4> kCommands{{
    {"check", check, &kCheckUsage},
    {"exec", exec, &kExecUsage},
    {"keygen", keygen, &kKeygenUsage},
    {"watch", watch, &kWatchUsage},
}};

const Command* find_command(std::string_view name)
{
    for (const Command& command : kCommands) {
        if (command.name == name) return &command;
    }
    return nullptr;
}

int run(const Options& options, Output& out)
{
    if (const Command* command = find_command(options.command)) return command->run(options, out);
    return usage_error(
        out, options.command.empty() ? "no command given" : "unknown command " + options.command, kUsage);
}

const char* help_for(const std::string& command)
{
    const Command* found = find_command(command);
    return found != nullptr ? *found->usage : kUsage;
}

}  // namespace

int main(int argc, char** argv)
{
    log::configure(log::config_from_environment("outpost"));
    Output out(wants_xml(argc, argv), command_line(argc, argv));
    Options options;
    if (auto error = parse_args(argc, argv, options)) {
        return out.finish(usage_error(out, *error, kUsage));
    }
    // Help is text, as with Pacemaker's tools (also with --output-as=xml).
    if (options.help) return std::fputs(help_for(options.command), stdout), kExitOk;
    int code = kExitFailed;
    try {
        code = run(options, out);
    } catch (const std::exception& e) {
        out.error(std::string("internal error: ") + e.what());
        code = kExitFailed;
    }
    return out.finish(code);
}
