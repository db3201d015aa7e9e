// SPDX-License-Identifier: GPL-2.0-or-later
// Errors are values: every fallible function returns Result<T>. Nothing that
// bad input can cause is an assert or an exception (the binary is built with
// -fno-exceptions, and in PID 1 an escaped exception would panic the kernel
// and lose the dump).
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace core {

class [[nodiscard]] Error {
public:
    // A failed system call: errno_code is kept so callers can branch on it
    // (kexec maps ENOMEM/EPERM/... to advice) and the text reads
    // "what: strerror".
    static Error from_errno(int errno_code, std::string what);
    // The usual case: errno is read here, right after the failing call.
    static Error from_errno(std::string what) { return from_errno(errno, std::move(what)); }
    // A problem with input or state that has no errno of its own.
    // A message that already says everything, tagged with an errno so
    // callers can still branch on the cause.
    static Error with_code(int errno_code, std::string message) { return Error(errno_code, std::move(message), false); }
    static Error invalid(std::string message) { return Error(EINVAL, std::move(message), false); }
    static Error unsupported(std::string message) { return Error(ENOTSUP, std::move(message), false); }

    int errno_code() const { return m_errno_code; }
    // The full one-line message, context first: "path: what: detail".
    std::string const& message() const { return m_message; }

    // Prefix context ("/proc/vmcore", "kdump.conf:12") while the error travels
    // up; returns *this so it composes inside TRY-style returns.
    Error with_context(std::string_view context) &&;

private:
    Error(int errno_code, std::string message, bool) : m_errno_code(errno_code), m_message(std::move(message)) { }
    int m_errno_code;
    std::string m_message;
};

template<typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_storage(std::in_place_index<0>, std::move(value)) { }
    Result(Error error) : m_storage(std::in_place_index<1>, std::move(error)) { }
    // Lets `return value_of_convertible_type;` work, as std::expected does.
    template<typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result>>>
    Result(U&& value) : m_storage(std::in_place_index<0>, T(std::forward<U>(value))) { }

    bool ok() const { return m_storage.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_storage); }
    T const& value() const& { return std::get<0>(m_storage); }
    T&& value() && { return std::get<0>(std::move(m_storage)); }
    T* operator->() { return &value(); }
    T const* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    T const& operator*() const& { return value(); }

    Error const& error() const& { return std::get<1>(m_storage); }
    Error&& error() && { return std::get<1>(std::move(m_storage)); }

    T release_value() && { return std::get<0>(std::move(m_storage)); }
    // Prefix context to the error, if there is one: TRY(read(...).context(path)).
    Result context(std::string_view context) &&
    {
        if (!ok())
            std::get<1>(m_storage) = std::get<1>(std::move(m_storage)).with_context(context);
        return std::move(*this);
    }

    template<typename U>
    T value_or(U&& fallback) const& { return ok() ? value() : T(std::forward<U>(fallback)); }

private:
    std::variant<T, Error> m_storage;
};

template<>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_storage(std::in_place_index<1>, std::move(error)) { }

    bool ok() const { return m_storage.index() == 0; }
    explicit operator bool() const { return ok(); }
    Error const& error() const& { return std::get<1>(m_storage); }
    Error&& error() && { return std::get<1>(std::move(m_storage)); }
    void release_value() && { }
    Result context(std::string_view context) &&
    {
        if (!ok())
            std::get<1>(m_storage) = std::get<1>(std::move(m_storage)).with_context(context);
        return std::move(*this);
    }

private:
    struct Success { };
    std::variant<Success, Error> m_storage;
};

} // namespace core

// Propagate an error, else yield the value (GNU statement expression; gcc and
// clang both have it). Usage: auto fd = TRY(core::open_file(path, O_RDONLY));
// __COUNTER__ gives nested TRYs distinct names.
#define TRY(expression) TRY_WITH_NAME_(expression, TRY_CONCAT_(try_result_, __COUNTER__))
#define TRY_CONCAT_(a, b) TRY_CONCAT_INNER_(a, b)
#define TRY_CONCAT_INNER_(a, b) a##b
#define TRY_WITH_NAME_(expression, name)              \
    __extension__({                                   \
        auto&& name = (expression);                   \
        if (!name.ok())                               \
            return std::move(name).error();           \
        std::move(name).release_value();              \
    })
