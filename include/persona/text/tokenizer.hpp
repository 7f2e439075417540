#ifndef PERSONA_TEXT_TOKENIZER_HPP
#define PERSONA_TEXT_TOKENIZER_HPP

/// @file
/// Splitting UTF-8 text into folded word tokens.

#include <persona/text/case_fold.hpp>
#include <persona/text/utf8.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace persona::text {

/// A word of the input: its folded form and where it was found.
struct token {
    std::string text;    ///< Lower-cased, accent-stripped UTF-8; apostrophes normalized to `'`.
    std::size_t offset;  ///< Byte offset of the word in the input.
    std::size_t length;  ///< Byte length of the word in the input.
};

namespace detail {

constexpr bool is_ascii_digit(char32_t cp) noexcept {
    return cp >= U'0' && cp <= U'9';
}

constexpr bool is_apostrophe(char32_t cp) noexcept {
    return cp == U'\'' || cp == U'\u2019';
}

// A letter for the apostrophe rule: "rock'n'roll" and "don't" keep theirs,
// "'90s" and "students' " do not.
constexpr bool is_letter(char32_t cp) noexcept {
    return is_word_char(cp) && !is_ascii_digit(cp) && !is_cjk(cp);
}

// Append the folded form of a word character so that "Café", "CAFE" and
// "cafe\u0301" all produce "cafe".
inline void append_folded(std::string& out, char32_t cp) {
    if (cp < 0x80U) {
        out.push_back(static_cast<char>(cp >= U'A' && cp <= U'Z' ? cp + 32U : cp));
        return;
    }
    if (cp >= 0x300U && cp <= 0x36FU)
        return; // a combining accent: strip it like a precomposed one
    const char32_t folded = strip_accent(fold_case(cp));
    switch (folded) {
    // Ligatures expand so that the English stemmer and ASCII queries see them.
    case U'\u00DF': out.append("ss"); return;
    case U'\u00E6': out.append("ae"); return;
    case U'\u0153': out.append("oe"); return;
    case U'\u0133': out.append("ij"); return;
    default: append_utf8(out, folded); return;
    }
}

/** Call `emit(offset, length, folded)` for each token of `text`, in order.

    `folded` is a scratch buffer reused between calls: copy it if needed.
    One pass, no allocation besides the buffer's growth.
*/
template <class Emit>
void for_each_token(std::string_view text, Emit&& emit) {
    std::string buf;
    constexpr std::size_t none = std::string_view::npos;
    std::size_t start = none;
    char32_t prev = 0; // the last code point taken into the current word
    auto flush = [&](std::size_t end) {
        if (start != none && !buf.empty())
            emit(start, end - start, static_cast<const std::string&>(buf));
        buf.clear();
        start = none;
    };

    std::size_t pos = 0;
    while (pos < text.size()) {
        // An ASCII letter or digit, the common case, takes the path below without
        // decoding: it is a word character, not CJK, and folds to its lower case.
        if (const auto c = static_cast<unsigned char>(text[pos]);
            (c >= '0' && c <= '9') || ((c | 0x20U) >= 'a' && (c | 0x20U) <= 'z')) {
            if (start == none)
                start = pos;
            buf.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32U : c));
            prev = c;
            ++pos;
            continue;
        }
        const decoded d = decode_one(text, pos);
        const char32_t cp = d.cp;
        // d.cp is U+FFFD for an invalid byte, and U+FFFD is not a word char,
        // so invalid bytes separate words without a special case.
        if (is_word_char(cp)) {
            if (is_cjk(cp)) {
                flush(pos);
                start = pos;
                append_folded(buf, cp);
                flush(pos + d.length);
            } else {
                if (start == none)
                    start = pos;
                append_folded(buf, cp);
                prev = cp;
            }
            pos += d.length;
            continue;
        }
        if (start != none) {
            const std::size_t next_pos = pos + d.length;
            if (is_apostrophe(cp)) {
                if (is_letter(decode_one(text, next_pos).cp)) {
                    buf.push_back('\'');
                    prev = cp;
                    pos = next_pos;
                    continue;
                }
            } else if ((cp == U'.' || cp == U':') && is_ascii_digit(prev)) {
                // "3.5" and "9:30" are one token; "end.Next" and "note: x" are not.
                if (is_ascii_digit(decode_one(text, next_pos).cp)) {
                    buf.push_back(static_cast<char>(cp));
                    prev = cp;
                    pos = next_pos;
                    continue;
                }
            }
        }
        flush(pos);
        pos += d.length;
    }
    flush(text.size());
}

} // namespace detail

/** Split `text` into folded word tokens.

    Words are maximal runs of word characters (see `is_word_char`); anything
    else, including invalid UTF-8 bytes, separates them. Each word is
    lower-cased and accent-stripped. Inside a word:
    @li an apostrophe (`'` or U+2019) is kept only before a letter, so
        "Caroline's" is "caroline's" and "don't" is "don't";
    @li `.` and `:` between digits are kept, so "3.5" and "9:30" are one token;
    @li digits and letters stay together ("2pm");
    @li a hyphen separates ("stand-up" gives "stand" and "up").

    Han ideographs and kana have no spaces to split on, so each one is a
    token of its own.

    @param text The input, normally UTF-8.
    @return The tokens in input order.

    @par Complexity
    Linear in `text.size()`.
*/
inline std::vector<token> tokenize(std::string_view text) {
    std::vector<token> out;
    detail::for_each_token(text, [&](std::size_t offset, std::size_t length,
                                     const std::string& folded) {
        out.push_back(token{folded, offset, length});
    });
    return out;
}

/** Append the folded words of `text` to `out`.

    The same tokens as `tokenize`, without their positions; passing the same
    vector again for the next text reuses its capacity.

    @param text The input, normally UTF-8.
    @param out Receives the words, appended after its current contents.

    @par Complexity
    Linear in `text.size()`.
*/
inline void tokenize_words(std::string_view text, std::vector<std::string>& out) {
    detail::for_each_token(text, [&](std::size_t, std::size_t, const std::string& folded) {
        out.push_back(folded);
    });
}

} // namespace persona::text

#endif
