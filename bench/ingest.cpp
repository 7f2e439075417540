// Issue 7, benchmark 1: ingest throughput, events/s end to end (validate, chunk, embed,
// index, store), by batch size. In process for basic_engine (memory store) and
// sqlite_engine (SQLite store, WAL, synchronous=FULL: one fsync per batch); and, at the
// batch sizes of --http-batches, over HTTP against real persona-servers on 127.0.0.1
// (one --memory, one on SQLite), one keep-alive connection, bodies serialised before the
// clock starts. Every batch goes to every system in turn, A B C D D C B A ..., each batch
// timed on its own; events/s = batch size / median batch time.
//
//   build-bench/bench/persona_bench_ingest [--batches 1,10,100,1000] [--events 20000]
//       [--small-events 2000] [--server build-bench/tools/persona-server] [--http-batches 100]
//       [--dir /tmp] [--plot FILE] [--growth 0]
//
// --growth N (not part of scripts/bench.sh's run): afterwards, one in-process user of the
// memory store grown to N chunks in batches of 10, each batch timed, and the slowest
// batches printed with the user's size when they ran. A batch holds the user's lock, so
// its time is also how long that user's queries wait behind it.
//
// Batch sizes below 10 ingest --small-events events (with SQLite each batch is a commit).
// Events are 14-word notes of one chunk each; the hashing embedder has d = 256.
#include "server.hpp"

#include <persona/presets.hpp>
#include <persona/sqlite/sqlite_engine.hpp>

#include <functional>

namespace {

struct system_run {
    std::string name;
    std::function<void(std::size_t)> ingest; // batch index
    std::vector<double> seconds;
};

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv,
                          {{"batches", "1,10,100,1000"},
                           {"events", "20000"},
                           {"small-events", "2000"},
                           {"server", ""},
                           {"http-batches", "100"},
                           {"dir", std::filesystem::temp_directory_path().string()},
                           {"plot", ""},
                           {"growth", "0"}});
    std::filesystem::path const dir = opt.str("dir");
    auto const http_batches = opt.list("http-batches");

    // The servers live for the whole run; each batch size uses a fresh user on them.
    std::unique_ptr<bench::persona_server> http_memory, http_sqlite;
    std::optional<bench::client> to_memory, to_sqlite;
    if (!opt.str("server").empty()) {
        http_memory = std::make_unique<bench::persona_server>(opt.str("server"), true, dir);
        http_sqlite = std::make_unique<bench::persona_server>(opt.str("server"), false, dir);
        to_memory.emplace(http_memory->connect());
        to_sqlite.emplace(http_sqlite->connect());
    }

    bench::plot_data plot(opt.str("plot"));
    plot.header("batch memory_events_per_s sqlite_events_per_s http_memory_events_per_s http_sqlite_events_per_s");
    std::printf("| batch size | system | events | median batch ms | events/s | vs in-process memory |\n");
    std::printf("|---:|---|---:|---:|---:|---:|\n");

    for (std::size_t const batch : opt.list("batches")) {
        std::size_t const total = std::max(batch, batch < 10 ? opt.num("small-events") : opt.num("events"));
        std::size_t const n_batches = total / batch;
        std::string const user = "ingest_b" + std::to_string(batch);
        std::fprintf(stderr, "[ingest] batch %zu: %zu batches\n", batch, n_batches);

        // The work, made before any clock starts.
        std::mt19937_64 rng(batch);
        std::vector<persona::ingest_request> requests;
        std::vector<std::string> bodies;
        bool const http = to_memory && std::find(http_batches.begin(), http_batches.end(), batch) != http_batches.end();
        for (std::size_t b = 0; b < n_batches; ++b) {
            requests.push_back(bench::events(user, "e", b * batch, batch, rng));
            if (http) bodies.push_back(bench::to_body(requests.back()));
        }

        auto const db = dir / ("persona-bench-ingest-" + std::to_string(getpid()) + ".db");
        auto const remove_db = [&] {
            for (auto const* s : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + s);
        };
        remove_db();
        {
        persona::basic_engine memory;
        persona::sqlite_engine sqlite(persona::sqlite_store::open(db).value());
        (void)memory.register_user({.user_id = user}).value();
        (void)sqlite.register_user({.user_id = user}).value();

        std::vector<system_run> systems;
        systems.push_back({"in process, memory store", [&](std::size_t b) { (void)memory.ingest(requests[b]).value(); }, {}});
        systems.push_back({"in process, SQLite store", [&](std::size_t b) { (void)sqlite.ingest(requests[b]).value(); }, {}});
        if (http) {
            std::string const reg = bench::to_body(persona::register_request{.user_id = user});
            to_memory->ok("PUT", "/register", reg);
            to_sqlite->ok("PUT", "/register", reg);
            systems.push_back({"HTTP, persona-server --memory", [&](std::size_t b) { to_memory->ok("POST", "/ingest", bodies[b]); }, {}});
            systems.push_back({"HTTP, persona-server SQLite", [&](std::size_t b) { to_sqlite->ok("POST", "/ingest", bodies[b]); }, {}});
        }

        for (std::size_t b = 0; b < n_batches; ++b)
            for (std::size_t i = 0; i < systems.size(); ++i) {
                auto& s = systems[b % 2 == 0 ? i : systems.size() - 1 - i];
                auto const t0 = bench::clock_type::now();
                s.ingest(b);
                s.seconds.push_back(bench::seconds_since(t0));
            }

        auto const rate = [&](system_run const& s) { return static_cast<double>(batch) / bench::median(s.seconds); };
        double const reference = rate(systems[0]);
        std::string row = std::to_string(batch);
        for (auto const& s : systems) {
            std::printf("| %zu | %s | %zu | %.3f | %.0f | %.2f |\n", batch, s.name.c_str(), n_batches * batch,
                        1e3 * bench::median(s.seconds), rate(s), rate(s) / reference);
            row += " " + bench::fmt("%.0f", rate(s));
        }
        for (std::size_t i = systems.size(); i < 4; ++i) row += " -";
        plot.row(row);
        std::fflush(stdout);
        } // the engines close here, then their file goes
        remove_db();
    }
    std::printf("\nOne core does the in-process work (the engine ingests on the caller's thread); events/s is "
                "therefore also events/s per core. Over HTTP the client, the server's 2 I/O threads and "
                "the in-process engines share the machine's 2 cores.\n");

    if (std::size_t const growth = opt.num("growth"); growth > 0) {
        constexpr std::size_t batch = 10;
        std::fprintf(stderr, "[ingest] growing one user to %zu chunks\n", growth);
        persona::basic_engine memory;
        (void)memory.register_user({.user_id = "grown"}).value();
        std::mt19937_64 rng(7);
        std::vector<std::pair<double, std::size_t>> timed; // (seconds, chunks before the batch)
        for (std::size_t have = 0; have < growth; have += batch) {
            auto const request = bench::events("grown", "g", have, std::min(batch, growth - have), rng);
            auto const t0 = bench::clock_type::now();
            (void)memory.ingest(request).value();
            timed.emplace_back(bench::seconds_since(t0), have);
        }
        std::vector<double> seconds;
        for (auto const& t : timed) seconds.push_back(t.first);
        std::ranges::sort(seconds);
        auto const at = [&](double share) { return 1e3 * seconds[static_cast<std::size_t>(share * (seconds.size() - 1))]; };
        std::printf("\nOne user grown to %zu chunks in %zu batches of up to %zu: batch ms p50 %.3f, p99 %.3f, "
                    "p99.9 %.3f, max %.3f. The slowest:\n\n| batch ms | user's chunks before it |\n|---:|---:|\n",
                    growth, timed.size(), batch, at(0.5), at(0.99), at(0.999), at(1.0));
        std::ranges::sort(timed, std::greater<>{});
        for (std::size_t i = 0; i < std::min<std::size_t>(8, timed.size()); ++i)
            std::printf("| %.1f | %zu |\n", 1e3 * timed[i].first, timed[i].second);
    }
}
