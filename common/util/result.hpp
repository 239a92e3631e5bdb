// Result<T>: a value or an Error, returned at every module edge. Functions that can fail for
// reasons outside the program's control (peer input, files, the OS) return one instead of
// throwing.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace outpost {

// A domain ("wire", "tls", "io", ...), a code (a negative errno where one fits, so it can
// travel as an lrmd_rc) and a message that names the thing and the cause.
struct Error {
    std::string domain;
    int code = 0;
    std::string message;

    // "domain: message" for logs and command-line tools.
    [[nodiscard]] std::string describe() const { return domain + ": " + message; }
};

inline Error make_error(std::string domain, int code, std::string message)
{
    return Error{std::move(domain), code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() &
    {
        assert(ok());
        return std::get<0>(state_);
    }
    const T& value() const&
    {
        assert(ok());
        return std::get<0>(state_);
    }
    T&& value() &&
    {
        assert(ok());
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    [[nodiscard]] const Error& error() const
    {
        assert(!ok());
        return std::get<1>(state_);
    }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    [[nodiscard]] const Error& error() const
    {
        assert(failed_);
        return error_;
    }

private:
    Error error_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace outpost
