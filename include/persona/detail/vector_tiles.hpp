#ifndef PERSONA_DETAIL_VECTOR_TILES_HPP
#define PERSONA_DETAIL_VECTOR_TILES_HPP

// Not API. A user's vectors in tiles of 64 rows stored dimension by dimension, and the
// kernels that score a tile against a query with the bits `detail::dot` returns.
//
// Why tiles: a tile holds dimension i of its 64 rows in 256 contiguous bytes, so
//   - one SIMD register holds one dimension of 16 (or 8) rows, and a tile is scored
//     with vertical adds only (no per-row horizontal fold of registers);
//   - a query that is zero in a dimension need not read that dimension at all. Hashed
//     features (hashing_embedder) leave most of a short query's dimensions zero: a
//     six-word turn touches about 40 of 256, so a scan reads about a sixth of the
//     matrix, where row-major storage reads every line of every row whatever the query.
//     64 rows rather than 16 make each visited dimension four adjacent cache lines,
//     which the hardware fetches together: 12 against 17 ns per row at 10k rows with
//     a 42-dimension query (docs/performance.md).
// The rows after the last whole tile (fewer than 64) stay row-major, so a user of a few
// chunks costs no padding; a dense query scores them with `dot`, a sparse one copies
// its dimensions of them into a scratch tile for the kernel.
//
// Skipping a zero of the query changes no bit: each partial sum starts at +0, and a sum
// of floats is -0 only when both operands are -0, so a partial sum is never -0; adding
// a product x * ±0 (±0 for finite x) to a sum other than -0 leaves it as it is. Tiles
// that were given a non-finite value (x * 0 would be NaN) are always scored densely.

#include <persona/detail/dot.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace persona::detail {

/// Rows per tile.
inline constexpr std::size_t tile_rows = 64;

/** The query dimensions a tile scan visits: all of them, or only the nonzero ones. */
struct tile_query {
    float const* values = nullptr;          ///< the query, `dim` floats
    std::size_t dim = 0;
    std::span<std::uint32_t const> nonzero; ///< ascending; empty when the scan is dense
    bool dense = true;                      ///< visit every dimension
};

/// The portable tile kernel: `out[r] = dot(row r, query)` for the 64 rows of `tile`, in
/// `dot`'s order (lane j of row r sums dimensions i = j mod 16 below the last whole
/// block of 16, lanes fold as a tree, the remaining dimensions add one by one).
inline void tile_dots_portable(float const* tile, float const* /*ahead*/, tile_query const& q, float* out) noexcept {
    std::size_t const whole = q.dim - q.dim % 16;
    float acc[16][tile_rows] = {};
    float tail[tile_rows] = {};
    auto const visit = [&](std::size_t i) {
        float const* line = tile + i * tile_rows;
        float const y = q.values[i];
        float* sum = i < whole ? acc[i % 16] : tail;
        for (std::size_t r = 0; r < tile_rows; ++r) sum[r] += line[r] * y;
    };
    if (q.dense)
        for (std::size_t i = 0; i < q.dim; ++i) visit(i);
    else
        for (auto const i : q.nonzero) visit(i);
    for (std::size_t step = 8; step >= 1; step /= 2)
        for (std::size_t j = 0; j < step; ++j)
            for (std::size_t r = 0; r < tile_rows; ++r) acc[j][r] += acc[j + step][r];
    for (std::size_t r = 0; r < tile_rows; ++r) out[r] = acc[0][r] + tail[r];
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PERSONA_DETAIL_TILE_DISPATCH 1

// Kernels for wider units than the build may target, chosen at run time by
// `tile_dots` (GCC and Clang compile a function for the unit its `target` names).
// Both visit the dimensions in ascending order, all groups of rows of a dimension
// together, with the 17 sums of each group (16 lanes and the tail) in memory: a dense
// scan then streams the tile from start to end. (Taking one group at a time with its
// sums in registers reads each 256-byte dimension in four passes, which the hardware
// prefetchers follow badly: 0.65 of the read loop at 1M rows against 0.9 this way.)

/// Prefetch the query's dimensions of tile `ahead` (see `tile_dots`).
__attribute__((always_inline)) inline void prefetch_tile(float const* ahead, tile_query const& q) noexcept {
    if (ahead == nullptr) return;
    for (auto const i : q.nonzero)
        for (std::size_t r = 0; r < tile_rows; r += 16) __builtin_prefetch(ahead + i * tile_rows + r);
}

// The AVX and AVX-512 kernels have the same shape on purpose: a kernel's unit is named
// in its `target` attribute, which a template parameter cannot supply, and GCC inlines
// an intrinsic only into a function compiled for the intrinsic's unit.

/// AVX: a group is 8 rows, one register per dimension. AVX has no FMA, so no product
/// is fused with its sum.
__attribute__((target("avx"))) inline void tile_dots_avx(float const* tile, float const* ahead, tile_query const& q,
                                                         float* out) noexcept {
    constexpr std::size_t groups = tile_rows / 8;
    std::size_t const whole = q.dim - q.dim % 16;
    __m256 acc[17][groups]; // lanes 0-15, then the tail
    for (auto& lane : acc)
        for (auto& a : lane) a = _mm256_setzero_ps();
    std::size_t const count = q.dense ? q.dim : q.nonzero.size();
    if (!q.dense) prefetch_tile(ahead, q);
    for (std::size_t k = 0; k < count; ++k) {
        std::size_t const i = q.dense ? k : q.nonzero[k];
        __m256 const y = _mm256_set1_ps(q.values[i]);
        auto& sum = acc[i < whole ? i % 16 : 16];
        for (std::size_t g = 0; g < groups; ++g)
            sum[g] = _mm256_add_ps(sum[g], _mm256_mul_ps(_mm256_loadu_ps(tile + i * tile_rows + g * 8), y));
    }
    for (std::size_t g = 0; g < groups; ++g) {
        for (std::size_t step = 8; step >= 1; step /= 2)
            for (std::size_t j = 0; j < step; ++j) acc[j][g] = _mm256_add_ps(acc[j][g], acc[j + step][g]);
        _mm256_storeu_ps(out + g * 8, _mm256_add_ps(acc[0][g], acc[16][g]));
    }
}

// The masked forms with every lane selected: GCC 12 warns (-Wuninitialized) inside the
// unmasked rounded forms, which start from an undefined register.
inline constexpr __mmask16 all_lanes = 0xFFFF;

/// `a + b`, rounded to nearest, never fused with a multiplication.
__attribute__((target("avx512f"))) inline __m512 add_rounded(__m512 a, __m512 b) noexcept {
    return _mm512_maskz_add_round_ps(all_lanes, a, b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// 16 floats from `line` times `y`, rounded to nearest, never fused with an addition.
__attribute__((target("avx512f"))) inline __m512 product_rounded(float const* line, __m512 y) noexcept {
    return _mm512_maskz_mul_round_ps(all_lanes, _mm512_loadu_ps(line), y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// AVX-512: a group is 16 rows, one register per dimension. AVX-512 has FMA, so
/// products and sums use the explicitly rounded forms, which a compiler never fuses
/// whatever -ffp-contract says.
__attribute__((target("avx512f"))) inline void tile_dots_avx512(float const* tile, float const* ahead,
                                                                tile_query const& q, float* out) noexcept {
    constexpr std::size_t groups = tile_rows / 16;
    std::size_t const whole = q.dim - q.dim % 16;
    __m512 acc[17][groups]; // lanes 0-15, then the tail
    for (auto& lane : acc)
        for (auto& a : lane) a = _mm512_setzero_ps();
    std::size_t const count = q.dense ? q.dim : q.nonzero.size();
    if (!q.dense) prefetch_tile(ahead, q);
    for (std::size_t k = 0; k < count; ++k) {
        std::size_t const i = q.dense ? k : q.nonzero[k];
        __m512 const y = _mm512_set1_ps(q.values[i]);
        auto& sum = acc[i < whole ? i % 16 : 16];
        for (std::size_t g = 0; g < groups; ++g)
            sum[g] = add_rounded(sum[g], product_rounded(tile + i * tile_rows + g * 16, y));
    }
    for (std::size_t g = 0; g < groups; ++g) {
        for (std::size_t step = 8; step >= 1; step /= 2)
            for (std::size_t j = 0; j < step; ++j) acc[j][g] = add_rounded(acc[j][g], acc[j + step][g]);
        _mm512_storeu_ps(out + g * 16, add_rounded(acc[0][g], acc[16][g]));
    }
}
#endif

/// A tile kernel.
using tile_kernel = void (*)(float const*, float const*, tile_query const&, float*) noexcept;

/// The widest tile kernel this CPU (and its operating system) supports.
inline tile_kernel select_tile_kernel() noexcept {
#if defined(PERSONA_DETAIL_TILE_DISPATCH)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return tile_dots_avx512;
    if (__builtin_cpu_supports("avx")) return tile_dots_avx;
#endif
    return tile_dots_portable;
}

/** `out[r] = dot(row r, query)` (as a float) for the 64 rows of `tile`, with the
    widest SIMD unit of the CPU it runs on. Every kernel gives the same bits.

    `ahead` is a tile a few tiles on (or null) whose query dimensions the SIMD kernels
    prefetch while they score this one, for a sparse query: its scan jumps from
    dimension to dimension, which the hardware prefetchers do not follow. A dense scan
    streams the tile from start to end, which they do follow; prefetching it too cost
    the AVX-512 kernel 11 to 22% of its speed over 256k to 1M rows on an AMD EPYC, and
    the flat scan about a tenth (docs/performance.md, "Twelfth step"). */
inline void tile_dots(float const* tile, float const* ahead, tile_query const& q, float* out) noexcept {
    static tile_kernel const kernel = select_tile_kernel();
    kernel(tile, ahead, q, out);
}

/** Rows of `dim` floats: whole tiles of `tile_rows` rows, each dimension-major, then
    the remaining rows row-major. */
class vector_tiles {
public:
    vector_tiles() = default;
    explicit vector_tiles(std::size_t dim) : dim_(dim) {}

    std::size_t dimension() const noexcept { return dim_; }
    /// Number of rows.
    std::size_t size() const noexcept { return full_tiles_ * tile_rows + tail_.size() / std::max<std::size_t>(dim_, 1); }
    /// Whether a non-finite value was ever appended (then scans are dense).
    bool has_non_finite() const noexcept { return non_finite_; }
    /// The largest magnitude of any finite value ever appended (a bound, also after removals).
    float max_magnitude() const noexcept { return max_magnitude_; }

    /// Append a row of `dimension()` floats.
    void append(std::span<float const> row) {
        for (std::size_t i = 0; i < dim_; ++i) {
            non_finite_ |= !std::isfinite(row[i]);
            if (std::isfinite(row[i])) max_magnitude_ = std::max(max_magnitude_, std::abs(row[i]));
        }
        tail_.insert(tail_.end(), row.begin(), row.begin() + static_cast<std::ptrdiff_t>(dim_));
        if (tail_.size() < tile_rows * dim_) return;
        // A whole tile: transpose the tail into it, at the end of the last block (a new
        // block, with room for as many tiles as there are before it, when that is full).
        std::size_t const tile_floats = tile_rows * dim_;
        auto const [block, index] = place_of(full_tiles_);
        if (block == blocks_.size()) {
            blocks_.emplace_back();
            blocks_.back().reserve((std::size_t{1} << block) * tile_floats);
        }
        blocks_[block].resize((index + 1) * tile_floats);
        float* t = blocks_[block].data() + index * tile_floats;
        for (std::size_t r = 0; r < tile_rows; ++r)
            for (std::size_t i = 0; i < dim_; ++i) t[i * tile_rows + r] = tail_[r * dim_ + i];
        ++full_tiles_;
        tail_.clear();
    }

    /// Copy row `s` into `out` (`dimension()` floats).
    void copy_row(std::size_t s, std::span<float> out) const noexcept {
        if (s >= full_tiles_ * tile_rows) {
            auto const row = tail_.begin() + static_cast<std::ptrdiff_t>((s - full_tiles_ * tile_rows) * dim_);
            std::copy(row, row + static_cast<std::ptrdiff_t>(dim_), out.begin());
            return;
        }
        float const* t = tile(s / tile_rows) + s % tile_rows;
        for (std::size_t i = 0; i < dim_; ++i) out[i] = t[i * tile_rows];
    }

    /// Every row, one after the other (`size() * dimension()` floats).
    std::vector<float> row_major() const {
        std::vector<float> out(size() * dim_);
        for (std::size_t s = 0; s < size(); ++s) copy_row(s, {out.data() + s * dim_, dim_});
        return out;
    }

    /// The query as a scan visits it: only its nonzero dimensions, unless more than
    /// half are nonzero or a non-finite value was stored. `nonzero` is the caller's buffer.
    tile_query prepare(std::span<float const> query, std::vector<std::uint32_t>& nonzero) const {
        tile_query q{query.data(), dim_, {}, true};
        if (non_finite_) return q;
        nonzero.clear();
        for (std::size_t i = 0; i < dim_; ++i)
            if (query[i] != 0.0f) nonzero.push_back(static_cast<std::uint32_t>(i));
        if (nonzero.size() * 2 > dim_) return q; // then the dense loop's register sums win
        q.nonzero = nonzero;
        q.dense = false;
        return q;
    }

    /** `out[r] = dot(row b * tile_rows + r, query)` for the rows of block `b` (rows
        `b * tile_rows` on, at most `tile_rows`): a whole tile through `tile_dots`,
        the row-major rest through `dot`, or for a sparse query through `tile_dots` on
        a scratch copy of the dimensions it visits. `out` has room for `tile_rows`. */
    void score_block(std::size_t b, tile_query const& q, float* out) const noexcept {
        if (b < full_tiles_) {
            constexpr std::size_t prefetch_distance = 2; // tiles: about 1.5 µs of sparse work ahead
            tile_dots(tile(b), b + prefetch_distance < full_tiles_ ? tile(b + prefetch_distance) : nullptr, q, out);
            return;
        }
        std::size_t const rows = tail_.size() / dim_;
        // A few rows cost less alone than copied into a whole tile of zeros.
        float* const t = q.dense || rows <= sparse_rows_alone ? nullptr : scratch_tile(tile_rows * dim_);
        if (t != nullptr) {
            // The query's dimensions of the rest, laid out as a tile in scratch space and
            // scored by the tile kernel: `sparse_dot` visits one row at a time with scalar
            // sums, and for a user of fewer than 64 chunks the rest is every row.
            for (auto const i : q.nonzero) {
                float* const line = t + i * tile_rows;
                for (std::size_t r = 0; r < rows; ++r) line[r] = tail_[r * dim_ + i];
                std::fill(line + rows, line + tile_rows, 0.0f);
            }
            tile_dots(t, nullptr, q, out);
            return;
        }
        std::span<float const> const query(q.values, dim_);
        for (std::size_t r = 0; r < rows; ++r)
            out[r] = q.dense ? static_cast<float>(dot({tail_.data() + r * dim_, dim_}, query))
                             : sparse_dot(tail_.data() + r * dim_, q);
    }

    /// Whether row `s` is in the row-major rest (not yet in a whole tile).
    bool in_rest(std::size_t s) const noexcept { return s >= full_tiles_ * tile_rows; }

    /// `dot(row s, query)` for a row of the row-major rest (`in_rest(s)`).
    float score_rest_row(std::size_t s, tile_query const& q) const noexcept {
        float const* row = tail_.data() + (s - full_tiles_ * tile_rows) * dim_;
        return q.dense ? static_cast<float>(dot({row, dim_}, {q.values, dim_})) : sparse_dot(row, q);
    }

    /** `dot(row s, query)` for any row, with the bits `score_block` gives it: for a few
        rows of a tile this reads each visited dimension's line of the row alone, where
        the tile kernel reads the lines of all 64 rows. (Like `sparse_dot` and the
        portable kernel, plain C++: a build contracting `a * b + c` into one rounding,
        which persona's do not, would differ from the AVX-512 kernel; see dot.hpp.) */
    float score_row(std::size_t s, tile_query const& q) const noexcept {
        if (in_rest(s)) return score_rest_row(s, q);
        float const* row = tile(s / tile_rows) + s % tile_rows;
        std::size_t const whole = q.dim - q.dim % 16;
        float lane[16] = {};
        float tail = 0;
        auto const visit = [&](std::size_t i) {
            float const product = row[i * tile_rows] * q.values[i];
            if (i < whole) lane[i % 16] += product;
            else tail += product;
        };
        if (q.dense)
            for (std::size_t i = 0; i < q.dim; ++i) visit(i);
        else
            for (auto const i : q.nonzero) visit(i);
        for (std::size_t step = 8; step >= 1; step /= 2)
            for (std::size_t j = 0; j < step; ++j) lane[j] += lane[j + step];
        return lane[0] + tail;
    }

    /** Ask the CPU to fetch what `score_row(s, q)` will read, for a sparse query: rows
        scored one at a time read a line per dimension from all over the tile, and a
        batch of rows asked for together arrives together instead of one miss at a time. */
    void prefetch_row(std::size_t s, tile_query const& q) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        if (q.dense || in_rest(s)) return;
        float const* row = tile(s / tile_rows) + s % tile_rows;
        for (auto const i : q.nonzero) __builtin_prefetch(row + i * tile_rows);
#else
        (void)s;
        (void)q;
#endif
    }

    /// `dot(row, query)` visiting only the query's nonzero dimensions, in `dot`'s order.
    static float sparse_dot(float const* row, tile_query const& q) noexcept {
        std::size_t const whole = q.dim - q.dim % 16;
        float lane[16] = {};
        float tail = 0;
        for (auto const i : q.nonzero) {
            if (i < whole) lane[i % 16] += row[i] * q.values[i];
            else tail += row[i] * q.values[i];
        }
        for (std::size_t step = 8; step >= 1; step /= 2)
            for (std::size_t j = 0; j < step; ++j) lane[j] += lane[j + step];
        return lane[0] + tail;
    }

private:
    /// Where tile `b` lives: block `k` holds tiles 2^k - 1 to 2^(k+1) - 2.
    static std::pair<std::size_t, std::size_t> place_of(std::size_t b) noexcept {
        std::size_t const block = static_cast<std::size_t>(std::bit_width(b + 1)) - 1;
        return {block, b + 1 - (std::size_t{1} << block)};
    }

    /// Tile `b`'s `tile_rows * dim_` floats.
    float const* tile(std::size_t b) const noexcept {
        auto const [block, index] = place_of(b);
        return blocks_[block].data() + index * tile_rows * dim_;
    }

    /// Up to this many rows of the rest, a sparse query scores them with `sparse_dot`:
    /// a scratch tile costs its 64 rows whatever the rest holds.
    static constexpr std::size_t sparse_rows_alone = 16;

    /// This thread's scratch tile, at least `floats` long. Only the dimensions a sparse
    /// query visits are written before each use, so it is never cleared.
    /// Null when it cannot be allocated (the caller then scores row by row).
    static float* scratch_tile(std::size_t floats) noexcept {
        thread_local std::vector<float> scratch;
        if (scratch.size() < floats) {
            try {
                scratch.resize(floats);
            } catch (...) {
                return nullptr;
            }
        }
        return scratch.data();
    }

    std::size_t dim_ = 0;
    std::size_t full_tiles_ = 0;
    bool non_finite_ = false;
    float max_magnitude_ = 0.0f;
    // The full_tiles_ tiles, dimension-major, in blocks of 1, 2, 4, 8... tiles, each
    // reserved whole when it is begun: growing adds a block and moves no tile. (One
    // array of every tile was copied whole each time its capacity doubled, 350 ms at
    // 131k rows of d = 256 with the user's lock held.) A scan still reads long runs of
    // contiguous tiles: the last block holds about half of them.
    std::vector<std::vector<float>> blocks_;
    std::vector<float> tail_;  // the rows after them, row-major
};

} // namespace persona::detail

#endif
