// outpost-simulate: crm_simulate's command line over Outpost's policy engine.
//
// Reads a CIB (-x FILE, -p for stdin, -L the live CIB through the CIB IPC), applies the requested synthetic
// events (-u, -d, -f, -i, -q), schedules it with the time of -t (else the CIB's execution-date, else now),
// and prints crm_simulate's sections ("Current cluster status:", "Performing Requested Modifications:",
// "Transition Summary:", "Executing Cluster Transition:", "Revised Cluster Status:") so the two tools can be
// compared line by line; --output-as=xml gives them as crm_simulate's <pacemaker-result>. What is not
// supported is refused with a clear error.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "controller/cib_client.hpp"
#include "ipc/header.hpp"
#include "outpost-config.h"
#include "policy/graph.hpp"
#include "policy/policy.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"
#include "policy/xml_output.hpp"
#include "util/xml_text.hpp"

namespace {

using namespace outpost;
using namespace outpost::cluster::policy;

// sysexits.h values, as the other Outpost tools use them.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 64;
constexpr int kExitDataErr = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitUnavailable = 69;
constexpr int kExitCantCreate = 73;
constexpr const char* kInvalidTransition =
    "Transition failed: terminated\nAn invalid transition was produced\n";

constexpr const char* kUsage = R"(Usage: outpost-simulate [OPTION...]

Simulate a Pacemaker cluster's response to events with Outpost's policy engine
(crm_simulate's options and output).

Operations:
  -R, --run                 Show what actions the cluster will take
  -S, --simulate            Like --run, and simulate taking those actions
  -X, --in-place            Like --simulate, and store the result in the input file
  -s, --show-scores         Show allocation scores
  -U, --show-utilization    Show utilization information

Synthetic cluster events:
  -u, --node-up=NODE        Bring a node online
  -d, --node-down=NODE      Take a node offline
  -f, --node-fail=NODE      Fail a node
  -i, --op-inject=OPSPEC    Inject an operation result before scheduling
  -F, --op-fail=OPSPEC      Fail this action if the simulation runs it (implies -S)
  -t, --set-datetime=TIME   Schedule at this time (ISO 8601)
  -q, --quorum=QUORUM       1 or true: the cluster has quorum (only with -u, -d,
                            -f or -i: alone it is ignored, as by crm_simulate 2.1.5)

Artifacts:
  -I, --save-input=FILE     Save the input CIB
  -O, --save-output=FILE    Save the CIB after the simulation
  -G, --save-graph=FILE     Save the transition graph (XML)
  -D, --save-dotfile=FILE   Save the transition graph (DOT)

Data source:
  -x, --xml-file=FILE       Read the CIB from FILE
  -p, --xml-pipe            Read the CIB from standard input
  -L, --live-check          Read the live CIB through the CIB IPC (cib_ro) of the
                            cluster (pacemaker-based) or of outpost-controld

Output:
  --output-as=FORMAT        text (default) or xml
  --output-to=DEST          Write the output to DEST ("-" is standard output)
  -Q, --quiet               Display only essential output (not with --output-as=xml)
  -V, --verbose             Accepted, ignored
  -$, --version             Show the version
  -h, --help                Show this help

OPSPEC is ${resource}_${task}_${interval_in_ms}@${node}=${rc}, e.g.
memcached_monitor_20000@node1=7.

-L needs root or membership of group haclient; PCMK_ipc_buffer sets the IPC buffer. Exit
status 66 when the live CIB cannot be read (no CIB service, permission denied), as
crm_simulate's. Exit status 1 when the simulated transition cannot finish (an action waits
for one that cannot run): "An invalid transition was produced", as crm_simulate.
)";

struct Args {
    std::string xml_file;
    bool xml_pipe = false;
    bool live = false;
    bool run = false;
    bool simulate = false;
    bool in_place = false;
    bool quiet = false;
    bool scores = false;
    bool utilization = false;
    std::string graph_file, dot_file, output_file, input_file;
    std::optional<std::string> datetime;
    std::optional<std::string> quorum;
    std::vector<std::string> node_up, node_down, node_fail, op_inject, op_fail;
    bool xml_output = false;
    std::string output_to;
};

Result<std::string> read_all(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("simulate", -errno, "cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool write_file(const std::string& path, const std::string& data)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << data;
    return static_cast<bool>(f);
}

int fail(int code, const std::string& message)
{
    (void)std::fprintf(stderr, "outpost-simulate: %s\n", message.c_str());
    return code;
}

int unsupported(const char* option, const char* why)
{
    return fail(kExitUsage, std::string(option) + " is not supported yet: " + why);
}

std::string iso_time(EpochSeconds t)
{
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    (void)std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The whole CIB from the CIB manager of this machine (crm_simulate -L reads it so too).
Result<std::string> read_live_cib()
{
    cluster::controller::LiveCibOptions options;
    options.client_name = "outpost-simulate";
    options.buffer_size = ipc::kDefaultBufferSize;
    if (const char* buffer = std::getenv("PCMK_ipc_buffer"); buffer != nullptr && *buffer != '\0') {
        auto size = ipc::parse_buffer_size(buffer);
        if (!size) {
            (void)std::fprintf(stderr, "outpost-simulate: warning: %s\n", size.error().message.c_str());
        } else {
            options.buffer_size = *size;
        }
    }
    return cluster::controller::fetch_live_cib(options);
}

// The request as crm_simulate echoes it in <pacemaker-result request="...">.
std::string request_line(int argc, char** argv)
{
    std::string s = "crm_simulate";
    for (int i = 1; i < argc; ++i) {
        s += ' ';
        s += argv[i];
    }
    return s;
}

// crm_simulate 2.1.5 prints its text without list headings and bullets when it shows
// scores or utilization: every line's leading "  * " goes.
std::string plain_lines(const std::string& text)
{
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + pos, end - pos);
        const std::size_t first = line.find_first_not_of(' ');
        if (first != std::string_view::npos && line.substr(first, 2) == "* ") line.remove_prefix(first + 2);
        out.append(line);
        if (end < text.size()) out += '\n';
        pos = end + 1;
    }
    return out;
}

// Developer aid (OUTPOST_DEBUG_ACTIONS=1): every action with its flags and inputs.
void dump_actions(const Cluster& cl)
{
    for (const Action& act : cl.actions) {
        (void)std::fprintf(stderr, "%4u %-40s %-12s %s%s%s%s reason=%s\n", act.id, act.key.c_str(),
                           act.node == kNone ? "-" : cl.nodes[act.node].name.c_str(),
                           act.optional() ? "opt " : "req ", act.runnable() ? "run " : "unrun ",
                           act.pseudo() ? "pseudo " : "", (act.flags & kActInGraph) ? "GRAPH" : "",
                           act.reason.c_str());
        for (EdgeIdx e : act.before) {
            const Edge& ed = cl.edges[e];
            (void)std::fprintf(stderr, "       <- %u %s flags=%x\n", ed.first,
                               cl.actions[ed.first].key.c_str(), ed.flags);
        }
    }
}

class Output {
public:
    explicit Output(bool xml) : xml_(xml) {}
    [[nodiscard]] bool xml() const { return xml_; }
    std::string& text() { return s_; }
    void append(const std::string& t) { s_ += t; }

private:
    bool xml_;
    std::string s_;
};

struct Run {
    const Args& a;
    Output out;
    EpochSeconds wall_clock = static_cast<EpochSeconds>(std::time(nullptr));
    std::optional<EpochSeconds> set_now;

    // Unpacks the CIB; prints the time line as crm_simulate does at each unpack.
    Result<std::unique_ptr<Cluster>> load(xml::Document cib, bool sanitized = true)
    {
        ScheduleOptions so;
        so.clock_now = wall_clock;
        so.set_now = set_now;
        so.show_scores = a.scores;
        so.show_utilization = a.utilization;
        so.sanitized = sanitized;  // as crm_simulate: CIBs may carry masked secrets
        auto c = unpack(std::move(cib), so);
        if (c && !a.quiet && !out.xml()) {
            if (set_now) {
                out.append("Setting effective cluster time: " + iso_time(*set_now) + "\n");
            } else if ((*c)->now_from_cib) {
                out.append("Using the original execution date of: " + format_datetime((*c)->now) + "\n");
            }
        }
        return c;
    }
};

int run_main(const Args& a, int argc, char** argv)
{
    Run run{a, Output(a.xml_output), static_cast<EpochSeconds>(std::time(nullptr)), std::nullopt};
    // Input.
    std::string text;
    if (a.live) {
        auto r = read_live_cib();
        if (!r) return fail(kExitNoInput, "cannot read the live CIB: " + r.error().message);
        text = std::move(*r);
    } else if (!a.xml_file.empty()) {
        auto r = read_all(a.xml_file);
        if (!r) return fail(kExitNoInput, r.error().message);
        text = std::move(*r);
    } else {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
    }
    if (!a.input_file.empty() && !write_file(a.input_file, text))
        return fail(kExitCantCreate, "cannot write " + a.input_file);
    auto doc = xml::parse(text);
    if (!doc) return fail(kExitDataErr, doc.error().describe());
    if (a.datetime) {
        auto t = parse_datetime(*a.datetime);
        if (!t) return fail(kExitUsage, "invalid date/time \"" + *a.datetime + "\"");
        run.set_now = *t;
    }
    std::vector<OpSpec> injections, failures;
    for (const std::string& spec : a.op_inject) {
        auto s = parse_op_spec(spec);
        if (!s) return fail(kExitUsage, s.error().message);
        injections.push_back(*s);
    }
    for (const std::string& spec : a.op_fail) {
        auto s = parse_op_spec(spec);
        if (!s) return fail(kExitUsage, s.error().message);
        failures.push_back(*s);
    }
    Output& out = run.out;
    // Without -s and -U: crm_mon's fancy lists and section headings; with them, plain.
    const bool fancy = !(a.scores || a.utilization);
    auto styled = [&](const std::string& t) { return fancy ? t : plain_lines(t); };
    if (out.xml()) {
        out.append("<pacemaker-result api-version=\"2.25\" request=\"");
        util::append_xml_escaped(out.text(), request_line(argc, argv));
        out.append("\">\n");
    }
    // Current status. The document is kept (copied) only when it is still needed: for the
    // requested modifications, or to be saved as it is.
    // Q1 (observed): crm_simulate 2.1.5 applies -q only with another modification; alone
    // it is ignored (no "Performing Requested Modifications", the CIB's have-quorum decides).
    const bool modified =
        !a.node_up.empty() || !a.node_down.empty() || !a.node_fail.empty() || !injections.empty();
    const bool keep_doc = modified || (!a.output_file.empty() && !a.simulate);
    auto current = run.load(keep_doc ? doc->copy() : std::move(*doc));
    if (!current) return fail(kExitDataErr, current.error().describe());
    if (!a.quiet) {
        if (out.xml()) {
            out.append(status_xml(**current, "cluster_status", 2));
        } else {
            out.append(render_status_notes(**current));
            if (fancy) out.append("Current cluster status:\n");
            out.append(render_status(**current, fancy));
        }
    }
    // Synthetic events.
    const NodeEntries entries = a.node_up.empty() ? NodeEntries::as_configured : NodeEntries::for_every_state;
    std::unique_ptr<Cluster> cluster;
    if (modified) {
        std::vector<std::string> lines;
        Modifications mods;  // the same facts for --output-as=xml
        mods.quorum = a.quorum;
        if (a.quorum) {
            xml::set_attr(doc->root(), "have-quorum", *a.quorum);
            lines.push_back("  * Setting quorum: " + *a.quorum);
        }
        for (const std::string& n : a.node_up) {
            inject_node_up(*doc, n);
            lines.push_back("  * Bringing node " + n + " online");
            mods.nodes.emplace_back("Online", n);
        }
        for (const std::string& n : a.node_down) {
            inject_node_down(*doc, n, entries);
            lines.push_back("  * Taking node " + n + " offline");
            mods.nodes.emplace_back("Offline", n);
        }
        for (const std::string& n : a.node_fail) {
            inject_node_fail(*doc, n, entries);
            lines.push_back("  * Failing node " + n);
            mods.nodes.emplace_back("Failing", n);
        }
        for (std::size_t i = 0; i < injections.size(); ++i) {
            lines.push_back("  * Injecting " + a.op_inject[i] + " into the configuration");
            mods.injections.push_back({a.op_inject[i], {}});
            if (auto st = inject_op(*doc, injections[i], run.wall_clock, lines, entries,
                                    &mods.injections.back().attrs);
                !st)
                return fail(kExitDataErr, st.error().describe());
        }
        if (out.xml()) {
            out.append(modifications_xml(mods, 2));
        } else if (!a.quiet) {
            out.append(fancy ? "\nPerforming Requested Modifications:\n" : "\n");
            for (const auto& l : lines)
                out.append(styled(l) + "\n");
        }
        auto c = run.load(doc->copy());
        if (!c) return fail(kExitDataErr, c.error().describe());
        cluster = std::move(*c);
    } else {
        cluster = std::move(*current);
    }
    const bool schedule_it = a.run || a.simulate || a.scores || a.utilization || !a.graph_file.empty() ||
                             !a.dot_file.empty() || !a.output_file.empty();
    bool invalid = false;  // the simulated transition could not finish (SimulationResult)
    if (schedule_it) {
        Cluster& cl = *cluster;
        if (auto st = schedule(cl); !st) {
            (void)std::fwrite(out.text().data(), 1, out.text().size(), stdout);
            return fail(kExitDataErr, st.error().describe());
        }
        Graph g = build_graph(cl);
        if (std::getenv("OUTPOST_DEBUG_ACTIONS")) dump_actions(cl);
        if (!fancy && !out.xml()) {
            // After a blank line: the informational lines, then scores and utilization as
            // assignment produced them.
            if (!a.quiet) {
                out.append("\n");
                for (const auto& l : cl.info_lines)
                    out.append(l + "\n");
            }
            for (const auto& l : cl.score_lines)
                out.append(l.text() + "\n");
        } else if (!fancy) {
            out.append(scores_xml(cl.score_lines, a.scores, a.utilization, 2));
        }
        const auto summary = summarize(cl);
        if (!a.quiet) {
            if (out.xml()) {
                out.append(summary_xml(cl, summary, 2));
            } else {
                out.append(fancy ? "\nTransition Summary:\n" : "\n");
                out.append(styled(render_summary(summary)));
            }
        }
        if (!a.graph_file.empty() && !write_file(a.graph_file, graph_xml(cl, g)))
            return fail(kExitCantCreate, "cannot write " + a.graph_file);
        if (!a.dot_file.empty() && !write_file(a.dot_file, graph_dot(cl, g)))
            return fail(kExitCantCreate, "cannot write " + a.dot_file);
        if (a.simulate) {
            SimulationResult sim = simulate_transition(cl, g, failures, run.wall_clock, entries);
            const std::string result =
                (!a.output_file.empty() || a.in_place) ? sim.cib.serialize() : std::string();
            if (!a.output_file.empty() && !write_file(a.output_file, result))
                return fail(kExitCantCreate, "cannot write " + a.output_file);
            if (a.in_place && !write_file(a.xml_file, result))
                return fail(kExitCantCreate, "cannot write " + a.xml_file);
            invalid = sim.invalid;
            if (!a.quiet) {
                if (out.xml()) {
                    out.append(executed_xml(sim.executed, 2));
                } else {
                    out.append(fancy ? "\nExecuting Cluster Transition:\n" : "\n");
                    for (const auto& e : sim.executed)
                        out.append(styled(e.text) + "\n");
                }
            }
            if (invalid && !out.xml()) {
                // On stderr, after what was executed (as crm_simulate).
                if (a.output_to.empty() || a.output_to == "-") {
                    (void)std::fwrite(out.text().data(), 1, out.text().size(), stdout);
                    (void)std::fflush(stdout);
                    out.text().clear();
                }
                (void)std::fputs(kInvalidTransition, stderr);
            }
            if (!a.quiet) {
                // The revised status is shown, not needed otherwise.
                auto revised = run.load(std::move(sim.cib));
                if (!revised) return fail(kExitError, "revised CIB: " + revised.error().describe());
                if (out.xml()) {
                    out.append(status_xml(**revised, "revised_cluster_status", 2));
                } else {
                    out.append(fancy ? "\nRevised Cluster Status:\n" : "\n");
                    out.append(render_status(**revised, fancy));
                }
            } else if (!fancy && !out.xml()) {
                out.append("\n");  // crm_simulate -Q -S with -s or -U ends so
            }
        } else if (!a.output_file.empty() && !write_file(a.output_file, doc->serialize())) {
            return fail(kExitCantCreate, "cannot write " + a.output_file);
        }
    } else if (!a.output_file.empty() && !write_file(a.output_file, doc->serialize())) {
        return fail(kExitCantCreate, "cannot write " + a.output_file);
    }
    if (out.xml() && invalid) {
        out.append(
            "  <status code=\"1\" message=\"Error occurred\">\n    <errors>\n"
            "      <error>Transition failed: terminated</error>\n"
            "      <error>An invalid transition was produced</error>\n    </errors>\n  </status>\n"
            "</pacemaker-result>\n");
    } else if (out.xml()) {
        out.append("  <status code=\"0\" message=\"OK\"/>\n</pacemaker-result>\n");
    }
    if (!a.output_to.empty() && a.output_to != "-") {
        if (!write_file(a.output_to, out.text())) return fail(kExitCantCreate, "cannot write " + a.output_to);
    } else {
        (void)std::fwrite(out.text().data(), 1, out.text().size(), stdout);
    }
    return invalid ? kExitError : kExitOk;
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        Args a;
        enum { kOutputAs = 1000, kOutputTo, kTextFancy, kHelpAll };
        static const option longopts[] = {
            {"xml-file", required_argument, nullptr, 'x'},
            {"xml-pipe", no_argument, nullptr, 'p'},
            {"live-check", no_argument, nullptr, 'L'},
            {"run", no_argument, nullptr, 'R'},
            {"simulate", no_argument, nullptr, 'S'},
            {"in-place", no_argument, nullptr, 'X'},
            {"show-attrs", no_argument, nullptr, 'A'},
            {"show-failcounts", no_argument, nullptr, 'c'},
            {"show-scores", no_argument, nullptr, 's'},
            {"show-utilization", no_argument, nullptr, 'U'},
            {"profile", required_argument, nullptr, 'P'},
            {"repeat", required_argument, nullptr, 'N'},
            {"node-up", required_argument, nullptr, 'u'},
            {"node-down", required_argument, nullptr, 'd'},
            {"node-fail", required_argument, nullptr, 'f'},
            {"op-inject", required_argument, nullptr, 'i'},
            {"op-fail", required_argument, nullptr, 'F'},
            {"set-datetime", required_argument, nullptr, 't'},
            {"quorum", required_argument, nullptr, 'q'},
            {"watchdog", required_argument, nullptr, 'w'},
            {"ticket-grant", required_argument, nullptr, 'g'},
            {"ticket-revoke", required_argument, nullptr, 'r'},
            {"ticket-standby", required_argument, nullptr, 'b'},
            {"ticket-activate", required_argument, nullptr, 'e'},
            {"save-input", required_argument, nullptr, 'I'},
            {"save-output", required_argument, nullptr, 'O'},
            {"save-graph", required_argument, nullptr, 'G'},
            {"save-dotfile", required_argument, nullptr, 'D'},
            {"all-actions", no_argument, nullptr, 'a'},
            {"quiet", no_argument, nullptr, 'Q'},
            {"verbose", no_argument, nullptr, 'V'},
            {"version", no_argument, nullptr, '$'},
            {"output-as", required_argument, nullptr, kOutputAs},
            {"output-to", required_argument, nullptr, kOutputTo},
            {"text-fancy", no_argument, nullptr, kTextFancy},
            {"help", no_argument, nullptr, 'h'},
            {"help-all", no_argument, nullptr, kHelpAll},
            {nullptr, 0, nullptr, 0},
        };
        int opt = 0;
        while ((opt = getopt_long(argc, argv, "x:pLRSXAcsUP:N:u:d:f:i:F:t:q:w:g:r:b:e:I:O:G:D:aQV$h",
                                  longopts, nullptr)) != -1) {
            switch (opt) {
                case 'x':
                    a.xml_file = optarg;
                    break;
                case 'p':
                    a.xml_pipe = true;
                    break;
                case 'L':
                    a.live = true;
                    break;
                case 'R':
                    a.run = true;
                    break;
                case 'S':
                    a.simulate = true;
                    break;
                case 'X':
                    a.simulate = true;
                    a.in_place = true;
                    break;
                case 'A':
                    return unsupported("--show-attrs", "node attributes are not shown");
                case 'c':
                    return unsupported("--show-failcounts", "fail counts are not shown");
                case 's':
                    a.scores = true;
                    break;
                case 'U':
                    a.utilization = true;
                    break;
                case 'P':
                case 'N':
                    return unsupported("--profile/--repeat", "use tests/bench");
                case 'u':
                    a.node_up.emplace_back(optarg);
                    break;
                case 'd':
                    a.node_down.emplace_back(optarg);
                    break;
                case 'f':
                    a.node_fail.emplace_back(optarg);
                    break;
                case 'i':
                    a.op_inject.emplace_back(optarg);
                    break;
                case 'F':
                    a.op_fail.emplace_back(optarg);
                    a.simulate = true;  // as crm_simulate: a failure needs a simulation
                    break;
                case 't':
                    a.datetime = optarg;
                    break;
                case 'q':
                    a.quorum = optarg;
                    break;
                case 'w':
                    return unsupported("--watchdog", "watchdog fencing is not modelled");
                case 'g':
                case 'r':
                case 'b':
                case 'e':
                    return unsupported("ticket options", "rsc_ticket is not modelled");
                case 'I':
                    a.input_file = optarg;
                    break;
                case 'O':
                    a.output_file = optarg;
                    break;
                case 'G':
                    a.graph_file = optarg;
                    break;
                case 'D':
                    a.dot_file = optarg;
                    break;
                case 'a':
                    return unsupported("--all-actions", "the dot file shows the transition only");
                case 'Q':
                    a.quiet = true;
                    break;
                case 'V':
                    break;
                case '$':
                    (void)std::puts("outpost-simulate (Outpost) " OUTPOST_VERSION);
                    return kExitOk;
                case kOutputAs:
                    if (std::strcmp(optarg, "xml") == 0) {
                        a.xml_output = true;
                    } else if (std::strcmp(optarg, "text") != 0) {
                        return fail(kExitUsage, std::string("unknown output format \"") + optarg + "\"");
                    }
                    break;
                case kOutputTo:
                    a.output_to = optarg;
                    break;
                case kTextFancy:
                    break;
                case 'h':
                case kHelpAll:
                    (void)std::fputs(kUsage, stdout);
                    return kExitOk;
                default:
                    (void)std::fputs(kUsage, stderr);
                    return kExitUsage;
            }
        }
        if (optind < argc)
            return fail(kExitUsage, std::string("unexpected argument \"") + argv[optind] + "\"");
        if (static_cast<int>(!a.xml_file.empty()) + static_cast<int>(a.xml_pipe) + static_cast<int>(a.live) >
            1)
            return fail(kExitUsage, "give one input: -x FILE, -p or -L");
        if (a.xml_file.empty() && !a.xml_pipe && !a.live)
            return fail(kExitUnavailable, "no input: give -x FILE, -p or -L");
        if (a.in_place && a.xml_file.empty()) return fail(kExitUsage, "--in-place needs --xml-file");
        // (crm_simulate 2.1.5 writes its whole XML result with -Q too: observed.)
        if (a.xml_output) a.quiet = false;
        return run_main(a, argc, argv);
    } catch (const std::exception& e) {
        return fail(kExitError, e.what());
    }
}
