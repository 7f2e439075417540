#ifndef PERSONA_QUERY_STRING_HPP
#define PERSONA_QUERY_STRING_HPP

/// @file
/// The query string of `GET /summary` (API.md): parsed strictly by the server,
/// written by the remote client.

#include <persona/api.hpp>
#include <persona/error.hpp>
#include <persona/text/utf8.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace persona {

namespace detail {

inline constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/** Percent-decode one query string component, with `+` as a space (HTML forms send that).

    @returns The decoded bytes (not checked for UTF-8), or `std::nullopt` when a `%` is
    not followed by two hex digits.
*/
inline std::optional<std::string> url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] != '%') {
            out += s[i];
        } else {
            int const hi = i + 2 < s.size() ? hex_digit_value(s[i + 1]) : -1;
            int const lo = hi < 0 ? -1 : hex_digit_value(s[i + 2]);
            if (lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
    }
    return out;
}

/** Percent-encode `s`, keeping only RFC 3986 unreserved characters, so the result is
    safe in any query string component (`+` and `&` in values survive). */
inline std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        auto const b = static_cast<unsigned char>(c);
        if ((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[b >> 4];
            out += hex[b & 0xF];
        }
    }
    return out;
}

/// Parse a positive decimal integer of at most `max` (digits only: no sign, space or point).
inline std::optional<std::size_t> parse_positive(std::string_view s, std::size_t max) noexcept {
    if (s.empty()) return std::nullopt;
    std::size_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
        if (n > max) return std::nullopt; // also stops before `n * 10` can overflow
    }
    if (n == 0) return std::nullopt;
    return n;
}

} // namespace detail

namespace detail {

/// A query parameter the caller knows, and its value once read.
struct query_param {
    std::string_view name;
    std::optional<std::string> value;
};

/** Read the parameters named in `params` from `query`; others are ignored.

    @returns `errc::invalid_request` whose `details.field` names the parameter when one
    is badly percent-encoded, not UTF-8 once decoded, or given twice.
*/
inline result<void> read_query(std::string_view query, std::span<query_param> params) {
    while (!query.empty()) {
        auto const amp = query.find('&');
        auto const pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue; // "a=1&&b=2"
        auto const eq = pair.find('=');
        auto const name = url_decode(pair.substr(0, eq));
        if (!name) return invalid_field("query", "the query string has a malformed percent-escape");
        auto const it = std::find_if(params.begin(), params.end(), [&](query_param const& p) { return p.name == *name; });
        if (it == params.end()) continue;
        auto const field = std::string(it->name);
        if (it->value) return invalid_field(field, "parameter '" + field + "' is given more than once");
        it->value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!it->value) return invalid_field(field, field + " has a malformed percent-escape");
        if (!text::is_valid_utf8(*it->value)) return invalid_field(field, field + " is not valid UTF-8");
    }
    return {};
}

/// Check a `user_id` parameter as the JSON bodies' `user_id` is checked: 1–128 code points.
inline result<void> check_query_user_id(std::optional<std::string> const& user_id) {
    if (!user_id) return invalid_field("user_id", "user_id is required");
    auto const chars = text::count_code_points(*user_id);
    if (chars < 1 || chars > api_limits::max_user_id_chars)
        return invalid_field("user_id", "user_id must be 1 to " + std::to_string(api_limits::max_user_id_chars) +
                                            " characters long");
    return {};
}

} // namespace detail

/** Parse the query string of `GET /summary`.

    Parameters: `user_id` (required, 1–128 code points), `purpose` (one of
    `summary_purposes`, default `general`), `max_chars` (1 to 1,000,000) and
    `freshness_days` (1 to 36,500), both digits only. Unknown parameters are ignored.

    @param query The part of the target after `?`; may be empty.
    @returns The request (workspace left at its default), or `errc::invalid_request`
    whose `details.field` names the parameter: missing, out of range, badly
    percent-encoded, not UTF-8 once decoded, or given twice.
*/
inline result<summary_request> summary_request_from_query(std::string_view query) {
    std::array<detail::query_param, 4> params{{{"user_id", {}}, {"purpose", {}}, {"max_chars", {}}, {"freshness_days", {}}}};
    auto& [user_id, purpose, max_chars, freshness_days] = params;
    if (auto r = detail::read_query(query, params); !r) return r.error();

    summary_request req;
    if (auto r = detail::check_query_user_id(user_id.value); !r) return r.error();
    req.user_id = std::move(*user_id.value);

    if (purpose.value) {
        auto const* const end = std::end(summary_purposes);
        if (std::find(std::begin(summary_purposes), end, *purpose.value) == end) {
            std::string allowed;
            for (auto p : summary_purposes) (allowed += allowed.empty() ? "" : ", ") += p;
            return invalid_field("purpose", "purpose must be one of: " + allowed);
        }
        req.purpose = std::move(*purpose.value);
    }

    // The two numeric parameters differ only in name, bound and destination.
    for (auto [p, max, out] : {std::tuple{&max_chars, api_limits::max_summary_chars, &req.max_chars},
                               std::tuple{&freshness_days, api_limits::max_freshness_days, &req.freshness_days}}) {
        if (!p->value) continue;
        *out = detail::parse_positive(*p->value, max);
        if (!*out)
            return invalid_field(p->name, std::string(p->name) + " must be a whole number from 1 to " +
                                              std::to_string(max));
    }
    return req;
}

/** Write the query string of `GET /summary` for `req`, without the leading `?`.

    Order: `user_id`, `purpose` (always sent), then `max_chars` and `freshness_days`
    when set. Values are percent-encoded so `summary_request_from_query` reads them back.
*/
inline std::string to_query_string(summary_request const& req) {
    std::string q = "user_id=" + detail::url_encode(req.user_id) + "&purpose=" + detail::url_encode(req.purpose);
    if (req.max_chars) q += "&max_chars=" + std::to_string(*req.max_chars);
    if (req.freshness_days) q += "&freshness_days=" + std::to_string(*req.freshness_days);
    return q;
}

/** Parse the query string of `GET /export` (persona extension): `user_id`, required,
    1–128 code points. Unknown parameters are ignored.

    @returns The request (workspace left at its default), or `errc::invalid_request`
    with `details.field` = `"user_id"` (missing, out of range, badly encoded, or twice).
*/
inline result<export_request> export_request_from_query(std::string_view query) {
    std::array<detail::query_param, 1> params{{{"user_id", {}}}};
    if (auto r = detail::read_query(query, params); !r) return r.error();
    if (auto r = detail::check_query_user_id(params[0].value); !r) return r.error();
    export_request req;
    req.user_id = std::move(*params[0].value);
    return req;
}

/** Parse the query string of `POST /import` (persona extension): an optional `user_id`
    to import under instead of the export's own. Unknown parameters are ignored.

    @returns The request with `user_id` set (or empty) and no data yet (the body is the
    data: `user_export_from_ndjson`), or `errc::invalid_request` with
    `details.field` = `"user_id"`.
*/
inline result<import_request> import_request_from_query(std::string_view query) {
    std::array<detail::query_param, 1> params{{{"user_id", {}}}};
    if (auto r = detail::read_query(query, params); !r) return r.error();
    import_request req;
    if (params[0].value) {
        if (auto r = detail::check_query_user_id(params[0].value); !r) return r.error();
        req.user_id = std::move(*params[0].value);
    }
    return req;
}

/// Write the query string of `GET /export` for `req`, without the leading `?`.
inline std::string to_query_string(export_request const& req) { return "user_id=" + detail::url_encode(req.user_id); }

/// Write the query string of `POST /import` for `req`, without the leading `?`: empty
/// unless `req.user_id` is set.
inline std::string to_query_string(import_request const& req) {
    return req.user_id.empty() ? std::string() : "user_id=" + detail::url_encode(req.user_id);
}

} // namespace persona

#endif
