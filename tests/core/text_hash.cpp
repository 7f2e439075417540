#include <persona/text/hash.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace persona::text;

TEST_CASE("fnv1a_64 matches the published test vectors", "[text][hash]") {
    CHECK(fnv1a_64("") == 0xcbf29ce484222325ULL);
    CHECK(fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a_64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("fnv1a_64 is usable at compile time and chains", "[text][hash]") {
    static_assert(fnv1a_64("") == fnv1a_64_offset_basis);
    static_assert(fnv1a_64("bar", fnv1a_64("foo")) == fnv1a_64("foobar"));
    CHECK(fnv1a_64("abc", 1) != fnv1a_64("abc"));
}

TEST_CASE("fnv1a_64 does not depend on char signedness", "[text][hash]") {
    const std::string high("\xC3\xA9", 2); // "é"
    std::uint64_t expected = fnv1a_64_offset_basis;
    for (unsigned b : {0xC3U, 0xA9U}) {
        expected ^= b;
        expected *= 1099511628211ULL;
    }
    CHECK(fnv1a_64(high) == expected);
}

TEST_CASE("mix64 is the splitmix64 finalizer", "[text][hash]") {
    static_assert(mix64(0) == 0);
    // splitmix64 with state 0 returns mix64(0x9e3779b97f4a7c15).
    CHECK(mix64(0x9e3779b97f4a7c15ULL) == 0xe220a8397b1dcdafULL);
    CHECK(mix64(1) != mix64(2));
}

TEST_CASE("hex64 formats 16 lower-case digits", "[text][hash]") {
    CHECK(hex64(0) == "0000000000000000");
    CHECK(hex64(255) == "00000000000000ff");
    CHECK(hex64(0xDEADBEEFCAFEBABEULL) == "deadbeefcafebabe");
    CHECK(hex64(~0ULL) == "ffffffffffffffff");
    CHECK(hex64(fnv1a_64("foobar")) == "85944171f73967e8");
}
