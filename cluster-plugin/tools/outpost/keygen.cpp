// outpost keygen FILE [--force]: a new 4096-byte authkey (tls::generate_authkey,
// tls::write_authkey_file), readable by the cluster group.
#include <unistd.h>

#include <cerrno>

#include "tls/authkey.hpp"
#include "tools/outpost/cli.hpp"
#include "util/users.hpp"

namespace outpost::cluster::tools {
namespace {

constexpr mode_t kKeyMode = 0640;
constexpr const char* kKeyGroup = "haclient";

}  // namespace

const char* const kKeygenUsage =
    "Usage: outpost keygen FILE [--force] [--output-as=xml|text]\n"
    "Writes 4096 random bytes (getrandom) to FILE with mode 0640, owner root and group\n"
    "haclient if that group exists (else the caller's group). Refuses to replace an existing\n"
    "file without --force (exit 73); with --force the file is replaced atomically.\n";

int keygen(const Options& options, Output& out)
{
    if (options.args.size() != 1) return usage_error(out, "keygen needs one FILE", kKeygenUsage);
    const std::string& file = options.args[0];
    auto key = tls::generate_authkey(tls::kAuthkeySize);
    if (!key) {
        out.error(key.error().message);
        return kExitFailed;
    }
    tls::AuthkeyFileOptions file_options;
    file_options.mode = kKeyMode;
    file_options.replace = options.force;
    file_options.group = users::find_group(kKeyGroup).value_or(::getegid());
    auto written = tls::write_authkey_file(file, *key, file_options);
    if (!written) {
        const Error& error = written.error();
        const int err = -error.code;
        if (err == EEXIST) {
            out.error(file + " exists; use --force to replace it");
            return kExitCantCreate;
        }
        out.error(error.message);
        if (err == EACCES || err == EPERM) return kExitNoPerm;
        return error.domain == tls::kAuthkeyCreateDomain ? kExitCantCreate : kExitFailed;
    }
    const std::string owner = users::user_name(written->owner);
    const std::string group = users::group_name(written->group);
    out.data("authkey")
        .attr("file", file)
        .attr("bytes", static_cast<long long>(tls::kAuthkeySize))
        .attr("mode", "0640")
        .attr("owner", owner)
        .attr("group", group);
    out.line("wrote " + std::to_string(tls::kAuthkeySize) + " random bytes to " + file +
             " (mode 0640, owner " + owner + ", group " + group + ")");
    return kExitOk;
}

}  // namespace outpost::cluster::tools
