// A small synchronous client for the conformance suite: it speaks the Pacemaker Remote
// wire protocol to one GuestDaemon (the real pacemaker-remoted or outpost-agent) through
// the shared RawClient (tests/support) on a private GMainContext and records everything it
// receives, in order, with arrival times.
//
// Driver owns the GMainContext and the Clients connected through it; every wait pumps the
// context, so all clients of a scenario keep receiving while any one of them waits.
// Requests are built as elements (scenarios.hpp mirrors liblrmd's exact layout) or typed
// (wire::Request, encoded by the wire module). Client::send() adds the envelope (lrmd_remote_msg_id,
// lrmd_remote_msg_type) to a request element and remembers which op each msg id carried (the transcript needs
// it to recognise exec replies, whose lrmd_rc is a call id). send_xml() sends any text as one framed message
// (malformed XML included); send_raw_tls() below bypasses framing altogether. It is a test harness, not a
// product client: no reconnects, no late-reply bookkeeping.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/guest_daemon.hpp"
#include "support/main_loop.hpp"
#include "support/raw_client.hpp"
#include "util/result.hpp"
#include "wire/messages.hpp"
#include "wire/xml.hpp"

namespace outpost::test::conformance {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// How long a request waits for its reply (2.1.5 controllers give up after 10 s; a
// conforming daemon answers within milliseconds, so a short wait keeps failures quick).
inline constexpr Millis kReplyTimeout{3000};
inline constexpr Millis kConnectTimeout{5000};

struct Received {
    Clock::time_point at;
    std::string xml;                       // the payload as received ("" for a close event)
    std::optional<wire::Element> element;  // nullopt if the payload is not XML
    bool close_event = false;              // the daemon closed the connection

    // Attribute of the root element, "" if absent.
    [[nodiscard]] std::string attr(std::string_view name) const;
    [[nodiscard]] bool is_reply_to(std::uint64_t msg_id) const;
    [[nodiscard]] bool is_notify() const;
};

class Driver;

class Client {
public:
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client();

    [[nodiscard]] const std::string& label() const { return label_; }
    // Sends `request` with the next msg id; returns that id (0 if the send failed).
    std::uint64_t send(wire::Element request);
    // A typed request (wire/messages.hpp), encoded by the wire module; msg id as above.
    std::uint64_t send(const wire::Request& request);
    Result<wire::Element> request(const wire::Request& request, Millis timeout = kReplyTimeout);
    // One framed message carrying exactly `xml` (no envelope added).
    Status send_xml(std::string_view xml);
    // send() and wait for the reply with the same msg id.
    Result<wire::Element> request(wire::Element request, Millis timeout = kReplyTimeout);

    // The session token from the last register reply (used as lrmd_async_id).
    [[nodiscard]] const std::string& token() const { return token_; }
    [[nodiscard]] const std::vector<Received>& received() const { return received_; }
    [[nodiscard]] std::size_t count(const std::function<bool(const Received&)>& match) const;
    // The op sent with msg id `id` ("" if unknown).
    [[nodiscard]] std::string op_of(std::uint64_t id) const;
    [[nodiscard]] bool is_open() const { return raw_->connection().is_open() && !peer_closed_; }
    // Orderly close from our side (no close event is recorded).
    void close();

private:
    friend class Driver;
    Client(Driver& driver, std::string label, std::unique_ptr<RawClient> raw);
    void on_message(std::string xml);
    void on_close(const Error& reason);

    Driver& driver_;
    std::string label_;
    std::unique_ptr<RawClient> raw_;
    std::vector<Received> received_;
    std::map<std::uint64_t, std::string> sent_ops_;
    std::uint64_t next_msg_id_ = 1;
    std::string token_;
    bool peer_closed_ = false;
};

class Driver {
public:
    explicit Driver(const GuestDaemon& daemon);
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;
    ~Driver();

    // TLS-connects a new client (not registered). Owned by the Driver.
    Result<Client*> connect(std::string label, Millis timeout = kConnectTimeout);
    [[nodiscard]] const std::vector<std::unique_ptr<Client>>& clients() const { return clients_; }

    // Pumps the loop until done() is true (returns true) or the timeout passes (false).
    bool wait_for(const std::function<bool()>& done, Millis timeout);
    // Pumps until no client has received anything for `quiet_for` (at most `max`).
    void drain(Millis quiet_for, Millis max = Millis{5000});
    // Pumps for exactly `duration`.
    void pump(Millis duration);

    [[nodiscard]] GMainContext* context() const { return context_.get(); }
    [[nodiscard]] const GuestDaemon& daemon() const { return daemon_; }

private:
    const GuestDaemon& daemon_;
    ContextPtr context_ = new_context();
    std::vector<std::unique_ptr<Client>> clients_;
};

// What became of a raw TLS session after bytes were written into it (malformed input,
// unusual but valid framings).
enum class RawOutcome { dropped, still_open };
struct RawResult {
    RawOutcome outcome = RawOutcome::still_open;
    std::vector<std::string> messages;  // payloads the daemon sent back, decoded
};
// Connects with its own TLS session (no framing), writes each of `records` as one TLS
// record, then reads until the daemon closes the connection, `expect_messages` messages
// have arrived (0 = do not stop early), or `wait` has passed.
Result<RawResult> send_raw_tls(const GuestDaemon& daemon, const std::vector<std::string>& records,
                               Millis wait, std::size_t expect_messages = 0);

}  // namespace outpost::test::conformance
