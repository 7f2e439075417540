#include <persona/time.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono;

TEST_CASE("parse_timestamp accepts API.md's forms and normalises to UTC") {
    auto const expected = sys_days{year{2025} / 10 / 11} + hours{16} + minutes{5};
    CHECK(persona::parse_timestamp("2025-10-11T16:05:00Z") == expected);
    CHECK(persona::parse_timestamp("2025-10-11T16:05:00.123456Z") == expected);
    CHECK(persona::parse_timestamp("2025-10-11T16:05:00+00:00") == expected);
    CHECK(persona::parse_timestamp("2025-10-11T09:05:00-07:00") == expected);
    CHECK(persona::parse_timestamp("2025-10-11T18:05:00+0200") == expected);
    CHECK(persona::parse_timestamp("2025-10-11t16:05:00z") == expected);
    CHECK(persona::parse_timestamp("2025-10-11") == sys_days{year{2025} / 10 / 11});
}

TEST_CASE("parse_timestamp rejects what is not a timestamp") {
    for (auto const* bad : {"", "yesterday", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-10-11T24:00:00Z",
                            "2025-10-11T16:05:00", "2025-10-11T16:05Z", "2025-10-11T16:05:00.Z", "2025-10-11T16:05:00Zjunk",
                            "2025-10-11T16:05:00+25:00", "20251011T160500Z"})
        CHECK_FALSE(persona::parse_timestamp(bad).has_value());
}

TEST_CASE("format_timestamp emits second precision with Z, and human dates read well") {
    auto const t = sys_days{year{2025} / 1 / 2} + hours{3} + minutes{4} + seconds{5};
    CHECK(persona::format_timestamp(t) == "2025-01-02T03:04:05Z");
    CHECK(persona::parse_timestamp(persona::format_timestamp(t)) == t);
    CHECK(persona::format_human_date(t) == "2 January 2025");
}
