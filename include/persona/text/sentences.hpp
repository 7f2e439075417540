#ifndef PERSONA_TEXT_SENTENCES_HPP
#define PERSONA_TEXT_SENTENCES_HPP

/// @file
/// Rule-based sentence splitting.

#include <persona/text/case_fold.hpp>
#include <persona/text/utf8.hpp>

#include <cstddef>
#include <string_view>
#include <vector>

namespace persona::text {

namespace detail {

/// Return `s` without leading and trailing white space (Unicode-aware).
inline std::string_view trim(std::string_view s) noexcept {
    std::size_t b = 0;
    while (b < s.size()) {
        const decoded d = decode_one(s, b);
        if (!is_space(d.cp))
            break;
        b += d.length;
    }
    std::size_t e = s.size();
    while (e > b) {
        std::size_t start = e - 1;
        while (start > b && is_continuation(static_cast<unsigned char>(s[start])))
            --start;
        const decoded d = decode_one(s, start);
        if (start + d.length != e || !is_space(d.cp))
            break;
        e = start;
    }
    return s.substr(b, e - b);
}

constexpr bool is_ascii_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Whether the '.' at `dot` ends an abbreviation such as "Dr." or "e.g.".
inline bool is_abbreviation_dot(std::string_view s, std::size_t dot) noexcept {
    std::size_t b = dot;
    while (b > 0 && (is_ascii_alpha(s[b - 1]) || s[b - 1] == '.'))
        --b;
    const std::size_t len = dot - b;
    if (len == 0 || len > 6)
        return false;
    if (b > 0) {
        // An abbreviation is a whole word: "Dr." yes; "4Dr." and "Müdr." no.
        std::size_t p = b - 1;
        while (p > 0 && is_continuation(static_cast<unsigned char>(s[p])))
            --p;
        const char32_t before = decode_one(s, p).cp;
        if (is_word_char(before) || before == U'_')
            return false;
    }
    char word[6];
    for (std::size_t i = 0; i < len; ++i) {
        const char c = s[b + i];
        word[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    const std::string_view w(word, len);
    static constexpr std::string_view abbreviations[] = {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc",
        "e.g", "i.e", "a.m", "p.m", "u.s", "u.k", "inc", "ltd", "approx", "cf",
    };
    for (std::string_view a : abbreviations)
        if (w == a)
            return true;
    return false;
}

// Characters that may follow terminal punctuation and still belong to the
// sentence: more punctuation ("?!", "..."), closing quotes and brackets.
constexpr bool is_sentence_trailer(char32_t cp) noexcept {
    return cp == U'.' || cp == U'!' || cp == U'?' || cp == U'\u2026' || cp == U'"' ||
           cp == U'\'' || cp == U')' || cp == U']' || cp == U'}' || cp == U'\u201D' ||
           cp == U'\u2019' || cp == U'\u00BB' || cp == U'\u3002' || cp == U'\uFF01' ||
           cp == U'\uFF1F';
}

// Full-width terminal punctuation, used without a following space in CJK text.
constexpr bool is_cjk_terminal(char32_t cp) noexcept {
    return cp == U'\u3002' || cp == U'\uFF01' || cp == U'\uFF1F';
}

} // namespace detail

/** Split `text` into sentences.

    A sentence ends at `.`, `!`, `?` or `…` (with any following punctuation
    and closing quotes or brackets) when white space or the end of the text
    follows; at `。`, `！`, `？`; and at every line break, so a single newline
    or a blank line ends a sentence. A `.` does not end a sentence after a
    common abbreviation (Mr. Mrs. Ms. Dr. Prof. Sr. Jr. St. vs. etc. e.g.
    i.e. a.m. p.m. U.S. ...), nor inside a number ("3.5"), since no space
    follows it there.

    @param text The input, normally UTF-8.
    @return The sentences, trimmed, non-empty, terminal punctuation included;
    each is a view into `text`.

    @par Complexity
    Linear in `text.size()`.
*/
inline std::vector<std::string_view> split_sentences(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    auto emit = [&](std::size_t end) {
        const std::string_view s = detail::trim(text.substr(start, end - start));
        if (!s.empty())
            out.push_back(s);
    };

    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '\n') {
            emit(i);
            start = ++i;
            continue;
        }
        // Only these lead bytes can start a terminal: '.', '!', '?', or the
        // three-byte '…' / CJK punctuation (E2, E3, EF).
        if (c != '.' && c != '!' && c != '?' && c != '\xE2' && c != '\xE3' && c != '\xEF') {
            ++i;
            continue;
        }
        const decoded d = decode_one(text, i);
        const bool cjk = detail::is_cjk_terminal(d.cp);
        if (!(cjk || d.cp == U'.' || d.cp == U'!' || d.cp == U'?' || d.cp == U'\u2026')) {
            i += d.length;
            continue;
        }
        std::size_t j = i + d.length;
        bool single_dot = d.cp == U'.';
        while (j < text.size()) {
            const decoded t = decode_one(text, j);
            if (!detail::is_sentence_trailer(t.cp))
                break;
            if (t.cp == U'.' || t.cp == U'!' || t.cp == U'?' || t.cp == U'\u2026')
                single_dot = false;
            j += t.length;
        }
        const bool at_boundary = j >= text.size() || is_space(decode_one(text, j).cp);
        if ((at_boundary || cjk) && !(single_dot && detail::is_abbreviation_dot(text, i))) {
            emit(j);
            start = j;
        }
        i = j;
    }
    emit(text.size());
    return out;
}

} // namespace persona::text

#endif
