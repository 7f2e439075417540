#include <persona/eval/metrics.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace persona;
using namespace persona::eval;

TEST_CASE("ranked_items maps chunks to items by the part before the last #, each once, in rank order") {
    std::vector<chunk_result> const r{{"D1:3#s2", "", 0.9}, {"D1:4#s1", "", 0.8}, {"D1:3#s1", "", 0.7},
                                      {"doc#7#p1", "", 0.6}, {"plain", "", 0.5}};
    CHECK(ranked_items(r) == std::vector<std::string>{"D1:3", "D1:4", "doc#7", "plain"});
    CHECK(ranked_items({}).empty());
}

TEST_CASE("evidence recall@k is the share of the gold items in the first k, and no evidence counts 1") {
    std::vector<std::string> const ranked{"e3", "e1", "e9", "e2"};
    std::vector<std::string> const two{"e1", "e2"};
    CHECK(evidence_recall(ranked, two, 1) == 0.0);
    CHECK(evidence_recall(ranked, two, 2) == 0.5);
    CHECK(evidence_recall(ranked, two, 3) == 0.5);
    CHECK(evidence_recall(ranked, two, 4) == 1.0);
    CHECK(evidence_recall(ranked, two, 50) == 1.0); // fewer results than k is fine
    CHECK(evidence_recall(ranked, {}, 1) == 1.0);
    CHECK(evidence_recall({}, {}, 5) == 1.0);
    CHECK(evidence_recall({}, two, 5) == 0.0);
}

TEST_CASE("answers are normalised as LoCoMo does") {
    CHECK(normalize_answer("The Beagle, and a cat!") == "beagle cat");
    CHECK(normalize_answer("  7 May,\t2023.  ") == "7 may 2023");
    CHECK(normalize_answer("An apple; THE end") == "apple end");
    CHECK(normalize_answer("theme andes another") == "theme andes another"); // whole words only
    CHECK(normalize_answer("Caroline's \"LGBTQ\" group") == "carolines lgbtq group");
    CHECK(normalize_answer("Ÿ CAFÉ\u00a0Öl") == "ÿ café öl"); // Unicode lower-casing and spaces
    CHECK(normalize_answer("a an the and , .").empty());
    CHECK(answer_tokens("Running the races") == std::vector<std::string>{"run", "race"});
}

TEST_CASE("token F1 compares stemmed token multisets") {
    CHECK(token_f1("a jazz teacher", "A Jazz teacher.") == 1.0);
    // prediction {jazz, teacher, sam}, gold {jazz, teacher}: P = 2/3, R = 1.
    CHECK(token_f1("jazz teacher Sam", "a jazz teacher") == Approx(0.8));
    // Multisets: one shared "paris" although the prediction says it twice.
    CHECK(token_f1("paris paris", "paris london") == Approx(0.5));
    CHECK(token_f1("teachers", "teacher") == 1.0); // stemmed
    CHECK(token_f1("nothing shared", "Friday") == 0.0);
    CHECK(token_f1("", "Friday") == 0.0);
    CHECK(token_f1("Friday", "") == 0.0);
}

TEST_CASE("LoCoMo's category rules: multi-hop splits at commas, open-domain keeps what precedes a semicolon") {
    // gold parts "fetch" and "lake tahoe"; the best predicted part for each: 0.4 and 2/3.
    CHECK(locomo_f1("Biscuit learned to fetch, kayaking on Lake Tahoe", "fetch, Lake Tahoe", "1") ==
          Approx((0.4 + 2.0 / 3.0) / 2));
    CHECK(locomo_f1("psychology", "psychology; counseling", "3") == 1.0);
    CHECK(locomo_f1("psychology", "psychology; counseling", "4") == Approx(2.0 / 3.0));
    // Text categories (PrefEval) are plain token F1 whatever their name.
    CHECK(locomo_f1("psychology", "psychology; counseling", "3", false) == Approx(2.0 / 3.0));
}

TEST_CASE("percentiles by nearest rank") {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);
    CHECK(percentile(v, 50) == 50);
    CHECK(percentile(v, 95) == 95);
    CHECK(percentile(v, 99) == 99);
    CHECK(percentile({7.0}, 99) == 7);
    CHECK(percentile({}, 50) == 0);
    CHECK(percentile({1.0, 2.0, 3.0}, 50) == 2);
}

TEST_CASE("category means: categories in numeric then text order, and all is the mean over questions") {
    category_means m;
    CHECK(m.empty());
    CHECK(m.rows().empty());
    m.add("10", 1.0);
    m.add("explicit", 0.0);
    m.add("2", 1.0);
    m.add("2", 0.0);
    auto const rows = m.rows();
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] == category_mean{"2", 2, 0.5});
    CHECK(rows[1] == category_mean{"10", 1, 1.0});
    CHECK(rows[2] == category_mean{"explicit", 1, 0.0});
    CHECK(rows[3] == category_mean{"all", 4, 0.5});
}
