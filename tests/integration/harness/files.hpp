// Keys for integration tests: Authkey, a Pacemaker Remote key (4096 random bytes in a mode
// 0600 file, as `dd if=/dev/urandom bs=4096 count=1` would make it). Temporary directories
// and file reads and writes are tests/support's (support/files.hpp).
//
// Keys are generated at run time from getrandom(); nothing secret is kept in the tree.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "support/files.hpp"
#include "util/result.hpp"

namespace outpost::test {

inline constexpr std::size_t kAuthkeySize = 4096;

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

}  // namespace outpost::test
