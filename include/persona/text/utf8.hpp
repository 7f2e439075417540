#ifndef PERSONA_TEXT_UTF8_HPP
#define PERSONA_TEXT_UTF8_HPP

/// @file
/// UTF-8 validation, decoding, encoding and code-point-aware truncation.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace persona::text {

/// U+FFFD REPLACEMENT CHARACTER, produced for undecodable input.
inline constexpr char32_t replacement_character = U'\uFFFD';

namespace detail {

inline constexpr bool is_continuation(unsigned char b) noexcept {
    return (b & 0xC0U) == 0x80U;
}

/** Return the length of the valid UTF-8 sequence starting at `pos`, or 0.

    The second-byte ranges follow Table 3-7 of the Unicode Standard, which is
    what rejects overlongs (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and
    code points above U+10FFFF (F4 90.., F5..FF) in one place.
*/
inline std::size_t valid_sequence_length(const unsigned char* p, std::size_t avail) noexcept {
    const unsigned char b0 = p[0];
    if (b0 < 0x80U)
        return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80U;
    unsigned char hi = 0xBFU;
    if (b0 >= 0xC2U && b0 <= 0xDFU) {
        n = 2;
    } else if (b0 >= 0xE0U && b0 <= 0xEFU) {
        n = 3;
        if (b0 == 0xE0U)
            lo = 0xA0U;
        else if (b0 == 0xEDU)
            hi = 0x9FU;
    } else if (b0 >= 0xF0U && b0 <= 0xF4U) {
        n = 4;
        if (b0 == 0xF0U)
            lo = 0x90U;
        else if (b0 == 0xF4U)
            hi = 0x8FU;
    } else {
        return 0; // 80..C1 (stray continuation, overlong lead) or F5..FF
    }
    if (avail < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (!is_continuation(p[i]))
            return 0;
    return n;
}

} // namespace detail

/** Return `true` if `s` is well-formed UTF-8.

    The check is strict: overlong encodings, UTF-16 surrogates (U+D800..U+DFFF),
    code points above U+10FFFF and truncated sequences are all rejected.

    @param s The bytes to check.
    @return `true` if `s` is valid UTF-8; an empty string is valid.

    @par Complexity
    Linear in `s.size()`.
*/
inline bool is_valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        // Most text is ASCII: skip it eight bytes at a time.
        while (i + 8 <= n) {
            std::uint64_t word;
            std::memcpy(&word, p + i, 8);
            if (word & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        std::size_t len = detail::valid_sequence_length(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

/** Return the number of code points of the UTF-8 string `s`.

    @param s Valid UTF-8. For invalid input the result is the number of bytes
    that are not continuation bytes, which is still a useful length estimate.
    @return The number of code points.

    @par Complexity
    Linear in `s.size()`.
*/
inline std::size_t count_code_points(std::string_view s) noexcept {
    std::size_t count = 0;
    for (char c : s)
        count += !detail::is_continuation(static_cast<unsigned char>(c));
    return count;
}

/// A code point decoded from UTF-8 and the number of bytes it occupied.
struct decoded {
    char32_t cp;         ///< The code point, or U+FFFD for an invalid byte.
    std::size_t length;  ///< Bytes consumed; 1 for an invalid byte, 0 at end of input.
};

/** Decode the code point starting at byte `pos` of `s`.

    Decoding is strict (see `is_valid_utf8`). An invalid or truncated sequence
    yields U+FFFD with length 1, so a loop advancing by `length` resynchronizes
    on the next byte and never skips valid text.

    @param s The input.
    @param pos A byte offset into `s`.
    @return The code point and its length; `{U+FFFD, 0}` if `pos >= s.size()`.

    @par Complexity
    Constant.
*/
inline decoded decode_one(std::string_view s, std::size_t pos) noexcept {
    if (pos >= s.size())
        return {replacement_character, 0};
    const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
    const std::size_t len = detail::valid_sequence_length(p, s.size() - pos);
    switch (len) {
    case 1:
        return {static_cast<char32_t>(p[0]), 1};
    case 2:
        return {static_cast<char32_t>(((p[0] & 0x1FU) << 6) | (p[1] & 0x3FU)), 2};
    case 3:
        return {static_cast<char32_t>(((p[0] & 0x0FU) << 12) | ((p[1] & 0x3FU) << 6) |
                                      (p[2] & 0x3FU)),
                3};
    case 4:
        return {static_cast<char32_t>(((p[0] & 0x07U) << 18) | ((p[1] & 0x3FU) << 12) |
                                      ((p[2] & 0x3FU) << 6) | (p[3] & 0x3FU)),
                4};
    default:
        return {replacement_character, 1};
    }
}

/** Append the UTF-8 encoding of `cp` to `out`.

    @param out The string to append to.
    @param cp The code point. Surrogates and values above U+10FFFF cannot be
    encoded as valid UTF-8 and are replaced by U+FFFD, so `out` stays valid.

    @par Complexity
    Amortized constant.
*/
inline void append_utf8(std::string& out, char32_t cp) {
    if ((cp >= 0xD800U && cp <= 0xDFFFU) || cp > 0x10FFFFU)
        cp = replacement_character;
    if (cp < 0x80U) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800U) {
        const char b[2] = {static_cast<char>(0xC0U | (cp >> 6)),
                           static_cast<char>(0x80U | (cp & 0x3FU))};
        out.append(b, 2);
    } else if (cp < 0x10000U) {
        const char b[3] = {static_cast<char>(0xE0U | (cp >> 12)),
                           static_cast<char>(0x80U | ((cp >> 6) & 0x3FU)),
                           static_cast<char>(0x80U | (cp & 0x3FU))};
        out.append(b, 3);
    } else {
        const char b[4] = {static_cast<char>(0xF0U | (cp >> 18)),
                           static_cast<char>(0x80U | ((cp >> 12) & 0x3FU)),
                           static_cast<char>(0x80U | ((cp >> 6) & 0x3FU)),
                           static_cast<char>(0x80U | (cp & 0x3FU))};
        out.append(b, 4);
    }
}

/** Return `true` if `cp` is white space.

    Covers ASCII white space and the Unicode `White_Space` characters that
    appear in real text (NBSP, the U+2000 block, ideographic space, line and
    paragraph separators).

    @par Complexity
    Constant.
*/
constexpr bool is_space(char32_t cp) noexcept {
    if (cp < 0x80U)
        return cp == U' ' || (cp >= U'\t' && cp <= U'\r');
    return cp == 0x85U || cp == 0xA0U || cp == 0x1680U || (cp >= 0x2000U && cp <= 0x200AU) ||
           cp == 0x2028U || cp == 0x2029U || cp == 0x202FU || cp == 0x205FU || cp == 0x3000U;
}

namespace detail {

// Characters that read badly at the end of a shortened text ("we met at 9,").
constexpr bool is_trailing_trim(char32_t cp) noexcept {
    return is_space(cp) || cp == U',' || cp == U';' || cp == U':' || cp == U'-' ||
           cp == U'\u2013' || cp == U'\u2014' || cp == U'(' || cp == U'[' || cp == U'{' ||
           cp == U'/' || cp == U'&';
}

// The byte length of `s[0, end)` after removing trailing `is_trailing_trim` code points.
inline std::size_t trim_trailing_end(std::string_view s, std::size_t end) noexcept {
    while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && is_continuation(static_cast<unsigned char>(s[start])))
            --start;
        const decoded d = decode_one(s, start);
        if (start + d.length != end) {
            // A malformed tail: treat the last byte as its own (non-trimmable) unit.
            return end;
        }
        if (!is_trailing_trim(d.cp))
            return end;
        end = start;
    }
    return end;
}

} // namespace detail

/** Shorten `s` to at most `max_code_points` code points, preferably between words.

    If `s` is already short enough it is returned unchanged. Otherwise it is cut
    at the last white space within the limit, and trailing white space and
    dangling punctuation (`,` `;` `:` `-` dashes, opening brackets) are removed.
    When the allowed prefix contains no usable word boundary, the cut happens at
    the code point limit, never inside a multi-byte sequence.

    @param s The text, normally valid UTF-8; an invalid byte counts as one
    code point.
    @param max_code_points The limit; 0 yields an empty string.
    @return The shortened text; its code point count never exceeds the limit.

    @par Complexity
    Linear in the byte length of the allowed prefix.
*/
inline std::string truncate_at_word(std::string_view s, std::size_t max_code_points) {
    // Find the byte offset just past the allowed prefix, remembering the last
    // white space seen, in a single pass that stops at the limit.
    std::size_t pos = 0;
    std::size_t count = 0;
    std::size_t last_space = std::string_view::npos;
    while (pos < s.size() && count < max_code_points) {
        const decoded d = decode_one(s, pos);
        if (is_space(d.cp))
            last_space = pos;
        pos += d.length;
        ++count;
    }
    if (pos >= s.size())
        return std::string(s);

    // The limit falls exactly on a word boundary: the whole prefix is usable.
    std::size_t cut = pos;
    if (!is_space(decode_one(s, pos).cp) && last_space != std::string_view::npos)
        cut = last_space;

    std::size_t end = detail::trim_trailing_end(s, cut);
    if (end == 0) // only leading space/punctuation before the boundary: hard cut instead
        end = detail::trim_trailing_end(s, pos);
    return std::string(s.substr(0, end));
}

} // namespace persona::text

#endif
