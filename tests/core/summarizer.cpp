#include <persona/summarizer.hpp>

#include <persona/text/utf8.hpp>

#include <catch2/catch.hpp>

using namespace persona;

namespace {
evidence ev(std::string id, std::string text, int day, double score) {
    evidence e;
    e.chunk.chunk_id = id;
    e.chunk.item_id = std::string(item_id_of(id));
    e.chunk.type = "note";
    e.chunk.text = std::move(text);
    e.chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / day};
    e.score = score;
    return e;
}
} // namespace

TEST_CASE("every purpose has a query, and situation prefers recent facts") {
    for (auto p : summary_purposes) CHECK_FALSE(summarizer::purpose_query(p).parts.empty());
    CHECK(summarizer::purpose_query("situation").prefer_recent);
    CHECK_FALSE(summarizer::purpose_query("general").prefer_recent);
}

TEST_CASE("summaries drop redundant facts and put the newest first") {
    user_record u;
    u.ref = {"w", "u1"};
    u.traits["name"] = "Ash";
    u.traits["timezone"] = "PT";
    std::vector<evidence> const e{ev("a#s1", "I prefer meetings after 1 PM.", 1, 0.9),
                                  ev("b#s1", "I prefer meetings after 1 PM!", 2, 0.85),
                                  ev("c#s1", "Standups moved to Tuesdays.", 5, 0.5)};
    auto const s = summarizer{}.summarize(u, "work-style", e, std::nullopt);
    CHECK(s.starts_with("Ash (u1). Timezone: PT."));
    CHECK(s.find("Standups moved to Tuesdays (note, 5 October 2025).") != std::string::npos);
    std::size_t count = 0;
    for (auto pos = s.find("after 1 PM"); pos != std::string::npos; pos = s.find("after 1 PM", pos + 1)) ++count;
    CHECK(count == 1);
    CHECK(s.find("Standups") < s.find("after 1 PM"));
}

TEST_CASE("summaries respect max_chars in code points, at a word boundary") {
    user_record u;
    u.ref = {"w", "u1"};
    u.traits["name"] = "Zoë Ångström";
    std::vector<evidence> const e{ev("a#s1", "Loves crème brûlée and long walks.", 1, 0.9)};
    auto const full = summarizer{}.summarize(u, "general", e, std::nullopt);
    for (std::size_t cap = 1; cap < text::count_code_points(full); cap += 3) {
        auto const s = summarizer{}.summarize(u, "general", e, cap);
        CHECK(text::count_code_points(s) <= cap);
        CHECK(text::is_valid_utf8(s));
        CHECK(full.starts_with(s));
    }
}

TEST_CASE("a user with no data gets a summary that says so") {
    user_record u;
    u.ref = {"w", "u1"};
    CHECK(summarizer{}.summarize(u, "general", {}, std::nullopt) == "u1. No events or documents to summarise.");
}
