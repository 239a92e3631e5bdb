// Prober: a second client that measures how long the daemon keeps it waiting while a test
// loads the daemon with something else (issue 16: agent-hostile, agent-large). It registers,
// then pokes and waits for the reply, every 10 ms, on its own GMainContext in its own
// thread, until stopped, and keeps the worst round trip. No Catch assertion runs on its
// thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "harness/guest_daemon.hpp"
#include "support/main_loop.hpp"
#include "support/raw_client.hpp"

namespace outpost::test {

class Prober {
public:
    explicit Prober(const GuestDaemon& daemon) : thread_([this, &daemon] { run(daemon); }) {}
    ~Prober() { stop(); }
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    void stop()
    {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] bool ready() const { return ready_; }
    // Waits until registered (true) or failed (false).
    bool wait_ready(std::chrono::milliseconds limit = std::chrono::seconds(15))
    {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (!ready_ && error().empty() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return ready_;
    }
    [[nodiscard]] std::size_t rounds() const { return rounds_; }
    // The worst round trip since the last reset, and the error that ended the probing.
    [[nodiscard]] double worst_ms()
    {
        const std::lock_guard lock(mutex_);
        return worst_ms_;
    }
    void reset_worst()
    {
        const std::lock_guard lock(mutex_);
        worst_ms_ = 0;
    }
    [[nodiscard]] std::string error()
    {
        const std::lock_guard lock(mutex_);
        return error_;
    }

private:
    void fail(std::string why)
    {
        const std::lock_guard lock(mutex_);
        error_ = std::move(why);
    }

    // Waits for the reply to `id`, skipping notifications.
    bool await_reply(RawClient& client, std::uint64_t id)
    {
        for (;;) {
            auto message = client.try_next(std::chrono::seconds(10));
            if (!message) {
                fail("no reply to poke " + std::to_string(id) + ": " + message.error().describe());
                return false;
            }
            if (const auto* reply = std::get_if<wire::Reply>(&*message);
                reply != nullptr && reply->msg_id == id)
                return true;
        }
    }

    void run(const GuestDaemon& daemon)
    {
        ContextPtr context(g_main_context_new());
        auto client = RawClient::connect(context.get(), daemon.address(), daemon.port(),
                                         psk_client(daemon.authkey().bytes()));
        if (!client) return fail("prober cannot connect: " + client.error().describe());
        auto hello = (*client)->try_send(make_register(0, "prober"));
        if (!hello || !await_reply(**client, *hello))
            return fail(error().empty() ? "register failed" : error());
        ready_ = true;
        while (!stop_) {
            const auto start = std::chrono::steady_clock::now();
            auto sent = (*client)->try_send(make_request("poke"));
            if (!sent) return fail("poke not sent: " + sent.error().describe());
            const bool answered = await_reply(**client, *sent);
            const double took =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            {
                const std::lock_guard lock(mutex_);
                worst_ms_ = std::max(worst_ms_, took);
            }
            if (!answered) return;  // a stalled agent: the wait counts as the round trip
            ++rounds_;
            // Let the loop breathe: other messages (notifications) are taken by try_next.
            const auto pause = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
            while (std::chrono::steady_clock::now() < pause)
                g_main_context_iteration(context.get(), FALSE);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<bool> ready_{false};
    std::atomic<std::size_t> rounds_{0};
    std::mutex mutex_;
    double worst_ms_ = 0;
    std::string error_;
    std::thread thread_;
};

}  // namespace outpost::test
