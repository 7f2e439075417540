#include <persona/protocol/keys.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace persona::protocol;

namespace {
persona::http_request with(std::string name, std::string value) { return {"GET", "/", {{std::move(name), std::move(value)}}, ""}; }

std::filesystem::path temp_path(std::string const& name) {
    auto dir = std::filesystem::temp_directory_path() / ("persona-keys-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}
} // namespace

TEST_CASE("extract_api_key accepts API.md's three forms") {
    CHECK(extract_api_key(with("Authorization", "x-api-key: pk_1")) == "pk_1");
    CHECK(extract_api_key(with("Authorization", "X-API-KEY:pk_1")) == "pk_1");
    CHECK(extract_api_key(with("authorization", "  x-api-key :   pk_1  ")) == "pk_1");
    CHECK(extract_api_key(with("Authorization", "Bearer pk_2")) == "pk_2");
    CHECK(extract_api_key(with("Authorization", "bearer   pk_2")) == "pk_2");
    CHECK(extract_api_key(with("x-api-key", "pk_3")) == "pk_3");
    CHECK(extract_api_key(with("X-Api-Key", " pk_3 ")) == "pk_3");
}

TEST_CASE("extract_api_key finds no key in empty or foreign credentials") {
    CHECK_FALSE(extract_api_key(persona::http_request{"GET", "/", {}, ""}));
    CHECK_FALSE(extract_api_key(with("Authorization", "Basic dXNlcjpwYXNz")));
    CHECK_FALSE(extract_api_key(with("Authorization", "Bearer ")));
    CHECK_FALSE(extract_api_key(with("Authorization", "x-api-key:")));
    CHECK_FALSE(extract_api_key(with("x-api-key", "  ")));
}

TEST_CASE("scopes: admin may do everything, read and write only their own") {
    CHECK(allows(scope::admin, scope::read));
    CHECK(allows(scope::admin, scope::write));
    CHECK(allows(scope::read, scope::read));
    CHECK_FALSE(allows(scope::read, scope::write));
    CHECK_FALSE(allows(scope::write, scope::read));
    CHECK_FALSE(allows(scope::write, scope::admin));
    CHECK(scope_from_string("write") == scope::write);
    CHECK_FALSE(scope_from_string("root"));
}

TEST_CASE("key_store: keys authenticate, are stored only hashed, and survive save/load") {
    key_store ks;
    auto const admin = ks.add("acme", scope::admin, "bootstrap").value();
    auto const reader = ks.add("globex", scope::read, "dashboards").value();
    CHECK(admin.starts_with("pk_"));
    CHECK(admin.size() == 51);
    CHECK(admin != reader);
    auto const who = ks.authenticate(admin);
    REQUIRE(who);
    CHECK(who->workspace == "acme");
    CHECK(who->scope == scope::admin);
    CHECK(who->key_id.size() == 16);
    CHECK_FALSE(ks.authenticate("pk_not_a_key"));
    CHECK_FALSE(ks.add("two words", scope::read));

    auto const path = temp_path("keys.txt");
    REQUIRE(ks.save(path));
    std::ifstream in(path);
    std::string const text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find(admin) == std::string::npos); // only the hash is on disk
    CHECK(text.find(sha256_hex(admin)) != std::string::npos);
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_read) == std::filesystem::perms::none);

    auto const loaded = key_store::load(path).value();
    CHECK(loaded.entries().size() == 2);
    CHECK(loaded.authenticate(reader)->workspace == "globex");
    CHECK(loaded.authenticate(reader)->name == "dashboards");
}

TEST_CASE("key_store::load: missing file is not_found, a bad line names itself") {
    auto const missing = key_store::load(temp_path("absent.txt"));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == persona::errc::not_found);
    auto const path = temp_path("bad.txt");
    std::ofstream(path) << "# comment\n\nsha256:" << std::string(64, 'a') << " acme admin ok\nsha256:xyz acme admin\n";
    auto const bad = key_store::load(path);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == persona::errc::invalid_request);
    CHECK(bad.error().message.find(":4:") != std::string::npos);
}
