// Per-resource isolation where the agent really runs: outpost-agent inside a QEMU/TCG VM
// whose only cgroup mount is cgroup2 (pure v2, the layout of current distributions, with
// the agent started in a delegated service cgroup as systemd would), and inside a libvirt
// LXC application container (its cgroups are the container's; v1 hierarchies on this
// machine). From the host, over a real TLS connection to the agent in the guest: a
// resource started with limits has them in cgroupfs, a later action changes them for the
// same process, a stop kills what the resource left behind and removes its cgroup, and (in
// the VM) a memory hog is killed by the kernel at memory.max so the next monitor fails.
//
// The VM's files are seen through the test agent's own reports (its actions print what
// they see as key=value lines); the container's from the host, under libvirt's machine
// cgroup. Both run under LibvirtHarness's machine-wide lock (libvirtd and the bridge are
// shared with the other libvirt tests) and SKIP where root, libvirt, QEMU or the kernel
// are missing.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness/catch_support.hpp"
#include "harness/executor_session.hpp"
#include "harness/harness.hpp"
#include "harness/libvirt.hpp"
#include "harness/ocf_test_agent.hpp"
#include "wire/messages.hpp"

using namespace outpost;
using namespace outpost::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* kProvider = "outposttest-cg";
constexpr const char* kAgentDir = "/usr/lib/ocf/resource.d/outposttest-cg";
constexpr unsigned kVmHost = 61;   // 192.168.170.61
constexpr unsigned kLxcHost = 62;  // 192.168.170.62
// TCG boot of the ASan build's image to a listening agent (the image is ~90 MB unpacked).
constexpr auto kVmBootTimeout = 150s;
constexpr auto kLxcStartTimeout = 30s;
// The service cgroup the VM's init starts the agent in, as systemd would with Delegate=yes.
constexpr const char* kVmService = "/sys/fs/cgroup/system.slice/outpost-agent.service";

// The test agent. Every action prints what it sees to stderr as key=value lines (stderr
// is what the agent returns as the action's output when there is any):
//   start    a daemon (sleep, or with hog=yes an awk growing a 64 MiB string, bounded so an
//            unapplied limit could not hurt the guest) and a second process stop forgets;
//            with nest=yes (v2) a third one in a cgroup it makes inside its own
//   monitor  its cgroup (/proc/self/cgroup), on v2 the limit files of that cgroup, then
//            rc 0 while the daemon lives, 7 once it is gone; with look=... instead the
//            state of each path (present/absent), pid (alive/dead) or file=content (cat),
//            or (restart-agent, in the VM) SIGKILL to the agent after asking /init to
//            start it again (restart-agent-term: SIGTERM)
//   stop     stops the daemon, never the forgotten process
// Portable sh: busybox in the VM, dash in the container.
constexpr const char* kScript = R"SH(#!/bin/sh
st="$OCF_RESKEY_state"
alive() { [ -d "/proc/$1" ] && ! grep -q ') Z ' "/proc/$1/stat"; }
daemon_alive() { [ -f "$st" ] && alive "$(cat "$st")"; }
oneline() { tr '\n' ' ' <"$1" | sed 's/ *$//'; }
report() {
  echo "self_cgroup=$(oneline /proc/self/cgroup)"
  [ -f "$st" ] && echo "daemon=$(cat "$st")"
  [ -f "$st.forgotten" ] && echo "forgotten=$(cat "$st.forgotten")"
  [ -f "$st.nested" ] && echo "nested=$(cat "$st.nested")"
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
    echo "dir=$d"
    for f in cpu.max cpu.weight memory.max memory.high pids.max io.weight cpuset.cpus cgroup.procs memory.events; do
      echo "$f=$(oneline "$d/$f")"
    done
  fi
}
look() {
  for x in $OCF_RESKEY_look; do
    case "$x" in
      cat:*) f=${x#cat:}; echo "$f=$(oneline "$f" 2>/dev/null)";;
      restart-agent) touch /run/outpost-restart; kill -KILL "$PPID";;
      restart-agent-term) touch /run/outpost-restart; kill -TERM "$PPID";;
      /*) if [ -e "$x" ]; then echo "$x=present"; else echo "$x=absent"; fi;;
      *) if alive "$x"; then echo "pid$x=alive"; else echo "pid$x=dead"; fi;;
    esac
  done
}
case "$1" in
  start)
    daemon_alive && exit 0
    if [ "$OCF_RESKEY_hog" = yes ]; then
      setsid awk 'BEGIN { s = "a"; while (length(s) < 64 * 1048576) s = s s; system("sleep 600") }' </dev/null >/dev/null 2>&1 &
    else
      setsid sleep 600 </dev/null >/dev/null 2>&1 &
    fi
    echo $! >"$st"
    setsid sleep 600 </dev/null >/dev/null 2>&1 &
    echo $! >"$st.forgotten"
    if [ "$OCF_RESKEY_nest" = yes ]; then
      d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
      mkdir "$d/inner"
      setsid sh -c "echo \$\$ >'$d/inner/cgroup.procs' && exec sleep 600" </dev/null >/dev/null 2>&1 &
      echo $! >"$st.nested"
    fi
    report >&2
    exit 0;;
  stop) daemon_alive && kill "$(cat "$st")"; rm -f "$st"; exit 0;;
  monitor)
    if [ -n "$OCF_RESKEY_look" ]; then look >&2; exit 0; fi
    report >&2
    daemon_alive && exit 0
    echo 'ocf-exit-reason:daemon is gone' >&2; exit 7;;
  meta-data) echo '<resource-agent name="cg"/>'; exit 0;;
  *) exit 3;;
esac
)SH";

using Report = std::map<std::string, std::string>;

// The output as the wire carries it: Pacemaker's attribute escaping turns each newline into
// the two characters "\n".
Report parse_report(const std::string& output)
{
    std::string text;
    for (std::size_t i = 0; i < output.size(); ++i) {
        if (output.compare(i, 2, "\\n") == 0) {
            text.push_back('\n');
            ++i;
        } else {
            text.push_back(output[i]);
        }
    }
    Report r;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos || line.starts_with("ocf-exit-reason:")) continue;
        r[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return r;
}

std::vector<std::string> words(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string w;
    while (in >> w)
        out.push_back(w);
    return out;
}

bool has_word(const std::string& text, const std::string& word)
{
    for (const auto& w : words(text))
        if (w == word) return true;
    return false;
}

wire::ParamMap params(const std::string& state,
                      std::initializer_list<std::pair<const char*, std::string>> extra = {})
{
    wire::ParamMap p;
    p.insert("state", state);
    for (const auto& [n, v] : extra)
        p.insert(n, v);
    p.insert("CRM_meta_timeout", "20000");
    p.insert("crm_feature_set", "3.16.2");
    return p;
}

double seconds_since(std::chrono::steady_clock::time_point t)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// An executor session to the agent in a guest, once the guest's agent answers.
std::unique_ptr<ExecutorSession> connect_when_up(const std::string& address, const std::string& key,
                                                 std::chrono::seconds limit, const std::string& name)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        // A TLS handshake, not only TCP: an agent that just started (or one being killed)
        // may take the connection and drop it.
        Status ready = wait_for_tcp(nullptr, address, kRemotePort, 2s);
        if (ready) {
            ContextPtr context{g_main_context_new()};
            auto probe = RawClient::connect(context.get(), address, kRemotePort, psk_client(key), {}, 5s);
            if (probe) break;
            ready = probe.error();
        }
        if (std::chrono::steady_clock::now() > deadline)
            FAIL("the agent in the guest does not answer on " << address << ": " << ready.error().message);
        std::this_thread::sleep_for(200ms);
    }
    return std::make_unique<ExecutorSession>(address, kRemotePort, key, name);
}

// libvirtd with the drivers for the guest kind; an error with code -ENOENT when the machine
// cannot run such guests (tools missing): the test skips then.
Result<std::unique_ptr<LibvirtHarness>> start_libvirt(bool qemu)
{
    LibvirtOptions options;
    options.lxc = !qemu;
    options.qemu = qemu;
    auto lv = LibvirtHarness::start(options);
    if (lv) WARN("libvirt set-up: " << (*lv)->describe_setup());
    return lv;
}

}  // namespace

TEST_CASE("cgroup v2 for real: outpost-agent in a QEMU/TCG VM whose only cgroup mount is cgroup2",
          "[v2-qemu]")
{
    auto begin = std::chrono::steady_clock::now();
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::geteuid() != 0) OUTPOST_SKIP("QEMU guests need root");
    if (!fs::exists("/bin/busybox")) OUTPOST_SKIP("no /bin/busybox (busybox-static) for the VM's initramfs");
    auto k = kernel();
    if (!k) OUTPOST_SKIP("no kernel for the VM: " + k.error().message);
    auto started_lv = start_libvirt(true);
    if (!started_lv && started_lv.error().code == -ENOENT) OUTPOST_SKIP(started_lv.error().message);
    require_ok(started_lv);
    auto& lv = **started_lv;
    const double lock_s = lv.lock_wait_seconds();
    TempDir dir("outpost-iso-v2");
    // QEMU runs as libvirt-qemu: it must reach the initrd and the console file's directory.
    fs::permissions(dir.path(), fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add);
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    const std::string domain = std::string(kDomainPrefix) + "iso-v2";
    const std::string address = bridge_address(kVmHost);

    InitramfsSpec spec;
    spec.kernel = *k;
    spec.daemon = *agent;
    spec.env = {{"PCMK_logfile", "none"}, {"PCMK_stderr", "1"}, {"OUTPOST_LOG", "agent.isolation:debug"}};
    spec.address = address;
    spec.authkey = key->path();
    spec.files = {{std::string(kAgentDir) + "/cg", kScript}};
    // Pure v2 as a systemd host sets it up: cgroup2 alone at /sys/fs/cgroup, the
    // controllers enabled down to system.slice, the agent's service cgroup delegated (its
    // controllers available, none enabled beneath it: the agent must do that itself).
    spec.setup_script = std::string(
                            "mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup\n"
                            "echo '+cpu +cpuset +io +memory +pids' >/sys/fs/cgroup/cgroup.subtree_control\n"
                            "mkdir -p /sys/fs/cgroup/system.slice\n"
                            "echo '+cpu +cpuset +io +memory +pids' "
                            ">/sys/fs/cgroup/system.slice/cgroup.subtree_control\n"
                            "mkdir -p ") +
                        kVmService +
                        "\n"
                        "echo \"outpost-vm: cgroup2 controllers $(cat /sys/fs/cgroup/cgroup.controllers); "
                        "enabled $(cat /sys/fs/cgroup/system.slice/cgroup.subtree_control)\"\n";
    // After a restart the service cgroup has controllers enabled and takes no process: the
    // agent is started in the leaf its first instance moved into, as systemd 254+ does
    // with DelegateSubgroup=outpost-agent.self.
    spec.daemon_cgroups = {kVmService, std::string(kVmService) + "/outpost-agent.self"};
    spec.restart_flag = "/run/outpost-restart";
    spec.work_dir = dir.path();
    spec.output = dir / "initrd.gz";
    auto initrd = build_initramfs(spec);
    require_ok(initrd);

    VmGuestSpec vm = vm_for_initramfs(domain, k->boot_image(), *initrd, dir / "console.log");
    fs::path xml = dir / "vm.xml";
    require_ok(write_file(xml, qemu_domain_xml(vm, lv.bridge())));
    auto setup_s = seconds_since(begin);
    auto boot = std::chrono::steady_clock::now();
    require_ok(lv.create_domain(kQemuUri, xml, domain));
    auto console = [&] { return file_tail(vm.console_log, 1 << 20); };
    INFO("console:\n" << file_tail(vm.console_log, 6000));
    auto s = connect_when_up(address, key->bytes(), kVmBootTimeout, "isolation-v2");
    auto boot_s = seconds_since(boot);
    auto scenario = std::chrono::steady_clock::now();
    s->add("cg1", kProvider, "cg");
    s->add("look", kProvider, "cg");
    auto look = [&](const std::string& what) {
        auto r = s->exec("look", "monitor", params("/run/look", {{"look", what}}));
        REQUIRE(r.exec_rc == 0);
        return parse_report(r.output.value_or(""));
    };

    // The agent found the delegated service cgroup with processes (itself), moved itself
    // into a leaf and enabled the controllers beneath its cgroup.
    auto layout =
        look(std::string("cat:") + kVmService + "/cgroup.subtree_control cat:" + kVmService +
             "/outpost-agent.self/cgroup.procs cat:" + kVmService + "/outpost-agent/cgroup.subtree_control");
    INFO(console());
    for (const char* c : {"cpu", "cpuset", "io", "memory", "pids"}) {
        INFO(c);
        CHECK(has_word(layout[std::string(kVmService) + "/cgroup.subtree_control"], c));
        CHECK(has_word(layout[std::string(kVmService) + "/outpost-agent/cgroup.subtree_control"], c));
    }
    CHECK(words(layout[std::string(kVmService) + "/outpost-agent.self/cgroup.procs"]).size() == 1);
    CHECK(contains(console(), "moved the agent into " + std::string(kVmService) + "/outpost-agent.self"));
    CHECK(contains(console(), "resources run in cgroups of their own (cgroup v2)"));

    // Start with limits: the daemon and the forgotten process are born in the resource's
    // cgroup, the limits are in its v2 files.
    const std::string state = "/run/cg1.pid";
    auto started = s->exec("cg1", "start",
                           params(state, {{"CRM_meta_outpost_memory_max", "64M"},
                                          {"CRM_meta_outpost_tasks_max", "20"},
                                          {"CRM_meta_outpost_cpu_quota", "50%"},
                                          {"nest", "yes"}}));
    REQUIRE(started.exec_rc == 0);
    CHECK_FALSE(started.exit_reason.has_value());
    auto r = parse_report(started.output.value_or(""));
    const std::string rsc_dir = std::string(kVmService) + "/outpost-agent/rsc-cg1";
    CHECK(r["dir"] == rsc_dir);
    CHECK(r["self_cgroup"] == "0::/system.slice/outpost-agent.service/outpost-agent/rsc-cg1");
    CHECK(r["memory.max"] == "67108864");
    CHECK(r["pids.max"] == "20");
    CHECK(r["cpu.max"] == "50000 100000");
    CHECK(r["memory.high"] == "max");
    CHECK(r["cpu.weight"] == "100");
    CHECK(r["io.weight"] == "default 100");
    CHECK(r["cpuset.cpus"].empty());  // the parent's cpus
    const std::string daemon_pid = r["daemon"];
    const std::string forgotten = r["forgotten"];
    REQUIRE_FALSE(daemon_pid.empty());
    REQUIRE_FALSE(forgotten.empty());
    CHECK(has_word(r["cgroup.procs"], daemon_pid));
    CHECK(has_word(r["cgroup.procs"], forgotten));
    // The third process sits in a cgroup the resource made inside its own.
    const std::string nested = r["nested"];
    REQUIRE_FALSE(nested.empty());
    auto inner = look("cat:" + rsc_dir + "/inner/cgroup.procs");
    CHECK(has_word(inner[rsc_dir + "/inner/cgroup.procs"], nested));

    // A later action with other limits changes them for the same daemon.
    auto changed = s->exec("cg1", "monitor",
                           params(state, {{"CRM_meta_outpost_memory_max", "48M"},
                                          {"CRM_meta_outpost_memory_high", "40M"},
                                          {"CRM_meta_outpost_tasks_max", "30"},
                                          {"CRM_meta_outpost_cpu_weight", "200"},
                                          {"CRM_meta_outpost_io_weight", "300"},
                                          {"CRM_meta_outpost_allowed_cpus", "0"}}));
    CHECK(changed.exec_rc == 0);
    CHECK_FALSE(changed.exit_reason.has_value());
    r = parse_report(changed.output.value_or(""));
    CHECK(r["cpu.weight"] == "200");
    CHECK(r["io.weight"] == "default 300");
    CHECK(r["cpuset.cpus"] == "0");
    CHECK(r["memory.max"] == "50331648");
    CHECK(r["memory.high"] == "41943040");
    CHECK(r["pids.max"] == "30");
    CHECK(r["cpu.max"] == "max 100000");
    CHECK(r["daemon"] == daemon_pid);
    CHECK(has_word(r["cgroup.procs"], daemon_pid));

    // A clean restart as systemd before 254 makes it (KillMode=process leaves cg1 running):
    // SIGTERM to the agent, the next one started in the service cgroup itself. The agent
    // disables at exit the controllers it enabled there, so the kernel takes the new one
    // (the crash below shows the refusal otherwise: EBUSY); that one moves into its leaf
    // again and writes cg1's limits again for the same daemon.
    auto occurrences = [](const std::string& text, const std::string& needle) {
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
            ++n;
        return n;
    };
    const std::string took_service = std::string("cgroup.procs of ") + kVmService + " took the daemon";
    const std::string moved_in = std::string("moved the agent into ") + kVmService + "/outpost-agent.self";
    CHECK(occurrences(console(), took_service) == 1);
    // The look resource's monitor asks /init for another start, then signals the agent.
    auto ask_restart = [&](const char* how) {
        auto req = make_request("lrmd_rsc_exec");
        req.callopts = 4;
        req.timeout_ms = 20000;
        req.rsc.emplace();
        req.rsc->id = "look";
        req.rsc->action = "monitor";
        req.rsc->timeout_ms = 20000;
        req.rsc->params = params("/run/look", {{"look", how}});
        (void)s->client->send(req);
    };
    {
        ask_restart("restart-agent-term");
        // An agent that counts this client as the cluster waits for it to go.
        (void)s->client->wait([&] { return s->client->closed(); }, 5s);
        s->client->close();
    }
    auto term_restart = std::chrono::steady_clock::now();
    s = connect_when_up(address, key->bytes(), 60s, "isolation-v2-term");
    auto term_restart_s = seconds_since(term_restart);
    s->add("cg1", kProvider, "cg");
    s->add("look", kProvider, "cg");
    auto back = s->exec(
        "cg1", "monitor",
        params(state, {{"CRM_meta_outpost_memory_max", "48M"}, {"CRM_meta_outpost_tasks_max", "30"}}));
    CHECK(back.exec_rc == 0);
    r = parse_report(back.output.value_or(""));
    CHECK(r["dir"] == rsc_dir);
    CHECK(r["memory.max"] == "50331648");
    CHECK(r["pids.max"] == "30");
    CHECK(r["daemon"] == daemon_pid);
    CHECK(has_word(r["cgroup.procs"], daemon_pid));
    CHECK(has_word(r["cgroup.procs"], forgotten));
    {
        std::string text = console();
        INFO(text.substr(text.size() > 3000 ? text.size() - 3000 : 0));
        CHECK(contains(text, "resources still run: disabled the controllers"));
        CHECK(contains(text, std::string("so that the next agent can be started in ") + kVmService));
        CHECK(occurrences(text, took_service) == 2);
        CHECK(occurrences(text, moved_in) == 2);
    }
    layout = look(std::string("cat:") + kVmService + "/cgroup.subtree_control");
    for (const char* c : {"cpu", "cpuset", "io", "memory", "pids"}) {
        INFO(c);
        CHECK(has_word(layout[std::string(kVmService) + "/cgroup.subtree_control"], c));
    }

    // The agent is killed and started again (by the VM's init) while cg1 runs: in the leaf
    // of the first instance, it works from the same delegated cgroup, finds cg1's cgroup
    // where it was and changes the running daemon's limits there.
    {
        ask_restart("restart-agent");
        CHECK(s->client->wait([&] { return s->client->closed(); }, 20s));
    }
    auto restart = std::chrono::steady_clock::now();
    s = connect_when_up(address, key->bytes(), 60s, "isolation-v2-again");
    auto restart_s = seconds_since(restart);
    s->add("cg1", kProvider, "cg");
    s->add("look", kProvider, "cg");
    auto again = s->exec("cg1", "monitor", params(state, {{"CRM_meta_outpost_memory_max", "56M"}}));
    CHECK(again.exec_rc == 0);
    r = parse_report(again.output.value_or(""));
    CHECK(r["dir"] == rsc_dir);
    CHECK(r["memory.max"] == "58720256");
    CHECK(r["daemon"] == daemon_pid);
    CHECK(has_word(r["cgroup.procs"], daemon_pid));
    CHECK(has_word(r["cgroup.procs"], forgotten));
    {
        std::string text = console();
        INFO(text.substr(text.size() > 3000 ? text.size() - 3000 : 0));
        CHECK(contains(text, "outpost-vm: daemon exited, starting it again"));
        // Nothing could run at the crash: the service cgroup refused the new agent.
        CHECK(occurrences(text, took_service) == 2);
        CHECK(contains(text,
                       std::string("cgroup.procs of ") + kVmService + "/outpost-agent.self took the daemon"));
        CHECK(contains(text, "the agent runs in its own leaf: working from " + std::string(kVmService)));
        CHECK_FALSE(contains(text, "outpost-agent.self/outpost-agent"));
    }

    // Stop: the agent stops its daemon; the process it forgot and the one in the inner
    // cgroup are killed (cgroup.kill takes the whole subtree), the cgroups removed.
    auto stopped = s->exec("cg1", "stop", params(state));
    CHECK(stopped.exec_rc == 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    Report after;
    std::string watched = daemon_pid;
    watched.append(" ").append(forgotten).append(" ").append(nested).append(" ").append(rsc_dir);
    for (;;) {
        after = look(watched);
        bool done = after["pid" + forgotten] == "dead" && after["pid" + nested] == "dead" &&
                    after[rsc_dir] == "absent";
        if (done || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(after["pid" + daemon_pid] == "dead");
    CHECK(after["pid" + forgotten] == "dead");
    CHECK(after["pid" + nested] == "dead");
    CHECK(after[rsc_dir] == "absent");
    {
        // The serial console reaches its file a moment after the agent writes (TCG).
        std::string text = console();
        for (auto until = std::chrono::steady_clock::now() + 5s;
             !contains(text, forgotten + " (sleep)") && std::chrono::steady_clock::now() < until;
             text = console())
            std::this_thread::sleep_for(100ms);
        INFO("console now:\n" << text.substr(text.size() > 4000 ? text.size() - 4000 : 0));
        CHECK(contains(text, "\"cg1\": stopped, killing "));
        CHECK(contains(text, forgotten + " (sleep)"));
        // Killed through cgroup.kill, and no write of the isolation failed on the way.
        CHECK_FALSE(contains(text, "killing by pid"));
        CHECK_FALSE(contains(text, "(agent.isolation) warning"));
    }

    // A daemon over memory.max is killed by the kernel; the next monitor fails.
    s->add("hog", kProvider, "cg");
    auto hog_params = params("/run/hog.pid", {{"hog", "yes"}, {"CRM_meta_outpost_memory_max", "32M"}});
    auto hog_started = s->exec("hog", "start", hog_params);
    REQUIRE(hog_started.exec_rc == 0);
    CHECK(parse_report(hog_started.output.value_or(""))["memory.max"] == "33554432");
    deadline = std::chrono::steady_clock::now() + 30s;
    // A monitor that runs while the hog presses on the limit shares its cgroup and may be
    // refused itself (rc 1): it is asked again until the daemon's death is reported.
    int rc = 0;
    std::string seen;
    Report hog;
    while (rc != 7 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(200ms);
        auto m = s->exec("hog", "monitor", hog_params);
        rc = m.exec_rc;
        if (rc == 7) hog = parse_report(m.output.value_or(""));
        if (rc != 0 && rc != 7) seen += " " + std::to_string(rc);
    }
    INFO("monitor results other than 0 and 7 on the way:" << seen);
    CHECK(rc == 7);
    INFO("memory.events: " << hog["memory.events"]);
    auto events = words(hog["memory.events"]);
    auto oom_kill = std::find(events.begin(), events.end(), "oom_kill");
    REQUIRE(oom_kill != events.end());
    REQUIRE(oom_kill + 1 != events.end());
    CHECK(std::stoi(*(oom_kill + 1)) >= 1);
    CHECK(s->exec("hog", "stop", hog_params).exec_rc == 0);
    auto scenario_s = seconds_since(scenario);
    s->client->close();
    WARN("timing (v2 VM): waited " << lock_s << " s for the libvirt lock, set-up " << setup_s - lock_s
                                   << " s, boot to the agent answering " << boot_s
                                   << " s, agent restarted after SIGTERM in " << term_restart_s
                                   << " s, after SIGKILL in " << restart_s << " s, scenario " << scenario_s
                                   << " s, total " << seconds_since(begin) - lock_s << " s without the wait");
}

namespace {

std::string link_of(const std::string& path)
{
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    return ec ? std::string() : target.string();
}

// The host pid of the process that is `inner` in the PID namespace of host process `init`
// (the last NSpid of /proc/PID/status is the pid in the process's own namespace).
std::optional<pid_t> host_pid(pid_t init, const std::string& inner)
{
    std::string ns = link_of("/proc/" + std::to_string(init) + "/ns/pid");
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        if (link_of("/proc/" + name + "/ns/pid") != ns) continue;
        std::istringstream status(read_value("/proc/" + name + "/status"));
        std::string line;
        while (std::getline(status, line)) {
            if (!line.starts_with("NSpid:")) continue;
            auto w = words(line.substr(6));
            if (!w.empty() && w.back() == inner) return std::stoi(name);
        }
    }
    return std::nullopt;
}

// True if the mount namespace of host process `pid` has a v1 hierarchy with `controller`.
bool v1_mounted(pid_t pid, const std::string& controller)
{
    std::istringstream in(read_value("/proc/" + std::to_string(pid) + "/mountinfo"));
    std::string line;
    while (std::getline(in, line)) {
        auto sep = line.find(" - cgroup ");
        if (sep == std::string::npos) continue;
        auto w = words(line.substr(sep));
        if (w.size() < 4) continue;
        std::istringstream options(w[3]);
        std::string option;
        while (std::getline(options, option, ','))
            if (option == controller) return true;
    }
    return false;
}

bool dead(pid_t pid)
{
    std::string stat = read_value("/proc/" + std::to_string(pid) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
}

}  // namespace

TEST_CASE("outpost-agent inside a libvirt LXC container confines resources beneath the container's cgroup",
          "[lxc]")
{
    auto begin = std::chrono::steady_clock::now();
    auto agent = agent_path();
    if (!agent) OUTPOST_SKIP("outpost-agent is not built (OUTPOST_AGENT unset)");
    if (::geteuid() != 0) OUTPOST_SKIP("LXC guests need root");
    auto started_lv = start_libvirt(false);
    if (!started_lv && started_lv.error().code == -ENOENT) OUTPOST_SKIP(started_lv.error().message);
    require_ok(started_lv);
    auto& lv = **started_lv;
    const double lock_s = lv.lock_wait_seconds();
    // The test agent on this machine's filesystem, which the container shares.
    InstalledOcfAgent installed(kAgentDir, "cg", kScript);
    TempDir dir("outpost-iso-lxc");
    auto key = Authkey::create(dir / "authkey");
    require_ok(key);
    const std::string domain = std::string(kDomainPrefix) + "iso-lxc";
    const std::string address = bridge_address(kLxcHost);

    LxcGuestSpec spec;
    spec.name = domain;
    spec.command = {*agent};
    spec.address = address;
    spec.state_dir = dir / "state";
    spec.log_file = dir / "agent.out";
    spec.env = {{"PCMK_authkey_location", key->path().string()},
                {"PCMK_logfile", (dir / "agent.log").string()},
                {"OUTPOST_LOG", "agent.isolation:debug"}};
    fs::create_directories(spec.state_dir);
    fs::path xml = dir / "lxc.xml";
    require_ok(write_file(xml, lxc_domain_xml(spec, lv.bridge())));
    auto start = std::chrono::steady_clock::now();
    require_ok(lv.create_domain(kLxcUri, xml, domain));
    auto log = [&] { return file_tail(dir / "agent.log", 1 << 20) + file_tail(spec.log_file, 8000); };
    INFO("agent log:\n" << file_tail(dir / "agent.log", 6000) << file_tail(spec.log_file, 3000));
    auto s = connect_when_up(address, key->bytes(), kLxcStartTimeout, "isolation-lxc");
    auto start_s = seconds_since(start);
    auto init = lv.lxc_init_pid(domain);
    REQUIRE(init.has_value());
    auto container = v1_cgroups_of(*init);
    INFO("container init's cgroups: " << read_value("/proc/" + std::to_string(*init) + "/cgroup"));
    REQUIRE(container.count("memory") == 1);
    s->add("cg1", kProvider, installed.type());
    CHECK(contains(log(), "resources run in cgroups of their own (cgroup v1)"));

    // Start with limits: the daemon is in cgroups beneath the container's, limits in place.
    const std::string state = (dir / "cg1.pid").string();
    auto started = s->exec("cg1", "start",
                           params(state, {{"CRM_meta_outpost_memory_max", "64M"},
                                          {"CRM_meta_outpost_tasks_max", "20"},
                                          {"CRM_meta_outpost_cpu_quota", "50%"}}));
    REQUIRE(started.exec_rc == 0);
    // libvirt (9.0) gives the container the v1 hierarchies it manages and places it in
    // them; pids is not one of them: the container stays in the host's root pids cgroup
    // and has no pids hierarchy mounted, so outpost-tasks-max cannot be applied there
    // and the exit reason says so.
    const bool pids_inside = v1_mounted(*init, "pids");
    WARN("LXC: the container has " << (pids_inside ? "a" : "no") << " pids hierarchy; start's exit reason: "
                                   << started.exit_reason.value_or("(none)"));
    std::optional<std::string> unapplied;
    if (!pids_inside) unapplied = "not applied here: outpost-tasks-max (no pids.max)";
    CHECK(started.exit_reason == unapplied);
    auto r = parse_report(started.output.value_or(""));
    INFO("inside the container: " << r["self_cgroup"]);
    auto daemon = host_pid(*init, r["daemon"]);
    auto forgotten = host_pid(*init, r["forgotten"]);
    REQUIRE(daemon.has_value());
    REQUIRE(forgotten.has_value());
    INFO("daemon's cgroups: " << read_value("/proc/" + std::to_string(*daemon) + "/cgroup"));
    std::map<std::string, std::string> dirs;
    for (const auto& [controller, d] : v1_cgroups_of(*daemon)) {
        if (controller == "pids" && !pids_inside) continue;
        dirs[controller] = d;
        INFO(controller);
        CHECK(d == container[controller] + "/outpost-agent/rsc-cg1");
    }
    REQUIRE(dirs.count("memory") == 1);
    REQUIRE(dirs.count("cpu") == 1);
    CHECK(v1_cgroups_of(*forgotten) == v1_cgroups_of(*daemon));
    CHECK(read_value(dirs["memory"] + "/memory.limit_in_bytes") == "67108864");
    CHECK(read_value(dirs["cpu"] + "/cpu.cfs_quota_us") == "50000");
    if (pids_inside) CHECK(read_value(dirs["pids"] + "/pids.max") == "20");

    // A later action changes them for the same daemon.
    auto changed = s->exec(
        "cg1", "monitor",
        params(state, {{"CRM_meta_outpost_memory_max", "48M"}, {"CRM_meta_outpost_tasks_max", "30"}}));
    CHECK(changed.exec_rc == 0);
    CHECK(changed.exit_reason == unapplied);
    CHECK(read_value(dirs["memory"] + "/memory.limit_in_bytes") == "50331648");
    if (pids_inside) CHECK(read_value(dirs["pids"] + "/pids.max") == "30");
    CHECK(read_value(dirs["cpu"] + "/cpu.cfs_quota_us") == "-1");
    CHECK(has_word(read_value(dirs["memory"] + "/cgroup.procs"), std::to_string(*daemon)));

    // Stop: the forgotten process is killed, the cgroups removed.
    CHECK(s->exec("cg1", "stop", params(state)).exec_rc == 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    auto all_gone = [&] {
        for (const auto& [controller, d] : dirs)
            if (fs::exists(d)) return false;
        return dead(*forgotten);
    };
    while (!all_gone() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    CHECK(dead(*daemon));
    CHECK(dead(*forgotten));
    for (const auto& [controller, d] : dirs)
        CHECK_FALSE(fs::exists(d));
    CHECK(contains(log(), "\"cg1\": stopped, killing "));
    s->client->close();

    // SIGTERM to the container's init stops the agent, which removes its parent cgroups.
    auto down = std::chrono::steady_clock::now();
    require_ok(lv.virsh_checked(kLxcUri, {"shutdown", "--mode", "signal", domain}));
    deadline = std::chrono::steady_clock::now() + 15s;
    while (!lv.domain_state(kLxcUri, domain).empty() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    CHECK(lv.domain_state(kLxcUri, domain).empty());
    WARN("timing (LXC): waited " << lock_s << " s for the libvirt lock; container to the agent answering "
                                 << start_s << " s, shutdown " << seconds_since(down) << " s, total "
                                 << seconds_since(begin) - lock_s << " s without the wait");
}
