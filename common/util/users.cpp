#include "util/users.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace outpost::users {
namespace {

// Buffers start at sysconf's hint (or this) and double on ERANGE up to the limit.
constexpr std::size_t kBufferSize = 16384;
constexpr std::size_t kMaxBufferSize = std::size_t{1} << 20;
// Groups asked for first; getgrouplist says how many there are when that is too few.
constexpr int kGroupsFirstTry = 256;

std::size_t initial_size(int name)
{
    const long hint = ::sysconf(name);
    return hint > 0 ? static_cast<std::size_t>(hint) : kBufferSize;
}

// Calls `lookup(buffer, size)` (a getpw*_r/getgr*_r) until its buffer is large enough.
template <typename Lookup>
bool with_buffer(int sysconf_name, Lookup&& lookup)
{
    std::vector<char> buffer(initial_size(sysconf_name));
    for (;;) {
        const int rc = lookup(buffer.data(), buffer.size());
        if (rc != ERANGE || buffer.size() >= kMaxBufferSize) return rc == 0;
        buffer.resize(buffer.size() * 2);
    }
}

std::optional<Account> account_of(const struct passwd* entry)
{
    if (entry == nullptr || entry->pw_name == nullptr) return std::nullopt;
    return Account{entry->pw_name, entry->pw_uid, entry->pw_gid};
}

}  // namespace

std::optional<Account> find_user(const std::string& name)
{
    std::optional<Account> account;
    (void)with_buffer(_SC_GETPW_R_SIZE_MAX, [&](char* buffer, std::size_t size) {
        struct passwd entry {};
        struct passwd* found = nullptr;
        const int rc = ::getpwnam_r(name.c_str(), &entry, buffer, size, &found);
        if (rc == 0) account = account_of(found);
        return rc;
    });
    return account;
}

std::optional<Account> find_user(uid_t uid)
{
    std::optional<Account> account;
    (void)with_buffer(_SC_GETPW_R_SIZE_MAX, [&](char* buffer, std::size_t size) {
        struct passwd entry {};
        struct passwd* found = nullptr;
        const int rc = ::getpwuid_r(uid, &entry, buffer, size, &found);
        if (rc == 0) account = account_of(found);
        return rc;
    });
    return account;
}

std::optional<gid_t> find_group(const std::string& name)
{
    std::optional<gid_t> gid;
    (void)with_buffer(_SC_GETGR_R_SIZE_MAX, [&](char* buffer, std::size_t size) {
        struct group entry {};
        struct group* found = nullptr;
        const int rc = ::getgrnam_r(name.c_str(), &entry, buffer, size, &found);
        if (rc == 0 && found != nullptr) gid = found->gr_gid;
        return rc;
    });
    return gid;
}

std::vector<gid_t> groups_of(const Account& account)
{
    int count = kGroupsFirstTry;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) < 0) {
        // `count` now says how many there are.
        groups.resize(static_cast<std::size_t>(std::max(count, 0)));
        if (::getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) < 0) count = 0;
    }
    groups.resize(static_cast<std::size_t>(std::max(count, 0)));
    if (groups.empty()) groups.push_back(account.gid);
    return groups;
}

bool in_group(uid_t uid, gid_t group)
{
    const auto account = find_user(uid);
    if (!account) return false;
    if (account->gid == group) return true;
    const auto groups = groups_of(*account);
    return std::find(groups.begin(), groups.end(), group) != groups.end();
}

std::string user_name(uid_t uid)
{
    const auto account = find_user(uid);
    return account ? account->name : std::to_string(uid);
}

std::string group_name(gid_t gid)
{
    std::optional<std::string> name;
    (void)with_buffer(_SC_GETGR_R_SIZE_MAX, [&](char* buffer, std::size_t size) {
        struct group entry {};
        struct group* found = nullptr;
        const int rc = ::getgrgid_r(gid, &entry, buffer, size, &found);
        if (rc == 0 && found != nullptr && found->gr_name != nullptr) name = found->gr_name;
        return rc;
    });
    return name.value_or(std::to_string(gid));
}

}  // namespace outpost::users
