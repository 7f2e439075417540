// Issue 4: persona::faiss_retriever against persona::flat_retriever and raw FAISS on the
// same data in one run, and one FAISS index per user against one shared index filtered
// by id. Prints Markdown tables (stdout) that docs/performance.md quotes; progress goes
// to stderr.
//
// OpenMP reads its settings when the program starts, so set them on the command line:
//
//   OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 build/bench/persona_bench_faiss
//
// Options (defaults in brackets):
//   --sizes 1000,10000,100000   chunks of the one user in the retriever comparison
//   --dims 256,384              vector dimensions
//   --queries 200               distinct query vectors per size
//   --hnsw-max 10000            skip the HNSW systems above this many chunks (one HNSW build
//                               of 100k chunks takes minutes on one core)
//   --no-compare / --no-users   skip the retriever comparison / the per-user experiment
//   --shared-hnsw               add a shared HNSW index of 100k to the per-user experiment
//                               (its build alone takes ~7 minutes on one core)
//
// Measurements are interleaved (every query is run by every system, in an order shuffled
// for each query) so that a noisy neighbour slows all systems alike; the wrapper's
// overhead is measured apart, its two systems alone in A B B A order. Latencies are per
// call at batch 1; medians and same-run ratios are what to quote.
#include <persona/faiss/faiss_retriever.hpp>
#include <persona/flat_retriever.hpp>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>

#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using idx_t = faiss::Index::idx_t;

double since_us(clock_type::time_point t0) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return NAN;
    std::ranges::sort(v);
    auto const i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
}
double median(std::vector<double> const& v) { return percentile(v, 0.5); }

std::size_t rss_bytes() {
    malloc_trim(0);
    std::ifstream f("/proc/self/statm");
    std::size_t size = 0, resident = 0;
    f >> size >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

/// n random unit vectors of dimension d, row by row.
std::vector<float> unit_vectors(std::size_t n, std::size_t d, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> gauss;
    std::vector<float> v(n * d);
    for (std::size_t i = 0; i < n; ++i) {
        float* row = v.data() + i * d;
        double norm = 0;
        for (std::size_t j = 0; j < d; ++j) {
            row[j] = gauss(rng);
            norm += double(row[j]) * row[j];
        }
        auto const inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (std::size_t j = 0; j < d; ++j) row[j] *= inv;
    }
    return v;
}

/// 1000 made-up words ("bakon", "dumen", ...): a 12-word chunk text then holds a given
/// word with probability ~1.2%, so a 2-word query matches ~2.4% of the chunks.
std::vector<std::string> const& vocabulary() {
    static std::vector<std::string> const words = [] {
        std::vector<std::string> syllables;
        for (char c : std::string("bdfgklmnprstvz"))
            for (char v : std::string("aeiou")) syllables.push_back({c, v});
        std::vector<std::string> w;
        for (std::size_t i = 0; i < 1000; ++i)
            w.push_back(syllables[i % syllables.size()] + syllables[(i / syllables.size() * 11 + 3) % syllables.size()] + "n");
        return w;
    }();
    return words;
}

std::string random_text(std::mt19937_64& rng, std::size_t words) {
    auto const& v = vocabulary();
    std::string s;
    for (std::size_t i = 0; i < words; ++i) {
        if (i) s += ' ';
        s += v[rng() % v.size()];
    }
    return s;
}

std::string chunk_id_of(std::size_t i) { return persona::make_chunk_id("e" + std::to_string(i), persona::item_kind::event, 1); }

/// Chunks first..first+n-1 over rows of `vectors` (row r = chunk first + r).
std::vector<persona::chunk> make_chunks(std::span<float const> vectors, std::size_t d, std::size_t first,
                                        std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::size_t const n = vectors.size() / d;
    std::vector<persona::chunk> out(n);
    for (std::size_t r = 0; r < n; ++r) {
        auto& c = out[r];
        c.item_id = "e" + std::to_string(first + r);
        c.chunk_id = persona::make_chunk_id(c.item_id, persona::item_kind::event, 1);
        c.text = random_text(rng, 12);
        c.time = persona::timestamp{} + std::chrono::seconds(1'735'689'600 + 60 * static_cast<long>(first + r));
        c.embedding.assign(vectors.begin() + static_cast<std::ptrdiff_t>(r * d),
                           vectors.begin() + static_cast<std::ptrdiff_t>((r + 1) * d));
    }
    return out;
}

double recall(std::vector<std::vector<std::string>> const& got, std::vector<std::vector<std::string>> const& truth) {
    std::size_t hit = 0, total = 0;
    for (std::size_t q = 0; q < truth.size(); ++q) {
        std::set<std::string> const t(truth[q].begin(), truth[q].end());
        for (auto const& id : got[q]) hit += t.count(id);
        total += truth[q].size();
    }
    return total ? static_cast<double>(hit) / static_cast<double>(total) : NAN;
}

std::vector<std::string> ids_of(std::vector<persona::scored_chunk> const& hits) {
    std::vector<std::string> out;
    for (auto const& h : hits) out.push_back(h.chunk_id);
    return out;
}
std::vector<std::string> ids_of(std::span<idx_t const> labels, idx_t offset = 0) {
    std::vector<std::string> out;
    for (auto const l : labels)
        if (l >= 0) out.push_back(chunk_id_of(static_cast<std::size_t>(l - offset)));
    return out;
}

/// One system under measurement: `call(q)` runs query q, records its latency and keeps its result.
struct timed_system {
    std::string name;
    std::function<double(std::size_t)> call; // returns microseconds
    std::vector<double> us;
    std::vector<std::vector<std::string>> results;
};

/// Run `passes` passes over `nq` queries, every query by every system, in an order
/// shuffled afresh for each query (so no system always runs after the same other one,
/// whose data it would find in cache or evicted).
void interleave(std::vector<timed_system*> const& systems, std::size_t nq, std::size_t passes) {
    std::size_t const warm = std::min<std::size_t>(nq, 10);
    for (std::size_t q = 0; q < warm; ++q)
        for (auto* s : systems) (void)s->call(q);
    for (auto* s : systems) s->us.clear();
    std::mt19937_64 rng(17);
    auto order = systems;
    for (std::size_t p = 0; p < passes; ++p)
        for (std::size_t q = 0; q < nq; ++q) {
            std::ranges::shuffle(order, rng);
            for (auto* s : order) s->us.push_back(s->call(q));
        }
}

/// Two systems only, in A B B A order over the queries: each runs after itself as often
/// as after the other, so cache effects and drift hit both alike. For the overhead ratio.
void alternate(timed_system& a, timed_system& b, std::size_t nq, std::size_t passes) {
    a.us.clear();
    b.us.clear();
    for (std::size_t p = 0; p < passes; ++p)
        for (std::size_t q = 0; q < nq; ++q) {
            if ((q + p) % 2 == 0) {
                a.us.push_back(a.call(q));
                b.us.push_back(b.call(q));
            } else {
                b.us.push_back(b.call(q));
                a.us.push_back(a.call(q));
            }
        }
}

/// Median over per-sample ratios a[i] / b[i] - 1 (same query, same pass: same noise).
double paired_overhead(std::vector<double> const& a, std::vector<double> const& b) {
    std::vector<double> r;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) r.push_back(a[i] / b[i] - 1);
    return median(r);
}

struct options {
    std::vector<std::size_t> sizes{1000, 10000, 100000};
    std::vector<std::size_t> dims{256, 384};
    std::size_t queries = 200;
    std::size_t hnsw_max = 10000;
    bool compare = true;
    bool users = true;
    bool shared_hnsw = false;
};

std::vector<std::size_t> parse_list(char const* s) {
    std::vector<std::size_t> out;
    std::string item;
    for (char const* p = s;; ++p) {
        if (*p == ',' || *p == '\0') {
            if (!item.empty()) out.push_back(std::stoul(item));
            item.clear();
            if (*p == '\0') break;
        } else {
            item += *p;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Part 1: one user, n chunks: raw FAISS, faiss_retriever, flat_retriever.

struct cell {
    double build_ms = NAN;
    double p50 = NAN, p99 = NAN, recall = NAN;
    std::size_t samples = 0;
};
using key = std::tuple<std::size_t, std::size_t, std::string>; // d, n, system
std::map<key, cell> table;

struct overhead_row {
    std::size_t d, n;
    std::string spec;
    double raw_p50, persona_p50, ratio, paired;
};
std::vector<overhead_row> overheads;

char const* const build_systems[] = {"raw IndexFlatIP", "raw IndexHNSWFlat M=32", "faiss_retriever IDMap,Flat",
                                     "faiss_retriever HNSW32", "flat_retriever"};
char const* const query_systems[] = {
    "raw IndexFlatIP, k=10",
    "raw IndexFlatIP, k=64",
    "faiss_retriever IDMap,Flat, vector",
    "faiss_retriever IDMap,Flat, text+vector",
    "raw IndexHNSWFlat ef=64, k=10",
    "raw IndexHNSWFlat ef=64, k=64",
    "faiss_retriever HNSW32, vector",
    "faiss_retriever HNSW32, text+vector",
    "flat_retriever, vector",
    "flat_retriever, text+vector",
};

void compare(std::size_t d, std::size_t n, options const& opt) {
    std::fprintf(stderr, "[compare] d=%zu n=%zu: data\n", d, n);
    bool const with_hnsw = n <= opt.hnsw_max;
    auto const base = unit_vectors(n, d, 1000 * d + n);
    auto chunks = make_chunks(base, d, 0, 7 * n + d);
    auto const qv = unit_vectors(opt.queries, d, 99 + d);
    std::mt19937_64 qrng(5);
    std::vector<persona::search_query> q_vec(opt.queries), q_text(opt.queries);
    for (std::size_t i = 0; i < opt.queries; ++i) {
        q_vec[i].vector.assign(qv.begin() + static_cast<std::ptrdiff_t>(i * d),
                               qv.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
        q_vec[i].k = 10;
        q_text[i] = q_vec[i];
        q_text[i].parts.push_back({random_text(qrng, 2), 1.0});
    }
    persona::user_ref const user{std::string(persona::default_workspace), "u"};

    // Builds, interleaved; the last build of each system is kept for the queries.
    std::unique_ptr<faiss::IndexFlatIP> raw_flat;
    std::unique_ptr<faiss::IndexHNSWFlat> raw_hnsw;
    std::unique_ptr<persona::faiss_retriever> p_flat, p_hnsw;
    std::unique_ptr<persona::flat_retriever> flat;
    std::vector<std::function<void()>> builders = {
        [&] {
            raw_flat = std::make_unique<faiss::IndexFlatIP>(static_cast<idx_t>(d));
            raw_flat->add(static_cast<idx_t>(n), base.data());
        },
        [&] {
            if (!with_hnsw) return;
            raw_hnsw = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(d), 32, faiss::METRIC_INNER_PRODUCT);
            raw_hnsw->add(static_cast<idx_t>(n), base.data());
            // FAISS 1.7.3 ignores SearchParametersHNSW::efSearch (reported upstream as
            // facebookresearch/faiss#3233): the index's own efSearch (default 16) is used,
            // raised to k. Set it, so that raw k=10 really searches with ef = 64.
            raw_hnsw->hnsw.efSearch = 64;
        },
        [&] {
            p_flat = std::make_unique<persona::faiss_retriever>(persona::faiss_retriever::options{.spec = "IDMap,Flat"});
            p_flat->add(user, chunks).value();
        },
        [&] {
            if (!with_hnsw) return;
            p_hnsw = std::make_unique<persona::faiss_retriever>(persona::faiss_retriever::options{.spec = "HNSW32"});
            p_hnsw->add(user, chunks).value();
        },
        [&] {
            flat = std::make_unique<persona::flat_retriever>();
            flat->add(user, chunks).value();
        },
    };
    // Dropping the previous instance is not part of a build.
    std::vector<std::function<void()>> const resetters = {[&] { raw_flat.reset(); }, [&] { raw_hnsw.reset(); },
                                                          [&] { p_flat.reset(); }, [&] { p_hnsw.reset(); },
                                                          [&] { flat.reset(); }};
    std::vector<std::vector<double>> build_ms(builders.size());
    std::size_t const build_reps = n <= 10000 ? 3 : 1;
    for (std::size_t r = 0; r < build_reps; ++r)
        for (std::size_t j = 0; j < builders.size(); ++j) {
            auto const b = (j + r) % builders.size();
            std::fprintf(stderr, "[compare] d=%zu n=%zu: build %s (%zu/%zu)\n", d, n, build_systems[b], r + 1, build_reps);
            resetters[b]();
            auto const t0 = clock_type::now();
            builders[b]();
            build_ms[b].push_back(since_us(t0) / 1000);
        }
    for (std::size_t b = 0; b < builders.size(); ++b) {
        if (!with_hnsw && (b == 1 || b == 3)) continue;
        table[{d, n, build_systems[b]}].build_ms = median(build_ms[b]);
    }
    chunks.clear();
    chunks.shrink_to_fit();

    // Queries.
    std::vector<timed_system> sys(std::size(query_systems));
    for (std::size_t i = 0; i < sys.size(); ++i) {
        sys[i].name = query_systems[i];
        sys[i].results.resize(opt.queries);
    }
    auto raw_call = [&](faiss::Index const& index, faiss::SearchParameters const* params, idx_t k,
                        std::vector<std::vector<std::string>>& results) {
        return [index = &index, params, k, results = &results, queries = &q_vec](std::size_t q) {
            std::vector<float> distances(static_cast<std::size_t>(k));
            std::vector<idx_t> labels(static_cast<std::size_t>(k));
            auto const t0 = clock_type::now();
            index->search(1, (*queries)[q].vector.data(), k, distances.data(), labels.data(), params);
            double const us = since_us(t0);
            (*results)[q] = ids_of(std::span<idx_t const>(labels).first(std::min<std::size_t>(labels.size(), 10)));
            return us;
        };
    };
    auto persona_call = [&](auto const& retriever, std::vector<persona::search_query> const& queries,
                            std::vector<std::vector<std::string>>& results) {
        return [r = &retriever, qs = &queries, results = &results, u = &user](std::size_t q) {
            auto const t0 = clock_type::now();
            auto hits = r->search(*u, (*qs)[q]).value();
            double const us = since_us(t0);
            (*results)[q] = ids_of(hits);
            return us;
        };
    };
    faiss::SearchParametersHNSW hnsw_params;
    hnsw_params.efSearch = 64;
    sys[0].call = raw_call(*raw_flat, nullptr, 10, sys[0].results);
    sys[1].call = raw_call(*raw_flat, nullptr, 64, sys[1].results);
    sys[2].call = persona_call(*p_flat, q_vec, sys[2].results);
    sys[3].call = persona_call(*p_flat, q_text, sys[3].results);
    if (with_hnsw) {
        sys[4].call = raw_call(*raw_hnsw, &hnsw_params, 10, sys[4].results);
        sys[5].call = raw_call(*raw_hnsw, &hnsw_params, 64, sys[5].results);
        sys[6].call = persona_call(*p_hnsw, q_vec, sys[6].results);
        sys[7].call = persona_call(*p_hnsw, q_text, sys[7].results);
    }
    sys[8].call = persona_call(*flat, q_vec, sys[8].results);
    sys[9].call = persona_call(*flat, q_text, sys[9].results);
    std::vector<timed_system*> active;
    for (auto& s : sys)
        if (s.call) active.push_back(&s);
    std::size_t const passes = n <= 10000 ? 3 : 1;
    std::fprintf(stderr, "[compare] d=%zu n=%zu: %zu queries x %zu passes x %zu systems\n", d, n, opt.queries, passes,
                 active.size());
    interleave(active, opt.queries, passes);

    // Ground truth: exact results (raw flat k=10 for raw systems; flat_retriever for persona's).
    std::vector<std::vector<std::string>> const* truth_for[] = {
        &sys[0].results, nullptr, &sys[8].results, &sys[9].results, &sys[0].results,
        nullptr,         &sys[8].results, &sys[9].results, &sys[0].results, nullptr};
    for (std::size_t i = 0; i < sys.size(); ++i) {
        if (!sys[i].call) continue;
        auto& c = table[{d, n, sys[i].name}];
        c.p50 = median(sys[i].us);
        c.p99 = percentile(sys[i].us, 0.99);
        c.samples = sys[i].us.size();
        if (truth_for[i]) c.recall = recall(sys[i].results, *truth_for[i]);
    }
    // The overhead: raw FAISS asked for 64 against faiss_retriever (which asks FAISS for 64), A B B A.
    auto overhead = [&](std::string spec, timed_system& raw, timed_system& wrapped) {
        std::fprintf(stderr, "[compare] d=%zu n=%zu: overhead %s\n", d, n, spec.c_str());
        alternate(raw, wrapped, opt.queries, n <= 10000 ? 4 : 1);
        overheads.push_back({d, n, std::move(spec), median(raw.us), median(wrapped.us),
                             median(wrapped.us) / median(raw.us) - 1, paired_overhead(wrapped.us, raw.us)});
    };
    overhead("IDMap,Flat vs IndexFlatIP", sys[1], sys[2]);
    if (with_hnsw) overhead("HNSW32 vs IndexHNSWFlat", sys[5], sys[6]);
}

std::string size_label(std::size_t n) {
    if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
    return std::to_string(n);
}

std::string fmt(double v, char const* f = "%.0f") {
    if (std::isnan(v)) return "—";
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

void print_compare(options const& opt) {
    for (auto const d : opt.dims) {
        std::printf("\n#### d = %zu: build time (ms; median of 3 builds up to 10k chunks, 1 build above)\n\n", d);
        std::printf("| system |");
        for (auto n : opt.sizes) std::printf(" %s |", size_label(n).c_str());
        std::printf("\n|---|");
        for (std::size_t i = 0; i < opt.sizes.size(); ++i) std::printf("---:|");
        std::printf("\n");
        for (auto const* s : build_systems) {
            std::printf("| %s |", s);
            for (auto n : opt.sizes) {
                auto const it = table.find({d, n, s});
                double const v = it == table.end() ? NAN : it->second.build_ms;
                std::printf(" %s |", fmt(v, v < 10 ? "%.2f" : "%.0f").c_str());
            }
            std::printf("\n");
        }
        std::printf("\n#### d = %zu: query latency, batch 1, k = 10 (µs, p50 / p99; recall@10 against the exact "
                    "result)\n\n",
                    d);
        std::printf("| system |");
        for (auto n : opt.sizes) std::printf(" %s p50 | %s p99 | %s recall |", size_label(n).c_str(), size_label(n).c_str(),
                                             size_label(n).c_str());
        std::printf("\n|---|");
        for (std::size_t i = 0; i < opt.sizes.size(); ++i) std::printf("---:|---:|---:|");
        std::printf("\n");
        for (auto const* s : query_systems) {
            std::printf("| %s |", s);
            for (auto n : opt.sizes) {
                auto const it = table.find({d, n, s});
                cell const c = it == table.end() ? cell{} : it->second;
                std::printf(" %s | %s | %s |", fmt(c.p50).c_str(), fmt(c.p99).c_str(), fmt(c.recall, "%.3f").c_str());
            }
            std::printf("\n");
        }
    }
    std::printf("\n#### Wrapper overhead: faiss_retriever (vector query, k = 10, so FAISS is asked for 64) over raw "
                "FAISS asked for k = 64; the two alone, A B B A\n\n");
    std::printf("| d | chunks | index | raw p50 µs | persona p50 µs | p50 ratio − 1 | median paired ratio − 1 | < 20%% |\n");
    std::printf("|---:|---:|---|---:|---:|---:|---:|---|\n");
    for (auto const& o : overheads)
        std::printf("| %zu | %s | %s | %.0f | %.0f | %+.1f%% | %+.1f%% | %s |\n", o.d, size_label(o.n).c_str(), o.spec.c_str(),
                    o.raw_p50, o.persona_p50, 100 * o.ratio, 100 * o.paired,
                    o.n == 10000 ? (o.ratio < 0.2 ? "**pass**" : "**FAIL**") : (o.ratio < 0.2 ? "yes" : "no"));
}

// ---------------------------------------------------------------------------------------
// Part 2: one index per user against one shared index with an id filter.
//
// The same 100k vectors are split among users two ways (1000 × 100, 100 × 1000); user u
// owns chunks u·per … u·per + per − 1. Shared indexes hold all 100k:
//   - contiguous: row = chunk, so a user's rows are one range (IDSelectorRange). Only
//     possible when each user's data is loaded in one block, never with live ingest;
//   - scattered: users interleaved (row p holds user p % users), as live ingest leaves
//     them, filtered by the user's ids (IDSelectorBatch, built once per user).
// Ground truth: the exact top 10 within the user's own chunks (per-user IndexFlatIP).

void per_user_experiment(std::size_t nq, bool shared_hnsw) {
    std::size_t const d = 256, total = 100000;
    std::fprintf(stderr, "[users] data\n");
    auto const base = unit_vectors(total, d, 4242);
    auto const qv = unit_vectors(nq, d, 4343);
    auto const ws = std::string(persona::default_workspace);

    std::printf("\n#### One index per user vs one shared index with an id filter (d = 256, 100k chunks in all, "
                "batch 1, k = 10)\n\n");

    auto rss0 = rss_bytes();
    auto t0 = clock_type::now();
    faiss::IndexFlatIP shared_flat(static_cast<idx_t>(d));
    shared_flat.add(static_cast<idx_t>(total), base.data());
    double const shared_flat_build = since_us(t0) / 1e6;
    double const shared_flat_mb = static_cast<double>(rss_bytes() - rss0) / 1e6;

    std::unique_ptr<faiss::IndexHNSWFlat> hnsw;
    double hnsw_build = NAN, hnsw_mb = NAN;
    if (shared_hnsw) {
        std::fprintf(stderr, "[users] shared HNSW build (100k, d=256; several minutes on one core)\n");
        rss0 = rss_bytes();
        t0 = clock_type::now();
        hnsw = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(d), 32, faiss::METRIC_INNER_PRODUCT);
        hnsw->add(static_cast<idx_t>(total), base.data());
        hnsw_build = since_us(t0) / 1e6;
        hnsw_mb = static_cast<double>(rss_bytes() - rss0) / 1e6;
    }

    std::printf("| users × chunks | system | p50 µs | p99 µs | recall@10 | build s | memory MB (RSS growth) |\n");
    std::printf("|---|---|---:|---:|---:|---:|---:|\n");

    for (std::size_t const users : {1000u, 100u}) {
        std::size_t const per = total / users;
        std::fprintf(stderr, "[users] %zu users x %zu chunks: build\n", users, per);
        rss0 = rss_bytes();
        t0 = clock_type::now();
        std::vector<std::unique_ptr<faiss::IndexFlatIP>> own(users);
        for (std::size_t u = 0; u < users; ++u) {
            own[u] = std::make_unique<faiss::IndexFlatIP>(static_cast<idx_t>(d));
            own[u]->add(static_cast<idx_t>(per), base.data() + u * per * d);
        }
        double const own_build = since_us(t0) / 1e6;
        double const own_mb = static_cast<double>(rss_bytes() - rss0) / 1e6;

        // Users interleaved: row p = user p % users, that user's chunk p / users.
        rss0 = rss_bytes();
        t0 = clock_type::now();
        faiss::IndexFlatIP scattered(static_cast<idx_t>(d));
        {
            std::vector<float> rows(total * d);
            for (std::size_t p = 0; p < total; ++p) {
                std::size_t const chunk = (p % users) * per + p / users;
                std::copy_n(base.data() + chunk * d, d, rows.data() + p * d);
            }
            scattered.add(static_cast<idx_t>(total), rows.data());
        }
        std::vector<std::unique_ptr<faiss::IDSelectorBatch>> batch(users);
        for (std::size_t u = 0; u < users; ++u) {
            std::vector<idx_t> ids(per);
            for (std::size_t j = 0; j < per; ++j) ids[j] = static_cast<idx_t>(j * users + u);
            batch[u] = std::make_unique<faiss::IDSelectorBatch>(per, ids.data());
        }
        double const scattered_build = since_us(t0) / 1e6;
        double const scattered_mb = static_cast<double>(rss_bytes() - rss0) / 1e6;

        auto persona_build = [&](auto& retriever, double& seconds, double& mb) {
            rss0 = rss_bytes();
            t0 = clock_type::now();
            for (std::size_t u = 0; u < users; ++u) {
                auto const chunks = make_chunks(std::span<float const>(base).subspan(u * per * d, per * d), d, u * per, u);
                retriever.add({ws, "u" + std::to_string(u)}, chunks).value();
            }
            seconds = since_us(t0) / 1e6;
            mb = static_cast<double>(rss_bytes() - rss0) / 1e6;
        };
        double pr_build = 0, pr_mb = 0, fr_build = 0, fr_mb = 0;
        persona::faiss_retriever pr;
        persona_build(pr, pr_build, pr_mb);
        persona::flat_retriever fr;
        persona_build(fr, fr_build, fr_mb);

        // Each sample: a random user and a random query vector.
        std::mt19937_64 rng(users);
        std::vector<std::size_t> who(nq);
        for (auto& w : who) w = rng() % users;
        std::vector<persona::search_query> pq(nq);
        std::vector<persona::user_ref> refs(nq);
        for (std::size_t i = 0; i < nq; ++i) {
            pq[i].vector.assign(qv.begin() + static_cast<std::ptrdiff_t>(i * d),
                                qv.begin() + static_cast<std::ptrdiff_t>((i + 1) * d));
            pq[i].k = 10;
            refs[i] = {ws, "u" + std::to_string(who[i])};
        }

        std::vector<timed_system> sys;
        std::vector<std::pair<double, double>> build_and_mb; // per system, for the table
        sys.reserve(8);
        auto add_system = [&](std::string name, double build, double mb) -> timed_system& {
            sys.push_back({std::move(name), {}, {}, std::vector<std::vector<std::string>>(nq)});
            build_and_mb.emplace_back(build, mb);
            return sys.back();
        };
        // faiss search of one query; `to_chunk` maps a label to a global chunk number.
        auto faiss_call = [&](timed_system& self, std::function<faiss::Index const&(std::size_t)> index_of,
                              std::function<faiss::IDSelector const*(std::size_t)> selector_of, int ef,
                              std::function<std::size_t(std::size_t, idx_t)> to_chunk) {
            self.call = [&self, &qv, d, index_of, selector_of, ef, to_chunk](std::size_t q) {
                std::vector<float> dist(10);
                std::vector<idx_t> lab(10);
                auto const& index = index_of(q);
                faiss::SearchParametersHNSW hp;
                faiss::SearchParameters fp;
                faiss::SearchParameters* params = nullptr;
                if (ef > 0) {
                    // FAISS 1.7.3 ignores SearchParametersHNSW::efSearch: set the index's own.
                    const_cast<faiss::IndexHNSW&>(dynamic_cast<faiss::IndexHNSW const&>(index)).hnsw.efSearch = ef;
                    hp.efSearch = ef;
                    params = &hp;
                }
                auto const* sel = selector_of(q);
                if (sel) {
                    if (!params) params = &fp;
                    params->sel = const_cast<faiss::IDSelector*>(sel);
                }
                auto const s = clock_type::now();
                index.search(1, qv.data() + q * d, 10, dist.data(), lab.data(), params);
                double const us = since_us(s);
                auto& out = self.results[q];
                out.clear();
                for (auto const l : lab)
                    if (l >= 0) out.push_back(chunk_id_of(to_chunk(q, l)));
                return us;
            };
        };
        auto persona_call = [&](timed_system& self, auto const& retriever) {
            self.call = [&self, &retriever, &pq, &refs](std::size_t q) {
                auto const s = clock_type::now();
                auto hits = retriever.search(refs[q], pq[q]).value();
                double const us = since_us(s);
                self.results[q] = ids_of(hits);
                return us;
            };
        };
        auto const user_row = [&](std::size_t q, idx_t l) { return who[q] * per + static_cast<std::size_t>(l); };
        auto const global_row = [](std::size_t, idx_t l) { return static_cast<std::size_t>(l); };
        auto const no_selector = [](std::size_t) -> faiss::IDSelector const* { return nullptr; };
        std::vector<std::unique_ptr<faiss::IDSelectorRange>> ranges(users);
        for (std::size_t u = 0; u < users; ++u)
            ranges[u] = std::make_unique<faiss::IDSelectorRange>(static_cast<idx_t>(u * per), static_cast<idx_t>((u + 1) * per));
        auto const range_of = [&](std::size_t q) -> faiss::IDSelector const* { return ranges[who[q]].get(); };

        faiss_call(add_system("per-user IndexFlatIP", own_build, own_mb),
                   [&](std::size_t q) -> faiss::Index const& { return *own[who[q]]; }, no_selector, 0, user_row);
        persona_call(add_system("per-user faiss_retriever (IDMap,Flat)", pr_build, pr_mb), pr);
        persona_call(add_system("per-user flat_retriever", fr_build, fr_mb), fr);
        faiss_call(add_system("shared IndexFlatIP, contiguous + IDSelectorRange", shared_flat_build, shared_flat_mb),
                   [&](std::size_t) -> faiss::Index const& { return shared_flat; }, range_of, 0, global_row);
        faiss_call(add_system("shared IndexFlatIP, scattered + IDSelectorBatch", scattered_build, scattered_mb),
                   [&](std::size_t) -> faiss::Index const& { return scattered; },
                   [&](std::size_t q) -> faiss::IDSelector const* { return batch[who[q]].get(); }, 0,
                   [users, per](std::size_t, idx_t l) {
                       auto const p = static_cast<std::size_t>(l);
                       return (p % users) * per + p / users;
                   });
        if (hnsw) {
            for (int const ef : {64, 1024})
                faiss_call(add_system("shared IndexHNSWFlat, contiguous + IDSelectorRange, ef=" + std::to_string(ef),
                                      ef == 64 ? hnsw_build : NAN, ef == 64 ? hnsw_mb : NAN),
                           [&](std::size_t) -> faiss::Index const& { return *hnsw; }, range_of, ef, global_row);
        }
        std::fprintf(stderr, "[users] %zu users: queries\n", users);
        std::vector<timed_system*> active;
        for (auto& s : sys) active.push_back(&s);
        interleave(active, nq, 1);

        // Sanity: every filtered result belongs to the user.
        for (auto const& s : sys) {
            std::size_t foreign = 0;
            for (std::size_t q = 0; q < nq; ++q)
                for (auto const& id : s.results[q])
                    foreign += std::stoul(std::string(persona::item_id_of(id)).substr(1)) / per != who[q];
            if (foreign) std::fprintf(stderr, "[users] WARNING: %s returned %zu foreign chunks\n", s.name.c_str(), foreign);
        }

        std::string const label = std::to_string(users) + " × " + std::to_string(per);
        for (std::size_t i = 0; i < sys.size(); ++i)
            std::printf("| %s | %s | %.0f | %.0f | %.3f | %s | %s |\n", label.c_str(), sys[i].name.c_str(), median(sys[i].us),
                        percentile(sys[i].us, 0.99), recall(sys[i].results, sys[0].results),
                        fmt(build_and_mb[i].first, "%.2f").c_str(), fmt(build_and_mb[i].second, "%.0f").c_str());
        std::fflush(stdout);
    }
    std::printf("\n(The contiguous shared indexes are built once for both splits: their build time and memory are "
                "for all 100k chunks. The persona retrievers' memory includes their own copy of the vectors, the "
                "texts and BM25.)\n");
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        std::string const a = argv[i];
        auto next = [&]() -> char const* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--sizes") opt.sizes = parse_list(next());
        else if (a == "--dims") opt.dims = parse_list(next());
        else if (a == "--queries") opt.queries = std::stoul(next());
        else if (a == "--hnsw-max") opt.hnsw_max = std::stoul(next());
        else if (a == "--no-compare") opt.compare = false;
        else if (a == "--no-users") opt.users = false;
        else if (a == "--shared-hnsw") opt.shared_hnsw = true;
        else {
            std::fprintf(stderr,
                         "usage: %s [--sizes 1000,10000,100000] [--dims 256,384] [--queries 200] [--hnsw-max N] "
                         "[--no-compare] [--no-users] [--shared-hnsw]\n",
                         argv[0]);
            return 2;
        }
    }
    char const* wait = std::getenv("OMP_WAIT_POLICY");
    char const* threads = std::getenv("OMP_NUM_THREADS");
    std::printf("<!-- persona_bench_faiss: OMP_WAIT_POLICY=%s OMP_NUM_THREADS=%s (omp_get_max_threads() = %d), "
                "faiss %d.%d.%d -->\n",
                wait ? wait : "(unset)", threads ? threads : "(unset)", omp_get_max_threads(), FAISS_VERSION_MAJOR,
                FAISS_VERSION_MINOR, FAISS_VERSION_PATCH);
    if (!threads || std::string(threads) != "1")
        std::fprintf(stderr, "note: run with OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 for comparable numbers\n");
    auto const t0 = clock_type::now();
    if (opt.compare) {
        for (auto const d : opt.dims)
            for (auto const n : opt.sizes) compare(d, n, opt);
        print_compare(opt);
        std::fflush(stdout);
    }
    if (opt.users) per_user_experiment(1000, opt.shared_hnsw);
    std::printf("\n<!-- total run time %.0f s -->\n", since_us(t0) / 1e6);
}
