// fuzz-fencer-request: arbitrary bytes as the payload of a stonith-ng IPC request.
// Parsing must give a request or an error, never crash; an accepted request gets every
// reply built, and goes through FencerFace's dispatch (registered first) against a loop
// side that answers at once, so every branch of the face sees it; what the face sends must
// parse as XML again.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "controller/fencer_face.hpp"
#include "controller/fencer_messages.hpp"
#include "controller/xml.hpp"

using namespace outpost;
using namespace outpost::cluster::controller;

namespace {

// Inputs beyond this gain nothing but time.
constexpr std::size_t kMaxInput = std::size_t{64} * 1024;

class InstantActions final : public FencerActions {
public:
    FenceHistory history{8};
    [[nodiscard]] std::vector<FencerDevice> fence_devices() const override
    {
        return {{"f1", "fence_x", {{"pcmk_host_list", "r1 r2"}}}};
    }
    [[nodiscard]] const FenceHistory& fence_history() const override { return history; }
    void capable_devices(const std::string& /*target*/,
                         std::function<void(std::vector<FencerDevice>)> done) override
    {
        done(fence_devices());
    }
    void fence(const FenceOrder& order, std::function<void(const FenceHistoryEntry&)> done) override
    {
        FenceHistoryEntry entry;
        entry.id = "op";
        entry.target = order.target;
        entry.action = order.action;
        entry.client = order.client;
        entry.state = FenceState::done;
        history.add(entry);
        done(entry);
    }
    FenceHistoryEntry confirm_fenced(const FenceOrder& order) override
    {
        FenceHistoryEntry entry;
        entry.target = order.target;
        entry.action = order.action;
        entry.delegate = "a human";
        entry.state = FenceState::done;
        history.add(entry);
        return entry;
    }
    void clear_fence_history(const std::string& target) override { history.clear(target); }
    void run_device_action(const FencerDevice& /*device*/, const std::string& /*action*/,
                           const std::string& /*target*/, std::uint32_t /*timeout_ms*/,
                           std::function<void(const DeviceActionOutcome&)> done) override
    {
        done({true, false, 0, "r1\nr2\n", {}});
    }
    FencerResult register_level(const FencerLevel& /*level*/) override { return FencerResult::ok(); }
    FencerResult remove_level(const FencerLevel& /*level*/) override { return FencerResult::ok(); }
    void set_fencer_listener(FencerListener* /*listener*/) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > kMaxInput) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto request = parse_fencer_request(text);
    if (request.ok()) {
        FenceHistoryEntry entry;
        entry.target = request->target;
        entry.action = request->action;
        (void)fencer_reply(*request, FencerResult::ok(), fencer_query_calldata(request->target, {}));
        (void)fencer_fence_reply(*request, entry, "node1");
    }
    InstantActions actions;
    FencerFace face(actions, "node1");
    FencerFace::Transport transport;
    transport.send = [](ipc::ConnectionId, ipc::Kind, std::int32_t, const std::string& xml) {
        if (!parse_document(xml, 1 << 24, "reply").ok()) std::abort();  // we built it
        return Status{};
    };
    transport.close = [](ipc::ConnectionId, const std::string&) {};
    face.attach(std::move(transport));
    ipc::Message message;
    message.header.id = 1;
    message.header.flags = wire::ipc_flag::client_response;
    message.xml = R"(<stonith_command t="stonith-ng" st_op="register" st_clientname="fuzz"/>)";
    face.message(1, message);
    message.header.id = 2;
    message.xml = std::string(text);
    face.message(1, message);
    face.history_changed();
    return 0;
}
