// Built with -mavx (tests/CMakeLists.txt): the AVX path of detail::dot must return the
// bits of the portable path, as the SSE2 path does in the core tests.
#include <persona/detail/dot.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#if !defined(__AVX__)
#error "this test must be compiled with -mavx"
#endif

TEST_CASE("dot: the AVX path returns the scalar path's bits, at every length") {
    if (!__builtin_cpu_supports("avx")) {
        WARN("this CPU has no AVX: skipped");
        return;
    }
    std::mt19937_64 rng(3);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (std::size_t n = 0; n <= 300; ++n) {
        std::vector<float> a(n), b(n);
        for (auto& x : a) x = normal(rng) * (n % 2 ? 1000.0f : 0.01f);
        for (auto& x : b) x = normal(rng);
        INFO("length " << n);
        CHECK(std::bit_cast<std::uint64_t>(persona::detail::dot(a, b)) ==
              std::bit_cast<std::uint64_t>(persona::detail::dot_scalar(a, b)));
    }
}
