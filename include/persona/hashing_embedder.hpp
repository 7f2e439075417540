#ifndef PERSONA_HASHING_EMBEDDER_HPP
#define PERSONA_HASHING_EMBEDDER_HPP

/// @file
/// `hashing_embedder`: offline, deterministic text vectors by feature hashing.

#include <persona/concepts.hpp>
#include <persona/detail/sparse_norm.hpp>
#include <persona/text/analyzer.hpp>
#include <persona/text/hash.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/** Embeds text by hashing its features into a fixed number of dimensions. Models `embedder`.

    Features are the analyzed words of the text (lower-cased, stop words removed,
    Porter2-stemmed), the bigrams of consecutive words, and the character trigrams
    of each word (so inflections and typos still share features). Each feature adds
    ±weight to one dimension chosen by a 64-bit FNV-1a hash (the sign comes from
    another bit, which keeps collisions from biasing dot products); the vector is then
    L2-normalised. Results are identical on every platform and run.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (`embed` is const and keeps no state).

    @par Complexity
    Linear in the length of the text.
*/
class hashing_embedder {
public:
    /// Tuning of the features.
    struct options {
        std::size_t dimension = 256;    ///< number of dimensions (≥ 1)
        float word_weight = 1.0f;       ///< weight of a word feature
        float bigram_weight = 0.5f;     ///< weight of a word-bigram feature
        float trigram_weight = 0.25f;   ///< weight of each character trigram of a word
    };

    /// Construct with the default options (256 dimensions).
    hashing_embedder() = default;

    /** Construct with `dimension` dimensions and default weights.

        @throws std::invalid_argument when `dimension` is 0.
    */
    explicit hashing_embedder(std::size_t dimension) : hashing_embedder(options{.dimension = dimension}) {}

    /** Construct with the given options.

        @throws std::invalid_argument when `o.dimension` is 0.
    */
    explicit hashing_embedder(options const& o) : options_(o) {
        if (o.dimension == 0) throw std::invalid_argument("hashing_embedder: dimension must be at least 1");
    }

    /// Return the number of dimensions of every vector.
    std::size_t dimension() const noexcept { return options_.dimension; }

    /** Embed `texts` into `out`, row `i` for `texts[i]`.

        @param out at least `texts.size() * dimension()` floats; only that prefix is written.
        @returns `errc::invalid_request` when `out` is too small.
    */
    [[nodiscard]] result<void> embed(std::span<std::string_view const> texts, std::span<float> out) const {
        std::size_t const dim = options_.dimension;
        if (out.size() < texts.size() * dim)
            return make_error(errc::invalid_request, "embedding buffer too small");
        std::vector<std::string> terms;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            terms.clear();
            analyzer_.terms(texts[i], terms);
            embed_terms(terms, out.subspan(i * dim, dim));
        }
        return {};
    }

    /// Return the analyzer whose terms the features start from.
    text::analyzer const& analyzer() const noexcept { return analyzer_; }

    /** Embed texts already analyzed by `analyzer()` into `out`, row `i` for `analyses[i]`:
        the rows `embed` writes for those texts (models `analyzing_embedder`).

        @param out at least `analyses.size() * dimension()` floats; only that prefix is written.
        @returns `errc::invalid_request` when `out` is too small.
    */
    [[nodiscard]] result<void> embed_analyzed(std::span<text::analyzed_text const> analyses, std::span<float> out) const {
        std::size_t const dim = options_.dimension;
        if (out.size() < analyses.size() * dim)
            return make_error(errc::invalid_request, "embedding buffer too small");
        for (std::size_t i = 0; i < analyses.size(); ++i) embed_terms(analyses[i].terms, out.subspan(i * dim, dim));
        return {};
    }

private:
    static constexpr std::uint64_t bigram_salt = 0x6a09e667f3bcc909ULL;
    static constexpr std::uint64_t trigram_salt = 0xbb67ae8584caa73bULL;

    void embed_terms(std::span<std::string const> terms, std::span<float> row) const {
        std::ranges::fill(row, 0.0f);
        for (std::size_t t = 0; t < terms.size(); ++t) {
            std::uint64_t const word = text::fnv1a_64(terms[t]);
            add_feature(row, word, options_.word_weight);
            if (t + 1 < terms.size()) {
                std::uint64_t const h = text::fnv1a_64(terms[t + 1], word ^ bigram_salt);
                add_feature(row, h, options_.bigram_weight);
            }
            add_trigrams(row, terms[t]);
        }
        normalize(row);
    }

    void add_feature(std::span<float> row, std::uint64_t h, float weight) const noexcept {
        h = text::mix64(h);
        float const sign = (h >> 63) != 0 ? -1.0f : 1.0f;
        std::uint64_t const x = h & 0x7fffffffffffffffULL;
        std::uint64_t const n = row.size();
        // The usual dimensions are powers of two: x % n without a division.
        row[(n & (n - 1)) == 0 ? x & (n - 1) : x % n] += sign * weight;
    }

    void add_trigrams(std::span<float> row, std::string_view term) const {
        // Boundary markers make prefixes and suffixes features of their own.
        std::string padded;
        padded.reserve(term.size() + 2);
        padded += '^';
        padded += term;
        padded += '$';
        if (padded.size() < 4) return; // a 1-2 letter word: its word feature is enough
        for (std::size_t j = 0; j + 3 <= padded.size(); ++j)
            add_feature(row, text::fnv1a_64(std::string_view(padded).substr(j, 3), trigram_salt),
                        options_.trigram_weight);
    }

    static void normalize(std::span<float> row) {
        // A row has a few dozen features in `dimension` places: the sum visits only them.
        thread_local std::vector<std::uint32_t> buffer;
        auto const nonzero = detail::nonzero_positions(row, buffer);
        double const norm = detail::sum_of_squares(row, nonzero);
        if (norm <= 0) return;
        float const inv = static_cast<float>(1.0 / std::sqrt(norm));
        // A zero times a finite `inv` is the zero it was; times NaN or infinity (a NaN
        // weight, or weights so small that 1 / norm overflows a float) it is NaN, so
        // then every place is scaled, as the plain loop did.
        if (!std::isfinite(inv)) {
            for (auto& x : row) x *= inv;
            return;
        }
        for (auto const i : nonzero) row[i] *= inv;
    }

    options options_{};
    text::analyzer analyzer_{};
};

static_assert(analyzing_embedder<hashing_embedder>);

} // namespace persona

#endif
