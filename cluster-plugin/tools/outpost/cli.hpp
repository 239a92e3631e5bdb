// The outpost command line's shared pieces: its exit codes, its options, the output every
// command writes (text, or Pacemaker's tool XML), and the connection to a remote daemon.
// One file per command (check.cpp, exec.cpp, keygen.cpp); main.cpp dispatches.
#pragma once

#include <libxml/tree.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection/remote_client.hpp"
#include "io/context.hpp"
#include "tls/context.hpp"
#include "util/result.hpp"

namespace outpost::cluster::tools {

// Exit codes (sysexits.h, as Pacemaker's tools use them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 64;
inline constexpr int kExitUnavailable = 69;
inline constexpr int kExitCantCreate = 73;
inline constexpr int kExitNoPerm = 77;
inline constexpr int kExitConfig = 78;

inline constexpr std::uint32_t kDefaultExecTimeoutMs = 20000;

// ---- options ----------------------------------------------------------------------------

struct Options {
    std::string command;
    std::vector<std::string> args;
    std::optional<std::uint16_t> port;
    std::optional<std::string> authkey;
    bool xml = false;
    bool help = false;
    bool force = false;
    std::vector<std::pair<std::string, std::string>> params;
    std::uint32_t interval_ms = 0;
    std::uint32_t timeout_ms = kDefaultExecTimeoutMs;
    // watch
    std::optional<std::string> node;
    std::optional<std::chrono::milliseconds> refresh;
    std::optional<std::string> state_socket;
    bool dry_run = false;
    bool verbose = false;
};

// Before anything else can fail: does the command line ask for XML? (Then even a usage
// error is reported as an XML document.)
bool wants_xml(int argc, char** argv);
// Fills `options`; the text of a usage error otherwise.
std::optional<std::string> parse_args(int argc, char** argv, Options& options);
// The command line as Pacemaker's tools echo it in request="...": arguments with
// characters a shell would treat specially are single-quoted.
std::string command_line(int argc, char** argv);

// ---- output -----------------------------------------------------------------------------

// One element of the XML output; a handle that does nothing in text mode.
class XmlNode {
public:
    XmlNode() = default;
    explicit XmlNode(xmlNodePtr node) : node_(node) {}
    XmlNode attr(std::string_view name, std::string_view value);
    XmlNode attr(std::string_view name, long long value);
    XmlNode child(std::string_view name);
    void text(std::string_view content);

private:
    xmlNodePtr node_ = nullptr;
};

// Where every command's results and errors go. Text: data lines to stdout, errors to
// stderr as they come. XML: one document by finish(), written with libxml2 as Pacemaker's
// tools write theirs (crm_resource, crm_mon of 2.1.5): a <pacemaker-result api-version=
// "2.25" request="COMMAND LINE"> root, the command's data, and a closing <status code=
// "EXIT CODE" message="..."/> holding <errors><error>...</error></errors> if there were any.
class Output {
public:
    Output(bool xml, const std::string& request);

    [[nodiscard]] bool xml() const { return doc_ != nullptr; }
    void line(const std::string& text) const;
    // A data element under the root (a handle that does nothing in text mode).
    XmlNode data(std::string_view name);
    void error(const std::string& message);
    // Text as is (e.g. a usage text after an error): stderr in text mode, dropped in XML.
    void usage(const char* text) const;
    static void warning(const std::string& message);
    // Prints the XML document (XML mode) and returns `code`.
    int finish(int code);

private:
    struct DocFree {
        void operator()(xmlDocPtr doc) const { xmlFreeDoc(doc); }
    };
    std::unique_ptr<xmlDoc, DocFree> doc_;
    std::vector<std::string> errors_;
};

// ---- the remote daemon ------------------------------------------------------------------

// The client TLS context, with the key checked up front so a key problem is reported as
// one; nullopt after reporting it, with `exit_code` set (kExitConfig for an invalid TLS
// setting in the environment, kExitNoPerm for a key or certificate that cannot be used).
std::optional<tls::TlsContext> make_tls(const Options& options, Output& out, int& exit_code);
// The daemon the command's first argument names: HOST, HOST:PORT, [V6]:PORT or a bare V6
// address, with the port from the options or the environment; nullopt after reporting an
// argument that is none of those.
std::optional<connection::ClientOptions> client_options(const Options& options, Output& out);
// Turns `context` until done() or `limit`; false on timeout.
bool wait(GMainContext* context, const std::function<bool()>& done, std::chrono::milliseconds limit);
// Connects `client`; on failure reports it and returns the exit code.
std::optional<int> connect_client(connection::RemoteClient& client, GMainContext* context, Output& out);

// ---- commands ---------------------------------------------------------------------------

// Reports a usage error followed by the command's usage text; returns kExitUsage.
int usage_error(Output& out, const std::string& message, const char* usage);

extern const char* const kCheckUsage;
extern const char* const kExecUsage;
extern const char* const kKeygenUsage;
extern const char* const kWatchUsage;
int check(const Options& options, Output& out);
int exec(const Options& options, Output& out);
int keygen(const Options& options, Output& out);
int watch(const Options& options, Output& out);

}  // namespace outpost::cluster::tools
