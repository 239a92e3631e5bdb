// Lifetime: the one "is the object still there?" idiom, for an object that hands callbacks to
// something that may call them after it is gone (a loop source, a thread, a peer object), or
// that calls out to code that may destroy it.
#pragma once

#include <memory>

namespace outpost {

// The object holds a Lifetime; the callback or the caller keeps a Lifetime::Watch and checks
// it before touching the object:
//
//     auto alive = lifetime_.watch();
//     handler();              // may destroy *this
//     if (!alive) return;     // it did
class Lifetime {
public:
    // Whether the Lifetime it came from still exists (and has not ended). Copyable; holds
    // nothing alive.
    class Watch {
    public:
        Watch() = default;
        [[nodiscard]] bool alive() const { return !token_.expired(); }
        explicit operator bool() const { return alive(); }

    private:
        friend class Lifetime;
        explicit Watch(std::weak_ptr<const char> token) : token_(std::move(token)) {}
        std::weak_ptr<const char> token_;
    };

    Lifetime() = default;
    Lifetime(const Lifetime&) = delete;
    Lifetime& operator=(const Lifetime&) = delete;
    ~Lifetime() = default;

    [[nodiscard]] Watch watch() const { return Watch(token_); }
    // Ends it before the object goes (first thing in a destructor whose body still runs
    // code a watcher must not mistake for a live object).
    void end() { token_.reset(); }

private:
    std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

}  // namespace outpost
