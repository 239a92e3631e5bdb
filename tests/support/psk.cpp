#include "support/psk.hpp"

#include <catch.hpp>

#include <utility>

namespace outpost::test {

std::string random_bytes(std::size_t size)
{
    auto key = tls::generate_authkey(size);
    INFO((key ? std::string() : key.error().describe()));
    REQUIRE(key.ok());
    return std::string(key->view());
}

tls::TlsContext psk_client(const std::string& key)
{
    auto tls = tls::TlsContext::psk_client(tls::Authkey(key));
    INFO((tls ? std::string() : tls.error().describe()));
    REQUIRE(tls.ok());
    return std::move(tls).value();
}

std::shared_ptr<tls::AuthkeyStore> key_store(const std::string& path)
{
    tls::AuthkeySearch search;
    search.configured = path;
    search.default_path = path + ".no-default";
    search.legacy_path = path + ".no-legacy";
    return std::make_shared<tls::AuthkeyStore>(search);
}

tls::TlsContext psk_server(const TempDir& dir, const std::string& key)
{
    auto tls = tls::TlsContext::psk_server(key_store(dir.write("authkey", key, 0600)));
    INFO((tls ? std::string() : tls.error().describe()));
    REQUIRE(tls.ok());
    return std::move(tls).value();
}

PskKey::PskKey(std::string bytes) : bytes_(std::move(bytes))
{
    dir_.write("authkey", bytes_, 0600);
}

}  // namespace outpost::test
