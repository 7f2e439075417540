// The SQLite store against the memory store, same workload, same run (issue 5):
// ingest throughput (events/s, whole engine: validate, chunk, embed, index, store),
// /chunks latency p50/p99, and database bytes per chunk. Batches and queries alternate
// between the two engines so that a noisy neighbour slows both alike.
//
//   build/bench/persona_bench_store [--events 20000] [--batch 100] [--queries 400] [--dir /tmp]
#include "common.hpp"

#include <persona/presets.hpp>
#include <persona/sqlite/sqlite_engine.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

persona::ingest_request batch(std::size_t first, std::size_t n, std::mt19937_64& rng) {
    persona::ingest_request in{.user_id = "bench_user", .source = "bench"};
    auto const t = std::chrono::sys_days{std::chrono::year{2025} / 1 / 1};
    for (std::size_t i = first; i < first + n; ++i)
        in.events.push_back({"e" + std::to_string(i), "note", t + std::chrono::minutes(i), bench::sentence(rng, 14), {}});
    return in;
}

double percentile(std::vector<double> v, double p) {
    std::ranges::sort(v);
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::uintmax_t file_bytes(std::filesystem::path const& p) {
    std::error_code ec;
    auto const n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t events = 20000, batch_size = 100, queries = 400;
    std::filesystem::path dir = std::filesystem::temp_directory_path();
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--events")) events = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--batch")) batch_size = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--queries")) queries = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    auto const db = dir / "persona-bench-store.db";
    for (auto const* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);

    persona::basic_engine memory;
    persona::sqlite_engine sqlite(persona::sqlite_store::open(db).value());
    for (auto* name : {"bench_user"}) {
        (void)memory.register_user({.user_id = name}).value();
        (void)sqlite.register_user({.user_id = name}).value();
    }

    // Ingest: the same batches, alternating engines (A B B A ...), timed one by one.
    std::vector<double> memory_s, sqlite_s;
    std::mt19937_64 rng(7);
    for (std::size_t b = 0; b * batch_size < events; ++b) {
        auto const in = batch(b * batch_size, batch_size, rng);
        auto run = [&](auto& engine, std::vector<double>& out) {
            auto const t0 = clock_type::now();
            (void)engine.ingest(in).value();
            out.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
        };
        if (b % 2 == 0) {
            run(memory, memory_s);
            run(sqlite, sqlite_s);
        } else {
            run(sqlite, sqlite_s);
            run(memory, memory_s);
        }
    }
    auto const rate = [&](std::vector<double> const& s) { return static_cast<double>(batch_size) / percentile(s, 0.5); };

    // /chunks: the same conversations, alternating.
    std::vector<double> memory_us, sqlite_us;
    std::mt19937_64 qrng(11);
    for (std::size_t q = 0; q < queries; ++q) {
        persona::chunks_request req{.user_id = "bench_user", .conversation = {{"user", bench::sentence(qrng, 6)}}, .top_k = 5};
        auto run = [&](auto& engine, std::vector<double>& out) {
            auto const t0 = clock_type::now();
            (void)engine.chunks(req).value();
            out.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        };
        if (q % 2 == 0) {
            run(memory, memory_us);
            run(sqlite, sqlite_us);
        } else {
            run(sqlite, sqlite_us);
            run(memory, memory_us);
        }
    }

    // Bytes per chunk: the file after a checkpoint (what stays on disk).
    {
        auto const reopened = persona::sqlite_store::open(db, {.verify = false});
        (void)reopened;
    }
    auto const chunks = sqlite.get_statistics().chunks;
    std::printf("events %zu in batches of %zu; %zu chunks; %zu /chunks queries (top_k 5)\n\n", events, batch_size,
                chunks, queries);
    std::printf("| store | ingest events/s (median batch) | ingest ratio | /chunks p50 us | /chunks p99 us | p50 ratio |\n");
    std::printf("|---|---|---|---|---|---|\n");
    std::printf("| memory_store | %.0f | 1.00 | %.0f | %.0f | 1.00 |\n", rate(memory_s), percentile(memory_us, 0.5),
                percentile(memory_us, 0.99));
    std::printf("| sqlite_store | %.0f | %.2f | %.0f | %.0f | %.2f |\n", rate(sqlite_s), rate(sqlite_s) / rate(memory_s),
                percentile(sqlite_us, 0.5), percentile(sqlite_us, 0.99),
                percentile(sqlite_us, 0.5) / percentile(memory_us, 0.5));
    auto const bytes = file_bytes(db) + file_bytes(db.string() + "-wal");
    std::printf("\ndatabase: %ju bytes for %zu chunks = %.0f bytes per chunk (embedding alone: %zu bytes)\n",
                static_cast<std::uintmax_t>(bytes), chunks, static_cast<double>(bytes) / static_cast<double>(chunks),
                sqlite.get_embedder().dimension() * sizeof(float));
}
