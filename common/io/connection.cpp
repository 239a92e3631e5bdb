#include "io/connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <utility>

#include "io/listener.hpp"
#include "util/guard.hpp"
#include "util/log.hpp"

namespace outpost::io {
namespace {

const log::Category log_cat{"io.connection"};
constexpr const char* kDomain = "io";

std::string errno_text(int err)
{
    return std::strerror(err < 0 ? -err : err);
}

std::string endpoint(const std::string& host, std::uint16_t port)
{
    // IPv6 literals get brackets so the port stays readable.
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

struct AddrinfoDeleter {
    void operator()(addrinfo* list) const { freeaddrinfo(list); }
};
using AddrinfoList = std::unique_ptr<addrinfo, AddrinfoDeleter>;

// getaddrinfo for a TCP connection. With numeric_only it never touches DNS or files, so it
// may run on the loop; otherwise it may block and must run on the lookup pool (below).
Result<std::vector<PendingConnection::Address>> resolve(const std::string& host, std::uint16_t port,
                                                        bool numeric_only)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
    // "[::1]" is how people write IPv6 literals next to ports; getaddrinfo wants it bare.
    std::string name = host;
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    const std::string service = std::to_string(port);
    addrinfo* raw = nullptr;
    const int rc = getaddrinfo(name.c_str(), service.c_str(), &hints, &raw);
    if (rc != 0) {
        std::string cause = rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc);
        return make_error(kDomain, -EADDRNOTAVAIL, "cannot resolve " + log::quote(host) + ": " + cause);
    }
    AddrinfoList list(raw);
    std::vector<PendingConnection::Address> addresses;
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        PendingConnection::Address address;
        std::memcpy(&address.storage, ai->ai_addr, ai->ai_addrlen);
        address.length = ai->ai_addrlen;
        addresses.push_back(address);
    }
    if (addresses.empty()) {
        return make_error(kDomain, -EADDRNOTAVAIL, "no IPv4 or IPv6 address for " + log::quote(host));
    }
    return addresses;
}

bool is_numeric_host(const std::string& host)
{
    if (host.empty()) return false;
    return resolve(host, 0, true).ok();
}

// A one-shot idle callback attached from another thread. g_main_context_invoke() is not
// used on purpose: when nobody owns the context at that moment it would run the callback
// on the calling (lookup pool) thread.
void post_to_context(GMainContext* context, std::function<void()> callback)
{
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            guarded(log_cat, "a name lookup's completion",
                    [data] { (*static_cast<std::function<void()>*>(data))(); });
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(callback)),
        [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, context);
    g_source_unref(source);
}

// Name lookups can block for seconds (DNS), so they never run on a loop. They share one
// small pool of worker threads for the whole process instead of a thread per connection:
// a controller reconnecting to dozens of guests at once queues its lookups there.
constexpr gint kMaxResolverThreads = 2;

struct LookupJob {
    std::string host;
    std::uint16_t port = 0;
    GMainContext* target = nullptr;  // a reference, dropped once the result is posted
    std::function<void(Result<std::vector<PendingConnection::Address>>)> done;
};

void run_lookup(gpointer data, gpointer /*pool_data*/)
{
    std::unique_ptr<LookupJob> job(static_cast<LookupJob*>(data));
    auto addresses = resolve(job->host, job->port, false);
    post_to_context(job->target, [done = std::move(job->done), addresses = std::move(addresses)]() mutable {
        done(std::move(addresses));
    });
    g_main_context_unref(job->target);
}

// The process-wide lookup pool, made on first use (a function-local static: thread-safe).
GThreadPool* lookup_pool(GError** error)
{
    static GThreadPool* pool = g_thread_pool_new(run_lookup, nullptr, kMaxResolverThreads, FALSE, error);
    return pool;
}

// Queues a lookup of `host`; `done` runs later on `context`'s loop. An Error if the pool
// cannot take it (no thread could be made).
Status queue_lookup(GMainContext* context, const std::string& host, std::uint16_t port,
                    std::function<void(Result<std::vector<PendingConnection::Address>>)> done)
{
    GError* error = nullptr;
    GThreadPool* pool = lookup_pool(&error);
    auto job = std::make_unique<LookupJob>();
    job->host = host;
    job->port = port;
    job->target = g_main_context_ref(context != nullptr ? context : g_main_context_default());
    job->done = std::move(done);
    if (pool != nullptr && g_thread_pool_push(pool, job.get(), &error) != FALSE) {
        (void)job.release();  // run_lookup owns it now
        return {};
    }
    std::string why = error != nullptr ? error->message : "no lookup pool";
    if (error != nullptr) g_error_free(error);
    g_main_context_unref(job->target);
    return make_error(kDomain, -EAGAIN, "cannot queue the lookup of " + log::quote(host) + ": " + why);
}

// Every message is two or more TLS records written back to back (protocol.md 2.3), and
// the handshake is a few small flights. With Nagle's algorithm the second record waits
// for the peer's ACK of the first; a Linux peer delays that ACK (at least 40 ms) because
// it has nothing to answer until the whole message is there. Measured: 88 ms per exec
// round trip (request and reply each stalled once) against both daemons, the same
// figure testenv.md records for Pacemaker's own client. TCP_NODELAY removes our side of
// it (each record is complete when written, nothing is gained by holding it back).
void set_no_delay(int fd)
{
    int on = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
        log_debug(log_cat, "TCP_NODELAY: %s", std::strerror(errno));  // not TCP (tests use socketpairs)
    }
}

// The other side of it: a Pacemaker 2.1.5 peer keeps Nagle on, so its second record
// waits for our ACK of the first. TCP_QUICKACK sends a pending ACK at once and leaves
// delayed-ACK mode, which the kernel re-enters on its own, hence re-armed after each read.
void ack_now(int fd)
{
    int on = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Connection

Connection::Connection(GMainContext* context, UniqueFd fd, std::unique_ptr<tls::TlsSession> session,
                       std::string peer_address, const ConnectionLimits& limits, bool low_latency_tcp)
    : context_(context),
      fd_(std::move(fd)),
      session_(std::move(session)),
      peer_address_(std::move(peer_address)),
      limits_(limits),
      low_latency_tcp_(low_latency_tcp),
      decoder_(limits.max_message_size)
{
}

Connection::~Connection()
{
    lifetime_.end();
    // Only an allocation failure can escape close(); the socket is closed by its owner anyway.
    guarded(log_cat, "closing a connection", [this] { close(); });
}

void Connection::start(MessageHandler on_message, CloseHandler on_close)
{
    if (started_) return;
    started_ = true;
    on_message_ = std::move(on_message);
    on_close_ = std::move(on_close);
    if (closed_) {
        if (failure_ && !close_reported_) {
            report_ = add_idle(context_, [this] { report_failure(); });
        }
        return;
    }
    update_events();
    // The handshake may have pulled application data into GnuTLS already; the socket
    // will not signal it, so look once right away.
    resume_ = add_idle(context_, [this] { (void)read_available(); });
}

Status Connection::send(std::string_view xml)
{
    if (closed_) {
        return make_error(kDomain, -ENOTCONN, "cannot send to " + peer_address_ + ": connection is closed");
    }
    if (xml.find('\0') != std::string_view::npos) {
        return make_error(kDomain, -EINVAL,
                          "cannot send to " + peer_address_ + ": message text contains a NUL byte");
    }
    const std::size_t size = wire::kHeaderSize + xml.size() + 1;
    if (size > limits_.max_message_size || size > UINT32_MAX) {
        return make_error(kDomain, -EMSGSIZE,
                          "cannot send to " + peer_address_ + ": message of " + std::to_string(size) +
                              " bytes exceeds the limit of " + std::to_string(limits_.max_message_size));
    }
    if (queued_bytes_ + size > limits_.max_queued_bytes) {
        return make_error(kDomain, -ENOBUFS,
                          "cannot send to " + peer_address_ + ": " + std::to_string(queued_bytes_) +
                              " bytes already queued (limit " + std::to_string(limits_.max_queued_bytes) +
                              ")");
    }
    queue_.push_back(Outgoing{wire::encode_frame(xml)});
    queued_bytes_ += size;
    if (Status flushed = flush(); !flushed) {
        fail_later(flushed.error());
        return {};
    }
    update_events();
    return {};
}

Status Connection::flush()
{
    while (!queue_.empty()) {
        Outgoing& out = queue_.front();
        if (!out.header_sent) {
            // The header travels alone in its record (protocol.md 2.3).
            auto sent = session_->send_record(out.frame.header.data(), out.frame.header.size());
            if (!sent) return sent.error();
            if (*sent == 0) return {};
            if (*sent != out.frame.header.size()) {
                // Only a record size limit below 40 bytes could split it, and TLS forbids
                // limits below 64; a peer claiming one is broken.
                return make_error(
                    kDomain, -EPROTO,
                    "peer " + peer_address_ + " accepts TLS records too small for a frame header");
            }
            out.header_sent = true;
        }
        const std::string& payload = out.frame.payload;
        while (out.payload_sent < payload.size()) {
            // Same offset after a would-block, hence the same bytes: what GnuTLS requires.
            const std::size_t chunk = std::min(tls::kMaxRecordSize, payload.size() - out.payload_sent);
            auto sent = session_->send_record(payload.data() + out.payload_sent, chunk);
            if (!sent) return sent.error();
            if (*sent == 0) return {};
            out.payload_sent += *sent;
        }
        queued_bytes_ -= wire::kHeaderSize + payload.size();
        queue_.pop_front();
    }
    return {};
}

void Connection::update_events()
{
    if (closed_ || !fd_) {
        watch_.reset();
        return;
    }
    unsigned events = 0;
    if (started_) events |= G_IO_IN;
    if (!queue_.empty() || (session_ && session_->send_blocked()) || read_wants_write_) events |= G_IO_OUT;
    // Before start() a hang-up would be reported on every iteration with nobody to read
    // it; stop watching until start() (or until there is something to send).
    if (!started_ && hup_seen_ && (events & G_IO_OUT) == 0) events = 0;
    if (events == 0) {
        // G_IO_HUP and G_IO_ERR are reported even for an empty mask: no watch at all.
        if (!started_)
            watch_.reset();
        else
            watch_.set_events(GIOCondition(0));
        return;
    }
    if (!watch_.active()) {
        watch_ = FdWatch(context_, fd_.get(), GIOCondition(events),
                         [this](GIOCondition happened) { on_io(happened); });
    } else {
        watch_.set_events(GIOCondition(events));
    }
}

void Connection::on_io(GIOCondition happened)
{
    const Lifetime::Watch alive = lifetime_.watch();
    if (closed_) return;
    if ((happened & (G_IO_HUP | G_IO_ERR)) != 0 && !started_) hup_seen_ = true;
    if ((happened & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) != 0 && (!queue_.empty() || session_->send_blocked())) {
        if (Status flushed = flush(); !flushed) {
            fail(flushed.error());
            return;
        }
    }
    const bool readable = (happened & (G_IO_IN | G_IO_HUP | G_IO_ERR)) != 0;
    const bool read_unblocked = read_wants_write_ && (happened & G_IO_OUT) != 0;
    if (started_ && (readable || read_unblocked)) {
        if (!read_available()) return;
    }
    if (alive && !closed_) update_events();
}

bool Connection::read_available()
{
    if (closed_ || !started_) return !closed_;
    std::array<char, tls::kMaxRecordSize> buffer;
    std::size_t total = 0;
    read_wants_write_ = false;
    for (;;) {
        if (total >= limits_.read_budget_per_wakeup && total > 0) {
            // Yield to the rest of the loop; data may wait inside GnuTLS where the socket
            // would not wake us, so come back on our own.
            // Always a new idle: when this runs from the previous one, that one is still
            // "active" until its dispatch returns, and then gone.
            log_trace(log_cat, "read %zu bytes from %s, yielding", total, peer_address_.c_str());
            resume_ = add_idle(context_, [this] { (void)read_available(); });
            return true;
        }
        auto received = session_->recv(buffer.data(), buffer.size());
        if (!received) {
            std::string message = "receiving from " + peer_address_ + ": " + received.error().message;
            // As for a clean close below: a peer that died mid-message is worth telling apart.
            if (decoder_.buffered() > 0) message += " (in the middle of a message)";
            fail(make_error(received.error().domain, received.error().code, message));
            return false;
        }
        switch (received->kind) {
            case tls::TlsSession::Received::Kind::data:
                decoder_.feed(buffer.data(), received->size);
                total += received->size;
                if (!deliver_messages()) return false;
                break;
            case tls::TlsSession::Received::Kind::closed: {
                std::string message = "peer " + peer_address_ + " closed the connection";
                if (decoder_.buffered() > 0) message += " in the middle of a message";
                fail(make_error(kDomain, -ENOTCONN, message));
                return false;
            }
            case tls::TlsSession::Received::Kind::would_block:
                if (low_latency_tcp_ && total > 0) ack_now(fd_.get());
                read_wants_write_ = session_->wants_write();
                update_events();
                return true;
        }
    }
}

bool Connection::deliver_messages()
{
    const Lifetime::Watch alive = lifetime_.watch();
    // A copy: the handler may destroy this Connection, and with it on_message_.
    MessageHandler handler = on_message_;
    while (!closed_) {
        auto next = decoder_.next();
        if (!next) {
            fail(make_error(next.error().domain, next.error().code,
                            "bad message from " + peer_address_ + ": " + next.error().message));
            return false;
        }
        if (!next->has_value()) return true;
        if (handler) handler(std::move(**next));
        if (!alive) return false;
    }
    return false;
}

void Connection::fail(Error reason)
{
    if (failure_ || close_reported_) return;
    log_debug(log_cat, "connection with %s failed: %s", peer_address_.c_str(), reason.describe().c_str());
    closed_ = true;
    release_socket();
    failure_ = std::move(reason);
    if (!started_) return;  // start() reports it
    report_failure();
}

void Connection::fail_later(Error reason)
{
    if (failure_ || close_reported_) return;
    log_debug(log_cat, "connection with %s failed: %s", peer_address_.c_str(), reason.describe().c_str());
    closed_ = true;
    release_socket();
    failure_ = std::move(reason);
    if (started_) report_ = add_idle(context_, [this] { report_failure(); });
}

void Connection::report_failure()
{
    if (close_reported_ || !failure_) return;
    close_reported_ = true;
    // Local copies: the handler may destroy this Connection.
    CloseHandler handler = std::move(on_close_);
    on_message_ = nullptr;
    Error reason = *failure_;
    if (handler) handler(reason);
}

void Connection::release_socket()
{
    watch_.reset();
    resume_.reset();
    session_.reset();
    fd_.reset();
    queue_.clear();
    queued_bytes_ = 0;
}

void Connection::close()
{
    report_.reset();
    close_reported_ = true;
    if (closed_) return;
    closed_ = true;
    if (session_) {
        // Best effort, never waiting: what the socket takes now, then close_notify.
        Status flushed = flush();
        if (flushed && !session_->send_blocked()) (void)session_->bye();
    }
    log_debug(log_cat, "closing connection with %s", peer_address_.c_str());
    release_socket();
    on_message_ = nullptr;
    on_close_ = nullptr;
}

std::string Connection::tls_description() const
{
    return session_ ? session_->description() : std::string();
}

// ---------------------------------------------------------------------------------------------
// PendingConnection

const char* phase_domain(ConnectPhase phase)
{
    switch (phase) {
        case ConnectPhase::resolve:
            return kResolveDomain;
        case ConnectPhase::connect:
            return kConnectDomain;
        case ConnectPhase::handshake:
            return kHandshakeDomain;
    }
    return kDomain;
}

std::optional<ConnectPhase> failed_phase(const Error& error)
{
    for (ConnectPhase phase : {ConnectPhase::resolve, ConnectPhase::connect, ConnectPhase::handshake}) {
        if (error.domain == phase_domain(phase)) return phase;
    }
    return std::nullopt;
}

std::unique_ptr<PendingConnection> Connection::accept_async(UniqueFd fd, std::string peer_address,
                                                            const tls::TlsContext& tls, GMainContext* context,
                                                            AcceptOptions options, ReadyCallback on_ready)
{
    std::unique_ptr<PendingConnection> pending(new PendingConnection(tls));
    pending->context_ = context;
    pending->fd_ = std::move(fd);
    pending->peer_address_ = std::move(peer_address);
    pending->host_ = pending->peer_address_;
    pending->limits_ = options.limits;
    pending->low_latency_tcp_ = options.low_latency_tcp;
    pending->handshake_timeout_ = options.handshake_timeout;
    pending->on_ready_ = std::move(on_ready);
    pending->start_handshake();
    return pending;
}

std::unique_ptr<PendingConnection> Connection::connect_async(std::string host, std::uint16_t port,
                                                             const tls::TlsContext& tls,
                                                             GMainContext* context, ConnectOptions options,
                                                             ReadyCallback on_ready)
{
    std::unique_ptr<PendingConnection> pending(new PendingConnection(tls));
    PendingConnection* self = pending.get();
    self->context_ = context;
    self->host_ = std::move(host);
    self->port_ = port;
    self->limits_ = options.limits;
    self->low_latency_tcp_ = options.low_latency_tcp;
    self->connect_timeout_ = options.connect_timeout;
    self->handshake_timeout_ = options.handshake_timeout;
    self->on_ready_ = std::move(on_ready);

    if (self->host_.empty() || is_numeric_host(self->host_)) {
        // No name service involved: resolve now, start connecting from the loop (the
        // callback must never run inside this call).
        auto addresses = self->host_.empty()
                             ? Result<std::vector<PendingConnection::Address>>(make_error(
                                   kDomain, -EADDRNOTAVAIL, "no host name or address to connect to"))
                             : resolve(self->host_, port, true);
        self->kick_ = add_idle(context, [self, addresses = std::move(addresses)]() mutable {
            self->on_resolved(std::move(addresses));
        });
        return pending;
    }

    // A name: looked up on the shared lookup pool. The result comes back through the
    // context and is dropped there if the PendingConnection was destroyed meanwhile.
    const Lifetime::Watch alive = self->lifetime_.watch();
    log_debug(log_cat, "resolving %s on the lookup pool", log::quote(self->host_).c_str());
    Status queued = queue_lookup(context, self->host_, port, [alive, self](auto addresses) {
        if (alive) self->on_resolved(std::move(addresses));
    });
    if (!queued) {
        self->kick_ = add_idle(context, [self, error = queued.error()] { self->finish(error); });
    }
    return pending;
}

PendingConnection::~PendingConnection()
{
    lifetime_.end();
    watch_.reset();
    timer_.reset();
    kick_.reset();
    session_.reset();
}

std::string PendingConnection::describe() const
{
    if (phase_ == ConnectPhase::handshake) return "TLS handshake with " + peer_address_;
    return "connecting to " + endpoint(host_, port_);
}

void PendingConnection::on_resolved(Result<std::vector<Address>> addresses)
{
    if (finished_) return;
    if (!addresses) {
        finish(addresses.error());
        return;
    }
    addresses_ = std::move(addresses).value();
    next_address_ = 0;
    phase_ = ConnectPhase::connect;
    try_next_address();
}

void PendingConnection::try_next_address()
{
    while (next_address_ < addresses_.size()) {
        const Address& address = addresses_[next_address_++];
        const auto* sa = reinterpret_cast<const sockaddr*>(&address.storage);
        peer_address_ = numeric_address(sa, address.length);
        const std::string where = endpoint(peer_address_, port_);
        UniqueFd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) {
            const int err = errno;
            last_error_ =
                make_error(kDomain, -err, "cannot create a socket for " + where + ": " + errno_text(err));
            continue;
        }
        int rc;
        do {
            rc = ::connect(fd.get(), sa, address.length);
        } while (rc != 0 && errno == EINTR);
        if (rc == 0) {
            fd_ = std::move(fd);
            start_handshake();
            return;
        }
        const int err = errno;
        if (err != EINPROGRESS) {
            last_error_ = make_error(kDomain, -err, "connecting to " + where + ": " + errno_text(err));
            log_debug(log_cat, "%s", last_error_->message.c_str());
            continue;
        }
        fd_ = std::move(fd);
        log_debug(log_cat, "connecting to %s", where.c_str());
        watch_ = FdWatch(context_, fd_.get(), G_IO_OUT, [this](GIOCondition) { on_connect_ready(); });
        timer_ = add_timeout(context_, connect_timeout_, [this, where] {
            attempt_failed(make_error(kDomain, -ETIMEDOUT,
                                      "connecting to " + where + ": no answer within " +
                                          std::to_string(connect_timeout_.count()) + " ms"));
        });
        return;
    }
    if (last_error_) {
        Error error = *last_error_;
        if (addresses_.size() > 1) {
            error.message +=
                " (tried " + std::to_string(addresses_.size()) + " addresses of " + log::quote(host_) + ")";
        }
        finish(error);
    } else {
        finish(make_error(kDomain, -EADDRNOTAVAIL, "no address to connect to for " + log::quote(host_)));
    }
}

void PendingConnection::on_connect_ready()
{
    int err = 0;
    socklen_t length = sizeof(err);
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &length) != 0) err = errno;
    if (err == EINPROGRESS) return;  // spurious wake-up
    if (err != 0) {
        attempt_failed(make_error(
            kDomain, -err, "connecting to " + endpoint(peer_address_, port_) + ": " + errno_text(err)));
        return;
    }
    watch_.reset();
    timer_.reset();
    start_handshake();
}

void PendingConnection::attempt_failed(Error error)
{
    log_debug(log_cat, "%s", error.message.c_str());
    last_error_ = std::move(error);
    watch_.reset();
    timer_.reset();
    session_.reset();
    fd_.reset();
    try_next_address();
}

void PendingConnection::start_handshake()
{
    phase_ = ConnectPhase::handshake;
    if (low_latency_tcp_) set_no_delay(fd_.get());
    auto session = tls::TlsSession::create(tls_, fd_.get());
    if (!session) {
        const Error& error = session.error();
        kick_ = add_idle(context_, [this, error] { finish(error); });
        return;
    }
    session_ = std::move(session).value();
    timer_ = add_timeout(context_, handshake_timeout_, [this] {
        const bool server = tls_.role() == tls::Role::server;
        Error error = make_error(kDomain, -ETIMEDOUT,
                                 "TLS handshake with " + peer_address_ + " not finished within " +
                                     std::to_string(handshake_timeout_.count()) + " ms");
        if (server) log_debug(log_cat, "dropping client: %s", error.message.c_str());
        finish(error);
    });
    watch_ = FdWatch(context_, fd_.get(), G_IO_IN, [this](GIOCondition) { handshake_step(); });
    // The client speaks first; a server just waits for the ClientHello. Either way the
    // first step runs from the loop, never inside accept_async()/connect_async().
    kick_ = add_idle(context_, [this] { handshake_step(); });
}

void PendingConnection::handshake_step()
{
    if (finished_ || !session_) return;
    auto progress = session_->handshake_step();
    // A 2.1.5 client's first request otherwise waits for our delayed ACK of its Finished.
    if (low_latency_tcp_ && fd_) ack_now(fd_.get());
    if (!progress) {
        Error error = progress.error();
        error.message = "TLS handshake with " + peer_address_ + ": " + error.message;
        finish(error);
        return;
    }
    switch (*progress) {
        case tls::TlsSession::Progress::done: {
            log_debug(log_cat, "TLS session with %s established: %s", peer_address_.c_str(),
                      session_->description().c_str());
            std::unique_ptr<Connection> connection(new Connection(
                context_, std::move(fd_), std::move(session_), peer_address_, limits_, low_latency_tcp_));
            finish(std::move(connection));
            return;
        }
        case tls::TlsSession::Progress::want_read:
            watch_.set_events(G_IO_IN);
            return;
        case tls::TlsSession::Progress::want_write:
            watch_.set_events(G_IO_OUT);
            return;
    }
}

void PendingConnection::finish(Result<std::unique_ptr<Connection>> result)
{
    if (finished_) return;
    finished_ = true;
    watch_.reset();
    timer_.reset();
    kick_.reset();
    session_.reset();
    fd_.reset();
    // The domain says which step failed (the code alone cannot: both a TCP connect and a
    // TLS handshake time out with -ETIMEDOUT).
    if (!result.ok()) {
        Error error = result.error();
        error.domain = phase_domain(phase_);
        result = std::move(error);
    }
    // A local copy: the callback may destroy this PendingConnection.
    Connection::ReadyCallback callback = std::move(on_ready_);
    if (callback) callback(std::move(result));
}

}  // namespace outpost::io
