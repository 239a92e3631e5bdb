// Helpers for the executor tests: a temp directory with agent scripts and a collector of
// results (the loop turns with support/main_loop.hpp, on the default context).
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "executor/executor.hpp"
#include "support/files.hpp"
#include "support/main_loop.hpp"

namespace outpost::agent::executor::test {

using namespace std::chrono_literals;
using outpost::test::loop_for;
using outpost::test::run_until;
using outpost::test::TempDir;
using wire::AlertRequest;
using wire::ExecNotify;
using wire::ExecRequest;

inline void write_file(const std::string& path, const std::string& text, mode_t mode = 0644)
{
    std::string dir = path.substr(0, path.rfind('/'));
    g_mkdir_with_parents(dir.c_str(), 0755);
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
    }
    chmod(path.c_str(), mode);
}

inline void write_script(const std::string& path, const std::string& body)
{
    write_file(path, "#!/bin/sh\n" + body, 0755);
}

inline std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline bool file_exists(const std::string& path)
{
    return g_file_test(path.c_str(), G_FILE_TEST_EXISTS);
}

struct Collected {
    std::vector<ExecNotify> results;
    std::vector<gint64> at_us;  // monotonic time each result arrived

    Executor::Callbacks callbacks()
    {
        return Executor::Callbacks{[this](const OpResult& r) {
            results.push_back(r.notify);
            at_us.push_back(g_get_monotonic_time());
        }};
    }
    [[nodiscard]] std::size_t count(int call_id) const
    {
        std::size_t n = 0;
        for (const auto& r : results)
            n += r.call_id == call_id ? 1 : 0;
        return n;
    }
    [[nodiscard]] const ExecNotify* last(int call_id) const
    {
        for (auto it = results.rbegin(); it != results.rend(); ++it) {
            if (it->call_id == call_id) return &*it;
        }
        return nullptr;
    }
    bool wait(int call_id, std::size_t n = 1, int timeout_ms = 10000)
    {
        return run_until(
            nullptr, [&] { return count(call_id) >= n; }, std::chrono::milliseconds(timeout_ms));
    }
};

// An OCF root with agents under <root>/resource.d/<provider>/<type>.
struct OcfTree {
    TempDir dir;
    agents::Paths paths;

    OcfTree()
    {
        paths.ocf_root = dir.path();
        paths.ocf_ra_path = {dir / "resource.d"};
        paths.lsb_dir = dir / "init.d";
        paths.nagios_dir = dir / "nagios";
        paths.secrets_dir = dir / "secrets";
        paths.working_dir = dir / "cores";
        g_mkdir_with_parents(paths.working_dir.c_str(), 0755);
        g_mkdir_with_parents(paths.lsb_dir.c_str(), 0755);
    }
    void agent(const std::string& provider, const std::string& type, const std::string& body) const
    {
        write_script(paths.ocf_ra_path[0] + "/" + provider + "/" + type, body);
    }
    void lsb(const std::string& type, const std::string& body) const
    {
        write_script(paths.lsb_dir + "/" + type, body);
    }
};

inline ResourceDefinition ocf_rsc(const std::string& id, const std::string& type,
                                  const std::string& provider = "test")
{
    return ResourceDefinition{id, "ocf", provider, type, 0};
}

inline ExecRequest req(const std::string& rsc, const std::string& action, std::uint32_t interval_ms = 0,
                       std::uint32_t timeout_ms = 20000)
{
    ExecRequest r;
    r.rsc_id = rsc;
    r.action = action;
    r.interval_ms = interval_ms;
    r.timeout_ms = timeout_ms;
    r.userdata = "ud-" + rsc + "-" + action;
    return r;
}

}  // namespace outpost::agent::executor::test
