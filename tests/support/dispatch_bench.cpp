#include "support/dispatch_bench.hpp"

#include <cassert>

#include "executor/process_spawner.hpp"

namespace outpost::test {

DispatchBench::DispatchBench(DispatchBenchSetup setup) : setup_(std::move(setup))
{
    for (const auto& [path, content] : setup_.scripts)
        dir_.write(path, content, 0755);
    agent::executor::Executor::Options options;
    options.paths.ocf_root = dir_.path().string();
    options.paths.ocf_ra_path = {dir_.file("resource.d")};
    options.paths.lsb_dir = dir_.file("init.d");
    options.paths.nagios_dir = dir_.file("nagios");
    options.paths.secrets_dir = dir_.file("secrets");
    options.paths.working_dir = dir_.path().string();
    options.paths.systemd_run_dir = dir_.file("systemd");
    if (setup_.children == DispatchBenchSetup::Children::recorded) {
        spawner_ = std::make_unique<RecordingSpawner>(context());
    } else {
        spawner_ = std::make_unique<agent::executor::ProcessSpawner>(context());
    }
    executor_ = std::make_unique<agent::executor::Executor>(
        context(), *spawner_, options,
        agent::executor::Executor::Callbacks{[this](const agent::executor::OpResult& result) {
            if (dispatcher_) dispatcher_->on_result(result);
        }});
    dispatcher_ =
        std::make_unique<agent::server::Dispatcher>(*executor_, notifier_, control_, setup_.dispatcher);
}

DispatchBench::~DispatchBench()
{
    // As the Server does: the executor may still report while it goes, so the dispatcher
    // outlives it; the sessions go last.
    executor_.reset();
    dispatcher_.reset();
    for (auto& [id, session] : sessions_)
        session->detach();
}

RecordingSpawner& DispatchBench::recorder()
{
    assert(setup_.children == DispatchBenchSetup::Children::recorded);
    return static_cast<RecordingSpawner&>(*spawner_);
}

agent::server::ClientSession& DispatchBench::connect(const std::string& id)
{
    auto session = std::make_unique<agent::server::ClientSession>(
        id, "test", [this, id](std::string_view xml) { return record(id, false, false, xml); });
    auto& added = *session;
    sessions_[id] = std::move(session);
    notifier_.add(added);
    return added;
}

agent::server::ClientSession& DispatchBench::connect_local(const std::string& id)
{
    auto session = std::make_unique<agent::server::ClientSession>(
        id, "local test client", [this, id](std::string_view xml) { return record(id, true, false, xml); },
        [this, id](std::string_view xml) { return record(id, true, true, xml); });
    auto& added = *session;
    sessions_[id] = std::move(session);
    notifier_.add(added);
    return added;
}

void DispatchBench::disconnect(const std::string& id)
{
    notifier_.remove(id);
    sessions_.erase(id);
}

void DispatchBench::send(const std::string& id, const wire::Request& request)
{
    dispatcher_->handle(session(id), request);
}

void DispatchBench::send(const std::string& id, const wire::ProxyMessage& message)
{
    dispatcher_->handle(session(id), message);
}

Status DispatchBench::remote(const std::string& id, std::string_view xml)
{
    return dispatcher_->handle_remote_payload(session(id), xml);
}

Status DispatchBench::local(const std::string& id, std::uint32_t ipc_msg_id, std::string_view xml)
{
    return dispatcher_->handle_local_payload(session(id), ipc_msg_id, xml);
}

std::vector<DispatchBench::Sent> DispatchBench::take_sent(const std::string& id)
{
    return std::exchange(inbox_[id], {});
}

Status DispatchBench::record(const std::string& id, bool local, bool reply, std::string_view xml)
{
    if (setup_.on_sent) setup_.on_sent(id, local, reply, xml);
    if (setup_.record) inbox_[id].push_back(Sent{std::string(xml), reply});
    return {};
}

Result<wire::Message> DispatchBench::decode_local(std::string_view xml)
{
    if (xml.find("lrmd_remote_msg_") != std::string_view::npos)
        return make_error("test", -EPROTO, "a local message with the TLS envelope");
    auto root = wire::parse_xml(xml);
    if (!root) return root.error();
    root->set("lrmd_remote_msg_id", "0");
    root->set("lrmd_remote_msg_type", root->name == "lrmd_reply" ? "reply" : "notify");
    return wire::from_element(*root);
}

}  // namespace outpost::test
