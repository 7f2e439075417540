#ifndef PERSONA_TEXT_BM25_HPP
#define PERSONA_TEXT_BM25_HPP

/// @file
/// `bm25_index`: an Okapi BM25 inverted index over analyzed terms, the lexical half
/// of every persona retriever.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace persona::text {

/** A weighted query term. */
struct weighted_term {
    std::string term;
    double weight = 1.0;
};

/** An Okapi BM25 index of documents identified by dense slot numbers.

    The caller owns slot numbering (a retriever uses the row of the chunk in its
    vector matrix). Removal is immediate for scoring (the slot is marked dead and
    skipped) and postings of dead slots are dropped by `compact`, which the owner
    calls when it renumbers its slots.

    Scores are mapped to [0, 1] by `normalized_scores`: the BM25 sum divided by the
    query's idf mass, so 1 means "every query term matched about as well as once in a
    document of average length", whatever the collection size.

    @par Thread safety
    Distinct objects: safe. Shared objects: const members may run concurrently;
    a mutation needs exclusive access.
*/
class bm25_index {
public:
    /// The BM25 parameters.
    struct parameters {
        double k1 = 1.2;
        double b = 0.75;
    };

    bm25_index() = default;
    explicit bm25_index(parameters p) : params_(p) {}

    /** Index document `slot` with `terms` (duplicates count as term frequency).

        `slot` must not be live; slots may be added in any order.
    */
    void add(std::uint32_t slot, std::span<std::string const> terms) {
        if (slot >= lengths_.size()) {
            lengths_.resize(slot + 1, 0);
            live_.resize(slot + 1, false);
        }
        // Count term frequencies without a map: a short chunk's terms are compared one by
        // one (most pairs differ in length), a long one's are sorted.
        std::vector<std::pair<std::string_view, std::uint32_t>> counts;
        if (terms.size() <= 32) {
            for (auto const& t : terms) {
                auto const it = std::ranges::find(counts, std::string_view(t), &std::pair<std::string_view, std::uint32_t>::first);
                if (it != counts.end()) ++it->second;
                else counts.emplace_back(t, 1);
            }
        } else {
            std::vector<std::string_view> sorted(terms.begin(), terms.end());
            std::ranges::sort(sorted);
            for (std::size_t i = 0; i < sorted.size();) {
                std::size_t j = i;
                while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
                counts.emplace_back(sorted[i], static_cast<std::uint32_t>(j - i));
                i = j;
            }
        }
        for (auto const& [term, tf] : counts) {
            auto it = postings_.find(term);
            if (it == postings_.end()) it = postings_.try_emplace(std::string(term)).first;
            it->second.push_back({slot, posting::key_of(tf, terms.size())});
        }
        lengths_[slot] = static_cast<std::uint32_t>(terms.size());
        live_[slot] = true;
        total_length_ += terms.size();
        ++live_count_;
    }

    /// Stop matching document `slot` (no effect if it is not live).
    void remove(std::uint32_t slot) noexcept {
        if (slot >= live_.size() || !live_[slot]) return;
        live_[slot] = false;
        total_length_ -= lengths_[slot];
        --live_count_;
        ++removed_;
    }

    /** Renumber slots: `new_slot[old]` is the new number, or -1 to drop. Drops dead postings. */
    void compact(std::span<std::int64_t const> new_slot) {
        std::vector<std::uint32_t> lengths;
        std::vector<bool> live;
        std::int64_t max_slot = -1;
        for (auto s : new_slot) max_slot = std::max(max_slot, s);
        lengths.resize(static_cast<std::size_t>(max_slot + 1), 0);
        live.resize(static_cast<std::size_t>(max_slot + 1), false);
        for (std::size_t old = 0; old < new_slot.size() && old < lengths_.size(); ++old) {
            if (new_slot[old] < 0 || !live_[old]) continue;
            lengths[static_cast<std::size_t>(new_slot[old])] = lengths_[old];
            live[static_cast<std::size_t>(new_slot[old])] = true;
        }
        for (auto it = postings_.begin(); it != postings_.end();) {
            auto& list = it->second;
            std::erase_if(list, [&](posting const& p) {
                return p.slot >= new_slot.size() || new_slot[p.slot] < 0 || !live_[p.slot];
            });
            for (auto& p : list) p.slot = static_cast<std::uint32_t>(new_slot[p.slot]);
            if (list.empty()) it = postings_.erase(it);
            else ++it;
        }
        lengths_ = std::move(lengths);
        live_ = std::move(live);
        removed_ = 0;
    }

    /// Remove everything.
    void clear() noexcept {
        postings_.clear();
        lengths_.clear();
        live_.clear();
        total_length_ = 0;
        live_count_ = 0;
        removed_ = 0;
    }

    /// Return the number of live documents.
    std::size_t size() const noexcept { return live_count_; }

    /// Return the inverse document frequency of `term` (0 when no live document has it).
    double idf(std::string_view term) const {
        auto const it = postings_.find(term);
        return it == postings_.end() ? 0.0 : idf(it->second);
    }

    /** Add the normalised BM25 score of every live document into `scores[slot]`.

        @param query weighted terms; a term repeated adds its weights.
        @param scores resized to cover every slot; existing values are added to.
        @returns the query's idf mass (0 when no term is known; then nothing is added).
    */
    double normalized_scores(std::span<weighted_term const> query, std::vector<double>& scores) const {
        if (scores.size() < lengths_.size()) scores.resize(lengths_.size(), 0.0);
        if (live_count_ == 0) return 0;
        std::vector<double> raw(lengths_.size(), 0.0);
        double const mass = raw_scores(query, raw.data());
        if (mass <= 0) return 0;
        // A select rather than a branch; a slot no term matched keeps its score exactly
        // (even -0), as do slots whose sum is NaN or negative.
        for (std::size_t s = 0; s < raw.size(); ++s)
            scores[s] = raw[s] > 0 ? scores[s] + std::min(1.0, raw[s] / mass) : scores[s];
        return mass;
    }

    /** Write the normalised BM25 score of every slot into `scores`: the values
        `normalized_scores` would add into zeros, bit for bit (0 + x is x), without a
        second array or a pass that adds.

        @param scores at least `slot_count()` values; the first `slot_count()` are
        overwritten (0 for a slot no term matches, and for every slot when the
        result is 0).
        @returns the query's idf mass (0 when no term is known).
        @throws std::length_error when `scores` is shorter than `slot_count()`.
    */
    double write_normalized_scores(std::span<weighted_term const> query, std::span<double> scores) const {
        std::size_t const n = lengths_.size();
        if (scores.size() < n) throw std::length_error("bm25_index: fewer scores than slots");
        std::fill_n(scores.data(), n, 0.0);
        if (live_count_ == 0) return 0;
        double const mass = raw_scores(query, scores.data());
        if (mass <= 0) {
            std::fill_n(scores.data(), n, 0.0);
            return 0;
        }
        // Every slot is divided, the quotient kept only where the sum is positive: with no
        // division under a condition (which may not be done where it could trap), the
        // compiler does this a vector of slots at a time.
        double* const v = scores.data();
        for (std::size_t s = 0; s < n; ++s) {
            double const normalized = std::min(1.0, v[s] / mass);
            v[s] = v[s] > 0 ? normalized : 0.0;
        }
        return mass;
    }

    /// The number of slots scores are written for (the highest slot ever added, plus one).
    std::size_t slot_count() const noexcept { return lengths_.size(); }

private:
    /// Add each query term's BM25 contribution into `raw[slot]` (`slot_count()` values,
    /// zeros on entry); return the query's idf mass.
    double raw_scores(std::span<weighted_term const> query, double* raw) const {
        double const avg_length = static_cast<double>(total_length_) / static_cast<double>(live_count_);
        // A term's contribution to a document depends only on its weight, its frequency
        // there and the document's length. Chunks are short and their terms repeat little,
        // so each (frequency, length) pair's contribution is computed once per term (the
        // same expression, so the same bits in a build that does not contract a * b + c
        // into one rounding, as persona's do not: see detail/dot.hpp) rather than once
        // per posting: a dense query over a thousand chunks otherwise spends most of its
        // time dividing. The tables are the thread's, kept between queries: an entry is
        // current when its stamp is this term's (lengths: this query's), and the stamps
        // only grow, so nothing is cleared or allocated per query.
        struct cached {
            double value = 0;
            std::uint64_t stamp = 0;
        };
        struct tables {
            std::uint64_t stamp = 0;
            cached norms[cached_lengths];
            cached contributions[cached_tf * cached_lengths];
        };
        thread_local tables t;
        std::uint64_t const query_stamp = ++t.stamp;
        double mass = 0;
        // The loop over postings, with the liveness test only while a slot is removed.
        auto const add = [&]<bool Removed>(std::vector<posting> const& list, double w, std::uint64_t stamp) {
            for (auto const& p : list) {
                if constexpr (Removed)
                    if (!live_[p.slot]) continue;
                if (p.key >= posting::cached_keys) [[unlikely]] {
                    raw[p.slot] += contribution(w, p.key - posting::cached_keys, norm(lengths_[p.slot], avg_length));
                    continue;
                }
                auto& c = t.contributions[p.key];
                if (c.stamp != stamp) [[unlikely]] {
                    std::uint32_t const length = p.key % cached_lengths;
                    auto& nm = t.norms[length];
                    if (nm.stamp != query_stamp) nm = {norm(length, avg_length), query_stamp};
                    c = {contribution(w, p.key / cached_lengths + 1, nm.value), stamp};
                }
                raw[p.slot] += c.value;
            }
        };
        for (auto const& q : query) {
            auto const it = postings_.find(q.term);
            if (it == postings_.end()) continue;
            double const w = q.weight * idf(it->second);
            if (w <= 0) continue;
            mass += w;
            std::uint64_t const stamp = ++t.stamp;
            if (removed_ != 0) add.template operator()<true>(it->second, w, stamp);
            else add.template operator()<false>(it->second, w, stamp);
        }
        return mass;
    }

    // The contribution tables' extent: frequencies 1 to 4, lengths below 256.
    static constexpr std::uint32_t cached_tf = 4;
    static constexpr std::uint32_t cached_lengths = 256;

    /// A document's entry in a term's list. `key` says how often the term occurs there and
    /// how long the document is, as the contribution tables index them: below
    /// `cached_keys`, `(tf - 1) * cached_lengths + length`; else `cached_keys + tf` (the
    /// length is then read from `lengths_`). A query reads one number per posting.
    struct posting {
        std::uint32_t slot;
        std::uint32_t key;

        static constexpr std::uint32_t cached_keys = cached_tf * cached_lengths;
        static std::uint32_t key_of(std::uint32_t tf, std::size_t length) noexcept {
            if (tf - 1 < cached_tf && length < cached_lengths)
                return (tf - 1) * cached_lengths + static_cast<std::uint32_t>(length);
            // A document has at least tf terms, and persona's chunks are far shorter than 4 G.
            return cached_keys + std::min<std::uint32_t>(tf, std::numeric_limits<std::uint32_t>::max() - cached_keys);
        }
    };

    double idf(std::vector<posting> const& list) const noexcept {
        // Until a slot is removed every posting is live, and the list's size is the count.
        std::size_t df = removed_ == 0 ? list.size() : 0;
        if (removed_ != 0)
            for (auto const& p : list) df += live_[p.slot] ? 1 : 0;
        if (df == 0) return 0;
        return std::log(1.0 + (static_cast<double>(live_count_) - df + 0.5) / (df + 0.5));
    }

    /// BM25's length normalisation `k1 * (1 - b + b * length / avg_length)`.
    double norm(std::size_t length, double avg_length) const noexcept {
        return params_.k1 * (1 - params_.b + params_.b * static_cast<double>(length) / std::max(avg_length, 1.0));
    }

    /// A term of weight `w` occurring `tf` times in a document of length normalisation `norm`.
    double contribution(double w, std::uint32_t tf, double norm) const noexcept {
        double const f = tf;
        return w * f * (params_.k1 + 1) / (f + norm);
    }

    parameters params_{};
    // Looked up by string_view (no string built per lookup).
    struct term_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<posting>, term_hash, std::equal_to<>> postings_;
    std::vector<std::uint32_t> lengths_;
    std::vector<bool> live_;
    std::size_t total_length_ = 0;
    std::size_t live_count_ = 0;
    std::size_t removed_ = 0; // slots removed since `compact`: their postings are still listed
};

} // namespace persona::text

#endif
