// The Pacemaker Remote authentication key ("authkey", docs/protocol.md 1.2): the entire raw
// content of a file, found, read, cached, generated and written here. Key bytes live in
// Authkey, which wipes its memory; nothing here ever logs them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace outpost::tls {

// Real keys are 4096 bytes; anything much larger is a mistake (a wrong path, a log file).
inline constexpr std::size_t kMaxAuthkeySize = std::size_t{64} * 1024;
inline constexpr const char* kAuthkeyLocationEnv = "PCMK_authkey_location";
inline constexpr const char* kDefaultAuthkeyPath = "/etc/pacemaker/authkey";
inline constexpr const char* kLegacyAuthkeyPath = "/etc/corosync/authkey";
// How long a key that was read stays valid before the file is read again.
inline constexpr std::chrono::seconds kAuthkeyCacheLifetime{60};
// The size of the keys generate_authkey() makes: that of the key Pacemaker's documentation
// makes with dd.
inline constexpr std::size_t kAuthkeySize = 4096;
// The domain of write_authkey_file()'s errors when the file could not be created at all
// (the others are "authkey").
inline constexpr const char* kAuthkeyCreateDomain = "authkey.create";

// Key bytes. Copyable (TLS needs copies), wiped when destroyed; never printed.
class Authkey {
public:
    Authkey() = default;
    explicit Authkey(std::string_view bytes);
    Authkey(const Authkey& other) = default;
    Authkey(Authkey&& other) noexcept;
    Authkey& operator=(const Authkey& other);
    Authkey& operator=(Authkey&& other) noexcept;
    ~Authkey();

    [[nodiscard]] const std::uint8_t* data() const { return bytes_.data(); }
    // The bytes as text, for callers that hand keys around as strings (tests).
    [[nodiscard]] std::string_view view() const
    {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }
    [[nodiscard]] std::size_t size() const { return bytes_.size(); }
    [[nodiscard]] bool empty() const { return bytes_.empty(); }
    bool operator==(const Authkey& other) const { return bytes_ == other.bytes_; }

private:
    void wipe();
    std::vector<std::uint8_t> bytes_;
};

// Reads one key file (opened O_CLOEXEC). Errors (domain "authkey"), each naming the path:
//   -ENOENT  the file does not exist            -ENOKEY  the file is empty (0 bytes = no key)
//   -EFBIG   larger than max_size               -EINVAL  not a regular file
//   other negative errno: could not be opened or read (e.g. -EACCES)
Result<Authkey> read_authkey_file(const std::string& path, std::size_t max_size = kMaxAuthkeySize);

// Where to look for the key. from_environment() takes PCMK_authkey_location; the two fixed
// paths are fields so tests can point them at temporary files.
struct AuthkeySearch {
    std::optional<std::string> configured;  // PCMK_authkey_location, if set
    std::string default_path = kDefaultAuthkeyPath;
    std::string legacy_path = kLegacyAuthkeyPath;

    static AuthkeySearch from_environment();
};

struct FoundAuthkey {
    Authkey key;
    std::string path;  // the file the key came from
    // Earlier candidates that could not be used (e.g. an unreadable PCMK_authkey_location):
    // Pacemaker only warns about those; the caller decides whether to log them.
    std::vector<Error> skipped;
};

// Applies the 2.1.5 lookup order: PCMK_authkey_location, then /etc/pacemaker/authkey, then
// only if that failed /etc/corosync/authkey. If no candidate yields a key: Error -ENOKEY
// whose message lists every path tried and why it failed.
Result<FoundAuthkey> find_authkey(const AuthkeySearch& search, std::size_t max_size = kMaxAuthkeySize);

// `size` random bytes (getrandom) as a new key. Errors: domain "authkey", a negated errno.
Result<Authkey> generate_authkey(std::size_t size = kAuthkeySize);

struct AuthkeyFileOptions {
    mode_t mode = 0600;
    std::optional<gid_t> group;  // owner root, this group: only root can give a file away;
                                 // for anyone else a failed chown is no error
    bool replace = false;        // false: the file must not exist yet (-EEXIST)
};
// What write_authkey_file() made.
struct WrittenAuthkey {
    uid_t owner = 0;
    gid_t group = 0;
    mode_t mode = 0;
};
// Writes `key` to `path` with `options`: created exclusively (O_EXCL, O_NOFOLLOW,
// O_CLOEXEC), owner and mode set, synced. With `replace` the key goes to a sibling file
// that is then renamed over `path`, so no reader ever sees half a key. Errors name the step
// and the file, with the negated errno: domain kAuthkeyCreateDomain when the file could not
// be created (-EEXIST: it exists and replace is off), "authkey" for any later step.
Result<WrittenAuthkey> write_authkey_file(const std::string& path, const Authkey& key,
                                          const AuthkeyFileOptions& options = {});

// Process-wide key source with Pacemaker's 60 s cache, so a rotated key is noticed within a
// minute; its clock is injectable for tests. Thread-safe. A read failure is not cached (the
// next get() tries again) and an expired key is not used as a fallback: when the file
// disappears, new handshakes fail once the cache expires, as with Pacemaker.
class AuthkeyStore {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit AuthkeyStore(AuthkeySearch search = AuthkeySearch::from_environment(), Clock clock = {},
                          std::chrono::seconds lifetime = kAuthkeyCacheLifetime);

    // The cached key if it is younger than the lifetime, else a fresh find_authkey().
    Result<Authkey> get();
    // Forgets the cached key (the next get() reads the file).
    void invalidate();
    // Path of the file the cached key came from (empty if nothing cached).
    [[nodiscard]] std::string cached_path() const;

private:
    AuthkeySearch search_;
    Clock clock_;
    std::chrono::seconds lifetime_;
    mutable std::mutex mutex_;
    std::optional<Authkey> cached_;
    std::string cached_path_;
    std::chrono::steady_clock::time_point cached_at_{};
};

}  // namespace outpost::tls
