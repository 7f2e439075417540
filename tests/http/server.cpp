// persona::http::server against real clients over 127.0.0.1: the conformance kit and an
// equivalence check through remote_api<beast_transport>, a server that proxies another,
// and many concurrent clients.
#include <persona/http/server.hpp>

#include <persona/http/beast_transport.hpp>
#include <persona/presets.hpp>
#include <persona/remote_api.hpp>
#include <persona/testing/api_kit.hpp>
#if PERSONA_TEST_WITH_FAISS
#include <persona/faiss/faiss_engine.hpp>
#endif

#include "../support/workload.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace persona;

namespace {

using client = remote_api<http::beast_transport>;

/// A started server on an ephemeral port with one admin key in the default workspace.
template <class Api>
struct running {
    std::string key;
    http::server<Api> server;

    running(Api& api, protocol::key_store keys, std::string admin_key, std::size_t threads = 2)
        : key(std::move(admin_key)), server(api, std::move(keys), {.port = 0, .threads = threads}) {
        REQUIRE(server.start());
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
    client connect() const { return client(http::beast_transport(url()), key); }
};

template <class Api>
running<Api> serve(Api& api, std::size_t threads = 2) {
    protocol::key_store keys;
    auto key = keys.add(std::string(default_workspace), protocol::scope::admin, "test").value();
    return running<Api>(api, std::move(keys), std::move(key), threads);
}

} // namespace

TEST_CASE("remote_api<beast_transport> against a real server passes the personalization_api kit") {
    basic_engine engine;
    auto srv = serve(engine);
    auto api = srv.connect();
    auto const rep = testing::check_personalization_api(api);
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("the same workload through an engine and through a real server gives identical results") {
    auto direct = test_support::fixed_engine();
    auto served = test_support::fixed_engine();
    auto srv = serve(served);
    auto api = srv.connect();
    auto const a = test_support::run_workload(direct);
    auto const b = test_support::run_workload(api);
    test_support::check_same_transcripts(a, b);
}

#if PERSONA_TEST_WITH_FAISS
TEST_CASE("the FAISS preset behind a real server gives the basic engine's results, byte for byte") {
    engine_options o;
    o.clock = &test_support::fixed_clock;
    for (std::string spec : {"IDMap,Flat", "HNSW32"}) {
        INFO("spec " << spec);
        // The workload's users are small, so even HNSW answers exactly here.
        faiss_engine served(memory_store{}, hashing_embedder{}, faiss_retriever({.spec = spec}), extractive_answerer{}, o);
        auto srv = serve(served);
        auto api = srv.connect();
        auto reference = test_support::fixed_engine();
        auto const a = test_support::run_workload(reference);
        auto const b = test_support::run_workload(api);
        test_support::check_same_transcripts(a, b);
    }
}
#endif

TEST_CASE("a server can proxy another: http::server<remote_api<beast_transport>>") {
    basic_engine engine;
    auto origin = serve(engine);
    client upstream = origin.connect();
    auto proxy = serve(upstream, 1); // remote_api is one connection: one I/O thread
    auto api = proxy.connect();
    auto const rep = testing::check_personalization_api(api, "proxied_");
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("many clients ingesting and querying the same and different users: nothing acknowledged is lost") {
    basic_engine engine;
    auto srv = serve(engine, 4);
    constexpr int clients = 8, batches = 15;
    {
        auto api = srv.connect();
        for (int u = 0; u < 4; ++u) REQUIRE(api.register_user({.user_id = "user" + std::to_string(u)}));
    }
    std::mutex m;
    std::set<std::pair<std::string, std::string>> acked;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            auto api = srv.connect();
            for (int b = 0; b < batches; ++b) {
                std::string const user = "user" + std::to_string((c + b) % 4); // clients share users
                ingest_request in{.user_id = user};
                for (int i = 0; i < 5; ++i) {
                    std::string id = "c" + std::to_string(c) + "b" + std::to_string(b) + "i" + std::to_string(i);
                    in.events.push_back({id, "note", test_support::fixed_clock(), "Note " + id + " about the harbour.", {}});
                }
                auto const r = api.ingest(in);
                if (!r || r->events != 5) {
                    ++failures;
                    continue;
                }
                {
                    std::lock_guard g(m);
                    for (auto const& e : in.events) acked.insert({user, e.event_id});
                }
                if (!api.chunks({.user_id = user, .conversation = {{"user", "harbour"}}, .top_k = 20})) ++failures;
                if (!api.query({.user_id = user, .question = "What about the harbour?"})) ++failures;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(failures == 0);
    CHECK(acked.size() == static_cast<std::size_t>(clients * batches * 5));
    std::size_t present = 0;
    for (auto const& [user, id] : acked) present += engine.get_store().get_item({"default", user}, id)->has_value() ? 1 : 0;
    CHECK(present == acked.size());
    // Acknowledged means retrievable too: every item is the top hit for its own id.
    auto api = srv.connect();
    std::size_t retrievable = 0;
    for (auto const& [user, id] : acked) {
        auto const hits = api.chunks({.user_id = user, .conversation = {{"user", "Note " + id}}, .top_k = 1});
        retrievable += hits && !hits->results.empty() && hits->results.front().chunk_id == id + "#s1" ? 1 : 0;
    }
    CHECK(retrievable == acked.size());
}

TEST_CASE("a user moves between two real servers: export from one, import into the other, identical /chunks") {
    auto source = test_support::fixed_engine();
    basic_engine target; // another clock: imported items keep their own times
    auto from_srv = serve(source);
    auto to_srv = serve(target);
    auto from = from_srv.connect();
    auto to = to_srv.connect();

    register_request reg{.user_id = "usr_42af7c", .email = "ash@example.com", .purpose = "assistant"};
    reg.traits = {{"name", "Ash Lewis"}, {"timezone", "America/Los_Angeles"}, {"prefs", {{"tone", "concise"}}}};
    REQUIRE(from.register_user(reg));
    auto ts = [](char const* iso) { return parse_timestamp(iso).value(); };
    ingest_request in{.user_id = "usr_42af7c", .source = "gmail"};
    in.events = {{"evt_1", "email", ts("2025-10-10T09:00:00Z"), "Let's move stand-up to 2 PM starting next week.",
                  {{"subject", "Stand-up"}}},
                 {"evt_2", "email", ts("2025-10-08T17:30:00+02:00"), "No meetings before 10 AM, please.", {}}};
    in.documents = {{.doc_id = "doc_7", .content = "Focus blocks 9-12 PT.\n\nMeetings after 1 PM preferred.",
                     .title = "Working preferences", .kind = "note"},
                    {.content = "Allergic to peanuts; vegetarian."}};
    in.message_history = {{"user", "I like oat milk lattes.", std::nullopt, {}}};
    REQUIRE(from.ingest(in));

    auto const x = from.export_user({.user_id = "usr_42af7c"}).value();
    CHECK(x == source.export_user({.user_id = "usr_42af7c"}).value()); // nothing lost on the wire
    CHECK(to.import_user({.data = x}).value() == import_response{"usr_42af7c", 3, 2});
    user_ref const ref{"default", "usr_42af7c"};
    CHECK(target.get_store().get_items(ref).value() == source.get_store().get_items(ref).value());
    CHECK(target.get_store().get_user(ref)->traits == source.get_store().get_user(ref)->traits);
    for (auto const* q : {"When is stand-up?", "meetings after 1 PM", "What does Ash drink?", "peanuts", "mornings"}) {
        INFO(q);
        chunks_request const c{.user_id = "usr_42af7c", .conversation = {{"user", q}}, .top_k = 10};
        CHECK(to.chunks(c).value() == from.chunks(c).value());
    }
    CHECK(to.import_user({.data = x}).value() == import_response{"usr_42af7c", 3, 2}); // idempotent
    CHECK(to.export_user({.user_id = "usr_42af7c"})->items == x.items);
    CHECK(from.export_user({.user_id = "nobody"}).error().code == errc::user_not_found);
}

TEST_CASE("export and import need an admin key: a write key gets 403") {
    basic_engine engine;
    protocol::key_store keys;
    auto admin = keys.add(std::string(default_workspace), protocol::scope::admin, "admin").value();
    auto const writer = keys.add(std::string(default_workspace), protocol::scope::write, "writer").value();
    running<basic_engine> srv(engine, std::move(keys), std::move(admin));
    REQUIRE(srv.connect().register_user({.user_id = "u1"}));
    auto const x = srv.connect().export_user({.user_id = "u1"}).value();
    client api(http::beast_transport(srv.url()), writer);
    CHECK(api.export_user({.user_id = "u1"}).error().code == errc::forbidden);
    CHECK(api.import_user({.user_id = "u2", .data = x}).error().code == errc::forbidden);
    CHECK(engine.get_store().list_users()->size() == 1);
}

#include <persona/testing/transport_kit.hpp>

TEST_CASE("beast_transport against a real server passes the transport conformance kit") {
    basic_engine engine;
    auto srv = serve(engine);
    http::beast_transport t(srv.url());
    auto const rep = testing::check_transport(t);
    INFO(rep.to_string());
    CHECK(rep.ok());
}
