#include "util/env.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/log.hpp"

namespace outpost::env {
namespace {

Error bad_value(std::string_view name, std::string_view value, const std::string& why)
{
    return make_error("config", -EINVAL, std::string(name) + ": " + log::quote(value) + " " + why);
}

bool is_name_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name)
{
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (!is_name_char(name[i], i == 0)) return false;
    }
    return true;
}

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text)
{
    constexpr unsigned kMaxCodePoint = 0x10FFFF;
    std::size_t i = 0;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        unsigned code = 0;
        unsigned minimum = 0;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        if ((lead & 0xE0U) == 0xC0U) {
            extra = 1;
            code = lead & 0x1FU;
            minimum = 0x80;
        } else if ((lead & 0xF0U) == 0xE0U) {
            extra = 2;
            code = lead & 0x0FU;
            minimum = 0x800;
        } else if ((lead & 0xF8U) == 0xF0U) {
            extra = 3;
            code = lead & 0x07U;
            minimum = 0x10000;
        } else {
            return false;
        }
        if (extra >= text.size() - i) return false;  // the sequence is cut off
        for (std::size_t k = 1; k <= extra; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0U) != 0x80U) return false;
            code = (code << 6U) | (next & 0x3FU);
        }
        if (code < minimum || code > kMaxCodePoint || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

std::string lowercase(std::string_view text)
{
    std::string lower;
    lower.reserve(text.size());
    for (char c : text)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::string> get(const char* name)
{
    const char* value = std::getenv(name);
    if (value == nullptr) return std::nullopt;
    return std::string(value);
}

Result<std::int64_t> parse_integer(std::string_view name, std::string_view value, std::int64_t min,
                                   std::int64_t max)
{
    std::string text(trim(value));
    if (text.empty()) return bad_value(name, value, "is not a number");
    errno = 0;
    char* end = nullptr;
    long long parsed = std::strtoll(text.c_str(), &end, 10);
    if (errno != 0 || end == nullptr || *end != '\0') return bad_value(name, value, "is not a number");
    if (parsed < min || parsed > max) {
        return bad_value(name, value,
                         "is out of range (" + std::to_string(min) + "-" + std::to_string(max) + ")");
    }
    return static_cast<std::int64_t>(parsed);
}

Result<std::uint16_t> parse_port(std::string_view name, std::string_view value)
{
    auto number = parse_integer(name, value, 1, 65535);
    if (!number) return bad_value(name, value, "is not a port number (1-65535)");
    return static_cast<std::uint16_t>(*number);
}

bool is_true_word(std::string_view value)
{
    const std::string lower = lowercase(value);
    return lower == "1" || lower == "yes" || lower == "y" || lower == "true" || lower == "on";
}

Result<bool> parse_boolean(std::string_view name, std::string_view value)
{
    const std::string lower = lowercase(trim(value));
    if (is_true_word(lower)) return true;
    if (lower == "0" || lower == "no" || lower == "n" || lower == "false" || lower == "off") return false;
    return bad_value(name, value, "is not a boolean (yes/no, true/false, on/off, 1/0)");
}

Result<std::int64_t> parse_duration_ms(std::string_view name, std::string_view value, bool default_unit_ms)
{
    std::string_view text = trim(value);
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    if (digits == 0 || digits > 15)
        return bad_value(name, value, "is not a duration (e.g. 500ms, 10s, 2min)");
    std::int64_t number = std::strtoll(std::string(text.substr(0, digits)).c_str(), nullptr, 10);
    const std::string unit = lowercase(trim(text.substr(digits)));
    std::int64_t factor = 0;
    if (unit.empty())
        factor = default_unit_ms ? 1 : 1000;
    else if (unit == "ms" || unit == "msec")
        factor = 1;
    else if (unit == "s" || unit == "sec")
        factor = 1000;
    else if (unit == "m" || unit == "min")
        factor = std::int64_t{60} * 1000;
    else if (unit == "h" || unit == "hr")
        factor = std::int64_t{3600} * 1000;
    else
        return bad_value(name, value, "has an unknown unit (use ms, s, min or h)");
    return number * factor;
}

namespace {

// One assignment in progress while parsing an EnvironmentFile= text.
class EnvFileParser {
public:
    explicit EnvFileParser(std::string_view origin) : origin_(origin) {}

    Result<EnvironmentFile> parse(std::string_view text)
    {
        if (text.find('\0') != std::string_view::npos)
            return make_error("config", -EINVAL, std::string(origin_) + " contains a NUL byte");
        for (char c : text) {
            if (auto step = feed(c); !step) return step.error();
            if (c == '\n') ++line_;
        }
        // The last line needs no newline; an unclosed quote ends with the file.
        if (state_ != State::line_start && state_ != State::key && state_ != State::comment) {
            if (auto done = finish(); !done) return done.error();
        }
        return std::move(result_);
    }

private:
    enum class State {
        line_start,
        comment,
        key,
        before_value,
        unquoted,
        unquoted_escape,
        single,
        dquote,
        dquote_escape
    };

    static bool newline(char c) { return c == '\n' || c == '\r'; }
    static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

    Status feed(char c)
    {
        switch (state_) {
            case State::line_start:
                if (c == '#' || c == ';') {
                    state_ = State::comment;
                } else if (!blank(c)) {
                    state_ = State::key;
                    key_.assign(1, c);
                    key_line_ = line_;
                }
                return {};
            case State::comment:
                if (newline(c)) state_ = State::line_start;
                return {};
            case State::key:
                if (newline(c)) {
                    state_ = State::line_start;  // no '=' on this line: not an assignment
                } else if (c == '=') {
                    while (!key_.empty() && (key_.back() == ' ' || key_.back() == '\t'))
                        key_.pop_back();
                    value_.clear();
                    trailing_blanks_ = std::string::npos;
                    state_ = State::before_value;
                } else {
                    key_ += c;
                }
                return {};
            case State::before_value:
                if (newline(c)) return finish();
                if (c == '\'') {
                    state_ = State::single;
                } else if (c == '"') {
                    state_ = State::dquote;
                } else if (c == '\\') {
                    state_ = State::unquoted_escape;
                } else if (!blank(c)) {
                    value_ += c;
                    state_ = State::unquoted;
                }
                return {};
            case State::unquoted:
                if (newline(c)) return finish();
                if (c == '\\') {
                    trailing_blanks_ = std::string::npos;  // what follows is kept as it is
                    state_ = State::unquoted_escape;
                    return {};
                }
                if (!blank(c)) {
                    trailing_blanks_ = std::string::npos;
                } else if (trailing_blanks_ == std::string::npos) {
                    trailing_blanks_ = value_.size();
                }
                value_ += c;  // quotes here are ordinary characters
                return {};
            case State::unquoted_escape:
                state_ = State::unquoted;
                if (!newline(c)) value_ += c;  // backslash-newline joins the lines
                return {};
            case State::single:
                if (c == '\'') {
                    state_ = State::before_value;
                } else {
                    value_ += c;
                }
                return {};
            case State::dquote:
                if (c == '"') {
                    state_ = State::before_value;
                } else if (c == '\\') {
                    state_ = State::dquote_escape;
                } else {
                    value_ += c;
                }
                return {};
            case State::dquote_escape:
                state_ = State::dquote;
                if (c == '"' || c == '\\' || c == '`' || c == '$') {
                    value_ += c;
                } else if (c != '\n') {
                    value_ += '\\';  // as in a shell: other escapes stay as written
                    value_ += c;
                }
                return {};
        }
        return {};
    }

    Status finish()
    {
        if (state_ == State::unquoted && trailing_blanks_ != std::string::npos)
            value_.resize(trailing_blanks_);
        state_ = State::line_start;
        const std::string where = std::string(origin_) + ":" + std::to_string(key_line_);
        if (!valid_utf8(key_) || !valid_utf8(value_))
            return make_error("config", -EINVAL,
                              where + ": invalid UTF-8 in the assignment of " + log::quote(key_));
        if (!valid_name(key_)) {
            result_.ignored.push_back(where + ": " + log::quote(key_) +
                                      " is not a valid variable name; assignment ignored");
            return {};
        }
        result_.vars[key_] = value_;  // the last assignment wins
        return {};
    }

    std::string_view origin_;
    State state_ = State::line_start;
    unsigned line_ = 1;
    unsigned key_line_ = 1;
    std::string key_;
    std::string value_;
    std::size_t trailing_blanks_ = std::string::npos;
    EnvironmentFile result_;
};

Result<std::string> read_capped(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        int err = errno != 0 ? errno : ENOENT;
        return make_error("config", -err, "cannot read " + log::quote(path) + ": " + std::strerror(err));
    }
    std::string content(kMaxEnvFileBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > kMaxEnvFileBytes)
        return make_error("config", -EFBIG, log::quote(path) + " is larger than 1 MiB");
    return content;
}

}  // namespace

Result<EnvironmentFile> parse_environment_file(std::string_view text, std::string_view origin)
{
    return EnvFileParser(origin).parse(text);
}

Result<EnvironmentFile> read_environment_file(const std::string& path)
{
    auto text = read_capped(path);
    if (!text) return text.error();
    return parse_environment_file(*text, path);
}

Result<EnvironmentFiles> read_environment_files(const std::vector<std::string>& paths)
{
    EnvironmentFiles files;
    for (const auto& path : paths) {
        auto file = read_environment_file(path);
        if (!file) {
            if (file.error().code == -ENOENT) continue;  // "EnvironmentFile=-path"
            return file.error();
        }
        files.read.push_back(path);
        for (auto& [name, value] : file->vars)
            files.vars[name] = std::move(value);  // a later file overrides
        files.ignored.insert(files.ignored.end(), file->ignored.begin(), file->ignored.end());
    }
    return files;
}

std::vector<std::string> apply_environment_defaults(const std::map<std::string, std::string>& vars)
{
    std::vector<std::string> set;
    for (const auto& [name, value] : vars) {
        if (std::getenv(name.c_str()) != nullptr) continue;
        if (::setenv(name.c_str(), value.c_str(), 0) == 0) set.push_back(name);
    }
    return set;
}

Result<std::map<std::string, std::string>> read_env_file(const std::string& path)
{
    auto content = read_capped(path);
    if (!content) return content.error();

    std::map<std::string, std::string> vars;
    std::istringstream lines(*content);
    std::string raw;
    while (std::getline(lines, raw)) {
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (line.substr(0, 7) == "export ") line = trim(line.substr(7));
        auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        std::string_view key = line.substr(0, eq);
        if (!valid_name(key)) continue;
        std::string_view rest = line.substr(eq + 1);
        std::string value;
        if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
            char q = rest.front();
            auto close = rest.find(q, 1);
            value = std::string(
                rest.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
        } else {
            auto hash = rest.find(" #");
            value = std::string(trim(rest.substr(0, hash)));
        }
        vars.emplace(std::string(key), std::move(value));
    }
    return vars;
}

Status load_env_file_defaults(const std::string& path)
{
    auto vars = read_env_file(path);
    if (!vars) {
        if (vars.error().code == -ENOENT) return {};
        return vars.error();
    }
    (void)apply_environment_defaults(*vars);
    return {};
}

}  // namespace outpost::env
