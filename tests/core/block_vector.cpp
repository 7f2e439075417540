#include <persona/detail/block_vector.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using persona::detail::block_vector;

namespace {

/// Where block `b` begins: blocks 0 to b-1 hold first * (2^b - 1) elements.
constexpr std::size_t block_start(std::size_t b) {
    return block_vector<int>::first_block_size * ((std::size_t{1} << b) - 1);
}

/// Throws from its copy constructor when `armed` is set: to fail an append halfway.
struct fragile {
    static inline bool armed = false;
    int value = 0;
    explicit fragile(int v) : value(v) {}
    fragile(fragile const& other) : value(other.value) {
        if (armed) throw std::runtime_error("copy refused");
    }
    fragile(fragile&&) noexcept = default;
};

} // namespace

TEST_CASE("block_vector: elements in order across block boundaries, never moved by growth") {
    block_vector<std::string> v;
    CHECK(v.empty());
    std::vector<std::string const*> addresses;
    // 4 + 8 + 16 + ... : 20,000 elements cross twelve block boundaries.
    for (int i = 0; i < 20000; ++i) {
        v.push_back("chunk " + std::to_string(i) + " with a long enough text to live on the heap");
        addresses.push_back(&v[static_cast<std::size_t>(i)]);
    }
    REQUIRE(v.size() == 20000);
    for (std::size_t i = 0; i < v.size(); ++i) {
        REQUIRE(v[i] == "chunk " + std::to_string(i) + " with a long enough text to live on the heap");
        REQUIRE(&v[i] == addresses[i]); // the address taken when it was appended
    }
    // The elements on each side of every boundary are distinct objects in order.
    REQUIRE(block_start(13) > 20000);
    for (std::size_t b = 1; b <= 12; ++b) {
        std::size_t const first = block_start(b);
        CHECK(v[first - 1] == "chunk " + std::to_string(first - 1) + " with a long enough text to live on the heap");
        CHECK(v[first] == "chunk " + std::to_string(first) + " with a long enough text to live on the heap");
    }

    v[100] = "changed";
    CHECK(std::as_const(v)[100] == "changed");

    block_vector<std::string> moved(std::move(v));
    CHECK(moved.size() == 20000);
    CHECK(&moved[5000] == addresses[5000]); // moving the container keeps its elements in place
    CHECK(v.empty()); // NOLINT(bugprone-use-after-move): the moved-from state is specified
    v.push_back("again");
    CHECK(v.size() == 1);
    CHECK(v[0] == "again");
    block_vector<std::string> assigned_from_move;
    assigned_from_move.push_back("replaced");
    assigned_from_move = std::move(v);
    CHECK(assigned_from_move.size() == 1);
    CHECK(assigned_from_move[0] == "again");
    CHECK(v.empty()); // NOLINT(bugprone-use-after-move)
    moved.clear();
    CHECK(moved.empty());
    moved.emplace_back(3, 'x');
    CHECK(moved.size() == 1);
    CHECK(moved[0] == "xxx");
}

TEST_CASE("block_vector: a copy holds equal elements and also grows without moving them") {
    block_vector<int> v;
    for (int i = 0; i < 1000; ++i) v.push_back(i * 3);
    block_vector<int> copy(v);
    REQUIRE(copy.size() == 1000);
    for (std::size_t i = 0; i < 1000; ++i) REQUIRE(copy[i] == static_cast<int>(i) * 3);
    copy[0] = -1;
    CHECK(v[0] == 0); // distinct storage

    // The last block is partly filled; the copy's has room for the rest of it.
    std::size_t last = 0;
    while (block_start(last + 1) <= 999) ++last;
    REQUIRE(block_start(last + 1) < 1100); // the appends below fill it and begin the next
    int const* const in_last_block = &copy[block_start(last)];
    for (int i = 0; i < 100; ++i) copy.push_back(i);
    CHECK(&copy[block_start(last)] == in_last_block);
    CHECK(copy[1099] == 99);

    block_vector<int> assigned;
    assigned.push_back(7);
    assigned = v;
    CHECK(assigned.size() == 1000);
    CHECK(assigned[999] == 2997);
    int const* const assigned_last_block = &assigned[block_start(last)];
    for (int i = 0; i < 100; ++i) assigned.push_back(i);
    CHECK(&assigned[block_start(last)] == assigned_last_block);
}

TEST_CASE("block_vector: an append that throws changes nothing") {
    block_vector<fragile> v;
    // Blocks 0 to 2 full: the next append begins block 3.
    for (int i = 0; i < static_cast<int>(block_start(3)); ++i) v.emplace_back(i);
    std::vector<fragile const*> addresses;
    for (std::size_t i = 0; i < v.size(); ++i) addresses.push_back(&v[i]);
    fragile const extra(64);
    fragile::armed = true;
    CHECK_THROWS_AS(v.push_back(extra), std::runtime_error);
    fragile::armed = false;
    REQUIRE(v.size() == block_start(3));
    for (std::size_t i = 0; i < v.size(); ++i) {
        REQUIRE(v[i].value == static_cast<int>(i));
        REQUIRE(&v[i] == addresses[i]);
    }
    // The container works on, and block 3, begun by the failed append, fills in place.
    v.push_back(extra);
    REQUIRE(v.size() == block_start(3) + 1);
    CHECK(v[block_start(3)].value == 64);
    fragile const* const first_of_block = &v[block_start(3)];
    while (v.size() < block_start(4)) v.emplace_back(static_cast<int>(v.size()));
    CHECK(&v[block_start(3)] == first_of_block);
}
