#include <persona/detail/sparse_norm.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace persona;

namespace {
double plain_sum_of_squares(std::vector<float> const& v) {
    double n = 0;
    for (float x : v) n += static_cast<double>(x) * x;
    return n;
}

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }
} // namespace

TEST_CASE("sparse_norm: the nonzero places give the plain loop's bits") {
    std::mt19937_64 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> kind(0, 9);
    std::vector<std::uint32_t> buffer;
    for (std::size_t n = 0; n <= 300; ++n) {
        // Mostly zeros of both signs, as in a hashed embedding, with some values too small
        // for float's normal range and some too large for its square to fit a float.
        std::vector<float> v(n);
        for (auto& x : v) {
            int const k = kind(rng);
            x = k < 5 ? 0.0f
                : k < 7 ? -0.0f
                : k == 7 ? normal(rng) * std::numeric_limits<float>::denorm_min() * 1000
                : k == 8 ? normal(rng) * 1e30f
                         : normal(rng);
        }
        INFO("length " << n);
        auto const places = detail::nonzero_positions(v, buffer);
        for (std::size_t i = 0, p = 0; i < n; ++i) {
            bool const listed = p < places.size() && places[p] == i;
            CHECK(listed == (v[i] != 0.0f));
            p += listed ? 1 : 0;
        }
        CHECK(bits(detail::sum_of_squares(v, places)) == bits(plain_sum_of_squares(v)));
    }
}

TEST_CASE("sparse_norm: an all-zero vector has no places and a +0 sum") {
    std::vector<float> const v{0.0f, -0.0f, 0.0f};
    std::vector<std::uint32_t> buffer{9, 9, 9, 9}; // what a reused buffer holds is ignored
    auto const places = detail::nonzero_positions(v, buffer);
    CHECK(places.empty());
    CHECK(bits(detail::sum_of_squares(v, places)) == bits(0.0));
}

TEST_CASE("sparse_norm: a NaN is a nonzero place and poisons the sum as the plain loop does") {
    std::vector<float> const v{0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f};
    std::vector<std::uint32_t> buffer;
    auto const places = detail::nonzero_positions(v, buffer);
    REQUIRE(places.size() == 2);
    CHECK(places[0] == 1);
    CHECK(places[1] == 2);
    CHECK(std::isnan(detail::sum_of_squares(v, places)));
}
