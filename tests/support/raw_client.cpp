#include "support/raw_client.hpp"

#include <cerrno>
#include <utility>

namespace outpost::test {

Result<std::unique_ptr<RawClient>> RawClient::connect(GMainContext* context, const std::string& address,
                                                      std::uint16_t port, const tls::TlsContext& tls,
                                                      io::ConnectOptions options,
                                                      std::chrono::milliseconds limit)
{
    // Kept apart rather than as one optional Result: g++ 12 misreads the variant's
    // destructor here (-Wfree-nonheap-object).
    bool done = false;
    std::unique_ptr<io::Connection> ready;
    std::optional<Error> failure;
    auto pending = io::Connection::connect_async(address, port, tls, context, options,
                                                 [&](Result<std::unique_ptr<io::Connection>> result) {
                                                     done = true;
                                                     if (result.ok()) {
                                                         ready = std::move(result).value();
                                                     } else {
                                                         failure = result.error();
                                                     }
                                                 });
    if (!run_until(
            context, [&] { return done; }, limit)) {
        return make_error("test", -ETIMEDOUT,
                          "no connection to " + address + " within " + std::to_string(limit.count()) + " ms");
    }
    if (!ready) return failure.value_or(make_error("test", -ENOTCONN, "no connection to " + address));
    return std::unique_ptr<RawClient>(new RawClient(context, std::move(ready)));
}

RawClient::RawClient(GMainContext* context, std::unique_ptr<io::Connection> connection)
    : context_(context), connection_(std::move(connection))
{
    connection_->start(
        [this](std::string xml) {
            if (on_message_) {
                on_message_(xml);
            } else {
                inbox_.push_back(Received{std::chrono::steady_clock::now(), std::move(xml)});
            }
        },
        [this](const Error& reason) {
            close_reason_ = reason;
            if (on_close_) on_close_(reason);
        });
}

RawClient::~RawClient()
{
    connection_->close();
}

Status RawClient::send_xml(std::string_view xml)
{
    return connection_->send(xml);
}

Result<std::uint64_t> RawClient::try_send(wire::Request request)
{
    if (request.msg_id == 0) request.msg_id = ++last_msg_id_;
    if (Status sent = send_xml(wire::encode(request)); !sent) return sent.error();
    return request.msg_id;
}

Result<std::uint64_t> RawClient::try_send(wire::ProxyMessage message)
{
    message.type = wire::MsgType::request;
    if (message.msg_id == 0) message.msg_id = ++last_msg_id_;
    if (Status sent = send_xml(wire::encode(message)); !sent) return sent.error();
    return message.msg_id;
}

bool RawClient::wait(const std::function<bool()>& done, std::chrono::milliseconds limit)
{
    (void)run_until(
        context_, [&] { return done() || closed(); }, limit);
    return done();
}

Result<wire::Message> RawClient::try_next(std::chrono::milliseconds limit)
{
    if (!wait([&] { return !inbox_.empty(); }, limit)) {
        return make_error("test", closed() ? -ENOTCONN : -ETIMEDOUT,
                          closed() ? "the connection closed: " + close_reason_->message
                                   : "no message within " + std::to_string(limit.count()) + " ms");
    }
    std::string xml = std::move(inbox_.front().xml);
    inbox_.pop_front();
    auto decoded = wire::decode_message(xml);
    if (!decoded) return make_error("test", decoded.error().code, decoded.error().message + ": " + xml);
    return std::move(decoded).value();
}

bool RawClient::quiet_for(std::chrono::milliseconds period)
{
    (void)run_until(
        context_, [&] { return !inbox_.empty(); }, period);
    return inbox_.empty();
}

wire::Request make_request(const std::string& op, std::uint64_t msg_id)
{
    wire::Request request;
    request.msg_id = msg_id;
    const wire::OpInfo* info = wire::find_op(op);
    request.op = info != nullptr ? info->op : wire::Op::unknown;
    request.op_name = op;
    request.callopts = 0;
    request.timeout_ms = 0;
    return request;
}

wire::Request make_register(std::uint64_t msg_id, const std::string& name, std::optional<std::string> version,
                            bool provider)
{
    wire::Request request = make_request("register", msg_id);
    request.client_name = name;
    request.protocol_version = std::move(version);
    request.ipc_provider = provider;
    return request;
}

}  // namespace outpost::test
