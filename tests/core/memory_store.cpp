#include <persona/memory_store.hpp>

#include <persona/testing/store_kit.hpp>

#include <catch2/catch.hpp>

TEST_CASE("memory_store passes the store conformance kit") {
    persona::memory_store store;
    auto const report = persona::testing::check_store(store);
    INFO(report.to_string());
    CHECK(report.ok());
    CHECK(report.checks >= 30);
}

TEST_CASE("memory_store passes the kit twice on the same object (the kit cleans up)") {
    persona::memory_store store;
    CHECK(persona::testing::check_store(store).ok());
    auto const again = persona::testing::check_store(store);
    INFO(again.to_string());
    CHECK(again.ok());
    CHECK(store.list_users()->empty());
}

TEST_CASE("memory_store: chunks looked up by id stay right while a large user's maps grow, with replacements") {
    // 40k items pass the 16k elements from which the item and chunk-index maps spread a
    // growth over later inserts (detail/incremental_map.hpp); the chunk index points into
    // the item map, so every lookup below reads through a pointer kept across those moves.
    using namespace persona;
    memory_store store;
    auto const t = parse_timestamp("2025-10-10T09:00:00Z").value();
    user_record rec;
    rec.ref = {"default", "big"};
    rec.created_at = rec.updated_at = t;
    REQUIRE(store.put_user(rec));
    auto const make = [&](int i, int version) {
        stored_item si;
        si.item.id = "e" + std::to_string(i);
        si.item.time = t + std::chrono::seconds(i);
        si.item.content = "v" + std::to_string(version);
        for (std::uint32_t n = 1; n <= 2; ++n) {
            chunk c;
            c.chunk_id = si.item.id + "#s" + std::to_string(n);
            c.item_id = si.item.id;
            c.ordinal = n;
            c.text = si.item.content + " part " + std::to_string(n);
            si.chunks.push_back(std::move(c));
        }
        return si;
    };
    constexpr int items = 40000;
    for (int first = 0; first < items; first += 100) {
        std::vector<stored_item> batch;
        for (int i = first; i < first + 100; ++i) batch.push_back(make(i, 1));
        if (first >= 200) batch.push_back(make(first / 2, 2)); // replace an older item meanwhile
        REQUIRE(store.put_items(rec, batch));
    }
    std::vector<std::string> ids;
    for (int i = 0; i < items; ++i) ids.push_back("e" + std::to_string(i) + "#s2");
    auto const got = store.get_chunks(rec.ref, ids).value();
    REQUIRE(got.size() == ids.size());
    for (int i = 0; i < items; ++i) {
        bool const replaced = i >= 100 && i < items / 2 && i % 50 == 0;
        REQUIRE(got[static_cast<std::size_t>(i)].chunk_id == ids[static_cast<std::size_t>(i)]);
        REQUIRE(got[static_cast<std::size_t>(i)].text == (replaced ? "v2 part 2" : "v1 part 2"));
    }
    CHECK(store.get_items(rec.ref)->size() == static_cast<std::size_t>(items));
    CHECK(store.get_chunks(rec.ref)->size() == 2u * items);
}
