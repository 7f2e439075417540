#include <persona/text/bm25.hpp>

#include <catch2/catch.hpp>

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
