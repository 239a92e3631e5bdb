// Pre-shared keys for tests: random key bytes, the client context for a key (a daemon's,
// say), and PskKey, a key file in its own TempDir with the TLS contexts of both ends.
// The helpers that "fail the test" use Catch2's macros: call them on the test case's own
// thread only (Catch2's message stack is not thread-safe; a worker thread's INFO once
// corrupted it). Elsewhere use tls::TlsContext's factories and handle their errors.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "support/files.hpp"
#include "tls/authkey.hpp"
#include "tls/context.hpp"

namespace outpost::test {

// `size` random bytes (tls::generate_authkey); fails the test if there are none.
std::string random_bytes(std::size_t size = tls::kAuthkeySize);

// A PSK client context for `key`; fails the test if it cannot be made.
tls::TlsContext psk_client(const std::string& key);

// A key store that reads exactly `path`: the standard locations are pointed at files that
// do not exist, so no key of the machine's can stand in.
std::shared_ptr<tls::AuthkeyStore> key_store(const std::string& path);
// A PSK server context reading `key` from `dir`/authkey (written here); `dir` must outlive
// it, since the key is read at each handshake.
tls::TlsContext psk_server(const TempDir& dir, const std::string& key);

class PskKey {
public:
    // A new key file (mode 0600) holding `bytes`, random ones by default.
    explicit PskKey(std::string bytes = random_bytes(256));

    [[nodiscard]] const std::string& bytes() const { return bytes_; }
    [[nodiscard]] std::string path() const { return dir_.file("authkey"); }
    [[nodiscard]] const TempDir& dir() const { return dir_; }
    // The server reads the file through key_store(); the client holds the bytes.
    [[nodiscard]] tls::TlsContext server_tls() const { return psk_server(dir_, bytes_); }
    [[nodiscard]] tls::TlsContext client_tls() const { return psk_client(bytes_); }

private:
    TempDir dir_{"outpost-psk"};
    std::string bytes_;
};

}  // namespace outpost::test
