// StateService: the local socket on which `outpost watch` answers domain-state queries
// (state_protocol.hpp) from ocf:outpost:guest's monitor. A stream socket on the GLib loop,
// non-blocking throughout: each client gets one answer and is closed; a client that sends
// more than one line's worth, or nothing within a second, is dropped, and at most
// kMaxClients are served at once, so a stuck or hostile client cannot hold the watcher.
#pragma once

#include <glib.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "io/source.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "watch/state_protocol.hpp"

namespace outpost::cluster::watch {

class StateService {
public:
    using Answerer = std::function<StateAnswer(const StateQuery&)>;
    static constexpr std::size_t kMaxClients = 64;
    static constexpr std::chrono::milliseconds kClientDeadline{1000};

    // Binds `path` (an existing socket file there is replaced; its directory is made 0755
    // if missing; the socket is 0600) and serves on `context`.
    static Result<std::unique_ptr<StateService>> start(GMainContext* context, const std::string& path,
                                                       Answerer answerer);
    StateService(const StateService&) = delete;
    StateService& operator=(const StateService&) = delete;
    ~StateService();  // closes every client and removes the socket file

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::size_t clients() const { return clients_.size(); }

private:
    struct Client {
        UniqueFd fd;
        std::string in;
        std::string out;
        io::FdWatch watch;
        io::Source deadline;
    };
    StateService(GMainContext* context, std::string path, UniqueFd listener, Answerer answerer);
    void accept_clients();
    void on_client(int id, GIOCondition cond);
    void drop(int id, const char* why);

    GMainContext* context_;
    std::string path_;
    UniqueFd listener_;
    Answerer answerer_;
    io::FdWatch accept_watch_;
    std::map<int, Client> clients_;  // by a running id
    int next_id_ = 0;
};

}  // namespace outpost::cluster::watch
