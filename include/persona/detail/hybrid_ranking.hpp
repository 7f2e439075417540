#ifndef PERSONA_DETAIL_HYBRID_RANKING_HPP
#define PERSONA_DETAIL_HYBRID_RANKING_HPP

// Not API. The per-user state and scoring shared by persona's retrievers: slot
// bookkeeping, a BM25 index, the vectors (in tiles: vector_tiles.hpp), fusion and top-k.

#include <persona/detail/block_vector.hpp>
#include <persona/detail/dot.hpp>
#include <persona/detail/incremental_map.hpp>
#include <persona/detail/vector_tiles.hpp>
#include <persona/error.hpp>
#include <persona/soft_terms.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/bm25.hpp>
#include <persona/types.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

namespace persona::detail {

/// One query part after analysis: its distinct terms (weight = count), sorted, and the
/// part's weight; with soft matching, each term's word vector too.
struct analyzed_part {
    std::vector<text::weighted_term> terms;
    double weight = 1.0;
    std::vector<word_vector> vectors; ///< one per term when `soft_terms` is on, else empty
};

/// Count one query part's `terms` (with their `words` when soft matching is on) into
/// `out`, unless the part has no weight or no term.
inline void add_query_part(std::vector<analyzed_part>& out, query_part const& part, std::span<std::string const> terms,
                           std::span<std::string const> words, soft_terms const& soft) {
    if (part.weight <= 0 || terms.empty()) return;
    // In term order: summation order must not depend on hashing. A stable sort of the
    // positions (no node per term, as a map would allocate) groups repeats with the first
    // occurrence first, whose word gives the term's vector.
    std::vector<std::uint32_t> order(terms.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::ranges::stable_sort(order, [&](std::uint32_t x, std::uint32_t y) {
        return std::string_view(terms[x]) < std::string_view(terms[y]);
    });
    analyzed_part a{{}, part.weight, {}};
    a.terms.reserve(order.size());
    for (std::size_t i = 0; i < order.size();) {
        std::string const& term = terms[order[i]];
        std::size_t j = i + 1;
        while (j < order.size() && terms[order[j]] == term) ++j;
        a.terms.push_back({term, static_cast<double>(j - i)});
        if (soft.enabled()) a.vectors.push_back(soft.lookup(words[order[i]], term));
        i = j;
    }
    out.push_back(std::move(a));
}

/// Analyze weighted query parts; each part keeps its own terms so it is scored on its own.
inline std::vector<analyzed_part> analyze_query(text::analyzer const& analyzer, std::span<query_part const> parts,
                                                soft_terms const& soft = {}) {
    std::vector<analyzed_part> out;
    std::vector<std::string> terms;
    std::vector<std::string> words;
    for (auto const& part : parts) {
        if (part.weight <= 0) continue;
        terms.clear();
        words.clear();
        analyzer.terms(part.text, terms, soft.enabled() ? &words : nullptr);
        add_query_part(out, part, terms, words, soft);
    }
    return out;
}

/// `analyze_query` for parts already analyzed: `analyses[i]` is `parts[i].text`'s, with
/// words when soft matching is on (the caller checks the sizes).
inline std::vector<analyzed_part> analyzed_query(std::span<query_part const> parts,
                                                 std::span<text::analyzed_text const> analyses,
                                                 soft_terms const& soft = {}) {
    std::vector<analyzed_part> out;
    for (std::size_t i = 0; i < parts.size(); ++i)
        add_query_part(out, parts[i], analyses[i].terms, analyses[i].words, soft);
    return out;
}

/// Check analyses handed to a retriever: one per chunk or query part, with a word per
/// term when the retriever matches softly.
inline result<void> check_analyses(std::span<text::analyzed_text const> analyses, std::size_t expected,
                                   bool needs_words) {
    if (analyses.size() != expected)
        return make_error(errc::invalid_request, "expected " + std::to_string(expected) + " analyses, got " +
                                                     std::to_string(analyses.size()));
    if (needs_words)
        for (auto const& a : analyses)
            if (a.words.size() != a.terms.size())
                return make_error(errc::invalid_request, "an analysis lacks the words of its terms (soft matching is on)");
    return {};
}

/** How a search weighs its signals (see `hybrid_ranking::search`). */
struct fusion_weights {
    double lexical = 0.5;    ///< BM25's share against the vector side
    double recency = 0.15;   ///< recency's share when the query prefers recent chunks
    double neighbour = 0.0;  ///< share of an adjacent chunk's lexical score a chunk inherits
    std::chrono::seconds neighbour_window{3600}; ///< adjacent chunks this close in time are neighbours
};

/** What a vector index found for a query: slots to score, and a bound on the rest.

    Every live slot not listed has a cosine of at most `bound` with the query (exact
    for an exact index; the index's own estimate for an approximate one). A bound of
    0 or less says the listed slots are all that can score on the vector side.
*/
struct vector_shortlist {
    std::span<std::uint32_t const> slots;
    double bound = 0;
};

/** One user's ranking state: chunk slots, BM25 over their terms, and their vectors. */
class hybrid_ranking {
public:
    /// Forget everything and expect vectors of `dimension` (0: lexical only).
    /// With `soft` on, query terms also match the most similar indexed terms (see `soft_terms`).
    void reset(std::size_t dimension, text::bm25_index::parameters bm25 = {}, soft_terms soft = {}) {
        *this = hybrid_ranking{};
        dimension_ = dimension;
        vectors_ = vector_tiles(dimension);
        lexical_ = text::bm25_index(bm25);
        soft_ = std::move(soft);
    }

    std::size_t dimension() const noexcept { return dimension_; }
    std::size_t size() const noexcept { return by_chunk_.size(); }

    /// Index `c` with its analyzed `terms`, replacing a live chunk of the same id.
    /// `words[i]`, when given, is the word `terms[i]` came from (for soft matching).
    void add(chunk const& c, std::span<std::string const> terms, std::span<std::string const> words = {}) {
        if (auto const it = by_chunk_.find(c.chunk_id); it != by_chunk_.end()) kill(it->second);
        auto const slot = static_cast<std::uint32_t>(slots_.size());
        slots_.push_back({c.chunk_id, c.item_id, c.time, true, c.ordinal});
        times_.push_back(c.time);
        link(history_.insert(key_of(slot)).first);
        if (live_bits_.size() * 8 < slots_.size()) live_bits_.push_back(0);
        set_live_bit(slot, true);
        if (dimension_ != 0) vectors_.append(c.embedding);
        lexical_.add(slot, terms);
        if (soft_.enabled() && words.size() == terms.size())
            for (std::size_t i = 0; i < terms.size(); ++i)
                if (vocabulary_terms_.insert(terms[i]).second)
                    if (auto const v = soft_.lookup(words[i], terms[i])) vocabulary_.emplace_back(terms[i], v);
        by_chunk_[c.chunk_id] = slot;
        by_item_[c.item_id].push_back(slot);
        newest_ = std::max(newest_, c.time);
    }

    /// Drop every chunk of item `item_id`.
    void remove_item(std::string const& item_id) {
        auto const it = by_item_.find(item_id);
        if (it == by_item_.end()) return;
        for (auto slot : it->second)
            if (slots_[slot].live) kill(slot);
        by_item_.erase(it);
    }

    /// Renumber slots when at least half of them (and at least 64) are dead, so scans
    /// stay dense. Returns whether slots were renumbered.
    bool maybe_compact() {
        if (dead_ < 64 || dead_ * 2 < slots_.size()) return false;
        compact();
        return true;
    }

    /// Renumber the live slots densely, in their current order.
    void compact() {
        std::vector<std::int64_t> new_slot(slots_.size(), -1);
        block_vector<slot_info> slots;
        vector_tiles vectors(dimension_);
        std::vector<float> row(dimension_);
        for (std::size_t s = 0; s < slots_.size(); ++s) {
            if (!slots_[s].live) continue;
            new_slot[s] = static_cast<std::int64_t>(slots.size());
            slots.push_back(std::move(slots_[s]));
            if (dimension_ == 0) continue;
            vectors_.copy_row(s, row);
            vectors.append(row);
        }
        lexical_.compact(new_slot);
        slots_ = std::move(slots);
        times_.clear();
        for (std::size_t s = 0; s < slots_.size(); ++s) times_.push_back(slots_[s].time);
        vectors_ = std::move(vectors);
        dead_ = 0;
        by_chunk_.clear();
        by_item_.clear();
        live_bits_.assign((slots_.size() + 7) / 8, 0);
        history_.clear();
        for (std::uint32_t s = 0; s < slots_.size(); ++s) history_.insert(key_of(s));
        prev_.assign(slots_.size(), no_slot);
        next_.assign(slots_.size(), no_slot);
        std::uint32_t previous = no_slot;
        for (auto const& key : history_) {
            prev_[key.slot] = previous;
            if (previous != no_slot) next_[previous] = key.slot;
            previous = key.slot;
        }
        near_prev_.assign(slots_.size(), no_slot);
        near_next_.assign(slots_.size(), no_slot);
        for (std::uint32_t s = 0; s < slots_.size(); ++s) refresh_near(s);
        for (std::uint32_t s = 0; s < slots_.size(); ++s) {
            by_chunk_[slots_[s].chunk_id] = s;
            by_item_[slots_[s].item_id].push_back(s);
            set_live_bit(s, true);
        }
    }

    /** Score every live chunk for the query and return the best `q.k`.

        Fusion: `lexical_weight * lexical + (1 - lexical_weight) * max(0, cosine)`
        when both sides have signal, else the side that has it. With
        `q.prefer_recent`, `recency_weight` of the score goes to recency
        (exp(-age / 30 days) relative to the user's newest chunk).

        With a `shortlist` (an approximate or exact vector index's answer), only the
        listed slots and the slots with a lexical score are scored at first; any other
        slot is scored only if the shortlist's bound says it could still enter the top
        `k`. Scores are computed by the same arithmetic either way, so when the bound
        is exact the result equals the full scan's.
    */
    std::vector<scored_chunk> search(std::span<analyzed_part const> parts, search_query const& q,
                                     fusion_weights const& weights,
                                     vector_shortlist const* shortlist = nullptr) const {
        std::vector<scored_chunk> out;
        if (q.k == 0 || by_chunk_.empty()) return out;
        // Candidates are (score, slot): chunk ids are copied for the final top k only.
        std::vector<slot_score> hits;
        double const lexical_weight = weights.lexical;
        double const recency_weight = weights.recency;
        // The lexical side: the single-turn query's passes over reused buffers, else
        // the general ones over a vector of their own.
        scratch_lease const buffers(slots_.size());
        std::vector<double> general;
        lexical_view lexical;
        if (!single_turn_lexical(parts, weights, buffers.get(), lexical)) {
            general = lexical_scores(parts);
            if (!general.empty() && weights.neighbour > 0) spread_to_neighbours(general, weights);
            lexical.values = general;
        }
        bool const has_lexical = !lexical.values.empty();
        bool const has_vector = dimension_ != 0 && q.vector.size() == dimension_;
        double const lw = has_lexical ? (has_vector ? lexical_weight : 1.0) : 0.0;
        double const vw = has_vector ? 1.0 - lw : 0.0;
        // `cosine`: the row's dot product with the query (unused without a vector side).
        auto const fuse = [&](std::size_t s, double cosine) {
            double score = has_lexical ? lw * lexical[s] : 0.0;
            if (vw > 0) score += vw * std::clamp(cosine, 0.0, 1.0);
            if (q.prefer_recent && score > 0) score = (1 - recency_weight) * score + recency_weight * recency(s);
            return std::clamp(score, 0.0, 1.0);
        };
        std::vector<std::uint32_t>& nonzero = buffers.get().nonzero;
        tile_query const tq = vw > 0 ? vectors_.prepare(q.vector, nonzero) : tile_query{};
        // With a shortlist, slots are scored one at a time in any order: each tile is
        // scored whole the first time one of its slots is needed (a row of a tile is
        // spread over every dimension's lines; the tile costs little more), a row of
        // the row-major rest on its own.
        std::vector<float> block_cosines;
        std::vector<bool> block_scored;
        auto const score_of = [&](std::size_t s) {
            if (vw <= 0) return fuse(s, 0.0);
            if (vectors_.in_rest(s)) return fuse(s, static_cast<double>(vectors_.score_rest_row(s, tq)));
            if (block_cosines.empty()) {
                block_cosines.resize((slots_.size() / tile_rows + 1) * tile_rows);
                block_scored.resize(slots_.size() / tile_rows + 1);
            }
            std::size_t const b = s / tile_rows;
            if (!block_scored[b]) {
                vectors_.score_block(b, tq, block_cosines.data() + b * tile_rows);
                block_scored[b] = true;
            }
            return fuse(s, static_cast<double>(block_cosines[s]));
        };
        auto const keep = [&](std::size_t s) {
            double const score = score_of(s);
            if (score <= 1e-9 || score < q.min_score) return;
            hits.push_back({score, static_cast<std::uint32_t>(s)});
        };
        auto const finish = [&] {
            out.reserve(hits.size());
            for (auto const& h : hits) out.push_back({slots_[h.slot].chunk_id, h.score});
            return out;
        };
        if (shortlist == nullptr || vw <= 0) {
            // A bounded heap of the best k so far: most chunks lose one comparison with
            // the worst of them and are never stored.
            // Rows are scored a tile at a time (`vector_tiles`: the widest SIMD unit, and
            // only the query's nonzero dimensions when it is sparse), then fused.
            // Liveness comes from the bitmap, which keeps the slot records (80 bytes
            // each) out of the cache during the scan.
            hits.reserve(std::min<std::size_t>(q.k, slots_.size()) + 1);
            // Skipping whole blocks (`block_bound`) needs fusion to be monotone: no recency,
            // and a lexical weight of at least 0 (options do not forbid a negative one).
            bool const can_skip_blocks = !q.prefer_recent && lw >= 0;
            if (can_skip_blocks && has_lexical && vw > 0 && slots_.size() / lexical_first_from >= lexical_first_seeds(q.k) &&
                cosines_are_finite(q.vector)) {
                if (lexical_first(lexical, lw, vw, tq, q, fuse, buffers.get(), hits)) {
                    std::ranges::sort(hits, [&](slot_score const& a, slot_score const& b) { return better(a, b); });
                    return finish();
                }
                hits.clear(); // a lexical score is not finite: the scan below decides, as it always did
            }
            lexical.materialize();
            float cosines[tile_rows] = {};
            for (std::size_t first = 0; first < slots_.size(); first += tile_rows) {
                std::size_t const rows = std::min(tile_rows, slots_.size() - first);
                if (vw > 0) vectors_.score_block(first / tile_rows, tq, cosines);
                if (can_skip_blocks && hits.size() == q.k &&
                    block_bound(first, rows, cosines, has_lexical ? lexical.values.data() : nullptr, lw, vw) +
                            bound_margin <
                        hits.front().score)
                    continue;
                for (std::size_t r = 0; r < rows; ++r) {
                    std::size_t const s = first + r;
                    if (!(live_bits_[s / 8] >> (s % 8) & 1U)) continue;
                    double const score = fuse(s, static_cast<double>(cosines[r]));
                    if (score <= 1e-9 || score < q.min_score) continue;
                    // Most chunks lose to the worst of a full heap: say so without a call.
                    if (hits.size() == q.k && score < hits.front().score) continue;
                    offer(hits, {score, static_cast<std::uint32_t>(s)}, q.k);
                }
            }
            std::ranges::sort(hits, [&](slot_score const& a, slot_score const& b) { return better(a, b); });
            return finish();
        }

        lexical.materialize();
        std::vector<bool> seen(slots_.size(), false);
        for (auto const s : shortlist->slots)
            if (s < slots_.size() && slots_[s].live && !seen[s]) {
                seen[s] = true;
                keep(s);
            }
        if (has_lexical)
            for (std::size_t s = 0; s < slots_.size(); ++s)
                if (lexical[s] > 0 && slots_[s].live && !seen[s]) {
                    seen[s] = true;
                    keep(s);
                }
        select_top(hits, q.k);
        // An unseen slot has no lexical score and a cosine of at most `bound`, so its
        // score is at most `base` (before recency). Score it only if that could still
        // reach the k-th hit; the margin absorbs the index's own float rounding, which
        // grows with the dimension (about d * 2^-24 at worst for unit vectors).
        double const floor = hits.size() >= q.k ? hits.back().score : std::max(q.min_score, 1e-9);
        double const base = vw * std::clamp(shortlist->bound, 0.0, 1.0);
        double const margin = 1e-5 + static_cast<double>(dimension_) * 1.2e-7;
        if (base <= 0) return finish();
        if (!q.prefer_recent && base + margin < floor) return finish();
        bool added = false;
        for (std::size_t s = 0; s < slots_.size(); ++s) {
            if (seen[s] || !slots_[s].live) continue;
            if (q.prefer_recent &&
                (1 - recency_weight) * base + recency_weight * recency(s) + margin < floor)
                continue;
            auto const before = hits.size();
            keep(s);
            added |= hits.size() != before;
        }
        if (added) select_top(hits, q.k);
        return finish();
    }

    /// Number of slots, live or dead (slots are the positions in `vectors()`).
    std::size_t slot_count() const noexcept { return slots_.size(); }
    /// Number of dead slots not yet compacted away.
    std::size_t dead_count() const noexcept { return dead_; }
    /// Whether `slot` holds a live chunk.
    bool is_live(std::size_t slot) const noexcept { return slots_[slot].live; }
    /// The id of the chunk in `slot`.
    std::string const& chunk_id(std::size_t slot) const noexcept { return slots_[slot].chunk_id; }
    /// Copy the vector of `slot` into `out` (`dimension()` floats).
    void copy_vector(std::size_t slot, std::span<float> out) const noexcept { vectors_.copy_row(slot, out); }
    /// Every slot's vector, row by row (`slot_count() * dimension()` floats): a copy, as
    /// the ranking keeps them in tiles (`vector_tiles`).
    std::vector<float> row_major_vectors() const { return vectors_.row_major(); }
    /// Bit `s % 8` of byte `s / 8` is set when slot `s` is live (FAISS's `IDSelectorBitmap` layout).
    std::span<std::uint8_t const> live_bitmap() const noexcept { return live_bits_; }

private:
    struct slot_score {
        double score;
        std::uint32_t slot;
    };

    /** Every slot's lexical score: `values[s]`, divided by `divisor` when `divide`.

        The single-turn passes leave the neighbours' rescaling (a division of every
        score by the largest) undone: the exact scan divides only the scores it fuses,
        and the other scans call `materialize` first. Either way a score is the same
        `value / divisor` expression, so the same bits. Empty `values`: no lexical side.
    */
    struct lexical_view {
        std::span<double> values;
        double divisor = 1;
        bool divide = false;
        bool finite = false; ///< every value is known to be finite

        double operator[](std::size_t s) const noexcept { return divide ? values[s] / divisor : values[s]; }

        /// Do the division owed, in place.
        void materialize() noexcept {
            if (!divide) return;
            for (auto& v : values) v /= divisor;
            divide = false;
        }
    };

    /// A search's working arrays, the thread's own and reused, so that a query over a
    /// few thousand slots allocates and clears none; a large user's are freed after
    /// the search rather than kept by every thread that ever served one.
    struct scratch_arrays {
        std::vector<double> scores, spread;
        std::vector<std::uint32_t> nonzero;            // the query's nonzero places (`vector_tiles::prepare`)
        std::vector<slot_score> ranked;                // lexical_first's seeds,
        std::vector<std::uint32_t> seeded, candidates; // and the slots it scores
    };
    class scratch_lease {
    public:
        explicit scratch_lease(std::size_t slots) : slots_(slots) {}
        scratch_lease(scratch_lease const&) = delete;
        scratch_lease& operator=(scratch_lease const&) = delete;
        ~scratch_lease() {
            if (slots_ > kept_up_to) get() = {};
        }
        scratch_arrays& get() const noexcept {
            thread_local scratch_arrays arrays;
            return arrays;
        }

    private:
        static constexpr std::size_t kept_up_to = std::size_t{1} << 16; // 1 MB of doubles
        std::size_t slots_;
    };

    /** The lexical side of a query of one part of weight 1 without soft terms (an
        agent's turn, the usual query), with the neighbours' default window: the same
        values as `lexical_scores` then `spread_to_neighbours`, in fewer passes and
        without allocating. False when the query is not of that kind (`out` untouched).

        BM25 writes each slot's score in [0, 1] (0 for a dead slot, which BM25 no longer
        matches). A slot's kept neighbours (`near_prev_`, `near_next_`) are live slots
        or `no_slot`, read as the slot past the end, whose score is 0: taking the larger
        of two scores in [0, 1] and 0 where one is missing is what the general pass
        does. A dead slot has no neighbours, so its spread value is its score plus 0,
        the score itself, and being 0 it cannot raise the largest.
    */
    bool single_turn_lexical(std::span<analyzed_part const> parts, fusion_weights const& w, scratch_arrays& scratch,
                             lexical_view& out) const {
        if (parts.size() != 1 || parts[0].weight != 1.0 || (soft_.enabled() && !parts[0].vectors.empty())) return false;
        bool const spread = w.neighbour > 0;
        if (spread && (w.neighbour_window != near_window || !std::isfinite(w.neighbour))) return false;
        std::size_t const n = slots_.size();
        if (lexical_.slot_count() > n) return false;
        auto& scores = scratch.scores;
        if (scores.size() < n + 1) scores.resize(n + 1);
        std::fill(scores.data() + lexical_.slot_count(), scores.data() + n + 1, 0.0); // past BM25's slots, and the end
        if (lexical_.write_normalized_scores(parts[0].terms, scores) <= 0) {
            out = {};
            return true;
        }
        out.finite = true;
        if (!spread) {
            out.values = std::span<double>(scores.data(), n);
            return true;
        }
        auto& spread_values = scratch.spread;
        if (spread_values.size() < n) spread_values.resize(n);
        double const* const lexical = scores.data();
        double* const result = spread_values.data();
        double const neighbour = w.neighbour;
        auto const past_end = static_cast<std::uint32_t>(n);
        double top = 0;
        for (std::size_t s = 0; s < n; ++s) {
            double const before = lexical[std::min(near_prev_[s], past_end)];
            double const best = std::max(before, lexical[std::min(near_next_[s], past_end)]);
            result[s] = lexical[s] + neighbour * best;
            top = std::max(top, result[s]);
        }
        out.values = std::span<double>(result, n);
        out.divide = top > 1;
        out.divisor = top;
        return true;
    }

    /// Whether `a` ranks before `b`: higher score, then smaller chunk id.
    bool better(slot_score const& a, slot_score const& b) const noexcept {
        return a.score != b.score ? a.score > b.score : slots_[a.slot].chunk_id < slots_[b.slot].chunk_id;
    }

    /** The most any of rows `first`..`first + rows` can score without recency: the fusion
        of the block's best lexical score and best cosine.

        Fusion without recency is monotone in each signal, and so is every rounding
        step in it, so no row of the block scores above this. A block whose bound is
        below the worst of a full heap is skipped whole, exactly as each of its rows
        would have been: a large user's scan then fuses only a few blocks. (`std::max`
        passes over a NaN, and a row that scores NaN never enters a full heap.) A block
        is skipped only when the bound is below the heap's worst by `bound_margin`, so
        that a build contracting `a * b + c` into one rounding in one of the two places
        and not the other (`-ffp-contract=fast` with FMA) still skips nothing it
        should score.
    */
    static constexpr double bound_margin = 1e-12; // thousands of ulps of scores near 1

    static double block_bound(std::size_t first, std::size_t rows, float const* cosines, double const* lexical,
                              double lw, double vw) noexcept {
        double score = 0.0;
        if (lexical != nullptr) {
            double best = 0.0;
            for (std::size_t r = 0; r < rows; ++r) best = std::max(best, lexical[first + r]);
            score = lw * best;
        }
        if (vw > 0) {
            float best = 0.0f;
            for (std::size_t r = 0; r < rows; ++r) best = std::max(best, cosines[r]);
            score += vw * std::clamp(static_cast<double>(best), 0.0, 1.0);
        }
        return std::clamp(score, 0.0, 1.0);
    }

    /** The exact search's scan when a query has both sides and fusion is monotone:
        lexical scores first, cosines only where they can still matter.

        The slots with the best lexical scores are scored first, which fills the heap
        with strong hits. Then a slot is scored only if its best possible score, its
        fusion with a cosine of 1, reaches the worst of a full heap (`bound_margin`
        below, as for `block_bound`): with the lexical side's usual weight most slots
        cannot, and their rows are never read. A block of rows with many slots left is
        scored whole by the tile kernel, a few slots row by row (`score_row`, the same
        bits). The heap keeps the best `k` under a strict total order (`better`), so
        the order slots are offered in does not change the result.

        That holds while no score is NaN: a NaN enters a heap that is not yet full,
        so where it lands depends on the order. The caller therefore uses this scan
        only when no cosine can be NaN (`cosines_are_finite`), and this returns false,
        having decided nothing, when a lexical score is not finite (a NaN or infinite
        part weight, BM25 parameters out of range); the block scan then runs as before.
    */
    static std::size_t lexical_first_seeds(std::size_t k) noexcept { return std::max<std::size_t>(k, 16); }
    // A user with fewer slots per seed than this is scanned block by block: most blocks
    // then hold a slot that must be scored, and the scan that skips nothing is cheaper
    // (LoCoMo's users of ~550 chunks at top_k 50: 4% slower the lexical-first way).
    static constexpr std::size_t lexical_first_from = 16;

    /** A threshold that about `above` of `values[0..n)` are expected to exceed, at least
        0: the `rank`-th largest of up to 128 values sampled at even steps over all of
        them, `rank` being `above`'s expected share of the sample, rounded up (at least 1,
        so at most the sample's largest once `n` is large against `above`). */
    static double sampled_threshold(double const* values, std::size_t n, std::size_t above) noexcept {
        constexpr std::size_t most = 128;
        std::size_t const size = std::min(n, most);
        if (size == 0) return 0;
        // The r-th largest of `size` samples is exceeded by about r / (size + 1) of all values.
        std::size_t const rank = std::clamp<std::size_t>((above * (size + 1) + n - 1) / n, 1, size);
        // The `rank` largest sampled values, in descending order: most samples lose one
        // comparison with the last of them.
        std::array<double, most> largest;
        std::size_t kept = 0;
        // Sample i is value i * n / size, stepped without a division per sample.
        std::size_t const step = n / size, extra = n % size;
        std::size_t position = 0, carried = 0;
        for (std::size_t i = 0; i < size; ++i) {
            double const v = values[position];
            position += step;
            carried += extra;
            if (carried >= size) {
                ++position;
                carried -= size;
            }
            if (kept == rank && !(v > largest[rank - 1])) continue;
            std::size_t at = kept < rank ? kept++ : rank - 1;
            for (; at > 0 && largest[at - 1] < v; --at) largest[at] = largest[at - 1];
            largest[at] = v;
        }
        double const threshold = largest[rank - 1];
        return threshold > 0 ? threshold : 0.0; // also 0 for a NaN, which the caller rules out
    }

    /// Whether every row's dot product with `query` is finite: every value is finite and
    /// small enough that no product or partial sum can overflow (true for unit vectors).
    bool cosines_are_finite(std::span<float const> query) const noexcept {
        if (vectors_.has_non_finite()) return false;
        double largest = 0;
        for (float const v : query) {
            if (!std::isfinite(v)) return false;
            largest = std::max(largest, static_cast<double>(std::abs(v)));
        }
        // |sum| <= dim * max|x| * max|y|, twice over for the roundings on the way.
        return 2.0 * static_cast<double>(dimension_) * static_cast<double>(vectors_.max_magnitude()) * largest <
               static_cast<double>(std::numeric_limits<float>::max());
    }

    template <class Fuse>
    bool lexical_first(lexical_view const& lexical, double lw, double vw, tile_query const& tq,
                       search_query const& q, Fuse const& fuse, scratch_arrays& scratch,
                       std::vector<slot_score>& hits) const {
        std::size_t const n = slots_.size();
        // A local copy of the bitmap's address, which the compiler can keep in a register
        // across the stores of the passes below.
        std::uint8_t const* const live_bytes = live_bits_.data();
        auto const live = [live_bytes](std::size_t s) { return (live_bytes[s / 8] >> (s % 8) & 1U) != 0; };
        auto const consider = [&](std::size_t s, float cosine) {
            double const score = fuse(s, static_cast<double>(cosine));
            if (score <= 1e-9 || score < q.min_score) return;
            if (hits.size() == q.k && score < hits.front().score) return;
            offer(hits, {score, static_cast<std::uint32_t>(s)}, q.k);
        };
        // The passes below read the stored values, before the division `lexical_view`
        // may still owe them: it is by a positive number, so it keeps their order, and
        // the scores themselves always come from `fuse`.
        double const* const values = lexical.values.data();
        if (!lexical.finite)
            for (std::size_t s = 0; s < n; ++s)
                if (!std::isfinite(values[s])) return false;
        // The seeds: the live slots of best lexical score (ties in any order). Which
        // slots they are changes only how soon the heap's worst rises, not the result,
        // so they are found the cheap way: every live slot above a threshold is appended
        // to a buffer, and when the buffer is full its best `seeds` are kept and the
        // threshold rises to the weakest of them. The first threshold is a sampled value
        // that about twice `seeds` slots are expected to exceed (the sample's largest for
        // a user of many thousand slots), so from the first slot on most slots lose one
        // well-predicted comparison. (A heap of the best so far, from a threshold of 0,
        // was pushed a few dozen times per query, most likely after as many mispredicted
        // branches: at 1k chunks the search took 17% longer; docs/performance.md,
        // "Thirteenth step".)
        std::size_t const seeds = lexical_first_seeds(q.k);
        std::size_t const capacity = 4 * seeds;
        std::vector<slot_score>& ranked = scratch.ranked;
        ranked.resize(capacity);
        auto const stronger = [](slot_score const& a, slot_score const& b) { return a.score > b.score; };
        auto const keep_best = [&](std::size_t size) {
            std::ranges::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(seeds - 1),
                                     ranked.begin() + static_cast<std::ptrdiff_t>(size), stronger);
            return ranked[seeds - 1].score;
        };
        // The number of seeds found above `threshold` (at most `seeds` once the buffer has filled).
        auto const pick = [&](double threshold) {
            slot_score* const buffer = ranked.data(); // a local copy, as `live_bytes`
            std::size_t size = 0;
            for (std::size_t s = 0; s < n; ++s) {
                double const v = values[s];
                if (!(v > threshold) || !live(s)) [[likely]]
                    continue;
                buffer[size++] = {v, static_cast<std::uint32_t>(s)};
                if (size == capacity) [[unlikely]] {
                    threshold = keep_best(size);
                    size = seeds;
                }
            }
            return size;
        };
        // Slots equal to the sampled value count as above it: lexical scores tie often
        // (chunks with the same terms), and a tie at the top would otherwise leave too few.
        double const sampled = sampled_threshold(values, n, 2 * seeds);
        std::size_t picked = pick(sampled > 0 ? std::nextafter(sampled, 0.0) : 0.0);
        if (picked < seeds && sampled > 0) picked = pick(0); // the sample guessed too high: take every slot above 0
        if (picked > seeds) {
            keep_best(picked);
            picked = seeds;
        }
        ranked.resize(picked);
        std::vector<std::uint32_t>& seeded = scratch.seeded;
        seeded.clear();
        for (auto const& r : ranked) seeded.push_back(r.slot);
        std::ranges::sort(seeded);
        for (auto const& r : ranked) vectors_.prefetch_row(r.slot, tq);
        for (auto const& r : ranked) consider(r.slot, vectors_.score_row(r.slot, tq));
        // Every other live slot whose best possible score reaches the heap's worst. They
        // are listed first, against the heap as the seeds left it, and tested again
        // against the heap as it is when their turn comes (the worst only rises).
        auto const worst = [&] { return hits.size() == q.k ? hits.front().score : -1.0; };
        auto const may_reach = [&](std::size_t s) { return fuse(s, 1.0) + bound_margin >= worst(); };
        // A cheap first test on the stored value alone, looser than the exact one by far
        // more than the rounding of either (or of the division still owed).
        double cut = lw > 0 ? (worst() - bound_margin - vw - 1e-9) / lw : -std::numeric_limits<double>::infinity();
        if (lexical.divide) cut = (cut - 1e-9) * lexical.divisor;
        std::vector<std::uint32_t>& candidates = scratch.candidates;
        candidates.clear();
        std::size_t next_seed = 0; // into `seeded`, which is in slot order
        for (std::size_t s = 0; s < n; ++s) {
            if (!(values[s] >= cut)) continue;
            while (next_seed < seeded.size() && seeded[next_seed] < s) ++next_seed;
            if (next_seed < seeded.size() && seeded[next_seed] == s) continue;
            if (live(s) && may_reach(s)) candidates.push_back(static_cast<std::uint32_t>(s));
        }
        // A block with this many candidates is scored whole by the tile kernel; fewer are
        // scored row by row, fetched a few rows ahead (each row is a line per dimension
        // from all over its tile, and a user of 10k chunks does not fit in the cache).
        constexpr std::size_t whole_block_from = 8;
        constexpr std::size_t fetch_ahead = 4;
        for (std::size_t c = 0; c < std::min(fetch_ahead, candidates.size()); ++c)
            vectors_.prefetch_row(candidates[c], tq);
        float cosines[tile_rows];
        for (std::size_t c = 0; c < candidates.size();) {
            std::size_t const block = candidates[c] / tile_rows;
            std::size_t end = c;
            while (end < candidates.size() && candidates[end] / tile_rows == block) ++end;
            if (end - c >= whole_block_from) {
                vectors_.score_block(block, tq, cosines);
                for (; c < end; ++c)
                    if (may_reach(candidates[c])) consider(candidates[c], cosines[candidates[c] % tile_rows]);
                continue;
            }
            for (; c < end; ++c) {
                if (c + fetch_ahead < candidates.size()) vectors_.prefetch_row(candidates[c + fetch_ahead], tq);
                if (may_reach(candidates[c])) consider(candidates[c], vectors_.score_row(candidates[c], tq));
            }
        }
        return true;
    }

    /// Offer `candidate` to `heap`, a heap of at most `k` hits whose front is the worst.
    void offer(std::vector<slot_score>& heap, slot_score candidate, std::size_t k) const {
        auto const worse_first = [&](slot_score const& a, slot_score const& b) { return better(a, b); };
        if (heap.size() < k) {
            heap.push_back(candidate);
            std::ranges::push_heap(heap, worse_first);
        } else if (candidate.score >= heap.front().score && better(candidate, heap.front())) {
            std::ranges::pop_heap(heap, worse_first);
            heap.back() = candidate;
            std::ranges::push_heap(heap, worse_first);
        }
    }

    /// Keep the best `k` of `hits`, ordered by score descending then chunk id ascending.
    void select_top(std::vector<slot_score>& hits, std::size_t k) const {
        auto const better = [&](slot_score const& a, slot_score const& b) { return this->better(a, b); };
        if (hits.size() > k) {
            std::ranges::nth_element(hits, hits.begin() + static_cast<std::ptrdiff_t>(k), better);
            hits.resize(k);
        }
        std::ranges::sort(hits, better);
    }

    /// A turn of a conversation often means little alone ("For walking or running?"):
    /// each chunk inherits `neighbour` of the better lexical score of the chunks just
    /// before and after it in the user's history (`history_less`), when those are within
    /// `neighbour_window` in time (the same exchange). Then rescaled to a maximum of 1.
    void spread_to_neighbours(std::vector<double>& lexical, fusion_weights const& w) const {
        std::vector<double> spread(lexical.size());
        double top = 0;
        auto const spread_one = [&](std::uint32_t s, std::uint32_t p, std::uint32_t n) {
            double best = 0;
            if (p != no_slot) best = lexical[p];
            if (n != no_slot) best = std::max(best, lexical[n]);
            spread[s] = lexical[s] + w.neighbour * best;
            top = std::max(top, spread[s]);
        };
        auto const live = [&](std::uint32_t s) { return (live_bits_[s / 8] >> (s % 8) & 1U) != 0; };
        if (w.neighbour_window == near_window) {
            // The usual window: the neighbours within it were found when slots were linked.
            for (std::uint32_t s = 0; s < slots_.size(); ++s) {
                if (live(s)) spread_one(s, near_prev_[s], near_next_[s]);
                else spread[s] = lexical[s];
            }
        } else {
            // Times from their dense array: the slot records are 80 bytes each.
            auto const window = w.neighbour_window;
            for (std::uint32_t s = 0; s < slots_.size(); ++s) {
                if (live(s)) spread_one(s, within(s, prev_[s], window), within(s, next_[s], window));
                else spread[s] = lexical[s];
            }
        }
        lexical.swap(spread);
        if (top > 1)
            for (auto& v : lexical) v /= top;
    }

    static constexpr std::uint32_t no_slot = 0xffffffffU;

    /// Link `slot`, just inserted in `history_` at `it`, to the live slots before and after it.
    template <class HistoryIterator>
    void link(HistoryIterator it) {
        std::uint32_t const slot = it->slot;
        prev_.resize(slots_.size(), no_slot);
        next_.resize(slots_.size(), no_slot);
        std::uint32_t const p = it == history_.begin() ? no_slot : std::prev(it)->slot;
        auto const after = std::next(it);
        std::uint32_t const n = after == history_.end() ? no_slot : after->slot;
        prev_[slot] = p;
        next_[slot] = n;
        if (p != no_slot) next_[p] = slot;
        if (n != no_slot) prev_[n] = slot;
        near_prev_.resize(slots_.size(), no_slot);
        near_next_.resize(slots_.size(), no_slot);
        for (auto const s : {slot, p, n})
            if (s != no_slot) refresh_near(s);
    }

    /// Unlink `slot` (leaving `history_`): its neighbours become each other's.
    void unlink(std::uint32_t slot) {
        std::uint32_t const p = prev_[slot], n = next_[slot];
        if (p != no_slot) next_[p] = n;
        if (n != no_slot) prev_[n] = p;
        prev_[slot] = next_[slot] = no_slot;
        for (auto const s : {slot, p, n})
            if (s != no_slot) refresh_near(s);
    }

    /// The neighbour window retrievers use (`fusion_weights`' default): the neighbours of
    /// each slot within it are kept up to date as slots are linked and unlinked, so that a
    /// search reads two slot numbers per chunk instead of comparing four times.
    static constexpr std::chrono::seconds near_window = fusion_weights{}.neighbour_window;

    /// Recompute which of `slot`'s neighbours in history are within `near_window`.
    void refresh_near(std::uint32_t slot) {
        near_prev_[slot] = within(slot, prev_[slot], near_window);
        near_next_[slot] = within(slot, next_[slot], near_window);
    }

    /// `other` if it is a slot within `window` of `slot` in time, else `no_slot`.
    std::uint32_t within(std::uint32_t slot, std::uint32_t other, std::chrono::seconds window) const noexcept {
        if (other == no_slot) return no_slot;
        auto const d = times_[slot] - times_[other];
        return d <= window && -d <= window ? other : no_slot;
    }

    /// Lexical score per slot: each part scored on its own (normalised to [0, 1]), then
    /// averaged by part weight, so a long earlier turn cannot outweigh a short latest one.
    /// Parts with no indexed term take no share. Empty when no part has a known term.
    std::vector<double> lexical_scores(std::span<analyzed_part const> parts) const {
        std::vector<double> total;
        std::vector<double> part_scores;
        std::vector<text::weighted_term> expanded;
        if (parts.size() == 1 && parts[0].weight == 1.0 && !(soft_.enabled() && !parts[0].vectors.empty())) {
            // One part of weight 1 (a single turn): the average is its own scores, bit for
            // bit (0 + 1 * x and x / 1 are x), without two more passes over every slot.
            part_scores.assign(slots_.size(), 0.0);
            if (lexical_.normalized_scores(parts[0].terms, part_scores) <= 0) return total;
            return part_scores;
        }
        double weight_sum = 0;
        for (auto const& p : parts) {
            part_scores.assign(slots_.size(), 0.0);
            std::span<text::weighted_term const> terms = p.terms;
            if (soft_.enabled() && !p.vectors.empty()) {
                expanded = p.terms;
                soft_.expand(p.terms, p.vectors, vocabulary_, expanded);
                terms = expanded;
            }
            if (lexical_.normalized_scores(terms, part_scores) <= 0) continue;
            if (total.empty()) total.assign(slots_.size(), 0.0);
            for (std::size_t s = 0; s < slots_.size(); ++s) total[s] += p.weight * part_scores[s];
            weight_sum += p.weight;
        }
        if (weight_sum > 0)
            for (auto& v : total) v /= weight_sum;
        return total;
    }

    struct slot_info {
        std::string chunk_id;
        std::string item_id;
        timestamp time{};
        bool live = false;
        std::uint32_t ordinal = 1;
    };

    /// The order in which chunks follow each other in the user's history: time, then
    /// item id in natural order ("m9" before "m10"), then position in the item. It is
    /// the same whatever order chunks were added in (a restart re-adds them in the
    /// store's order), so neighbours, and with them scores, do not depend on it.
    struct history_key {
        timestamp time{};
        std::string item_id;
        std::uint32_t ordinal = 1;
        std::uint32_t slot = 0; // distinct entries for a chunk id added twice before compaction
    };
    struct history_less {
        static int natural_compare(std::string_view a, std::string_view b) noexcept {
            std::size_t i = 0, j = 0;
            auto const digit = [](char c) { return c >= '0' && c <= '9'; };
            while (i < a.size() && j < b.size()) {
                if (digit(a[i]) && digit(b[j])) {
                    std::size_t ie = i, je = j;
                    while (ie < a.size() && digit(a[ie])) ++ie;
                    while (je < b.size() && digit(b[je])) ++je;
                    std::size_t iz = i, jz = j; // skip leading zeros
                    while (iz + 1 < ie && a[iz] == '0') ++iz;
                    while (jz + 1 < je && b[jz] == '0') ++jz;
                    if (ie - iz != je - jz) return ie - iz < je - jz ? -1 : 1;
                    if (int const c = a.substr(iz, ie - iz).compare(b.substr(jz, je - jz)); c != 0) return c;
                    i = ie;
                    j = je;
                } else {
                    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
                    ++i;
                    ++j;
                }
            }
            if (i < a.size() || j < b.size()) return i < a.size() ? 1 : -1;
            return a.compare(b); // "m01" and "m1": still a strict order
        }
        bool operator()(history_key const& x, history_key const& y) const noexcept {
            if (x.time != y.time) return x.time < y.time;
            if (int const c = natural_compare(x.item_id, y.item_id); c != 0) return c < 0;
            if (x.ordinal != y.ordinal) return x.ordinal < y.ordinal;
            return x.slot < y.slot;
        }
    };

    history_key key_of(std::uint32_t slot) const noexcept {
        return {slots_[slot].time, slots_[slot].item_id, slots_[slot].ordinal, slot};
    }

    double recency(std::size_t s) const {
        double const age_days = std::chrono::duration<double>(newest_ - slots_[s].time).count() / 86400.0;
        return std::exp(-age_days / 30.0);
    }

    void set_live_bit(std::size_t slot, bool live) {
        auto const bit = static_cast<std::uint8_t>(1u << (slot % 8));
        if (live) live_bits_[slot / 8] |= bit;
        else live_bits_[slot / 8] &= static_cast<std::uint8_t>(~bit);
    }

    void kill(std::uint32_t slot) {
        unlink(slot);
        history_.erase(key_of(slot));
        slots_[slot].live = false;
        set_live_bit(slot, false);
        lexical_.remove(slot);
        by_chunk_.erase(slots_[slot].chunk_id);
        ++dead_;
    }

    std::size_t dimension_ = 0;
    // In blocks: a doubling vector of these 80-byte records was copied whole under the
    // user's lock (~30 ms of a 45 ms batch at 131k chunks).
    block_vector<slot_info> slots_;
    std::vector<timestamp> times_; // slots_[s].time, densely (the neighbour pass reads every one)
    vector_tiles vectors_;
    std::vector<std::uint8_t> live_bits_;
    std::set<history_key, history_less> history_; // live slots in history order
    std::vector<std::uint32_t> prev_, next_;      // per slot: the live slots before and after it in history_
    std::vector<std::uint32_t> near_prev_, near_next_; // the same when within near_window in time, else no_slot
    text::bm25_index lexical_;
    // Grown a few nodes per insert, not all at once under the user's lock.
    incremental_map<std::string, std::uint32_t> by_chunk_;
    incremental_map<std::string, std::vector<std::uint32_t>> by_item_;
    std::size_t dead_ = 0;
    timestamp newest_{};
    soft_terms soft_;
    // Soft matching: every term ever indexed that has a vector (a term whose chunks are
    // all gone has no idf and scores nothing), and every term ever looked up.
    std::vector<std::pair<std::string, word_vector>> vocabulary_;
    std::unordered_set<std::string> vocabulary_terms_;
};

} // namespace persona::detail

#endif
