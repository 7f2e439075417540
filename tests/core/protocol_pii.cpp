#include <persona/protocol/pii.hpp>

#include <catch2/catch.hpp>

using persona::protocol::find_pii;

TEST_CASE("find_pii recognises emails, card numbers and SSNs") {
    CHECK(find_pii("write to ash.lewis+work@example.co.uk today") == "email address");
    CHECK(find_pii("card 4111 1111 1111 1111 exp 12/27") == "payment card number");
    CHECK(find_pii("card 4111-1111-1111-1111") == "payment card number");
    CHECK(find_pii("ssn 123-45-6789.") == "social security number");
}

TEST_CASE("find_pii leaves ordinary text alone") {
    CHECK_FALSE(find_pii("Let's move stand-up to 2 PM starting next week."));
    CHECK_FALSE(find_pii("Order 4111 1111 1111 1112 does not pass Luhn"));
    CHECK_FALSE(find_pii("ping @ash in #general"));
    CHECK_FALSE(find_pii("Meeting 2025-10-11 at 16:05, room 1234"));
    CHECK_FALSE(find_pii(""));
}
