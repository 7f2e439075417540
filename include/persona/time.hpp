#ifndef PERSONA_TIME_HPP
#define PERSONA_TIME_HPP

/// @file
/// Timestamps as API.md writes them: ISO 8601 UTC, emitted with second precision and `Z`.

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace persona {

/// A point in time, UTC, second precision (the precision persona emits).
using timestamp = std::chrono::sys_seconds;

namespace detail {
constexpr bool parse_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}
} // namespace detail

/** Parse an ISO 8601 timestamp.

    Accepts `YYYY-MM-DDTHH:MM:SS` followed by optional fractional seconds and a
    zone of `Z`, `+HH:MM`, `-HH:MM` or `+HHMM`; a lower-case `t`/`z` or a space
    separator are accepted too. A bare date `YYYY-MM-DD` means midnight UTC.
    The result is normalised to UTC and truncated to whole seconds.

    @returns the time point, or `std::nullopt` when `text` is not a valid timestamp.
*/
constexpr std::optional<timestamp> parse_timestamp(std::string_view text) noexcept {
    using namespace std::chrono;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (!detail::parse_digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' ||
        !detail::parse_digits(text, 5, 2, mo) || text[7] != '-' || !detail::parse_digits(text, 8, 2, d))
        return std::nullopt;
    year_month_day const ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    if (text.size() == 10) return sys_days{ymd};
    char const sep = text[10];
    if (sep != 'T' && sep != 't' && sep != ' ') return std::nullopt;
    if (!detail::parse_digits(text, 11, 2, h) || text.size() < 19 || text[13] != ':' ||
        !detail::parse_digits(text, 14, 2, mi) || text[16] != ':' || !detail::parse_digits(text, 17, 2, se))
        return std::nullopt;
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t const start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
    }
    int offset_minutes = 0;
    if (pos == text.size()) return std::nullopt; // a zone is required: local times are ambiguous
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        int const sign = text[pos] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!detail::parse_digits(text, pos + 1, 2, oh)) return std::nullopt;
        std::size_t p = pos + 3;
        if (p < text.size() && text[p] == ':') ++p;
        if (!detail::parse_digits(text, p, 2, om)) return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
        pos = p + 2;
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} - minutes{offset_minutes};
}

/** Format `t` as `YYYY-MM-DDTHH:MM:SSZ`. */
inline std::string format_timestamp(timestamp t) {
    using namespace std::chrono;
    auto const days = floor<std::chrono::days>(t);
    year_month_day const ymd{days};
    hh_mm_ss const hms{t - days};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

/** Format `t` as a human date such as `10 October 2025`, used in answers. */
inline std::string format_human_date(timestamp t) {
    using namespace std::chrono;
    static constexpr char const* months[] = {"January", "February", "March",     "April",   "May",      "June",
                                             "July",    "August",   "September", "October", "November", "December"};
    year_month_day const ymd{floor<days>(t)};
    return std::to_string(static_cast<unsigned>(ymd.day())) + " " + months[static_cast<unsigned>(ymd.month()) - 1] +
           " " + std::to_string(static_cast<int>(ymd.year()));
}

/** The current time, truncated to seconds. */
inline timestamp now() noexcept { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); }

} // namespace persona

#endif
