#include "control/cib_edit.hpp"

#include <ctime>

#include "controller/cib_ops.hpp"

namespace outpost::cluster::control {

namespace {

std::string now_text()
{
    std::time_t now = std::time(nullptr);
    char buffer[64];
    std::tm tm{};
    (void)localtime_r(&now, &tm);
    (void)std::strftime(buffer, sizeof(buffer), "%a %b %e %H:%M:%S %Y", &tm);
    return buffer;
}

}  // namespace

Result<controller::XmlDoc> edit_cib(controller::CibStore& store, const std::function<void(xmlDoc*)>& edit,
                                    const std::string& client, const std::string& node,
                                    const std::string& user, controller::CibStore::Save save)
{
    controller::UpdateOrigin origin;
    origin.client_name = client;
    origin.node = node;
    origin.user = user;
    origin.time_text = now_text();
    controller::XmlDoc before;
    auto outcome = store.edit(edit, origin, &before, save);
    if (outcome.rc != controller::cib_rc::ok)
        return make_error("control", outcome.rc, "rc " + std::to_string(outcome.rc) + ": " + outcome.message);
    return before;
}

}  // namespace outpost::cluster::control
