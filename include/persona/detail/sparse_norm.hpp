#ifndef PERSONA_DETAIL_SPARSE_NORM_HPP
#define PERSONA_DETAIL_SPARSE_NORM_HPP

// Not API. The Euclidean norm of a mostly-zero vector (a hashed embedding, a short
// query's), with the bits of the plain loop over every element:
//
//     double n = 0;
//     for (float x : v) n += static_cast<double>(x) * x;
//
// Each addition waits for the one before (a chain of v.size() additions, ~770 cycles at
// d = 256), yet most of the terms are +0, and adding +0 to a sum that is +0 or positive
// changes no bit. So the nonzero positions are listed first (no branch per element),
// and the chain visits only them, in the same order. Callers then scale only those
// positions: a zero stays the zero it was under a finite factor (or a division by a
// positive number); a factor of NaN or infinity makes it NaN, and must reach every place.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace persona::detail {

/// The positions of `v`'s nonzero values, ascending (+0 and -0 are zero), in `buffer`.
inline std::span<std::uint32_t const> nonzero_positions(std::span<float const> v, std::vector<std::uint32_t>& buffer) {
    buffer.resize(v.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        buffer[count] = static_cast<std::uint32_t>(i);
        count += v[i] != 0.0f ? 1 : 0;
    }
    return {buffer.data(), count};
}

/// The sum of `static_cast<double>(v[i]) * v[i]` over `positions`, in their order: the
/// plain loop's bits when `positions` are all of `v`'s nonzero values, ascending.
inline double sum_of_squares(std::span<float const> v, std::span<std::uint32_t const> positions) noexcept {
    double n = 0;
    for (auto const i : positions) n += static_cast<double>(v[i]) * v[i];
    return n;
}

} // namespace persona::detail

#endif
