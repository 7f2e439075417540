#ifndef PERSONA_TEXT_HASH_HPP
#define PERSONA_TEXT_HASH_HPP

/// @file
/// Platform-independent 64-bit hashing for content ids and feature hashing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace persona::text {

/// The FNV-1a 64-bit offset basis, the default seed of `fnv1a_64`.
inline constexpr std::uint64_t fnv1a_64_offset_basis = 14695981039346656037ULL;

/** Return the FNV-1a 64-bit hash of the bytes of `s`.

    Unlike `std::hash`, the result is the same on every platform, compiler
    and run, so it may be persisted (content ids) or used to hash features.

    @param s The bytes to hash.
    @param seed The initial state; chaining `fnv1a_64(b, fnv1a_64(a))` hashes
    the concatenation of `a` and `b`.
    @return The hash.

    @par Complexity
    Linear in `s.size()`.
*/
constexpr std::uint64_t fnv1a_64(std::string_view s,
                                 std::uint64_t seed = fnv1a_64_offset_basis) noexcept {
    constexpr std::uint64_t prime = 1099511628211ULL;
    std::uint64_t h = seed;
    for (char c : s) {
        // Go through unsigned char so the result does not depend on char signedness.
        h ^= static_cast<std::uint64_t>(static_cast<unsigned char>(c));
        h *= prime;
    }
    return h;
}

/** Return the splitmix64 finalizer of `x`.

    FNV-1a mixes its low bits poorly; passing its result through this
    bijective avalanche step makes every output bit depend on every input bit,
    which matters when the hash is reduced modulo a small bucket count.

    @param x The value to mix.
    @return The mixed value; `mix64` is a bijection on 64-bit integers.

    @par Complexity
    Constant.
*/
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/** Return `v` as exactly 16 lower-case hexadecimal digits, most significant first.

    @param v The value to format.
    @return A 16-character string such as `"00000000000000ff"`.

    @par Complexity
    Constant.
*/
inline std::string hex64(std::uint64_t v) {
    constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (std::size_t i = 16; i-- > 0;) {
        out[i] = digits[v & 0xfU];
        v >>= 4;
    }
    return out;
}

} // namespace persona::text

#endif
