// Issue 7, benchmark 5: resident bytes per stored chunk. For basic_engine (memory store)
// and sqlite_engine (SQLite store: the flat_retriever index in memory, the data in the
// file, SQLite's page cache), it ingests 14-word one-chunk events in batches of 100 and
// reads the resident set (/proc/self/statm, after malloc_trim) before and after each
// step of --sizes chunks in total. Two layouts: all chunks in one user, and users of
// --per-user chunks each (at 100k chunks: 10k users). Each (store, layout) runs in a
// child process of its own, so one's heap does not pad the other's; the SQLite rows also
// give the file's bytes per chunk.
//
//   build-bench/bench/persona_bench_memory [--sizes 1000,10000,100000] [--per-user 10]
//       [--dir /tmp] [--plot FILE]
#include "common.hpp"

#include <persona/presets.hpp>
#include <persona/sqlite/sqlite_engine.hpp>

#include <filesystem>

namespace {

/// The child: one store, one layout; prints "ROW chunks rss_delta_bytes file_bytes" per size.
template <class Engine>
void measure(Engine& engine, std::vector<std::size_t> const& sizes, std::size_t per_user, std::size_t base,
             std::filesystem::path const& db) {
    std::mt19937_64 rng(1);
    std::size_t have = 0, users = 0;
    for (auto const size : sizes) {
        while (have < size) {
            // One user of everything (per_user = 0), or a new user every per_user chunks.
            std::size_t const room = per_user ? per_user - have % per_user : size - have;
            std::size_t const n = std::min({std::size_t{100}, room, size - have});
            std::string const user = "u" + std::to_string(per_user ? have / per_user : 0);
            if (per_user ? have % per_user == 0 : have == 0) {
                (void)engine.register_user({.user_id = user}).value();
                ++users;
            }
            (void)engine.ingest(bench::events(user, "e", have, n, rng)).value();
            have += n;
        }
        std::error_code ec;
        std::uintmax_t file = 0;
        for (auto const* s : {"", "-wal"})
            if (!db.empty()) file += std::filesystem::exists(db.string() + s) ? std::filesystem::file_size(db.string() + s, ec) : 0;
        std::printf("ROW %zu %zu %ju %zu\n", size, bench::rss_bytes() - base, file, users);
        std::fflush(stdout);
    }
}

int child(std::string const& store, std::vector<std::size_t> const& sizes, std::size_t per_user,
          std::filesystem::path const& dir) {
    if (store == "memory") {
        auto const base = bench::rss_bytes();
        persona::basic_engine engine;
        measure(engine, sizes, per_user, base, {});
        return 0;
    }
    auto const db = dir / ("persona-bench-memory-" + std::to_string(getpid()) + ".db");
    auto const base = bench::rss_bytes();
    {
        persona::sqlite_engine engine(persona::sqlite_store::open(db).value());
        measure(engine, sizes, per_user, base, db);
    }
    for (auto const* s : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + s);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv,
                          {{"sizes", "1000,10000,100000"},
                           {"per-user", "10"},
                           {"dir", std::filesystem::temp_directory_path().string()},
                           {"plot", ""},
                           {"child", ""},
                           {"child-per-user", "0"}});
    if (!opt.str("child").empty()) return child(opt.str("child"), opt.list("sizes"), opt.num("child-per-user"), opt.str("dir"));

    std::string const self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::size_t const per_user = opt.num("per-user");
    struct config {
        std::string store, label;
        std::size_t per_user;
    };
    std::vector<config> const configs{{"memory", "memory store, 1 user", 0},
                                      {"memory", "memory store, users of " + std::to_string(per_user), per_user},
                                      {"sqlite", "SQLite store, 1 user", 0},
                                      {"sqlite", "SQLite store, users of " + std::to_string(per_user), per_user}};
    std::printf("| store, layout | chunks | users | resident MB | resident bytes per chunk | SQLite file bytes per chunk |\n");
    std::printf("|---|---:|---:|---:|---:|---:|\n");
    std::map<std::size_t, std::vector<double>> per_size; // chunks -> bytes per chunk, in config order
    for (auto const& c : configs) {
        std::fprintf(stderr, "[memory] %s\n", c.label.c_str());
        auto const out = bench::capture(self + " --child " + c.store + " --child-per-user " + std::to_string(c.per_user) +
                                        " --sizes " + opt.str("sizes") + " --dir " + opt.str("dir"));
        std::size_t pos = 0;
        while ((pos = out.find("ROW ", pos)) != std::string::npos) {
            std::size_t chunks = 0, rss = 0, users = 0;
            std::uintmax_t file = 0;
            std::sscanf(out.c_str() + pos, "ROW %zu %zu %ju %zu", &chunks, &rss, &file, &users);
            double const per = static_cast<double>(rss) / static_cast<double>(chunks);
            std::printf("| %s | %zu | %zu | %.1f | %.0f | %s |\n", c.label.c_str(), chunks, users, rss / 1e6, per,
                        c.store == "sqlite" ? bench::fmt("%.0f", static_cast<double>(file) / chunks).c_str() : "—");
            per_size[chunks].push_back(per);
            ++pos;
        }
    }
    bench::plot_data plot(opt.str("plot"));
    plot.header("chunks memory_1user memory_many sqlite_1user sqlite_many (resident bytes per chunk)");
    for (auto const& [chunks, v] : per_size) {
        std::string row = std::to_string(chunks);
        for (auto const x : v) row += bench::fmt(" %.0f", x);
        plot.row(row);
    }
    std::printf("\nEvents of 14 words, one chunk each, hashing embedder d = 256 (the embedding alone is 1024 bytes, "
                "one copy). Resident growth after malloc_trim, divided by "
                "the chunks stored; at small sizes the allocator's and SQLite's fixed costs weigh in.\n");
}
