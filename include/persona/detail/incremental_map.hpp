#ifndef PERSONA_DETAIL_INCREMENTAL_MAP_HPP
#define PERSONA_DETAIL_INCREMENTAL_MAP_HPP

// Not API. A hash map that grows without a pause.
//
// Why: a user's maps from chunk and item ids are `std::unordered_map`s, and one of them
// doubling its buckets relinks every node while the user's exclusive lock is held. Four
// such maps of one user grow at about the same size, in the same ingest batch: at 173k
// chunks that batch took ~200 ms against ~1 ms for its neighbours (docs/performance.md,
// "Ninth step"). Here, when the table is full, its nodes are set aside as the old table
// and a table of twice the size starts empty; each later `operator[]` moves a few nodes
// across (`extract` and `insert` of node handles: no element is copied, moved or
// reallocated, so pointers and references to elements stay valid, as the memory store's
// chunk index needs). For an old table of n nodes the new one is reserved for 2n + 1,
// and the old one is empty after n / 4 inserts, so the new table never rehashes
// while the old one still holds nodes.
//
// Spreading costs about twice the work of a rehash, so tables below 16k nodes, whose
// rehash takes a few milliseconds, still rehash at once.
//
// Lookups try the new table, then the old one while it holds nodes. Iteration visits the
// new table, then the old one; its order is unspecified, as `std::unordered_map`'s.

#include <cstddef>
#include <functional>
#include <memory>
#include <iterator>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace persona::detail {

/** An unordered map from `Key` to `T` whose growth is spread over later operations.

    The subset of `std::unordered_map` that persona uses: `operator[]`, `find`, `erase`
    by key or iterator, `clear`, `size`, `empty`, and forward iteration. As with
    `std::unordered_map`, elements never move: a pointer or reference to an element
    stays valid until that element is erased. Once the map holds `spread_from` elements
    (16k by default), no operation moves more than `moves_per_operation` nodes.

    Unlike `std::unordered_map`: `operator[]` may invalidate every iterator (it may move
    nodes between the tables, as a rehash would), even for a key that is present; and
    moving or swapping the map invalidates its iterators. `erase` invalidates only
    iterators to the erased element. The allocator must be stateless (tables are swapped).

    @par Exception safety
    If `operator[]` throws (an allocation failed), the map holds the same elements as
    before, at the same addresses. Moving a node never allocates.

    @par Thread safety
    Distinct objects: safe. Shared objects: const members only (a non-const member,
    including `operator[]` on a present key, may move nodes).
*/
template <class Key, class T, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>,
          class Allocator = std::allocator<std::pair<Key const, T>>>
class incremental_map {
    using table = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

public:
    using key_type = Key;
    using mapped_type = T;
    using value_type = typename table::value_type;
    using size_type = std::size_t;

    /// The most nodes one operation moves from the old table to the new one.
    static constexpr size_type moves_per_operation = 4;
    /// Below this many elements a growth is one ordinary rehash (see the constructor).
    static constexpr size_type default_spread_from = 16384;

    template <bool Const>
    class basic_iterator {
        using table_ptr = std::conditional_t<Const, table const*, table*>;
        using base = std::conditional_t<Const, typename table::const_iterator, typename table::iterator>;

    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = typename table::value_type;
        using difference_type = std::ptrdiff_t;
        using reference = std::conditional_t<Const, value_type const&, value_type&>;
        using pointer = std::conditional_t<Const, value_type const*, value_type*>;

        basic_iterator() = default;
        /// A mutable iterator converts to a const one.
        template <bool Other>
            requires(Const && !Other)
        basic_iterator(basic_iterator<Other> const& other)
            : at_(other.at_), next_table_end_(other.next_table_end_), old_(other.old_), in_old_(other.in_old_) {}

        reference operator*() const { return *at_; }
        pointer operator->() const { return &*at_; }
        basic_iterator& operator++() {
            ++at_;
            if (!in_old_ && at_ == next_table_end_) enter_old();
            return *this;
        }
        basic_iterator operator++(int) {
            auto copy = *this;
            ++*this;
            return copy;
        }
        friend bool operator==(basic_iterator const& a, basic_iterator const& b) {
            return a.in_old_ == b.in_old_ && a.at_ == b.at_;
        }

    private:
        friend class incremental_map;
        template <bool>
        friend class basic_iterator;

        basic_iterator(base at, base next_table_end, table_ptr old, bool in_old)
            : at_(at), next_table_end_(next_table_end), old_(old), in_old_(in_old) {
            if (!in_old_ && at_ == next_table_end_) enter_old();
        }
        void enter_old() {
            at_ = old_->begin();
            in_old_ = true;
        }

        base at_{};
        base next_table_end_{}; ///< the new table's end, while `at_` is in the new table
        table_ptr old_ = nullptr;
        bool in_old_ = true;
    };
    using iterator = basic_iterator<false>;
    using const_iterator = basic_iterator<true>;

    /** A map whose growths from `spread_from` elements up are spread.

        A smaller table rehashes at once, as `std::unordered_map`: below 16k nodes that
        takes a few milliseconds, and spreading costs about twice the work of a rehash
        (moving a node hashes its key again and walks its new bucket, where a rehash
        reuses the stored hash and only relinks).
    */
    explicit incremental_map(size_type spread_from = default_spread_from) noexcept : spread_from_(spread_from) {}

    /// The number of elements.
    size_type size() const noexcept { return new_.size() + old_.size(); }
    /// Whether there are no elements.
    bool empty() const noexcept { return new_.empty() && old_.empty(); }
    /// The nodes still in the old table: 0 unless a growth is being spread.
    size_type pending_moves() const noexcept { return old_.size(); }
    /// The new table's buckets (constant while a growth is being spread).
    size_type bucket_count() const noexcept { return new_.bucket_count(); }

    iterator begin() noexcept { return iterator(new_.begin(), new_.end(), &old_, false); }
    iterator end() noexcept { return iterator(old_.end(), {}, &old_, true); }
    const_iterator begin() const noexcept { return const_iterator(new_.begin(), new_.end(), &old_, false); }
    const_iterator end() const noexcept { return const_iterator(old_.end(), {}, &old_, true); }

    /// The element of `key`, or `end()`. Moves nothing.
    iterator find(Key const& key) {
        if (auto const it = new_.find(key); it != new_.end()) return iterator(it, new_.end(), &old_, false);
        if (old_.empty()) return end();
        return iterator(old_.find(key), {}, &old_, true);
    }
    const_iterator find(Key const& key) const {
        if (auto const it = new_.find(key); it != new_.end()) return const_iterator(it, new_.end(), &old_, false);
        if (old_.empty()) return end();
        return const_iterator(old_.find(key), {}, &old_, true);
    }

    /// The value of `key`, value-initialised and inserted if absent.
    T& operator[](Key const& key) {
        // One lookup in the new table, as std::unordered_map's operator[], plus one in the
        // old table only while it holds nodes (an ingest inserts mostly new keys).
        if (!old_.empty() || full())
            if (auto const it = find_in_old(key); it != old_.end()) {
                T& value = it->second; // stays valid if its node moves; `it` would not
                move_some();
                return value;
            }
        T& value = new_[key];
        move_some();
        return value;
    }

    // Erasing moves no node: only inserts fill the new table, so only they need to drain
    // the old one, and other iterators stay valid, as std::unordered_map's.

    /// Erase the element of `key`; return how many were erased (0 or 1).
    size_type erase(Key const& key) { return new_.erase(key) + (old_.empty() ? 0 : old_.erase(key)); }

    /// Erase the element at `pos`, which must be valid and dereferenceable.
    void erase(const_iterator pos) {
        if (pos.in_old_)
            old_.erase(pos.at_);
        else
            new_.erase(pos.at_);
    }

    /// Erase every element, and free the old table's buckets.
    void clear() noexcept {
        new_.clear();
        table().swap(old_);
    }

private:
    bool full() const noexcept {
        return static_cast<float>(new_.size() + 1) > new_.max_load_factor() * static_cast<float>(new_.bucket_count());
    }

    // The old table's element of `key`, or its end. When the new table is full, nothing
    // is pending and the table is large enough, first begin a growth: the new table
    // becomes the old one (the swap moves no node), and an empty one with buckets for
    // twice as many takes its place, so that the caller's insert into it cannot rehash.
    typename table::iterator find_in_old(Key const& key) {
        if (old_.empty() && full() && new_.size() >= spread_from_ && !new_.empty()) {
            table bigger;
            bigger.reserve(2 * new_.size() + 1); // if this throws, nothing has changed
            new_.swap(old_);                     // swaps of equal allocators never throw
            new_.swap(bigger);
        }
        return old_.find(key);
    }

    void move_some() {
        for (size_type i = 0; i < moves_per_operation && !old_.empty(); ++i) move_one();
        if (old_.empty() && old_.bucket_count() > 1) table().swap(old_); // free its buckets
    }

    // The new table has buckets for every node (see find_in_old), so the insert neither
    // rehashes nor allocates; should it throw all the same, the node goes back.
    void move_one() {
        auto node = old_.extract(old_.begin());
        try {
            new_.insert(std::move(node));
        } catch (...) {
            if (node) old_.insert(std::move(node)); // a slot it just left: no rehash
            throw;
        }
    }

    table new_;
    table old_;
    size_type spread_from_;
};

} // namespace persona::detail

#endif
