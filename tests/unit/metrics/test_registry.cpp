#include <catch.hpp>

#include <limits>
#include <stdexcept>
#include <string>

#include "metrics/registry.hpp"

using namespace outpost::metrics;

TEST_CASE("label values and help texts are escaped as the exposition format demands", "[metrics]")
{
    CHECK(escape_label_value(R"(a\b"c)"
                             "\n"
                             "d") == R"(a\\b\"c\nd)");
    CHECK(escape_label_value("plain-ID_1.2") == "plain-ID_1.2");
    CHECK(escape_help("one\\two\nthree \"quoted\"") == R"(one\\two\nthree "quoted")");

    Registry registry;
    auto& ops = registry.counter("outpost_test_operations_total", "Operations.\nSecond line", {"resource"});
    ops.with({"we\"ird\\id\n"}).inc(3);
    CHECK(registry.render() ==
          "# HELP outpost_test_operations_total Operations.\\nSecond line\n"
          "# TYPE outpost_test_operations_total counter\n"
          "outpost_test_operations_total{resource=\"we\\\"ird\\\\id\\n\"} 3\n");
}

TEST_CASE("numbers are written in their shortest exact form", "[metrics]")
{
    CHECK(format_value(0) == "0");
    CHECK(format_value(42) == "42");
    CHECK(format_value(0.005) == "0.005");
    CHECK(format_value(-1.5) == "-1.5");
    CHECK(format_value(1e21) == "1e+21");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, _sum and _count", "[metrics]")
{
    Registry registry;
    auto& h = registry.histogram("outpost_test_exec_seconds", "Exec time.", {"action"}, {0.1, 1, 10});
    auto& start = h.with({"start"});
    start.observe(0.05);
    start.observe(0.1);  // on the bound: counts in le="0.1"
    start.observe(2);
    start.observe(100);  // beyond every bound: only +Inf
    CHECK(registry.render() ==
          "# HELP outpost_test_exec_seconds Exec time.\n"
          "# TYPE outpost_test_exec_seconds histogram\n"
          "outpost_test_exec_seconds_bucket{action=\"start\",le=\"0.1\"} 2\n"
          "outpost_test_exec_seconds_bucket{action=\"start\",le=\"1\"} 2\n"
          "outpost_test_exec_seconds_bucket{action=\"start\",le=\"10\"} 3\n"
          "outpost_test_exec_seconds_bucket{action=\"start\",le=\"+Inf\"} 4\n"
          "outpost_test_exec_seconds_sum{action=\"start\"} 102.15\n"
          "outpost_test_exec_seconds_count{action=\"start\"} 4\n");
}

TEST_CASE("families render in registration order, series sorted, collectors first", "[metrics]")
{
    Registry registry;
    auto& queued = registry.gauge("outpost_test_queued", "Queued.");
    auto& per = registry.gauge("outpost_test_memory_bytes", "Memory.", {"resource", "kind"});
    int runs = 0;
    registry.add_collector([&]() {
        ++runs;
        queued.with({}).set(7);
        per.clear();
        per.with({"b", "x"}).set(2);
        per.with({"a", "y"}).set(1);
    });
    std::string text = registry.render();
    CHECK(runs == 1);
    CHECK(text ==
          "# HELP outpost_test_queued Queued.\n"
          "# TYPE outpost_test_queued gauge\n"
          "outpost_test_queued 7\n"
          "# HELP outpost_test_memory_bytes Memory.\n"
          "# TYPE outpost_test_memory_bytes gauge\n"
          "outpost_test_memory_bytes{resource=\"a\",kind=\"y\"} 1\n"
          "outpost_test_memory_bytes{resource=\"b\",kind=\"x\"} 2\n");
    per.remove({"a", "y"});
    (void)registry.render();
    CHECK(runs == 2);
}

TEST_CASE("invalid names and label counts are programmer errors", "[metrics]")
{
    CHECK(valid_metric_name("outpost_agent:rate5m"));
    CHECK_FALSE(valid_metric_name("1abc"));
    CHECK_FALSE(valid_metric_name("a-b"));
    CHECK_FALSE(valid_label_name("a:b"));
    Registry registry;
    CHECK_THROWS_AS(registry.counter("outpost_ops", "no _total"), std::invalid_argument);
    CHECK_THROWS_AS(registry.gauge("outpost-x", "bad name"), std::invalid_argument);
    CHECK_THROWS_AS(registry.gauge("outpost_x", "reserved label", {"le"}), std::invalid_argument);
    CHECK_THROWS_AS(registry.histogram("outpost_h", "unsorted", {}, {1, 0.5}), std::invalid_argument);
    auto& g = registry.gauge("outpost_x", "ok", {"a"});
    CHECK_THROWS_AS(registry.gauge("outpost_x", "twice"), std::invalid_argument);
    CHECK_THROWS_AS(g.with({"1", "2"}), std::invalid_argument);
}
