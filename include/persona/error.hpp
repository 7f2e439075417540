#ifndef PERSONA_ERROR_HPP
#define PERSONA_ERROR_HPP

/// @file
/// The one error model of persona: `persona::errc`, `persona::error`, `persona::result<T>`.

#include <boost/assert/source_location.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <boost/throw_exception.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace persona {

/** The error conditions of the Personalization API.

    Each value is one row of the error table of API.md: it has a wire code
    (`to_string`) and an HTTP status (`http_status`). Every fallible operation of
    persona reports one of these, whatever backend produced the failure.
*/
enum class errc : int {
    invalid_request = 1,  ///< 400: malformed input; `details.field` names the field
    pii_detected,         ///< 400: PII screening configured to reject
    unauthorized,         ///< 401: no key or unknown key
    forbidden,            ///< 403: key scope does not allow this endpoint
    user_not_found,       ///< 404: user not registered in this workspace
    not_found,            ///< 404: unknown path or ticket
    method_not_allowed,   ///< 405: known path, wrong method
    payload_too_large,    ///< 413: body over the configured limit
    rate_limited,         ///< 429: over the key's quota
    internal_error,       ///< 500: a bug or a backend failure
    unavailable,          ///< 503: storage or a remote dependency is down; safe to retry
};

/** Return the wire code of `e`, such as `"USER_NOT_FOUND"`. */
constexpr std::string_view to_string(errc e) noexcept {
    switch (e) {
    case errc::invalid_request: return "INVALID_REQUEST";
    case errc::pii_detected: return "PII_DETECTED";
    case errc::unauthorized: return "UNAUTHORIZED";
    case errc::forbidden: return "FORBIDDEN";
    case errc::user_not_found: return "USER_NOT_FOUND";
    case errc::not_found: return "NOT_FOUND";
    case errc::method_not_allowed: return "METHOD_NOT_ALLOWED";
    case errc::payload_too_large: return "PAYLOAD_TOO_LARGE";
    case errc::rate_limited: return "RATE_LIMITED";
    case errc::internal_error: return "INTERNAL_ERROR";
    case errc::unavailable: return "UNAVAILABLE";
    }
    return "INTERNAL_ERROR";
}

/** Return the HTTP status API.md assigns to `e`. */
constexpr int http_status(errc e) noexcept {
    switch (e) {
    case errc::invalid_request:
    case errc::pii_detected: return 400;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::user_not_found:
    case errc::not_found: return 404;
    case errc::method_not_allowed: return 405;
    case errc::payload_too_large: return 413;
    case errc::rate_limited: return 429;
    case errc::internal_error: return 500;
    case errc::unavailable: return 503;
    }
    return 500;
}

/** Parse a wire code such as `"USER_NOT_FOUND"`.

    @returns the matching `errc`, or `errc::internal_error` for an unknown code.
*/
constexpr errc errc_from_string(std::string_view code) noexcept {
    for (int i = 1; i <= static_cast<int>(errc::unavailable); ++i)
        if (to_string(static_cast<errc>(i)) == code) return static_cast<errc>(i);
    return errc::internal_error;
}

/** The `boost::system` category of `persona::errc`, so that it converts to `error_code`. */
class error_category_impl final : public boost::system::error_category {
public:
    constexpr error_category_impl() noexcept : boost::system::error_category(0x70e250aa1b2c3d4eULL) {}
    const char* name() const noexcept override { return "persona"; }
    std::string message(int ev) const override { return std::string(to_string(static_cast<errc>(ev))); }
};

/** Return the singleton persona error category. */
inline boost::system::error_category const& error_category() noexcept {
    static error_category_impl const instance;
    return instance;
}

/** Make an `error_code` from a persona `errc`. */
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/** A failure: what went wrong (`code`), for whom (`message`), and where (`details`).

    `message` is for people and never carries secrets or backend internals;
    `details` is machine-readable (`field`, `index`, `user_id`, ...) and is sent
    as the `details` member of the wire error body.
*/
struct error {
    errc code = errc::internal_error;
    std::string message;
    boost::json::object details;

    friend bool operator==(error const& a, error const& b) noexcept {
        return a.code == b.code && a.message == b.message && a.details == b.details;
    }
};

/** The exception thrown by `result<T>::value()` on an error. */
class exception : public std::runtime_error {
public:
    explicit exception(persona::error e)
        : std::runtime_error(std::string(to_string(e.code)) + ": " + e.message), error_(std::move(e)) {}

    /// The error that was thrown.
    persona::error const& get_error() const noexcept { return error_; }
    /// The error's code.
    errc code() const noexcept { return error_.code; }

private:
    persona::error error_;
};

/** Hook used by `boost::system::result<T, persona::error>::value()`. */
[[noreturn]] inline void throw_exception_from_error(error const& e, boost::source_location const& loc) {
    boost::throw_exception(exception(e), loc);
}

/** The return type of every fallible persona operation. `.value()` throws `persona::exception`. */
template <class T>
using result = boost::system::result<T, error>;

/** Make an error with a code, a message and optional details. */
inline error make_error(errc code, std::string message, boost::json::object details = {}) {
    return error{code, std::move(message), std::move(details)};
}

/** Make an `INVALID_REQUEST` error whose `details.field` names `field`. */
inline error invalid_field(std::string_view field, std::string message) {
    boost::json::object details;
    details["field"] = field;
    return error{errc::invalid_request, std::move(message), std::move(details)};
}

/** Make a `USER_NOT_FOUND` error for `user_id`. */
inline error user_not_found(std::string_view user_id) {
    boost::json::object details;
    details["user_id"] = user_id;
    return error{errc::user_not_found, "no user '" + std::string(user_id) + "' in this workspace",
                 std::move(details)};
}

} // namespace persona

namespace boost::system {
template <>
struct is_error_code_enum<persona::errc> : std::true_type {};
} // namespace boost::system

#endif
