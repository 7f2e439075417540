#ifndef PERSONA_TEXT_CHUNKER_HPP
#define PERSONA_TEXT_CHUNKER_HPP

/// @file
/// Splitting documents and events into retrievable passages.

#include <persona/text/sentences.hpp>
#include <persona/text/utf8.hpp>

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

namespace persona::text {

namespace detail {

constexpr bool is_ascii_space(char c) noexcept {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// The view of `text` from the start of `first` to the end of `last`; both
// must be views into `text`, `first` not after `last`.
inline std::string_view span_of(std::string_view text, std::string_view first,
                                std::string_view last) noexcept {
    const auto b = static_cast<std::size_t>(first.data() - text.data());
    const auto e = static_cast<std::size_t>(last.data() + last.size() - text.data());
    return text.substr(b, e - b);
}

// Append pieces of `s` (trimmed, longer than `max`) of at most `max` bytes,
// cut at white space when there is some, else at a code point boundary.
inline void split_long_unit(std::string_view s, std::size_t max,
                            std::vector<std::string_view>& out) {
    while (s.size() > max) {
        std::size_t cut = max;
        while (cut > 0 && !is_ascii_space(s[cut]))
            --cut;
        if (cut == 0) {
            // One word longer than the window: cut between code points.
            cut = max;
            while (cut > 0 && is_continuation(static_cast<unsigned char>(s[cut])))
                --cut;
            if (cut == 0) // max is smaller than the first code point: take it whole
                cut = std::max<std::size_t>(decode_one(s, 0).length, 1);
        }
        const std::string_view piece = trim(s.substr(0, cut));
        if (!piece.empty())
            out.push_back(piece);
        s = trim(s.substr(cut));
    }
    if (!s.empty())
        out.push_back(s);
}

// Greedily merge consecutive `units` (views into `text`, in order) into
// spans of `text` of at most `max` bytes; a unit already longer stays alone.
inline void pack_units(std::string_view text, const std::vector<std::string_view>& units,
                       std::size_t max, std::vector<std::string_view>& out) {
    std::size_t first = 0;
    for (std::size_t i = 1; i <= units.size(); ++i) {
        if (i == units.size() || span_of(text, units[first], units[i]).size() > max) {
            out.push_back(span_of(text, units[first], units[i - 1]));
            first = i;
        }
    }
}

// Call `f(paragraph)` for each trimmed, non-empty run of non-blank lines.
template <class F>
void for_each_paragraph(std::string_view text, F&& f) {
    std::size_t para_begin = std::string_view::npos;
    std::size_t para_end = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos)
            eol = text.size();
        const std::string_view line = text.substr(pos, eol - pos);
        if (trim(line).empty()) {
            if (para_begin != std::string_view::npos)
                f(trim(text.substr(para_begin, para_end - para_begin)));
            para_begin = std::string_view::npos;
        } else {
            if (para_begin == std::string_view::npos)
                para_begin = pos;
            para_end = eol;
        }
        pos = eol + 1;
    }
    if (para_begin != std::string_view::npos)
        f(trim(text.substr(para_begin, para_end - para_begin)));
}

} // namespace detail

/** Split a document into paragraphs of bounded size.

    Paragraphs are separated by one or more blank lines (lines of only white
    space). A paragraph longer than `max_chars` bytes is cut into windows of
    whole sentences (see `split_sentences`), packed greedily so that each
    window is at most `max_chars`; a single sentence longer than that is cut
    at white space, or between code points when one word is too long.

    @param text The document, normally UTF-8.
    @param max_chars The largest passage in bytes; 0 means no limit.
    @return Trimmed, non-empty views into `text`, in order; empty only if
    `text` is blank.

    @par Complexity
    Linear in `text.size()`.
*/
inline std::vector<std::string_view> split_paragraphs(std::string_view text,
                                                      std::size_t max_chars = 1200) {
    std::vector<std::string_view> out;
    std::vector<std::string_view> units;
    detail::for_each_paragraph(text, [&](std::string_view para) {
        if (max_chars == 0 || para.size() <= max_chars) {
            out.push_back(para);
            return;
        }
        units.clear();
        for (std::string_view sentence : split_sentences(para)) {
            if (sentence.size() <= max_chars)
                units.push_back(sentence);
            else
                detail::split_long_unit(sentence, max_chars, units);
        }
        detail::pack_units(text, units, max_chars, out);
    });
    return out;
}

/** Split an event (an e-mail, a message) into segments of bounded size.

    Short events, the common case, are one segment: the whole trimmed text.
    A longer one is split like a document (`split_paragraphs`) and the pieces
    are then packed greedily back together, so segments are as large as
    `max_chars` allows and keep neighbouring paragraphs together.

    @param text The event text, normally UTF-8.
    @param max_chars The largest segment in bytes; 0 means no limit.
    @return Trimmed, non-empty views into `text`, in order; empty only if
    `text` is blank.

    @par Complexity
    Linear in `text.size()`.
*/
inline std::vector<std::string_view> split_segments(std::string_view text,
                                                    std::size_t max_chars = 800) {
    const std::string_view whole = detail::trim(text);
    if (whole.empty())
        return {};
    if (max_chars == 0 || whole.size() <= max_chars)
        return {whole};
    const std::vector<std::string_view> pieces = split_paragraphs(text, max_chars);
    std::vector<std::string_view> out;
    detail::pack_units(text, pieces, max_chars, out);
    return out;
}

} // namespace persona::text

#endif
