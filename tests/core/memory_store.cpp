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
