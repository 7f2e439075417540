#ifndef PERSONA_DETAIL_BLOCK_VECTOR_HPP
#define PERSONA_DETAIL_BLOCK_VECTOR_HPP

// Not API. A sequence that grows without copying what it holds.
//
// Why: a user's slot records in the ranking (two ids, a time, 80 bytes each) were a
// `std::vector`, copied whole into a new array each time its capacity doubled, while
// the user's exclusive lock was held. At 131,072 chunks that copy and the page faults of
// the new 21 MB array made one ingest batch of 10 events take ~45 ms against ~0.2 ms
// for its neighbours (docs/performance.md, "Tenth step"). Here elements live in blocks
// of 4, 8, 16... elements, each reserved whole when begun, as `vector_tiles` keeps its
// tiles: an append never moves an element, and the pages of a new block are touched one
// append at a time. Element `i` is found with one `bit_width`. The first block is small
// because most users are small: with a first block of 64 records, 10k users of 10
// chunks took 365 more resident bytes per chunk than with the doubling vector.

#include <bit>
#include <cstddef>
#include <utility>
#include <vector>

namespace persona::detail {

/** A random-access sequence of `T` in blocks of doubling size; appending never moves
    the elements already stored.

    The subset of `std::vector` that persona's ranking uses: `push_back`,
    `emplace_back`, `operator[]`, `size`, `empty`, `clear`. Block `b` holds
    `first_block_size << b` elements, so `n` elements take at most `2n + 2` slots of
    storage (plus one empty block after an append that threw), as a doubling vector's
    do, but none is ever copied to grow. A pointer or reference to an element stays
    valid until `clear` or the container's destruction (moving the container keeps them
    valid too: the blocks move, not their elements).

    @par Exception safety
    If `push_back` or `emplace_back` throws, the elements and their addresses are as
    before.

    @par Thread safety
    Distinct objects: safe. Shared objects: const members only.
*/
template <class T>
class block_vector {
public:
    /// Elements in block 0; block `b` holds `first_block_size << b`.
    static constexpr std::size_t first_block_size = 4;

    block_vector() = default;
    ~block_vector() = default;

    /// Takes `other`'s blocks, elements in place; `other` is left empty.
    block_vector(block_vector&& other) noexcept
        : blocks_(std::exchange(other.blocks_, {})), size_(std::exchange(other.size_, 0)) {}
    /// Takes `other`'s blocks, elements in place; `other` is left empty.
    block_vector& operator=(block_vector&& other) noexcept {
        if (this != &other) {
            blocks_ = std::exchange(other.blocks_, {});
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }

    /// Copies every element into blocks of the same sizes, each reserved whole, so the
    /// copy too grows without moving its elements.
    block_vector(block_vector const& other) {
        blocks_.reserve(other.blocks_.size());
        for (std::size_t b = 0; b < other.blocks_.size(); ++b) {
            std::vector<T> block;
            block.reserve(capacity_of(b));
            block.insert(block.end(), other.blocks_[b].begin(), other.blocks_[b].end());
            blocks_.push_back(std::move(block));
        }
        size_ = other.size_;
    }
    /// Replaces the elements with copies of `other`'s, as the copy constructor makes them.
    block_vector& operator=(block_vector const& other) {
        if (this != &other) *this = block_vector(other);
        return *this;
    }

    /// Number of elements.
    std::size_t size() const noexcept { return size_; }
    /// Whether there are no elements.
    bool empty() const noexcept { return size_ == 0; }

    /// Element `i` (`i < size()`).
    T& operator[](std::size_t i) noexcept {
        auto const [b, offset] = locate(i);
        return blocks_[b][offset];
    }
    /// Element `i` (`i < size()`).
    T const& operator[](std::size_t i) const noexcept {
        auto const [b, offset] = locate(i);
        return blocks_[b][offset];
    }

    /// Construct an element at the end from `args` and return it.
    template <class... Args>
    T& emplace_back(Args&&... args) {
        auto const b = locate(size_).first;
        if (b == blocks_.size()) {
            // Reserved before it joins: if either step throws, nothing has changed.
            std::vector<T> block;
            block.reserve(capacity_of(b));
            blocks_.push_back(std::move(block));
        }
        // Within the block's reserved capacity: no reallocation, and the strong guarantee.
        T& added = blocks_[b].emplace_back(std::forward<Args>(args)...);
        ++size_;
        return added;
    }
    /// Append a copy of `value`.
    void push_back(T const& value) { emplace_back(value); }
    /// Append `value`, moved.
    void push_back(T&& value) { emplace_back(std::move(value)); }

    /// Remove every element and free every block.
    void clear() noexcept {
        blocks_.clear();
        size_ = 0;
    }

private:
    static std::size_t capacity_of(std::size_t block) noexcept { return first_block_size << block; }

    /// The block holding element `i` and its place there. Blocks 0 to b-1 hold
    /// `first_block_size * (2^b - 1)` elements, so block `b` begins at the `2^b`-th unit
    /// of `first_block_size`.
    static std::pair<std::size_t, std::size_t> locate(std::size_t i) noexcept {
        std::size_t const unit = i / first_block_size + 1;
        std::size_t const b = static_cast<std::size_t>(std::bit_width(unit)) - 1;
        return {b, i - first_block_size * ((std::size_t{1} << b) - 1)};
    }

    std::vector<std::vector<T>> blocks_;
    std::size_t size_ = 0;
};

} // namespace persona::detail

#endif
