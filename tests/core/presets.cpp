#include <persona/presets.hpp>

#include <catch2/catch.hpp>

TEST_CASE("basic_engine is the in-memory composition and is movable") {
    STATIC_REQUIRE(std::is_same_v<persona::basic_engine::store_type, persona::memory_store>);
    STATIC_REQUIRE(std::is_same_v<persona::basic_engine::retriever_type, persona::flat_retriever>);
    STATIC_REQUIRE(std::is_move_constructible_v<persona::basic_engine>);
    persona::basic_engine a;
    REQUIRE(a.register_user({.user_id = "u"}));
    persona::basic_engine b = std::move(a);
    CHECK(b.get_store().get_user({"default", "u"}).has_value());
}
