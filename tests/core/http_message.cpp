#include <persona/http_message.hpp>

#include <catch2/catch.hpp>

TEST_CASE("header fields are looked up case-insensitively, first one wins") {
    persona::http_request req{"GET", "/healthz", {{"X-Api-Key", "k1"}, {"x-api-key", "k2"}}, ""};
    CHECK(req.field("x-api-key") == "k1");
    CHECK(req.field("X-API-KEY") == "k1");
    CHECK(req.field("authorization").empty());
    persona::http_response resp{429, {{"Retry-After", "3"}}, "{}"};
    CHECK(resp.field("retry-after") == "3");
}
