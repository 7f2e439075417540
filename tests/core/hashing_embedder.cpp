#include <persona/hashing_embedder.hpp>

#include <persona/testing/embedder_kit.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace {
double cosine(persona::hashing_embedder const& e, std::string_view a, std::string_view b) {
    std::vector<std::string_view> texts{a, b};
    std::vector<float> out(2 * e.dimension());
    REQUIRE(e.embed(texts, out));
    double s = 0;
    for (std::size_t j = 0; j < e.dimension(); ++j) s += static_cast<double>(out[j]) * out[e.dimension() + j];
    return s;
}
} // namespace

TEST_CASE("hashing_embedder passes the embedder kit at several dimensions") {
    for (std::size_t dim : {64u, 256u, 384u}) {
        auto const rep = persona::testing::check_embedder(persona::hashing_embedder(dim));
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
}

TEST_CASE("hashing_embedder: the dimension is the user's choice") {
    CHECK(persona::hashing_embedder().dimension() == 256);
    CHECK(persona::hashing_embedder(100).dimension() == 100);
    persona::hashing_embedder::options o;
    o.dimension = 32;
    CHECK(persona::hashing_embedder(o).dimension() == 32);
}

TEST_CASE("hashing_embedder: inflections and case share features, unrelated text does not") {
    persona::hashing_embedder const e(256);
    CHECK(cosine(e, "Scheduling meetings", "schedule a meeting") > 0.6);
    CHECK(cosine(e, "Café au lait", "cafe au lait") > 0.99);
    CHECK(std::abs(cosine(e, "quarterly budget review", "purple elephant dancing")) < 0.3);
}

TEST_CASE("hashing_embedder: two objects give bit-identical vectors") {
    persona::hashing_embedder const a(128), b(128);
    std::vector<std::string_view> texts{"Let's move stand-up to 2 PM starting next week."};
    std::vector<float> va(128), vb(128);
    REQUIRE(a.embed(texts, va));
    REQUIRE(b.embed(texts, vb));
    CHECK(va == vb);
}

TEST_CASE("hashing_embedder: a zero dimension is refused at construction") {
    CHECK_THROWS_AS(persona::hashing_embedder(0), std::invalid_argument);
}

TEST_CASE("hashing_embedder: texts analyzed beforehand embed to the same bits") {
    persona::hashing_embedder const e(256);
    std::vector<std::string_view> const texts{"Let's move stand-up to 2 PM starting next week.", "", "the a of",
                                              "Café au lait, running shoes and ran marathons"};
    std::vector<persona::text::analyzed_text> analyses;
    for (auto const t : texts) analyses.push_back(e.analyzer().analyze(t));
    std::vector<float> from_text(texts.size() * 256, -1.0f), from_terms(texts.size() * 256, -2.0f);
    REQUIRE(e.embed(texts, from_text));
    REQUIRE(e.embed_analyzed(analyses, from_terms));
    CHECK(from_text == from_terms);
    std::vector<float> small(255);
    auto const r = e.embed_analyzed(analyses, small);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == persona::errc::invalid_request);
}

TEST_CASE("hashing_embedder: a non-finite scale reaches every place, as a plain normalisation does") {
    // Only the nonzero places are summed and scaled; a zero scaled by NaN or infinity is
    // NaN, not zero, so those scales must still reach every place.
    std::vector<std::string_view> const texts{"coffee with the design team"};
    std::vector<float> out(16);

    auto const nan = std::numeric_limits<float>::quiet_NaN();
    persona::hashing_embedder const with_nan({.dimension = 16, .word_weight = nan, .bigram_weight = nan, .trigram_weight = nan});
    REQUIRE(with_nan.embed(texts, out));
    CHECK(std::ranges::all_of(out, [](float x) { return std::isnan(x); }));

    // Weights so small that the norm's inverse overflows a float: a feature's place
    // becomes ±infinity, and every other place 0 × infinity = NaN.
    persona::hashing_embedder const tiny({.dimension = 16, .word_weight = 1e-40f, .bigram_weight = 1e-40f, .trigram_weight = 1e-40f});
    REQUIRE(tiny.embed(texts, out));
    CHECK(std::ranges::none_of(out, [](float x) { return std::isfinite(x); }));
    CHECK(std::ranges::any_of(out, [](float x) { return std::isinf(x); }));
    CHECK(std::ranges::any_of(out, [](float x) { return std::isnan(x); }));
}
