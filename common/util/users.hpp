// Local users and groups (the reentrant getpw*_r / getgr*_r and getgrouplist, with their
// buffers grown as needed): who may use the local IPC, which credentials a child switches
// to, what name a tool's uid has, which group a key file gets.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace outpost::users {

struct Account {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;  // primary group
};

std::optional<Account> find_user(const std::string& name);
std::optional<Account> find_user(uid_t uid);
std::optional<gid_t> find_group(const std::string& name);

// Every group of `account`, its primary group included (never empty).
std::vector<gid_t> groups_of(const Account& account);
// Whether the user `uid` is in `group`, as its primary or a supplementary group.
bool in_group(uid_t uid, gid_t group);

// The name of `uid`, or the decimal uid if it has no entry.
std::string user_name(uid_t uid);
// The name of `gid`, or the decimal gid if it has no entry.
std::string group_name(gid_t gid);

}  // namespace outpost::users
