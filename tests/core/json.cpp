#include <persona/json.hpp>

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

using namespace persona;
using namespace std::chrono_literals;

namespace {

template <class T>
result<T> parse_as(std::string_view body) {
    auto v = parse_json(body);
    if (!v) return v.error();
    return from_json<T>(*v);
}

// Checks that `body` is rejected (as a T) with `details.field` == `field` and, for an
// array element, `details.index` == `index`; returns the message for further checks.
template <class T>
std::string rejected(std::string_view body, std::string_view field, std::optional<std::int64_t> index = {}) {
    INFO("body: " << body);
    auto const r = parse_as<T>(body);
    REQUIRE_FALSE(r.has_value());
    persona::error const& e = r.error();
    INFO("message: " << e.message);
    CHECK(e.code == errc::invalid_request);
    auto const* f = e.details.if_contains("field");
    REQUIRE(f != nullptr);
    CHECK(f->as_string() == field);
    auto const* i = e.details.if_contains("index");
    if (index) {
        REQUIRE(i != nullptr);
        CHECK(i->to_number<std::int64_t>() == *index);
    } else {
        CHECK(i == nullptr);
    }
    return e.message;
}

template <class T>
T round_trip(T const& x) {
    auto const text = boost::json::serialize(to_json(x));
    INFO("json: " << text);
    auto back = parse_as<T>(text);
    REQUIRE(back.has_value());
    return *back;
}

constexpr timestamp t0 = std::chrono::sys_days{std::chrono::year{2025} / 10 / 11} + 16h + 5min;

} // namespace

//------------------------------------------------------------------------------

TEST_CASE("parse_json accepts one JSON value") {
    auto v = parse_json(R"( {"a":[1,2.5,"x",true,null,{"b":{}}]} )");
    REQUIRE(v.has_value());
    CHECK(boost::json::serialize(*v) == R"({"a":[1,2.5E0,"x",true,null,{"b":{}}]})");
    CHECK(parse_json("[]").has_value());
    CHECK(parse_json("\"s\"").has_value());
}

TEST_CASE("parse_json rejects what is not exactly one valid JSON value") {
    auto check = [](std::string_view body) {
        INFO("body: " << body);
        auto r = parse_json(body);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_request);
        CHECK(r.error().details.at("field").as_string() == "body");
        CHECK(r.error().message.starts_with("request body is not valid JSON: "));
    };
    check("");
    check(" \r\n\t ");
    check("{");
    check(R"({"a":})");
    check(R"({"a":1,})");
    check("{} x");
    check("{}{}");
    check("{'a':1}");
    check("nul");
    check(R"({"a":"bad)"
          "\xff"
          R"("})");                   // invalid UTF-8 byte
    check("{\"a\":\"\xc0\xaf\"}");    // overlong encoding
    check("{\"a\":\"\xed\xa0\x80\"}"); // UTF-16 surrogate
    check("{\"\xfe\":1}");             // in a key
    check("[1e999]");                  // overflows a double
    check(R"({"n":-1e999})");
    check("// c\n{}");                 // comments are not JSON
}

TEST_CASE("parse_json rejects duplicate keys in any object") {
    auto dup = [](std::string_view body, std::string_view key) {
        INFO("body: " << body);
        auto r = parse_json(body);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == errc::invalid_request);
        CHECK(r.error().details.at("field").as_string() == key);
        CHECK(r.error().message == "duplicate key '" + std::string(key) + "'");
    };
    dup(R"({"user_id":"a","user_id":"b"})", "user_id");
    dup(R"({"traits":{"x":1,"y":2,"x":1}})", "x");
    dup(R"({"events":[{"a":1},{"b":1,"b":2}]})", "b");
    dup(R"({"ab":1,"a\u0062":2})", "ab"); // the same key, spelled with an escape

    // The same key in different objects is fine.
    CHECK(parse_json(R"({"a":{"k":1},"b":{"k":2},"k":[{"k":1},{"k":2}]})").has_value());

    // Objects past the handful of keys compared one by one, nested ones between them,
    // and keys longer than a short string: a repeat is found wherever it is.
    std::string const long_key(40, 'q');
    std::string big = "{";
    for (int i = 0; i < 40; ++i) {
        big += "\"k" + std::to_string(i) + "\":{\"k0\":1,\"" + long_key + "\":2},";
        if (i == 20) big += "\"" + long_key + "\":3,";
    }
    CHECK(parse_json(big + "\"end\":0}").has_value());
    dup(big + "\"k3\":0}", "k3");
    dup(big + "\"k39\":0}", "k39");
    dup(big + "\"" + long_key + "\":0}", long_key);
    dup(R"({"a":{"b":1,"c":{"d":1},"b":2}})", "b");
}

TEST_CASE("parse_json bounds nesting") {
    std::string deep(10'000, '[');
    deep += std::string(10'000, ']');
    auto r = parse_json(deep);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().details.at("field").as_string() == "body");
    CHECK(r.error().message.find("64") != std::string::npos);

    auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
    CHECK(parse_json(nested(64)).has_value());
    CHECK_FALSE(parse_json(nested(65)).has_value());
    CHECK(parse_json(nested(65), 100).has_value());
    CHECK_FALSE(parse_json(R"({"a":{"b":[1]}})", 2).has_value());
}

TEST_CASE("from_json needs an object body") {
    for (auto body : {"[]", "\"x\"", "3", "null", "true"}) {
        rejected<register_request>(body, "body");
        rejected<ingest_request>(body, "body");
        rejected<query_request>(body, "body");
        rejected<chunks_request>(body, "body");
        rejected<delete_request>(body, "body");
    }
}

//------------------------------------------------------------------------------

TEST_CASE("register_request: valid bodies") {
    auto r = parse_as<register_request>(
        R"({"user_id":"usr_42","traits":{"tz":"PT","work":{"focus":"9-12","old":null}},"purpose":"coach","extra":1})");
    REQUIRE(r.has_value());
    CHECK(r->workspace == default_workspace);
    CHECK(r->user_id == "usr_42");
    CHECK_FALSE(r->email);
    CHECK(r->purpose == "coach");
    CHECK(r->traits.at("tz") == "PT");
    CHECK(r->traits.at("work").at("old").is_null()); // null traits are kept: they remove a key

    auto e = parse_as<register_request>(R"({"email":"ann@example.com","traits":null})");
    REQUIRE(e.has_value());
    CHECK(e->user_id.empty());
    CHECK(e->email == "ann@example.com");
    CHECK(e->traits.empty());

    // 128 code points, 256 bytes.
    std::string id;
    for (int i = 0; i < 128; ++i) id += "\xc3\xa9";
    CHECK(parse_as<register_request>(R"({"user_id":")" + id + "\"}").has_value());
}

TEST_CASE("register_request: errors") {
    CHECK(rejected<register_request>("{}", "user_id") == "user_id is required (or email)");
    rejected<register_request>(R"({"user_id":null,"traits":{}})", "user_id");
    rejected<register_request>(R"({"user_id":""})", "user_id");
    rejected<register_request>(R"({"user_id":")" + std::string(129, 'a') + "\"}", "user_id");
    CHECK(rejected<register_request>(R"({"user_id":42})", "user_id") == "user_id must be a string");
    for (auto email : {"", "nope", "@x.com", "ann@", "a@b@c"})
        rejected<register_request>(R"({"email":")" + std::string(email) + "\"}", "email");
    rejected<register_request>(R"({"user_id":"u","email":7})", "email");
    for (auto traits : {"[]", "\"x\"", "3", "true"})
        rejected<register_request>(R"({"user_id":"u","traits":)" + std::string(traits) + "}", "traits");
    rejected<register_request>(R"({"user_id":"u","purpose":["x"]})", "purpose");
}

//------------------------------------------------------------------------------

TEST_CASE("ingest_request: valid body with every kind of item") {
    auto r = parse_as<ingest_request>(R"({
        "user_id": "u1", "source": "gmail",
        "events": [
          {"event_id": "evt_1", "type": "email", "timestamp": "2025-10-11T16:05:00Z",
           "content": "Moved the sync to 3 PM.", "metadata": {"sender": "a@b.c"}},
          {"event_id": "evt_2", "type": "note", "timestamp": "2025-10-11T18:05:00.250+02:00", "content": "x"}
        ],
        "documents": [
          {"doc_id": "doc_7", "content": "Focus 9-12.", "title": "Prefs", "document_type": "notes",
           "created_at": "2025-10-11T16:05:00Z", "metadata": {}},
          {"doc_id": "", "content": "y", "kind": "wiki", "document_type": "ignored"}
        ],
        "message_history": [
          {"role": "user", "content": "hi", "timestamp": "2025-10-11T16:05:00Z", "message_id": "m1"},
          {"role": "tool", "content": "ok", "id": "m2", "message_id": "ignored"},
          {"role": "assistant", "content": "yo"}
        ],
        "options": {"dedupe": true}
    })");
    REQUIRE(r.has_value());
    CHECK(r->user_id == "u1");
    CHECK(r->source == "gmail");
    CHECK(r->dedupe);
    REQUIRE(r->events.size() == 2);
    CHECK(r->events[0].event_id == "evt_1");
    CHECK(r->events[0].type == "email");
    CHECK(r->events[0].time == t0);
    CHECK(r->events[0].content == "Moved the sync to 3 PM.");
    CHECK(r->events[0].metadata.at("sender") == "a@b.c");
    CHECK(r->events[1].time == t0); // +02:00 normalised to UTC, fraction dropped
    REQUIRE(r->documents.size() == 2);
    CHECK(r->documents[0].doc_id == "doc_7");
    CHECK(r->documents[0].title == "Prefs");
    CHECK(r->documents[0].kind == "notes"); // alias document_type
    CHECK(r->documents[0].created_at == t0);
    CHECK(r->documents[1].doc_id.empty()); // derived later
    CHECK(r->documents[1].kind == "wiki"); // kind wins over document_type
    CHECK_FALSE(r->documents[1].created_at);
    REQUIRE(r->message_history.size() == 3);
    CHECK(r->message_history[0].role == "user");
    CHECK(r->message_history[0].id == "m1"); // alias message_id
    CHECK(r->message_history[0].time == t0);
    CHECK(r->message_history[1].id == "m2"); // id wins over message_id
    CHECK(r->message_history[2].id.empty());
    CHECK_FALSE(r->message_history[2].time);

    auto minimal = parse_as<ingest_request>(R"({"user_id":"u","documents":[{"content":"c"}],"options":{}})");
    REQUIRE(minimal.has_value());
    CHECK_FALSE(minimal->dedupe);
}

namespace {

// An ingest body whose `array` holds a valid `item` then a copy of it with member `key`
// set to the JSON text `raw` (removed when `raw` is empty): errors are at index 1.
std::string ingest_with(std::string_view array, boost::json::object const& item, std::string_view key,
                        std::string_view raw) {
    auto bad = item;
    if (raw.empty()) bad.erase(key);
    else bad[key] = boost::json::parse(raw);
    boost::json::object body{{"user_id", "u"}};
    body[array] = boost::json::array{item, bad};
    return boost::json::serialize(body);
}

} // namespace

TEST_CASE("ingest_request: errors name the field and the index") {
    boost::json::object const event{
        {"event_id", "e"}, {"type", "note"}, {"timestamp", "2025-10-11T16:05:00Z"}, {"content", "ok"}};
    auto const ev = [&](std::string_view key, std::string_view raw) { return ingest_with("events", event, key, raw); };
    CHECK(parse_as<ingest_request>(ev("metadata", "{}")).has_value());

    rejected<ingest_request>(R"({"events":[{"event_id":"e","type":"t","timestamp":"2025-10-11T16:05:00Z","content":"c"}]})",
                             "user_id");
    CHECK(rejected<ingest_request>(R"({"user_id":"u"})", "events") ==
          "at least one event, document or message is required");
    rejected<ingest_request>(R"({"user_id":"u","events":[],"documents":[],"message_history":null})", "events");
    rejected<ingest_request>(R"({"user_id":"u","events":{}})", "events");
    rejected<ingest_request>(R"({"user_id":"u","documents":"d"})", "documents");
    rejected<ingest_request>(R"({"user_id":"u","message_history":1})", "message_history");
    rejected<ingest_request>(R"({"user_id":"u","source":1,"documents":[{"content":"c"}]})", "source");

    rejected<ingest_request>(R"({"user_id":"u","events":[{"event_id":"e","type":"t","timestamp":"2025-10-11T16:05:00Z","content":"c"},"x"]})",
                             "events[1]", 1);
    rejected<ingest_request>(ev("event_id", ""), "events[1].event_id", 1);
    rejected<ingest_request>(ev("event_id", "null"), "events[1].event_id", 1);
    rejected<ingest_request>(ev("event_id", R"("")"), "events[1].event_id", 1);
    rejected<ingest_request>(ev("event_id", R"("a#b")"), "events[1].event_id", 1);
    rejected<ingest_request>(ev("event_id", "\"" + std::string(257, 'e') + "\""), "events[1].event_id", 1);
    CHECK(parse_as<ingest_request>(ev("event_id", "\"" + std::string(256, 'e') + "\"")).has_value());
    rejected<ingest_request>(ev("event_id", "7"), "events[1].event_id", 1);
    rejected<ingest_request>(ev("type", ""), "events[1].type", 1);
    rejected<ingest_request>(ev("type", R"("")"), "events[1].type", 1);
    rejected<ingest_request>(ev("timestamp", ""), "events[1].timestamp", 1);
    auto const msg = rejected<ingest_request>(ev("timestamp", R"("yesterday")"), "events[1].timestamp", 1);
    CHECK(msg.find("2025-10-11T16:05:00Z") != std::string::npos);
    rejected<ingest_request>(ev("timestamp", "1760198700"), "events[1].timestamp", 1);
    rejected<ingest_request>(ev("content", ""), "events[1].content", 1);
    rejected<ingest_request>(ev("content", R"(" \n\t")"), "events[1].content", 1);
    rejected<ingest_request>(ev("content", R"("")"), "events[1].content", 1);
    rejected<ingest_request>(ev("metadata", "[]"), "events[1].metadata", 1);

    boost::json::object const document{{"content", "c"}};
    auto const doc = [&](std::string_view key, std::string_view raw) {
        return ingest_with("documents", document, key, raw);
    };
    CHECK(parse_as<ingest_request>(doc("doc_id", R"("")")).has_value());
    rejected<ingest_request>(doc("content", ""), "documents[1].content", 1);
    rejected<ingest_request>(doc("doc_id", R"("d#p1")"), "documents[1].doc_id", 1);
    rejected<ingest_request>(doc("created_at", R"("2025-13-01T00:00:00Z")"), "documents[1].created_at", 1);
    rejected<ingest_request>(doc("kind", "5"), "documents[1].kind", 1);
    rejected<ingest_request>(doc("document_type", "5"), "documents[1].kind", 1);
    rejected<ingest_request>(doc("title", "[]"), "documents[1].title", 1);
    rejected<ingest_request>(doc("metadata", R"("m")"), "documents[1].metadata", 1);

    boost::json::object const message{{"role", "user"}, {"content", "c"}};
    auto const m = [&](std::string_view key, std::string_view raw) {
        return ingest_with("message_history", message, key, raw);
    };
    rejected<ingest_request>(m("role", R"("robot")"), "message_history[1].role", 1);
    rejected<ingest_request>(m("role", ""), "message_history[1].role", 1);
    rejected<ingest_request>(m("content", R"("")"), "message_history[1].content", 1);
    rejected<ingest_request>(m("timestamp", R"("soon")"), "message_history[1].timestamp", 1);
    rejected<ingest_request>(m("id", R"("m#1")"), "message_history[1].id", 1);
    rejected<ingest_request>(m("message_id", R"("m#1")"), "message_history[1].id", 1);

    rejected<ingest_request>(R"({"user_id":"u","documents":[{"content":"c"}],"options":true})", "options");
    rejected<ingest_request>(R"({"user_id":"u","documents":[{"content":"c"}],"options":{"dedupe":"yes"}})",
                             "options.dedupe");
}

//------------------------------------------------------------------------------

TEST_CASE("query_request") {
    auto q = parse_as<query_request>(R"({"user_id":"u","question":"When do I focus?"})");
    REQUIRE(q.has_value());
    CHECK(q->question == "When do I focus?");
    CHECK_FALSE(q->use_cache);
    CHECK(q->options.empty());

    auto o = parse_as<query_request>(R"({"user_id":"u","question":"q","use_cache":true,"options":["tea","coffee"]})");
    REQUIRE(o.has_value());
    CHECK(o->use_cache);
    CHECK(o->options == std::vector<std::string>{"tea", "coffee"});

    rejected<query_request>(R"({"question":"q"})", "user_id");
    rejected<query_request>(R"({"user_id":"u"})", "question");
    rejected<query_request>(R"({"user_id":"u","question":"   "})", "question");
    rejected<query_request>(R"({"user_id":"u","question":"q","use_cache":"true"})", "use_cache");
    rejected<query_request>(R"({"user_id":"u","question":"q","options":"a"})", "options");
    rejected<query_request>(R"({"user_id":"u","question":"q","options":[]})", "options");
    rejected<query_request>(R"({"user_id":"u","question":"q","options":["a"]})", "options");
    rejected<query_request>(R"({"user_id":"u","question":"q","options":["a","b","c","d","e","f","g","h","i","j","k"]})",
                            "options");
    CHECK(parse_as<query_request>(R"({"user_id":"u","question":"q","options":["a","b","c","d","e","f","g","h","i","j"]})")
              .has_value());
    rejected<query_request>(R"({"user_id":"u","question":"q","options":["a",""]})", "options[1]", 1);
    rejected<query_request>(R"({"user_id":"u","question":"q","options":[3,"b"]})", "options[0]", 0);
}

//------------------------------------------------------------------------------

TEST_CASE("chunks_request: valid bodies and aliases") {
    auto c = parse_as<chunks_request>(
        R"({"user_id":"u","conversation":[{"role":"system","content":""},{"role":"user","content":"hi"}]})");
    REQUIRE(c.has_value());
    CHECK(c->top_k == 5);
    CHECK_FALSE(c->similarity_threshold);
    REQUIRE(c->conversation.size() == 2);
    CHECK(c->conversation[1].role == "user");
    CHECK(c->conversation[1].content == "hi");

    auto h = parse_as<chunks_request>(
        R"({"user_id":"u","history":[{"role":"assistant","content":"a"}],"k":3,"similarity_threshold":0.25})");
    REQUIRE(h.has_value());
    CHECK(h->conversation.at(0).role == "assistant");
    CHECK(h->top_k == 3);
    CHECK(h->similarity_threshold == 0.25);

    auto ch = parse_as<chunks_request>(
        R"({"user_id":"u","conversation_history":[{"role":"user","content":"x"}],"top_k":20.0,"similarity_threshold":1})");
    REQUIRE(ch.has_value());
    CHECK(ch->conversation.at(0).content == "x");
    CHECK(ch->top_k == 20);
    CHECK(ch->similarity_threshold == 1.0);

    // The first present of conversation, history, conversation_history wins; top_k wins over k.
    auto both = parse_as<chunks_request>(R"({"user_id":"u","conversation_history":[{"role":"user","content":"3"}],
        "history":[{"role":"user","content":"2"}],"conversation":null,"top_k":1,"k":2})");
    REQUIRE(both.has_value());
    CHECK(both->conversation.at(0).content == "2");
    CHECK(both->top_k == 1);
}

TEST_CASE("chunks_request: errors") {
    auto const body = [](std::string_view extra) {
        return R"({"user_id":"u","conversation":[{"role":"user","content":"hi"}])" + std::string(extra) + "}";
    };
    rejected<chunks_request>(R"({"conversation":[{"role":"user","content":"hi"}]})", "user_id");
    rejected<chunks_request>(R"({"user_id":"u"})", "conversation");
    rejected<chunks_request>(R"({"user_id":"u","conversation":[]})", "conversation");
    rejected<chunks_request>(R"({"user_id":"u","history":{}})", "conversation");
    rejected<chunks_request>(R"({"user_id":"u","conversation":[{"role":"user","content":"a"},{"role":"bot","content":"b"}]})",
                             "conversation[1].role", 1);
    rejected<chunks_request>(R"({"user_id":"u","history":[{"role":"tool","content":"b"}]})", "conversation[0].role", 0);
    rejected<chunks_request>(R"({"user_id":"u","conversation":[{"content":"b"}]})", "conversation[0].role", 0);
    rejected<chunks_request>(R"({"user_id":"u","conversation":[{"role":"user"}]})", "conversation[0].content", 0);
    rejected<chunks_request>(R"({"user_id":"u","conversation":[{"role":"user","content":1}]})", "conversation[0].content",
                             0);
    rejected<chunks_request>(R"({"user_id":"u","conversation":["hi"]})", "conversation[0]", 0);
    for (auto k : {"0", "-1", "21", "2.5", "1e30", "18446744073709551616", "\"5\"", "true", "[]"}) {
        rejected<chunks_request>(body(R"(,"top_k":)" + std::string(k)), "top_k");
        rejected<chunks_request>(body(R"(,"k":)" + std::string(k)), "top_k");
    }
    for (auto t : {"1.5", "-0.1", "\"0.5\"", "{}"})
        rejected<chunks_request>(body(R"(,"similarity_threshold":)" + std::string(t)), "similarity_threshold");
    CHECK(parse_as<chunks_request>(body(R"(,"similarity_threshold":0)")).has_value());
}

//------------------------------------------------------------------------------

TEST_CASE("delete_request") {
    auto d = parse_as<delete_request>(R"({"user_id":"u"})");
    REQUIRE(d.has_value());
    CHECK(d->scope == "global");
    CHECK(d->reason.empty());
    auto g = parse_as<delete_request>(R"({"user_id":"u","scope":"global","reason":"gdpr"})");
    REQUIRE(g.has_value());
    CHECK(g->reason == "gdpr");

    rejected<delete_request>(R"({"scope":"global"})", "user_id");
    rejected<delete_request>(R"({"user_id":"u","scope":"local"})", "scope");
    rejected<delete_request>(R"({"user_id":"u","scope":""})", "scope");
    rejected<delete_request>(R"({"user_id":"u","reason":false})", "reason");
}

//------------------------------------------------------------------------------

TEST_CASE("requests round-trip through to_json and from_json") {
    SECTION("register") {
        register_request r;
        r.user_id = "usr_1";
        r.email = "a@b.c";
        r.traits = {{"tz", "PT"}, {"nested", {{"k", nullptr}}}};
        r.purpose = "coach";
        auto const b = round_trip(r);
        CHECK(b.user_id == r.user_id);
        CHECK(b.email == r.email);
        CHECK(b.traits == r.traits);
        CHECK(b.purpose == r.purpose);

        register_request e;
        e.email = "x@y.z";
        CHECK(boost::json::serialize(to_json(e)) == R"({"email":"x@y.z","traits":{}})");
        auto const be = round_trip(e);
        CHECK(be.user_id.empty());
        CHECK(be.email == e.email);
        CHECK_FALSE(be.purpose);
    }
    SECTION("ingest") {
        ingest_request r;
        r.user_id = "u";
        r.source = "slack";
        r.dedupe = true;
        r.events.push_back({"e1", "email", t0, "hello", {{"subject", "hi"}}});
        r.events.push_back({"e2", "note", t0 + 1s, "n", {}});
        r.documents.push_back({"d1", "doc", "Title", "wiki", t0, {{"k", 1}}});
        r.documents.push_back({"", "doc2", "", "", std::nullopt, {}});
        r.message_history.push_back({"user", "m", t0, "m1"});
        r.message_history.push_back({"assistant", "m2", std::nullopt, ""});
        auto const b = round_trip(r);
        CHECK(b.user_id == r.user_id);
        CHECK(b.source == r.source);
        CHECK(b.dedupe);
        REQUIRE(b.events.size() == 2);
        for (std::size_t i = 0; i < 2; ++i) {
            CHECK(b.events[i].event_id == r.events[i].event_id);
            CHECK(b.events[i].type == r.events[i].type);
            CHECK(b.events[i].time == r.events[i].time);
            CHECK(b.events[i].content == r.events[i].content);
            CHECK(b.events[i].metadata == r.events[i].metadata);
        }
        REQUIRE(b.documents.size() == 2);
        for (std::size_t i = 0; i < 2; ++i) {
            CHECK(b.documents[i].doc_id == r.documents[i].doc_id);
            CHECK(b.documents[i].content == r.documents[i].content);
            CHECK(b.documents[i].title == r.documents[i].title);
            CHECK(b.documents[i].kind == r.documents[i].kind);
            CHECK(b.documents[i].created_at == r.documents[i].created_at);
            CHECK(b.documents[i].metadata == r.documents[i].metadata);
        }
        REQUIRE(b.message_history.size() == 2);
        for (std::size_t i = 0; i < 2; ++i) {
            CHECK(b.message_history[i].role == r.message_history[i].role);
            CHECK(b.message_history[i].content == r.message_history[i].content);
            CHECK(b.message_history[i].time == r.message_history[i].time);
            CHECK(b.message_history[i].id == r.message_history[i].id);
        }

        ingest_request small;
        small.user_id = "u";
        small.documents.push_back({"", "c", "", "", std::nullopt, {}});
        CHECK(boost::json::serialize(to_json(small)) == R"({"user_id":"u","documents":[{"content":"c"}]})");
    }
    SECTION("query") {
        query_request r;
        r.user_id = "u";
        r.question = "tea or coffee?";
        CHECK(boost::json::serialize(to_json(r)) == R"({"user_id":"u","question":"tea or coffee?"})");
        r.use_cache = true;
        r.options = {"tea", "coffee"};
        auto const b = round_trip(r);
        CHECK(b.user_id == r.user_id);
        CHECK(b.question == r.question);
        CHECK(b.use_cache);
        CHECK(b.options == r.options);
    }
    SECTION("chunks") {
        chunks_request r;
        r.user_id = "u";
        r.conversation = {{"system", ""}, {"user", "when do I focus?"}};
        r.top_k = 7;
        auto const b = round_trip(r);
        CHECK(b.user_id == r.user_id);
        REQUIRE(b.conversation.size() == 2);
        CHECK(b.conversation[0].role == "system");
        CHECK(b.conversation[1].content == "when do I focus?");
        CHECK(b.top_k == 7);
        CHECK_FALSE(b.similarity_threshold);
        r.similarity_threshold = 0.3;
        CHECK(round_trip(r).similarity_threshold == 0.3);
    }
    SECTION("delete") {
        delete_request r;
        r.user_id = "u";
        CHECK(boost::json::serialize(to_json(r)) == R"({"user_id":"u","scope":"global"})");
        r.reason = "asked";
        auto const b = round_trip(r);
        CHECK(b.user_id == r.user_id);
        CHECK(b.scope == r.scope);
        CHECK(b.reason == r.reason);
    }
}

//------------------------------------------------------------------------------

TEST_CASE("responses serialize exactly") {
    CHECK(serialize(chunks_response{{{"doc_7#p1", "x", 0.84}}}) ==
          R"({"results":[{"chunk_id":"doc_7#p1","excerpt":"x","score":0.84}]})");
    CHECK(serialize(chunks_response{}) == R"({"results":[]})");

    CHECK(serialize(register_response{"usr_1", t0, "active", std::nullopt}) ==
          R"({"user_id":"usr_1","created_at":"2025-10-11T16:05:00Z","status":"active"})");
    CHECK(serialize(register_response{"usr_1", t0, "active", "a@b.c"}) ==
          R"({"user_id":"usr_1","created_at":"2025-10-11T16:05:00Z","status":"active","email":"a@b.c"})");

    CHECK(serialize(ingest_response{"u", 1, 0, {}, t0 + 5s}) ==
          R"({"user_id":"u","ingested":{"events":1,"documents":0},"skipped":[],"updated_at":"2025-10-11T16:05:05Z"})");
    CHECK(serialize(ingest_response{"u", 0, 2, {{"evt_1", "event", "duplicate"}}, t0}) ==
          R"({"user_id":"u","ingested":{"events":0,"documents":2},"skipped":[{"id":"evt_1","kind":"event","reason":"duplicate"}],"updated_at":"2025-10-11T16:05:00Z"})");

    CHECK(serialize(query_response{"u", "a", {{"e#s1", 1.0}}, std::nullopt, {}}) ==
          R"({"user_id":"u","answer":"a","sources":[{"chunk_id":"e#s1","score":1}]})");
    CHECK(serialize(query_response{"u", "tea", {}, 1, {0.25, 0.75}}) ==
          R"({"user_id":"u","answer":"tea","sources":[],"choice":1,"option_scores":[0.25,0.75]})");

    CHECK(serialize(summary_response{"u", t0, "general", "Likes tea."}) ==
          R"({"user_id":"u","generated_at":"2025-10-11T16:05:00Z","purpose":"general","summary":"Likes tea."})");
    CHECK(serialize(delete_response{"del_1", "completed", t0}) ==
          R"({"ticket_id":"del_1","status":"completed","eta":"2025-10-11T16:05:00Z"})");

    // value_from and to_json agree.
    delete_response const d{"del_1", "completed", t0};
    CHECK(boost::json::value_from(d) == to_json(d));
}

TEST_CASE("responses round-trip through to_json and from_json") {
    auto const same = [](auto const& x) { CHECK(round_trip(x) == x); };
    same(register_response{"usr_1", t0, "active", std::nullopt});
    same(register_response{"usr_1", t0, "active", "a@b.c"});
    same(ingest_response{"u", 3, 4, {{"evt_1", "event", "duplicate"}, {"d", "document", "duplicate"}}, t0});
    same(ingest_response{"u", 0, 0, {}, t0});
    same(query_response{"u", "answer", {{"e#s1", 0.5}, {"d#p2", 0.125}}, std::nullopt, {}});
    same(query_response{"u", "answer", {}, 0, {0.9, 0.1, 0.0}});
    same(summary_response{"u", t0, "work-style", "Focus 9-12."});
    same(chunks_response{{{"doc_7#p1", "Typical focus blocks 9\u201312 PT.", 0.84}, {"e#s1", "", 0.0}}});
    same(chunks_response{});
    same(delete_response{"del_9", "completed", t0});
}

TEST_CASE("response from_json validates what a client relies on") {
    rejected<chunks_response>(R"({"results":[{"chunk_id":"c","excerpt":"x","score":"high"}]})", "results[0].score", 0);
    rejected<chunks_response>(R"({})", "results");
    rejected<query_response>(R"({"user_id":"u","answer":"a","choice":-1})", "choice");
    rejected<delete_response>(R"({"ticket_id":"t","eta":"later"})", "eta");
    auto const q = parse_as<query_response>(R"({"user_id":"u","answer":"a"})");
    REQUIRE(q.has_value());
    CHECK(q->sources.empty());
    CHECK_FALSE(q->choice);
}

//------------------------------------------------------------------------------

TEST_CASE("errors to and from JSON") {
    auto const e = user_not_found("usr_42af7c");
    CHECK(boost::json::serialize(to_json(e)) ==
          R"({"code":"USER_NOT_FOUND","message":"no user 'usr_42af7c' in this workspace","details":{"user_id":"usr_42af7c"}})");
    CHECK(serialize(make_error(errc::rate_limited, "slow down")) ==
          R"({"code":"RATE_LIMITED","message":"slow down","details":{}})");
    CHECK(error_from_json(to_json(e)) == e);

    auto const nested = parse_json(R"({"error":{"code":"FORBIDDEN","message":"no","details":{"scope":"read"}}})");
    REQUIRE(nested.has_value());
    auto const n = error_from_json(*nested);
    CHECK(n.code == errc::forbidden);
    CHECK(n.message == "no");
    CHECK(n.details.at("scope") == "read");

    auto const unknown = error_from_json(boost::json::parse(R"({"code":"TEAPOT","message":"short and stout"})"));
    CHECK(unknown.code == errc::internal_error);
    CHECK(unknown.message == "short and stout");
    CHECK(unknown.details.empty());

    auto const missing = error_from_json(boost::json::parse(R"({"error":{"message":"m"}})"));
    CHECK(missing.code == errc::internal_error);
    CHECK(missing.message == "m");

    CHECK(error_from_json(boost::json::parse("[1]")).code == errc::internal_error);
    CHECK(error_from_json(boost::json::parse(R"({"code":"UNAVAILABLE","message":"down"})")).code == errc::unavailable);
}

TEST_CASE("serialize writes numbers in the shortest round-trip form and escapes strings") {
    boost::json::value const v = {{"d", 0.6457075079282126}, {"tiny", 1e-7}, {"i", -3}, {"u", 18446744073709551615ULL},
                                  {"s", "quote\" back\\ nl\n tab\t bell\x07 é"}, {"n", nullptr}, {"b", true}};
    CHECK(persona::serialize(v) ==
          R"({"d":0.6457075079282126,"tiny":1e-07,"i":-3,"u":18446744073709551615,"s":"quote\" back\\ nl\n tab\t bell\u0007 é","n":null,"b":true})");
    // It round-trips through the strict parser to the same value.
    CHECK(persona::parse_json(persona::serialize(v)).value() == v);
}

TEST_CASE("string escaping finds every character that needs an escape, wherever it is") {
    // The scan for plain runs goes 8 bytes at a time: put each special byte at every
    // offset of a 20-byte text among bytes just above and below the ones that matter.
    auto const reference = [](std::string_view s) {
        std::string out = "\"";
        for (char c : s) {
            auto const u = static_cast<unsigned char>(c);
            if (c == '"') out += "\\\"";
            else if (c == '\\') out += "\\\\";
            else if (c == '\n') out += "\\n";
            else if (c == '\r') out += "\\r";
            else if (c == '\t') out += "\\t";
            else if (c == '\b') out += "\\b";
            else if (c == '\f') out += "\\f";
            else if (u < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", u);
                out += buf;
            } else out += c;
        }
        return out + "\"";
    };
    std::string const fillers = std::string("\x20\x21\x23\x5b\x5d\x7f\x80\xc3\xa9\xff", 10);
    for (int special = 0; special < 0x100; ++special) {
        auto const u = static_cast<unsigned char>(special);
        if (!(u < 0x20 || u == '"' || u == '\\')) continue;
        for (std::size_t at = 0; at < 20; ++at) {
            std::string text;
            for (std::size_t i = 0; i < 20; ++i) text += fillers[(i * 7 + at) % fillers.size()];
            text[at] = static_cast<char>(special);
            if (at + 3 < 20) text[at + 3] = '"'; // a second one after it
            std::string out;
            persona::detail::write_json_string(out, text);
            INFO("byte " << special << " at " << at);
            REQUIRE(out == reference(text));
        }
    }
}

TEST_CASE("the /chunks answer is written directly with the bytes of its JSON value") {
    chunks_response const r{{{"evt_1#s1", "Prefers \"quiet\" rooms\\ after 1 PM.\n\x01 caf\xc3\xa9", 0.6457075079282126},
                             {"doc_7#p12", std::string(300, 'x'), 1e-7},
                             {"m#s2", "", 1.0},
                             {"z", "tab\there", 0.0}}};
    CHECK(serialize(r) == persona::serialize(boost::json::value_from(r)));
    CHECK(serialize(chunks_response{}) == persona::serialize(boost::json::value_from(chunks_response{})));
    CHECK(from_json<chunks_response>(parse_json(serialize(r)).value()).value().results.size() == 4);
}

//------------------------------------------------------------------------------
// The export format (persona extension)
//------------------------------------------------------------------------------

namespace {

user_export sample_export() {
    user_export x;
    x.user_id = "usr_42af7c";
    x.email = "ash@example.com";
    x.traits = {{"name", "Ash"}, {"prefs", {{"tone", "concise"}}}};
    x.created_at = t0;
    x.updated_at = t0 + 5s;
    x.items = {item{"evt_1", item_kind::event, "email", "gmail", "Stand-up", "Move stand-up to 2 PM.", t0 - 24h, t0,
                    {{"subject", "Stand-up"}}},
               item{"doc_7", item_kind::document, "note", "", "Working preferences", "Focus 9-12.", t0, t0 + 1s, {}}};
    return x;
}

std::string const user_line =
    R"({"type":"user","format":"persona-export/1","user_id":"u","traits":{},"created_at":"2025-10-11T16:05:00Z"})";
std::string const event_line =
    R"({"type":"event","event_id":"e1","event_type":"note","timestamp":"2025-10-11T16:05:00Z","ingested_at":"2025-10-11T16:05:00Z","content":"Hello."})";

} // namespace

TEST_CASE("to_ndjson writes one line per object; user_export_from_ndjson reads it back") {
    auto x = sample_export();
    std::string const text = to_ndjson(x);
    CHECK(text ==
          R"({"type":"user","format":"persona-export/1","user_id":"usr_42af7c","email":"ash@example.com","traits":{"name":"Ash","prefs":{"tone":"concise"}},"created_at":"2025-10-11T16:05:00Z","updated_at":"2025-10-11T16:05:05Z"})"
          "\n"
          R"({"type":"event","event_id":"evt_1","event_type":"email","source":"gmail","timestamp":"2025-10-10T16:05:00Z","ingested_at":"2025-10-11T16:05:00Z","content":"Move stand-up to 2 PM.","metadata":{"subject":"Stand-up"}})"
          "\n"
          R"({"type":"document","doc_id":"doc_7","kind":"note","title":"Working preferences","source":"","created_at":"2025-10-11T16:05:00Z","ingested_at":"2025-10-11T16:05:01Z","content":"Focus 9-12.","metadata":{}})"
          "\n");
    CHECK(user_export_from_ndjson(text).value() == x);

    std::string crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    CHECK(user_export_from_ndjson(crlf).value() == x);
    CHECK(user_export_from_ndjson(text + "\n\n").value() == x);

    x.email.reset();
    x.purpose = "assistant";
    x.items[0].content = "Two\nlines, \"quoted\".";
    auto const other = to_ndjson(x);
    CHECK(other.starts_with(R"({"type":"user","format":"persona-export/1","user_id":"usr_42af7c","traits":)"));
    CHECK(other.find(R"("purpose":"assistant","created_at")") != std::string::npos);
    CHECK(std::ranges::count(other, '\n') == 3); // newlines in text are escaped
    CHECK(user_export_from_ndjson(other).value() == x);

    x.items.clear();
    CHECK(user_export_from_ndjson(to_ndjson(x)).value() == x); // a user without items
}

TEST_CASE("user_export_from_ndjson: lines read like /ingest's items") {
    auto const x = user_export_from_ndjson(
                       user_line + "\n" +
                       R"({"type":"event","event_id":"e1","event_type":"email","timestamp":"2025-10-11T18:05:00+02:00","ingested_at":"2025-10-12T00:00:00Z","content":"Hi.","metadata":{"subject":"Greetings"},"unknown":1})"
                       "\n" +
                       R"({"type":"document","document_type":"wiki","content":"Text.","source":null,"ingested_at":"2025-10-12T00:00:00Z"})")
                       .value();
    CHECK(x.user_id == "u");
    CHECK_FALSE(x.email);
    CHECK(x.purpose.empty());
    CHECK(x.updated_at == x.created_at); // informational: defaults to created_at
    REQUIRE(x.items.size() == 2);
    CHECK(x.items[0].time == t0);         // normalised to UTC
    CHECK(x.items[0].title == "Greetings"); // an event's title is its subject, as at ingest
    CHECK(x.items[0].source.empty());
    CHECK(x.items[1].kind == item_kind::document);
    CHECK(x.items[1].type == "wiki");     // the alias document_type
    CHECK(x.items[1].id.empty());         // the engine derives it from the content, as at ingest
    CHECK(x.items[1].time == x.items[1].ingested_at); // no created_at: dated by its ingest
}

TEST_CASE("user_export_from_ndjson: errors name the line and the field") {
    auto const rejected_at = [](std::string const& body, std::optional<std::size_t> line, std::string_view field) {
        INFO("body: " << body);
        auto const r = user_export_from_ndjson(body);
        REQUIRE_FALSE(r.has_value());
        INFO("message: " << r.error().message);
        CHECK(r.error().code == errc::invalid_request);
        CHECK(r.error().details.at("field").as_string() == field);
        CHECK_FALSE(r.error().details.contains("index"));
        if (line) {
            CHECK(r.error().details.at("line") == *line);
            CHECK(r.error().message.starts_with("line " + std::to_string(*line) + ": "));
        } else {
            CHECK_FALSE(r.error().details.contains("line"));
        }
        return r.error().message;
    };
    // `line` with its text `from` replaced by `to`.
    auto const with = [](std::string line, std::string_view from, std::string_view to) {
        auto const at = line.find(from);
        REQUIRE(at != std::string::npos);
        return line.replace(at, from.size(), to);
    };

    rejected_at("", std::nullopt, "body");
    rejected_at("\n \n", std::nullopt, "body");
    rejected_at(with(user_line, "export/1", "export/2"), 1, "format");
    rejected_at(with(user_line, R"("type":"user")", R"("type":"event")"), 1, "type");
    rejected_at(with(user_line, R"("2025-10-11T16:05:00Z")", "null"), 1, "created_at");
    rejected_at(with(user_line, R"("u")", "\"" + std::string(129, 'u') + "\""), 1, "user_id");
    rejected_at(with(user_line, R"("u")", R"("u","email":"nope")"), 1, "email");
    rejected_at(with(user_line, "{}", "[]"), 1, "traits");
    rejected_at("[1]\n" + event_line, 1, "body");
    CHECK(rejected_at(user_line + event_line, 1, "body").ends_with("curl -d removes newlines, --data-binary keeps them)"));

    CHECK(rejected_at(user_line + "\n{", 2, "body").starts_with("line 2: not valid JSON: "));
    rejected_at(user_line + "\n\"text\"", 2, "body");
    rejected_at(user_line + "\n\n" + event_line, 2, "body"); // a blank line inside
    rejected_at(user_line + "\n" + event_line + "\n" + user_line, 3, "type");
    rejected_at(user_line + "\n" + with(event_line, R"("type":"event")", R"("type":"message")"), 2, "type");
    rejected_at(user_line + "\n" + with(event_line, R"("event_type":"note")", R"("event_type":null)"), 2, "event_type");
    rejected_at(user_line + "\n" + with(event_line, R"("e1")", R"("e#1")"), 2, "event_id");
    rejected_at(user_line + "\n" + with(event_line, R"("timestamp":"2025-10-11T16:05:00Z")", R"("timestamp":"yesterday")"), 2, "timestamp");
    rejected_at(user_line + "\n" + with(event_line, R"("ingested_at":"2025-10-11T16:05:00Z")", R"("ingested_at":null)"), 2, "ingested_at");
    CHECK(rejected_at(user_line + "\n" + event_line + "\n" + with(event_line, R"("Hello.")", R"("  ")"), 3, "content") ==
          "line 3: content must not be empty");
    CHECK(rejected_at(user_line + "\n" + with(event_line, R"("Hello.")", R"("a","content":"b")"), 2, "content") ==
          "line 2: duplicate key 'content'");
    rejected_at(user_line + "\n" +
                    R"({"type":"document","doc_id":"d#1","content":"x","ingested_at":"2025-10-11T16:05:00Z"})",
                2, "doc_id");
    rejected_at(user_line + "\n" + "{\"type\":\"event\",\"content\":\"\xff\"}", 2, "body"); // not UTF-8
}
