#include <persona/traits.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

namespace json = boost::json;

TEST_CASE("merge_traits deep-merges as API.md says") {
    json::object stored = json::parse(R"({"name":"Ash","prefs":{"tone":"concise","hours":[9,17]},"tags":["a","b"],"old":1})").as_object();
    json::object const patch = json::parse(R"({"prefs":{"hours":[10],"lang":"en"},"tags":["c"],"old":null,"tz":"PT"})").as_object();
    CHECK(persona::merge_traits(stored, patch));
    CHECK(stored == json::parse(R"({"name":"Ash","prefs":{"tone":"concise","hours":[10],"lang":"en"},"tags":["c"],"tz":"PT"})").as_object());
    SECTION("merging the same patch again changes nothing") { CHECK_FALSE(persona::merge_traits(stored, patch)); }
}

TEST_CASE("merge_traits: objects replace scalars, nulls inside new objects are dropped, removing a missing key is no change") {
    json::object stored = json::parse(R"({"prefs":"none"})").as_object();
    CHECK(persona::merge_traits(stored, json::parse(R"({"prefs":{"a":1,"b":null}})").as_object()));
    CHECK(stored == json::parse(R"({"prefs":{"a":1}})").as_object());
    CHECK_FALSE(persona::merge_traits(stored, json::parse(R"({"ghost":null})").as_object()));
    CHECK(persona::merge_traits(stored, json::parse(R"({"prefs":{"a":null}})").as_object()));
    CHECK(stored == json::parse(R"({"prefs":{}})").as_object());
}

TEST_CASE("flatten_traits gives dotted paths in key order") {
    auto const flat = persona::flatten_traits(json::parse(R"({"tz":"PT","prefs":{"tone":"concise","n":3},"tags":["a",1]})").as_object());
    REQUIRE(flat.size() == 4);
    CHECK(flat[0].path == "tz");
    CHECK(flat[0].value == "PT");
    CHECK(flat[1].path == "prefs.tone");
    CHECK(flat[2].value == "3");
    CHECK(flat[3].value == "a, 1");
}
