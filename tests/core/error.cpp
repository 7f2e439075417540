#include <persona/error.hpp>

#include <catch2/catch.hpp>

using persona::errc;

TEST_CASE("every errc has a wire code and the status of API.md's table") {
    struct row { errc e; char const* code; int status; };
    row const table[] = {
        {errc::invalid_request, "INVALID_REQUEST", 400}, {errc::pii_detected, "PII_DETECTED", 400},
        {errc::unauthorized, "UNAUTHORIZED", 401},       {errc::forbidden, "FORBIDDEN", 403},
        {errc::user_not_found, "USER_NOT_FOUND", 404},   {errc::not_found, "NOT_FOUND", 404},
        {errc::method_not_allowed, "METHOD_NOT_ALLOWED", 405}, {errc::payload_too_large, "PAYLOAD_TOO_LARGE", 413},
        {errc::rate_limited, "RATE_LIMITED", 429},       {errc::internal_error, "INTERNAL_ERROR", 500},
        {errc::unavailable, "UNAVAILABLE", 503},
    };
    for (auto const& r : table) {
        CHECK(persona::to_string(r.e) == r.code);
        CHECK(persona::http_status(r.e) == r.status);
        CHECK(persona::errc_from_string(r.code) == r.e);
    }
    CHECK(persona::errc_from_string("SOMETHING_ELSE") == errc::internal_error);
}

TEST_CASE("errc converts to a boost error_code of the persona category") {
    boost::system::error_code ec = errc::user_not_found;
    CHECK(ec.category().name() == std::string("persona"));
    CHECK(ec.message() == "USER_NOT_FOUND");
    CHECK(ec == errc::user_not_found);
}

TEST_CASE("result<T>::value() throws persona::exception carrying the error") {
    persona::result<int> r = persona::invalid_field("top_k", "top_k must be between 1 and 20");
    REQUIRE_FALSE(r);
    CHECK(r.error().details.at("field") == "top_k");
    try {
        (void)r.value();
        FAIL("value() did not throw");
    } catch (persona::exception const& e) {
        CHECK(e.code() == errc::invalid_request);
        CHECK(std::string(e.what()) == "INVALID_REQUEST: top_k must be between 1 and 20");
        CHECK(e.get_error().details.at("field") == "top_k");
    }
}

TEST_CASE("user_not_found names the user in message and details") {
    auto const e = persona::user_not_found("usr_42af7c");
    CHECK(e.code == errc::user_not_found);
    CHECK(e.message == "no user 'usr_42af7c' in this workspace");
    CHECK(e.details.at("user_id") == "usr_42af7c");
}
