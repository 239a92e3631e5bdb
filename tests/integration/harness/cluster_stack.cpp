#include "harness/cluster_stack.hpp"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "harness/command.hpp"
#include "harness/environment.hpp"
#include "support/files.hpp"

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

// One file per stack: "ledger-<test pid>-<test start time>-<n>", lines "<pid> <start time> <comm>".
constexpr const char* kLedgerDir = "/run/outpost-harness/leftovers";

unsigned long long own_start_time()
{
    auto self = read_process_stat(::getpid());
    return self ? self->start_time : 0;
}

// Whether the process that wrote ledger `name` still runs (then its stacks are its own).
bool writer_alive(const std::string& name)
{
    unsigned long long pid = 0;
    unsigned long long start = 0;
    if (std::sscanf(name.c_str(), "ledger-%llu-%llu-", &pid, &start) != 2) return false;
    auto info = read_process_stat(static_cast<pid_t>(pid));
    return info && info->state != 'Z' && info->start_time == start;
}

constexpr std::chrono::milliseconds kChildKillWait{5000};
constexpr std::chrono::seconds kCorosyncUpTimeout{20};
constexpr std::chrono::milliseconds kCorosyncPoll{200};

Error stack_error(int code, std::string message)
{
    return make_error("harness.cluster", code, std::move(message));
}

}  // namespace

std::string corosync_conf(const std::string& cluster_name, const std::vector<CorosyncMember>& members)
{
    std::ostringstream out;
    out << kCorosyncConfMarker << "\n"
        << "# A throw-away test cluster; the original (if any) is " << kCorosyncConfPath
        << ".outpost-backup while it runs, or this is a test node's private /etc/corosync.\n"
        << "totem {\n"
        << "    version: 2\n"
        << "    cluster_name: " << cluster_name << "\n"
        << "    transport: knet\n"
        << "    crypto_cipher: none\n"
        << "    crypto_hash: none\n"
        << "}\n"
        << "nodelist {\n";
    for (const auto& member : members) {
        out << "    node {\n"
            << "        ring0_addr: " << member.address << "\n"
            << "        name: " << member.name << "\n"
            << "        nodeid: " << member.nodeid << "\n"
            << "    }\n";
    }
    out << "}\n"
        << "quorum {\n"
        << "    provider: corosync_votequorum\n";
    // Two nodes: the survivor of a split keeps quorum (and fences the other).
    if (members.size() == 2) out << "    two_node: 1\n";
    out << "}\n"
        << "logging {\n"
        << "    to_logfile: yes\n"
        << "    logfile: /var/log/corosync/corosync.log\n"
        << "    to_stderr: no\n"
        << "    to_syslog: no\n"
        << "    timestamp: on\n"
        << "}\n";
    return out.str();
}

std::string seed_cib(const Properties& properties)
{
    Properties merged{{"stonith-enabled", "false"}, {"dc-deadtime", "2s"}};
    for (const auto& [name, value] : properties) {
        bool replaced = false;
        for (auto& entry : merged) {
            if (entry.first == name) {
                entry.second = value;
                replaced = true;
            }
        }
        if (!replaced) merged.emplace_back(name, value);
    }
    std::ostringstream out;
    out << "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\n"
        << "  <configuration>\n"
        << "    <crm_config>\n"
        << "      <cluster_property_set id=\"cib-bootstrap-options\">\n";
    for (const auto& [name, value] : merged) {
        out << "        <nvpair id=\"cib-bootstrap-options-" << xml_escape(name) << "\" name=\""
            << xml_escape(name) << "\" value=\"" << xml_escape(value) << "\"/>\n";
    }
    out << "      </cluster_property_set>\n"
        << "    </crm_config>\n"
        << "    <nodes/>\n"
        << "    <resources/>\n"
        << "    <constraints/>\n"
        << "  </configuration>\n"
        << "  <status/>\n"
        << "</cib>\n";
    return out.str();
}

void clear_directory(const fs::path& dir, std::vector<std::string>& problems)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::error_code remove_ec;
        fs::remove_all(entry.path(), remove_ec);
        if (remove_ec) problems.push_back("remove " + entry.path().string() + ": " + remove_ec.message());
    }
}

Status chown_to(const fs::path& path, const char* user, const char* group_name)
{
    passwd* pw = ::getpwnam(user);
    struct group* gr = ::getgrnam(group_name);
    if (pw == nullptr || gr == nullptr) {
        return stack_error(-ENOENT, std::string("user ") + user + " or group " + group_name +
                                        " missing (is the pacemaker package installed?)");
    }
    if (::chown(path.c_str(), pw->pw_uid, gr->gr_gid) != 0) {
        int err = errno;
        return stack_error(-err, "chown " + path.string() + ": " + std::strerror(err));
    }
    return {};
}

std::string comm_of(pid_t pid)
{
    auto comm = read_file("/proc/" + std::to_string(pid) + "/comm", 256);
    if (!comm) return "";
    std::string text = *comm;
    while (!text.empty() && text.back() == '\n')
        text.pop_back();
    return text;
}

// --- PacemakerStack ----------------------------------------------------------------------

PacemakerStack::PacemakerStack(std::vector<std::string> prefix, fs::path dir)
    : prefix_(std::move(prefix)), dir_(std::move(dir))
{
}

std::vector<std::string> PacemakerStack::wrap(const std::vector<std::string>& argv) const
{
    auto full = prefix_;
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

std::string PacemakerStack::exit_report(Process& process, const std::string& output) const
{
    return process.describe() + " " + describe_wait_status(process.wait_status().value_or(0)) + "\n" + output;
}

std::vector<std::string> reap_recorded_leftovers()
{
    std::vector<std::string> killed;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(kLedgerDir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ledger-", 0) != 0 || writer_alive(name)) continue;
        auto text = read_file(entry.path().string(), std::size_t{64} * 1024);
        std::istringstream lines(text ? *text : std::string());
        long long pid = 0;
        unsigned long long start = 0;
        std::string comm;
        while (lines >> pid >> start >> comm) {
            auto info = read_process_stat(static_cast<pid_t>(pid));
            if (pid <= 1 || !info || info->state == 'Z' || info->start_time != start ||
                comm_of(static_cast<pid_t>(pid)) != comm)
                continue;
            if (::kill(static_cast<pid_t>(pid), SIGKILL) != 0) continue;
            std::string line = comm;
            line += "[" + std::to_string(pid) + "] left by an earlier test (";
            line += name;
            line += ")";
            killed.push_back(std::move(line));
        }
        fs::remove(entry.path(), ec);
    }
    return killed;
}

void PacemakerStack::write_ledger()
{
    static int stacks = 0;
    std::error_code ec;
    if (ledger_.empty()) {
        fs::create_directories(kLedgerDir, ec);
        ledger_ = fs::path(kLedgerDir) / ("ledger-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(own_start_time()) + "-" + std::to_string(++stacks));
    }
    std::string text;
    auto add = [&](pid_t pid, const std::string& comm) {
        auto info = read_process_stat(pid);
        if (info) text += std::to_string(pid) + " " + std::to_string(info->start_time) + " " + comm + "\n";
    };
    if (corosync_) add(corosync_->pid(), "corosync");
    if (pacemakerd_) add(pacemakerd_->pid(), "pacemakerd");
    for (const auto& child : children_)
        text += std::to_string(child.pid) + " " + std::to_string(child.start_time) + " " + child.comm + "\n";
    for (const auto& other : others_)
        text += std::to_string(other.pid) + " " + std::to_string(other.start_time) + " " + other.comm + "\n";
    (void)write_file(ledger_.string(), text, 0644);  // best effort: only a later test's cleanup
}

Status PacemakerStack::start_corosync()
{
    SpawnOptions options;
    options.argv = wrap({"corosync", "-f"});
    options.log_file = dir_ / "corosync.out";
    auto started = Process::spawn(std::move(options));
    if (!started) return started.error();
    corosync_.emplace(std::move(*started));
    write_ledger();
    // pacemakerd waits for corosync's IPC itself; waiting here reports a broken
    // corosync.conf as corosync's failure, not pacemakerd's.
    auto deadline = std::chrono::steady_clock::now() + kCorosyncUpTimeout;
    for (;;) {
        if (!corosync_->is_running()) {
            return stack_error(-ECHILD, "corosync exited at start: " +
                                            exit_report(*corosync_, file_tail(dir_ / "corosync.out")));
        }
        auto r = run_command(wrap({"corosync-cfgtool", "-s"}), nullptr, std::chrono::seconds(5));
        if (r && r->succeeded()) return {};
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(kCorosyncPoll);
    }
    return stack_error(-ETIMEDOUT, "timed out waiting for corosync to answer corosync-cfgtool -s");
}

Status PacemakerStack::start_pacemakerd()
{
    SpawnOptions options;
    options.argv = wrap({"pacemakerd", "-f"});
    options.log_file = dir_ / "pacemakerd.out";
    auto started = Process::spawn(std::move(options));
    if (!started) return started.error();
    pacemakerd_.emplace(std::move(*started));
    write_ledger();
    return {};
}

void PacemakerStack::remember_children()
{
    if (!pacemakerd_) return;
    pid_t parent = pacemakerd_->pid();
    for (const char* comm : kPacemakerDaemons) {
        for (pid_t pid : find_processes_named(comm)) {
            auto info = read_process_stat(pid);
            if (info && info->parent == parent) children_.push_back({pid, info->start_time, comm});
        }
    }
    write_ledger();
}

void PacemakerStack::add_to_ledger(pid_t pid, const std::string& comm)
{
    auto info = read_process_stat(pid);
    if (!info) return;
    others_.push_back({pid, info->start_time, comm});
    write_ledger();
}

void PacemakerStack::stop(std::vector<std::string>& problems)
{
    if (pacemakerd_ && pacemakerd_->is_running()) {
        auto status =
            pacemakerd_->stop(std::chrono::duration_cast<std::chrono::milliseconds>(kPacemakerStopTimeout));
        if (!status) {
            problems.push_back("stop pacemakerd: " + status.error().message);
        } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
            problems.push_back("pacemakerd " + describe_wait_status(*status) + " when stopped");
        }
    }
    // Its daemons exit with it; any that did not (pacemakerd killed) go by PID.
    auto deadline = std::chrono::steady_clock::now() + kChildKillWait;
    for (const auto& child : children_) {
        for (;;) {
            auto info = read_process_stat(child.pid);
            // A zombie is gone too: its parent died and the reaper of orphans may be slow.
            if (!info || info->state == 'Z' || info->start_time != child.start_time ||
                comm_of(child.pid) != child.comm)
                break;
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(child.pid, SIGKILL);
                problems.push_back(child.comm + "[" + std::to_string(child.pid) +
                                   "] outlived pacemakerd: killed");
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    children_.clear();
    if (corosync_ && corosync_->is_running()) {
        auto status =
            corosync_->stop(std::chrono::duration_cast<std::chrono::milliseconds>(kCorosyncStopTimeout));
        if (!status) problems.push_back("stop corosync: " + status.error().message);
    }
    pacemakerd_.reset();
    corosync_.reset();
    if (!ledger_.empty()) {
        std::error_code ec;
        fs::remove(ledger_, ec);
    }
}

}  // namespace outpost::test
