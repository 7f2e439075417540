// An engine is shared by many threads: readers and writers on different and on the same
// users at once. Every acknowledged ingest must be visible afterwards, and readers must
// never see a half-applied ingest (an item's chunks appear all together or not at all).
#include <persona/presets.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace persona;

TEST_CASE("an engine hammered by readers and writers keeps every acknowledged write") {
    basic_engine e;
    constexpr int users = 4;
    constexpr int writers = 4;
    constexpr int batches = 25;
    for (int u = 0; u < users; ++u) REQUIRE(e.register_user({.user_id = "u" + std::to_string(u)}));

    std::mutex acked_mutex;
    std::set<std::pair<std::string, std::string>> acked; // (user, event id)
    std::atomic<int> torn{0}, read_errors{0}, writes_done{0};

    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (int b = 0; b < batches; ++b) {
                // Writers 0 and 1 share user u0; the others have their own.
                std::string const user = "u" + std::to_string(w < 2 ? 0 : w - 1);
                ingest_request in{.user_id = user};
                std::string const id = "w" + std::to_string(w) + "b" + std::to_string(b);
                // Three paragraphs: a reader must see all three chunks or none.
                in.documents.push_back({.doc_id = id,
                                        .content = "alpha " + id + " harbour.\n\nbeta " + id + " harbour.\n\ngamma " + id + " harbour."});
                in.events.push_back({id + "e", "note", std::chrono::sys_days{std::chrono::year{2025} / 1 / 1}, "event of " + id, {}});
                if (e.ingest(in)) {
                    std::lock_guard g(acked_mutex);
                    acked.insert({user, id});
                    acked.insert({user, id + "e"});
                }
                if (b % 5 == 0) (void)e.register_user({.user_id = user, .traits = {{"batch", b}}});
            }
            ++writes_done;
        });
    for (int r = 0; r < 3; ++r)
        threads.emplace_back([&, r] {
            while (writes_done.load() < writers) {
                std::string const user = "u" + std::to_string(r % users);
                chunks_request c{.user_id = user, .conversation = {{"user", "harbour"}}, .top_k = 20};
                auto const res = e.chunks(c);
                if (!res) {
                    ++read_errors;
                    continue;
                }
                std::map<std::string, int> per_doc;
                for (auto const& x : res->results) per_doc[std::string(item_id_of(x.chunk_id))]++;
                auto const all = e.get_store().get_chunks({"default", user});
                if (!all) ++read_errors;
                (void)e.query({.user_id = user, .question = "Which harbour?", .use_cache = (r % 2) == 0});
                (void)e.summary({.user_id = user, .purpose = "general", .max_chars = 200});
                if (all) {
                    std::map<std::string, int> chunks_of;
                    for (auto const& ch : *all) chunks_of[ch.item_id]++;
                    for (auto const& [doc, n] : chunks_of)
                        if (!doc.ends_with("e") && n != 3) ++torn;
                }
            }
        });
    for (auto& t : threads) t.join();

    CHECK(read_errors == 0);
    CHECK(torn == 0);
    CHECK(acked.size() == static_cast<std::size_t>(writers * batches * 2));
    std::size_t present = 0;
    for (auto const& [user, id] : acked) present += e.get_store().get_item({"default", user}, id)->has_value() ? 1 : 0;
    CHECK(present == acked.size());
    for (int u = 0; u < users; ++u) {
        user_ref const ref{"default", "u" + std::to_string(u)};
        CHECK(e.get_retriever().size(ref) == e.get_store().get_chunks(ref)->size());
    }
}

TEST_CASE("delete racing with ingest never leaves index entries for a deleted user") {
    basic_engine e;
    for (int round = 0; round < 20; ++round) {
        REQUIRE(e.register_user({.user_id = "victim"}));
        std::thread writer([&] {
            for (int i = 0; i < 10; ++i) {
                ingest_request in{.user_id = "victim"};
                in.events.push_back({"e" + std::to_string(i), "note", std::chrono::sys_days{std::chrono::year{2025} / 1 / 1},
                                     "text " + std::to_string(i), {}});
                (void)e.ingest(in);
            }
        });
        std::thread deleter([&] { (void)e.delete_user({.user_id = "victim"}); });
        writer.join();
        deleter.join();
        user_ref const ref{"default", "victim"};
        auto const user = e.get_store().get_user(ref);
        if (!user) CHECK(e.get_retriever().size(ref) == 0);
        else CHECK(e.get_retriever().size(ref) == e.get_store().get_chunks(ref)->size());
        (void)e.delete_user({.user_id = "victim"});
    }
}
