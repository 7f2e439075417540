#include <persona/engine.hpp>

#include <persona/presets.hpp>
#include <persona/testing/api_kit.hpp>
#include <persona/text/utf8.hpp>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <atomic>

using namespace persona;
using namespace std::chrono;

namespace {

/// A clock the test moves by hand.
struct manual_clock {
    std::shared_ptr<std::atomic<std::int64_t>> seconds =
        std::make_shared<std::atomic<std::int64_t>>(sys_seconds{sys_days{year{2025} / 10 / 11}}.time_since_epoch().count());
    timestamp operator()() const { return timestamp{std::chrono::seconds{seconds->load()}}; }
    void advance(std::chrono::seconds s) const { *seconds += s.count(); }
};

basic_engine make_engine(manual_clock clock) {
    engine_options o;
    o.clock = clock;
    return basic_engine(memory_store{}, hashing_embedder{}, flat_retriever{}, extractive_answerer{}, o);
}

event_input event(std::string id, std::string content, std::string type = "email", int day = 10) {
    return event_input{std::move(id), std::move(type), sys_days{year{2025} / 10 / day} + hours{9}, std::move(content), {}};
}

chunks_request ask(std::string user, std::string text, std::size_t k = 5) {
    chunks_request c;
    c.user_id = std::move(user);
    c.conversation.push_back({"user", std::move(text)});
    c.top_k = k;
    return c;
}

} // namespace

static_assert(personalization_api<basic_engine>);

TEST_CASE("basic_engine passes the personalization_api conformance kit") {
    basic_engine e;
    auto const rep = testing::check_personalization_api(e);
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("register: traits deep-merge, null removes, created_at is stable, revision bumps only on change") {
    manual_clock clock;
    auto e = make_engine(clock);
    register_request r{.user_id = "usr_42af7c"};
    r.traits = boost::json::parse(R"({"name":"Ash Lewis","prefs":{"tone":"concise","hours":[9,17]},"city":"SF"})").as_object();
    auto const first = e.register_user(r).value();
    CHECK(first.created_at == clock());
    CHECK(first.status == "active");

    clock.advance(hours(1));
    r.traits = boost::json::parse(R"({"prefs":{"hours":[10]},"city":null,"timezone":"America/Los_Angeles"})").as_object();
    auto const second = e.register_user(r).value();
    CHECK(second.created_at == first.created_at);
    auto const stored = e.get_store().get_user({"default", "usr_42af7c"}).value();
    CHECK(stored.traits == boost::json::parse(
                               R"({"name":"Ash Lewis","prefs":{"tone":"concise","hours":[10]},"timezone":"America/Los_Angeles"})")
                               .as_object());
    CHECK(stored.updated_at == clock());
    auto const revision = stored.revision;

    clock.advance(hours(1));
    REQUIRE(e.register_user(r)); // same body again: idempotent
    auto const after = e.get_store().get_user({"default", "usr_42af7c"}).value();
    CHECK(after.revision == revision);
    CHECK(after.updated_at == stored.updated_at);
}

TEST_CASE("register by email: stable usr_ id per workspace, email echoed") {
    basic_engine e;
    register_request r;
    r.email = "Ash@Example.com";
    auto const a = e.register_user(r).value();
    CHECK(a.user_id.starts_with("usr_"));
    CHECK(a.user_id.size() == 16);
    CHECK(a.email == "Ash@Example.com");
    r.email = " ash@example.COM";
    CHECK(e.register_user(r)->user_id == a.user_id);
    r.email = "not-an-email";
    auto const bad = e.register_user(r);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().details.at("field") == "email");
}

TEST_CASE("workspaces are tenants: the same user_id in two workspaces is two users") {
    basic_engine e;
    REQUIRE(e.register_user({.workspace = "acme", .user_id = "u1"}));
    REQUIRE(e.register_user({.workspace = "globex", .user_id = "u1"}));
    ingest_request in{.workspace = "acme", .user_id = "u1"};
    in.events = {event("e1", "Acme secret: the launch code is tangerine.")};
    REQUIRE(e.ingest(in));
    auto const other = e.chunks([&] { auto c = ask("u1", "launch code tangerine"); c.workspace = "globex"; return c; }());
    REQUIRE(other);
    CHECK(other->results.empty());
    auto const missing = e.chunks([&] { auto c = ask("u1", "x"); c.workspace = "initech"; return c; }());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == errc::user_not_found);
}

TEST_CASE("ingest: long events become several #s<n> segments, documents #p<n> paragraphs") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    std::string long_text;
    for (int i = 0; i < 40; ++i) long_text += "Sentence number " + std::to_string(i) + " talks about sailing boats and harbours. ";
    ingest_request in{.user_id = "u"};
    in.events = {event("long", long_text)};
    in.documents.push_back({.doc_id = "doc", .content = "First paragraph about tea.\n\nSecond about coffee.\n\n\nThird about cocoa."});
    auto const res = e.ingest(in).value();
    CHECK(res.events == 1);
    CHECK(res.documents == 1);
    auto const chunks = e.get_store().get_chunks({"default", "u"}).value();
    std::vector<std::string> ids;
    for (auto const& c : chunks) ids.push_back(c.chunk_id);
    CHECK(std::ranges::find(ids, "long#s1") != ids.end());
    CHECK(std::ranges::find(ids, "long#s2") != ids.end());
    CHECK(std::ranges::find(ids, "doc#p3") != ids.end());
    for (auto const& c : chunks)
        if (c.item_id == "long") CHECK(c.text.size() <= 800);
}

TEST_CASE("ingest is atomic: one bad item anywhere rejects everything, with details.index") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.events = {event("good", "A perfectly fine event.")};
    in.documents.push_back({.doc_id = "d1", .content = "Fine document."});
    in.documents.push_back({.doc_id = "bad#id", .content = "Bad id."});
    auto const res = e.ingest(in);
    REQUIRE_FALSE(res);
    CHECK(res.error().code == errc::invalid_request);
    CHECK(res.error().details.at("field") == "documents[1].doc_id");
    CHECK(res.error().details.at("index") == 1);
    CHECK(e.get_store().get_items({"default", "u"})->empty());
    CHECK(e.get_retriever().size({"default", "u"}) == 0);
    CHECK(e.get_store().get_user({"default", "u"})->revision == 1);

    in.documents.pop_back();
    in.events.push_back(event_input{"no_time", "note", std::nullopt, "When?", {}});
    auto const no_time = e.ingest(in);
    REQUIRE_FALSE(no_time);
    CHECK(no_time.error().details.at("field") == "events[1].timestamp");
}

TEST_CASE("ingest: message_history becomes message events with content-derived ids") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.message_history = {{"user", "I'm vegetarian.", std::nullopt, {}}, {"assistant", "Noted!", std::nullopt, {}}};
    auto const first = e.ingest(in).value();
    CHECK(first.events == 2);
    auto const items = e.get_store().get_items({"default", "u"}).value();
    REQUIRE(items.size() == 2);
    for (auto const& i : items) {
        CHECK(i.type == "message");
        CHECK(i.id.starts_with("msg_"));
    }
    REQUIRE(e.ingest(in)); // re-sent: same ids, replaced, not duplicated
    CHECK(e.get_store().get_items({"default", "u"})->size() == 2);
    in.dedupe = true;
    auto const deduped = e.ingest(in).value();
    CHECK(deduped.skipped.size() == 2);
    CHECK(deduped.events == 0);
}

TEST_CASE("ingest: the same id twice in one request stores the later one, or skips it with dedupe") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.events = {event("e", "first version"), event("e", "second version")};
    auto const res = e.ingest(in).value();
    CHECK(res.events == 1);
    CHECK(e.get_store().get_item({"default", "u"}, "e")->value().content == "second version");
    in.events = {event("f", "first version"), event("f", "second version")};
    in.dedupe = true;
    auto const deduped = e.ingest(in).value();
    CHECK(deduped.events == 1);
    REQUIRE(deduped.skipped.size() == 1);
    CHECK(e.get_store().get_item({"default", "u"}, "f")->value().content == "first version");
}

TEST_CASE("query: trait questions are answered from the profile") {
    basic_engine e;
    register_request r{.user_id = "usr_42af7c"};
    r.traits = {{"name", "Ash Lewis"}, {"timezone", "America/Los_Angeles"}};
    REQUIRE(e.register_user(r));
    auto const a = e.query({.user_id = "usr_42af7c", .question = "What timezone is Ash in?"}).value();
    CHECK(a.answer.find("America/Los_Angeles") != std::string::npos);
}

TEST_CASE("query: with too little data the answer says so, in a 200") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    auto const a = e.query({.user_id = "u", .question = "What does u think about opera?"});
    REQUIRE(a);
    CHECK(a->answer.find("enough information") != std::string::npos);
    CHECK(a->sources.empty());
}

TEST_CASE("query: a when-question is answered with the date of the evidence") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u", .traits = {{"name", "Ash"}}}));
    ingest_request in{.user_id = "u", .source = "gmail"};
    in.events = {event("evt_1", "Let's move stand-up to 2 PM starting next week."),
                 event("evt_2", "Dinner reservation at Nopa for Saturday.", "calendar_event", 12)};
    REQUIRE(e.ingest(in));
    auto const a = e.query({.user_id = "u", .question = "When did Ash ask to move the stand-up?"}).value();
    CHECK(a.answer.find("10 October 2025") != std::string::npos);
    CHECK(a.answer.find("2 PM") != std::string::npos);
    REQUIRE_FALSE(a.sources.empty());
    CHECK(a.sources.front().chunk_id == "evt_1#s1");
}

TEST_CASE("query with options predicts the choice the evidence supports") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u", .traits = {{"name", "Ash"}}}));
    ingest_request in{.user_id = "u"};
    in.events = {event("p1", "I'm vegetarian and I love spicy Thai curries.", "note"),
                 event("p2", "I never drink coffee after noon.", "note")};
    REQUIRE(e.ingest(in));
    query_request q{.user_id = "u", .question = "Which dinner would Ash choose?"};
    q.options = {"A steakhouse tasting menu", "A spicy Thai vegetarian curry", "Sushi omakase"};
    auto const a = e.query(q).value();
    REQUIRE(a.choice);
    CHECK(*a.choice == 1);
    REQUIRE(a.option_scores.size() == 3);
    CHECK(a.option_scores[1] > a.option_scores[0]);
    CHECK(a.answer.find("spicy Thai") != std::string::npos);
    REQUIRE_FALSE(a.sources.empty());
    CHECK(a.sources.front().chunk_id == "p1#s1");
}

TEST_CASE("query cache: honoured, and dropped when the user's data changes") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.events = {event("e1", "My favourite colour is green.", "note")};
    REQUIRE(e.ingest(in));
    query_request q{.user_id = "u", .question = "What is the favourite colour?", .use_cache = true};
    auto const first = e.query(q).value();
    CHECK(first.answer.find("green") != std::string::npos);
    in.events = {event("e1", "My favourite colour is now purple.", "note")};
    REQUIRE(e.ingest(in));
    auto const second = e.query(q).value();
    CHECK(second.answer.find("purple") != std::string::npos);
    REQUIRE(e.register_user({.user_id = "u", .traits = {{"x", 1}}}));
    CHECK(e.query(q).value() == second); // recomputed after a trait change, same data gives the same answer
}

TEST_CASE("summary: traits first, capped at max_chars on a word boundary, freshness honoured") {
    manual_clock clock;
    auto e = make_engine(clock);
    register_request r{.user_id = "usr_42af7c"};
    r.traits = {{"name", "Ash Lewis"}, {"timezone", "America/Los_Angeles"}};
    REQUIRE(e.register_user(r));
    ingest_request old_in{.user_id = "usr_42af7c"};
    old_in.events = {event("old", "I prefer morning meetings before 10 AM.", "note", 1)};
    REQUIRE(e.ingest(old_in));
    clock.advance(days(30));
    ingest_request new_in{.user_id = "usr_42af7c"};
    new_in.events = {event("new", "I prefer meetings after 1 PM, mornings are for focus.", "note", 9)};
    REQUIRE(e.ingest(new_in));

    auto const full = e.summary({.user_id = "usr_42af7c", .purpose = "work-style"}).value();
    CHECK(full.summary.starts_with("Ash Lewis (usr_42af7c). Timezone: America/Los_Angeles."));
    CHECK(full.summary.find("after 1 PM") != std::string::npos);
    CHECK(full.summary.find("after 1 PM") < full.summary.find("before 10 AM")); // newest first
    CHECK(full.generated_at == clock());

    auto const fresh = e.summary({.user_id = "usr_42af7c", .purpose = "work-style", .freshness_days = 7}).value();
    CHECK(fresh.summary.find("before 10 AM") == std::string::npos);
    CHECK(fresh.summary.find("after 1 PM") != std::string::npos);

    for (std::size_t cap : {1u, 10u, 37u, 60u}) {
        auto const s = e.summary({.user_id = "usr_42af7c", .purpose = "general", .max_chars = cap}).value();
        CHECK(text::count_code_points(s.summary) <= cap);
        CHECK(full.summary.size() > s.summary.size());
    }
    auto const cut = e.summary({.user_id = "usr_42af7c", .purpose = "general", .max_chars = 14}).value();
    CHECK(cut.summary == "Ash Lewis");

    auto const zero = e.summary({.user_id = "usr_42af7c", .max_chars = 0});
    REQUIRE_FALSE(zero);
    CHECK(zero.error().details.at("field") == "max_chars");
}

TEST_CASE("chunks and query are deterministic across two engines fed the same data") {
    auto run = [] {
        basic_engine e;
        (void)e.register_user({.user_id = "u"});
        ingest_request in{.user_id = "u"};
        for (int i = 0; i < 30; ++i)
            in.events.push_back(event("e" + std::to_string(i), "Note " + std::to_string(i) + " about project " +
                                                                   std::to_string(i % 4) + " and meeting rooms."));
        (void)e.ingest(in);
        return std::pair{e.chunks(ask("u", "project 2 meeting rooms", 10)).value(),
                         e.query({.user_id = "u", .question = "Which project uses meeting rooms?"}).value()};
    };
    auto const a = run();
    auto const b = run();
    CHECK(a.first == b.first);
    CHECK(a.second == b.second);
}

TEST_CASE("delete removes the user from store, index and cache, and tickets are per workspace") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.events = {event("e1", "Something to forget.")};
    REQUIRE(e.ingest(in));
    auto const del = e.delete_user({.user_id = "u", .reason = "user request"}).value();
    CHECK(del.status == "completed");
    CHECK(e.get_retriever().size({"default", "u"}) == 0);
    CHECK(e.get_store().list_users()->empty());
    CHECK(e.deletion_status({.ticket_id = del.ticket_id}).value() == del);
    auto const elsewhere = e.deletion_status({.workspace = "other", .ticket_id = del.ticket_id});
    REQUIRE_FALSE(elsewhere);
    CHECK(elsewhere.error().code == errc::not_found);
}

TEST_CASE("rebuild_index restores the retriever from the store without re-embedding") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u"};
    in.events = {event("e1", "The wifi password is on the fridge."), event("e2", "Parking is in the back.")};
    REQUIRE(e.ingest(in));
    auto const before = e.chunks(ask("u", "wifi password")).value();
    REQUIRE(e.get_retriever().remove_user({"default", "u"}));
    CHECK(e.chunks(ask("u", "wifi password"))->results.empty());
    REQUIRE(e.rebuild_index());
    CHECK(e.chunks(ask("u", "wifi password")).value() == before);
}

TEST_CASE("validation errors name the field") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u"}));
    auto field_of = [](auto const& r) { return std::string(r.error().details.at("field").as_string()); };
    CHECK(field_of(e.ingest({.user_id = ""})) == "user_id");
    CHECK(field_of(e.ingest({.user_id = "u"})) == "events");
    auto bad_role = ask("u", "x");
    bad_role.conversation[0].role = "narrator";
    CHECK(field_of(e.chunks(bad_role)) == "conversation[0].role");
    CHECK(field_of(e.query({.user_id = "u", .question = "\xff"})) == "question");
    query_request eleven{.user_id = "u", .question = "q"};
    eleven.options.assign(11, "x");
    CHECK(field_of(e.query(eleven)) == "options");
    CHECK(field_of(e.delete_user({.user_id = "u", .scope = "partial"})) == "scope");
}

TEST_CASE("summary with freshness_days finds fresh data behind many old, more relevant chunks") {
    manual_clock clock;
    auto e = make_engine(clock);
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request old_in{.user_id = "u"};
    for (int i = 0; i < 100; ++i)
        old_in.events.push_back(event("old" + std::to_string(i), "I prefer meetings and focus work, note " + std::to_string(i) + ".", "note", 1));
    REQUIRE(e.ingest(old_in));
    clock.advance(days(60));
    ingest_request new_in{.user_id = "u"};
    new_in.events = {event("fresh", "Started learning the cello this month.", "note", 20)};
    REQUIRE(e.ingest(new_in));
    auto const s = e.summary({.user_id = "u", .purpose = "work-style", .freshness_days = 7}).value();
    CHECK(s.summary.find("cello") != std::string::npos);
    CHECK(s.summary.find("note 1.") == std::string::npos);
}

TEST_CASE("the query cache never answers one user's question with another user's answer") {
    basic_engine e;
    std::string const a = "a", b = std::string("a\0b", 3);
    REQUIRE(e.register_user({.user_id = a, .traits = {{"city", "Paris"}}}));
    REQUIRE(e.register_user({.user_id = b, .traits = {{"city", "Tokyo"}}}));
    auto const first = e.query({.user_id = a, .question = std::string("b\0Which city do I live in?", 26), .use_cache = true});
    REQUIRE(first);
    auto const second = e.query({.user_id = b, .question = "Which city do I live in?", .use_cache = true}).value();
    CHECK(second.user_id == b);
    CHECK(second.answer.find("Tokyo") != std::string::npos);
}

TEST_CASE("POST /register by email finds a user registered with that email under any id") {
    basic_engine e;
    REQUIRE(e.register_user({.user_id = "u1", .email = "ash@x.com", .traits = {{"name", "Ash"}}}));
    auto const found = e.register_user({.email = "ASH@x.com"}).value();
    CHECK(found.user_id == "u1");
    REQUIRE(e.register_user({.user_id = "u1", .email = "ash@new.com"}));
    CHECK(e.register_user({.email = "ash@new.com"})->user_id == "u1");
    CHECK(e.register_user({.email = "ash@x.com"})->user_id.starts_with("usr_")); // the old email is free again
    REQUIRE(e.delete_user({.user_id = "u1"}));
    CHECK(e.register_user({.email = "ash@new.com"})->user_id.starts_with("usr_"));
    CHECK(e.register_user({.workspace = "other", .email = "ash@new.com"})->user_id.starts_with("usr_")); // per workspace
}

// ---------------------------------------------------------------- export and import

namespace {

/// A user with traits, an email, a purpose, events (one with a subject), documents (one
/// without an id) and a message, ingested over two days from two sources.
void populate(basic_engine& e, manual_clock const& clock, std::string const& user = "usr_42af7c") {
    register_request r{.user_id = user, .email = "ash@example.com", .purpose = "scheduling assistant"};
    r.traits = boost::json::parse(R"({"name":"Ash Lewis","timezone":"America/Los_Angeles","prefs":{"tone":"concise"}})")
                   .as_object();
    REQUIRE(e.register_user(r));
    ingest_request in{.user_id = user, .source = "gmail"};
    in.events = {event("evt_1", "Let's move stand-up to 2 PM starting next week."),
                 event("evt_2", "No meetings before 10 AM, please.", "email", 8)};
    in.events[1].metadata = {{"subject", "Mornings"}, {"sender", "ash@example.com"}};
    in.documents = {{.doc_id = "doc_7", .content = "Focus blocks 9-12 PT.\n\nMeetings after 1 PM preferred.",
                     .title = "Working preferences", .kind = "note"},
                    {.content = "Allergic to peanuts; vegetarian."}};
    in.message_history = {{"user", "I like oat milk lattes.", std::nullopt, {}}};
    REQUIRE(e.ingest(in));
    clock.advance(days(3));
    ingest_request later{.user_id = user, .source = "slack"};
    later.events = {event("evt_3", "Book the Tahoe cabin for the team offsite.", "message", 12)};
    REQUIRE(e.ingest(later));
}

std::vector<std::string> const transfer_questions = {"When is stand-up?", "meetings after 1 PM", "What does Ash drink?",
                                                     "peanuts", "Tahoe offsite", "mornings"};

} // namespace

TEST_CASE("export then import into another engine: same profile, items, chunks results and summaries") {
    manual_clock src_clock;
    auto src = make_engine(src_clock);
    populate(src, src_clock);
    user_ref const ref{"default", "usr_42af7c"};

    auto const exported = src.export_user({.user_id = "usr_42af7c"}).value();
    CHECK(exported.user_id == "usr_42af7c");
    CHECK(exported.email == "ash@example.com");
    CHECK(exported.purpose == "scheduling assistant");
    CHECK(exported.items == src.get_store().get_items(ref).value()); // the store's order: (time, id)
    REQUIRE(exported.items.size() == 6);

    manual_clock dst_clock;
    dst_clock.advance(days(40)); // imported much later: the items keep their own times
    auto dst = make_engine(dst_clock);
    auto const imported = dst.import_user({.data = exported}).value();
    CHECK(imported == import_response{"usr_42af7c", 4, 2});

    auto const a = src.get_store().get_user(ref).value();
    auto const b = dst.get_store().get_user(ref).value();
    CHECK(b.traits == a.traits);
    CHECK(b.email == a.email);
    CHECK(b.purpose == a.purpose);
    CHECK(b.created_at == a.created_at); // a new user keeps the exported created_at
    CHECK(b.updated_at == dst_clock());
    CHECK(dst.get_store().get_items(ref).value() == src.get_store().get_items(ref).value()); // times, ingested_at, titles
    CHECK(dst.get_store().get_chunks(ref).value() == src.get_store().get_chunks(ref).value()); // same policies
    for (auto const& q : transfer_questions) {
        INFO(q);
        CHECK(dst.chunks(ask("usr_42af7c", q, 10)).value() == src.chunks(ask("usr_42af7c", q, 10)).value());
    }
    CHECK(dst.export_user({.user_id = "usr_42af7c"})->items == exported.items);
    CHECK(dst.register_user({.email = "ash@example.com"})->user_id == "usr_42af7c"); // the email finds the user

    // ingested_at came along: seen from the same instant, freshness selects the same data.
    *dst_clock.seconds = src_clock.seconds->load();
    summary_request const fresh{.user_id = "usr_42af7c", .purpose = "general", .freshness_days = 2};
    auto const s = src.summary(fresh).value();
    CHECK(dst.summary(fresh).value() == s);
    CHECK(s.summary.find("Tahoe") != std::string::npos);
    CHECK(s.summary.find("oat milk") == std::string::npos);
}

TEST_CASE("import is idempotent, merges traits like register and keeps the items it does not name") {
    manual_clock clock;
    auto src = make_engine(clock);
    populate(src, clock);
    auto const x = src.export_user({.user_id = "usr_42af7c"}).value();
    user_ref const ref{"default", "usr_42af7c"};

    auto dst = make_engine(clock);
    REQUIRE(dst.register_user({.user_id = "usr_42af7c", .traits = {{"city", "Paris"}, {"name", "A. Lewis"}}}));
    auto const created = dst.get_store().get_user(ref)->created_at;
    ingest_request own{.user_id = "usr_42af7c"};
    own.events = {event("own_note", "Prefers window seats.", "note"), event("evt_1", "An older version of evt_1.")};
    REQUIRE(dst.ingest(own));

    clock.advance(hours(1));
    auto const first = dst.import_user({.data = x}).value();
    auto const once = dst.get_store().get_user(ref).value();
    CHECK(once.traits.at("city") == "Paris");      // kept: not in the export
    CHECK(once.traits.at("name") == "Ash Lewis");  // replaced, as PUT /register would
    CHECK(once.created_at == created);             // an existing user keeps its own
    CHECK(dst.get_store().get_item(ref, "own_note")->has_value());
    CHECK(dst.get_store().get_item(ref, "evt_1")->value().content == "Let's move stand-up to 2 PM starting next week.");
    for (auto const& hit : dst.chunks(ask("usr_42af7c", "An older version of evt_1.", 20)).value().results)
        CHECK(hit.excerpt.find("older version") == std::string::npos); // the index was replaced too
    auto const items = dst.get_store().get_items(ref).value();
    auto const chunks = dst.get_store().get_chunks(ref).value();
    CHECK(items.size() == 7);

    clock.advance(hours(1));
    CHECK(dst.import_user({.data = x}).value() == first);
    auto const twice = dst.get_store().get_user(ref).value();
    CHECK(twice.revision == once.revision); // nothing changed, so nothing was written
    CHECK(twice.updated_at == once.updated_at);
    CHECK(twice.traits == once.traits);
    CHECK(dst.get_store().get_items(ref).value() == items);
    CHECK(dst.get_store().get_chunks(ref).value() == chunks);
    CHECK(dst.get_retriever().size(ref) == chunks.size());
}

TEST_CASE("import: one bad line rejects the whole import, names the line and field, and changes nothing") {
    manual_clock clock;
    auto src = make_engine(clock);
    populate(src, clock);
    auto const x = src.export_user({.user_id = "usr_42af7c"}).value();
    auto dst = make_engine(clock);
    auto const event_at = static_cast<std::size_t>(
        std::ranges::find(x.items, item_kind::event, &item::kind) - x.items.begin());
    auto const document_at = static_cast<std::size_t>(
        std::ranges::find(x.items, item_kind::document, &item::kind) - x.items.begin());

    auto const rejected = [&](user_export const& bad, std::string const& user_id = {}) {
        auto const r = dst.import_user({.user_id = user_id, .data = bad});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == errc::invalid_request);
        return r.error();
    };
    auto bad = x;
    bad.items.back().content = "   ";
    auto e = rejected(bad);
    CHECK(e.details.at("line") == x.items.size() + 1);
    CHECK(e.details.at("field") == "content");
    CHECK_FALSE(e.details.contains("index"));
    CHECK(e.message == "line " + std::to_string(x.items.size() + 1) + ": content must not be empty");
    CHECK(dst.get_store().list_users()->empty()); // not even the user was created

    bad = x;
    bad.items[event_at].type.clear();
    e = rejected(bad);
    CHECK(e.details.at("line") == event_at + 2);
    CHECK(e.details.at("field") == "event_type"); // as the export line names it
    CHECK(e.message == "line " + std::to_string(event_at + 2) + ": event_type is required");

    bad = x;
    bad.items[document_at].id = "doc#1";
    e = rejected(bad);
    CHECK(e.details.at("field") == "doc_id");
    CHECK(e.details.at("line") == document_at + 2);

    bad = x;
    bad.items[event_at].id = std::string(api_limits::max_item_id_chars + 1, 'e');
    CHECK(rejected(bad).details.at("field") == "event_id");

    bad = x;
    bad.email = "not-an-email";
    e = rejected(bad);
    CHECK(e.details.at("line") == 1);
    CHECK(e.details.at("field") == "email");

    bad = x;
    bad.user_id = std::string(api_limits::max_user_id_chars + 1, 'u');
    CHECK(rejected(bad).details.at("line") == 1);
    e = rejected(x, std::string(api_limits::max_user_id_chars + 1, 'u')); // ?user_id= is not a line
    CHECK(e.details.at("field") == "user_id");
    CHECK_FALSE(e.details.contains("line"));
    CHECK(dst.get_store().list_users()->empty());

    // An existing user is left exactly as it was.
    REQUIRE(dst.import_user({.data = x}));
    user_ref const ref{"default", "usr_42af7c"};
    auto const before = dst.get_store().get_user(ref).value();
    bad = x;
    bad.traits = {{"name", "Someone Else"}};
    bad.items.front().content = "A new version that must not land.";
    bad.items.back().content.clear();
    (void)rejected(bad);
    auto const after = dst.get_store().get_user(ref).value();
    CHECK(after.revision == before.revision);
    CHECK(after.traits == before.traits);
    CHECK(dst.get_store().get_items(ref).value() == x.items);
}

TEST_CASE("export of an unknown user is USER_NOT_FOUND; import under another user_id or workspace") {
    manual_clock clock;
    auto e = make_engine(clock);
    populate(e, clock, "u1");
    auto const ghost = e.export_user({.user_id = "ghost"});
    REQUIRE_FALSE(ghost);
    CHECK(ghost.error().code == errc::user_not_found);
    auto const elsewhere = e.export_user({.workspace = "acme", .user_id = "u1"});
    REQUIRE_FALSE(elsewhere);
    CHECK(elsewhere.error().code == errc::user_not_found);
    CHECK(elsewhere.error().message == "no user 'u1' in this workspace"); // as if it never existed

    auto const x = e.export_user({.user_id = "u1"}).value();
    CHECK(e.import_user({.user_id = "u2", .data = x}).value().user_id == "u2");
    CHECK(e.import_user({.workspace = "acme", .data = x}).value().user_id == "u1");
    for (user_ref const& ref : {user_ref{"default", "u2"}, user_ref{"acme", "u1"}}) {
        INFO(ref.workspace << "/" << ref.user_id);
        CHECK(e.get_store().get_items(ref).value() == x.items);
        CHECK(e.get_store().get_user(ref)->traits == x.traits);
    }
    for (auto const& q : transfer_questions) {
        auto const want = e.chunks(ask("u1", q)).value();
        CHECK(e.chunks(ask("u2", q)).value() == want);
        CHECK(e.chunks([&] { auto c = ask("u1", q); c.workspace = "acme"; return c; }()).value() == want);
    }
    CHECK(e.export_user({.user_id = "u1"}).value() == x); // the source is untouched
}

namespace {

/// The hashing embedder without its analyzer: an engine over it cannot share analysis.
struct self_analyzing_embedder {
    hashing_embedder inner;
    std::size_t dimension() const { return inner.dimension(); }
    result<void> embed(std::span<std::string_view const> texts, std::span<float> out) const { return inner.embed(texts, out); }
};

} // namespace

TEST_CASE("an engine that analyzes each text once ranks exactly as one whose policies analyze for themselves") {
    // The shared analyses must follow their items through every path that drops or
    // reorders items: a repeated id (the later wins), dedupe skipping stored ids, a
    // re-ingest replacing an item, an import writing only what changed.
    using self_engine = engine<memory_store, self_analyzing_embedder, flat_retriever, extractive_answerer>;
    STATIC_REQUIRE_FALSE(analyzing_embedder<self_analyzing_embedder>);
    manual_clock clock;
    engine_options o;
    o.clock = clock;
    basic_engine once(memory_store{}, hashing_embedder{}, flat_retriever{}, extractive_answerer{}, o);
    self_engine twice(memory_store{}, self_analyzing_embedder{}, flat_retriever{}, extractive_answerer{}, o);
    std::string long_event; // several segments
    for (int i = 0; i < 60; ++i) long_event += "along the river number " + std::to_string(i) + ", ";
    auto const both = [&](auto const& call) {
        call(once);
        call(twice);
    };
    both([&](auto& e) {
        REQUIRE(e.register_user({.user_id = "u"}));
        ingest_request in{.user_id = "u"};
        in.events = {event("a", "Coffee with Dana on Monday about the budget."), event("b", "first version of b"),
                     event("c", "Piano lessons moved to Thursday evening."), event("b", "Second version: running shoes."),
                     event("d", "Budget review " + long_event + " then the long walk home.")};
        in.documents = {{.doc_id = "p", .content = "Paragraph one on travel.\n\nParagraph two on coffee and Lisbon."}};
        REQUIRE(e.ingest(in));
        ingest_request dedupe{.user_id = "u", .dedupe = true};
        dedupe.events = {event("a", "A different a, skipped."), event("f", "Lisbon trip in May, coffee every morning."),
                         event("c", "A different c, skipped."), event("g", "Running club on Saturdays.")};
        REQUIRE(e.ingest(dedupe).value().skipped.size() == 2);
        ingest_request replace{.user_id = "u"};
        replace.events = {event("c", "Piano lessons are cancelled; guitar instead.")};
        REQUIRE(e.ingest(replace));
    });
    auto exported = once.export_user({.user_id = "u"}).value();
    REQUIRE(exported.items.size() == 7);
    exported.items[1].content = "Changed by the import: a budget spreadsheet."; // one changed, the rest unchanged
    exported.items.push_back(exported.items[0]);
    exported.items.back().id = "imported";
    exported.items.back().content = "An imported note about guitar and coffee.";
    both([&](auto& e) { REQUIRE(e.import_user({.data = exported})); });

    user_ref const ref{"default", "u"};
    CHECK(once.get_retriever().size(ref) == twice.get_retriever().size(ref));
    CHECK(once.get_store().get_chunks(ref).value() == twice.get_store().get_chunks(ref).value());
    for (auto const* q : {"coffee", "budget spreadsheet", "running shoes", "piano guitar", "Lisbon in May", "long walk",
                          "first version", "skipped"}) {
        INFO(q);
        auto const a = once.chunks(ask("u", q, 10)).value();
        auto const b = twice.chunks(ask("u", q, 10)).value();
        CHECK(a == b);
        CHECK(!a.results.empty());
    }
}

TEST_CASE("chunks: a question about now (a cue word, \"these days\") prefers the newer of two equal chunks") {
    // The same text months apart scores the same without recency; the tie then goes to the
    // smaller chunk id, the older one here. A cue word in the last user turn, in any case,
    // turns recency on; the same letters inside another word do not.
    manual_clock clock;
    auto e = make_engine(clock);
    REQUIRE(e.register_user({.user_id = "u"}));
    ingest_request in{.user_id = "u", .source = "test"};
    in.events = {event("a_old", "I drink oat milk coffee every morning", "note", 1),
                 event("b_new", "I drink oat milk coffee every morning", "note", 10)};
    in.events[0].time = sys_days{year{2025} / 3 / 1} + hours{9};
    REQUIRE(e.ingest(in));
    auto const first = [&](std::string const& question) {
        auto const r = e.chunks(ask("u", question, 2)).value();
        REQUIRE(r.results.size() == 2);
        return r.results.front().chunk_id;
    };
    // Text other than ASCII is folded before the cues are looked for: "nów" is "now".
    for (auto const* plain : {"What coffee do I drink?", "Do I know how to drink coffee?", "Snowy coffee drink?",
                              "Is my caf\u00e9 coffee drink late?"})
        CHECK(first(plain).starts_with("a_old"));
    for (auto const* cued : {"What coffee do I drink now?", "What coffee do I drink LATELY?",
                             "Currently, what coffee do I drink?", "What coffee do I drink these days?",
                             "What coffee do I drink n\u00f3w?"})
        CHECK(first(cued).starts_with("b_new"));
}
