// Helpers shared by the tls and io unit tests: random keys, and certificates generated at
// run time with certtool (package gnutls-bin), in a TempDir (support/files.hpp).
#pragma once

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "support/files.hpp"
#include "support/psk.hpp"

namespace outpost::test {

inline void run_or_throw(const std::string& command)
{
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
        throw std::runtime_error("command failed: " + command);
    }
}

// A CA plus certificates it signed, as PEM files in `dir`.
struct CertificateSet {
    std::string ca_cert, ca_key;
    std::string server_cert, server_key;
    std::string client_cert, client_key;
};

inline std::string make_ca(const TempDir& dir, const std::string& name)
{
    const std::string key = dir.file(name + "-key.pem");
    const std::string cert = dir.file(name + ".pem");
    const std::string tmpl = dir.file(name + ".tmpl");
    dir.write(name + ".tmpl",
              "cn = \"" + name + "\"\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 365\n");
    run_or_throw("certtool --generate-privkey --key-type=ecdsa --outfile " + key);
    run_or_throw("certtool --generate-self-signed --load-privkey " + key + " --template " + tmpl +
                 " --outfile " + cert);
    return name;
}

// Signs a new leaf certificate with CA `ca` (made by make_ca in the same dir).
inline void make_leaf(const TempDir& dir, const std::string& ca, const std::string& name, bool server,
                      int expiration_days = 365)
{
    const std::string key = dir.file(name + "-key.pem");
    const std::string tmpl = dir.file(name + ".tmpl");
    dir.write(name + ".tmpl",
              "cn = \"" + name + "\"\n" + (server ? "tls_www_server\n" : "tls_www_client\n") +
                  "signing_key\nencryption_key\nexpiration_days = " + std::to_string(expiration_days) + "\n");
    run_or_throw("certtool --generate-privkey --key-type=ecdsa --outfile " + key);
    run_or_throw("certtool --generate-certificate --load-privkey " + key + " --load-ca-certificate " +
                 dir.file(ca + ".pem") + " --load-ca-privkey " + dir.file(ca + "-key.pem") + " --template " +
                 tmpl + " --outfile " + dir.file(name + ".pem"));
}

inline CertificateSet make_certificates(const TempDir& dir, const std::string& prefix = "t")
{
    const std::string ca = make_ca(dir, prefix + "-ca");
    make_leaf(dir, ca, prefix + "-server", true);
    make_leaf(dir, ca, prefix + "-client", false);
    return CertificateSet{dir.file(ca + ".pem"),
                          dir.file(ca + "-key.pem"),
                          dir.file(prefix + "-server.pem"),
                          dir.file(prefix + "-server-key.pem"),
                          dir.file(prefix + "-client.pem"),
                          dir.file(prefix + "-client-key.pem")};
}

}  // namespace outpost::test
