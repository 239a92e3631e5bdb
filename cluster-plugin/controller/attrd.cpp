#include "controller/attrd.hpp"

#include <cerrno>
#include <charconv>
#include <new>

#include "controller/xml.hpp"

namespace outpost::cluster::controller {

namespace {

constexpr long long kInfinity = 1000000;

bool is_true(const std::optional<std::string>& text)
{
    return text && (*text == "1" || *text == "true" || *text == "yes" || *text == "on");
}

// A score as attrd reads it: [+-]INFINITY, or the leading integer (0 when there is none;
// "abc" counts as 0, observed).
long long leading_score(std::string_view text)
{
    if (text == "INFINITY" || text == "+INFINITY") return kInfinity;
    if (text == "-INFINITY") return -kInfinity;
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) return text.front() == '-' ? -kInfinity : kInfinity;
    return ec == std::errc() ? value : 0;
}

long long clamp_score(long long value)
{
    return value > kInfinity ? kInfinity : (value < -kInfinity ? -kInfinity : value);
}

// Scores add as Pacemaker's do: -INFINITY wins, then INFINITY, else the capped sum.
long long add_scores(long long a, long long b)
{
    if (a == -kInfinity || b == -kInfinity) return -kInfinity;
    if (a == kInfinity || b == kInfinity) return kInfinity;
    return clamp_score(a + b);
}

}  // namespace

Result<AttrdOp> parse_attrd_op(std::string_view xml)
{
    auto doc = parse_document(xml, kMaxAttrdRequest, "attrd request");
    if (!doc) return doc.error();
    const xmlNode* root = root_of(doc->get());
    if (!is_named(root, "create_attrd_op")) {
        return make_error("attrd", -EBADMSG,
                          "attrd request: <" + name_of(root) + "> is not an attrd operation");
    }
    AttrdOp op;
    op.task = attr(root, "task").value_or("");
    op.source = attr(root, "src").value_or("");
    op.name = attr(root, "attr_name").value_or("");
    op.value = attr(root, "attr_value");
    op.dampening = attr(root, "attr_dampening");
    op.host = attr(root, "attr_host").value_or("");
    op.set = attr(root, "attr_set").value_or("");
    op.is_private = is_true(attr(root, "attr_is_private"));
    op.is_remote = is_true(attr(root, "attr_is_remote"));
    op.resource = attr(root, "attr_resource").value_or("");
    op.operation = attr(root, "attr_clear_operation").value_or("");
    op.interval = attr(root, "attr_clear_interval").value_or("");
    const bool named =
        op.task == "update" || op.task == "update-both" || op.task == "update-delay" || op.task == "query";
    if (named && op.name.empty())
        return make_error("attrd", -EBADMSG, "attrd request: " + op.task + " names no attribute");
    return op;
}

std::string attrd_ack(const char* function, int status)
{
    XmlDoc doc = new_document("ack");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "function", function);
    set_attr(root, "line", "0");
    set_attr(root, "status", std::to_string(status));
    set_attr(root, "ipc-protocol-version", kAttrdProtocol);
    return serialize(root);
}

std::string attrd_query_reply(const std::string& name, const std::vector<AttrdValue>& values)
{
    XmlDoc doc = new_document("build_query_reply");
    xmlNode* root = root_of(doc.get());
    set_attr(root, "t", "attrd");
    set_attr(root, "subt", "query");
    set_attr(root, "attr_version", kAttrdProtocol);
    if (values.empty()) return serialize(root);
    set_attr(root, "attr_name", name);
    for (const auto& [host, value] : values) {
        xmlNode* node = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("node"), nullptr);
        if (node == nullptr) throw std::bad_alloc();
        set_attr(node, "attr_host", host);
        if (value) set_attr(node, "attr_value", *value);
    }
    return serialize(root);
}

std::optional<std::chrono::milliseconds> parse_dampening(std::string_view text)
{
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0 || digits > 12) return std::nullopt;
    long long number = 0;
    (void)std::from_chars(text.data(), text.data() + digits, number);
    std::string_view unit = text.substr(digits);
    while (!unit.empty() && unit.front() == ' ')
        unit.remove_prefix(1);
    long long ms = 0;
    if (unit.empty() || unit == "s" || unit == "sec") {
        ms = number * 1000;
    } else if (unit == "ms" || unit == "msec") {
        ms = number;
    } else if (unit == "m" || unit == "min") {
        ms = number * 60 * 1000;
    } else if (unit == "h" || unit == "hr") {
        ms = number * 3600 * 1000;
    } else {
        return std::nullopt;
    }
    if (ms > kMaxDampening.count()) return std::nullopt;
    return std::chrono::milliseconds(ms);
}

std::string expand_attribute_value(std::string_view value, const std::optional<std::string>& current)
{
    // As 2.1.5 does it: what counts is "++" or "+=" right after the first five characters
    // (the word "value"), whatever those are ("other++" expands, "v++" does not); "++"
    // ignores what follows, "+=" reads a leading integer or INFINITY (0 otherwise).
    constexpr std::size_t kWord = 5;
    if (value.size() < kWord + 2 || value[kWord] != '+') return std::string(value);
    long long increment = 0;
    if (value[kWord + 1] == '+') {
        increment = 1;
    } else if (value[kWord + 1] == '=') {
        increment = leading_score(value.substr(kWord + 2));
    } else {
        return std::string(value);
    }
    const long long base = current ? leading_score(*current) : 0;
    return std::to_string(add_scores(clamp_score(base), clamp_score(increment)));
}

}  // namespace outpost::cluster::controller
