#ifndef PERSONA_TESTS_SUPPORT_WORKLOAD_HPP
#define PERSONA_TESTS_SUPPORT_WORKLOAD_HPP

// A scripted workload that exercises every operation, recording each response (or
// error) as canonical JSON. Run it against an engine and against a remote_api in front
// of an equal engine: the transcripts must be identical.

#include <persona/concepts.hpp>
#include <persona/json.hpp>
#include <persona/presets.hpp>

#include <catch2/catch.hpp>

#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace persona::test_support {

/// A clock stuck at one instant, so that two engines stamp identical times.
inline timestamp fixed_clock() { return parse_timestamp("2025-10-11T16:05:00Z").value(); }

/// A basic_engine on the fixed clock.
inline basic_engine fixed_engine() {
    engine_options o;
    o.clock = &fixed_clock;
    return basic_engine(memory_store{}, hashing_embedder{}, flat_retriever{}, extractive_answerer{}, o);
}

/// Two transcripts of `run_workload` must match step by step.
inline void check_same_transcripts(std::vector<std::string> const& a, std::vector<std::string> const& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO("step " << i);
        CHECK(a[i] == b[i]);
    }
}

template <class T>
std::string record(result<T> const& r) {
    if (!r) return "ERROR " + boost::json::serialize(to_json(r.error()));
    return boost::json::serialize(to_json(*r));
}

template <personalization_api Api>
std::vector<std::string> run_workload(Api& api) {
    std::vector<std::string> t;
    auto ts = [](char const* iso) { return parse_timestamp(iso).value(); };
    register_request reg{.user_id = "usr_42af7c"};
    reg.traits = {{"name", "Ash Lewis"}, {"timezone", "America/Los_Angeles"}, {"prefs", {{"tone", "concise"}}}};
    t.push_back(record(api.register_user(reg)));
    t.push_back(record(api.register_user({.email = "Maya@Example.com"})));
    reg.traits = {{"prefs", {{"tone", nullptr}, {"lang", "en"}}}};
    t.push_back(record(api.register_user(reg)));

    ingest_request in{.user_id = "usr_42af7c", .source = "gmail"};
    in.events = {{"evt_1", "email", ts("2025-10-10T09:00:00Z"), "Let's move stand-up to 2 PM starting next week.",
                  {{"subject", "Stand-up"}}},
                 {"evt_2", "email", ts("2025-10-08T17:30:00+02:00"), "No meetings before 10 AM, please.", {}}};
    in.documents = {{.doc_id = "doc_7", .content = "Focus blocks 9-12 PT.\n\nMeetings after 1 PM preferred.",
                     .title = "Working preferences", .kind = "note"},
                    {.content = "Allergic to peanuts; vegetarian."}};
    in.message_history = {{"user", "I like oat milk lattes.", std::nullopt, {}}};
    t.push_back(record(api.ingest(in)));
    in.dedupe = true;
    t.push_back(record(api.ingest(in)));
    ingest_request bad{.user_id = "usr_42af7c"};
    bad.events = {{"e_ok", "note", ts("2025-10-01T00:00:00Z"), "ok", {}}, {"e_bad", "note", std::nullopt, "no time", {}}};
    t.push_back(record(api.ingest(bad)));

    for (auto const* q : {"When does Ash prefer meetings?", "What is Ash's timezone?", "What does Ash drink?"})
        t.push_back(record(api.query({.user_id = "usr_42af7c", .question = q})));
    query_request choice{.user_id = "usr_42af7c", .question = "Which lunch?"};
    choice.options = {"Peanut noodles", "Vegetarian curry", "Steak frites"};
    t.push_back(record(api.query(choice)));
    t.push_back(record(api.query({.user_id = "nobody", .question = "hi"})));

    for (auto const* p : {"general", "work-style", "preferences"})
        t.push_back(record(api.summary({.user_id = "usr_42af7c", .purpose = p, .max_chars = 300})));
    t.push_back(record(api.summary({.user_id = "usr_42af7c", .purpose = "nonsense"})));

    chunks_request c{.user_id = "usr_42af7c",
                     .conversation = {{"user", "Book lunch"}, {"assistant", "Where?"}, {"user", "When is stand-up?"}},
                     .top_k = 4};
    t.push_back(record(api.chunks(c)));
    c.similarity_threshold = 0.2;
    t.push_back(record(api.chunks(c)));
    c.top_k = 25;
    t.push_back(record(api.chunks(c)));

    auto del = api.delete_user({.user_id = "usr_42af7c", .reason = "test"});
    t.push_back(record(del));
    if (del) t.push_back(record(api.deletion_status({.ticket_id = del->ticket_id})));
    t.push_back(record(api.chunks({.user_id = "usr_42af7c", .conversation = {{"user", "x"}}})));
    return t;
}

} // namespace persona::test_support

#endif
