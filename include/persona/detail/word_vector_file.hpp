#ifndef PERSONA_DETAIL_WORD_VECTOR_FILE_HPP
#define PERSONA_DETAIL_WORD_VECTOR_FILE_HPP

// Not API. The in-memory table of `word_vectors` and the file it is read from and
// written to (docs/word-vectors.md is the reference; scripts/word-vectors.sh writes it):
//
//   header, 64 bytes: magic "\x89PVEC\r\n\x1a"  u32 version = 1  u32 dimension  u32 count
//                     u32 encoding = 1 (int8 codes, float32 scale per row)
//                     u64 strings_size  u64 file_size  u32 crc32 of bytes [64, file_size)
//                     20 zero bytes
//   u32 offsets[count + 1]    word i is strings[offsets[i], offsets[i+1]); sorted by bytes
//   u32 ranks[count]          frequency rank in the source vocabulary (0 = most frequent)
//   f32 norms[count]          L2 norm of the source vector
//   f32 scales[count]         codes[i] * scales[i] is word i's unit direction
//   i8  codes[count * dimension]
//   u8  strings[strings_size]
//
// Little-endian. Each section is read straight into a typed vector (no copy, no aliasing
// tricks), the CRC-32 is the one of zlib, gzip and PNG so any tool can check it, and every
// count is checked against the file size before anything is allocated: a torn, foreign
// or hostile file is an error, never a crash or a huge allocation.

#include <persona/error.hpp>
#include <persona/text/hash.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace persona::detail {

inline constexpr std::array<unsigned char, 8> word_vector_magic{0x89, 'P', 'V', 'E', 'C', '\r', '\n', 0x1a};
inline constexpr std::uint32_t word_vector_version = 1;
inline constexpr std::uint32_t word_vector_encoding_int8 = 1;
inline constexpr std::size_t word_vector_header_size = 64;
inline constexpr std::uint32_t word_vector_max_dimension = 65536;

// CRC-32 (IEEE 802.3, reflected, as zlib.crc32), eight bytes per step ("slicing-by-8"):
// about 2 GB/s, so checking a 40 MB file costs ~20 ms of its load.
struct crc32_tables {
    std::uint32_t t[8][256];
};

constexpr crc32_tables make_crc32_tables() noexcept {
    crc32_tables r{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int b = 0; b < 8; ++b) c = (c & 1U) ? 0xedb88320U ^ (c >> 1) : c >> 1;
        r.t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k)
        for (std::uint32_t i = 0; i < 256; ++i) r.t[k][i] = (r.t[k - 1][i] >> 8) ^ r.t[0][r.t[k - 1][i] & 0xffU];
    return r;
}

inline constexpr crc32_tables crc32_table = make_crc32_tables();

/// Continue a CRC-32 with `n` more bytes; start from 0.
inline std::uint32_t crc32_update(std::uint32_t crc, void const* data, std::size_t n) noexcept {
    auto const& t = crc32_table.t;
    auto const* p = static_cast<unsigned char const*>(data);
    crc = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        std::uint32_t const lo = (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
                                  std::uint32_t(p[3]) << 24) ^ crc;
        std::uint32_t const hi =
            std::uint32_t(p[4]) | std::uint32_t(p[5]) << 8 | std::uint32_t(p[6]) << 16 | std::uint32_t(p[7]) << 24;
        crc = t[7][lo & 0xffU] ^ t[6][(lo >> 8) & 0xffU] ^ t[5][(lo >> 16) & 0xffU] ^ t[4][lo >> 24] ^
              t[3][hi & 0xffU] ^ t[2][(hi >> 8) & 0xffU] ^ t[1][(hi >> 16) & 0xffU] ^ t[0][hi >> 24];
    }
    for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xffU] ^ (crc >> 8);
    return ~crc;
}

/// The loaded vectors; immutable once `index()` has run, shared by every handle.
struct word_vector_table {
    std::uint32_t dimension = 0;
    std::vector<std::uint32_t> offsets{0};
    std::vector<std::uint32_t> ranks;
    std::vector<float> norms;
    std::vector<float> scales;
    std::vector<std::int8_t> codes;
    std::string strings;
    std::vector<std::uint32_t> slots; // open addressing: word index + 1, 0 = empty
    std::uint64_t vocabulary = 0;     // max rank + 1: the size of the source vocabulary

    std::size_t size() const noexcept { return ranks.size(); }

    std::string_view word(std::size_t i) const noexcept {
        return std::string_view(strings).substr(offsets[i], offsets[i + 1] - offsets[i]);
    }

    static std::uint64_t hash(std::string_view w) noexcept { return text::mix64(text::fnv1a_64(w)); }

    // A hash table over the sorted words: one probe or two per lookup instead of the
    // ~19 cache-missing comparisons of a binary search over 300k words.
    void index() {
        std::size_t const n = size();
        std::size_t const capacity = std::bit_ceil(std::max<std::size_t>(16, 2 * n));
        slots.assign(capacity, 0);
        std::size_t const mask = capacity - 1;
        vocabulary = 0;
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t s = hash(word(i)) & mask;
            while (slots[s] != 0) s = (s + 1) & mask;
            slots[s] = static_cast<std::uint32_t>(i + 1);
            vocabulary = std::max<std::uint64_t>(vocabulary, std::uint64_t(ranks[i]) + 1);
        }
    }

    /// The index of `w`, or `size()` when absent.
    std::size_t find(std::string_view w) const noexcept {
        if (slots.empty()) return size();
        std::size_t const mask = slots.size() - 1;
        for (std::size_t s = hash(w) & mask;; s = (s + 1) & mask) {
            std::uint32_t const e = slots[s];
            if (e == 0) return size();
            if (word(e - 1) == w) return e - 1;
        }
    }

    std::size_t memory_bytes() const noexcept {
        return offsets.capacity() * 4 + ranks.capacity() * 4 + norms.capacity() * 4 + scales.capacity() * 4 +
               codes.capacity() + strings.capacity() + slots.capacity() * 4 + sizeof(*this);
    }
};

inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}
inline void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
}
inline std::uint32_t get_u32(unsigned char const* p) noexcept {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint64_t get_u64(unsigned char const* p) noexcept {
    return std::uint64_t(get_u32(p)) | std::uint64_t(get_u32(p + 4)) << 32;
}

/// The size a file with these counts must have (saturating, so a hostile header cannot wrap it).
inline std::uint64_t word_vector_file_size(std::uint64_t count, std::uint64_t dimension,
                                           std::uint64_t strings_size) noexcept {
    std::uint64_t const big = std::uint64_t(1) << 62;
    if (count >= big / (16 + dimension) || strings_size >= big) return std::numeric_limits<std::uint64_t>::max();
    return word_vector_header_size + 4 * (count + 1) + 12 * count + count * dimension + strings_size;
}

/// The sections in file order, as byte ranges of the table's vectors.
template <class Table, class F>
void for_each_section(Table& t, F&& f) {
    f(t.offsets.data(), t.offsets.size() * 4);
    f(t.ranks.data(), t.ranks.size() * 4);
    f(t.norms.data(), t.norms.size() * 4);
    f(t.scales.data(), t.scales.size() * 4);
    f(t.codes.data(), t.codes.size());
    f(t.strings.data(), t.strings.size());
}

/** Read and check a word vector file.

    @returns `errc::not_found` (missing), `errc::internal_error` (unreadable, not such a
    file, truncated, corrupt), `errc::invalid_request` (another version or encoding).
*/
inline result<word_vector_table> read_word_vector_file(std::filesystem::path const& file, bool verify_checksum) {
    std::string const name = "word vector file '" + file.string() + "'";
    if constexpr (std::endian::native != std::endian::little)
        return make_error(errc::internal_error, name + ": reading it needs a little-endian host");
    std::error_code ec;
    auto const status = std::filesystem::status(file, ec);
    if (status.type() == std::filesystem::file_type::not_found)
        return make_error(errc::not_found, name + " does not exist");
    if (ec) return make_error(errc::internal_error, name + " cannot be examined: " + ec.message());
    if (status.type() != std::filesystem::file_type::regular)
        return make_error(errc::internal_error, name + " is not a regular file");
    std::uint64_t const actual_size = std::filesystem::file_size(file, ec);
    if (ec) return make_error(errc::internal_error, name + " cannot be examined: " + ec.message());
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(errc::internal_error, name + " cannot be opened");

    std::array<unsigned char, word_vector_header_size> h{};
    in.read(reinterpret_cast<char*>(h.data()), h.size());
    auto const got = static_cast<std::size_t>(in.gcount());
    if (std::memcmp(h.data(), word_vector_magic.data(), std::min(got, word_vector_magic.size())) != 0)
        return make_error(errc::internal_error, name + " is not a persona word vector file");
    if (got < h.size()) return make_error(errc::internal_error, name + " is truncated (no complete header)");
    std::uint32_t const version = get_u32(&h[8]);
    std::uint32_t const dimension = get_u32(&h[12]);
    std::uint32_t const count = get_u32(&h[16]);
    std::uint32_t const encoding = get_u32(&h[20]);
    std::uint64_t const strings_size = get_u64(&h[24]);
    std::uint64_t const file_size = get_u64(&h[32]);
    std::uint32_t const crc = get_u32(&h[40]);
    if (version != word_vector_version)
        return make_error(errc::invalid_request, name + " has version " + std::to_string(version) +
                                                     "; this persona reads version " +
                                                     std::to_string(word_vector_version));
    if (encoding != word_vector_encoding_int8)
        return make_error(errc::invalid_request,
                          name + " has encoding " + std::to_string(encoding) + "; this persona reads encoding 1 (int8)");
    bool const reserved_zero = std::all_of(h.begin() + 44, h.end(), [](unsigned char c) { return c == 0; });
    if (!reserved_zero || dimension == 0 || dimension > word_vector_max_dimension || count >= 0x7fffffffU ||
        strings_size > 0xffffffffU || file_size != word_vector_file_size(count, dimension, strings_size))
        return make_error(errc::internal_error, name + " has a malformed header");
    if (actual_size < file_size)
        return make_error(errc::internal_error, name + " is truncated (" + std::to_string(actual_size) + " of " +
                                                     std::to_string(file_size) + " bytes)");
    if (actual_size > file_size)
        return make_error(errc::internal_error, name + " has " + std::to_string(actual_size - file_size) +
                                                     " bytes after its end");

    word_vector_table t;
    t.dimension = dimension;
    t.offsets.resize(std::size_t(count) + 1);
    t.ranks.resize(count);
    t.norms.resize(count);
    t.scales.resize(count);
    t.codes.resize(std::size_t(count) * dimension);
    t.strings.resize(strings_size);
    bool read_ok = true;
    std::uint32_t sum = 0;
    for_each_section(t, [&](void* p, std::size_t n) {
        if (!read_ok || n == 0) return;
        read_ok = static_cast<bool>(in.read(static_cast<char*>(p), static_cast<std::streamsize>(n)));
        if (read_ok && verify_checksum) sum = crc32_update(sum, p, n);
    });
    if (!read_ok) return make_error(errc::internal_error, name + " cannot be read (truncated while reading?)");
    if (verify_checksum && sum != crc)
        return make_error(errc::internal_error, name + " is corrupt (checksum mismatch)");

    // The checksum vouches for the bytes, not for the writer: check what lookups rely on.
    auto const malformed = [&](std::string const& what) {
        return make_error(errc::internal_error, name + " is malformed: " + what);
    };
    if (t.offsets.front() != 0 || t.offsets.back() != strings_size) return malformed("word offsets");
    for (std::size_t i = 0; i < count; ++i) {
        if (t.offsets[i + 1] <= t.offsets[i]) return malformed("an empty word or offsets out of order");
        if (i > 0 && !(t.word(i - 1) < t.word(i)))
            return malformed("words not sorted or not unique at '" + std::string(t.word(i)) + "'");
        if (!std::isfinite(t.norms[i]) || t.norms[i] < 0 || !std::isfinite(t.scales[i]) || t.scales[i] < 0)
            return malformed("a non-finite or negative norm or scale at '" + std::string(t.word(i)) + "'");
    }
    t.index();
    return t;
}

/// The bytes of the file for `t` (header with checksum, then the sections).
inline std::string word_vector_file_bytes(word_vector_table const& t) {
    std::string out;
    out.reserve(word_vector_file_size(t.size(), t.dimension, t.strings.size()));
    out.append(reinterpret_cast<char const*>(word_vector_magic.data()), word_vector_magic.size());
    put_u32(out, word_vector_version);
    put_u32(out, t.dimension);
    put_u32(out, static_cast<std::uint32_t>(t.size()));
    put_u32(out, word_vector_encoding_int8);
    put_u64(out, t.strings.size());
    put_u64(out, word_vector_file_size(t.size(), t.dimension, t.strings.size()));
    std::size_t const crc_at = out.size();
    put_u32(out, 0);
    out.resize(word_vector_header_size, '\0');
    // Serialised field by field (not memcpy of the vectors) so a big-endian host writes the same file.
    for (auto v : t.offsets) put_u32(out, v);
    for (auto v : t.ranks) put_u32(out, v);
    for (float v : t.norms) put_u32(out, std::bit_cast<std::uint32_t>(v));
    for (float v : t.scales) put_u32(out, std::bit_cast<std::uint32_t>(v));
    out.append(reinterpret_cast<char const*>(t.codes.data()), t.codes.size());
    out += t.strings;
    std::uint32_t const crc =
        crc32_update(0, out.data() + word_vector_header_size, out.size() - word_vector_header_size);
    for (int i = 0; i < 4; ++i) out[crc_at + i] = static_cast<char>((crc >> (8 * i)) & 0xffU);
    return out;
}

} // namespace persona::detail

#endif
