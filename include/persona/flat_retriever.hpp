#ifndef PERSONA_FLAT_RETRIEVER_HPP
#define PERSONA_FLAT_RETRIEVER_HPP

/// @file
/// `flat_retriever`: exact per-user search fusing BM25 and vector similarity.

#include <persona/concepts.hpp>
#include <persona/detail/hybrid_ranking.hpp>
#include <persona/detail/user_map.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/bm25.hpp>

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace persona {

/** Exact hybrid search over each user's chunks. Models `retriever`.

    Each user has a matrix of chunk vectors, in tiles of 64 rows stored dimension by
    dimension (scanned exactly, reading only the query's nonzero dimensions, with the
    widest SIMD unit of the CPU), and a BM25 index of the chunks' analyzed text. A search scores every chunk of that user by
    `lexical_weight * bm25 + (1 - lexical_weight) * clamp(dot, 0, 1)`, both in [0, 1]
    (the dot product is the cosine for the unit vectors embedders produce); when only
    one side has signal (no query term is indexed, or no query vector of the index's
    dimension is given) that side takes the whole weight. Before fusing, each chunk
    inherits `neighbour_weight` of the better BM25 score of the chunks added just
    before and after it within an hour (the same exchange: a reply such as "For
    walking or running?" is found through the turn it answers). With `prefer_recent`,
    recency (relative to the newest chunk ever added) is blended in. Returns the best
    `k`, ties broken by chunk id. See `detail::hybrid_ranking`.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe; searches run in parallel with each
    other, a mutation locks only the user it touches.

    @par Complexity
    `search`: O(n·d + postings of the query terms + n log k) for a user with n chunks
    of dimension d. `add`: O(chunk text). Removals are O(1) per chunk and the user's
    storage is compacted when at least half of it, and at least 64 slots, are dead.
*/
class flat_retriever {
public:
    /// Tuning of the fusion.
    struct options {
        double lexical_weight = 0.8;   ///< weight of BM25 against the vector side (measured: docs/quality.md)
        double recency_weight = 0.15;  ///< share of the score given to recency when a query prefers it
        double neighbour_weight = 0.7; ///< share of an adjacent chunk's keyword score a chunk inherits (same exchange)
        text::bm25_index::parameters bm25{};
        soft_terms soft{};             ///< soft term matching through word vectors; off by default
    };

    flat_retriever() = default;
    explicit flat_retriever(options const& o) : options_(o) {}

    /** Index `chunks` for user `u`, replacing chunks with the same id.

        All chunks of one user must have embeddings of one dimension (or none).
        @returns `errc::invalid_request` on a dimension mismatch; then nothing changes.
    */
    [[nodiscard]] result<void> add(user_ref const& u, std::span<chunk const> chunks) {
        if (chunks.empty()) return {};
        // Analyze outside the lock: it is the expensive part.
        std::vector<text::analyzed_text> analyses(chunks.size());
        for (std::size_t i = 0; i < chunks.size(); ++i) analyses[i] = analyzer_.analyze(chunks[i].text, needs_words());
        return add_terms(u, chunks, analyses);
    }

    /// Return the analyzer chunks and queries are analyzed with.
    text::analyzer const& analyzer() const noexcept { return analyzer_; }

    /// Whether `add_analyzed` and `search_analyzed` need each term's word (soft matching is on).
    bool needs_words() const noexcept { return options_.soft.enabled(); }

    /** `add` for chunks already analyzed: `analyses[i]` is `analyzer()`'s analysis of
        `chunks[i].text`, with words when `needs_words()` (models `analyzing_retriever`).

        @returns `errc::invalid_request` when the counts do not match, or as `add`; then
        nothing changes.
    */
    [[nodiscard]] result<void> add_analyzed(user_ref const& u, std::span<chunk const> chunks,
                                            std::span<text::analyzed_text const> analyses) {
        if (auto r = detail::check_analyses(analyses, chunks.size(), needs_words()); !r) return r;
        if (chunks.empty()) return {};
        return add_terms(u, chunks, analyses);
    }

    /// Drop every chunk of the items `item_ids` of user `u`.
    [[nodiscard]] result<void> remove_items(user_ref const& u, std::span<std::string const> item_ids) {
        auto const entry = users_.find(u);
        if (!entry) return {};
        std::unique_lock lock(entry->mutex);
        for (auto const& id : item_ids) entry->ranking.remove_item(id);
        entry->ranking.maybe_compact();
        return {};
    }

    /// Drop user `u`'s index.
    [[nodiscard]] result<void> remove_user(user_ref const& u) {
        if (auto const entry = users_.find(u)) users_.erase(u, entry);
        return {};
    }

    /** Return the best `q.k` chunks of user `u` for `q`, best first, ties by chunk id. */
    [[nodiscard]] result<std::vector<scored_chunk>> search(user_ref const& u, search_query const& q) const {
        auto const entry = users_.find(u);
        if (!entry) return std::vector<scored_chunk>{};
        auto const query_terms = detail::analyze_query(analyzer_, q.parts, options_.soft);
        std::shared_lock lock(entry->mutex);
        return entry->ranking.search(query_terms, q, weights());
    }

    /** `search` for a query whose parts are already analyzed: `analyses[i]` is
        `analyzer()`'s analysis of `q.parts[i].text`, with words when `needs_words()`.

        @returns `errc::invalid_request` when the counts do not match.
    */
    [[nodiscard]] result<std::vector<scored_chunk>> search_analyzed(user_ref const& u, search_query const& q,
                                                                    std::span<text::analyzed_text const> analyses) const {
        if (auto r = detail::check_analyses(analyses, q.parts.size(), needs_words()); !r) return r.error();
        auto const entry = users_.find(u);
        if (!entry) return std::vector<scored_chunk>{};
        auto const query_terms = detail::analyzed_query(q.parts, analyses, options_.soft);
        std::shared_lock lock(entry->mutex);
        return entry->ranking.search(query_terms, q, weights());
    }

    /// Return the number of chunks indexed for user `u`.
    std::size_t size(user_ref const& u) const {
        auto const entry = users_.find(u);
        if (!entry) return 0;
        std::shared_lock lock(entry->mutex);
        return entry->ranking.size();
    }

    /// Return the options in use.
    options const& get_options() const noexcept { return options_; }

private:
    result<void> add_terms(user_ref const& u, std::span<chunk const> chunks,
                           std::span<text::analyzed_text const> analyses) {
        auto const entry = users_.find_or_create(u);
        std::unique_lock lock(entry->mutex);
        std::size_t dim = entry->ranking.dimension();
        if (entry->ranking.size() == 0) dim = chunks.front().embedding.size();
        for (auto const& c : chunks)
            if (c.embedding.size() != dim)
                return make_error(errc::invalid_request,
                                  "chunk '" + c.chunk_id + "' has an embedding of dimension " +
                                      std::to_string(c.embedding.size()) + ", expected " + std::to_string(dim));
        if (entry->ranking.size() == 0) entry->ranking.reset(dim, options_.bm25, options_.soft);
        for (std::size_t i = 0; i < chunks.size(); ++i) entry->ranking.add(chunks[i], analyses[i].terms, analyses[i].words);
        return {};
    }

    detail::fusion_weights weights() const noexcept {
        return {options_.lexical_weight, options_.recency_weight, options_.neighbour_weight};
    }

    struct user_index {
        mutable std::shared_mutex mutex;
        detail::hybrid_ranking ranking;
    };

    options options_{};
    text::analyzer analyzer_{};
    detail::user_map<user_index> users_;
};

static_assert(analyzing_retriever<flat_retriever>);

} // namespace persona

#endif
