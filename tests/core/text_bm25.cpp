#include <persona/text/bm25.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using persona::text::bm25_index;
using persona::text::weighted_term;

TEST_CASE("bm25_index ranks the document with the rarer matching term higher") {
    bm25_index idx;
    std::vector<std::string> const d0{"coffe", "morn", "meet"}, d1{"meet", "afternoon"}, d2{"meet", "agenda"};
    idx.add(0, d0);
    idx.add(1, d1);
    idx.add(2, d2);
    CHECK(idx.size() == 3);
    CHECK(idx.idf("coffe") > idx.idf("meet"));
    std::vector<weighted_term> const q{{"coffe", 1.0}, {"meet", 1.0}};
    std::vector<double> scores;
    REQUIRE(idx.normalized_scores(q, scores) > 0);
    CHECK(scores[0] > scores[1]);
    CHECK(scores[1] == Approx(scores[2]));
    for (double s : scores) CHECK((s >= 0.0 && s <= 1.0));
}

TEST_CASE("bm25_index: removed documents stop matching and compaction renumbers") {
    bm25_index idx;
    std::vector<std::string> const a{"alpha"}, b{"beta"}, c{"alpha", "gamma"};
    idx.add(0, a);
    idx.add(1, b);
    idx.add(2, c);
    idx.remove(0);
    CHECK(idx.size() == 2);
    std::vector<weighted_term> const q{{"alpha", 1.0}};
    std::vector<double> scores;
    idx.normalized_scores(q, scores);
    CHECK(scores[0] == 0.0);
    CHECK(scores[2] > 0.0);
    std::vector<std::int64_t> const renumber{-1, 0, 1};
    idx.compact(renumber);
    scores.clear();
    idx.normalized_scores(q, scores);
    REQUIRE(scores.size() >= 2);
    CHECK(scores[0] == 0.0);
    CHECK(scores[1] > 0.0);
}

TEST_CASE("bm25_index: unknown terms give no signal") {
    bm25_index idx;
    std::vector<std::string> const a{"alpha"};
    idx.add(0, a);
    std::vector<weighted_term> const q{{"zzz", 1.0}};
    std::vector<double> scores;
    CHECK(idx.normalized_scores(q, scores) == 0.0);
}

namespace {

/// Okapi BM25 of every live document, computed afresh posting by posting in the
/// expression the index uses, document frequencies included: the raw sums and the
/// query's idf mass.
struct okapi_expected {
    std::vector<double> raw;
    double mass = 0;
};

okapi_expected okapi(bm25_index const& idx, bm25_index::parameters p, std::vector<std::vector<std::string>> const& docs,
                     std::vector<bool> const& live, std::vector<weighted_term> const& query) {
    std::size_t total = 0, live_count = 0;
    for (std::size_t d = 0; d < docs.size(); ++d)
        if (live[d]) total += docs[d].size(), ++live_count;
    double const avg = static_cast<double>(total) / static_cast<double>(live_count);
    okapi_expected out{std::vector<double>(docs.size(), 0.0), 0};
    for (auto const& q : query) {
        std::size_t df = 0;
        for (std::size_t d = 0; d < docs.size(); ++d)
            df += live[d] && std::find(docs[d].begin(), docs[d].end(), q.term) != docs[d].end() ? 1 : 0;
        double const idf =
            df == 0 ? 0.0 : std::log(1.0 + (static_cast<double>(live_count) - df + 0.5) / (df + 0.5));
        CHECK(std::bit_cast<std::uint64_t>(idx.idf(q.term)) == std::bit_cast<std::uint64_t>(idf));
        double const w = q.weight * idf;
        if (w <= 0) continue;
        out.mass += w;
        for (std::size_t d = 0; d < docs.size(); ++d) {
            double const tf = static_cast<double>(std::count(docs[d].begin(), docs[d].end(), q.term));
            if (!live[d] || tf == 0) continue;
            double const norm = p.k1 * (1 - p.b + p.b * static_cast<double>(docs[d].size()) / std::max(avg, 1.0));
            out.raw[d] += w * tf * (p.k1 + 1) / (tf + norm);
        }
    }
    return out;
}

/// How many documents' normalised scores differ in any bit from `okapi`'s.
std::size_t okapi_mismatches(bm25_index const& idx, bm25_index::parameters p,
                             std::vector<std::vector<std::string>> const& docs, std::vector<bool> const& live,
                             std::vector<weighted_term> const& query) {
    auto const expected = okapi(idx, p, docs, live, query);
    std::vector<double> scores(docs.size(), 0.0); // documents past the highest slot added score 0
    double const mass = idx.normalized_scores(query, scores);
    std::size_t mismatches = std::bit_cast<std::uint64_t>(mass) != std::bit_cast<std::uint64_t>(expected.mass);
    for (std::size_t d = 0; d < docs.size(); ++d) {
        double const e = expected.raw[d] > 0 ? std::min(1.0, expected.raw[d] / expected.mass) : 0.0;
        mismatches += std::bit_cast<std::uint64_t>(scores[d]) != std::bit_cast<std::uint64_t>(e);
    }
    return mismatches;
}

} // namespace

TEST_CASE("bm25_index: scores have the bits of Okapi BM25 computed posting by posting") {
    // The index computes each (term frequency, length) contribution once per query term,
    // in a table whose entries belong to one term at a time; here every posting is
    // computed afresh, in the same expression. Frequencies 1 to 7 and lengths past 256
    // reach both the cached and the uncached keys; "r", "s" and "t" are in a few
    // documents each (three times in each of "s"'s). After a compaction, documents of
    // lengths no document had before are added, and one more is removed.
    std::mt19937_64 rng(3);
    char const* const vocabulary[] = {"a", "b", "c", "d", "e", "f"};
    bm25_index::parameters const p{};
    bm25_index idx(p);
    std::vector<std::vector<std::string>> docs;
    std::vector<bool> live;
    auto const add = [&](std::size_t d, std::size_t length) {
        std::vector<std::string> terms;
        for (std::size_t i = 0; i < length; ++i) terms.emplace_back(vocabulary[rng() % (d % 3 == 0 ? 2 : 6)]);
        if (d % 37 == 1) terms.emplace_back("r");
        if (d % 61 == 2) terms.insert(terms.end(), 3, "s");
        if (d % 29 == 3) terms.emplace_back("t");
        idx.add(static_cast<std::uint32_t>(d), terms);
        docs.push_back(std::move(terms));
        live.push_back(true);
    };
    for (std::size_t d = 0; d < 300; ++d) add(d, d % 50 == 7 ? 260 + d : 1 + rng() % 30);
    for (std::size_t const d : {5, 6, 100, 299, 38}) {
        idx.remove(static_cast<std::uint32_t>(d));
        live[d] = false;
    }
    std::vector<weighted_term> const query{{"a", 1.0}, {"c", 2.0}, {"f", 0.5}, {"zz", 1.0},
                                           {"r", 1.0}, {"s", 0.7}, {"t", 1.0}};
    CHECK(okapi_mismatches(idx, p, docs, live, query) == 0);

    // Not vacuous: every query term but "zz" is known and some documents score.
    for (auto const& q : query) CHECK((idx.idf(q.term) > 0) == (q.term != "zz"));
    std::vector<double> scores;
    double const mass = idx.normalized_scores(query, scores);
    CHECK(mass > 0);
    CHECK(std::count_if(scores.begin(), scores.end(), [](double x) { return x > 0; }) > 100);
    // Written rather than added: the same bits, over whatever the buffer held, and not
    // one value past the slots.
    REQUIRE(idx.slot_count() == docs.size());
    std::vector<double> written(docs.size() + 2, 7.0);
    REQUIRE(std::bit_cast<std::uint64_t>(idx.write_normalized_scores(query, written)) ==
            std::bit_cast<std::uint64_t>(mass));
    std::size_t written_mismatches = 0;
    for (std::size_t d = 0; d < docs.size(); ++d)
        written_mismatches += std::bit_cast<std::uint64_t>(written[d]) != std::bit_cast<std::uint64_t>(scores[d]);
    CHECK(written_mismatches == 0);
    CHECK(written[docs.size()] == 7.0);
    std::vector<weighted_term> const unknown{{"zz", 1.0}};
    CHECK(idx.write_normalized_scores(unknown, written) == 0);
    CHECK(std::count(written.begin(), written.begin() + static_cast<std::ptrdiff_t>(docs.size()), 0.0) ==
          static_cast<std::ptrdiff_t>(docs.size()));

    // Compacted (the removed documents dropped, the rest renumbered densely), then grown
    // by documents of lengths 31 to 45, most of which no document had before.
    std::vector<std::int64_t> renumber(docs.size(), -1);
    std::vector<std::vector<std::string>> kept;
    for (std::size_t d = 0; d < docs.size(); ++d)
        if (live[d]) {
            renumber[d] = static_cast<std::int64_t>(kept.size());
            kept.push_back(docs[d]);
        }
    idx.compact(renumber);
    docs = std::move(kept);
    live.assign(docs.size(), true);
    CHECK(okapi_mismatches(idx, p, docs, live, query) == 0);
    for (std::size_t d = docs.size(), end = docs.size() + 200; d < end; ++d) add(d, 31 + d % 15);
    idx.remove(3);
    live[3] = false;
    CHECK(okapi_mismatches(idx, p, docs, live, query) == 0);
}

TEST_CASE("bm25_index: postings grouped by key keep the bits, slots added in any order") {
    // A common term's postings are regrouped by (frequency, length) as they arrive, and a
    // query adds each group's one contribution; the rest stay in the order added. Slots
    // arrive shuffled, a few documents are longer than the tables (their group computes
    // each posting's length), and removals and a compaction fall between checks.
    std::mt19937_64 rng(11);
    bm25_index::parameters const p{0.9, 0.6};
    bm25_index idx(p);
    std::size_t const count = 1500;
    std::vector<std::vector<std::string>> docs(count);
    std::vector<bool> live(count, false);
    std::vector<std::uint32_t> order(count);
    for (std::uint32_t i = 0; i < count; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    char const* const vocabulary[] = {"a", "b", "c", "d", "e"};
    std::vector<weighted_term> const query{{"a", 1.0}, {"b", 0.5}, {"e", 2.0}, {"rare", 1.0}};
    std::size_t checks = 0;
    for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t const d = order[i];
        std::size_t const length = d % 97 == 5 ? 300 : 3 + rng() % 20;
        for (std::size_t j = 0; j < length; ++j) docs[d].emplace_back(vocabulary[rng() % 5]);
        if (d % 101 == 0) docs[d].emplace_back("rare");
        if (d % 500 == 3) docs[d].emplace_back("doomed"); // in three documents, removed before the compaction
        idx.add(d, docs[d]);
        live[d] = true;
        if (i % 100 == 99) {
            std::uint32_t const gone = order[rng() % (i + 1)];
            idx.remove(gone);
            live[gone] = false;
        }
        if (i % 250 == 249) {
            std::vector<std::vector<std::string>> seen(count);
            for (std::uint32_t s = 0; s < count; ++s)
                if (live[s]) seen[s] = docs[s];
            CHECK(okapi_mismatches(idx, p, seen, live, query) == 0);
            ++checks;
        }
    }
    REQUIRE(checks == 6);
    // Not vacuous: "a" is mostly grouped, with some recent postings; "rare" never regroups.
    CHECK(idx.grouped_count("a") > idx.posting_count("a") / 2);
    CHECK(idx.grouped_count("a") < idx.posting_count("a"));
    CHECK(idx.grouped_count("rare") == 0);
    CHECK(idx.posting_count("rare") > 10);

    for (std::uint32_t const d : {3U, 503U, 1003U}) {
        idx.remove(d);
        live[d] = false;
    }
    CHECK(idx.idf("doomed") == 0);
    CHECK(idx.posting_count("doomed") == 3);
    std::vector<std::int64_t> renumber(count, -1);
    std::vector<std::vector<std::string>> kept;
    for (std::size_t d = 0; d < count; ++d)
        if (live[d]) {
            renumber[d] = static_cast<std::int64_t>(kept.size());
            kept.push_back(docs[d]);
        }
    idx.compact(renumber);
    std::vector<bool> const all_live(kept.size(), true);
    CHECK(okapi_mismatches(idx, p, kept, all_live, query) == 0);
    CHECK(idx.grouped_count("a") == idx.posting_count("a")); // a compaction regroups everything
    CHECK(idx.posting_count("a") > 1000);
    CHECK(idx.posting_count("doomed") == 0); // every document with it was dropped
    // A copy scores the same, and owns its groups.
    bm25_index const copy = idx;
    idx.clear();
    CHECK(okapi_mismatches(copy, p, kept, all_live, query) == 0);
}

TEST_CASE("bm25_index: a document whose sum is not positive keeps the score it had, -0 included") {
    // Parameters are not validated: with b = 3 a document much shorter than the average
    // gets a negative contribution, and a NaN weight makes the mass NaN. Only a positive
    // sum adds anything.
    bm25_index idx({1.2, 3.0});
    std::vector<std::string> const short_doc{"alpha"}, long_doc{"alpha", "x", "y", "z", "w", "v", "u"};
    idx.add(0, short_doc);
    idx.add(1, long_doc);
    idx.add(2, std::vector<std::string>{"beta"});
    std::vector<double> scores{-0.0, -0.0, -0.0};
    std::vector<weighted_term> const q{{"alpha", 1.0}};
    REQUIRE(idx.normalized_scores(q, scores) > 0);
    CHECK(std::bit_cast<std::uint64_t>(scores[0]) == std::bit_cast<std::uint64_t>(-0.0)); // a negative sum adds nothing
    CHECK(scores[1] > 0);
    CHECK(std::bit_cast<std::uint64_t>(scores[2]) == std::bit_cast<std::uint64_t>(-0.0)); // no match: untouched
    std::vector<double> nan_scores(3, 0.0);
    std::vector<weighted_term> const nan_q{{"beta", std::numeric_limits<double>::quiet_NaN()}};
    idx.normalized_scores(nan_q, nan_scores);
    CHECK(nan_scores[0] == 0.0); // unmatched slots gain nothing from a NaN mass
    CHECK(nan_scores[1] == 0.0);
    // Written, the same values as added into zeros: +0 for a negative sum and for NaN.
    std::vector<double> written(3, -1.0);
    REQUIRE(idx.write_normalized_scores(q, written) > 0);
    CHECK(std::bit_cast<std::uint64_t>(written[0]) == std::bit_cast<std::uint64_t>(0.0));
    CHECK(written[1] > 0);
    CHECK(std::bit_cast<std::uint64_t>(written[2]) == std::bit_cast<std::uint64_t>(0.0));
    idx.write_normalized_scores(nan_q, written);
    CHECK(std::bit_cast<std::uint64_t>(written[1]) == std::bit_cast<std::uint64_t>(0.0));
    CHECK(std::bit_cast<std::uint64_t>(written[2]) == std::bit_cast<std::uint64_t>(0.0));
}
