#include <catch.hpp>

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "tls/authkey.hpp"
#include "tls_test_support.hpp"

using namespace outpost;
using namespace outpost::tls;
using outpost::test::TempDir;
using outpost::test::write_file;

namespace {

std::string as_string(const Authkey& key)
{
    return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace

TEST_CASE("the authkey is the raw file content, byte for byte", "[authkey]")
{
    TempDir dir;
    const std::string bytes = outpost::test::random_bytes(4096) + std::string("\0\n", 2);
    dir.write("key", bytes);
    auto key = read_authkey_file(dir.file("key"));
    REQUIRE(key.ok());
    CHECK(key->size() == 4098);
    CHECK(as_string(*key) == bytes);  // trailing NUL and newline kept: no trimming

    dir.write("text", "secret\n");
    CHECK(as_string(*read_authkey_file(dir.file("text"))) == "secret\n");
}

TEST_CASE("missing, empty, oversized and non-regular key files give distinct errors", "[authkey]")
{
    TempDir dir;
    auto missing = read_authkey_file(dir.file("nope"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == -ENOENT);
    CHECK(missing.error().domain == "authkey");
    CHECK(missing.error().message.find("does not exist") != std::string::npos);
    CHECK(missing.error().message.find(dir.file("nope")) != std::string::npos);

    dir.write("empty", "");
    auto empty = read_authkey_file(dir.file("empty"));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == -ENOKEY);
    CHECK(empty.error().message.find("empty") != std::string::npos);

    dir.write("big", std::string(kMaxAuthkeySize + 1, 'x'));
    auto big = read_authkey_file(dir.file("big"));
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == -EFBIG);
    CHECK(big.error().message.find("too large") != std::string::npos);
    dir.write("max", std::string(kMaxAuthkeySize, 'x'));
    CHECK(read_authkey_file(dir.file("max")).ok());

    auto directory = read_authkey_file(dir.path().string());
    REQUIRE_FALSE(directory.ok());
    CHECK(directory.error().code == -EINVAL);
    CHECK(directory.error().message.find("not a regular file") != std::string::npos);

    // A FIFO must neither hang nor be read.
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    auto fifo = read_authkey_file(dir.file("fifo"));
    REQUIRE_FALSE(fifo.ok());
    CHECK(fifo.error().code == -EINVAL);

    CHECK(read_authkey_file("").error().code == -EINVAL);
}

TEST_CASE("an unreadable key file is reported with its errno", "[authkey]")
{
    if (::geteuid() == 0) {
        // Root reads mode-000 files; use a path through a non-directory instead (ENOTDIR).
        TempDir dir;
        dir.write("plain", "x");
        auto bad = read_authkey_file(dir.file("plain") + "/key");
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().code == -ENOTDIR);
        CHECK(bad.error().message.find("could not be opened") != std::string::npos);
        return;
    }
    TempDir dir;
    dir.write("key", "x");
    REQUIRE(::chmod(dir.file("key").c_str(), 0) == 0);
    auto bad = read_authkey_file(dir.file("key"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == -EACCES);
}

TEST_CASE("authkey lookup follows the 2.1.5 order", "[authkey]")
{
    TempDir dir;
    AuthkeySearch search;
    search.default_path = dir.file("pacemaker-authkey");
    search.legacy_path = dir.file("corosync-authkey");
    const std::string configured = dir.file("configured");

    SECTION("PCMK_authkey_location first")
    {
        REQUIRE(write_file(configured, "C").ok());
        REQUIRE(write_file(search.default_path, "D").ok());
        REQUIRE(write_file(search.legacy_path, "L").ok());
        search.configured = configured;
        auto found = find_authkey(search);
        REQUIRE(found.ok());
        CHECK(as_string(found->key) == "C");
        CHECK(found->path == configured);
        CHECK(found->skipped.empty());
    }
    SECTION("an unusable configured path falls back to the default, with a note")
    {
        REQUIRE(write_file(search.default_path, "D").ok());
        REQUIRE(write_file(search.legacy_path, "L").ok());
        search.configured = configured;  // missing
        auto found = find_authkey(search);
        REQUIRE(found.ok());
        CHECK(as_string(found->key) == "D");
        REQUIRE(found->skipped.size() == 1);
        CHECK(found->skipped[0].code == -ENOENT);
    }
    SECTION("the corosync key only when the default failed")
    {
        REQUIRE(write_file(search.legacy_path, "L").ok());
        auto found = find_authkey(search);
        REQUIRE(found.ok());
        CHECK(as_string(found->key) == "L");
        CHECK(found->path == search.legacy_path);

        REQUIRE(write_file(search.default_path, "").ok());  // empty counts as failed
        found = find_authkey(search);
        REQUIRE(found.ok());
        CHECK(as_string(found->key) == "L");

        REQUIRE(write_file(search.default_path, "D").ok());
        CHECK(as_string(find_authkey(search)->key) == "D");
    }
    SECTION("a configured default path is tried once, then the legacy path")
    {
        search.configured = search.default_path;
        REQUIRE(write_file(search.legacy_path, "L").ok());
        auto found = find_authkey(search);
        REQUIRE(found.ok());
        CHECK(as_string(found->key) == "L");
        CHECK(found->skipped.size() == 1);
    }
    SECTION("nothing usable: ENOKEY naming every path")
    {
        search.configured = configured;
        auto found = find_authkey(search);
        REQUIRE_FALSE(found.ok());
        CHECK(found.error().code == -ENOKEY);
        for (const auto& path : {configured, search.default_path, search.legacy_path})
            CHECK(found.error().message.find(path) != std::string::npos);
    }
}

TEST_CASE("AuthkeySearch reads PCMK_authkey_location", "[authkey]")
{
    ::setenv(kAuthkeyLocationEnv, "/some/where", 1);
    auto search = AuthkeySearch::from_environment();
    ::unsetenv(kAuthkeyLocationEnv);
    REQUIRE(search.configured.has_value());
    CHECK(*search.configured == "/some/where");
    CHECK(search.default_path == "/etc/pacemaker/authkey");
    CHECK(search.legacy_path == "/etc/corosync/authkey");
    CHECK_FALSE(AuthkeySearch::from_environment().configured.has_value());
}

TEST_CASE("AuthkeyStore caches the key for 60 s", "[authkey]")
{
    TempDir dir;
    AuthkeySearch search;
    search.configured = dir.file("key");
    search.default_path = dir.file("absent-default");
    search.legacy_path = dir.file("absent-legacy");
    auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    AuthkeyStore store(search, [&now] { return now; });

    auto first = store.get();
    REQUIRE_FALSE(first.ok());  // failures are not cached
    CHECK(first.error().code == -ENOKEY);

    dir.write("key", "one");
    REQUIRE(store.get().ok());
    CHECK(as_string(*store.get()) == "one");
    CHECK(store.cached_path() == dir.file("key"));

    dir.write("key", "two");  // rotation
    now += std::chrono::seconds(59);
    CHECK(as_string(*store.get()) == "one");
    now += std::chrono::seconds(1);
    CHECK(as_string(*store.get()) == "two");

    std::filesystem::remove(dir.file("key"));
    now += std::chrono::seconds(30);
    CHECK(as_string(*store.get()) == "two");
    now += std::chrono::seconds(30);
    auto gone = store.get();  // an expired key is not a fallback
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error().code == -ENOKEY);

    dir.write("key", "three");
    CHECK(as_string(*store.get()) == "three");
    dir.write("key", "four");
    store.invalidate();
    CHECK(as_string(*store.get()) == "four");
}

TEST_CASE("Authkey copies and moves keep the bytes", "[authkey]")
{
    Authkey a(std::string_view("abc"));
    Authkey b = a;
    CHECK(b == a);
    Authkey c = std::move(b);
    CHECK(c == a);
    CHECK(b.empty());  // NOLINT(bugprone-use-after-move): moved-from keys are empty
    b = c;
    CHECK(b == a);
}

TEST_CASE("generate_authkey and write_authkey_file make a new key file, replacing only when asked")
{
    TempDir dir;
    auto key = generate_authkey();
    REQUIRE(key.ok());
    CHECK(key->size() == kAuthkeySize);
    const std::string path = dir.file("authkey");

    auto written = write_authkey_file(path, *key);
    REQUIRE(written.ok());
    CHECK(written->mode == 0600);
    auto read = read_authkey_file(path);
    REQUIRE(read.ok());
    CHECK(*read == *key);

    auto other = generate_authkey(32);
    REQUIRE(other.ok());
    auto refused = write_authkey_file(path, *other);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == -EEXIST);
    CHECK(refused.error().domain == kAuthkeyCreateDomain);
    CHECK(*read_authkey_file(path) == *key);

    AuthkeyFileOptions replace;
    replace.replace = true;
    replace.mode = 0640;
    auto replaced = write_authkey_file(path, *other, replace);
    REQUIRE(replaced.ok());
    CHECK(replaced->mode == 0640);
    CHECK(*read_authkey_file(path) == *other);
    CHECK_FALSE(std::filesystem::exists(path + ".outpost-new"));

    auto nowhere = write_authkey_file(dir.file("no/such/dir/key"), *key);
    REQUIRE_FALSE(nowhere.ok());
    CHECK(nowhere.error().code == -ENOENT);
    CHECK(nowhere.error().domain == kAuthkeyCreateDomain);
}
