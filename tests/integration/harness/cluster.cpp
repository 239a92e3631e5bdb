#include "harness/cluster.hpp"

#include <fcntl.h>
#include <grp.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness/environment.hpp"
#include "harness/tcp.hpp"

namespace outpost::test {

namespace fs = std::filesystem;

namespace {

constexpr const char* kCibDir = "/var/lib/pacemaker/cib";
constexpr const char* kPengineDir = "/var/lib/pacemaker/pengine";
constexpr const char* kCorosyncStateDir = "/var/lib/corosync";
constexpr const char* kCorosyncLogDir = "/var/log/corosync";
constexpr std::chrono::milliseconds kGuestReadyTimeout{60000};  // see kDefaultReadyTimeout

Error harness_error(int code, std::string message)
{
    return make_error("harness.cluster", code, std::move(message));
}

std::string errno_text(int err)
{
    return std::strerror(err);
}

// Moves `path` aside to path + kBackupSuffix, unless a backup of a crashed run is already
// there: that one is the original and must survive.
Status back_up(const fs::path& path)
{
    fs::path backup = path.string() + kBackupSuffix;
    std::error_code ec;
    if (fs::exists(backup, ec)) return {};
    if (!fs::exists(path, ec)) return {};
    fs::rename(path, backup, ec);
    if (ec) return harness_error(-ec.value(), "back up " + path.string() + ": " + ec.message());
    return {};
}

// Puts the backup back, or removes our file when there was nothing to back up.
void restore(const fs::path& path, std::vector<std::string>& problems)
{
    fs::path backup = path.string() + kBackupSuffix;
    std::error_code ec;
    if (fs::exists(backup, ec)) {
        fs::rename(backup, path, ec);
        if (ec)
            problems.push_back("restore " + path.string() + " from " + backup.string() + ": " + ec.message());
        return;
    }
    fs::remove(path, ec);
    if (ec) problems.push_back("remove " + path.string() + ": " + ec.message());
}

std::string quote_xpath(const std::string& value)
{
    // Names here are ours (node and resource ids): no quote characters to escape.
    return "'" + value + "'";
}

}  // namespace

// --- wait_until --------------------------------------------------------------------------

Status wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                  const std::string& what, std::chrono::milliseconds interval)
{
    auto begin = std::chrono::steady_clock::now();
    auto deadline = begin + timeout;
    for (;;) {
        if (predicate()) return {};
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(interval);
    }
    auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);
    return harness_error(-ETIMEDOUT,
                         "timed out after " + std::to_string(waited.count()) + " ms waiting for " + what);
}

// --- XmlQuery ----------------------------------------------------------------------------

Result<XmlQuery> XmlQuery::parse(const std::string& text)
{
    xmlDoc* doc = ::xmlReadMemory(text.data(), static_cast<int>(text.size()), "crm_mon.xml", nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == nullptr) {
        return harness_error(-EBADMSG, "not well-formed XML: " + text.substr(0, 300));
    }
    XmlQuery query;
    query.doc_ = doc;
    query.text_ = text;
    return query;
}

XmlQuery::XmlQuery(XmlQuery&& other) noexcept : doc_(other.doc_), text_(std::move(other.text_))
{
    other.doc_ = nullptr;
}

XmlQuery& XmlQuery::operator=(XmlQuery&& other) noexcept
{
    if (this != &other) {
        if (doc_ != nullptr) ::xmlFreeDoc(static_cast<xmlDoc*>(doc_));
        doc_ = other.doc_;
        text_ = std::move(other.text_);
        other.doc_ = nullptr;
    }
    return *this;
}

XmlQuery::~XmlQuery()
{
    if (doc_ != nullptr) ::xmlFreeDoc(static_cast<xmlDoc*>(doc_));
}

namespace {

struct XPathResult {
    xmlXPathContext* context = nullptr;
    xmlXPathObject* object = nullptr;
    XPathResult(void* doc, const std::string& expr)
    {
        context = ::xmlXPathNewContext(static_cast<xmlDoc*>(doc));
        if (context != nullptr) {
            object = ::xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expr.c_str()), context);
        }
    }
    XPathResult(const XPathResult&) = delete;
    XPathResult& operator=(const XPathResult&) = delete;
    ~XPathResult()
    {
        if (object != nullptr) ::xmlXPathFreeObject(object);
        if (context != nullptr) ::xmlXPathFreeContext(context);
    }
};

std::string to_string_and_free(xmlChar* text)
{
    if (text == nullptr) return "";
    std::string out(reinterpret_cast<const char*>(text));
    ::xmlFree(text);
    return out;
}

}  // namespace

std::string XmlQuery::string(const std::string& expr) const
{
    XPathResult result(doc_, expr);
    if (result.object == nullptr) return "";
    return to_string_and_free(::xmlXPathCastToString(result.object));
}

double XmlQuery::number(const std::string& expr) const
{
    XPathResult result(doc_, expr);
    if (result.object == nullptr) return std::nan("");
    return ::xmlXPathCastToNumber(result.object);
}

bool XmlQuery::boolean(const std::string& expr) const
{
    XPathResult result(doc_, expr);
    if (result.object == nullptr) return false;
    return ::xmlXPathCastToBoolean(result.object) != 0;
}

std::vector<std::string> XmlQuery::strings(const std::string& expr) const
{
    std::vector<std::string> out;
    XPathResult result(doc_, expr);
    if (result.object == nullptr || result.object->type != XPATH_NODESET ||
        result.object->nodesetval == nullptr) {
        return out;
    }
    xmlNodeSet* nodes = result.object->nodesetval;
    for (int i = 0; i < nodes->nodeNr; ++i) {
        out.push_back(to_string_and_free(::xmlXPathCastNodeToString(nodes->nodeTab[i])));
    }
    return out;
}

// --- CrmMon ------------------------------------------------------------------------------

std::string CrmMon::dc() const
{
    return xml_.string("//summary/current_dc[@present='true']/@name");
}

bool CrmMon::node_online(const std::string& node) const
{
    return xml_.boolean("/pacemaker-result/nodes/node[@name=" + quote_xpath(node) + " and @online='true']");
}

bool CrmMon::node_listed(const std::string& node) const
{
    return xml_.boolean("/pacemaker-result/nodes/node[@name=" + quote_xpath(node) + "]");
}

std::vector<std::string> CrmMon::resource_nodes(const std::string& id) const
{
    return xml_.strings("/pacemaker-result/resources//resource[@id=" + quote_xpath(id) +
                        " and @active='true']/node/@name");
}

std::string CrmMon::resource_role(const std::string& id) const
{
    return xml_.string("(/pacemaker-result/resources//resource[@id=" + quote_xpath(id) + "])[1]/@role");
}

bool CrmMon::resource_failed(const std::string& id) const
{
    return xml_.boolean("/pacemaker-result/resources//resource[@id=" + quote_xpath(id) +
                        " and @failed='true']");
}

std::vector<std::string> CrmMon::nodes_in_role(const std::string& id, const std::string& role) const
{
    return xml_.strings("/pacemaker-result/resources//resource[@id=" + quote_xpath(id) +
                        " and @role=" + quote_xpath(role) + " and @active='true']/node/@name");
}

int CrmMon::fail_count(const std::string& id, const std::string& node) const
{
    // Clone instances are listed as "id:N" in the history.
    double count = xml_.number("sum(/pacemaker-result/node_history/node[@name=" + quote_xpath(node) +
                               "]/resource_history[@id=" + quote_xpath(id) + " or starts-with(@id, " +
                               quote_xpath(id + ":") + ")]/@fail-count)");
    return std::isnan(count) ? 0 : static_cast<int>(count);
}

int CrmMon::failed_actions(const std::string& id) const
{
    std::string expr = "count(/pacemaker-result/failures/failure";
    if (!id.empty()) expr += "[starts-with(@op_key, " + quote_xpath(id + "_") + ")]";
    expr += ")";
    double count = xml_.number(expr);
    return std::isnan(count) ? 0 : static_cast<int>(count);
}

bool CrmMon::has_operation(const std::string& id, const std::string& node, const std::string& task,
                           unsigned interval_ms) const
{
    // Probes are listed as task "probe" without an interval attribute.
    std::string interval =
        interval_ms == 0 ? "" : " and @interval=" + quote_xpath(std::to_string(interval_ms) + "ms");
    return xml_.boolean("/pacemaker-result/node_history/node[@name=" + quote_xpath(node) +
                        "]/resource_history[@id=" + quote_xpath(id) +
                        "]/operation_history[@task=" + quote_xpath(task) + interval + " and @rc='0']");
}

// --- ClusterGuest ------------------------------------------------------------------------

ClusterGuest::ClusterGuest(GuestOptions options, TempDir dir, Netns netns)
    : options_(std::move(options)), dir_(std::move(dir)), netns_(std::move(netns))
{
}

ClusterGuest::~ClusterGuest()
{
    if (process_) (void)process_->stop();
    process_.reset();
}

fs::path ClusterGuest::state_file(const std::string& agent, const std::string& id) const
{
    return varrun() / (agent + "-" + id + ".state");
}

std::string ClusterGuest::log_tail(std::size_t max_bytes) const
{
    std::string text = file_tail(log_file(), max_bytes);
    std::string output = file_tail(dir_ / "daemon.out", max_bytes);
    if (!output.empty()) text += "\n--- stdout/stderr ---\n" + output;
    return text;
}

bool ClusterGuest::running()
{
    return process_ && process_->is_running();
}

Status ClusterGuest::start()
{
    if (running())
        return harness_error(-EALREADY, "guest " + name() + ": " + process_->describe() + " still runs");
    process_.reset();
    SpawnOptions spawn;
    spawn.argv = {options_.binary};
    spawn.argv.insert(spawn.argv.end(), options_.args.begin(), options_.args.end());
    spawn.netns = &netns_;
    spawn.log_file = dir_ / "daemon.out";
    spawn.working_dir = dir_.path();
    // The key is the shared default /etc/pacemaker/authkey, as on a real guest.
    spawn.env = {
        {"PCMK_logfile", log_file().string()},
        {"HA_VARRUN", varrun().string() + "/"},
        {"HA_RSCTMP", (dir_ / "rsctmp").string()},
    };
    spawn.env.insert(spawn.env.end(), options_.env.begin(), options_.env.end());
    auto process = Process::spawn(std::move(spawn));
    if (!process) return process.error();
    process_.emplace(std::move(*process));
    auto ready = wait_for_tcp(nullptr, address(), 3121, kGuestReadyTimeout, &*process_);
    if (!ready) {
        return harness_error(ready.error().code, "guest " + name() + ": " + ready.error().message +
                                                     "\n--- log tail ---\n" + log_tail());
    }
    return {};
}

Status ClusterGuest::signal(int sig)
{
    if (!process_) return harness_error(-ESRCH, "guest " + name() + ": no daemon started");
    return process_->signal(sig);
}

Result<int> ClusterGuest::wait_exit(std::chrono::milliseconds timeout)
{
    if (!process_) return harness_error(-ESRCH, "guest " + name() + ": no daemon started");
    return process_->wait(timeout);
}

Result<int> ClusterGuest::stop(std::chrono::milliseconds grace)
{
    if (!process_) return 0;
    if (!process_->is_running()) return process_->wait_status().value_or(0);
    return process_->stop(grace);
}

// --- ClusterHarness ----------------------------------------------------------------------

Status check_pacemaker_daemons()
{
    // What a killed earlier test left running goes first (by its ledger), then the check.
    const auto reaped = reap_recorded_leftovers();
    for (const std::string& line : reaped)
        (void)std::fprintf(stderr, "harness: killed %s\n", line.c_str());
    if (!reaped.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));  // SIGKILL lands
    std::string foreign;
    for (const char* comm : kPacemakerDaemons) {
        for (pid_t pid : find_processes_named(comm)) {
            if (started_by_harness(pid)) continue;
            foreign += std::string(foreign.empty() ? "" : ", ") + comm + "[" + std::to_string(pid) + "]";
        }
    }
    if (!foreign.empty()) {
        return harness_error(
            -EBUSY, "refusing to run: Pacemaker daemons not started by this test are running: " + foreign +
                        " (a real cluster, or leftovers of a crashed test run: stop them "
                        "by PID before running the cluster tests)");
    }
    return {};
}

Status check_machine_for_test_cluster()
{
    auto lock = take_cluster_lock();
    if (!lock) return lock.error();
    if (auto s = refuse_if_real_cluster(); !s) return s;
    return check_pacemaker_daemons();
}

Result<std::unique_ptr<ClusterHarness>> ClusterHarness::start(const ClusterOptions& options)
{
    if (::geteuid() != 0) return harness_error(-EPERM, "a test cluster needs root");
    auto lock = take_cluster_lock();
    if (!lock) return lock.error();
    return start(std::move(*lock), options);
}

Result<std::unique_ptr<ClusterHarness>> ClusterHarness::start(UniqueFd held, const ClusterOptions& options)
{
    if (::geteuid() != 0) return harness_error(-EPERM, "a test cluster needs root");
    if (auto s = refuse_if_real_cluster(); !s) return s.error();
    if (auto s = check_pacemaker_daemons(); !s) return s.error();
    for (const char* tool : {"corosync", "pacemakerd", "crm_mon", "cibadmin"}) {
        if (auto found = find_program(tool); !found) {
            return harness_error(-ENOENT, std::string(tool) + " not found: install corosync and pacemaker");
        }
    }
    auto dir = TempDir::create("outpost-cluster");
    if (!dir) return dir.error();
    std::unique_ptr<ClusterHarness> cluster(new ClusterHarness(std::move(held), std::move(*dir)));
    if (auto s = cluster->bring_up(options); !s) {
        std::string tail = cluster->pacemaker_log_tail(3000);
        auto stopped = cluster->stop();
        std::string message = s.error().message + "\n--- pacemaker.log (this run) ---\n" + tail;
        if (!stopped) message += "\nteardown also failed: " + stopped.error().message;
        return harness_error(s.error().code, message);
    }
    return cluster;
}

Status ClusterHarness::install_files(const ClusterOptions& options)
{
    // corosync.conf: ours while we run; the guard has made sure any existing one is ours or
    // the package default.
    std::error_code ec;
    fs::create_directories(fs::path(kCorosyncConfPath).parent_path(), ec);
    fs::create_directories(kCorosyncLogDir, ec);
    if (auto s = back_up(kCorosyncConfPath); !s) return s;
    conf_installed_ = true;
    if (auto s = write_file(kCorosyncConfPath, corosync_conf(kClusterName, {{kClusterNode, "127.0.0.1", 1}}),
                            0644);
        !s)
        return s;

    // The shared authkey: fresh for every run, as `dd if=/dev/urandom bs=4096 count=1` makes it.
    fs::create_directories(fs::path(kSharedAuthkeyPath).parent_path(), ec);
    if (auto s = back_up(kSharedAuthkeyPath); !s) return s;
    key_installed_ = true;
    std::string key(kAuthkeySize, '\0');
    std::size_t filled = 0;
    while (filled < key.size()) {
        ssize_t n = ::getrandom(key.data() + filled, key.size() - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            return harness_error(-err, "getrandom: " + errno_text(err));
        }
        filled += static_cast<std::size_t>(n);
    }
    if (auto s = write_file(kSharedAuthkeyPath, key, 0640); !s) return s;
    if (auto s = chown_to(kSharedAuthkeyPath, "hacluster", "haclient"); !s) return s;

    // A seeded CIB so the first election waits dc-deadtime=2s, not the default 20 s.
    std::vector<std::string> problems;
    clear_directory(kCibDir, problems);
    clear_directory(kPengineDir, problems);
    clear_directory(kCorosyncStateDir, problems);
    if (!problems.empty()) return harness_error(-EIO, "cleaning cluster state: " + problems.front());
    fs::path cib = fs::path(kCibDir) / "cib.xml";
    if (auto s = write_file(cib, seed_cib(options.properties), 0600); !s) return s;
    return chown_to(cib, "hacluster", "haclient");
}

Status ClusterHarness::bring_up(const ClusterOptions& options)
{
    std::error_code ec;
    log_offset_ = fs::exists(kPacemakerLog, ec) ? fs::file_size(kPacemakerLog, ec) : 0;
    if (ec) log_offset_ = 0;
    if (auto s = install_files(options); !s) return s;

    if (auto s = stack_.start_corosync(); !s) {
        return harness_error(s.error().code,
                             s.error().message + "\n" + file_tail("/var/log/corosync/corosync.log"));
    }
    if (auto s = stack_.start_pacemakerd(); !s) return s;
    Process* pacemakerd = stack_.pacemakerd();
    auto dc = wait_until(
        [&] {
            if (!pacemakerd->is_running()) return true;  // reported below
            auto mon = crm_mon();
            return mon && mon->dc() == kClusterNode && mon->node_online(kClusterNode);
        },
        options.dc_timeout, std::string("crm_mon to show ") + kClusterNode + " as DC");
    if (!pacemakerd->is_running()) {
        return harness_error(-ECHILD,
                             "pacemakerd exited at start: " +
                                 stack_.exit_report(*pacemakerd, file_tail(dir_ / "pacemakerd.out")));
    }
    if (!dc) return dc;
    stack_.remember_children();
    return {};
}

pid_t ClusterHarness::pacemakerd_pid() const
{
    return stack_.pacemakerd_pid();
}

pid_t ClusterHarness::corosync_pid() const
{
    return stack_.corosync_pid();
}

ClusterHarness::~ClusterHarness()
{
    // A destructor runs while a failed REQUIRE unwinds: nothing may escape it.
    try {
        auto s = stop();
        if (!s) (void)std::fprintf(stderr, "cluster teardown: %s\n", s.error().message.c_str());
    } catch (...) {
        (void)std::fprintf(stderr, "cluster teardown: unexpected exception\n");
    }
}

Status ClusterHarness::stop()
{
    if (stopped_) return {};
    stopped_ = true;
    std::vector<std::string> problems;

    // pacemakerd first: while the guests still run, the cluster stops their resources and
    // connections cleanly.
    stack_.stop(problems);

    // Guests last; destroying one stops its daemon and deletes its namespace.
    guests_.clear();

    clear_directory(kCibDir, problems);
    clear_directory(kPengineDir, problems);
    clear_directory(kCorosyncStateDir, problems);
    if (conf_installed_) restore(kCorosyncConfPath, problems);
    if (key_installed_) restore(kSharedAuthkeyPath, problems);
    conf_installed_ = key_installed_ = false;

    if (problems.empty()) return {};
    std::string message = "cluster teardown:";
    for (const auto& p : problems)
        message += "\n  " + p;
    return harness_error(-EIO, message);
}

Result<std::unique_ptr<ClusterGuest>> ClusterGuest::create(GuestOptions options, Netns netns)
{
    if (options.name.empty() || options.binary.empty()) {
        return harness_error(-EINVAL, "a guest needs a name and a binary");
    }
    auto dir = TempDir::create("outpost-guest-" + options.name);
    if (!dir) return dir.error();
    std::error_code ec;
    fs::create_directories(*dir / "run", ec);
    fs::create_directories(*dir / "rsctmp", ec);
    if (ec) return harness_error(-ec.value(), "guest directories: " + ec.message());
    return std::unique_ptr<ClusterGuest>(
        new ClusterGuest(std::move(options), std::move(*dir), std::move(netns)));
}

void ClusterGuest::replace_daemon(std::string binary, std::vector<std::string> args)
{
    options_.binary = std::move(binary);
    options_.args = std::move(args);
}

Result<ClusterGuest*> ClusterHarness::add_guest(GuestOptions options)
{
    auto netns = Netns::create();
    if (!netns) return netns.error();
    auto guest = ClusterGuest::create(std::move(options), std::move(*netns));
    if (!guest) return guest.error();
    if (auto s = (*guest)->start(); !s) return s.error();
    guests_.push_back(std::move(*guest));
    return guests_.back().get();
}

Result<CrmMon> parse_crm_mon(const Result<CommandResult>& result)
{
    if (!result) return result.error();
    if (!result->succeeded()) return harness_error(-EIO, "crm_mon " + result->describe());
    // stderr is interleaved with stdout: keep only the document.
    auto begin = result->output.find("<?xml");
    if (begin == std::string::npos) begin = result->output.find("<pacemaker-result");
    if (begin == std::string::npos)
        return harness_error(-EBADMSG, "crm_mon printed no XML: " + result->output);
    auto end = result->output.rfind("</pacemaker-result>");
    std::string text = end == std::string::npos
                           ? result->output.substr(begin)
                           : result->output.substr(begin, end + std::strlen("</pacemaker-result>") - begin);
    auto xml = XmlQuery::parse(text);
    if (!xml) return xml.error();
    return CrmMon(std::move(*xml));
}

// --- ClusterTools ------------------------------------------------------------------------

Result<CommandResult> ClusterTools::tool(const std::vector<std::string>& argv,
                                         std::chrono::milliseconds timeout) const
{
    auto full = tool_prefix_;
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full, nullptr, timeout);
}

Result<std::string> ClusterTools::tool_checked(const std::vector<std::string>& argv,
                                               std::chrono::milliseconds timeout) const
{
    auto result = tool(argv, timeout);
    if (!result) return result.error();
    if (!result->succeeded()) return harness_error(-EIO, where_ + join_argv(argv) + " " + result->describe());
    return result->output;
}

Result<std::string> ClusterTools::pcs(const std::vector<std::string>& args) const
{
    std::vector<std::string> argv{"pcs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return tool_checked(argv);
}

Result<std::string> ClusterTools::cibadmin(const std::vector<std::string>& args) const
{
    std::vector<std::string> argv{"cibadmin"};
    argv.insert(argv.end(), args.begin(), args.end());
    return tool_checked(argv);
}

Result<CrmMon> ClusterTools::crm_mon() const
{
    return parse_crm_mon(
        tool({"crm_mon", "-1", "--output-as=xml", "--include=all"}, std::chrono::seconds(20)));
}

std::string ClusterTools::crm_mon_text() const
{
    auto result = tool({"crm_mon", "-1", "--include=all"}, std::chrono::seconds(20));
    if (!result) return where_ + "crm_mon: " + result.error().message;
    return result->output;
}

Status ClusterTools::wait_for(const std::function<bool(const CrmMon&)>& predicate,
                              std::chrono::milliseconds timeout, const std::string& what) const
{
    auto s = wait_until(
        [&] {
            auto mon = crm_mon();
            return mon && predicate(*mon);
        },
        timeout, what);
    if (s) return s;
    return harness_error(s.error().code,
                         s.error().message + "\n--- " + where_ + "crm_mon -1 ---\n" + crm_mon_text());
}

Status ClusterTools::create_remote_connection(const ClusterGuest& guest,
                                              const std::vector<std::string>& extra,
                                              const std::vector<std::string>& monitor,
                                              std::chrono::milliseconds timeout) const
{
    // pcs 0.11 wants `pcs cluster node add-remote` for this, which pushes the key through
    // pcsd; the key is already in place here, so `resource create --force` does the rest.
    std::vector<std::string> args{"resource", "create", guest.name(), "ocf:pacemaker:remote",
                                  "server=" + guest.address()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"op", "monitor"});
    args.insert(args.end(), monitor.begin(), monitor.end());
    args.emplace_back("--force");
    if (auto r = pcs(args); !r) return r.error();
    std::string name = guest.name();
    return wait_for([&](const CrmMon& mon) { return mon.node_online(name); }, timeout,
                    "remote node " + name + " to be online");
}

Status ClusterHarness::add_remote_node(const ClusterGuest& guest, const std::vector<std::string>& extra,
                                       const std::string& monitor_interval,
                                       std::chrono::milliseconds timeout) const
{
    return create_remote_connection(guest, extra, {"interval=" + monitor_interval}, timeout);
}

std::string ClusterHarness::pacemaker_log_tail(std::size_t max_bytes) const
{
    std::ifstream in(kPacemakerLog, std::ios::binary);
    if (!in) return "";
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::uintmax_t>(in.tellg());
    std::uintmax_t from = log_offset_ <= size ? log_offset_ : 0;
    if (size - from > max_bytes) from = size - max_bytes;
    in.seekg(static_cast<std::streamoff>(from));
    std::string text(static_cast<std::size_t>(size - from), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    return text;
}

}  // namespace outpost::test
