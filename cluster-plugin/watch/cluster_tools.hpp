// How outpost watch speaks to Pacemaker: through Pacemaker's own command-line tools, run
// without blocking the main loop (a libvirt event for another domain must not wait behind
// a slow CIB query).
//
//   read the CIB        cibadmin --query --local (this node's replica, no round trip to
//                       the DC)
//   report a failure    crm_resource --fail --resource R --node N: the controller records a
//                       failed operation of R on N, which raises R's fail count and starts its
//                       recovery at once (docs/admin-guide.md, "The watch service", has what
//                       the CIB then holds and why the tool rather than its IPC)
//   in-flight actions   /proc: a resource agent process of R running start, stop,
//                       migrate_to or migrate_from on this node (the cluster is acting on R)
//
// ClusterTools is the interface the watcher uses; PacemakerTools is the real one, tests
// replace it.
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/source.hpp"
#include "util/result.hpp"

namespace outpost::cluster::watch {

// A tool that runs longer is killed (SIGKILL) and counts as failed.
inline constexpr std::chrono::milliseconds kToolTimeout{30000};
// Output captured from a tool (a CIB fits; anything beyond is an error).
inline constexpr std::size_t kMaxToolOutput = 256U << 20;

struct ToolResult {
    int exit_status = -1;  // -1: did not run, was killed or timed out
    std::string out;
    std::string err;
    std::string failure;  // why it did not run to an exit status, if so
    [[nodiscard]] bool ok() const { return exit_status == 0; }
    [[nodiscard]] std::string describe() const;
};

// One tool run: owns the GSubprocess and its timer; the completion callback reaches it
// through a shared token, so a run destroyed early calls nobody (and its process is
// killed).
class RunningTool {
public:
    RunningTool(GMainContext* context, std::vector<std::string> argv, std::chrono::milliseconds timeout,
                std::function<void(ToolResult)> done);
    RunningTool(const RunningTool&) = delete;
    RunningTool& operator=(const RunningTool&) = delete;
    ~RunningTool();
    [[nodiscard]] bool finished() const { return finished_; }

private:
    struct Token {
        RunningTool* owner = nullptr;
    };
    static void communicated(GObject* source, GAsyncResult* result, gpointer data) noexcept;
    void finish(ToolResult r);

    std::function<void(ToolResult)> done_;
    std::shared_ptr<Token> token_;
    std::vector<std::string> argv_;
    GSubprocess* process_ = nullptr;
    io::Source timer_;
    io::Source failed_;
    bool timed_out_ = false;
    bool finished_ = false;
};

// Runs argv asynchronously on `context`, calling `done` from the loop when it has ended.
std::unique_ptr<RunningTool> run_tool(GMainContext* context, std::vector<std::string> argv,
                                      std::chrono::milliseconds timeout,
                                      std::function<void(ToolResult)> done);

class ClusterTools {
public:
    virtual ~ClusterTools() = default;
    virtual void query_cib(std::function<void(Result<std::string>)> done) = 0;
    virtual void report_failure(const std::string& resource, const std::string& node,
                                std::function<void(Status)> done) = 0;
    // The action ("stop", "migrate_to", ...) of a resource agent process running for
    // `resource` on this node, if any.
    virtual std::optional<std::string> agent_action_in_flight(const std::string& resource) = 0;
};

class PacemakerTools : public ClusterTools {
public:
    explicit PacemakerTools(GMainContext* context) : context_(context) {}
    ~PacemakerTools() override;
    PacemakerTools(const PacemakerTools&) = delete;
    PacemakerTools& operator=(const PacemakerTools&) = delete;

    void query_cib(std::function<void(Result<std::string>)> done) override;
    void report_failure(const std::string& resource, const std::string& node,
                        std::function<void(Status)> done) override;
    std::optional<std::string> agent_action_in_flight(const std::string& resource) override;

private:
    void start(std::vector<std::string> argv, std::function<void(ToolResult)> done);
    GMainContext* context_;
    std::vector<std::unique_ptr<RunningTool>> running_;
};

// The node name Pacemaker knows this host by (crm_node --name, else the host name),
// synchronously: for start-up.
std::string local_node_name();

}  // namespace outpost::cluster::watch
