// fuzz-dispatch: arbitrary bytes as a sequence of client messages (split at NUL bytes,
// as frame payloads are) fed through decode_message() into the agent's Dispatcher, with a
// real Executor on a RecordingSpawner (nothing is ever started) and the real Notifier
// fanning out to two sessions. Every child the executor asks for is finished at once, so
// results and notifications flow too. Each input gets fresh state, so nothing grows from
// one input to the next; within an input the message count is capped.
//
// Safety: the systemd and service classes would reach the real systemd over D-Bus, so a
// registration naming them is rewritten to ocf before dispatch. Agent paths point into a
// private temporary tree; nothing there is ever executed.
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "executor/agents.hpp"
#include "executor/executor.hpp"
#include "executor/recording_spawner.hpp"
#include "server/client_session.hpp"
#include "server/dispatcher.hpp"
#include "server/notifier.hpp"
#include "util/log.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::agent;

namespace {

constexpr std::size_t kMaxMessagesPerInput = 32;
constexpr int kLoopIterationsPerMessage = 8;
// What a peer can make the sessions accumulate within one input stays small anyway; this
// bounds the recorded bytes so a pathological input cannot balloon memory.
constexpr std::size_t kMaxRecordedBytes = std::size_t{8} * 1024 * 1024;

class NullControl final : public server::Control {
public:
    void shutdown_acknowledged() override {}
    void shutdown_refused() override {}
    void fatal_exit(int, const std::string&) override {}
};

// A private agent tree, made once per process and removed at exit.
const std::filesystem::path& agent_root()
{
    static const std::filesystem::path root = [] {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "outpost-fuzz-dispatch-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) std::abort();
        std::filesystem::path path(pattern);
        std::filesystem::create_directories(path / "resource.d" / "pacemaker");
        std::filesystem::create_directories(path / "init.d");
        for (const auto& file : {path / "resource.d" / "pacemaker" / "Dummy", path / "init.d" / "dummy"}) {
            std::ofstream(file) << "#!/bin/sh\nexit 0\n";
            ::chmod(file.c_str(), 0755);
        }
        (void)std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(agent_root(), ignored);
        });
        return path;
    }();
    return root;
}

executor::Executor::Options executor_options()
{
    const auto& root = agent_root();
    executor::Executor::Options options;
    options.paths.ocf_root = root.string();
    options.paths.ocf_ra_path = {(root / "resource.d").string()};
    options.paths.lsb_dir = (root / "init.d").string();
    options.paths.nagios_dir = (root / "nagios").string();
    options.paths.secrets_dir = (root / "secrets").string();
    options.paths.working_dir = root.string();
    return options;
}

void make_safe(wire::Request& request)
{
    if (request.op != wire::Op::rsc_register || !request.rsc || !request.rsc->rsc_class) return;
    const std::string& rsc_class = *request.rsc->rsc_class;
    if (executor::agents::is_service_class(rsc_class) ||
        executor::agents::parse_standard(rsc_class) == executor::agents::Standard::systemd ||
        executor::agents::iequals(rsc_class, "upstart")) {
        request.rsc->rsc_class = "ocf";
    }
}

struct Bench {
    GMainContext* context = g_main_context_new();
    executor::RecordingSpawner spawner{context};
    server::Notifier notifier;
    NullControl control;
    std::unique_ptr<executor::Executor> executor;
    std::unique_ptr<server::Dispatcher> dispatcher;
    std::size_t recorded = 0;
    server::ClientSession client{"fuzz-client", "fuzz", [this](std::string_view xml) { return record(xml); }};
    server::ClientSession observer{"observer", "fuzz", [this](std::string_view xml) { return record(xml); }};

    Bench()
    {
        executor = std::make_unique<executor::Executor>(
            context, spawner, executor_options(),
            executor::Executor::Callbacks{[this](const executor::OpResult& r) {
                if (dispatcher) dispatcher->on_result(r);
            }});
        dispatcher = std::make_unique<server::Dispatcher>(*executor, notifier, control);
        observer.note_name("observer");
        notifier.add(client);
        notifier.add(observer);
    }
    Bench(const Bench&) = delete;
    Bench& operator=(const Bench&) = delete;
    ~Bench()
    {
        executor.reset();
        dispatcher.reset();
        g_main_context_unref(context);
    }

    Status record(std::string_view xml)
    {
        recorded += xml.size();
        if (recorded > kMaxRecordedBytes) std::abort();  // unbounded output: a bug
        // Whatever the server sends must be something a client can decode.
        if (!wire::decode_message(xml).ok()) std::abort();
        return {};
    }

    void settle()
    {
        for (int i = 0; i < kLoopIterationsPerMessage; ++i) {
            for (auto id : spawner.pending())
                spawner.exit(id, static_cast<int>(id % 8), "out", "ocf-exit-reason:x");
            if (!g_main_context_iteration(context, FALSE) && spawner.pending().empty()) break;
        }
    }

    void feed(std::string_view payload)
    {
        auto decoded = wire::decode_message(payload);
        if (!decoded.ok()) return;  // the server drops such a client
        if (auto* request = std::get_if<wire::Request>(&*decoded)) {
            make_safe(*request);
            dispatcher->handle(client, *request);
        } else if (auto* proxy = std::get_if<wire::ProxyMessage>(&*decoded);
                   proxy != nullptr && proxy->type == wire::MsgType::request) {
            dispatcher->handle(client, *proxy);
        }
        settle();
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const bool quiet = [] {
        log::Config config;
        config.default_level = log::Level::error;
        log::configure(config);
        return true;
    }();
    (void)quiet;

    Bench bench;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::size_t count = 0;
    while (!input.empty() && count++ < kMaxMessagesPerInput) {
        std::size_t end = input.find('\0');
        bench.feed(input.substr(0, end));
        if (end == std::string_view::npos) break;
        input.remove_prefix(end + 1);
    }
    return 0;
}
