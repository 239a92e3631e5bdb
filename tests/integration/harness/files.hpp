// Temporary files for integration tests: TempDir (a private directory removed with all
// its contents on destruction) and Authkey (a Pacemaker Remote key: 4096 random bytes in a
// mode 0600 file, as `dd if=/dev/urandom bs=4096 count=1` would make it).
//
// Keys are generated at run time from getrandom(); nothing secret is kept in the tree.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace outpost::test {

inline constexpr std::size_t kAuthkeySize = 4096;

class TempDir {
public:
    // mkdtemp under $TMPDIR (default /tmp): "<prefix>.XXXXXX", mode 0700.
    static Result<TempDir> create(const std::string& prefix = "outpost-test");

    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    // Keeps the directory after the test (for post-mortems); prints where it is.
    void keep();

private:
    explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
    void remove();
    std::filesystem::path path_;
};

class Authkey {
public:
    // Writes a fresh random key to `file` (mode 0600; the file must not exist yet).
    static Result<Authkey> create(const std::filesystem::path& file, std::size_t size = kAuthkeySize);
    // The same in a private TempDir owned by the Authkey.
    static Result<Authkey> create_temporary(std::size_t size = kAuthkeySize);

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] const std::string& bytes() const { return bytes_; }

    // Lets daemons running as another user read it, as Pacemaker's own key is set up:
    // owner root, group `group` (default haclient), mode 0640; the directory gets o+x.
    Status share_with_group(const std::string& group = "haclient");

private:
    Authkey(std::filesystem::path path, std::string bytes, std::optional<TempDir> dir);
    std::filesystem::path path_;
    std::string bytes_;
    std::optional<TempDir> dir_;
};

// Whole file as a string; at most `limit` bytes (an Error if it is longer).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit = 64U << 20);
// The last `max_bytes` of a file ("" if it does not exist): for failure messages.
std::string file_tail(const std::filesystem::path& path, std::size_t max_bytes = 4000);
// Writes (replacing) a file with `mode`.
Status write_file(const std::filesystem::path& path, const std::string& content, mode_t mode = 0644);

}  // namespace outpost::test
