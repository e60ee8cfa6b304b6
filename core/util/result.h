#pragma once
// A small std::expected stand-in (GCC 12 has no <expected>): public core functions that can fail on user
// input return Result<T>, whose error is a message a user can act on (what, where, how to fix).
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lbk {

struct Error {
    std::string message;
    bool badInput = false; // the user's input was wrong (lbk's exit code 2), rather than the work failing (1)
};

inline Error badInput(std::string message)
{
    return Error{std::move(message), true};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() & { assert(ok()); return std::get<0>(m_v); }
    const T &value() const & { assert(ok()); return std::get<0>(m_v); }
    T &&value() && { assert(ok()); return std::get<0>(std::move(m_v)); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }
    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }

    const Error &error() const { assert(!ok()); return std::get<1>(m_v); }
    const std::string &message() const { return error().message; }

private:
    std::variant<T, Error> m_v;
};

// For operations that return nothing but can fail.
struct Unit {};
using Status = Result<Unit>;
inline Status okStatus() { return Unit{}; }

} // namespace lbk
