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
    for (int i = 0; i < 300000; i += 997) CHECK(m.find("chunk_" + std::to_string(i))->second == i);
}

TEST_CASE("incremental_map: an element never moves, whichever table holds it") {
    incremental_map<std::string, std::vector<int>> m(64);
    std::vector<std::vector<int> const*> address;
    for (int i = 0; i < 100000; ++i) {
        auto& v = m["item_" + std::to_string(i)];
        v.push_back(i);
        address.push_back(&v);
        if (i % 3 == 0) m.erase("item_" + std::to_string(i / 2 * 2 + 1)); // erasures migrate too
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
