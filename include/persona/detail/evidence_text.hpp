#ifndef PERSONA_DETAIL_EVIDENCE_TEXT_HPP
#define PERSONA_DETAIL_EVIDENCE_TEXT_HPP

// Not API. Sentence-level views of evidence, shared by the extractive answerer and the
// summarizer: the sentences of each chunk with their analyzed terms, how to cite a
// chunk, and who the user is called.

#include <persona/concepts.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/sentences.hpp>
#include <persona/time.hpp>
#include <persona/traits.hpp>

#include <algorithm>
#include <cctype>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace persona::detail {

/// One sentence of one piece of evidence, with its sorted unique terms.
struct evidence_sentence {
    std::string_view text;
    std::size_t evidence_index = 0;
    std::vector<std::string> terms;
};

inline std::vector<std::string> unique_terms(text::analyzer const& a, std::string_view s) {
    std::vector<std::string> t = a.terms(s);
    std::ranges::sort(t);
    t.erase(std::unique(t.begin(), t.end()), t.end());
    return t;
}

/// Split every piece of evidence into sentences (views into the evidence's chunk text).
inline std::vector<evidence_sentence> split_evidence(text::analyzer const& a, std::span<evidence const> ev) {
    std::vector<evidence_sentence> out;
    for (std::size_t i = 0; i < ev.size(); ++i)
        for (auto s : text::split_sentences(ev[i].chunk.text)) out.push_back({s, i, unique_terms(a, s)});
    return out;
}

/// The speaker label that starts `line` ("Assistant" in "Assistant: Sure..."): up to
/// four words before a colon near the start; empty when the line has none.
inline std::string_view speaker_label(std::string_view line) {
    auto const colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 40) return {};
    auto const label = line.substr(0, colon);
    if (std::ranges::count(label, ' ') > 3 || label.find_first_of("0123456789.!?\"") != std::string_view::npos) return {};
    return label;
}

/// Whether a speaker label names an assistant rather than a person ("Assistant", "AI", "Bot").
inline bool is_assistant_label(std::string_view label) {
    std::string folded;
    for (char c : label) folded += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view a : {"assistant", "ai", "bot", "chatbot", "system", "agent", "model", "gpt", "chatgpt", "claude"})
        if (folded == a || folded.ends_with(" " + std::string(a))) return true;
    return false;
}

/// One sentence of a conversation line, with the line's speaker label.
struct spoken_sentence {
    evidence_sentence sentence;
    std::string_view speaker; ///< the label of the line the sentence is in; empty when none
};

/// Split every piece of evidence into lines, and each line into sentences tagged with the
/// line's speaker, so that no sentence runs from one speaker's turn into the next.
inline std::vector<spoken_sentence> split_evidence_turns(text::analyzer const& a, std::span<evidence const> ev) {
    std::vector<spoken_sentence> out;
    for (std::size_t i = 0; i < ev.size(); ++i) {
        std::string_view rest = ev[i].chunk.text;
        std::string_view speaker;
        while (!rest.empty()) {
            auto const end = rest.find('\n');
            auto const line = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
            if (auto const label = speaker_label(line); !label.empty()) speaker = label;
            for (auto s : text::split_sentences(line)) out.push_back({{s, i, unique_terms(a, s)}, speaker});
        }
    }
    return out;
}

/// Number of terms two sorted unique term lists share.
inline std::size_t shared_terms(std::vector<std::string> const& a, std::vector<std::string> const& b) {
    std::size_t n = 0;
    for (auto i = a.begin(), j = b.begin(); i != a.end() && j != b.end();) {
        if (*i < *j) ++i;
        else if (*j < *i) ++j;
        else { ++n; ++i; ++j; }
    }
    return n;
}

/// Jaccard similarity of two sorted unique term lists.
inline double jaccard(std::vector<std::string> const& a, std::vector<std::string> const& b) {
    std::size_t const both = shared_terms(a, b);
    std::size_t const either = a.size() + b.size() - both;
    return either == 0 ? 0.0 : static_cast<double>(both) / static_cast<double>(either);
}

/// The user's display name: trait `name` (or `full_name`, `first_name`), else the user id.
inline std::string display_name(user_record const& u) {
    for (auto const* key : {"name", "full_name", "first_name", "display_name"})
        if (auto const* v = u.traits.if_contains(key); v && v->is_string() && !v->get_string().empty())
            return std::string(v->get_string());
    return u.ref.user_id;
}

/// How to cite a chunk: `email, 10 October 2025` or `document "Title", 9 October 2025`.
inline std::string citation(chunk const& c) {
    std::string out = c.type.empty() ? std::string(to_string(c.kind)) : c.type;
    if (!c.title.empty()) {
        out += " \"";
        out += c.title;
        out += '"';
    }
    out += ", ";
    out += format_human_date(c.time);
    return out;
}

/// Copy a sentence, ending it with a full stop when it has no terminal punctuation.
inline std::string as_sentence(std::string_view s) {
    std::string out(s);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
    if (!out.empty() && std::string_view(".!?\"')").find(out.back()) == std::string_view::npos) out += '.';
    return out;
}

} // namespace persona::detail

#endif
