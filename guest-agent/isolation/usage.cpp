#include "isolation/usage.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <chrono>
#include <functional>

#include "io/source.hpp"
#include "isolation/manager.hpp"
#include "metrics/registry.hpp"

namespace outpost::agent::isolation {

namespace {

// The largest of these files (cpu.stat, memory.events) holds a few hundred bytes.
constexpr std::size_t kMaxFileBytes = 4096;

// One read(2), no stream: a scrape reads several files of each of up to thousands of cgroups.
std::optional<std::string> slurp(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::array<char, kMaxFileBytes> buffer{};
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    ::close(fd);
    if (n < 0) return std::nullopt;
    return std::string(buffer.data(), static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> number(const std::optional<std::string>& text)
{
    if (!text) return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end == text->data()) return std::nullopt;
    return value;
}

std::optional<std::uint64_t> keyed(const std::optional<std::string>& text, const std::string& key)
{
    return text ? keyed_value(*text, key) : std::nullopt;
}

std::string dir_of(const std::map<std::string, std::string, std::less<>>& dirs, const char* controller)
{
    auto it = dirs.find(controller);
    return it == dirs.end() ? std::string() : it->second;
}

}  // namespace

std::optional<std::uint64_t> keyed_value(const std::string& text, const std::string& key)
{
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + at, end - at);
        if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
            std::uint64_t value = 0;
            auto digits = line.substr(key.size() + 1);
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (ec == std::errc() && p != digits.data()) return value;
            return std::nullopt;
        }
        at = end + 1;
    }
    return std::nullopt;
}

Usage read_usage(Kind kind, const std::map<std::string, std::string, std::less<>>& dirs)
{
    Usage u;
    if (kind == Kind::v2) {
        std::string dir = dir_of(dirs, "");
        if (dir.empty()) return u;
        if (auto usec = keyed(slurp(dir + "/cpu.stat"), "usage_usec"))
            u.cpu_seconds = static_cast<double>(*usec) / 1e6;
        u.memory_bytes = number(slurp(dir + "/memory.current"));
        u.memory_peak_bytes = number(slurp(dir + "/memory.peak"));
        auto events = slurp(dir + "/memory.events");
        u.memory_limit_hits = keyed(events, "max");
        u.oom_kills = keyed(events, "oom_kill");
        u.tasks = number(slurp(dir + "/pids.current"));
        u.tasks_limit_hits = keyed(slurp(dir + "/pids.events"), "max");
        return u;
    }
    // cpuacct is listed under "cpu" when the two are mounted together.
    std::string cpu = dir_of(dirs, "cpuacct");
    if (cpu.empty()) cpu = dir_of(dirs, "cpu");
    if (!cpu.empty()) {
        if (auto ns = number(slurp(cpu + "/cpuacct.usage"))) u.cpu_seconds = static_cast<double>(*ns) / 1e9;
    }
    if (std::string mem = dir_of(dirs, "memory"); !mem.empty()) {
        u.memory_bytes = number(slurp(mem + "/memory.usage_in_bytes"));
        u.memory_peak_bytes = number(slurp(mem + "/memory.max_usage_in_bytes"));
        // With swap accounting the kernel charges memory+swap first: a charge over the limit
        // (the agent sets memsw to the same value) fails there and counts in memsw's
        // failcnt only, the two counting different events. (Linux 6.18, observed, counts
        // neither for that charge: then only the OOM kills below show the limit.)
        u.memory_limit_hits = number(slurp(mem + "/memory.failcnt"));
        if (auto memsw = number(slurp(mem + "/memory.memsw.failcnt")); memsw && u.memory_limit_hits)
            *u.memory_limit_hits += *memsw;
        u.oom_kills = keyed(slurp(mem + "/memory.oom_control"), "oom_kill");
    }
    if (std::string pids = dir_of(dirs, "pids"); !pids.empty()) {
        u.tasks = number(slurp(pids + "/pids.current"));
        u.tasks_limit_hits = keyed(slurp(pids + "/pids.events"), "max");
    }
    return u;
}

namespace {

// The cached figures and the timer that refreshes them.
struct UsageCache {
    const Manager& manager;
    std::map<std::string, Usage, std::less<>> usage;
    std::string next;  // the refresh resumes at the first resource id >= this
    io::Source timer;

    void refresh_slice()
    {
        std::size_t done = 0;
        std::string resume;
        manager.for_each_cgroup([&](const std::string& rsc_id, const Manager::Dirs& dirs) {
            if (rsc_id < next || !resume.empty()) return;
            if (done == kUsageRefreshBatch) {
                resume = rsc_id;
                return;
            }
            usage[rsc_id] = read_usage(manager.kind(), dirs);
            ++done;
        });
        next = resume;  // empty: start over at the first resource next time
    }

    void arm(GMainContext* context)
    {
        // Replacing the Source from inside its own callback is allowed (io/source.hpp).
        timer = io::add_timeout(context, std::chrono::milliseconds(kUsageRefreshMs), [this, context]() {
            refresh_slice();
            arm(context);
        });
    }
};

}  // namespace

std::shared_ptr<void> register_metrics(GMainContext* context, metrics::Registry& registry,
                                       const Manager& manager)
{
    auto& cpu = registry.counter("outpost_agent_resource_cpu_seconds_total",
                                 "CPU time used by the processes of the resource's cgroup.", {"resource"});
    auto& memory = registry.gauge("outpost_agent_resource_memory_bytes",
                                  "Memory charged to the resource's cgroup now.", {"resource"});
    auto& peak =
        registry.gauge("outpost_agent_resource_memory_peak_bytes",
                       "Most memory charged to the resource's cgroup since it was created.", {"resource"});
    auto& tasks = registry.gauge("outpost_agent_resource_tasks",
                                 "Processes and threads in the resource's cgroup.", {"resource"});
    auto& hits = registry.counter("outpost_agent_resource_limit_hits_total",
                                  "Times the resource's cgroup reached a limit (memory: an allocation over "
                                  "outpost-memory-max, tasks: a fork over outpost-tasks-max).",
                                  {"resource", "limit"});
    auto& ooms = registry.counter("outpost_agent_resource_oom_kills_total",
                                  "Processes of the resource's cgroup the kernel killed for memory "
                                  "(over outpost-memory-max).",
                                  {"resource"});
    auto cache = std::make_shared<UsageCache>(UsageCache{manager, {}, {}, {}});
    UsageCache* raw = cache.get();
    raw->arm(context);
    registry.add_collector([raw, &cpu, &memory, &peak, &tasks, &hits, &ooms]() {
        cpu.clear();
        memory.clear();
        peak.clear();
        tasks.clear();
        hits.clear();
        ooms.clear();
        std::map<std::string, Usage, std::less<>> current;
        raw->manager.for_each_cgroup([&](const std::string& rsc_id, const Manager::Dirs& dirs) {
            auto cached = raw->usage.find(rsc_id);
            // First seen: read now, so a new resource shows at once.
            Usage u = cached != raw->usage.end() ? cached->second : read_usage(raw->manager.kind(), dirs);
            if (u.cpu_seconds) cpu.with({rsc_id}).set_total(*u.cpu_seconds);
            if (u.memory_bytes) memory.with({rsc_id}).set(static_cast<double>(*u.memory_bytes));
            if (u.memory_peak_bytes) peak.with({rsc_id}).set(static_cast<double>(*u.memory_peak_bytes));
            if (u.tasks) tasks.with({rsc_id}).set(static_cast<double>(*u.tasks));
            if (u.memory_limit_hits)
                hits.with({rsc_id, "memory"}).set_total(static_cast<double>(*u.memory_limit_hits));
            if (u.tasks_limit_hits)
                hits.with({rsc_id, "tasks"}).set_total(static_cast<double>(*u.tasks_limit_hits));
            if (u.oom_kills) ooms.with({rsc_id}).set_total(static_cast<double>(*u.oom_kills));
            current.emplace(rsc_id, u);
        });
        raw->usage = std::move(current);  // resources gone since are forgotten
    });
    return cache;
}

}  // namespace outpost::agent::isolation
