#include <persona/flat_retriever.hpp>

#include <persona/hashing_embedder.hpp>
#include <persona/testing/retriever_kit.hpp>

#include <catch2/catch.hpp>

#include <random>

namespace {

persona::chunk make(std::string item, std::string text, persona::hashing_embedder const& e) {
    persona::chunk c;
    c.item_id = std::move(item);
    c.chunk_id = persona::make_chunk_id(c.item_id, persona::item_kind::event, 1);
    c.text = std::move(text);
    c.embedding.resize(e.dimension());
    std::vector<std::string_view> texts{c.text};
    REQUIRE(e.embed(texts, c.embedding));
    return c;
}

persona::search_query query(std::string text, persona::hashing_embedder const& e, std::size_t k = 5) {
    persona::search_query q;
    q.parts.push_back({text, 1.0});
    q.vector.resize(e.dimension());
    std::vector<std::string_view> texts{text};
    REQUIRE(e.embed(texts, q.vector));
    q.k = k;
    return q;
}

} // namespace

TEST_CASE("flat_retriever passes the retriever conformance kit") {
    persona::flat_retriever r;
    auto const rep = persona::testing::check_retriever(r);
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("flat_retriever fuses keywords and vectors into scores in [0, 1]") {
    persona::hashing_embedder const e(256);
    persona::flat_retriever r;
    persona::user_ref const u{"w", "u"};
    std::vector<persona::chunk> const chunks{make("a", "Ash prefers meetings after 1 PM.", e),
                                             make("b", "The quarterly report is due Friday.", e),
                                             make("c", "Lunch with Maya at the ramen place.", e)};
    REQUIRE(r.add(u, chunks));
    auto const hits = r.search(u, query("when are meetings preferred", e));
    REQUIRE(hits);
    REQUIRE_FALSE(hits->empty());
    CHECK(hits->front().chunk_id == "a#s1");
    for (auto const& h : *hits) CHECK((h.score > 0.0 && h.score <= 1.0));
    SECTION("a keyword the vector side barely sees still finds its chunk") {
        auto const ramen = r.search(u, query("ramen", e, 1));
        REQUIRE(ramen);
        REQUIRE(ramen->size() == 1);
        CHECK(ramen->front().chunk_id == "c#s1");
    }
}

TEST_CASE("flat_retriever rejects a batch with mixed embedding dimensions and changes nothing") {
    persona::flat_retriever r;
    persona::user_ref const u{"w", "u"};
    persona::chunk a, b;
    a.chunk_id = "a#s1";
    a.item_id = "a";
    a.text = "alpha";
    a.embedding = {1.0f, 0.0f};
    b = a;
    b.chunk_id = "b#s1";
    b.embedding = {1.0f, 0.0f, 0.0f};
    std::vector<persona::chunk> const batch{a, b};
    auto const res = r.add(u, batch);
    REQUIRE_FALSE(res);
    CHECK(res.error().code == persona::errc::invalid_request);
    CHECK(r.size(u) == 0);
}

TEST_CASE("flat_retriever: recency lifts newer chunks when the query asks about now") {
    persona::hashing_embedder const e(128);
    persona::flat_retriever r;
    persona::user_ref const u{"w", "u"};
    auto oldc = make("old", "My favourite editor is Vim.", e);
    auto newc = make("new", "My favourite editor is Helix.", e);
    oldc.time = std::chrono::sys_days{std::chrono::year{2024} / 1 / 1};
    newc.time = std::chrono::sys_days{std::chrono::year{2025} / 6 / 1};
    std::vector<persona::chunk> const batch{oldc, newc};
    REQUIRE(r.add(u, batch));
    auto q = query("favourite editor", e, 2);
    q.prefer_recent = true;
    auto const hits = r.search(u, q);
    REQUIRE(hits);
    REQUIRE(hits->size() == 2);
    CHECK(hits->front().chunk_id == "new#s1");
}

TEST_CASE("flat_retriever stays correct through many replacements (compaction)") {
    persona::hashing_embedder const e(64);
    persona::flat_retriever r;
    persona::user_ref const u{"w", "u"};
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
        int const id = static_cast<int>(rng() % 20);
        std::vector<std::string> const drop{"item" + std::to_string(id)};
        REQUIRE(r.remove_items(u, drop));
        std::vector<persona::chunk> const batch{make("item" + std::to_string(id), "round " + std::to_string(round) + " token" + std::to_string(id), e)};
        REQUIRE(r.add(u, batch));
    }
    CHECK(r.size(u) <= 20);
    auto const hits = r.search(u, query("token7", e, 20));
    REQUIRE(hits);
    std::size_t token7 = 0;
    for (auto const& h : *hits) token7 += h.chunk_id == "item7#s1" ? 1 : 0;
    CHECK(token7 == 1);
    CHECK(hits->front().chunk_id == "item7#s1");
}
