#ifndef PERSONA_DETAIL_DOT_HPP
#define PERSONA_DETAIL_DOT_HPP

// Not API. The dot product every persona retriever scores vectors with, in one fixed
// order of float operations, so that the SIMD path the compiler targets and the
// portable scalar path return the same bits.
//
// The order: 16 partial sums, lane j adding a[i] * b[i] for every i = j (mod 16) in the
// whole blocks of 16; the lanes folded pairwise as a tree (j + 8, then j + 4, j + 2,
// j + 1); the products of the last n % 16 elements added one by one to a second sum;
// the two sums added. Sixteen independent sums keep four SSE (or two AVX) adders busy:
// with one accumulator each addition waits for the previous one (about one float per
// cycle, docs/performance.md).
//
// Multiplications and additions stay separate: a build that lets the compiler fuse
// them (-mfma with -ffp-contract=fast, GCC's default) may round differently on each
// path; persona's builds target no FMA.

#include <cstddef>
#include <span>

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace persona::detail {

/// The portable path of `dot`: the same order of operations, in plain C++.
inline double dot_scalar(std::span<float const> a, std::span<float const> b) noexcept {
    std::size_t const n = a.size() < b.size() ? a.size() : b.size();
    std::size_t const whole = n - n % 16;
    float lane[16] = {};
    for (std::size_t i = 0; i < whole; i += 16)
        for (std::size_t j = 0; j < 16; ++j) lane[j] += a[i + j] * b[i + j];
    for (std::size_t step = 8; step >= 1; step /= 2)
        for (std::size_t j = 0; j < step; ++j) lane[j] += lane[j + step];
    float tail = 0;
    for (std::size_t i = whole; i < n; ++i) tail += a[i] * b[i];
    return static_cast<double>(lane[0] + tail);
}

/// Dot product of two float spans (of their common length), in the fixed order above.
inline double dot(std::span<float const> a, std::span<float const> b) noexcept {
#if defined(__AVX__) || defined(__SSE2__)
    std::size_t const n = a.size() < b.size() ? a.size() : b.size();
    std::size_t const whole = n - n % 16;
    float const* x = a.data();
    float const* y = b.data();
#if defined(__AVX__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(); // lanes 0-7, 8-15
    for (std::size_t i = 0; i < whole; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_mul_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        s1 = _mm256_add_ps(s1, _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    __m256 const eight = _mm256_add_ps(s0, s1);                                                  // j + 8
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1)); // j + 4
#else
    __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps(), s2 = _mm_setzero_ps(), s3 = _mm_setzero_ps();
    for (std::size_t i = 0; i < whole; i += 16) {
        s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
        s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(x + i + 4), _mm_loadu_ps(y + i + 4)));
        s2 = _mm_add_ps(s2, _mm_mul_ps(_mm_loadu_ps(x + i + 8), _mm_loadu_ps(y + i + 8)));
        s3 = _mm_add_ps(s3, _mm_mul_ps(_mm_loadu_ps(x + i + 12), _mm_loadu_ps(y + i + 12)));
    }
    __m128 four = _mm_add_ps(_mm_add_ps(s0, s2), _mm_add_ps(s1, s3)); // j + 8, then j + 4
#endif
    __m128 const two = _mm_add_ps(four, _mm_movehl_ps(four, four));         // j + 2
    __m128 const one = _mm_add_ss(two, _mm_shuffle_ps(two, two, 0x55));    // j + 1
    float tail = 0;
    for (std::size_t i = whole; i < n; ++i) tail += x[i] * y[i];
    return static_cast<double>(_mm_cvtss_f32(one) + tail);
#else
    return dot_scalar(a, b);
#endif
}

} // namespace persona::detail

#endif
