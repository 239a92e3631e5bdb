// Transcript normalization and comparison: see transcript.hpp.
#include "conformance/transcript.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace outpost::test::conformance {

namespace {

std::optional<std::int64_t> to_int(const std::string& text)
{
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
    return value;
}

bool looks_like_uuid(const std::string& text)
{
    static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
    return std::regex_match(text, uuid);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to)
{
    if (from.empty()) return text;
    for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
    return text;
}

std::string duration_class(std::int64_t ms)
{
    // 0 is not kept apart: a queue time of 0 or 1 ms is scheduling noise.
    if (ms < 0) return "{negative}";  // 2.1.5: ops cancelled before they ever started
    if (ms < kFastLimitMs) return "{fast}";
    // Whole seconds, rounded down: an agent that sleeps 1 s takes 1.0-1.9 s on a loaded
    // 2-core machine (ASan build, parallel jobs), and rounding to the nearest half second
    // put the two daemons' 1.2 s and 1.3 s in different classes. Scenarios pick their
    // sleeps, delays and timeouts so that the whole second is what they check.
    char buffer[32];
    (void)std::snprintf(buffer, sizeof buffer, "{%llds+}", static_cast<long long>(ms / 1000));
    return buffer;
}

// The exit reason of an action 2.1.5 gave up checking on (agents.hpp in the agent).
constexpr const char* kFollowUpTimeoutReason =
    "Investigate reason for timeout, and adjust configured operation timeout if necessary";

// Values longer than this are shown as length and hash (they are compared all the same).
constexpr std::size_t kLongValue = 2000;

std::string summarize(const std::string& value)
{
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a: stable across runs and builds
    for (unsigned char byte : value)
        hash = (hash ^ byte) * 1099511628211ULL;
    char buffer[64];
    (void)std::snprintf(buffer, sizeof buffer, "{%zu bytes, fnv %016llx}", value.size(),
                        static_cast<unsigned long long>(hash));
    return buffer;
}

class Normalizer {
public:
    Normalizer(const NormalizeContext& context, std::optional<std::int64_t> base)
        : context_(context), base_(base), now_(static_cast<std::int64_t>(std::time(nullptr)))
    {
    }

    void element(wire::Element& e, const std::string& answers) const
    {
        for (auto& [name, value] : e.attributes)
            value = attribute(e.name, name, value, answers);
        if (e.name == "lrmd_notify") follow_up_timeout(e);
        for (auto& child : e.children)
            element(child, "");
    }

private:
    // A start or stop that was checked again until its timeout ran out (systemd, nagios:
    // docs/conformance.md) reports the last delay between checks as its start delay, and
    // the output of the last check if that finished before the deadline: both depend on how
    // long each check took on the machine, so only "a delay" is compared, and no output.
    static void follow_up_timeout(wire::Element& e)
    {
        const std::string* status = e.attr("lrmd_exec_op_status");
        const std::string* reason = e.attr("lrmd_rsc_exit_reason");
        if (status == nullptr || *status != "2" || reason == nullptr || *reason != kFollowUpTimeoutReason)
            return;
        const std::string* delay = e.attr("lrmd_rsc_start_delay");
        if (delay != nullptr && *delay != "0") e.set("lrmd_rsc_start_delay", "{check delay}");
        std::erase_if(e.attributes,
                      [](const auto& attribute) { return attribute.first == "lrmd_rsc_output"; });
    }

    [[nodiscard]] std::string call_id(const std::string& value) const
    {
        auto v = to_int(value);
        if (!v || *v <= 0 || !base_) return value;
        std::int64_t offset = *v - *base_;
        return offset == 0 ? "#0" : (offset > 0 ? "#+" : "#") + std::to_string(offset);
    }

    [[nodiscard]] std::string attribute(const std::string& element_name, const std::string& name,
                                        const std::string& raw, const std::string& answers) const
    {
        std::string value = raw;
        for (const auto& path : context_.private_paths)
            value = replace_all(value, path, "{dir}");
        if (value.size() > kLongValue) return summarize(value);
        if (element_name == "attributes" || element_name == "param") return value;  // agent parameters
        if (name == "lrmd_clientid") return looks_like_uuid(value) ? "{uuid}" : "{not-a-uuid:" + value + "}";
        if (name == "lrmd_callid") return call_id(value);
        if (name == "lrmd_rc" && element_name == "lrmd_reply" && answers == "lrmd_rsc_exec") {
            auto v = to_int(value);
            if (v && *v > 0) return call_id(value);
            return value;
        }
        if (name == "lrmd_run_time" || name == "lrmd_rcchange_time") {
            auto v = to_int(value);
            if (!v) return "{not-a-number:" + value + "}";
            if (*v == 0) return "0";
            if (*v >= context_.epoch_start - 2 && *v <= now_ + 2) return "{now}";
            return "{out-of-range:" + value + "}";
        }
        if (name == "lrmd_exec_time" || name == "lrmd_queue_time") {
            auto v = to_int(value);
            return v ? duration_class(*v) : "{not-a-number:" + value + "}";
        }
        if (name == "uptime") {
            auto v = to_int(value);
            return v && *v >= 0 ? "{uptime}" : "{bad-uptime:" + value + "}";
        }
        return value;
    }

    const NormalizeContext& context_;
    std::optional<std::int64_t> base_;
    std::int64_t now_;
};

// ---------------------------------------------------------------------------- known differences

// Deliberate, documented differences (docs/conformance.md, "Known differences"). Each
// applies to one attribute that is present or different on the outpost side.
struct Tolerance {
    const char* name;
    bool (*applies)(const Line& real, const wire::Element& real_element, const std::string& attribute,
                    const std::string* real_value, const std::string* outpost_value);
};

// A register reply: the root of a line, or one a raw session received (an observation).
bool is_register_reply(const Line& /*line*/, const wire::Element& e)
{
    return e.name == "lrmd_reply" && e.attr("lrmd_op") != nullptr && *e.attr("lrmd_op") == "register";
}

// The byte count of a value normalized to "{N bytes, fnv H}" (see summarize()).
std::optional<std::size_t> summarized_size(const std::string* value)
{
    if (value == nullptr || value->size() < 2 || value->front() != '{') return std::nullopt;
    std::size_t end = value->find(" bytes, fnv ");
    if (end == std::string::npos) return std::nullopt;
    auto number = to_int(value->substr(1, end - 1));
    if (!number || *number < 0) return std::nullopt;
    return static_cast<std::size_t>(*number);
}

// outpost-agent's capture limit (guest-agent/executor/spawner.hpp: kMaxCapturedOutput,
// kCapturedTail) plus room for the truncation note between the head and the tail.
constexpr std::size_t kOutputCap = std::size_t{1024} * 1024;
constexpr std::size_t kOutputTail = 4096;
constexpr std::size_t kTruncationNote = 256;

// Why each is accepted (docs/conformance.md, "Known differences", has the details):
//  - uptime / node_start_state: later Pacemaker versions add them to the register reply;
//    2.1.5 controllers ignore unknown attributes, newer ones use them.
//  - recurring times: 2.1.5 zeroes run/exec/queue times on every recurring notify after
//    the first (a side effect of how its services layer re-drives the op); real values are
//    what the fields mean, and the controller copes with both.
//  - negative queue time: 2.1.5 computes it from a start time that was never set when an
//    op is cancelled before it started; 0 is the sane value.
//  - corrupt stream: after garbage bytes, a bad magic or a non-XML payload the 2.1.5 reader
//    is out of step and the connection is useless; it leaves it open, outpost closes it.
//  - output cap: 2.1.5 passes on everything an agent writes (2 MiB observed); outpost
//    keeps the first 1 MiB and the last 4 KiB of each stream (with a note in between), so
//    a runaway agent cannot make the daemon, and every client, hold its flood.
const Tolerance kTolerances[] = {
    {"register reply carries `uptime` (2.1.6+)",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         return attribute == "uptime" && rv == nullptr && ov != nullptr && is_register_reply(line, e);
     }},
    {"register reply carries `node_start_state` (2.1.7+)",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         return attribute == "node_start_state" && rv == nullptr && ov != nullptr &&
                is_register_reply(line, e);
     }},
    {"real times on recurring-op notifies where 2.1.5 sends 0",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         if (&e != &line.element || e.name != "lrmd_notify") return false;
         if (attribute != "lrmd_run_time" && attribute != "lrmd_exec_time" && attribute != "lrmd_queue_time")
             return false;
         const std::string* interval = e.attr("lrmd_rsc_interval");
         return interval != nullptr && *interval != "0" && rv != nullptr && *rv == "0" && ov != nullptr &&
                *ov != "0";
     }},
    {"0 instead of 2.1.5's garbage negative queue time for ops cancelled before they started",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         return &e == &line.element && e.name == "lrmd_notify" && attribute == "lrmd_queue_time" &&
                rv != nullptr && *rv == "{negative}" && ov != nullptr && *ov == "{fast}";
     }},
    {"a corrupt stream is dropped where 2.1.5 leaves the connection open (dead)",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         const std::string* what = e.attr("what");
         return &e == &line.element && e.name == "observe" && attribute == "value" && what != nullptr &&
                (*what == "garbage bytes" || *what == "bad magic" || *what == "non-XML payload") &&
                rv != nullptr && *rv == "still open" && ov != nullptr && *ov == "dropped";
     }},
    {"agent output beyond 1 MiB per stream is cut to its first 1 MiB and last 4 KiB",
     [](const Line& line, const wire::Element& e, const std::string& attribute, const std::string* rv,
        const std::string* ov) {
         if (&e != &line.element || e.name != "lrmd_notify" || attribute != "lrmd_rsc_output") return false;
         auto real = summarized_size(rv);
         auto ours = summarized_size(ov);
         return real && ours && *real > kOutputCap && *ours > kOutputCap &&
                *ours <= kOutputCap + kOutputTail + kTruncationNote;
     }},
};

std::string show(const std::string* value)
{
    return value != nullptr ? "\"" + *value + "\"" : "(absent)";
}

void compare_elements(const Line& real_line, const wire::Element& real, const wire::Element& outpost,
                      const std::string& where, Comparison& result, bool& differs)
{
    if (real.name != outpost.name) {
        result.differences.push_back(where + ": element <" + real.name + "> vs <" + outpost.name + ">");
        differs = true;
        return;
    }
    std::set<std::string> names;
    for (const auto& [name, value] : real.attributes)
        names.insert(name);
    for (const auto& [name, value] : outpost.attributes)
        names.insert(name);
    for (const std::string& name : names) {
        const std::string* rv = real.attr(name);
        const std::string* ov = outpost.attr(name);
        if (rv != nullptr && ov != nullptr && *rv == *ov) continue;
        const Tolerance* tolerance = nullptr;
        for (const auto& t : kTolerances) {
            if (t.applies(real_line, real, name, rv, ov)) tolerance = &t;
        }
        std::string text = where;
        text += "/@" + name;
        text += ": real " + show(rv);
        text += ", outpost " + show(ov);
        if (tolerance != nullptr) {
            result.tolerated.push_back(text + "  [known: " + tolerance->name + "]");
            result.tolerated_kinds.emplace_back(tolerance->name);
        } else {
            result.differences.push_back(text);
            differs = true;
        }
    }
    if (real.children.size() != outpost.children.size()) {
        result.differences.push_back(where + ": " + std::to_string(real.children.size()) + " children vs " +
                                     std::to_string(outpost.children.size()));
        differs = true;
    }
    for (std::size_t i = 0; i < std::min(real.children.size(), outpost.children.size()); ++i) {
        compare_elements(real_line, real.children[i], outpost.children[i],
                         where + "/" + real.children[i].name + "[" + std::to_string(i) + "]", result,
                         differs);
    }
}

std::string line_text(const Line& line, std::size_t index)
{
    return "[" + std::to_string(index) + "] " + line.source + ": " + wire::serialize(line.element);
}

std::vector<std::string> wrap(const std::string& text, std::size_t width)
{
    std::vector<std::string> rows;
    std::string row;
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        while (word.size() > width) {
            if (!row.empty()) rows.push_back(std::exchange(row, {}));
            rows.push_back(word.substr(0, width));
            word.erase(0, width);
        }
        if (!row.empty() && row.size() + 1 + word.size() > width) rows.push_back(std::exchange(row, {}));
        row += (row.empty() ? "" : " ") + word;
    }
    if (!row.empty()) rows.push_back(row);
    return rows;
}

}  // namespace

Transcript normalize(const Driver& driver, const std::vector<wire::Element>& observations,
                     const NormalizeContext& context)
{
    Transcript out;
    std::vector<std::string> answers;  // per line: the op of the request a reply answers
    for (const auto& client : driver.clients()) {
        for (const Received& r : client->received()) {
            Line line;
            line.source = client->label();
            if (r.element) {
                line.element = *r.element;
            } else {
                line.element = wire::Element{"unparseable", {{"text", r.xml}}, {}};
            }
            std::string op;
            if (line.element.name == "lrmd_reply") {
                if (auto id = to_int(r.attr("lrmd_remote_msg_id")); id && *id > 0)
                    op = client->op_of(static_cast<std::uint64_t>(*id));
            }
            answers.push_back(op);
            out.push_back(std::move(line));
        }
    }
    // Call ids count from the first one the scenario saw (daemons number them globally).
    std::optional<std::int64_t> base;
    for (const Line& line : out) {
        if (const std::string* id = line.element.attr("lrmd_callid"); id != nullptr) {
            if (auto v = to_int(*id); v && *v > 0) {
                base = *v;
                break;
            }
        }
    }
    Normalizer normalizer(context, base);
    for (std::size_t i = 0; i < out.size(); ++i)
        normalizer.element(out[i].element, answers[i]);
    for (const auto& observation : observations) {
        Line line{"observe", observation};
        normalizer.element(line.element, "");
        out.push_back(std::move(line));
    }
    return out;
}

Comparison compare(const Transcript& real, const Transcript& outpost)
{
    // Lines are compared source by source (each client's messages in order, then the
    // observations), so one missing message does not misalign everything after it.
    Comparison result;
    result.real_differs.assign(real.size(), false);
    result.outpost_differs.assign(outpost.size(), false);
    std::vector<std::string> sources;
    for (const auto* t : {&real, &outpost}) {
        for (const Line& line : *t) {
            if (std::find(sources.begin(), sources.end(), line.source) == sources.end())
                sources.push_back(line.source);
        }
    }
    auto indices = [](const Transcript& t, const std::string& source) {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i].source == source) out.push_back(i);
        }
        return out;
    };

    for (const std::string& source : sources) {
        auto r = indices(real, source);
        auto o = indices(outpost, source);
        if (r.size() != o.size()) {
            result.differences.push_back(source + ": real has " + std::to_string(r.size()) +
                                         " lines, outpost " + std::to_string(o.size()));
        }
        for (std::size_t k = 0; k < std::max(r.size(), o.size()); ++k) {
            if (k >= r.size() || k >= o.size()) {
                const Line& extra = k < r.size() ? real[r[k]] : outpost[o[k]];
                result.differences.push_back(source + " line " + std::to_string(k) + " only in " +
                                             (k < r.size() ? "real" : "outpost") + ": " +
                                             wire::serialize(extra.element));
                if (k < r.size()) result.real_differs[r[k]] = true;
                if (k < o.size()) result.outpost_differs[o[k]] = true;
                continue;
            }
            std::string where = "[" + std::to_string(r[k]) + "] " + source + " " + real[r[k]].element.name;
            bool differs = false;
            compare_elements(real[r[k]], real[r[k]].element, outpost[o[k]].element, where, result, differs);
            if (differs) {
                result.real_differs[r[k]] = true;
                result.outpost_differs[o[k]] = true;
            }
        }
    }
    return result;
}

std::string format_transcript(const Transcript& transcript)
{
    std::string out;
    for (std::size_t i = 0; i < transcript.size(); ++i)
        out += line_text(transcript[i], i) + "\n";
    return out;
}

std::string format_side_by_side(const Transcript& real, const Transcript& outpost,
                                const Comparison& comparison)
{
    constexpr std::size_t kWidth = 76;
    std::string out;
    std::string left_title = "pacemaker-remoted 2.1.5";
    out += "   " + left_title + std::string(kWidth - left_title.size(), ' ') + " | outpost-agent\n";
    out += "   " + std::string(kWidth, '-') + "-+-" + std::string(kWidth, '-') + "\n";
    // Rows pair each source's lines in order, the way compare() matched them.
    std::vector<std::string> sources;
    for (const auto* t : {&real, &outpost}) {
        for (const Line& line : *t) {
            if (std::find(sources.begin(), sources.end(), line.source) == sources.end())
                sources.push_back(line.source);
        }
    }
    for (const std::string& source : sources) {
        std::vector<std::size_t> r;
        std::vector<std::size_t> o;
        for (std::size_t i = 0; i < real.size(); ++i) {
            if (real[i].source == source) r.push_back(i);
        }
        for (std::size_t i = 0; i < outpost.size(); ++i) {
            if (outpost[i].source == source) o.push_back(i);
        }
        for (std::size_t k = 0; k < std::max(r.size(), o.size()); ++k) {
            auto left =
                k < r.size() ? wrap(line_text(real[r[k]], r[k]), kWidth) : std::vector<std::string>{"(none)"};
            auto right = k < o.size() ? wrap(line_text(outpost[o[k]], o[k]), kWidth)
                                      : std::vector<std::string>{"(none)"};
            bool bad = (k < r.size() && comparison.real_differs[r[k]]) ||
                       (k < o.size() && comparison.outpost_differs[o[k]]) || k >= r.size() || k >= o.size();
            for (std::size_t row = 0; row < std::max(left.size(), right.size()); ++row) {
                std::string l = row < left.size() ? left[row] : "";
                std::string rr = row < right.size() ? right[row] : "";
                out += row == 0 && bad ? "!! " : "   ";
                out += l;
                out.append(kWidth - std::min(kWidth, l.size()), ' ');
                out += " | ";
                out += rr;
                out += "\n";
            }
        }
    }
    return out;
}

}  // namespace outpost::test::conformance
