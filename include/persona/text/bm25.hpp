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
#include <memory>
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

        `slot` must not have been added since the last `compact` (a removed slot's postings
        stay until then); slots may be added in any order.
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
            term_postings& list = it->second;
            list.recent.push_back({slot, posting::key_of(tf, terms.size())});
            if (list.recent.size() >= regroup_from && list.recent.size() * regroup_share >= list.grouped_size())
                regroup(list);
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

    /** Renumber slots: `new_slot[old]` is the new number, or -1 to drop. Drops dead postings.

        The renumbered postings are built beside the old ones and swapped in, so an
        allocation failure leaves the index as it was.
    */
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
        decltype(postings_) postings;
        postings.reserve(postings_.size());
        std::vector<posting> kept; // a term's surviving postings, renumbered
        for (auto const& [term, old] : postings_) {
            kept.clear();
            auto const keep = [&](std::uint32_t slot, std::uint32_t key) {
                if (slot < new_slot.size() && new_slot[slot] >= 0 && live_[slot])
                    kept.push_back({static_cast<std::uint32_t>(new_slot[slot]), key});
            };
            if (old.grouped) {
                std::uint32_t begin = 0;
                for (auto const run : old.grouped->runs) {
                    for (std::uint32_t i = begin; i < run.end; ++i) keep(old.grouped->slots[i], run.key);
                    begin = run.end;
                }
            }
            for (auto const& p : old.recent) keep(p.slot, p.key);
            if (kept.empty()) continue; // no live document has the term any more
            term_postings& list = postings.try_emplace(term).first->second;
            list.recent.assign(kept.begin(), kept.end()); // exactly sized
            if (list.recent.size() >= regroup_from) {
                regroup(list);
                std::vector<posting>().swap(list.recent); // keep no idle capacity
            }
        }
        postings_ = std::move(postings);
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

    /** The number of `term`'s postings, dead ones included, kept grouped by (frequency,
        length): the others were added since the term last regrouped. For tests and tuning. */
    std::size_t grouped_count(std::string_view term) const {
        auto const it = postings_.find(term);
        return it == postings_.end() ? 0 : it->second.grouped_size();
    }

    /// The number of `term`'s postings, dead ones included, until `compact` drops those.
    std::size_t posting_count(std::string_view term) const {
        auto const it = postings_.find(term);
        return it == postings_.end() ? 0 : it->second.size();
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
        // A grouped term: each run's contribution once, then added to each of its slots.
        auto const add_runs = [&]<bool Removed>(grouped_postings const& g, double w) {
            std::uint32_t const* const slots = g.slots.data();
            std::uint32_t begin = 0;
            for (auto const run : g.runs) {
                if (run.key < posting::cached_keys) [[likely]] {
                    std::uint32_t const length = run.key % cached_lengths;
                    auto& nm = t.norms[length];
                    if (nm.stamp != query_stamp) nm = {norm(length, avg_length), query_stamp};
                    double const c = contribution(w, run.key / cached_lengths + 1, nm.value);
                    for (std::uint32_t i = begin; i < run.end; ++i) {
                        if constexpr (Removed)
                            if (!live_[slots[i]]) continue;
                        raw[slots[i]] += c;
                    }
                } else {
                    std::uint32_t const tf = run.key - posting::cached_keys;
                    for (std::uint32_t i = begin; i < run.end; ++i) {
                        if constexpr (Removed)
                            if (!live_[slots[i]]) continue;
                        raw[slots[i]] += contribution(w, tf, norm(lengths_[slots[i]], avg_length));
                    }
                }
                begin = run.end;
            }
        };
        // The loop over the recent postings, with the liveness test only while a slot is removed.
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
            term_postings const& list = it->second;
            double const w = q.weight * idf(list);
            if (w <= 0) continue;
            mass += w;
            if (list.grouped) {
                if (removed_ != 0) add_runs.template operator()<true>(*list.grouped, w);
                else add_runs.template operator()<false>(*list.grouped, w);
            }
            std::uint64_t const stamp = ++t.stamp;
            if (removed_ != 0) add.template operator()<true>(list.recent, w, stamp);
            else add.template operator()<false>(list.recent, w, stamp);
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

    /// Slots `grouped_postings::slots[previous run's end, end)` have key `key`.
    struct key_run {
        std::uint32_t key;
        std::uint32_t end;
    };

    /// A term's postings grouped by key, so that a query computes each key's contribution
    /// once and then only adds it: `slots` in order of key, `runs` saying where each ends.
    struct grouped_postings {
        std::vector<std::uint32_t> slots;
        std::vector<key_run> runs;
    };

    /** A term's postings: those added since it was last regrouped in `recent`, in the
        order added, and the others in `grouped` (null until the term first regroups,
        which a rare term never does: it costs a null pointer more than a plain list). */
    struct term_postings {
        std::vector<posting> recent;
        std::unique_ptr<grouped_postings> grouped;

        term_postings() = default;
        term_postings(term_postings&&) noexcept = default;
        term_postings& operator=(term_postings&&) noexcept = default;
        term_postings(term_postings const& other)
            : recent(other.recent),
              grouped(other.grouped ? std::make_unique<grouped_postings>(*other.grouped) : nullptr) {}
        term_postings& operator=(term_postings const& other) {
            if (this != &other) *this = term_postings(other);
            return *this;
        }
        ~term_postings() = default;

        std::size_t grouped_size() const noexcept { return grouped ? grouped->slots.size() : 0; }
        std::size_t size() const noexcept { return recent.size() + grouped_size(); }
    };

    // A term regroups once it has this many recent postings, and they are at least an
    // eighth of its grouped ones: a regrouping moves at most nine postings per recent
    // one, so adding a posting costs about nine moves (amortised), and a query adds a
    // term's recent postings the slower way, through the tables: at most a ninth of
    // them once the term has 8 * 64 grouped ones, fewer than 64 before that.
    static constexpr std::size_t regroup_from = 64;
    static constexpr std::size_t regroup_share = 8;

    /// Merge `list.recent` into `list.grouped`, keys ascending (within a key, the grouped
    /// slots first, then the recent ones by slot).
    static void regroup(term_postings& list) {
        auto& recent = list.recent;
        std::ranges::sort(recent, [](posting const& a, posting const& b) {
            return a.key != b.key ? a.key < b.key : a.slot < b.slot;
        });
        auto merged = std::make_unique<grouped_postings>();
        merged->slots.reserve(list.size());
        grouped_postings const empty;
        grouped_postings const& old = list.grouped ? *list.grouped : empty;
        std::size_t r = 0, i = 0;
        std::uint32_t old_begin = 0;
        while (r < old.runs.size() || i < recent.size()) {
            std::uint32_t const key = r == old.runs.size()       ? recent[i].key
                                      : i == recent.size()       ? old.runs[r].key
                                                                 : std::min(old.runs[r].key, recent[i].key);
            if (r < old.runs.size() && old.runs[r].key == key) {
                merged->slots.insert(merged->slots.end(), old.slots.begin() + old_begin, old.slots.begin() + old.runs[r].end);
                old_begin = old.runs[r++].end;
            }
            for (; i < recent.size() && recent[i].key == key; ++i) merged->slots.push_back(recent[i].slot);
            merged->runs.push_back({key, static_cast<std::uint32_t>(merged->slots.size())});
        }
        list.grouped = std::move(merged);
        recent.clear();
    }

    double idf(term_postings const& list) const noexcept {
        // Until a slot is removed every posting is live, and the list's size is the count.
        std::size_t df = removed_ == 0 ? list.size() : 0;
        if (removed_ != 0) {
            for (auto const& p : list.recent) df += live_[p.slot] ? 1 : 0;
            if (list.grouped)
                for (auto const slot : list.grouped->slots) df += live_[slot] ? 1 : 0;
        }
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
    std::unordered_map<std::string, term_postings, term_hash, std::equal_to<>> postings_;
    std::vector<std::uint32_t> lengths_;
    std::vector<bool> live_;
    std::size_t total_length_ = 0;
    std::size_t live_count_ = 0;
    std::size_t removed_ = 0; // slots removed since `compact`: their postings are still listed
};

} // namespace persona::text

#endif
