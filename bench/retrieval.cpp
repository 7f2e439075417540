// Issue 7, benchmark 2: /chunks latency (p50/p99, top_k 5, one 6-word user turn) for one
// user as that user grows (--sizes chunks), in three systems side by side:
//   - in process, basic_engine holding only that user;
//   - in process, basic_engine also holding --users other users of --small events each;
//   - over HTTP, a real persona-server --memory holding the same users, one keep-alive
//     connection (what a client sees: JSON both ways, the server's routing and keys).
// Every query runs on every system in turn, A B C C B A ..., after a warm-up. Then, apart
// (an eviction would slow whichever system ran next), the crowded engine once more with
// --evict MB of other memory read before each query, untimed (0: not run). That bounds a
// server's engine time from above: its requests meet other connections, the kernel's
// network buffers and the client between them, so its caches are neither this cold nor
// as warm as a loop's (docs/performance.md, "Eleventh step").
//
//   build-bench/bench/persona_bench_retrieval [--sizes 1000,10000,100000] [--users 10000]
//       [--small 5] [--queries 300] [--evict 64] [--server build-bench/tools/persona-server]
//       [--plot FILE]
#include "server.hpp"

#include <persona/presets.hpp>

#include <functional>

namespace {

struct system_run {
    std::string name;
    std::function<void(std::size_t)> query;
    std::vector<double> us;
};

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv,
                          {{"sizes", "1000,10000,100000"},
                           {"users", "10000"},
                           {"small", "5"},
                           {"queries", "300"},
                           {"evict", "64"},
                           {"server", ""},
                           {"dir", std::filesystem::temp_directory_path().string()},
                           {"plot", ""}});
    std::size_t const users = opt.num("users"), small = opt.num("small"), nq = opt.num("queries");

    persona::basic_engine alone, crowded;
    std::unique_ptr<bench::persona_server> server;
    std::optional<bench::client> http;
    if (!opt.str("server").empty()) {
        server = std::make_unique<bench::persona_server>(opt.str("server"), true, opt.str("dir"));
        http.emplace(server->connect());
    }

    // The crowd: `users` small users, in process and on the server.
    auto const t_fill = bench::clock_type::now();
    std::mt19937_64 rng(3);
    for (std::size_t u = 0; u < users; ++u) {
        std::string const id = "small_" + std::to_string(u);
        auto const in = bench::events(id, "s", 0, small, rng);
        (void)crowded.register_user({.user_id = id}).value();
        (void)crowded.ingest(in).value();
        if (http) {
            http->ok("PUT", "/register", bench::to_body(persona::register_request{.user_id = id}));
            http->ok("POST", "/ingest", bench::to_body(in));
        }
    }
    std::fprintf(stderr, "[retrieval] %zu users of %zu events loaded in %.1f s\n", users, small,
                 bench::seconds_since(t_fill));

    std::string const big = "big_user";
    (void)alone.register_user({.user_id = big}).value();
    (void)crowded.register_user({.user_id = big}).value();
    if (http) http->ok("PUT", "/register", bench::to_body(persona::register_request{.user_id = big}));

    std::string const crowd = std::to_string(users) + " users";
    std::vector<system_run> systems;
    std::vector<persona::chunks_request> queries;
    std::vector<std::string> bodies;
    systems.push_back({"in process, 1 user", [&](std::size_t q) { (void)alone.chunks(queries[q]).value(); }, {}});
    systems.push_back({"in process, " + crowd, [&](std::size_t q) { (void)crowded.chunks(queries[q]).value(); }, {}});
    if (http) systems.push_back({"HTTP, " + crowd, [&](std::size_t q) { http->ok("POST", "/chunks", bodies[q]); }, {}});

    bench::plot_data plot(opt.str("plot"));
    plot.header("chunks p50_alone p99_alone p50_crowded p99_crowded p50_http p99_http p50_cold p99_cold");
    // Reading one byte per cache line of a buffer larger than the last-level cache leaves
    // none of the engine's lines cached (reads, not writes: no dirty lines for the query
    // to write back); the volatile sink keeps the loop from being optimised away.
    std::vector<unsigned char> eviction_buffer(opt.num("evict") << 20, 1);
    auto const evict = [&] {
        constexpr std::size_t cache_line = 64;
        unsigned sum = 0;
        for (std::size_t i = 0; i < eviction_buffer.size(); i += cache_line) sum += eviction_buffer[i];
        static volatile unsigned sink;
        sink = sum;
    };
    std::printf("| chunks of the user | system | p50 µs | p99 µs | p50 vs in process, 1 user |\n");
    std::printf("|---:|---|---:|---:|---:|\n");

    std::size_t have = 0;
    std::mt19937_64 qrng(11);
    for (std::size_t const size : opt.list("sizes")) {
        // Grow the user to `size` chunks (one chunk per event), in batches of 1000.
        auto const t_grow = bench::clock_type::now();
        while (have < size) {
            std::size_t const n = std::min<std::size_t>(1000, size - have);
            auto const in = bench::events(big, "b", have, n, rng);
            (void)alone.ingest(in).value();
            (void)crowded.ingest(in).value();
            if (http) http->ok("POST", "/ingest", bench::to_body(in));
            have += n;
        }
        std::fprintf(stderr, "[retrieval] user grown to %zu chunks in %.1f s; querying\n", size,
                     bench::seconds_since(t_grow));

        queries.clear();
        bodies.clear();
        for (std::size_t q = 0; q < nq; ++q) {
            queries.push_back(bench::chunks_query(big, qrng));
            bodies.push_back(bench::to_body(queries.back()));
        }
        for (auto& s : systems) {
            for (std::size_t q = 0; q < std::min<std::size_t>(10, nq); ++q) s.query(q); // warm-up
            s.us.clear();
        }
        for (std::size_t q = 0; q < nq; ++q)
            for (std::size_t i = 0; i < systems.size(); ++i) {
                auto& s = systems[q % 2 == 0 ? i : systems.size() - 1 - i];
                auto const t0 = bench::clock_type::now();
                s.query(q);
                s.us.push_back(bench::us_since(t0));
            }

        system_run cold{"in process, " + crowd + ", caches cold", {}, {}};
        if (!eviction_buffer.empty())
            for (std::size_t q = 0; q < nq; ++q) {
                evict();
                auto const t0 = bench::clock_type::now();
                (void)crowded.chunks(queries[q]).value();
                cold.us.push_back(bench::us_since(t0));
            }

        std::string row = std::to_string(size);
        double const reference = bench::median(systems[0].us);
        auto const print = [&](system_run const& s) {
            std::printf("| %zu | %s | %.0f | %.0f | %.2f |\n", size, s.name.c_str(), bench::median(s.us),
                        bench::percentile(s.us, 0.99), bench::median(s.us) / reference);
            row += bench::fmt(" %.1f", bench::median(s.us)) + bench::fmt(" %.1f", bench::percentile(s.us, 0.99));
        };
        for (auto const& s : systems) print(s);
        if (!http) row += " - -";
        if (!cold.us.empty()) print(cold);
        else row += " - -";
        plot.row(row);
        std::fflush(stdout);
    }
    std::printf("\n%zu queries per size and system (distinct 6-word user turns, top_k 5), interleaved; the other "
                "users hold %zu one-chunk events each.",
                nq, small);
    if (!eviction_buffer.empty())
        std::printf(" \"Caches cold\": the same queries after the interleaved ones, each after reading %zu MB of "
                    "other memory (untimed).",
                    opt.num("evict"));
    std::printf("\n");
}
