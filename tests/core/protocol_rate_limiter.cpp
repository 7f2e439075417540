#include <persona/protocol/rate_limiter.hpp>

#include <catch2/catch.hpp>

#include <memory>

using namespace std::chrono;

TEST_CASE("rate_limiter: a fixed window per key, reset at the minute") {
    auto now = std::make_shared<persona::timestamp>(sys_days{year{2025} / 10 / 11} + hours{16} + minutes{5} + seconds{20});
    persona::protocol::rate_limiter limiter(3, [now] { return *now; });
    CHECK(limiter.enabled());
    for (int i = 0; i < 3; ++i) {
        auto const d = limiter.check("k1");
        CHECK(d.allowed);
        CHECK(d.remaining == static_cast<std::uint64_t>(2 - i));
        CHECK(persona::format_timestamp(d.reset) == "2025-10-11T16:06:00Z");
    }
    auto const refused = limiter.check("k1");
    CHECK_FALSE(refused.allowed);
    CHECK(refused.retry_after == 40);
    CHECK(limiter.check("k2").allowed); // another key has its own quota
    *now += seconds(40);
    CHECK(limiter.check("k1").allowed); // a new window
}

TEST_CASE("rate_limiter with 0 per minute is off") { CHECK_FALSE(persona::protocol::rate_limiter(0).enabled()); }
