#include <persona/api.hpp>

#include <catch2/catch.hpp>

TEST_CASE("requests default as API.md says") {
    persona::chunks_request const c;
    CHECK(c.top_k == 5);
    CHECK(c.workspace == "default");
    persona::summary_request const s;
    CHECK(s.purpose == "general");
    persona::delete_request const d;
    CHECK(d.scope == "global");
    CHECK(persona::register_response{}.status == "active");
    CHECK(std::size(persona::summary_purposes) == 8);
}
