// Files for tests: TempDir, the one temporary-directory class (a private directory removed
// with everything in it when the object goes), and whole-file reads and writes that say
// what went wrong.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <shared_mutex>
#include <string>

#include "util/result.hpp"

namespace outpost::test {

class TempDir {
public:
    // mkdtemp under $TMPDIR (default /tmp): "<prefix>.XXXXXX", mode 0700.
    static Result<TempDir> create(const std::string& prefix = "outpost-test");
    // The same for a test that cannot go on without it: throws std::runtime_error.
    explicit TempDir(const std::string& prefix = "outpost-test");

    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    // The path of `name` in the directory, as a string.
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
    // Writes `content` byte for byte to `name` (directories on the way are made) with
    // `mode`, and returns its path; throws std::runtime_error if it cannot.
    std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) const;
    // Keeps the directory after the test (for post-mortems); prints where it is.
    void keep();

private:
    explicit TempDir(std::filesystem::path path, int /*tag*/) : path_(std::move(path)) {}
    void remove();
    std::filesystem::path path_;
};

// Whole file as a string; at most `limit` bytes (an Error if it is longer).
Result<std::string> read_file(const std::filesystem::path& path, std::size_t limit = 64U << 20);
// A small file's text without its trailing newlines ("" if it cannot be read): cgroupfs
// and /proc values.
std::string read_value(const std::filesystem::path& path);
// The last `max_bytes` of a file ("" if it does not exist): for failure messages.
std::string file_tail(const std::filesystem::path& path, std::size_t max_bytes = 4000);
// A file's modification time in epoch seconds with its fraction; 0 if it does not exist.
double mtime_epoch(const std::filesystem::path& path);
// In a log of "TIME WHAT NAME" lines (fence_outpost_test's fence.log: `date +%s.%N`, the
// action, the target), the TIME of the first `what` for `name`.
std::optional<double> first_logged(const std::filesystem::path& log, const std::string& what,
                                   const std::string& name);
// Writes (replacing) a file with `mode`; the directories on the way are made. The file is
// open for writing only under fork_lock() held exclusively.
Status write_file(const std::filesystem::path& path, const std::string& content, mode_t mode = 0644);

// A child forked while another thread has a file open for writing keeps that descriptor
// until its exec, and executing the file meanwhile fails with ETXTBSY ("Text file busy"):
// seen when a test wrote an agent script while a concurrent scenario started a daemon.
// write_file() holds this lock exclusively while its descriptor is open; the harness's
// spawn holds it shared from fork until the child has exec'd.
std::shared_mutex& fork_lock();

}  // namespace outpost::test
