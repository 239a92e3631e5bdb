#include "watch/cluster_tools.hpp"

#include <dirent.h>
#include <gio/gio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/source.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::cluster::watch {

namespace {

const outpost::log::Category log_cat{"cluster.watch.tools"};

constexpr const char* kAgentActions[] = {"start", "stop", "migrate_to", "migrate_from"};

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r'))
        s.pop_back();
    return s;
}

std::string read_all(const std::string& path, std::size_t limit)
{
    std::ifstream in(path, std::ios::binary);
    std::string data;
    data.resize(limit);
    in.read(data.data(), static_cast<std::streamsize>(limit));
    data.resize(static_cast<std::size_t>(in.gcount()));
    return data;
}

std::vector<std::string> split_nul(const std::string& data)
{
    std::vector<std::string> parts;
    std::size_t pos = 0;
    while (pos < data.size()) {
        auto end = data.find('\0', pos);
        if (end == std::string::npos) end = data.size();
        parts.push_back(data.substr(pos, end - pos));
        pos = end + 1;
    }
    return parts;
}

}  // namespace

std::string ToolResult::describe() const
{
    if (!failure.empty()) return failure;
    std::string text = trim(err.empty() ? out : err);
    return "exit status " + std::to_string(exit_status) + (text.empty() ? "" : ": " + text);
}

RunningTool::RunningTool(GMainContext* context, std::vector<std::string> argv,
                         std::chrono::milliseconds timeout, std::function<void(ToolResult)> done)
    : done_(std::move(done)), token_(std::make_shared<Token>()), argv_(std::move(argv))
{
    token_->owner = this;
    std::vector<const char*> args;
    args.reserve(argv_.size() + 1);
    for (const auto& a : argv_)
        args.push_back(a.c_str());
    args.push_back(nullptr);
    GError* error = nullptr;
    process_ = g_subprocess_newv(
        args.data(),
        static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE),
        &error);
    if (process_ == nullptr) {
        std::string why = argv_.front() + ": " + (error != nullptr ? error->message : "cannot run");
        g_clear_error(&error);
        // Reported from the loop, like every other outcome.
        failed_ = io::add_idle(context, [this, why] {
            ToolResult r;
            r.failure = why;
            finish(std::move(r));
        });
        return;
    }
    timer_ = io::add_timeout(context, timeout, [this] {
        timed_out_ = true;
        g_subprocess_force_exit(process_);
    });
    g_main_context_push_thread_default(context);
    g_subprocess_communicate_utf8_async(process_, nullptr, nullptr, communicated,
                                        new std::shared_ptr<Token>(token_));
    g_main_context_pop_thread_default(context);
}

RunningTool::~RunningTool()
{
    token_->owner = nullptr;
    if (process_ != nullptr) {
        if (!finished_) g_subprocess_force_exit(process_);
        g_object_unref(process_);
    }
}

void RunningTool::communicated(GObject* source, GAsyncResult* result, gpointer data) noexcept
{
    std::unique_ptr<std::shared_ptr<Token>> token(static_cast<std::shared_ptr<Token>*>(data));
    char* out = nullptr;
    char* err = nullptr;
    GError* error = nullptr;
    gboolean ok = g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &out, &err, &error);
    guarded(log_cat, "a tool's completion", [&] {
        ToolResult r;
        if (out != nullptr) r.out.assign(out, std::min(std::strlen(out), kMaxToolOutput));
        if (err != nullptr) r.err = err;
        if (!ok) r.failure = error != nullptr ? error->message : "communication failed";
        RunningTool* owner = (*token)->owner;
        if (owner != nullptr) {
            if (ok) {
                GSubprocess* p = owner->process_;
                if (g_subprocess_get_if_exited(p)) r.exit_status = g_subprocess_get_exit_status(p);
                if (owner->timed_out_) {
                    r.exit_status = -1;
                    r.failure = owner->argv_.front() + " timed out";
                } else if (!g_subprocess_get_if_exited(p)) {
                    r.failure = owner->argv_.front() + " was killed by signal " +
                                std::to_string(g_subprocess_get_term_sig(p));
                }
            }
            owner->finish(std::move(r));
        }
    });
    g_free(out);
    g_free(err);
    g_clear_error(&error);
}

void RunningTool::finish(ToolResult r)
{
    finished_ = true;
    timer_.reset();
    auto done = std::move(done_);
    if (done) done(std::move(r));  // may destroy this object: nothing after
}

std::unique_ptr<RunningTool> run_tool(GMainContext* context, std::vector<std::string> argv,
                                      std::chrono::milliseconds timeout, std::function<void(ToolResult)> done)
{
    return std::make_unique<RunningTool>(context, std::move(argv), timeout, std::move(done));
}

PacemakerTools::~PacemakerTools() = default;

void PacemakerTools::start(std::vector<std::string> argv, std::function<void(ToolResult)> done)
{
    // Finished runs are dropped here, not from inside their own callback.
    running_.erase(
        std::remove_if(running_.begin(), running_.end(), [](const auto& t) { return t->finished(); }),
        running_.end());
    running_.push_back(run_tool(context_, std::move(argv), kToolTimeout, std::move(done)));
}

void PacemakerTools::query_cib(std::function<void(Result<std::string>)> done)
{
    start({"cibadmin", "--query", "--local"}, [done = std::move(done)](ToolResult r) {
        if (!r.ok()) {
            done(make_error("watch", -EIO, "cibadmin --query: " + r.describe()));
            return;
        }
        done(std::move(r.out));
    });
}

void PacemakerTools::report_failure(const std::string& resource, const std::string& node,
                                    std::function<void(Status)> done)
{
    start({"crm_resource", "--fail", "--resource", resource, "--node", node},
          [done = std::move(done), resource](const ToolResult& r) {
              if (!r.ok()) {
                  done(make_error("watch", -EIO,
                                  "crm_resource --fail --resource " + resource + ": " + r.describe()));
                  return;
              }
              done({});
          });
}

std::optional<std::string> PacemakerTools::agent_action_in_flight(const std::string& resource)
{
    const std::string needle = "OCF_RESOURCE_INSTANCE=" + resource;
    std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
    if (!proc) return std::nullopt;
    const pid_t self = getpid();
    while (const dirent* e = readdir(proc.get())) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (end == nullptr || *end != '\0' || pid <= 0 || pid == self) continue;
        std::string base = std::string("/proc/") + e->d_name;
        // environ of other users' processes is unreadable without root: skipped then.
        auto env = split_nul(read_all(base + "/environ", 1U << 20));
        if (std::find(env.begin(), env.end(), needle) == env.end()) continue;
        auto cmdline = split_nul(read_all(base + "/cmdline", 1U << 16));
        if (cmdline.empty()) continue;
        const std::string& action = cmdline.back();
        if (std::find(std::begin(kAgentActions), std::end(kAgentActions), action) != std::end(kAgentActions))
            return action;
    }
    return std::nullopt;
}

std::string local_node_name()
{
    gchar* out = nullptr;
    gint status = 0;
    const char* argv[] = {"crm_node", "--name", nullptr};
    if (g_spawn_sync(nullptr, const_cast<char**>(argv), nullptr,  // NOLINT: g_spawn's signature
                     static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL), nullptr,
                     nullptr, &out, nullptr, &status, nullptr) &&
        g_spawn_check_wait_status(status, nullptr) && out != nullptr) {
        std::string name = trim(out);
        g_free(out);
        if (!name.empty()) return name;
        out = nullptr;
    }
    g_free(out);
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) return host;
    return "";
}

}  // namespace outpost::cluster::watch
