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
