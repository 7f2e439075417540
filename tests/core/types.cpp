#include <persona/types.hpp>

#include <catch2/catch.hpp>

TEST_CASE("chunk ids are <item id>#s<n> for events and #p<n> for documents") {
    CHECK(persona::make_chunk_id("evt_1", persona::item_kind::event, 1) == "evt_1#s1");
    CHECK(persona::make_chunk_id("doc_7", persona::item_kind::document, 12) == "doc_7#p12");
    CHECK(persona::item_id_of("doc_7#p12") == "doc_7");
    CHECK(persona::item_id_of("D1:3#s1") == "D1:3");
    CHECK(persona::item_id_of("plain") == "plain");
}

TEST_CASE("user_ref orders by workspace then user id") {
    persona::user_ref const a{"a", "z"}, b{"b", "a"};
    CHECK(a < b);
    CHECK(persona::user_ref{}.workspace == "default");
}
