#include "executor/secrets.hpp"

#include <glib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace outpost::agent::executor::secrets {

namespace {

bool safe_component(std::string_view name)
{
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos;
}

// First line of a small file with trailing whitespace removed.
Result<std::string> first_line(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("executor", -errno, path + ": " + std::strerror(errno));
    std::string data(kMaxSecretFileSize + 1, '\0');
    in.read(data.data(), static_cast<std::streamsize>(data.size()));
    data.resize(static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxSecretFileSize) return make_error("executor", -EFBIG, path + ": file too large");
    auto eol = data.find('\n');
    if (eol != std::string::npos) data.resize(eol);
    while (!data.empty() && g_ascii_isspace(data.back()))
        data.pop_back();
    return data;
}

}  // namespace

bool has_secrets(const wire::ParamMap& params)
{
    for (const auto& [name, value] : params) {
        if (value == kMarker) return true;
    }
    return false;
}

Status load(const std::string& dir, std::string_view rsc_id,
            std::vector<std::pair<std::string, std::string>>& params)
{
    if (!safe_component(rsc_id))
        return make_error("executor", -EINVAL, "unusable resource id for CIB secrets");
    for (auto& [name, value] : params) {
        if (value != kMarker) continue;
        if (!safe_component(name)) {
            return make_error("executor", -EINVAL, "unusable parameter name for a CIB secret");
        }
        std::string base = dir;
        base.append("/").append(rsc_id).append("/").append(name);
        auto secret = first_line(base);
        if (!secret) return secret.error();
        if (secret->size() > kMaxSecretLength) secret->resize(kMaxSecretLength);
        auto sign = first_line(base + ".sign");
        if (!sign) return sign.error();
        std::unique_ptr<gchar, decltype(&g_free)> digest(
            g_compute_checksum_for_data(G_CHECKSUM_MD5, reinterpret_cast<const guchar*>(secret->data()),
                                        secret->size()),
            g_free);
        if (g_ascii_strcasecmp(digest.get(), sign->c_str()) != 0) {
            return make_error("executor", -EINVAL,
                              "CIB secret for parameter " + name + " does not match its checksum");
        }
        value = std::move(*secret);
    }
    return {};
}

}  // namespace outpost::agent::executor::secrets
