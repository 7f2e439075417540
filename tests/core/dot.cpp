#include <persona/detail/dot.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <random>
#include <vector>

using namespace persona;

namespace {
// Random vectors of every length from 0 to 300, with the magnitudes of unit vectors and
// of raw ones, so that rounding differs with the order of additions.
std::vector<std::vector<float>> random_vectors(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<std::vector<float>> out;
    for (std::size_t n = 0; n <= 300; ++n) {
        std::vector<float> v(n);
        float const scale = n % 3 == 0 ? 1000.0f : 1.0f / static_cast<float>(n + 1);
        for (auto& x : v) x = normal(rng) * scale;
        out.push_back(std::move(v));
    }
    return out;
}
} // namespace

TEST_CASE("dot: the SIMD path returns the scalar path's bits, at every length") {
    auto const a = random_vectors(1), b = random_vectors(2);
    for (std::size_t n = 0; n < a.size(); ++n) {
        INFO("length " << n);
        double const fast = detail::dot(a[n], b[n]);
        double const portable = detail::dot_scalar(a[n], b[n]);
        CHECK(std::bit_cast<std::uint64_t>(fast) == std::bit_cast<std::uint64_t>(portable));
    }
}

TEST_CASE("dot: the fixed order of additions") {
    // Exact in float: small integers.
    std::vector<float> a(37), b(37, 1.0f);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
    CHECK(detail::dot(a, b) == 666.0); // 0 + 1 + ... + 36
    CHECK(detail::dot(std::vector<float>{}, std::vector<float>{}) == 0.0);
    // Lane 0 holds 2^24 and lane 8 holds 1; 1 + 1 is added to lane 0 only after the lanes
    // are folded (j + 8 first), so the order is visible: sequential summation would give
    // 2^24 (each +1 lost), the fixed order gives 2^24 + 2.
    std::vector<float> big(32, 0.0f), ones(32, 1.0f);
    big[0] = 16777216.0f;
    big[8] = 1.0f;
    big[24] = 1.0f; // lane 8 again: lane 8 = 2
    CHECK(detail::dot(big, ones) == 16777218.0);
    CHECK(detail::dot_scalar(big, ones) == 16777218.0);
}
