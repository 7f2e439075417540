#include <persona/soft_terms.hpp>

#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/text/analyzer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <span>
#include <string>
#include <vector>

using namespace persona;

namespace {

// A small table with hand-chosen directions: "course", "classroom" and "lesson" point
// almost the same way (cosine about 0.99 and 0.8); "smartphone" and "mobile" too;
// "banana" is orthogonal to all of them.
word_vectors table() {
    std::vector<word_vector_entry> const entries{
        {"course", {1.0f, 0.0f, 0.0f, 0.0f}},      {"classroom", {0.99f, 0.14f, 0.0f, 0.0f}},
        {"lesson", {0.8f, 0.6f, 0.0f, 0.0f}},      {"smartphone", {0.0f, 0.0f, 1.0f, 0.0f}},
        {"mobile", {0.0f, 0.1f, 0.99f, 0.0f}},     {"banana", {0.0f, 0.0f, 0.0f, 1.0f}},
        {"running", {0.0f, 0.7f, 0.0f, 0.7f}},
    };
    return word_vectors::build(4, entries).value();
}

// Chunks a day apart: no two are neighbours in time (each would inherit the other's score).
chunk text_chunk(std::string id, std::string text, unsigned day = 1) {
    chunk c;
    c.chunk_id = std::move(id);
    c.item_id = std::string(item_id_of(c.chunk_id));
    c.text = std::move(text);
    c.time = std::chrono::sys_days{std::chrono::year{2025} / 3 / std::chrono::day{day}};
    return c;
}

evidence said(std::string id, std::string text, double score = 0.8) {
    evidence e;
    e.chunk = text_chunk(std::move(id), std::move(text));
    e.score = score;
    return e;
}

} // namespace

TEST_CASE("analyzer: the word of each term, before stemming") {
    text::analyzer const a;
    std::vector<std::string> terms, words;
    a.terms("The runner's shoes were running late", terms, &words);
    CHECK(terms == std::vector<std::string>{"runner", "shoe", "run", "late"});
    CHECK(words == std::vector<std::string>{"runner", "shoes", "running", "late"});
    std::vector<std::string> only;
    a.terms("The runner's shoes were running late", only);
    CHECK(only == terms);
}

TEST_CASE("soft_terms: off by default, lookup by word then stem, a floor on similarity") {
    soft_terms const off;
    CHECK_FALSE(off.enabled());
    CHECK_FALSE(off.lookup("course", "cours"));

    soft_terms const on(table(), {.min_similarity = 0.9f});
    REQUIRE(on.enabled());
    CHECK(on.lookup("course", "cours"));
    CHECK(on.lookup("runs", "running")); // the word is unknown: its stem is looked up
    CHECK_FALSE(on.lookup("trail", "trail"));
    auto const course = on.lookup("course", "cours");
    CHECK(on.match(course, on.lookup("classroom", "classroom")) == Approx(0.99).margin(0.01));
    CHECK(on.match(course, on.lookup("lesson", "lesson")) == 0.0f); // 0.8 < 0.9
    CHECK(on.match(course, on.lookup("banana", "banana")) == 0.0f);
}

TEST_CASE("soft_terms::expand: the best similar terms, weighted, never a query term again") {
    soft_terms const soft(table(), {.min_similarity = 0.5f, .max_expansions = 1, .weight = 0.5});
    auto const v = [&](char const* w) { return soft.lookup(w, w); };
    std::vector<std::pair<std::string, word_vector>> const vocabulary{
        {"lesson", v("lesson")}, {"classroom", v("classroom")}, {"banana", v("banana")}, {"course", v("course")}};
    std::vector<text::weighted_term> const query{{"banana", 1.0}, {"course", 2.0}};
    std::vector<word_vector> const vectors{v("banana"), v("course")};
    std::vector<text::weighted_term> out;
    soft.expand(query, vectors, vocabulary, out);
    // "banana" has no similar term; "course" gets only its best one (max_expansions = 1),
    // "classroom", and never itself.
    REQUIRE(out.size() == 1);
    CHECK(out[0].term == "classroom");
    CHECK(out[0].weight == Approx(2.0 * 0.5 * 0.99).margin(0.01));

    soft_terms const two(table(), {.min_similarity = 0.5f, .max_expansions = 2, .weight = 1.0});
    out.clear();
    two.expand(query, vectors, vocabulary, out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].term == "classroom");
    CHECK(out[1].term == "lesson");
}

TEST_CASE("flat_retriever with soft terms finds a chunk that uses a similar word") {
    user_ref const u{"w", "u"};
    std::vector<chunk> const chunks{text_chunk("a#s1", "I prefer classroom settings with a teacher."),
                                    text_chunk("b#s1", "A banana with breakfast, every day.", 2),
                                    text_chunk("c#s1", "My sister lives in Lisbon.", 3)};
    search_query q;
    q.parts = {{"Which course should I take?", 1.0}};
    q.k = 3;

    flat_retriever exact;
    REQUIRE(exact.add(u, chunks));
    CHECK(exact.search(u, q).value().empty()); // no shared term, no vectors: nothing

    flat_retriever soft({.soft = soft_terms(table())});
    REQUIRE(soft.add(u, chunks));
    auto const hits = soft.search(u, q).value();
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].chunk_id == "a#s1");

    // An exact match still ranks above a similar word.
    REQUIRE(soft.add(u, std::vector<chunk>{text_chunk("d#s1", "The course starts in May.", 5)}));
    auto const both = soft.search(u, q).value();
    REQUIRE(both.size() == 2);
    CHECK(both[0].chunk_id == "d#s1");
    CHECK(both[1].chunk_id == "a#s1");
    CHECK(both[0].score > both[1].score);
}

TEST_CASE("extractive_answerer: the user's reply decides, not what the assistant listed") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{said("conv#s1",
                                       "User: How should I learn Spanish?\n"
                                       "Assistant: Here are some options:\n"
                                       "1. An online course with video lessons.\n"
                                       "2. A language app on your phone.\n"
                                       "3. An evening class at the community college.\n"
                                       "User: I'll go with the evening class at the college. The online options "
                                       "don't appeal to me.")};
    std::vector<std::string> const options{"Take an online video course.", "Join an evening class at a college."};
    auto const a = extractive_answerer{}.answer({"How should I learn Portuguese?", u, e, options}).value();
    REQUIRE(a.choice);
    CHECK(*a.choice == 1);
    CHECK(a.option_scores[0] < 0.5);
    CHECK(a.text.find("I'll go with the evening class") != std::string::npos);

    // Counting the assistant's list as the user's own words flips the decision: the
    // online option is named twice by the assistant.
    auto const naive = extractive_answerer({.assistant_weight = 1.0}).answer({"How should I learn Portuguese?", u, e, options});
    REQUIRE(naive);
    CHECK(naive->option_scores[0] > a.option_scores[0]);
}

TEST_CASE("extractive_answerer: an option that rejects what the user dislikes is supported") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{said("n#s1", "I can't stand games with microtransactions or ads.")};
    std::vector<std::string> const options{"Candy Saga, a puzzle game with microtransactions.",
                                           "Monument Path, a puzzle game with no microtransactions or ads."};
    auto const a = extractive_answerer{}.answer({"Which puzzle game should I play?", u, e, options}).value();
    REQUIRE(a.choice);
    CHECK(*a.choice == 1);
    CHECK(a.option_scores[1] > 0.5);
    CHECK(a.option_scores[0] < 0.5);

    // A title that opens with "No" is a name, not a rejection.
    std::vector<evidence> const fan{said("f#s1", "I love anything set in space, like sky exploration games.")};
    std::vector<std::string> const titles{"No Man's Sky, a space exploration game.", "A farming game."};
    auto const b = extractive_answerer{}.answer({"What should I play?", u, fan, titles}).value();
    REQUIRE(b.choice);
    CHECK(*b.choice == 0);
    CHECK(b.option_scores[0] > 0.5);
}

TEST_CASE("extractive_answerer: staying away from something counts against it") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{said("n#s1", "I prefer to stay away from games set in medieval worlds.")};
    std::vector<std::string> const options{"A realistic medieval RPG.", "A futuristic city RPG."};
    auto const a = extractive_answerer{}.answer({"Which RPG?", u, e, options}).value();
    REQUIRE(a.choice);
    CHECK(*a.choice == 1);
    CHECK(a.option_scores[0] < 0.5);
}

TEST_CASE("extractive_answerer with soft terms matches an option through a similar word") {
    user_record u;
    u.ref = {"w", "u"};
    std::vector<evidence> const e{said("n#s1", "I never use a smartphone for studying.")};
    std::vector<std::string> const options{"Study with a mobile app.", "Study with printed notes."};
    // Exact terms: "study" is in both options, so nothing tells them apart.
    auto const exact = extractive_answerer{}.answer({"How should I revise?", u, e, options}).value();
    CHECK(exact.option_scores[0] == exact.option_scores[1]);
    extractive_answerer::options o;
    o.soft = soft_terms(table());
    auto const soft = extractive_answerer(o).answer({"How should I revise?", u, e, options}).value();
    REQUIRE(soft.choice);
    CHECK(*soft.choice == 1);
    CHECK(soft.option_scores[0] < 0.5);
}

TEST_CASE("flat_retriever: chunks and queries analyzed by the caller rank as add and search do") {
    // With soft terms on, the analyses must carry each term's word; the results must be
    // bit-identical to the retriever analyzing for itself, and a bad hand-over is refused
    // without changing anything.
    user_ref const u{"w", "u"};
    std::vector<chunk> const chunks{text_chunk("a#s1", "I prefer classroom settings with a teacher."),
                                    text_chunk("b#s1", "A banana with breakfast, every day.", 2),
                                    text_chunk("c#s1", "The course starts in May; running shoes too.", 3),
                                    text_chunk("d#s1", "Courses in Lisbon, mobile phones, lessons.", 4)};
    for (bool const soft_on : {false, true}) {
        INFO("soft terms " << soft_on);
        flat_retriever::options o;
        if (soft_on) o.soft = soft_terms(table());
        flat_retriever by_text(o), by_terms(o);
        CHECK(by_terms.needs_words() == soft_on);
        REQUIRE(by_text.add(u, chunks));
        auto const analyze = [&](std::string_view t) { return by_terms.analyzer().analyze(t, by_terms.needs_words()); };
        std::vector<text::analyzed_text> analyses;
        for (auto const& c : chunks) analyses.push_back(analyze(c.text));

        auto const short_by_one = std::span(analyses).first(analyses.size() - 1);
        auto const refused = by_terms.add_analyzed(u, chunks, short_by_one);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().code == errc::invalid_request);
        CHECK(by_terms.size(u) == 0);
        if (soft_on) {
            auto wordless = analyses;
            wordless[2].words.clear();
            CHECK_FALSE(by_terms.add_analyzed(u, chunks, wordless));
            CHECK(by_terms.size(u) == 0);
        }
        REQUIRE(by_terms.add_analyzed(u, chunks, analyses));
        CHECK(by_terms.size(u) == chunks.size());

        search_query q;
        q.parts = {{"Which course should I take?", 1.0}, {"running in lisbon", 0.35}, {"banana", 0.0}};
        q.k = 4;
        std::vector<text::analyzed_text> parts;
        for (auto const& p : q.parts) parts.push_back(analyze(p.text));
        auto const expected = by_text.search(u, q).value();
        auto const got = by_terms.search_analyzed(u, q, parts).value();
        REQUIRE(!expected.empty());
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CHECK(got[i].chunk_id == expected[i].chunk_id);
            CHECK(got[i].score == expected[i].score);
        }
        auto const mismatch = by_terms.search_analyzed(u, q, std::span(parts).first(2));
        REQUIRE_FALSE(mismatch);
        CHECK(mismatch.error().code == errc::invalid_request);
    }
}

TEST_CASE("analyze_query: a part's terms in order, repeats counted, the first occurrence's word gives the vector") {
    // "runs", "running" and "running" all stem to "run": one term of count 3, whose
    // vector is looked up for its first word, "runs", which the table lacks (nor has it
    // "run"); "course" (stem "cours") has a vector. Terms come sorted, so that sums over
    // them never depend on hashing.
    text::analyzer const a;
    soft_terms const soft(table());
    auto const parts = detail::analyze_query(a, std::vector<query_part>{{"runs running course running", 1.0}}, soft);
    REQUIRE(parts.size() == 1);
    REQUIRE(parts[0].terms.size() == 2);
    CHECK(parts[0].terms[0].term == "cours");
    CHECK(parts[0].terms[0].weight == 1.0);
    CHECK(parts[0].terms[1].term == "run");
    CHECK(parts[0].terms[1].weight == 3.0);
    REQUIRE(parts[0].vectors.size() == 2);
    CHECK(static_cast<bool>(parts[0].vectors[0]));
    CHECK_FALSE(static_cast<bool>(parts[0].vectors[1]));
    // The same text with "running" first: now the term's word is known.
    auto const other = detail::analyze_query(a, std::vector<query_part>{{"running runs course running", 1.0}}, soft);
    REQUIRE(other.size() == 1);
    CHECK(static_cast<bool>(other[0].vectors[1]));
    // Without soft matching there are no vectors; a part of weight 0 is dropped.
    auto const plain = detail::analyze_query(a, std::vector<query_part>{{"runs running", 1.0}, {"course", 0.0}});
    REQUIRE(plain.size() == 1);
    CHECK(plain[0].vectors.empty());
}
