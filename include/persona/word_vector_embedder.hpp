#ifndef PERSONA_WORD_VECTOR_EMBEDDER_HPP
#define PERSONA_WORD_VECTOR_EMBEDDER_HPP

/// @file
/// `word_vector_embedder`: text vectors as SIF-weighted means of pretrained word
/// vectors (`word_vectors`). See docs/word-vectors.md for the measurements.

#include <persona/concepts.hpp>
#include <persona/text/porter2.hpp>
#include <persona/text/stop_words.hpp>
#include <persona/text/tokenizer.hpp>
#include <persona/word_vectors.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace persona {

/// The settings of a `word_vector_embedder`; also reachable as `word_vector_embedder::options`.
struct word_vector_embedder_options {
    /// The SIF smoothing `a`: a word weighs `a / (a + p(w))`. 0 gives the plain mean.
    double sif_a = 1e-3;
    /// Drop English stop words ("the", "and", "don't") before looking words up.
    bool remove_stop_words = true;
    /// Look an unknown word up again by its Porter2 stem.
    bool stem_fallback = true;
    /// Remove from each mean its component along the common direction of the table (the
    /// frequency-weighted mean of all word directions), which every English text shares.
    bool remove_common_direction = true;
};

/** Embeds text as the weighted mean of its words' pretrained vectors. Models `embedder`.

    The text is tokenized like everywhere in persona (`text::tokenize`: lower-case,
    accents stripped); stop words, single letters and the possessive "'s" are dropped.
    Each remaining word is looked up as is, then, when unknown, by its Porter2 stem (a
    rare inflection missing from the table may still find its stem). This is SIF
    (Arora et al., 2017, "A simple but tough-to-beat baseline for sentence embeddings"):
    - the unit directions of the known words are summed with weights `a / (a + p(w))`,
      where `p(w)` is the word's frequency estimated from its rank by Zipf's law, so
      frequent, uninformative words count little;
    - the sum loses its component along the common direction of the table (the
      frequency-weighted mean of all word directions), which every English text
      shares and which otherwise makes unrelated texts look alike;
    - the result is L2-normalised.
    A text with no known word gets an all-zero row (the engine then searches lexically
    only). docs/word-vectors.md has the measurements behind each step.

    The dimension is the table's (100 for the converted GloVe file). Results are the
    same on every run; the same on every platform of the same floating-point model.

    Copies share the loaded table (see `word_vectors`).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (`embed` is const and keeps no state).

    @par Complexity
    `embed`: linear in the length of the text plus `dimension()` per known word.
    Construction: constant, except that the first embedder of a table (with
    `remove_common_direction`) computes its common direction, one pass over the table
    (20-40 ms for 320k words; see `word_vectors::common_direction`).
*/
class word_vector_embedder {
public:
    /// Tuning of the mean; defined outside the class so that `= {}` default arguments compile.
    using options = word_vector_embedder_options;

    /** Construct over a loaded table.

        @throws std::invalid_argument when `vectors` is empty (no words or dimension 0).
    */
    explicit word_vector_embedder(word_vectors vectors, options const& o = {})
        : vectors_(std::move(vectors)), options_(o) {
        if (vectors_.dimension() == 0 || vectors_.empty())
            throw std::invalid_argument("word_vector_embedder: the word vector table is empty");
        // Harmonic number of the vocabulary: Zipf's p(rank) = 1 / ((rank + 1) * H).
        double const n = static_cast<double>(std::max<std::uint64_t>(1, vectors_.vocabulary_size()));
        harmonic_ = std::log(n) + 0.5772156649015329 + 1.0 / (2.0 * n);
        if (options_.remove_common_direction) common_ = vectors_.common_direction();
    }

    /** Load a word vector file and construct over it.

        @returns the errors of `word_vectors::load`.
    */
    [[nodiscard]] static result<word_vector_embedder> load(std::filesystem::path const& file, options const& o = {}) {
        auto v = word_vectors::load(file);
        if (!v) return v.error();
        if (v->empty()) return make_error(errc::internal_error, "word vector file '" + file.string() + "' has no words");
        return word_vector_embedder(std::move(*v), o);
    }

    /// Return the number of dimensions of every vector: the table's.
    std::size_t dimension() const noexcept { return vectors_.dimension(); }

    /// Return the table (to look words up with the same vectors).
    word_vectors const& get_vectors() const noexcept { return vectors_; }

    /// Return the options.
    options const& get_options() const noexcept { return options_; }

    /** Return the unit vector removed from every mean (empty when `remove_common_direction` is off). */
    std::span<float const> get_common_direction() const noexcept { return common_; }

    /** Return the weight a known word gets in the mean: `a / (a + p(w))`, or 1 when `sif_a` is 0. */
    double weight(word_vector const& v) const noexcept {
        if (options_.sif_a <= 0) return 1.0;
        return options_.sif_a / (options_.sif_a + zipf(v));
    }

    /** Return the vector of one folded token as `embed` looks it up (empty when unknown or skipped). */
    word_vector lookup(std::string_view folded, std::string& scratch) const {
        if (options_.remove_stop_words && text::is_stop_word(folded)) return {};
        if (folded.size() >= 2 && folded.substr(folded.size() - 2) == "'s") folded.remove_suffix(2);
        while (!folded.empty() && folded.back() == '\'') folded.remove_suffix(1);
        if (folded.empty() || (options_.remove_stop_words && text::is_stop_word(folded))) return {};
        if (folded.size() == 1 && static_cast<unsigned char>(folded[0]) < 0x80U &&
            !(folded[0] >= '0' && folded[0] <= '9'))
            return {};
        word_vector v = vectors_.find(folded);
        if (!v && options_.stem_fallback) {
            scratch.assign(folded);
            text::porter2_stem_in_place(scratch);
            if (scratch != folded) v = vectors_.find(scratch);
        }
        return v;
    }

    /** Embed `texts` into `out`, row `i` for `texts[i]`.

        @param out at least `texts.size() * dimension()` floats; only that prefix is written.
        @returns `errc::invalid_request` when `out` is too small.
    */
    [[nodiscard]] result<void> embed(std::span<std::string_view const> texts, std::span<float> out) const {
        std::size_t const dim = dimension();
        if (out.size() < texts.size() * dim) return make_error(errc::invalid_request, "embedding buffer too small");
        std::vector<double> acc(dim);
        std::string scratch;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            std::ranges::fill(acc, 0.0);
            text::detail::for_each_token(texts[i], [&](std::size_t, std::size_t, std::string const& folded) {
                if (word_vector const v = lookup(folded, scratch)) v.add_to(std::span<double>(acc), weight(v));
            });
            double norm = 0;
            for (double x : acc) norm += x * x;
            if (norm > 0 && !common_.empty()) {
                double along = 0;
                for (std::size_t j = 0; j < dim; ++j) along += acc[j] * common_[j];
                for (std::size_t j = 0; j < dim; ++j) acc[j] -= along * common_[j];
                double const before = norm;
                norm = 0;
                for (double x : acc) norm += x * x;
                if (norm <= 1e-12 * before) norm = 0; // nothing but the common direction: no features
            }
            std::span<float> const row = out.subspan(i * dim, dim);
            double const inv = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
            for (std::size_t j = 0; j < dim; ++j) row[j] = static_cast<float>(acc[j] * inv);
        }
        return {};
    }

private:
    // Zipf's estimate of a word's probability from its rank.
    double zipf(word_vector const& v) const noexcept {
        return 1.0 / ((static_cast<double>(v.rank()) + 1.0) * harmonic_);
    }

    word_vectors vectors_;
    options options_;
    double harmonic_ = 1;
    std::span<float const> common_; // into the table's shared state, which vectors_ keeps alive
};

static_assert(embedder<word_vector_embedder>);

} // namespace persona

#endif
