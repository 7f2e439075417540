#include <persona/eval/runner.hpp>

#include <persona/json.hpp>
#include <persona/presets.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace persona;
using namespace persona::eval;

namespace {

std::filesystem::path tiny_file() {
    return std::filesystem::path(__FILE__).parent_path().parent_path() / "eval" / "tiny.jsonl";
}

/// A target whose answers are written below, so every number of the report can be
/// computed by hand. It records what it was sent.
struct scripted_api {
    struct scripted {
        std::vector<std::string> chunk_ids;  ///< `/chunks` results, best first
        bool chunks_fail = false;
        std::string answer;
        std::optional<std::size_t> choice;
    };
    std::map<std::string, scripted> by_question;
    std::size_t max_top_k = 50;

    std::vector<std::string> registered;
    std::vector<std::size_t> batch_sizes;
    std::vector<std::string> ingested;
    std::vector<chunks_request> chunk_requests;
    std::vector<query_request> query_requests;

    result<register_response> register_user(register_request const& r) {
        registered.push_back(r.user_id + (r.traits.empty() ? "" : " " + persona::serialize(boost::json::value(r.traits))));
        return register_response{r.user_id, {}, "active", {}};
    }
    result<ingest_response> ingest(ingest_request const& r) {
        batch_sizes.push_back(r.events.size());
        for (auto const& e : r.events) ingested.push_back(e.event_id);
        return ingest_response{r.user_id, r.events.size(), 0, {}, {}};
    }
    result<query_response> query(query_request const& r) {
        query_requests.push_back(r);
        auto const& s = by_question.at(r.question);
        query_response resp;
        resp.user_id = r.user_id;
        resp.answer = s.answer;
        resp.choice = s.choice;
        return resp;
    }
    result<summary_response> summary(summary_request const&) { return make_error(errc::internal_error, "unused"); }
    result<chunks_response> chunks(chunks_request const& r) {
        chunk_requests.push_back(r);
        if (r.top_k > max_top_k) return invalid_field("top_k", "top_k must be an integer from 1 to 20");
        auto const& s = by_question.at(r.conversation.back().content);
        if (s.chunks_fail) return make_error(errc::unavailable, "scripted failure");
        chunks_response resp;
        for (auto const& id : s.chunk_ids) resp.results.push_back({id, "", 0.5});
        return resp;
    }
    result<delete_response> delete_user(delete_request const&) { return make_error(errc::internal_error, "unused"); }
    result<delete_response> deletion_status(deletion_status_request const&) {
        return make_error(errc::internal_error, "unused");
    }
};
static_assert(personalization_api<scripted_api>);

scripted_api script(dataset const& d) {
    scripted_api api;
    auto const q = [&](std::string const& id) -> std::string const& {
        for (auto const& u : d.users)
            for (auto const& x : u.queries)
                if (x.query_id == id) return x.question;
        FAIL("no question " << id);
        static std::string const none;
        return none;
    };
    // Evidence per question (tiny.jsonl): q1 a1 | q2 a2 a3 | q3 none | q4 a7 | q5 a2 | p1 b1 | p2 b2 | p3 b3.
    api.by_question[q("tiny-ash:q1")] = {{"a1#s1", "a4#s1", "a1#s2"}, false, "jazz teacher Sam", {}};
    api.by_question[q("tiny-ash:q2")] = {{"a3#s1", "a3#s2", "a5#s1", "a2#s1"}, false,
                                         "Biscuit learned to fetch, kayaking on Lake Tahoe", {}};
    api.by_question[q("tiny-ash:q3")] = {{}, false, "The report is due on Friday.", {}};
    api.by_question[q("tiny-ash:q4")] = {{"a4#s1", "a5#s1", "a6#s1", "a7#s1"}, false, "budget spreadsheet", {}};
    api.by_question[q("tiny-ash:q5")] = {{}, true, "It learned to fetch.", {}};
    api.by_question[q("tiny-pref:p1")] = {{"b2#s1", "b1#s1"}, false, "I am vegetarian", 1};
    api.by_question[q("tiny-pref:p2")] = {{"b2#s1"}, false, "Take the train", 2};
    api.by_question[q("tiny-pref:p3")] = {{"b1#s1", "b2#s1", "b1#s2"}, false, "No idea.", std::nullopt};
    return api;
}

double mean_of(std::vector<category_mean> const& rows, std::string const& category) {
    for (auto const& r : rows)
        if (r.category == category) return r.mean;
    FAIL("no row " << category);
    return -1;
}

} // namespace

TEST_CASE("the runner feeds the file in order and scores hand-computed recall, F1 and choice") {
    auto d = read_dataset(tiny_file());
    REQUIRE(d);
    scripted_api api = script(*d);
    auto r = evaluate(api, *d, {.top_k = 50, .ingest_batch = 3});
    REQUIRE(r);

    // Feeding: users registered with their traits, events in file order in batches of 3,
    // each question as the one user turn at top_k 50, options passed to /query.
    CHECK(api.registered == std::vector<std::string>{"tiny-ash {\"name\":\"Ash\"}", "tiny-pref {\"name\":\"User\"}"});
    CHECK(api.batch_sizes == std::vector<std::size_t>{3, 3, 1, 3});
    CHECK(api.ingested == std::vector<std::string>{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "b1", "b2", "b3"});
    REQUIRE(api.chunk_requests.size() == 8);
    for (auto const& c : api.chunk_requests) {
        CHECK(c.top_k == 50);
        REQUIRE(c.conversation.size() == 1);
        CHECK(c.conversation[0].role == "user");
    }
    REQUIRE(api.query_requests.size() == 8);
    CHECK(api.query_requests[0].options.empty());
    CHECK(api.query_requests[5].options.size() == 4);
    CHECK(api.query_requests[7].options == std::vector<std::string>{"Green", "Red"});

    CHECK(r->users == 2);
    CHECK(r->events == 10);
    CHECK(r->queries == 8);
    CHECK(r->top_k == 50);
    CHECK(r->ks == std::vector<std::size_t>{1, 3, 5, 10, 25, 50});
    CHECK(r->chunks_errors() == 1); // q5
    CHECK(r->query_errors() == 0);

    // Recall by hand. Retrieved items (chunks → events, each once):
    //   q1 [a1 a4]        gold a1     @1 1    @3 1    @5 1
    //   q2 [a3 a5 a2]     gold a2 a3  @1 1/2  @3 1    @5 1   (a3#s2 does not count twice)
    //   q3 []             no gold     @1 1    @3 1    @5 1
    //   q4 [a4 a5 a6 a7]  gold a7     @1 0    @3 0    @5 1
    //   q5 (failed)       gold a2     @1 0    @3 0    @5 0
    //   p1 [b2 b1]        gold b1     @1 0    @3 1    @5 1
    //   p2 [b2]           gold b2     @1 1    @3 1    @5 1
    //   p3 [b1 b2]        gold b3     @1 0    @3 0    @5 0
    // Categories: 1 = q2; 2 = q3; 4 = q1 q4; 5 = q5; explicit = p1 p3; implicit = p2.
    auto const r1 = r->recall_at(1);
    CHECK(mean_of(r1, "1") == 0.5);
    CHECK(mean_of(r1, "2") == 1.0);
    CHECK(mean_of(r1, "4") == 0.5);
    CHECK(mean_of(r1, "5") == 0.0);
    CHECK(mean_of(r1, "explicit") == 0.0);
    CHECK(mean_of(r1, "implicit") == 1.0);
    CHECK(mean_of(r1, "all") == 3.5 / 8);
    auto const r3 = r->recall_at(3);
    CHECK(mean_of(r3, "1") == 1.0);
    CHECK(mean_of(r3, "4") == 0.5);
    CHECK(mean_of(r3, "explicit") == 0.5);
    CHECK(mean_of(r3, "all") == 5.0 / 8);
    auto const r5 = r->recall_at(5);
    CHECK(mean_of(r5, "4") == 1.0);
    CHECK(mean_of(r5, "all") == 6.0 / 8);
    std::vector<std::string> order;
    for (auto const& row : r1) order.push_back(row.category);
    CHECK(order == std::vector<std::string>{"1", "2", "4", "5", "explicit", "implicit", "all"});

    // Choice: p1 picks 1 (right), p2 picks 2 (wrong: 0), p3 picks nothing (wrong).
    auto const choice = r->choice_accuracy();
    REQUIRE(choice.size() == 3);
    CHECK(choice[0] == category_mean{"explicit", 2, 0.5});
    CHECK(choice[1] == category_mean{"implicit", 1, 0.0});
    CHECK(choice[2] == category_mean{"all", 3, 1.0 / 3});

    // F1 by hand (q5 has no gold answer: not scored):
    //   q1 "jazz teacher Sam" vs "a jazz teacher": P 2/3, R 1          → 0.8
    //   q2 multi-hop: gold parts "fetch" (best 0.4), "Lake Tahoe" (2/3) → 8/15
    //   q3 "report is due on Friday" vs "Friday": P 1/5, R 1           → 1/3
    //   q4 nothing shared                                              → 0
    //   p1 {i am vegetarian} vs {i am vegetarian never eat meat}      → 2/3
    //   p2 {take train} vs 10 tokens, one shared: P 1/2, R 1/10        → 1/6
    //   p3 nothing shared                                              → 0
    auto const f1 = r->answer_f1();
    CHECK(mean_of(f1, "4") == Approx(0.4));
    CHECK(mean_of(f1, "1") == Approx(8.0 / 15));
    CHECK(mean_of(f1, "2") == Approx(1.0 / 3));
    CHECK(mean_of(f1, "explicit") == Approx(1.0 / 3));
    CHECK(mean_of(f1, "implicit") == Approx(1.0 / 6));
    CHECK(mean_of(f1, "all") == Approx(2.5 / 7));
    CHECK(f1.back().count == 7);

    auto const lat = r->latencies();
    REQUIRE(lat.size() == 4);
    CHECK(lat[0].operation == "register");
    CHECK(lat[0].count == 2);
    CHECK(lat[1].count == 4);
    CHECK(lat[2].count == 8);
    CHECK(lat[3].count == 8);

    // The JSON object: k as strings, percents with two decimals.
    auto const j = report_json(*r);
    CHECK(j.at("recall").at("1").at("all") == 43.75);
    CHECK(j.at("recall").at("3").at("explicit") == 50.0);
    CHECK(j.at("recall").at("50").at("all") == 75.0);
    CHECK(j.at("choice").at("all") == 33.33);
    CHECK(j.at("choice").at("explicit") == 50.0);
    CHECK(j.at("f1").at("all") == 35.71);
    CHECK(j.at("count").at("f1").at("all") == 7);
    CHECK(j.at("errors").at("chunks") == 1);
    CHECK(j.at("latency_ms").at("chunks").at("n") == 8);
    CHECK(j.contains("ingest_events_per_s"));

    auto const table = format_report(*r);
    CHECK(table.find("Evidence recall@k") != std::string::npos);
    CHECK(table.find("Choice accuracy") != std::string::npos);
    CHECK(table.find("Errors: 1 /chunks, 0 /query") != std::string::npos);
}

TEST_CASE("the runner lowers top_k to API.md's cap when the target refuses more, and limits users and questions") {
    auto d = read_dataset(tiny_file());
    REQUIRE(d);
    scripted_api api = script(*d);
    api.max_top_k = 20;
    auto r = evaluate(api, *d, {.top_k = 50, .max_users = 1, .max_queries_per_user = 2});
    REQUIRE(r);
    CHECK(r->top_k == 20);
    CHECK(r->ks == std::vector<std::size_t>{1, 3, 5, 10, 20});
    REQUIRE(r->warnings.size() == 1);
    CHECK(r->warnings[0].find("refused top_k 50") != std::string::npos);
    CHECK(r->users == 1);
    CHECK(r->events == 7);
    CHECK(r->queries == 2);
    CHECK(api.chunk_requests.size() == 3); // the refused one, then two at 20
    CHECK(api.chunk_requests.back().top_k == 20);
    CHECK(r->latencies()[2].count == 2);
    CHECK(r->chunks_errors() == 0);
    CHECK(report_json(*r).at("recall").as_object().contains("20"));
}

TEST_CASE("the runner reports progress up to the total") {
    auto d = read_dataset(tiny_file());
    REQUIRE(d);
    scripted_api api = script(*d);
    std::vector<std::size_t> seen;
    std::size_t total = 0;
    auto r = evaluate(api, *d, {.ingest_batch = 100, .on_progress = [&](run_progress const& p) {
                                    seen.push_back(p.done);
                                    total = p.total;
                                }});
    REQUIRE(r);
    CHECK(total == 18);
    CHECK(seen.front() == 7); // tiny-ash's events in one batch
    CHECK(seen.back() == 18);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
}

TEST_CASE("the evaluation tool on a tiny hand-made file gives hand-computed recall (basic_engine)") {
    auto d = read_dataset(tiny_file());
    REQUIRE(d);
    basic_engine engine;
    auto r = evaluate(engine, *d);
    REQUIRE(r);
    CHECK(r->chunks_errors() == 0);
    CHECK(r->query_errors() == 0);
    // Which events each question's words reach (tiny.jsonl was written so that they are
    // unambiguous for any sensible lexical ranking):
    //   q1 "saxophone" → a1                      @1 1    @3 1
    //   q2 "Biscuit learn" → a2, "kayak" → a3    @1 1/2  @3 1   (one of two at rank 1)
    //   q3 no evidence                           @1 1    @3 1
    //   q4 "quarterly budget" → a4 a5 a6, not a7 @1 0    @3 0   (the gold a7 shares no word)
    //   q5 "beagle learn" → a2                   @1 1    @3 1
    //   p1 "vegetarian" → b1; p2 "plane train" → b2; p3 "colour" → b3: @1 1, @3 1
    auto const r1 = r->recall_at(1);
    CHECK(mean_of(r1, "1") == 0.5);
    CHECK(mean_of(r1, "2") == 1.0);
    CHECK(mean_of(r1, "4") == 0.5);
    CHECK(mean_of(r1, "5") == 1.0);
    CHECK(mean_of(r1, "explicit") == 1.0);
    CHECK(mean_of(r1, "implicit") == 1.0);
    CHECK(mean_of(r1, "all") == 6.5 / 8);
    auto const r3 = r->recall_at(3);
    CHECK(mean_of(r3, "1") == 1.0);
    CHECK(mean_of(r3, "4") == 0.5);
    CHECK(mean_of(r3, "all") == 7.0 / 8);

    // The same data and engine give the same report (timings aside).
    basic_engine again;
    auto r2 = evaluate(again, *d);
    REQUIRE(r2);
    auto strip = [](boost::json::object j) {
        j.erase("latency_ms");
        j.erase("ingest_events_per_s");
        j.erase("seconds");
        return persona::serialize(boost::json::value(j));
    };
    CHECK(strip(report_json(*r)) == strip(report_json(*r2)));
}
