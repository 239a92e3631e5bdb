// outpost-simulate: crm_simulate's command line over Outpost's policy engine.
//
// Reads a CIB (-x FILE, -p for stdin), schedules it with the time of -t (else the CIB's
// execution-date, else now), and prints crm_simulate's text sections so the two tools can
// be compared line by line. Work in progress: see docs/policy.md for what is supported.
#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "policy/graph.hpp"
#include "policy/policy.hpp"
#include "policy/simulate.hpp"
#include "policy/text.hpp"

namespace {

using namespace outpost;
using namespace outpost::cluster::policy;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 64;
constexpr int kExitNoInput = 66;
constexpr int kExitDataErr = 65;

struct Args {
    std::string xml_file;
    bool xml_pipe = false;
    bool run = false;
    bool simulate = false;
    bool quiet = false;
    bool scores = false;
    bool utilization = false;
    std::string graph_file, dot_file, output_file;
    std::optional<std::string> datetime;
};

Result<std::string> read_all(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("simulate", -errno, "cannot read " + path + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        Args a;
        static const option longopts[] = {
            {"xml-file", required_argument, nullptr, 'x'},
            {"xml-pipe", no_argument, nullptr, 'p'},
            {"run", no_argument, nullptr, 'R'},
            {"simulate", no_argument, nullptr, 'S'},
            {"quiet", no_argument, nullptr, 'Q'},
            {"show-scores", no_argument, nullptr, 's'},
            {"show-utilization", no_argument, nullptr, 'U'},
            {"save-graph", required_argument, nullptr, 'G'},
            {"save-dotfile", required_argument, nullptr, 'D'},
            {"save-output", required_argument, nullptr, 'O'},
            {"set-datetime", required_argument, nullptr, 't'},
            {"help", no_argument, nullptr, 'h'},
            {nullptr, 0, nullptr, 0},
        };
        int opt = 0;
        while ((opt = getopt_long(argc, argv, "x:pRSQsUG:D:O:t:h", longopts, nullptr)) != -1) {
            switch (opt) {
                case 'x': a.xml_file = optarg; break;
                case 'p': a.xml_pipe = true; break;
                case 'R': a.run = true; break;
                case 'S': a.simulate = true; break;
                case 'Q': a.quiet = true; break;
                case 's': a.scores = true; break;
                case 'U': a.utilization = true; break;
                case 'G': a.graph_file = optarg; break;
                case 'D': a.dot_file = optarg; break;
                case 'O': a.output_file = optarg; break;
                case 't': a.datetime = optarg; break;
                case 'h': std::puts("Usage: outpost-simulate -x FILE [-R|-S] [-Q] [-G FILE] [-D FILE] [-O FILE]"); return kExitOk;
                default: return kExitUsage;
            }
        }
        std::string text;
        if (!a.xml_file.empty()) {
            auto r = read_all(a.xml_file);
            if (!r) {
                std::fprintf(stderr, "outpost-simulate: %s\n", r.error().message.c_str());
                return kExitNoInput;
            }
            text = std::move(*r);
        } else {
            std::ostringstream ss;
            ss << std::cin.rdbuf();
            text = ss.str();
        }
        auto doc = xml::parse(text);
        if (!doc) {
            std::fprintf(stderr, "outpost-simulate: %s\n", doc.error().describe().c_str());
            return kExitDataErr;
        }
        ScheduleOptions so;
        so.clock_now = static_cast<EpochSeconds>(std::time(nullptr));
        if (a.datetime) {
            auto t = parse_datetime(*a.datetime);
            if (!t) {
                std::fprintf(stderr, "outpost-simulate: invalid date/time \"%s\"\n", a.datetime->c_str());
                return kExitUsage;
            }
            so.set_now = *t;
        }
        so.show_scores = a.scores;
        so.sanitized = true;  // as crm_simulate: CIBs may carry masked secrets
        auto c = unpack(std::move(*doc), so);
        if (!c) {
            std::fprintf(stderr, "outpost-simulate: %s\n", c.error().describe().c_str());
            return kExitDataErr;
        }
        Cluster& cl = **c;
        std::string out;
        const std::string date_line =
            cl.now_from_cib ? "Using the original execution date of: " + format_datetime(cl.now) + "\n" : "";
        if (!a.quiet) out += date_line;
        if (!a.quiet) {
            std::string dis = render_disabled_line(cl);
            if (!dis.empty()) out += dis + "\n";
            out += "Current cluster status:\n";
            out += render_status(cl);
        }
        const bool run = a.run || a.simulate || !a.graph_file.empty() || !a.dot_file.empty() || a.scores;
        if (run) {
            if (auto st = schedule(cl); !st) {
                std::fwrite(out.data(), 1, out.size(), stdout);
                std::fprintf(stderr, "outpost-simulate: %s\n", st.error().describe().c_str());
                return kExitDataErr;
            }
            Graph g = build_graph(cl);
            if (std::getenv("OUTPOST_DEBUG_ACTIONS")) {
                for (const Action& act : cl.actions) {
                    std::fprintf(stderr, "%4u %-40s %-12s %s%s%s%s reason=%s\n", act.id, act.key.c_str(),
                                 act.node == kNone ? "-" : cl.nodes[act.node].name.c_str(),
                                 act.optional() ? "opt " : "req ", act.runnable() ? "run " : "unrun ",
                                 act.pseudo() ? "pseudo " : "", (act.flags & kActInGraph) ? "GRAPH" : "",
                                 act.reason.c_str());
                    for (EdgeIdx e : act.before) {
                        const Edge& ed = cl.edges[e];
                        std::fprintf(stderr, "       <- %u %s flags=%x\n", ed.first, cl.actions[ed.first].key.c_str(), ed.flags);
                    }
                }
            }
            if (a.scores) {
                std::vector<std::string> lines = cl.score_lines;
                out += "Allocation scores:\n";
                for (const auto& l : lines) out += l + "\n";
            }
            if (!a.quiet) {
                out += "\nTransition Summary:\n";
                out += render_summary(cl);
            }
            if (!a.graph_file.empty()) {
                std::ofstream f(a.graph_file);
                f << graph_xml(cl, g);
            }
            if (!a.dot_file.empty()) {
                std::ofstream f(a.dot_file);
                f << graph_dot(cl, g);
            }
            if (a.simulate) {
                SimulationResult sim = simulate_transition(cl, g, {});
                if (!sim.executed.empty() && !a.quiet) {
                    out += "\nExecuting Cluster Transition:\n";
                    for (const auto& l : sim.executed) out += l + "\n";
                }
                ScheduleOptions ro;
                ro.set_now = cl.now;
                ro.sanitized = true;
                const std::string saved = a.output_file.empty() ? std::string() : sim.cib.serialize();
                auto revised = unpack(std::move(sim.cib), ro);
                if (!revised) {
                    std::fprintf(stderr, "outpost-simulate: revised CIB: %s\n", revised.error().describe().c_str());
                    return kExitError;
                }
                if (!a.quiet) {
                    out += date_line;
                    out += "\nRevised Cluster Status:\n";
                    out += render_status(**revised);
                }
                if (!a.output_file.empty()) {
                    std::ofstream f(a.output_file);
                    f << saved;
                }
            }
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        return kExitOk;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "outpost-simulate: %s\n", e.what());
        return kExitError;
    }
}
