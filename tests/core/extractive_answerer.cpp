#include <persona/extractive_answerer.hpp>

#include <persona/testing/embedder_kit.hpp>

#include <catch2/catch.hpp>

using namespace persona;

namespace {
evidence ev(std::string id, std::string type, std::string text, int day, double score, std::string title = {}) {
    evidence e;
    e.chunk.chunk_id = id;
    e.chunk.item_id = std::string(item_id_of(id));
    e.chunk.type = std::move(type);
    e.chunk.title = std::move(title);
    e.chunk.text = std::move(text);
    e.chunk.time = std::chrono::sys_days{std::chrono::year{2025} / 10 / day};
    e.score = score;
    return e;
}
} // namespace

TEST_CASE("extractive_answerer passes the answerer conformance kit") {
    auto const rep = testing::check_answerer(extractive_answerer{});
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("extractive_answerer quotes the best sentence with its citation") {
    user_record u;
    u.ref = {"w", "usr_42af7c"};
    u.traits["name"] = "Ash";
    std::vector<evidence> const e{
        ev("doc_7#p1", "note", "Typical focus blocks 9-12 PT; meetings after 1 PM preferred. Coffee is welcome.", 9, 0.8,
           "Working preferences"),
        ev("evt_1#s1", "email", "Let's move stand-up to 2 PM starting next week.", 10, 0.6)};
    auto const a = extractive_answerer{}.answer({"How does Ash prefer meetings?", u, e, {}}).value();
    CHECK(a.text.find("meetings after 1 PM preferred") != std::string::npos);
    CHECK(a.text.find("note \"Working preferences\", 9 October 2025") != std::string::npos);
    CHECK(a.text.find("Coffee") == std::string::npos); // sentences, not whole chunks
    REQUIRE_FALSE(a.sources.empty());
    CHECK(a.sources.front().chunk_id == "doc_7#p1");
}

TEST_CASE("extractive_answerer ignores evidence below its score floor") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{ev("x#s1", "note", "Irrelevant chatter.", 1, 0.01)};
    auto const a = extractive_answerer{}.answer({"What is the plan?", u, e, {}}).value();
    CHECK(a.sources.empty());
    CHECK(a.text == "I don't have enough information about u to answer that yet.");
}

TEST_CASE("extractive_answerer: a disliked option loses to a liked one") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{ev("n#s1", "note", "I hate crowded beaches.", 3, 0.7),
                                  ev("m#s1", "note", "Quiet mountain cabins are my favourite getaway.", 4, 0.7)};
    std::vector<std::string> const options{"A crowded beach resort", "A quiet mountain cabin"};
    auto const a = extractive_answerer{}.answer({"Where should they go on holiday?", u, e, options}).value();
    REQUIRE(a.choice);
    CHECK(*a.choice == 1);
    CHECK(a.option_scores[0] < 0.5);
    CHECK(a.option_scores[1] > 0.5);
}

TEST_CASE("extractive_answerer: a who-question prefers the sentence that names someone") {
    user_record u;
    u.ref = {"w", "u"};
    u.traits["name"] = "Ash";
    std::vector<evidence> const e{ev("a#s1", "note", "The budget review went well.", 3, 0.6),
                                  ev("b#s1", "note", "At the budget review we met Priya Natarajan.", 4, 0.55)};
    // Both sentences match "budget review" and the first has the better chunk score:
    // only the who-question's preference for a named person puts the second first.
    auto const a = extractive_answerer{}.answer({"Who was at the budget review?", u, e, {}}).value();
    REQUIRE_FALSE(a.sources.empty());
    CHECK(a.sources.front().chunk_id == "b#s1");
    CHECK(a.text.starts_with("\"At the budget review we met Priya Natarajan.\""));
}
