#include <persona/detail/incremental_map.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

using persona::detail::incremental_map;
using map_type = incremental_map<std::string, int>;

namespace {

/// Every element, by iteration, as an ordered map; fails the test if a key is visited twice.
std::map<std::string, int> contents(map_type const& m) {
    std::map<std::string, int> out;
    for (auto const& [key, value] : m) REQUIRE(out.emplace(key, value).second);
    return out;
}

std::map<std::string, int> contents(std::unordered_map<std::string, int> const& m) { return {m.begin(), m.end()}; }

} // namespace

TEST_CASE("incremental_map: the same answers as std::unordered_map under random operations") {
    map_type m(64); // spread growths from 64 elements: many growths in a short test
    std::unordered_map<std::string, int> reference;
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int> key_of(0, 20000), op_of(0, 9);
    bool saw_growth_in_progress = false;
    for (int step = 0; step < 120000; ++step) {
        std::string const key = "k" + std::to_string(key_of(rng));
        switch (op_of(rng)) {
        case 0: CHECK(m.erase(key) == reference.erase(key)); break;
        case 1:
            if (auto const it = m.find(key); it != m.end()) {
                m.erase(it);
                reference.erase(key);
            }
            break;
        case 2: {
            auto const it = std::as_const(m).find(key);
            auto const want = reference.find(key);
            REQUIRE((it == m.end()) == (want == reference.end()));
            if (want != reference.end()) CHECK(it->second == want->second);
            break;
        }
        default: m[key] += step; reference[key] += step;
        }
        REQUIRE(m.size() == reference.size());
        saw_growth_in_progress = saw_growth_in_progress || m.pending_moves() > 0;
        if (step % 9973 == 0 || (m.pending_moves() > 0 && step % 499 == 0)) REQUIRE(contents(m) == contents(reference));
    }
    CHECK(saw_growth_in_progress);
    CHECK(contents(m) == contents(reference));
    m.clear();
    CHECK(m.empty());
    CHECK(m.begin() == m.end());
    CHECK(m.pending_moves() == 0);
}

TEST_CASE("incremental_map: growth moves at most a few nodes per operation, and ends before the next") {
    map_type m; // the default: a small table rehashes at once, from 16k elements growths are spread
    std::size_t growths = 0, most_pending = 0;
    std::size_t pending = 0, buckets = 0;
    for (int i = 0; i < 300000; ++i) {
        m["chunk_" + std::to_string(i)] = i;
        std::size_t const now = m.pending_moves();
        if (m.size() <= map_type::default_spread_from) REQUIRE(now == 0);
        if (now > pending) {
            // A growth starts only once the previous one has moved everything, and sets
            // aside every node but the one just inserted.
            REQUIRE(pending == 0);
            CHECK(now == m.size() - 1 - map_type::moves_per_operation);
            ++growths;
        } else {
            REQUIRE(pending - now <= map_type::moves_per_operation);
            // While nodes are pending, the new table was sized for them: it never rehashes.
            if (now > 0) REQUIRE(m.bucket_count() == buckets);
        }
        pending = now;
        buckets = m.bucket_count();
        most_pending = std::max(most_pending, now);
    }
    CHECK(growths >= 4);           // 16k to 300k keys: four doublings or more, each spread
    CHECK(most_pending >= 100000); // the largest set aside ~131k nodes
    for (int i = 0; i < 300000; i += 997) {
        auto const it = m.find("chunk_" + std::to_string(i));
        REQUIRE(it != m.end());
        CHECK(it->second == i);
    }
}

TEST_CASE("incremental_map: an element never moves, whichever table holds it") {
    incremental_map<std::string, std::vector<int>> m(64);
    std::vector<std::vector<int> const*> address;
    for (int i = 0; i < 100000; ++i) {
        auto& v = m["item_" + std::to_string(i)];
        v.push_back(i);
        address.push_back(&v);
        if (i % 3 == 0) m.erase("item_" + std::to_string(i / 2 * 2 + 1)); // from either table
    }
    std::size_t checked = 0;
    for (int i = 0; i < 100000; ++i) {
        auto const it = m.find("item_" + std::to_string(i));
        if (it == m.end()) continue;
        REQUIRE(&it->second == address[static_cast<std::size_t>(i)]);
        REQUIRE(it->second == std::vector<int>{i});
        ++checked;
    }
    CHECK(checked == m.size());
    CHECK(checked > 50000);
}

TEST_CASE("incremental_map: iteration during a growth visits each element once, old and new tables") {
    map_type m(64);
    int i = 0;
    for (; m.size() < 1000 || m.pending_moves() < m.size() / 2; ++i) m["k" + std::to_string(i)] = i;
    REQUIRE(m.pending_moves() > 0);
    std::unordered_set<std::string> seen;
    for (auto const& [key, value] : m) REQUIRE(seen.insert(key).second);
    CHECK(seen.size() == m.size());
    // Erase through iterators into either table, as hybrid_ranking does.
    std::size_t erased = 0;
    for (int k = 0; k < i; k += 2) {
        auto const it = m.find("k" + std::to_string(k));
        REQUIRE(it != m.end());
        m.erase(it);
        ++erased;
    }
    CHECK(m.size() == static_cast<std::size_t>(i) - erased);
    for (int k = 0; k < i; ++k) CHECK((m.find("k" + std::to_string(k)) == m.end()) == (k % 2 == 0));
}

namespace {

/// Allocations left before failing_allocator throws std::bad_alloc; negative: never. One
/// count for every rebound type (the tables allocate nodes and bucket arrays).
long allocation_budget = -1;

/// An allocator that throws once `allocation_budget` runs out. Stateless, as
/// incremental_map requires: all are equal.
template <class T>
struct failing_allocator {
    using value_type = T;
    failing_allocator() = default;
    template <class U>
    failing_allocator(failing_allocator<U> const&) noexcept {}
    T* allocate(std::size_t n) {
        if (allocation_budget == 0) throw std::bad_alloc();
        if (allocation_budget > 0) --allocation_budget;
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
    friend bool operator==(failing_allocator const&, failing_allocator const&) noexcept { return true; }
};

using failing_map = incremental_map<std::string, int, std::hash<std::string>, std::equal_to<std::string>,
                                    failing_allocator<std::pair<std::string const, int>>>;

/// Fill `m` until the next new key would begin a spread growth.
void fill_to_growth(failing_map& m, std::map<std::string, int>& reference) {
    for (int i = 0; m.size() < 64 || m.size() + 1 <= m.bucket_count(); ++i) { // max load factor 1
        m["k" + std::to_string(i)] = i;
        reference["k" + std::to_string(i)] = i;
    }
    REQUIRE(m.pending_moves() == 0);
}

std::map<std::string, int> contents(failing_map const& m) { return {m.begin(), m.end()}; }

} // namespace

TEST_CASE("incremental_map: a failed allocation loses no element, and moving a node allocates nothing") {
    failing_map m(64);
    std::map<std::string, int> reference;
    fill_to_growth(m, reference);
    std::vector<int const*> address;
    for (auto const& [key, value] : reference) address.push_back(&m.find(key)->second);
    auto const same_elements_same_places = [&] {
        REQUIRE(contents(m) == reference);
        std::size_t i = 0;
        for (auto const& [key, value] : reference) REQUIRE(&m.find(key)->second == address[i++]);
    };

    SECTION("the new table's buckets cannot be allocated") {
        allocation_budget = 0;
        CHECK_THROWS_AS(m["new"], std::bad_alloc);
        allocation_budget = -1;
        CHECK(m.pending_moves() == 0);
        same_elements_same_places();
    }
    SECTION("the new key's node cannot be allocated, after the growth began") {
        allocation_budget = 1; // the buckets, then not the node
        CHECK_THROWS_AS(m["new"], std::bad_alloc);
        allocation_budget = -1;
        CHECK(m.pending_moves() == m.size());
        same_elements_same_places();
    }
    SECTION("a spread growth moves every node without allocating") {
        m["new"] = -1;
        reference["new"] = -1;
        address.insert(address.begin() + std::distance(reference.begin(), reference.find("new")), &m.find("new")->second);
        REQUIRE(m.pending_moves() > 0);
        allocation_budget = 0;
        while (m.pending_moves() > 0) m[reference.begin()->first] += 0; // a present key: moves only
        allocation_budget = -1;
        same_elements_same_places();
    }
    allocation_budget = -1;
}
