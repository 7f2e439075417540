#ifndef PERSONA_SOFT_TERMS_HPP
#define PERSONA_SOFT_TERMS_HPP

/// @file
/// `soft_terms`: lets a word match the similar words a text uses ("course" and
/// "classroom"), by the cosine of their pretrained word vectors.

#include <persona/text/bm25.hpp>
#include <persona/word_vectors.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace persona {

/// The settings of `soft_terms`; also reachable as `soft_terms::options`.
struct soft_terms_options {
    /// Two words less similar than this (cosine of their vectors) do not match at all.
    float min_similarity = 0.55f;
    /// At most this many similar words stand in for one query word.
    std::size_t max_expansions = 4;
    /// A similar word counts `weight * similarity` of an exact match.
    double weight = 0.5;
};

/** Soft term matching: a term may match the words most similar to it.

    Exact term matching misses a request that names the thing by another word: "I'm
    taking a course" shares no term with "I prefer classroom settings". `soft_terms`
    pairs each term with the vector of the word it came from (the word first, its
    stem when the word is unknown) and scores pairs of terms by the cosine of their
    vectors. A pair below `min_similarity` does not match, so unrelated words never
    add noise.

    Used by `flat_retriever` and `faiss_retriever` (`options::soft`): each query term
    also searches BM25 for the user's indexed terms most similar to it, weighted by
    similarity, and by `extractive_answerer` (`options::soft`) to match options
    against evidence. A default-constructed `soft_terms` is off: it has no vectors and
    every term matches only itself.

    A handle: copies share the word vector table (see `word_vectors`).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (every member is const).
*/
class soft_terms {
public:
    /// The settings.
    using options = soft_terms_options;

    /// Construct an object that is off: no term has a vector.
    soft_terms() = default;

    /** Construct over a word vector table (the one `word_vector_embedder` uses, or any).

        An empty table turns soft matching off.
    */
    explicit soft_terms(word_vectors vectors, options const& o = {}) : vectors_(std::move(vectors)), options_(o) {}

    /// Return `true` when a table is attached, so terms can match similar ones.
    bool enabled() const noexcept { return !vectors_.empty(); }

    /// Return the settings.
    options const& get_options() const noexcept { return options_; }

    /// Return the word vector table.
    word_vectors const& get_vectors() const noexcept { return vectors_; }

    /** Return the vector for a term: that of `word` (the folded word the term came
        from), else that of `term` itself (a stem is often a word too); empty when
        neither is known or matching is off.
    */
    word_vector lookup(std::string_view word, std::string_view term) const noexcept {
        if (!enabled()) return {};
        if (auto const v = vectors_.find(word)) return v;
        return vectors_.find(term);
    }

    /// Return how much `a` matches `b`: their cosine when at least `min_similarity`, else 0.
    float match(word_vector const& a, word_vector const& b) const noexcept {
        float const s = similarity(a, b);
        return s >= options_.min_similarity ? s : 0.0f;
    }

    /** Append to `out` the terms of `vocabulary` that stand in for each query term.

        For every term `query[i]` with a vector (`vectors[i]`), the `max_expansions`
        vocabulary terms that match it best (ties by term) are appended with weight
        `query[i].weight * weight * similarity`. A vocabulary term that is itself in
        `query` is skipped: it matches exactly already.

        @param query the query's terms, sorted by term.
        @param vectors one vector per query term (empty for an unknown word).
        @param vocabulary the terms that can match, each with its vector.
        @param out receives the expansions after its current contents.
    */
    void expand(std::span<text::weighted_term const> query, std::span<word_vector const> vectors,
                std::span<std::pair<std::string, word_vector> const> vocabulary,
                std::vector<text::weighted_term>& out) const {
        if (!enabled() || options_.max_expansions == 0 || vectors.size() != query.size()) return;
        std::vector<std::pair<float, std::size_t>> best;
        for (std::size_t i = 0; i < query.size(); ++i) {
            if (!vectors[i]) continue;
            best.clear();
            for (std::size_t v = 0; v < vocabulary.size(); ++v) {
                float const s = match(vectors[i], vocabulary[v].second);
                if (s <= 0) continue;
                auto const& term = vocabulary[v].first;
                bool const in_query = std::ranges::binary_search(query, term, {}, &text::weighted_term::term);
                if (!in_query) best.emplace_back(s, v);
            }
            auto const better = [&](auto const& a, auto const& b) {
                return a.first != b.first ? a.first > b.first : vocabulary[a.second].first < vocabulary[b.second].first;
            };
            if (best.size() > options_.max_expansions) {
                std::ranges::partial_sort(best, best.begin() + static_cast<std::ptrdiff_t>(options_.max_expansions), better);
                best.resize(options_.max_expansions);
            } else {
                std::ranges::sort(best, better);
            }
            for (auto const& [s, v] : best)
                out.push_back({vocabulary[v].first, query[i].weight * options_.weight * static_cast<double>(s)});
        }
    }

private:
    word_vectors vectors_;
    options options_{};
};

} // namespace persona

#endif
