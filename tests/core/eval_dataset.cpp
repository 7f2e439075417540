#include <persona/eval/dataset.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace persona;
using namespace persona::eval;

namespace {
std::filesystem::path tiny_file() {
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "eval" / "tiny.jsonl";
}
} // namespace

TEST_CASE("an evaluation file is read into users with their events and questions") {
    auto d = read_dataset(tiny_file());
    REQUIRE(d);
    REQUIRE(d->users.size() == 2);
    CHECK(d->event_count() == 10);
    CHECK(d->query_count() == 8);

    auto const& ash = d->users[0];
    CHECK(ash.user_id == "tiny-ash");
    CHECK(ash.traits.at("name") == "Ash");
    REQUIRE(ash.events.size() == 7);
    CHECK(ash.events[0].event_id == "a1");
    CHECK(ash.events[0].type == "message");
    CHECK(ash.events[0].time == parse_timestamp("2024-03-01T10:00:00Z"));
    CHECK(ash.events[6].event_id == "a7");
    REQUIRE(ash.queries.size() == 5);
    CHECK(ash.queries[1].evidence_event_ids == std::vector<std::string>{"a2", "a3"});
    CHECK(ash.queries[1].category == "1");
    CHECK(ash.queries[1].numeric_category);
    CHECK(ash.queries[1].answer == "fetch, Lake Tahoe");
    CHECK(ash.queries[2].evidence_event_ids.empty());
    CHECK_FALSE(ash.queries[4].answer); // null: adversarial
    CHECK(ash.queries[4].options.empty());

    auto const& pref = d->users[1];
    REQUIRE(pref.queries.size() == 3);
    CHECK(pref.queries[0].category == "explicit");
    CHECK_FALSE(pref.queries[0].numeric_category);
    CHECK(pref.queries[0].options.size() == 4);
    CHECK(pref.queries[0].correct_option == 1u);
}

TEST_CASE("records of a user may be spread over the file, and blank lines and CRLF are fine") {
    auto d = parse_dataset(
        "{\"op\":\"ingest\",\"user_id\":\"u\",\"event_id\":\"e1\",\"type\":\"note\",\"timestamp\":\"2024-01-01\",\"content\":\"x\"}\r\n"
        "\n"
        "{\"op\":\"register\",\"user_id\":\"v\"}\n"
        "{\"op\":\"register\",\"user_id\":\"u\",\"traits\":{\"a\":1}}\n"
        "{\"op\":\"query\",\"user_id\":\"u\",\"query_id\":\"q\",\"question\":\"?\",\"answer\":2022,\"evidence_event_ids\":[\"e1\",\"e1\"]}\n"
        "{\"op\":\"ingest\",\"user_id\":\"u\",\"event_id\":\"e2\",\"type\":\"note\",\"timestamp\":\"2024-01-02T00:00:00Z\",\"content\":\"y\"}");
    REQUIRE(d);
    REQUIRE(d->users.size() == 2);
    CHECK(d->users[0].user_id == "u");
    CHECK(d->users[0].events.size() == 2);
    CHECK(d->users[0].traits.at("a") == 1);
    CHECK(d->users[0].queries[0].answer == "2022");
    CHECK(d->users[0].queries[0].evidence_event_ids == std::vector<std::string>{"e1"});
    CHECK(d->users[0].queries[0].category == "none");
    CHECK(d->users[1].user_id == "v");
}

TEST_CASE("a bad record is refused with its line and field") {
    auto const fails = [](std::string const& text, std::size_t line, std::string const& field) {
        auto d = parse_dataset(text);
        REQUIRE_FALSE(d);
        CHECK(d.error().code == errc::invalid_request);
        CHECK(d.error().details.at("line") == line);
        if (!field.empty()) CHECK(d.error().details.at("field").as_string() == field);
        CHECK(d.error().message.starts_with("line " + std::to_string(line) + ": "));
    };
    fails("{\"op\":\"register\",\"user_id\":\"u\"}\nnot json\n", 2, "");
    fails("[1]", 1, "");
    fails("{\"op\":\"forget\",\"user_id\":\"u\"}", 1, "op");
    fails("{\"op\":\"register\"}", 1, "user_id");
    fails("{\"op\":\"ingest\",\"user_id\":\"u\",\"event_id\":\"e\",\"type\":\"t\",\"timestamp\":\"yesterday\",\"content\":\"c\"}", 1,
          "timestamp");
    fails("{\"op\":\"ingest\",\"user_id\":\"u\",\"type\":\"t\",\"timestamp\":\"2024-01-01\",\"content\":\"c\"}", 1, "event_id");
    fails("{\"op\":\"query\",\"user_id\":\"u\",\"query_id\":\"q\"}", 1, "question");
    fails("{\"op\":\"query\",\"user_id\":\"u\",\"query_id\":\"q\",\"question\":\"?\",\"evidence_event_ids\":\"e\"}", 1,
          "evidence_event_ids");
    fails("{\"op\":\"query\",\"user_id\":\"u\",\"query_id\":\"q\",\"question\":\"?\",\"options\":[\"a\",\"b\"],\"correct_option\":2}",
          1, "correct_option");

    auto missing = read_dataset("/nonexistent/eval.jsonl");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::not_found);
}
