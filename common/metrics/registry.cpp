#include "metrics/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace outpost::metrics {

namespace {

bool name_char(char c, bool first, bool colon)
{
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon)
{
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!name_char(name[i], i == 0, colon)) return false;
    }
    return true;
}

// Label names the exposition adds itself, or that Prometheus reserves.
bool reserved_label(std::string_view name)
{
    return name == "le" || name == "quantile" || name.starts_with("__");
}

void render_labels(std::string& out, const std::vector<std::string>& names, const LabelValues& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {})
{
    if (names.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!first) out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

void render_header(std::string& out, const std::string& name, const std::string& help, const char* type)
{
    out += "# HELP " + name + " " + escape_help(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
}

template <typename F>
void render_simple(std::string& out, const F& family, const char* type)
{
    render_header(out, family.name(), family.help(), type);
    for (const auto& [values, series] : family.series()) {
        out += family.name();
        render_labels(out, family.label_names(), values);
        out += ' ';
        out += format_value(series.value());
        out += '\n';
    }
}

void render_histogram(std::string& out, const HistogramFamily& family)
{
    render_header(out, family.name(), family.help(), "histogram");
    for (const auto& [values, h] : family.series()) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bounds().size(); ++i) {
            cumulative += h.counts()[i];
            out += family.name() + "_bucket";
            render_labels(out, family.label_names(), values, "le", format_value(h.bounds()[i]));
            out += ' ' + std::to_string(cumulative) + '\n';
        }
        out += family.name() + "_bucket";
        render_labels(out, family.label_names(), values, "le", "+Inf");
        out += ' ' + std::to_string(h.count()) + '\n';
        out += family.name() + "_sum";
        render_labels(out, family.label_names(), values);
        out += ' ' + format_value(h.sum()) + '\n';
        out += family.name() + "_count";
        render_labels(out, family.label_names(), values);
        out += ' ' + std::to_string(h.count()) + '\n';
    }
}

}  // namespace

void Histogram::observe(double value)
{
    // The first bucket whose upper bound holds the value; beyond the last: only +Inf (count).
    auto it = std::lower_bound(bounds_->begin(), bounds_->end(), value);
    if (it != bounds_->end()) ++counts_[static_cast<std::size_t>(it - bounds_->begin())];
    sum_ += value;
    ++count_;
}

template <typename T>
T& Family<T>::with(const LabelValues& values)
{
    if (values.size() != label_names_.size())
        throw std::invalid_argument(name_ + ": " + std::to_string(values.size()) + " label values for " +
                                    std::to_string(label_names_.size()) + " labels");
    auto it = series_.find(values);
    if (it != series_.end()) return it->second;
    if constexpr (std::is_same_v<T, Histogram>) {
        return series_.emplace(values, Histogram(&bounds_)).first->second;
    } else {
        return series_.emplace(values, T{}).first->second;
    }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

bool valid_metric_name(std::string_view name)
{
    return valid_name(name, true);
}

bool valid_label_name(std::string_view name)
{
    return valid_name(name, false);
}

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view help)
{
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double value)
{
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    char buffer[64];
    // Shortest text that reads back as the same double ("0.005", "1e+21", "42").
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    if (ec != std::errc()) return "NaN";
    return {buffer, end};
}

void Registry::claim(const std::string& name, const std::vector<std::string>& label_names, Type type)
{
    if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name " + name);
    if (type == Type::counter && !name.ends_with("_total"))
        throw std::invalid_argument("counter " + name + " must end in _total");
    if (std::find(names_.begin(), names_.end(), name) != names_.end())
        throw std::invalid_argument("metric " + name + " registered twice");
    for (const auto& label : label_names) {
        if (!valid_label_name(label) || reserved_label(label))
            throw std::invalid_argument(std::string(name).append(": invalid label name ").append(label));
    }
    names_.push_back(name);
}

CounterFamily& Registry::counter(std::string name, std::string help, std::vector<std::string> label_names)
{
    claim(name, label_names, Type::counter);
    counters_.push_back(std::make_unique<CounterFamily>(std::move(name), std::move(help),
                                                        std::move(label_names), Type::counter));
    order_.emplace_back(Type::counter, counters_.size() - 1);
    return *counters_.back();
}

GaugeFamily& Registry::gauge(std::string name, std::string help, std::vector<std::string> label_names)
{
    claim(name, label_names, Type::gauge);
    gauges_.push_back(
        std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names), Type::gauge));
    order_.emplace_back(Type::gauge, gauges_.size() - 1);
    return *gauges_.back();
}

HistogramFamily& Registry::histogram(std::string name, std::string help, std::vector<std::string> label_names,
                                     std::vector<double> bounds)
{
    claim(name, label_names, Type::histogram);
    if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
        std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end())
        throw std::invalid_argument(name + ": bucket bounds must ascend strictly");
    histograms_.push_back(std::make_unique<HistogramFamily>(
        std::move(name), std::move(help), std::move(label_names), Type::histogram, std::move(bounds)));
    order_.emplace_back(Type::histogram, histograms_.size() - 1);
    return *histograms_.back();
}

std::string Registry::render()
{
    for (const auto& collect : collectors_)
        collect();
    std::string out;
    for (const auto& [type, index] : order_) {
        switch (type) {
            case Type::counter:
                render_simple(out, *counters_[index], "counter");
                break;
            case Type::gauge:
                render_simple(out, *gauges_[index], "gauge");
                break;
            case Type::histogram:
                render_histogram(out, *histograms_[index]);
                break;
        }
    }
    return out;
}

}  // namespace outpost::metrics
