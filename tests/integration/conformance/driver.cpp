// Conformance driver: see driver.hpp.
#include "conformance/driver.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tls/authkey.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"
#include "wire/frame.hpp"

namespace outpost::test::conformance {

namespace {

constexpr const char* kDomain = "conformance";

// Not support/psk's psk_client: scenarios run on worker threads, where Catch2's macros
// must not be used.
Result<tls::TlsContext> client_tls(const GuestDaemon& daemon)
{
    return tls::TlsContext::psk_client(tls::Authkey(daemon.authkey().bytes()));
}

}  // namespace

// ---------------------------------------------------------------------------- Received

std::string Received::attr(std::string_view name) const
{
    if (!element) return {};
    const std::string* value = element->attr(name);
    return value != nullptr ? *value : std::string();
}

bool Received::is_reply_to(std::uint64_t msg_id) const
{
    return element && element->name == "lrmd_reply" && attr("lrmd_remote_msg_type") == "reply" &&
           attr("lrmd_remote_msg_id") == std::to_string(msg_id);
}

bool Received::is_notify() const
{
    return element && attr("lrmd_remote_msg_type") == "notify";
}

// ---------------------------------------------------------------------------- Client

Client::Client(Driver& driver, std::string label, std::unique_ptr<RawClient> raw)
    : driver_(driver), label_(std::move(label)), raw_(std::move(raw))
{
    raw_->on_message([this](const std::string& xml) { on_message(xml); });
    raw_->on_close([this](const Error& reason) { on_close(reason); });
}

Client::~Client() = default;

std::uint64_t Client::send(wire::Element request)
{
    std::uint64_t id = next_msg_id_++;
    request.set("lrmd_remote_msg_id", std::to_string(id));
    request.set("lrmd_remote_msg_type", "request");
    const std::string* op = request.attr("lrmd_op");
    sent_ops_[id] = op != nullptr ? *op : std::string();
    if (!send_xml(wire::serialize(request)).ok()) return 0;
    return id;
}

std::uint64_t Client::send(const wire::Request& request)
{
    wire::Request copy = request;
    if (copy.async_id.empty()) copy.async_id = token_;
    return send(wire::to_element(wire::Message{copy}));
}

Result<wire::Element> Client::request(const wire::Request& request, Millis timeout)
{
    wire::Request copy = request;
    if (copy.async_id.empty()) copy.async_id = token_;
    return this->request(wire::to_element(wire::Message{copy}), timeout);
}

Status Client::send_xml(std::string_view xml)
{
    return raw_->send_xml(xml);
}

Result<wire::Element> Client::request(wire::Element request, Millis timeout)
{
    std::string op = request.attr("lrmd_op") != nullptr ? *request.attr("lrmd_op") : std::string("?");
    std::uint64_t id = send(std::move(request));
    if (id == 0) return make_error(kDomain, -ENOTCONN, label_ + ": could not send " + op);
    const Received* found = nullptr;
    auto seen = [&] {
        for (const auto& r : received_) {
            if (r.is_reply_to(id)) {
                found = &r;
                return true;
            }
        }
        return peer_closed_;
    };
    auto sent_at = Clock::now();
    driver_.wait_for(seen, timeout);
    if (std::getenv("OUTPOST_CONFORMANCE_TRACE") != nullptr) {
        (void)std::fprintf(
            stderr, "trace: %s %s took %lld ms\n", label_.c_str(), op.c_str(),
            static_cast<long long>(std::chrono::duration_cast<Millis>(Clock::now() - sent_at).count()));
    }
    if (found == nullptr) {
        return make_error(kDomain, -ETIMEDOUT,
                          label_ + ": no reply to " + op + " (msg id " + std::to_string(id) + ") within " +
                              std::to_string(timeout.count()) + " ms" +
                              (peer_closed_ ? " (connection closed)" : ""));
    }
    wire::Element reply = *found->element;
    if (const std::string* token = reply.attr("lrmd_clientid"); token != nullptr) token_ = *token;
    return reply;
}

std::size_t Client::count(const std::function<bool(const Received&)>& match) const
{
    return static_cast<std::size_t>(std::count_if(received_.begin(), received_.end(), match));
}

std::string Client::op_of(std::uint64_t id) const
{
    auto it = sent_ops_.find(id);
    return it != sent_ops_.end() ? it->second : std::string();
}

void Client::close()
{
    raw_->close();
}

void Client::on_message(std::string xml)
{
    Received r;
    r.at = Clock::now();
    auto parsed = wire::parse_xml(xml);
    if (parsed) r.element = std::move(*parsed);
    r.xml = std::move(xml);
    received_.push_back(std::move(r));
}

void Client::on_close(const Error& /*reason*/)
{
    // The reason's wording is ours, not the daemon's: only the fact goes in the transcript.
    peer_closed_ = true;
    Received r;
    r.at = Clock::now();
    r.close_event = true;
    r.element = wire::Element{"connection_closed", {}, {}};
    received_.push_back(std::move(r));
}

// ---------------------------------------------------------------------------- Driver

Driver::Driver(const GuestDaemon& daemon) : daemon_(daemon) {}

Driver::~Driver()
{
    clients_.clear();
    // Let closed connections release their sources before the context goes.
    while (g_main_context_iteration(context(), FALSE)) {
    }
}

Result<Client*> Driver::connect(std::string label, Millis timeout)
{
    io::ConnectOptions options;
    options.connect_timeout = timeout;
    options.handshake_timeout = timeout;
    auto tls = client_tls(daemon_);
    if (!tls) return make_error(kDomain, tls.error().code, label + ": " + tls.error().message);
    auto raw = RawClient::connect(context(), daemon_.address(), daemon_.port(), *tls, options,
                                  timeout + Millis{1000});
    if (!raw) return make_error(kDomain, raw.error().code, label + ": " + raw.error().message);
    std::unique_ptr<Client> client(new Client(*this, std::move(label), std::move(raw).value()));
    Client* added = client.get();
    clients_.push_back(std::move(client));
    return added;
}

bool Driver::wait_for(const std::function<bool()>& done, Millis timeout)
{
    return run_until(context(), done, timeout);
}

void Driver::pump(Millis duration)
{
    loop_for(context(), duration);
}

void Driver::drain(Millis quiet_for, Millis max)
{
    auto total = [this] {
        std::size_t n = 0;
        for (const auto& c : clients_)
            n += c->received().size();
        return n;
    };
    const auto hard_deadline = Clock::now() + max;
    for (;;) {
        const auto left = std::chrono::duration_cast<Millis>(hard_deadline - Clock::now());
        if (left <= Millis{0}) return;
        const std::size_t before = total();
        // Quiet for quiet_for (or out of time): done; anything new starts the wait again.
        if (!run_until(
                context(), [&] { return total() != before; }, std::min(quiet_for, left)))
            return;
    }
}

// ---------------------------------------------------------------------------- raw TLS

namespace {

// Waits for `events` on fd until `deadline`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

}  // namespace

Result<RawResult> send_raw_tls(const GuestDaemon& daemon, const std::vector<std::string>& records,
                               Millis wait, std::size_t expect_messages)
{
    auto made = client_tls(daemon);
    if (!made) return made.error();
    const tls::TlsContext tls = std::move(made).value();
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return make_error(kDomain, -errno, std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(daemon.port());
    if (::inet_pton(AF_INET, daemon.address().c_str(), &addr.sin_addr) != 1)
        return make_error(kDomain, -EINVAL, "bad daemon address " + daemon.address());
    auto deadline = Clock::now() + kConnectTimeout;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
        return make_error(kDomain, -errno, std::string("connect: ") + std::strerror(errno));
    if (!wait_fd(fd.get(), POLLOUT, deadline))
        return make_error(kDomain, -ETIMEDOUT, "raw connect timed out");
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0)
        return make_error(kDomain, -so_error, std::string("connect: ") + std::strerror(so_error));

    auto session = tls::TlsSession::create(tls, fd.get());
    if (!session) return session.error();
    for (;;) {
        auto step = (*session)->handshake_step();
        if (!step) return step.error();
        if (*step == tls::TlsSession::Progress::done) break;
        short events = *step == tls::TlsSession::Progress::want_read ? POLLIN : POLLOUT;
        if (!wait_fd(fd.get(), events, deadline))
            return make_error(kDomain, -ETIMEDOUT, "raw handshake timed out");
    }
    RawResult result;
    for (const std::string& record : records) {
        std::size_t offset = 0;
        while (offset < record.size()) {
            std::size_t chunk = std::min(record.size() - offset, tls::kMaxRecordSize);
            auto sent = (*session)->send_record(record.data() + offset, chunk);
            if (!sent) {  // the daemon already hung up
                result.outcome = RawOutcome::dropped;
                return result;
            }
            if (*sent == 0) {
                if (!wait_fd(fd.get(), POLLOUT, deadline))
                    return make_error(kDomain, -ETIMEDOUT, "raw send blocked");
                continue;
            }
            offset += *sent;
        }
    }
    wire::FrameDecoder decoder;
    auto until = Clock::now() + wait;
    char buffer[4096];
    for (;;) {
        auto got = (*session)->recv(buffer, sizeof buffer);
        if (!got || got->kind == tls::TlsSession::Received::Kind::closed) {
            result.outcome = RawOutcome::dropped;
            return result;
        }
        if (got->kind == tls::TlsSession::Received::Kind::data) {
            decoder.feed(buffer, got->size);
            for (auto next = decoder.next(); next && next->has_value(); next = decoder.next())
                result.messages.push_back(std::move(**next));
            if (expect_messages != 0 && result.messages.size() >= expect_messages) return result;
            continue;
        }
        if (!wait_fd(fd.get(), POLLIN, until)) return result;
    }
}

}  // namespace outpost::test::conformance
