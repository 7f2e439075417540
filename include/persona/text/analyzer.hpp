#ifndef PERSONA_TEXT_ANALYZER_HPP
#define PERSONA_TEXT_ANALYZER_HPP

/// @file
/// The text analysis pipeline that turns text into index and query terms.

#include <persona/text/porter2.hpp>
#include <persona/text/stop_words.hpp>
#include <persona/text/tokenizer.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace persona::text {

/// The settings of an `analyzer`; also reachable as `analyzer::options`.
struct analyzer_options {
    bool stem = true;               ///< Reduce words to their Porter2 stem.
    bool remove_stop_words = true;  ///< Drop English function words.

    /// Whether two analyzers with these settings give the same terms for every text.
    bool operator==(analyzer_options const&) const = default;
};

/** A text after analysis: its terms in order, and optionally the word each came from.

    What `analyzer::terms` appends, kept together so that one analysis can serve every
    component that needs it: the engine analyzes a chunk or a query once and hands the
    result to an embedder and a retriever that use the same analyzer (`analyzing_embedder`,
    `analyzing_retriever` in concepts.hpp).
*/
struct analyzed_text {
    std::vector<std::string> terms; ///< as `analyzer::terms` gives them, duplicates kept
    std::vector<std::string> words; ///< empty, or `words[i]` is the word `terms[i]` came from
};

namespace detail {

inline bool has_ascii_digit(std::string_view s) noexcept {
    for (char c : s)
        if (c >= '0' && c <= '9')
            return true;
    return false;
}

/** Stem `word` in place through a per-thread memo of recent words.

    Words repeat (Zipf): most of a text's words were stemmed moments ago, and looking a
    word up costs a fraction of stemming it again (Porter2 was 41% of ingest before the
    memo). Each thread keeps at most 16,384 words (about 1.5 MB) and forgets them all
    when full, so memory stays bounded and no lock is taken. Results are exactly
    `porter2_stem_in_place`'s.
*/
inline void stem_cached(std::string& word) {
    struct memo {
        std::unordered_map<std::string, std::string> stems;
    };
    thread_local memo m;
    if (auto const it = m.stems.find(word); it != m.stems.end()) {
        word = it->second;
        return;
    }
    if (m.stems.size() >= 16384) m.stems.clear();
    std::string original = word;
    porter2_stem_in_place(word);
    m.stems.emplace(std::move(original), word);
}

} // namespace detail

/** Turns text into the terms that persona indexes and queries with.

    The pipeline is: `tokenize` (fold case and accents) → drop stop words →
    drop the possessive ("caroline's" → "caroline") → drop stop words again
    and single ASCII letters → Porter2-stem words that contain no digit.
    The same analyzer must be used for documents and queries so that their
    terms meet.

    An analyzer holds only its options: const member functions may be called
    concurrently from any number of threads.
*/
class analyzer {
public:
    /// The settings; defined outside the class so that `analyzer(options{})` compiles everywhere.
    using options = analyzer_options;

    /// Construct an analyzer that stems and removes stop words.
    analyzer() noexcept = default;

    /** Construct an analyzer with the given settings.

        @param opts The settings.
    */
    explicit analyzer(options opts) noexcept : opts_(opts) {}

    /// Return the settings.
    const options& get_options() const noexcept { return opts_; }

    /** Return the terms of `text`, in order, duplicates kept.

        Duplicates are kept so that callers can count term frequencies.

        @param text The input, normally UTF-8.
        @return The terms.

        @par Complexity
        Linear in `text.size()`.
    */
    std::vector<std::string> terms(std::string_view text) const {
        std::vector<std::string> out;
        terms(text, out);
        return out;
    }

    /** Append the terms of `text` to `out`.

        @param text The input, normally UTF-8.
        @param out Receives the terms after its current contents.

        @par Complexity
        Linear in `text.size()`.
    */
    void terms(std::string_view text, std::vector<std::string>& out) const { terms(text, out, nullptr); }

    /** Append the terms of `text` to `out`, and to `words` the word each term comes from.

        `(*words)[i]` is the folded word before stemming that gave `out[i]` ("running"
        for "run"), for callers that look words up elsewhere (`soft_terms`).

        @param text The input, normally UTF-8.
        @param out Receives the terms after its current contents.
        @param words When not null, receives one word per term appended to `out`.
    */
    void terms(std::string_view text, std::vector<std::string>& out, std::vector<std::string>* words) const {
        detail::for_each_token(text, [&](std::size_t, std::size_t, const std::string& folded) {
            std::string_view word = folded;
            // Check before stripping the possessive: "let's" is a stop word, "let" is not.
            if (opts_.remove_stop_words && is_stop_word(word))
                return;
            if (word.size() >= 2 && word.substr(word.size() - 2) == "'s")
                word.remove_suffix(2);
            while (!word.empty() && word.back() == '\'')
                word.remove_suffix(1);
            if (word.empty())
                return;
            if (opts_.remove_stop_words && is_stop_word(word))
                return;
            // Single letters are initials or list markers ("a)", "U.S."), never useful terms.
            if (word.size() == 1 && static_cast<unsigned char>(word[0]) < 0x80U &&
                !detail::is_ascii_digit(static_cast<char32_t>(word[0])))
                return;
            if (words != nullptr) words->emplace_back(word);
            std::string& term = out.emplace_back(word);
            // Numbers, times and codes ("3.5", "9:30", "2pm", "b12") must match exactly.
            if (opts_.stem && !detail::has_ascii_digit(term))
                detail::stem_cached(term);
        });
    }

    /** Return the analysis of `text`: its terms, and with `with_words` the word of each.

        @param text The input, normally UTF-8.
        @param with_words Whether to fill `words` as well.
    */
    analyzed_text analyze(std::string_view text, bool with_words = false) const {
        analyzed_text out;
        // Room for a term per 6 bytes, the usual, so that a short text grows its list once.
        out.terms.reserve(text.size() / 6 + 2);
        if (with_words) out.words.reserve(out.terms.capacity());
        terms(text, out.terms, with_words ? &out.words : nullptr);
        return out;
    }

private:
    options opts_{};
};

} // namespace persona::text

#endif
