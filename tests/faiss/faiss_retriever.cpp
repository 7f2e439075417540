// faiss_retriever: the conformance kit for every supported index type, an oracle
// against flat_retriever, HNSW recall, tombstones and rebuilds, and persistence
// (including a writer process killed with SIGKILL, and corrupt files).
#include <persona/faiss/faiss_retriever.hpp>

#include <persona/flat_retriever.hpp>
#include <persona/testing/retriever_kit.hpp>

#include "faiss_test_data.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace persona;
using namespace persona_faiss_test;

namespace {

std::filesystem::path temp_dir(std::string const& name) {
    char const* root = std::getenv("PERSONA_TEST_TMP");
    auto dir = std::filesystem::path(root ? root : "/tmp") / ("faiss-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

template <class A, class B>
void check_same_results(A const& a, B const& b, user_ref const& u, std::vector<search_query> const& queries) {
    for (std::size_t i = 0; i < queries.size(); ++i) {
        INFO("query " << i << " k=" << queries[i].k << " recent=" << queries[i].prefer_recent);
        auto const x = a.search(u, queries[i]);
        auto const y = b.search(u, queries[i]);
        REQUIRE(x);
        REQUIRE(y);
        REQUIRE(x->size() == y->size());
        for (std::size_t j = 0; j < x->size(); ++j) {
            CHECK((*x)[j].chunk_id == (*y)[j].chunk_id);
            CHECK((*x)[j].score == (*y)[j].score);
        }
    }
}

} // namespace

TEST_CASE("faiss_retriever passes the retriever conformance kit for each index type") {
    for (std::string spec : {"IDMap,Flat", "Flat", "HNSW16", "IDMap,HNSW16", "IVF2,Flat"}) {
        INFO("spec " << spec);
        // min_train = 4: the kit's users are small; this makes the IVF user train and use FAISS.
        faiss_retriever r({.spec = spec, .min_train = 4});
        auto const rep = testing::check_retriever(r);
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
    SECTION("and while an IVF index is still untrained (exact scans)") {
        faiss_retriever r({.spec = "IVF4,Flat"});
        auto const rep = testing::check_retriever(r);
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
}

TEST_CASE("faiss_retriever: specs FAISS cannot train yet, filter or parameterise fall back to exact scans") {
    // PQ needs 256+ training vectors, Refine takes no search parameters, a PCA in front
    // of HNSW needs its parameters passed through: none of it may lose or hide a chunk.
    for (std::string spec : {"PQ8", "IVF4,PQ8", "Flat,RFlat", "PCA16,HNSW16", "PCA64,Flat"}) {
        INFO("spec " << spec);
        random_corpus corpus(32, 21);
        faiss_retriever f({.spec = spec});
        flat_retriever ref;
        user_ref const u{"w", "u"};
        auto const chunks = corpus.chunks("c", 200);
        REQUIRE(f.add(u, chunks));
        REQUIRE(ref.add(u, chunks));
        CHECK(f.size(u) == 200);
        auto const queries = corpus.queries(20);
        check_same_results(f, ref, u, queries); // trained or not, exact below FAISS's reach
        REQUIRE(f.remove_items(u, std::vector<std::string>{"c1", "c2"}));
        REQUIRE(ref.remove_items(u, std::vector<std::string>{"c1", "c2"}));
        check_same_results(f, ref, u, queries);
        auto const rep = testing::check_retriever(*std::make_unique<faiss_retriever>(faiss_retriever::options{.spec = spec}), 32);
        INFO(rep.to_string());
        CHECK(rep.ok());
    }
    SECTION("PCA64 cannot reduce 32 dimensions: the failure is counted, the chunks are served") {
        faiss_retriever f({.spec = "PCA64,Flat", .min_train = 1});
        random_corpus corpus(32, 3);
        user_ref const u{"w", "u"};
        REQUIRE(f.add(u, corpus.chunks("c", 50)));
        CHECK(f.size(u) == 50);
        auto const failures = f.get_failure_statistics();
        CHECK(failures.index_failures >= 1);
        CHECK_FALSE(failures.last_message.empty());
    }
}

TEST_CASE("faiss_retriever: concurrent saves to one file leave a valid file; removed users are not saved") {
    auto const dir = temp_dir("concurrent-save");
    auto const file = dir / "index.faiss";
    random_corpus corpus(16, 8);
    faiss_retriever r({.spec = "HNSW16"});
    user_ref const keep{"w", "keep"}, gone{"w", "gone"};
    REQUIRE(r.add(keep, corpus.chunks("k", 200)));
    REQUIRE(r.add(gone, corpus.chunks("g", 200)));
    REQUIRE(r.remove_user(gone));
    std::vector<std::thread> savers;
    std::atomic<int> failures{0};
    for (int t = 0; t < 3; ++t)
        savers.emplace_back([&] {
            for (int i = 0; i < 5; ++i)
                if (!r.save(file)) ++failures;
        });
    for (auto& t : savers) t.join();
    CHECK(failures == 0);
    faiss_retriever back({.spec = "HNSW16"});
    auto const loaded = back.load(file);
    REQUIRE(loaded);
    CHECK(*loaded == 1);
}

TEST_CASE("faiss_retriever rejects an index spec FAISS does not know") {
    CHECK_THROWS_AS(faiss_retriever({.spec = "NoSuchIndex42"}), std::invalid_argument);
    try {
        faiss_retriever r({.spec = "NoSuchIndex42"});
    } catch (std::invalid_argument const& e) {
        CHECK_THAT(e.what(), Catch::Contains("NoSuchIndex42"));
    }
}

TEST_CASE("faiss_retriever with a flat spec returns exactly flat_retriever's results") {
    // Random vectors and texts; mutations (replacements, removals, enough to compact)
    // applied to both; queries mixing text and vector, recency, k and min_score.
    // shortlist 4 puts k (up to 50) above the shortlist: the bound then prunes less.
    for (auto const& [spec, shortlist] : {std::pair<std::string, std::size_t>{"IDMap,Flat", 64}, {"Flat", 64},
                                          {"Flat", 4}}) {
        INFO("spec " << spec << " shortlist " << shortlist);
        random_corpus corpus(32, 7);
        faiss_retriever f({.spec = spec, .shortlist = shortlist});
        flat_retriever ref;
        user_ref const u{"w", "oracle"};
        user_ref const other{"w", "other"};
        auto const chunks = corpus.chunks("i", 1500);
        for (std::size_t at = 0; at < chunks.size(); at += 250) {
            std::span<chunk const> batch(chunks.data() + at, std::min<std::size_t>(250, chunks.size() - at));
            REQUIRE(f.add(u, batch));
            REQUIRE(ref.add(u, batch));
        }
        auto const noise = corpus.chunks("n", 300);
        REQUIRE(f.add(other, noise));
        auto const queries = corpus.queries(60);
        check_same_results(f, ref, u, queries);

        SECTION("after replacements and removals (tombstones, then compaction)") {
            auto const replacements = corpus.chunks("i", 200, /*first=*/100); // same ids i100..i299, new content
            REQUIRE(f.add(u, replacements));
            REQUIRE(ref.add(u, replacements));
            check_same_results(f, ref, u, queries);
            std::vector<std::string> removed;
            for (int i = 0; i < 1000; i += 1) removed.push_back("i" + std::to_string(i));
            REQUIRE(f.remove_items(u, removed));
            REQUIRE(ref.remove_items(u, removed));
            CHECK(f.size(u) == ref.size(u));
            check_same_results(f, ref, u, queries);
        }
    }
}

TEST_CASE("faiss_retriever with HNSW reaches recall@10 of at least 0.95 against the exact search") {
    clustered_corpus corpus(64, 40, 11);
    auto const chunks = corpus.chunks(6000);
    faiss_retriever hnsw({.spec = "HNSW32"});
    faiss_retriever ivf({.spec = "IVF64,Flat", .nprobe = 8});
    flat_retriever exact;
    user_ref const u{"w", "clustered"};
    REQUIRE(hnsw.add(u, chunks));
    REQUIRE(ivf.add(u, chunks));
    REQUIRE(exact.add(u, chunks));
    auto const queries = corpus.queries(300);
    double hnsw_found = 0, ivf_found = 0, total = 0;
    for (auto const& q : queries) {
        auto const truth = exact.search(u, q);
        auto const a = hnsw.search(u, q);
        auto const b = ivf.search(u, q);
        REQUIRE(truth);
        REQUIRE(a);
        REQUIRE(b);
        std::set<std::string> want;
        for (auto const& h : *truth) want.insert(h.chunk_id);
        for (auto const& h : *a) hnsw_found += want.count(h.chunk_id);
        for (auto const& h : *b) ivf_found += want.count(h.chunk_id);
        total += static_cast<double>(want.size());
    }
    double const hnsw_recall = hnsw_found / total;
    double const ivf_recall = ivf_found / total;
    WARN("recall@10 against exact: HNSW32 " << hnsw_recall << ", IVF64,Flat nprobe 8 " << ivf_recall);
    CHECK(hnsw_recall >= 0.95);
    CHECK(ivf_recall >= 0.80);

    SECTION("below exact_below chunks a user is scanned exactly, whatever the spec") {
        faiss_retriever small({.spec = "HNSW32", .exact_below = 10000});
        REQUIRE(small.add(u, chunks));
        for (auto const& q : queries) CHECK(small.search(u, q).value() == exact.search(u, q).value());
    }
}

TEST_CASE("faiss_retriever: HNSW cannot remove, so removed chunks are hidden and later rebuilt away") {
    random_corpus corpus(16, 3);
    faiss_retriever r({.spec = "HNSW16"});
    user_ref const u{"w", "u"};
    auto const chunks = corpus.chunks("c", 400);
    REQUIRE(r.add(u, chunks));
    std::vector<std::string> removed;
    for (int i = 0; i < 150; ++i) removed.push_back("c" + std::to_string(i)); // tombstones, no rebuild yet
    REQUIRE(r.remove_items(u, removed));
    CHECK(r.size(u) == 250);
    auto const removed_found = [&] {
        std::size_t n = 0;
        for (std::size_t i = 0; i < 150; ++i) {
            search_query q;
            q.vector = chunks[i].embedding; // the removed chunk's own vector
            q.k = 10;
            auto const hits = r.search(u, q);
            REQUIRE(hits);
            for (auto const& h : *hits)
                if (h.chunk_id.starts_with("c") && std::stoi(h.chunk_id.substr(1)) < 150) ++n;
            CHECK(hits->size() == 10);
        }
        return n;
    };
    CHECK(removed_found() == 0);
    removed.clear();
    for (int i = 150; i < 260; ++i) removed.push_back("c" + std::to_string(i)); // past half: rebuilt
    REQUIRE(r.remove_items(u, removed));
    CHECK(r.size(u) == 140);
    CHECK(removed_found() == 0);
    // The survivors are still found by their own vectors.
    for (std::size_t i = 260; i < 400; i += 7) {
        search_query q;
        q.vector = chunks[i].embedding;
        q.k = 1;
        auto const hits = r.search(u, q);
        REQUIRE(hits);
        REQUIRE(hits->size() == 1);
        CHECK(hits->front().chunk_id == chunks[i].chunk_id);
    }
}

TEST_CASE("faiss_retriever: concurrent searches and writes of different users") {
    random_corpus corpus(32, 5);
    faiss_retriever r({.spec = "HNSW16"});
    std::vector<user_ref> users;
    for (int i = 0; i < 4; ++i) users.push_back({"w", "u" + std::to_string(i)});
    for (auto const& u : users) REQUIRE(r.add(u, corpus.chunks("seed", 200)));
    auto const queries = corpus.queries(20);
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 30; ++round) {
                if (t % 2 == 0) {
                    auto const batch = corpus.chunks("t" + std::to_string(t) + "r" + std::to_string(round), 5);
                    if (!r.add(users[static_cast<std::size_t>(t)], batch)) failed = true;
                } else {
                    for (auto const& q : queries)
                        if (!r.search(users[static_cast<std::size_t>(round % 4)], q)) failed = true;
                }
            }
        });
    for (auto& t : threads) t.join();
    CHECK_FALSE(failed);
    CHECK(r.size(users[0]) == 200 + 30 * 5);
    CHECK(r.size(users[1]) == 200);
}

TEST_CASE("faiss_retriever saves and loads: adopted when the store's chunks match, rebuilt when stale") {
    auto const dir = temp_dir("save-load");
    auto const file = dir / "index.faiss";
    for (std::string spec : {"IDMap,Flat", "HNSW32", "IVF8,Flat"}) {
        INFO("spec " << spec);
        random_corpus corpus(32, 9);
        user_ref const a{"w", "a"}, b{"w", "b"}, c{"w2", "a"};
        auto const ca = corpus.chunks("a", 600);
        auto const cb = corpus.chunks("b", 400);
        auto const cc = corpus.chunks("c", 400); // IVF8 trains from 312 vectors (min_train)
        // One build thread: an HNSW graph rebuilt from the same vectors is then the same graph.
        faiss_retriever::options const o{.spec = spec, .min_train = 312, .build_threads = 1};
        faiss_retriever before(o);
        REQUIRE(before.add(a, ca));
        REQUIRE(before.add(b, cb));
        REQUIRE(before.add(c, cc));
        REQUIRE(before.remove_items(a, std::vector<std::string>{"a5", "a6"})); // tombstones are compacted on save
        REQUIRE(before.save(file));

        faiss_retriever after(o);
        auto const loaded = after.load(file);
        REQUIRE(loaded);
        CHECK(*loaded == 3);
        // The "store" gives the chunks back in another order; b's changed since the save.
        std::vector<chunk> store_a;
        for (auto const& ch : ca)
            if (ch.item_id != "a5" && ch.item_id != "a6") store_a.push_back(ch);
        std::reverse(store_a.begin(), store_a.end());
        auto store_b = cb;
        store_b[17].embedding[0] += 0.25f;
        REQUIRE(after.add(a, store_a));
        REQUIRE(after.add(b, store_b));
        REQUIRE(after.add(c, cc));
        auto const stats = after.get_persistence_statistics();
        CHECK(stats.users_loaded == 3);
        CHECK(stats.users_adopted == 2);
        CHECK(stats.users_rebuilt == 1);

        // Adopted users answer exactly as before the save; the stale one as a fresh rebuild does.
        faiss_retriever fresh(o);
        REQUIRE(fresh.add(b, store_b));
        auto const queries = corpus.queries(40);
        check_same_results(after, before, a, queries);
        check_same_results(after, before, c, queries);
        check_same_results(after, fresh, b, queries);
    }
}

TEST_CASE("faiss_retriever: a missing, corrupt, truncated or foreign index file is an error, then a rebuild") {
    auto const dir = temp_dir("corrupt");
    auto const file = dir / "index.faiss";
    random_corpus corpus(16, 4);
    user_ref const u{"w", "u"};
    auto const chunks = corpus.chunks("x", 300);
    faiss_retriever::options const o{.spec = "HNSW16"};
    {
        faiss_retriever r(o);
        REQUIRE(r.add(u, chunks));
        REQUIRE(r.save(file));
    }
    std::string good;
    {
        std::ifstream in(file, std::ios::binary);
        good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto const write = [&](std::string const& bytes) {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << bytes;
    };
    auto const expect_error = [&](errc code, std::string const& words) {
        faiss_retriever r(o);
        auto const loaded = r.load(file);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == code);
        CHECK_THAT(loaded.error().message, Catch::Contains(words));
        // Nothing was loaded: the user is rebuilt from the chunks and serves normally.
        REQUIRE(r.add(u, chunks));
        CHECK(r.get_persistence_statistics().users_adopted == 0);
        search_query q;
        q.vector = chunks[42].embedding;
        q.k = 1;
        auto const hits = r.search(u, q);
        REQUIRE(hits);
        REQUIRE(hits->size() == 1);
        CHECK(hits->front().chunk_id == chunks[42].chunk_id);
    };
    SECTION("missing") {
        std::filesystem::remove(file);
        expect_error(errc::not_found, "does not exist");
    }
    SECTION("a flipped byte in the middle") {
        auto bad = good;
        bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
        write(bad);
        expect_error(errc::internal_error, "checksum");
    }
    SECTION("truncated") {
        write(good.substr(0, good.size() * 2 / 3));
        expect_error(errc::internal_error, "checksum");
    }
    SECTION("not an index file") {
        write("SQLite format 3\0 and then some bytes that are not ours");
        expect_error(errc::internal_error, "not a persona FAISS index file");
    }
    SECTION("written for another spec") {
        faiss_retriever r({.spec = "IDMap,Flat"});
        auto const loaded = r.load(file);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == errc::invalid_request);
        CHECK_THAT(loaded.error().message, Catch::Contains("HNSW16"));
    }
}

TEST_CASE("faiss_retriever: an index saved by a process killed with SIGKILL loads with the same results") {
    auto const dir = temp_dir("sigkill");
    auto const file = dir / "index.faiss";
    auto const ready = dir / "ready";
    // The writer is a separate program (fork without exec does not mix with OpenMP): it
    // builds the corpus below, saves, signals readiness and keeps running until killed.
    pid_t const pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::execl(PERSONA_FAISS_SAVER, PERSONA_FAISS_SAVER, file.c_str(), ready.c_str(), static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    REQUIRE(std::filesystem::exists(ready));

    std::string saved_transcript;
    {
        std::ifstream in(ready, std::ios::binary);
        saved_transcript.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    REQUIRE_FALSE(saved_transcript.empty());

    auto const data = saver_corpus();
    faiss_retriever loaded(saver_options());
    REQUIRE(loaded.load(file));
    for (auto const& [user, chunks] : data) REQUIRE(loaded.add(user, chunks));
    CHECK(loaded.get_persistence_statistics().users_adopted == data.size());
    CHECK(transcript(loaded) == saved_transcript);
}
