// Issue 7, benchmark 3: the vector scan against the memory limit. For one user of n
// vectors (d = 256, random unit vectors; n up to --sizes, >= 1M in the full run) it
// measures, in the same run and interleaved A B C C B A ...:
//   A. a plain read loop summing n * d floats (8 independent accumulators of the widest
//      unit the CPU has, AVX-512 or SSE: what one core can stream from memory), in
//      arrays allocated and filled alongside the retriever's, block by block;
//   B. persona::flat_retriever::search at k = 10 with the query vector and a query text
//      that matches no chunk, so the vector side is the whole work;
//   C. Debian's FAISS faiss::IndexFlatIP::search, batch 1, k = 10, on the same vectors.
// Rate = n * d * 4 bytes / time of one call. Medians over rounds, and ratios.
//
//   OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 build-bench/bench/persona_bench_scan
//       [--sizes 10000,100000,1000000] [--dim 256] [--rounds 15] [--plot FILE]
//
// Rounds grow as n shrinks (--rounds at the largest n, at most 100), so each size takes
// seconds. Memory: about 3 copies of n * d floats (flat_retriever's, FAISS's, the read
// loop's): 3 GB at 1M.
#include "common.hpp"

#include <persona/flat_retriever.hpp>

#include <faiss/IndexFlat.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <functional>
#include <memory>
#include <set>

namespace {

using idx_t = faiss::Index::idx_t; // FAISS 1.7.3 has no faiss::idx_t

/// Sum of `n` floats with 8 independent 4-float accumulators (GCC/Clang vector extension:
/// SIMD where the target has it, scalar code otherwise). The accumulators keep the adds
/// from waiting on each other, so memory, not the adder, is the limit.
float read_loop_sse(float const* p, std::size_t n) {
    typedef float v4 __attribute__((vector_size(16)));
    v4 acc[8] = {};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 8; ++j) {
            v4 x;
            std::memcpy(&x, p + i + 4 * j, sizeof x);
            acc[j] += x;
        }
    float s = 0;
    for (auto const& a : acc) s += a[0] + a[1] + a[2] + a[3];
    for (; i < n; ++i) s += p[i];
    return s;
}

#if defined(__x86_64__)
/// The same with AVX-512 loads, 8 accumulators of 16 floats: the read loop must be at
/// least as wide as the kernel flat_retriever picks (AVX-512 where the CPU has it), or
/// "flat / read loop" would flatter the retriever.
__attribute__((target("avx512f"))) float read_loop_avx512(float const* p, std::size_t n) {
    __m512 acc[8];
    for (auto& a : acc) a = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 128 <= n; i += 128)
        for (int j = 0; j < 8; ++j) acc[j] = _mm512_add_ps(acc[j], _mm512_loadu_ps(p + i + 16 * j));
    float s = 0;
    float lanes[16];
    for (auto const& a : acc) {
        _mm512_storeu_ps(lanes, a);
        for (float x : lanes) s += x;
    }
    for (; i < n; ++i) s += p[i];
    return s;
}
#endif

/// The widest read loop this CPU runs.
float read_loop(float const* p, std::size_t n) {
#if defined(__x86_64__)
    static bool const wide = __builtin_cpu_supports("avx512f");
    if (wide) return read_loop_avx512(p, n);
#endif
    return read_loop_sse(p, n);
}

/// A random unit vector (uniform coordinates, normalised: the scan's speed does not
/// depend on the values, and this is much faster to make than a Gaussian).
void unit_vector(std::mt19937_64& rng, float* out, std::size_t d) {
    std::uniform_real_distribution<float> u(-1, 1);
    double norm = 0;
    for (std::size_t j = 0; j < d; ++j) {
        out[j] = u(rng);
        norm += double(out[j]) * out[j];
    }
    auto const inv = static_cast<float>(1 / std::sqrt(norm));
    for (std::size_t j = 0; j < d; ++j) out[j] *= inv;
}

struct timed {
    std::string name;
    std::function<void(std::size_t)> call; // round
    std::vector<double> gbps;
};

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv,
                          {{"sizes", "10000,100000,1000000"}, {"dim", "256"}, {"rounds", "15"}, {"plot", ""}});
    std::size_t const d = opt.num("dim");
    auto const sizes = opt.list("sizes");
    std::size_t const largest = *std::max_element(sizes.begin(), sizes.end());
    char const* threads = std::getenv("OMP_NUM_THREADS");
    std::printf("<!-- persona_bench_scan: OMP_NUM_THREADS=%s, omp_get_max_threads() = %d, FAISS %d.%d.%d -->\n",
                threads ? threads : "(unset)", omp_get_max_threads(), FAISS_VERSION_MAJOR, FAISS_VERSION_MINOR,
                FAISS_VERSION_PATCH);
    if (!threads || std::string(threads) != "1")
        std::fprintf(stderr, "note: run with OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 (FAISS at batch 1, one core)\n");

    bench::plot_data plot(opt.str("plot"));
    plot.header("vectors read_loop_GBps flat_retriever_GBps faiss_GBps");
    std::printf("| vectors (d = %zu) | MB scanned | read loop GB/s | flat_retriever GB/s | FAISS IndexFlatIP GB/s | "
                "flat / read loop | flat / FAISS | flat p50 ms | FAISS p50 ms | same top 10 |\n",
                d);
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");

    persona::user_ref const user{std::string(persona::default_workspace), "scan_user"};
    for (std::size_t const n : sizes) {
        std::fprintf(stderr, "[scan] n = %zu: building\n", n);
        auto const t_build = bench::clock_type::now();
        // The same vectors go to flat_retriever and FAISS, added in blocks so that the
        // chunk objects (a third copy) never exist all at once. The read loop's floats
        // are allocated and written block by block too, right after the retriever's: on
        // these VMs memory first touched at different times reads at different speeds
        // (one read loop, one process: 21 to 23 GB/s over an array filled before the
        // retriever was built, 29 to 34 over one filled after it; docs/performance.md,
        // "Twelfth step"), so the loop must read memory of the same age as the
        // retriever's, or the ratio measures the allocator.
        auto retriever = std::make_unique<persona::flat_retriever>();
        auto index = std::make_unique<faiss::IndexFlatIP>(static_cast<idx_t>(d));
        std::mt19937_64 rng(n);
        std::size_t const block = 50000;
        std::vector<persona::chunk> chunks;
        std::vector<float> rows;
        std::vector<std::vector<float>> plain;
        for (std::size_t first = 0; first < n; first += block) {
            std::size_t const m = std::min(block, n - first);
            chunks.assign(m, {});
            rows.resize(m * d);
            for (std::size_t r = 0; r < m; ++r) {
                auto& c = chunks[r];
                c.item_id = "e" + std::to_string(first + r);
                c.chunk_id = persona::make_chunk_id(c.item_id, persona::item_kind::event, 1);
                c.text = "vector " + std::to_string(first + r);
                c.time = persona::timestamp{} + std::chrono::seconds(1'735'689'600 + 60 * static_cast<long>(first + r));
                unit_vector(rng, rows.data() + r * d, d);
                c.embedding.assign(rows.begin() + static_cast<std::ptrdiff_t>(r * d),
                                   rows.begin() + static_cast<std::ptrdiff_t>((r + 1) * d));
            }
            retriever->add(user, chunks).value();
            plain.emplace_back(m * d, 1.0f / 16);
            index->add(static_cast<idx_t>(m), rows.data());
        }
        chunks = {};
        rows = {};
        std::fprintf(stderr, "[scan] n = %zu: built in %.1f s; scanning\n", n, bench::seconds_since(t_build));

        // A few query vectors, used in turn; the text matches nothing (no such word).
        std::vector<persona::search_query> queries(8);
        for (auto& q : queries) {
            q.vector.resize(d);
            unit_vector(rng, q.vector.data(), d);
            q.parts.push_back({"qqzzxxyy", 1.0});
            q.k = 10;
        }
        std::vector<float> distances(10);
        std::vector<idx_t> labels(10);
        std::vector<std::vector<std::string>> flat_top(queries.size()), faiss_top(queries.size());
        volatile float sink = 0;

        std::vector<timed> systems;
        systems.push_back({"read loop", [&](std::size_t) {
                               for (auto const& p : plain) sink = sink + read_loop(p.data(), p.size());
                           }, {}});
        systems.push_back({"flat_retriever", [&](std::size_t r) {
                               auto const hits = retriever->search(user, queries[r % queries.size()]).value();
                               auto& top = flat_top[r % queries.size()];
                               top.clear();
                               for (auto const& h : hits) top.push_back(h.chunk_id);
                           }, {}});
        systems.push_back({"FAISS", [&](std::size_t r) {
                               index->search(1, queries[r % queries.size()].vector.data(), 10, distances.data(),
                                             labels.data());
                               auto& top = faiss_top[r % queries.size()];
                               top.clear();
                               for (auto const l : labels)
                                   top.push_back(persona::make_chunk_id("e" + std::to_string(l), persona::item_kind::event, 1));
                           }, {}});

        std::size_t const rounds = std::max(opt.num("rounds"), std::min<std::size_t>(100, opt.num("rounds") * largest / n));
        double const bytes = static_cast<double>(n * d * sizeof(float));
        for (auto& s : systems) s.call(0); // warm-up: page faults, first touch
        for (std::size_t r = 0; r < rounds; ++r)
            for (std::size_t i = 0; i < systems.size(); ++i) {
                auto& s = systems[r % 2 == 0 ? i : systems.size() - 1 - i];
                auto const t0 = bench::clock_type::now();
                s.call(r);
                s.gbps.push_back(bytes / bench::seconds_since(t0) / 1e9);
            }

        // Same results? flat_retriever ranks by clamp(dot, 0, 1) and breaks ties by chunk
        // id; FAISS by the raw dot product; for random vectors the top 10 should agree.
        std::size_t same = 0, total = 0;
        for (std::size_t q = 0; q < queries.size() && q < rounds; ++q) {
            std::set<std::string> const f(faiss_top[q].begin(), faiss_top[q].end());
            for (auto const& id : flat_top[q]) same += f.count(id);
            total += faiss_top[q].size();
        }
        double const loop = bench::median(systems[0].gbps), flat = bench::median(systems[1].gbps),
                     faiss = bench::median(systems[2].gbps);
        std::printf("| %zu | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %zu/%zu |\n", n, bytes / 1e6, loop,
                    flat, faiss, flat / loop, flat / faiss, bytes / flat / 1e6, bytes / faiss / 1e6, same, total);
        plot.row(std::to_string(n) + bench::fmt(" %.3f", loop) + bench::fmt(" %.3f", flat) + bench::fmt(" %.3f", faiss));
        std::fflush(stdout);
        std::fprintf(stderr, "[scan] n = %zu: %zu rounds\n", n, rounds);
    }
    std::printf("\nMedians over the rounds (each round runs the three in turn, the order reversed every other "
                "round). \"same top 10\": chunks of flat_retriever's top 10 also in FAISS's, over the distinct "
                "queries.\n");
}
