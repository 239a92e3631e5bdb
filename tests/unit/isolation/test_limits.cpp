// Limits from meta attributes: every accepted form, and the values refused with a reason.
#include <catch2/catch.hpp>

#include "isolation/limits.hpp"
#include "isolation/settings.hpp"

using namespace outpost;
using namespace outpost::agent::isolation;

namespace {

wire::ParamMap meta(std::initializer_list<std::pair<const char*, const char*>> attrs)
{
    wire::ParamMap p;
    p.insert("state", "/tmp/x");            // a resource parameter: not ours
    p.insert("CRM_meta_timeout", "20000");  // Pacemaker's own meta: not ours
    for (auto [n, v] : attrs)
        p.insert(n, v);
    return p;
}

std::string refusal(std::initializer_list<std::pair<const char*, const char*>> attrs)
{
    auto r = parse(meta(attrs));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == -EINVAL);
    return r.error().message;
}

}  // namespace

TEST_CASE("no outpost attribute: no limits")
{
    auto l = parse(meta({}));
    REQUIRE(l.ok());
    CHECK(l->empty());
}

TEST_CASE("every limit in its documented forms")
{
    auto l = parse(meta({{"CRM_meta_outpost_cpu_quota", "50%"},
                         {"CRM_meta_outpost_cpu_weight", "200"},
                         {"CRM_meta_outpost_memory_max", "256M"},
                         {"CRM_meta_outpost_memory_high", "200M"},
                         {"CRM_meta_outpost_tasks_max", "64"},
                         {"CRM_meta_outpost_io_weight", "10000"},
                         {"CRM_meta_outpost_allowed_cpus", "0-1,3"}}));
    REQUIRE(l.ok());
    CHECK(l->cpu_quota_us == 50000);
    CHECK(l->cpu_weight == 200);
    CHECK(l->memory_max == 256ULL << 20);
    CHECK(l->memory_high == 200ULL << 20);
    CHECK(l->tasks_max == 64);
    CHECK(l->io_weight == 10000);
    CHECK(l->allowed_cpus == "0-1,3");
    CHECK_FALSE(l->empty());
}

TEST_CASE("CPU quota as a percentage or as cores")
{
    CHECK(*parse_cpu_quota("1%") == 1000);
    CHECK(*parse_cpu_quota("250%") == 250000);
    CHECK(*parse_cpu_quota("1") == 100000);
    CHECK(*parse_cpu_quota("1.5") == 150000);
    CHECK(*parse_cpu_quota("0.25") == 25000);
    CHECK_FALSE(parse_cpu_quota("0.001").ok());  // 100 us: below the kernel's 1 ms
    CHECK_FALSE(parse_cpu_quota("0%").ok());
    CHECK_FALSE(parse_cpu_quota("0").ok());
    CHECK_FALSE(parse_cpu_quota("1.2345").ok());
    CHECK_FALSE(parse_cpu_quota("50 %").ok());
    CHECK_FALSE(parse_cpu_quota("-5%").ok());
    CHECK_FALSE(parse_cpu_quota("%").ok());
    CHECK_FALSE(parse_cpu_quota("1.").ok());
    CHECK_FALSE(parse_cpu_quota("2000").ok());
    CHECK(*parse_cpu_quota("infinity") == std::nullopt);
}

TEST_CASE("sizes take K, M, G, T (base 1024) or infinity")
{
    CHECK(*parse_bytes("4096") == 4096);
    CHECK(*parse_bytes("64K") == 65536);
    CHECK(*parse_bytes("2G") == 2ULL << 30);
    CHECK(*parse_bytes("1T") == 1ULL << 40);
    CHECK(*parse_bytes("infinity") == std::nullopt);
    for (const char* bad :
         {"", "0", "-1", "1.5G", "256MB", "256m", "M", " 1M", "1M ", "50%", "99999999999T"}) {
        INFO(bad);
        CHECK_FALSE(parse_bytes(bad).ok());
    }
}

TEST_CASE("cpu lists are ascending ranges")
{
    CHECK(parse_cpu_list("0").ok());
    CHECK(parse_cpu_list("0-3,8,10-11").ok());
    for (const char* bad : {"", "1-0", "3,1", "0,,1", "0,", "a", "0-", "-1", "0 1", "9000"}) {
        INFO(bad);
        CHECK_FALSE(parse_cpu_list(bad).ok());
    }
}

TEST_CASE("bad values are refused naming the attribute, the value and what is accepted")
{
    CHECK(refusal({{"CRM_meta_outpost_memory_max", "lots"}}) ==
          "invalid outpost-memory-max=lots: expected bytes with an optional K, M, G or T suffix (base 1024), "
          "or infinity");
    CHECK(refusal({{"CRM_meta_outpost_cpu_weight", "0"}}) ==
          "invalid outpost-cpu-weight=0: expected a whole number from 1 to 10000");
    CHECK(refusal({{"CRM_meta_outpost_io_weight", "10001"}}).starts_with("invalid outpost-io-weight=10001"));
    CHECK(refusal({{"CRM_meta_outpost_tasks_max", "0"}}).starts_with("invalid outpost-tasks-max=0"));
    CHECK(refusal({{"CRM_meta_outpost_cpu_quota", "fast"}}).starts_with("invalid outpost-cpu-quota=fast"));
    CHECK(
        refusal({{"CRM_meta_outpost_allowed_cpus", "1-0"}}).starts_with("invalid outpost-allowed-cpus=1-0"));
    // A misspelt name is an error, not a silently missing limit.
    CHECK(refusal({{"CRM_meta_outpost_memory_mx", "1G"}}).starts_with("unknown attribute outpost-memory-mx"));
}

TEST_CASE("instance attributes carry limits too, and win over meta attributes")
{
    auto l = parse(meta({{"outpost-memory-max", "64M"},
                         {"CRM_meta_outpost_memory_max", "1G"},
                         {"CRM_meta_outpost_tasks_max", "7"}}));
    REQUIRE(l.ok());
    CHECK(l->memory_max == 64ULL << 20);
    CHECK(l->tasks_max == 7);
    CHECK(refusal({{"outpost-cpu-weight", "heavy"}}).starts_with("invalid outpost-cpu-weight=heavy"));
    CHECK(refusal({{"outpost-memory-mx", "1G"}}).starts_with("unknown attribute outpost-memory-mx"));
}

TEST_CASE("infinity is the same as no limit")
{
    auto l = parse(
        meta({{"CRM_meta_outpost_memory_max", "infinity"}, {"CRM_meta_outpost_tasks_max", "infinity"}}));
    REQUIRE(l.ok());
    CHECK(l->empty());
}

TEST_CASE("configured() gives the attribute names back as the administrator wrote them")
{
    auto attrs = configured(meta({{"CRM_meta_outpost_memory_max", "1G"}}));
    REQUIRE(attrs.size() == 1);
    CHECK(attrs[0].name == "outpost-memory-max");
    CHECK(attrs[0].value == "1G");
}

TEST_CASE("limits map to the v2 files, unset ones to the kernel's defaults")
{
    Limits l;
    l.memory_max = 1 << 20;
    l.cpu_quota_us = 50000;
    auto w = plan_writes(Kind::v2, l, "");
    auto value = [&](const std::string& file) {
        for (const auto& x : w)
            if (x.file == file) return x.value;
        return std::string("<none>");
    };
    CHECK(value("memory.max") == "1048576");
    CHECK(value("memory.high") == "max");
    CHECK(value("cpu.max") == "50000 100000");
    CHECK(value("cpu.weight") == "100");
    CHECK(value("pids.max") == "max");
    CHECK(value("io.weight") == "default 100");
    CHECK(value("cpuset.cpus").empty());
}

TEST_CASE("limits map to the v1 files; memory+swap follows memory in a safe order")
{
    Limits l;
    l.memory_max = 1 << 20;
    l.cpu_weight = 50;
    l.tasks_max = 10;
    auto w = plan_writes(Kind::v1, l, "0-1");
    std::vector<std::string> memory;
    for (const auto& x : w)
        if (x.controller == "memory") memory.push_back(x.file + "=" + x.value);
    CHECK(memory ==
          std::vector<std::string>{"memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=1048576",
                                   "memory.memsw.limit_in_bytes=1048576", "memory.soft_limit_in_bytes=-1"});
    for (const auto& x : w) {
        if (x.file == "cpu.shares") CHECK(x.value == "512");
        if (x.file == "cpu.cfs_quota_us") CHECK(x.value == "-1");
        if (x.file == "pids.max") CHECK(x.value == "10");
        if (x.file == "cpuset.cpus") CHECK(x.value == "0-1");
    }
    CHECK(v1_cpu_shares(100) == 1024);
    CHECK(v1_cpu_shares(1) == 10);
    CHECK(v1_blkio_weight(1) == 10);
    CHECK(v1_blkio_weight(100) == 500);
    CHECK(v1_blkio_weight(10000) == 1000);
}
