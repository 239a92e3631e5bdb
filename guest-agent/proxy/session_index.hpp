// The local sessions of one kind, owned and found by their id or by their libqb
// connection: what the tool sessions and the local executor sessions both keep. A Session
// has the members `std::string id` and `ipc::ConnectionId connection`.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/server.hpp"

namespace outpost::agent::proxy {

template <typename Session>
class SessionIndex {
public:
    [[nodiscard]] Session* find(std::string_view id) const
    {
        auto it = by_id_.find(id);
        return it == by_id_.end() ? nullptr : it->second.get();
    }
    [[nodiscard]] Session* find(ipc::ConnectionId connection) const
    {
        auto it = by_connection_.find(connection);
        return it == by_connection_.end() ? nullptr : find(it->second);
    }
    [[nodiscard]] bool has(std::string_view id) const { return by_id_.count(id) != 0; }
    [[nodiscard]] bool owns(ipc::ConnectionId connection) const
    {
        return by_connection_.count(connection) != 0;
    }
    [[nodiscard]] std::size_t size() const { return by_id_.size(); }
    // Any one session (the one with the lowest id); nullptr if there is none.
    [[nodiscard]] Session* any() const { return by_id_.empty() ? nullptr : by_id_.begin()->second.get(); }

    void add(std::unique_ptr<Session> session)
    {
        by_connection_[session->connection] = session->id;
        std::string id = session->id;
        by_id_.emplace(std::move(id), std::move(session));
    }
    // Destroys the session: a reference to it is dangling afterwards.
    void erase(const Session& session)
    {
        const std::string id = session.id;
        by_connection_.erase(session.connection);
        by_id_.erase(id);
    }

    // The ids of the sessions `pick` selects (all of them by default), in id order.
    [[nodiscard]] std::vector<std::string> ids(const std::function<bool(const Session&)>& pick =
                                                   [](const Session&) { return true; }) const
    {
        std::vector<std::string> out;
        for (const auto& [id, session] : by_id_) {
            if (pick(*session)) out.push_back(id);
        }
        return out;
    }

private:
    std::map<std::string, std::unique_ptr<Session>, std::less<>> by_id_;
    std::map<ipc::ConnectionId, std::string> by_connection_;
};

}  // namespace outpost::agent::proxy
