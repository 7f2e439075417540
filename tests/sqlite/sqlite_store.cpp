// sqlite_store on real database files: the store kit, durability across reopen,
// all-or-nothing batches, secure deletion, refusal of foreign/corrupt/newer files, and
// concurrent readers with a writer; sqlite_engine answers the same after a restart.
#include <persona/sqlite/sqlite_store.hpp>

#include <persona/sqlite/sqlite_engine.hpp>
#include <persona/testing/api_kit.hpp>
#include <persona/testing/store_kit.hpp>

#include "../support/workload.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

using namespace persona;

namespace {

std::filesystem::path temp_dir(std::string const& name) {
    char const* root = std::getenv("PERSONA_TEST_TMP");
    auto dir = std::filesystem::path(root ? root : "/tmp") / ("sqlite-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::string read_bytes(std::filesystem::path const& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(std::filesystem::path const& p, std::string const& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

user_record make_user(std::string id, timestamp t) {
    user_record rec;
    rec.ref = {"w", std::move(id)};
    rec.traits = {{"name", "Ash"}, {"score", 0.1}, {"big", 18446744073709551615ull}, {"nested", {{"a", {1, 2.5, nullptr}}}}};
    rec.created_at = rec.updated_at = t;
    rec.revision = 1;
    return rec;
}

stored_item make_item(std::string id, timestamp t, std::string text, std::size_t chunks = 2) {
    stored_item si;
    si.item.id = id;
    si.item.type = "email";
    si.item.source = "gmail";
    si.item.content = text;
    si.item.time = t;
    si.item.ingested_at = t;
    si.item.metadata = {{"subject", "re: " + id}, {"recipients", {"a@x.org", "b@y.org"}}};
    for (std::uint32_t n = 1; n <= chunks; ++n) {
        chunk c;
        c.ordinal = n;
        c.chunk_id = make_chunk_id(id, item_kind::event, n);
        c.item_id = id;
        c.type = "email";
        c.source = "gmail";
        c.text = text + " part " + std::to_string(n);
        c.time = t;
        c.ingested_at = t;
        c.embedding = {0.25f * static_cast<float>(n), -0.5f, 1e-7f, 3.0f};
        si.chunks.push_back(std::move(c));
    }
    return si;
}

timestamp t0() { return parse_timestamp("2025-10-01T08:00:00Z").value(); }

} // namespace

TEST_CASE("sqlite_store passes the store conformance kit") {
    auto const dir = temp_dir("kit");
    auto store = sqlite_store::open(dir / "kit.db");
    REQUIRE(store);
    auto const rep = testing::check_store(*store);
    INFO(rep.to_string());
    CHECK(rep.ok());
}

TEST_CASE("sqlite_store keeps everything, exactly, across close and reopen") {
    auto const dir = temp_dir("reopen");
    auto const file = dir / "p.db";
    auto const rec = make_user("u1", t0());
    std::vector<stored_item> const items{make_item("e1", t0(), "Stand-up moves to 2 PM"),
                                         make_item("e2", t0() + std::chrono::hours(1), "Lunch at noon", 1)};
    {
        auto s = sqlite_store::open(file).value();
        REQUIRE(s.put_user(rec));
        REQUIRE(s.put_items(rec, items));
        REQUIRE(s.put_deletion("w", {"del_1", "completed", t0()}));
    }
    auto s = sqlite_store::open(file, {.create = false}).value();
    auto const back = s.get_user(rec.ref);
    REQUIRE(back);
    CHECK(back->traits == rec.traits); // kinds too: 0.1 stays a double, the big one a uint64
    CHECK(back->created_at == rec.created_at);
    CHECK(back->revision == rec.revision);
    CHECK_FALSE(back->email);
    auto const chunks = s.get_chunks(rec.ref);
    REQUIRE(chunks);
    std::vector<chunk> want;
    for (auto const& si : items) want.insert(want.end(), si.chunks.begin(), si.chunks.end());
    CHECK(*chunks == want); // embeddings bit for bit
    auto const it = s.get_item(rec.ref, "e1");
    REQUIRE(it);
    REQUIRE(*it);
    CHECK(**it == items[0].item);
    auto const ticket = s.get_deletion("w", "del_1");
    REQUIRE(ticket);
    REQUIRE(*ticket);
    CHECK((*ticket)->status == "completed");
    CHECK_FALSE(*s.get_deletion("other", "del_1"));
}

TEST_CASE("sqlite_store: a batch that fails part-way changes nothing") {
    auto const dir = temp_dir("atomic");
    auto s = sqlite_store::open(dir / "p.db").value();
    auto rec = make_user("u1", t0());
    REQUIRE(s.put_user(rec));
    REQUIRE(s.put_items(rec, std::vector{make_item("e1", t0(), "first")}));
    // The third item repeats a chunk id of the second: the insert fails inside the transaction.
    auto bad = std::vector{make_item("e1", t0(), "replacement"), make_item("e2", t0(), "second"),
                           make_item("e3", t0(), "third")};
    bad[2].chunks[0].chunk_id = bad[1].chunks[0].chunk_id;
    rec.revision = 2;
    auto const r = s.put_items(rec, bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::internal_error);
    auto const items = s.get_items(rec.ref).value();
    REQUIRE(items.size() == 1);
    CHECK(items[0].content == "first");
    CHECK(s.get_user(rec.ref)->revision == 1);
}

TEST_CASE("sqlite_store: deleting a user removes their rows and their bytes") {
    auto const dir = temp_dir("secure-delete");
    auto const file = dir / "p.db";
    std::string const secret = "zanzibar-7f3a91-secret-marker";
    auto s = sqlite_store::open(file).value();
    auto const rec = make_user("gone", t0());
    auto const keep = make_user("kept", t0());
    REQUIRE(s.put_user(rec));
    REQUIRE(s.put_user(keep));
    std::vector<stored_item> items;
    for (int i = 0; i < 50; ++i) items.push_back(make_item("e" + std::to_string(i), t0(), secret + " " + std::to_string(i)));
    REQUIRE(s.put_items(rec, items));
    REQUIRE(s.put_items(keep, std::vector{make_item("k1", t0(), "ordinary text")}));
    auto const all_bytes = [&] {
        std::string b = read_bytes(file);
        if (std::filesystem::exists(file.string() + "-wal")) b += read_bytes(file.string() + "-wal");
        return b;
    };
    REQUIRE(all_bytes().find(secret) != std::string::npos); // the check below can fail
    REQUIRE(s.erase_user(rec.ref));
    CHECK(all_bytes().find(secret) == std::string::npos);
    CHECK(s.get_user(rec.ref).error().code == errc::user_not_found);
    CHECK(s.get_chunks(rec.ref).error().code == errc::user_not_found);
    CHECK(s.get_chunks(keep.ref).value().size() == 2);
    CHECK(s.erase_user(rec.ref).error().code == errc::user_not_found);
}

TEST_CASE("sqlite_store refuses files it must not touch, and leaves them as they were") {
    auto const dir = temp_dir("refuse");
    auto const file = dir / "x.db";
    auto const expect_refused = [&](std::string const& words) {
        auto const before = read_bytes(file);
        auto const s = sqlite_store::open(file);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == errc::internal_error);
        CHECK_THAT(s.error().message, Catch::Contains(words) && Catch::Contains(file.string()));
        CHECK(read_bytes(file) == before);
    };
    SECTION("not a database") {
        write_bytes(file, std::string(8192, 'x'));
        expect_refused("not a SQLite database");
    }
    SECTION("another application's database") {
        {
            detail::sqlite_connection c = detail::sqlite_connection::open(file, true).value();
            REQUIRE(c.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);"));
        }
        expect_refused("another application");
    }
    SECTION("a newer schema") {
        { auto s = sqlite_store::open(file).value(); }
        {
            detail::sqlite_connection c = detail::sqlite_connection::open(file, false).value();
            REQUIRE(c.exec("PRAGMA user_version = 99"));
        }
        expect_refused("schema version 99");
    }
    SECTION("corrupt pages") {
        {
            auto s = sqlite_store::open(file).value();
            auto const rec = make_user("u", t0());
            REQUIRE(s.put_user(rec));
            std::vector<stored_item> items;
            for (int i = 0; i < 200; ++i) items.push_back(make_item("e" + std::to_string(i), t0(), std::string(300, 'a')));
            REQUIRE(s.put_items(rec, items));
        }
        auto bytes = read_bytes(file);
        REQUIRE(bytes.size() > 16 * 4096);
        for (std::size_t i = 5 * 4096; i < 9 * 4096; ++i) bytes[i] = static_cast<char>(i * 7);
        write_bytes(file, bytes);
        expect_refused("corrupt");
    }
    SECTION("missing, without create") {
        auto const s = sqlite_store::open(dir / "absent.db", {.create = false});
        REQUIRE_FALSE(s);
        CHECK(s.error().code == errc::not_found);
        CHECK_FALSE(std::filesystem::exists(dir / "absent.db"));
    }
}

TEST_CASE("sqlite_store: an empty file becomes a persona database with the current schema") {
    auto const dir = temp_dir("fresh");
    auto const file = dir / "p.db";
    write_bytes(file, ""); // an empty file is an empty SQLite database: schema 0
    { REQUIRE(sqlite_store::open(file)); }
    detail::sqlite_connection c = detail::sqlite_connection::open(file, false).value();
    CHECK(c.scalar("PRAGMA user_version").value() == sqlite_store::schema_version);
    CHECK(c.scalar("PRAGMA application_id").value() == sqlite_store::application_id);
    CHECK(c.text("PRAGMA journal_mode").value() == "wal");
}

TEST_CASE("sqlite_store: readers run while one writer writes; every write is seen whole") {
    auto const dir = temp_dir("threads");
    auto s = sqlite_store::open(dir / "p.db", {.max_readers = 3}).value();
    auto rec = make_user("u", t0());
    REQUIRE(s.put_user(rec));
    std::atomic<bool> done{false}, torn{false}, failed{false};
    std::thread writer([&] {
        for (int i = 0; i < 100; ++i) {
            rec.revision = static_cast<std::uint64_t>(i + 2);
            // Each batch: 3 items of 2 chunks; a reader must never see part of one.
            std::vector<stored_item> batch;
            for (int j = 0; j < 3; ++j) batch.push_back(make_item("b" + std::to_string(i) + "_" + std::to_string(j), t0(), "x"));
            if (!s.put_items(rec, batch)) failed = true;
        }
        done = true;
    });
    std::vector<std::thread> readers;
    for (int r = 0; r < 5; ++r)
        readers.emplace_back([&] {
            while (!done) {
                auto const chunks = s.get_chunks(rec.ref);
                if (!chunks) {
                    failed = true;
                    continue;
                }
                if (chunks->size() % 6 != 0) torn = true;
                if (!s.get_user(rec.ref) || !s.list_users()) failed = true;
            }
        });
    writer.join();
    for (auto& t : readers) t.join();
    CHECK_FALSE(failed);
    CHECK_FALSE(torn);
    CHECK(s.get_chunks(rec.ref).value().size() == 600);
}

TEST_CASE("sqlite_engine passes the personalization_api kit, and answers identically after a restart") {
    auto const dir = temp_dir("engine");
    {
        sqlite_engine e(sqlite_store::open(dir / "kit.db").value());
        auto const rep = testing::check_personalization_api(e);
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
    auto const file = dir / "restart.db";
    engine_options o;
    o.clock = &test_support::fixed_clock;
    std::vector<std::string> before;
    {
        sqlite_engine e(sqlite_store::open(file).value(), hashing_embedder{}, flat_retriever{}, extractive_answerer{}, o);
        before = test_support::run_workload(e);
    }
    // The reference: the same workload on memory; a store must not change a single byte.
    auto memory = test_support::fixed_engine();
    test_support::check_same_transcripts(test_support::run_workload(memory), before);

    // A restart with data that stays: answers, summaries, chunks and traits are identical.
    auto const restart_file = dir / "restart2.db";
    auto const ask = [](auto& e) {
        std::vector<std::string> t;
        for (std::string q : {"When is stand-up?", "What does Ash prefer for meetings?", "Where is lunch?"}) {
            t.push_back(test_support::record(e.query({.user_id = "usr_42af7c", .question = q})));
            t.push_back(test_support::record(e.chunks({.user_id = "usr_42af7c", .conversation = {{"user", q}}})));
        }
        t.push_back(test_support::record(e.summary({.user_id = "usr_42af7c"})));
        t.push_back(test_support::record(e.register_user({.user_id = "usr_42af7c"}))); // traits, unchanged
        return t;
    };
    std::vector<std::string> first;
    {
        sqlite_engine e(sqlite_store::open(restart_file).value(), hashing_embedder{}, flat_retriever{},
                        extractive_answerer{}, o);
        REQUIRE(e.register_user({.user_id = "usr_42af7c", .traits = {{"name", "Ash Lewis"}, {"tz", "PT"}}}));
        ingest_request in{.user_id = "usr_42af7c", .source = "gmail"};
        auto const ts = parse_timestamp("2025-10-10T09:00:00Z").value();
        in.events = {{"evt_1", "email", ts, "Let's move stand-up to 2 PM starting next week.", {{"subject", "Stand-up"}}},
                     {"evt_2", "email", ts, "No meetings before 10 AM, please.", {}},
                     {"evt_3", "message", ts, "Lunch with the Acme team moved to Thursday at noon.", {}}};
        in.documents = {{"doc_1", "Prefers async updates.\n\nFridays are meeting-free.", "Working preferences", "note", ts, {}}};
        REQUIRE(e.ingest(in));
        first = ask(e);
    }
    sqlite_engine reopened(sqlite_store::open(restart_file).value(), hashing_embedder{}, flat_retriever{},
                           extractive_answerer{}, o);
    REQUIRE(reopened.rebuild_index());
    SECTION("a deletion ticket is answered after a restart") {
        REQUIRE(reopened.register_user({.user_id = "leaving"}));
        auto const ticket = reopened.delete_user({.user_id = "leaving"}).value();
        sqlite_engine again(sqlite_store::open(restart_file).value());
        auto const status = again.deletion_status({.ticket_id = ticket.ticket_id});
        REQUIRE(status);
        CHECK(*status == ticket);
        CHECK(again.deletion_status({.workspace = "other", .ticket_id = ticket.ticket_id}).error().code ==
              errc::not_found);
    }
    CHECK(reopened.get_statistics().users == 1);
    CHECK(reopened.get_statistics().chunks == 5);
    test_support::check_same_transcripts(first, ask(reopened));
}
