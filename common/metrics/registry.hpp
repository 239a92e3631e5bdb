// Registry: the counters, gauges and histograms a daemon keeps, rendered in the Prometheus
// text exposition format (version 0.0.4, which every Prometheus and OpenMetrics scraper
// reads). A family has a name, a help text and fixed label names; each distinct tuple of
// label values is one series. Values that are read rather than counted (queue lengths,
// cgroup files) are set by collectors, which run just before each render. Everything runs
// on the owner's main loop: no locks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::metrics {

using LabelValues = std::vector<std::string>;

class Counter {
public:
    void inc(double amount = 1) { value_ += amount; }
    // For totals kept elsewhere (a cgroup's cpu time): never lower than before.
    void set_total(double total) { value_ = total; }
    [[nodiscard]] double value() const { return value_; }

private:
    double value_ = 0;
};

class Gauge {
public:
    void set(double value) { value_ = value; }
    void inc(double amount = 1) { value_ += amount; }
    [[nodiscard]] double value() const { return value_; }

private:
    double value_ = 0;
};

class Histogram {
public:
    explicit Histogram(const std::vector<double>* bounds) : bounds_(bounds), counts_(bounds->size(), 0) {}
    void observe(double value);
    [[nodiscard]] const std::vector<double>& bounds() const { return *bounds_; }
    // Per bucket, not cumulative (render adds them up).
    [[nodiscard]] const std::vector<std::uint64_t>& counts() const { return counts_; }
    [[nodiscard]] double sum() const { return sum_; }
    [[nodiscard]] std::uint64_t count() const { return count_; }

private:
    const std::vector<double>* bounds_;
    std::vector<std::uint64_t> counts_;
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

enum class Type { counter, gauge, histogram };

// One metric family: its series by label values. References to series stay valid until
// clear() or remove() drops them.
template <typename T>
class Family {
public:
    Family(std::string name, std::string help, std::vector<std::string> label_names, Type type,
           std::vector<double> bounds = {})
        : name_(std::move(name)),
          help_(std::move(help)),
          label_names_(std::move(label_names)),
          type_(type),
          bounds_(std::move(bounds))
    {
    }

    // The series with these label values (as many as the family has label names), created
    // at zero on first use.
    T& with(const LabelValues& values);
    void remove(const LabelValues& values) { series_.erase(values); }
    void clear() { series_.clear(); }

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& help() const { return help_; }
    [[nodiscard]] const std::vector<std::string>& label_names() const { return label_names_; }
    [[nodiscard]] Type type() const { return type_; }
    [[nodiscard]] const std::map<LabelValues, T>& series() const { return series_; }

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    Type type_;
    std::vector<double> bounds_;  // histograms: upper bounds, ascending, without +Inf
    std::map<LabelValues, T> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Upper bounds in seconds for operation times: from a fast probe (ms) to a slow start (minutes).
inline const std::vector<double> kSecondsBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                    1,     2.5,  5,     10,   30,  60,   300};

class Registry {
public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    ~Registry() = default;

    // Names and label names must be valid Prometheus names and unique in the registry
    // (programmer errors: std::invalid_argument). A counter's name ends in "_total".
    CounterFamily& counter(std::string name, std::string help, std::vector<std::string> label_names = {});
    GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
    HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> label_names,
                               std::vector<double> bounds);

    // Runs before every render, in the order added.
    void add_collector(std::function<void()> collector) { collectors_.push_back(std::move(collector)); }

    // Runs the collectors, then renders every family in the order registered.
    [[nodiscard]] std::string render();

private:
    void claim(const std::string& name, const std::vector<std::string>& label_names, Type type);

    std::vector<std::unique_ptr<CounterFamily>> counters_;
    std::vector<std::unique_ptr<GaugeFamily>> gauges_;
    std::vector<std::unique_ptr<HistogramFamily>> histograms_;
    std::vector<std::pair<Type, std::size_t>> order_;  // (kind, index in its vector)
    std::vector<std::string> names_;
    std::vector<std::function<void()>> collectors_;
};

// The exposition's pieces, public for tests.
[[nodiscard]] std::string escape_label_value(std::string_view value);
[[nodiscard]] std::string escape_help(std::string_view help);
[[nodiscard]] std::string format_value(double value);
[[nodiscard]] bool valid_metric_name(std::string_view name);
[[nodiscard]] bool valid_label_name(std::string_view name);

// The Content-Type of render()'s output.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace outpost::metrics
