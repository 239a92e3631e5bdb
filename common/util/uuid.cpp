#include "util/uuid.hpp"

#include <glib.h>

namespace outpost {

std::string random_uuid()
{
    gchar* uuid = g_uuid_string_random();
    std::string id(uuid);
    g_free(uuid);
    return id;
}

}  // namespace outpost
