#ifndef PERSONA_HTTP_MESSAGE_HPP
#define PERSONA_HTTP_MESSAGE_HPP

/// @file
/// Plain HTTP request and response values, the currency of the `transport` concept.
/// They keep Beast (or any HTTP library) out of public signatures.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/** One HTTP header field. */
struct http_field {
    std::string name;
    std::string value;

    friend bool operator==(http_field const&, http_field const&) = default;
};

namespace detail {
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
inline std::string_view find_field(std::vector<http_field> const& fields, std::string_view name) noexcept {
    for (auto const& f : fields)
        if (iequals(f.name, name)) return f.value;
    return {};
}
} // namespace detail

/** An HTTP request: method, origin-form target (`/summary?user_id=u1`), fields and body. */
struct http_request {
    std::string method;                ///< `GET`, `POST`, `PUT`, ...
    std::string target;                ///< path and query string
    std::vector<http_field> fields;
    std::string body;

    /// Return the value of the first field named `name` (case-insensitive), or empty.
    std::string_view field(std::string_view name) const noexcept { return detail::find_field(fields, name); }
};

/** An HTTP response: status, fields and body. */
struct http_response {
    int status = 200;
    std::vector<http_field> fields;
    std::string body;

    /// Return the value of the first field named `name` (case-insensitive), or empty.
    std::string_view field(std::string_view name) const noexcept { return detail::find_field(fields, name); }
};

} // namespace persona

#endif
