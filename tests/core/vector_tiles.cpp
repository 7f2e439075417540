// The tiled vector store and its scan kernels (detail/vector_tiles.hpp): every kernel
// this CPU can run returns `dot`'s bits, dense or sparse, and the store keeps every row
// exactly, in whole tiles and in its row-major rest. Then the flat retriever, which
// scans through it, against scores computed here one row at a time.
#include <persona/detail/hybrid_ranking.hpp>
#include <persona/detail/vector_tiles.hpp>
#include <persona/flat_retriever.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace persona;
using detail::tile_rows;

namespace {

std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

/// The places among the first of both lists where the chunk or its score's bits differ.
std::size_t differing_hits(std::vector<scored_chunk> const& a, std::vector<scored_chunk> const& b) {
    std::size_t differing = 0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        differing += a[i].chunk_id != b[i].chunk_id || bits(a[i].score) != bits(b[i].score);
    return differing;
}

/// `count` random rows of `dim` floats; magnitudes vary with the dimension so that the
/// order of additions shows in the rounding.
std::vector<float> random_rows(std::mt19937_64& rng, std::size_t count, std::size_t dim) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> rows(count * dim);
    for (auto& x : rows) x = normal(rng) * (dim % 3 == 0 ? 1000.0f : 0.01f);
    return rows;
}

/// A query with about `zero_share` of its dimensions exactly zero.
std::vector<float> random_query(std::mt19937_64& rng, std::size_t dim, double zero_share) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<float> q(dim);
    for (auto& x : q) x = u(rng) < zero_share ? 0.0f : normal(rng);
    return q;
}

/// The kernels this CPU can run, by name.
std::vector<std::pair<char const*, detail::tile_kernel>> runnable_kernels() {
    std::vector<std::pair<char const*, detail::tile_kernel>> out{{"portable", detail::tile_dots_portable}};
#if defined(PERSONA_DETAIL_TILE_DISPATCH)
    if (__builtin_cpu_supports("avx")) out.emplace_back("avx", detail::tile_dots_avx);
    else WARN("this CPU has no AVX: its tile kernel is not checked");
    if (__builtin_cpu_supports("avx512f")) out.emplace_back("avx512", detail::tile_dots_avx512);
    else WARN("this CPU has no AVX-512: its tile kernel is not checked");
#endif
    return out;
}

} // namespace

TEST_CASE("vector_tiles: every tile kernel returns dot's bits, dense and sparse, at dimensions 1 to 300") {
    std::mt19937_64 rng(7);
    auto const kernels = runnable_kernels();
    std::size_t checked = 0;
    for (std::size_t dim = 1; dim <= 300; ++dim) {
        auto const rows = random_rows(rng, tile_rows, dim);
        // The layout the store uses: dimension i of row r at i * tile_rows + r.
        std::vector<float> tile(tile_rows * dim);
        for (std::size_t r = 0; r < tile_rows; ++r)
            for (std::size_t i = 0; i < dim; ++i) tile[i * tile_rows + r] = rows[r * dim + i];
        for (double const zeros : {0.0, 0.8}) {
            auto const query = random_query(rng, dim, zeros);
            std::vector<std::uint32_t> nonzero;
            for (std::uint32_t i = 0; i < dim; ++i)
                if (query[i] != 0.0f) nonzero.push_back(i);
            for (bool const dense : {true, false}) {
                detail::tile_query const q{query.data(), dim, dense ? std::span<std::uint32_t const>{} : nonzero, dense};
                for (auto const& [name, kernel] : kernels) {
                    float out[tile_rows];
                    kernel(tile.data(), nullptr, q, out);
                    for (std::size_t r = 0; r < tile_rows; ++r) {
                        double const expected = detail::dot_scalar({rows.data() + r * dim, dim}, query);
                        if (bits(out[r]) != bits(expected)) {
                            INFO("kernel " << name << ", dimension " << dim << ", row " << r << ", zeros " << zeros
                                           << (dense ? ", dense" : ", sparse"));
                            CHECK(static_cast<double>(out[r]) == expected);
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    CHECK(checked == 300 * 2 * 2 * kernels.size() * tile_rows);
}

TEST_CASE("vector_tiles: rows round-trip and score as dot, in whole tiles and in the row-major rest, by block and by row") {
    std::mt19937_64 rng(11);
    // Tiles are kept in blocks of 1, 2, 4, 8... tiles: 960 rows fill four blocks, 1029
    // begin a fifth; a copy's last block is full, so appending to it moves the block.
    for (std::size_t const dim : {1, 16, 100, 256, 257})
        for (std::size_t const count : {1, 16, 17, 63, 64, 65, 200, 960, 1029}) {
            INFO("dimension " << dim << ", rows " << count);
            auto const rows = random_rows(rng, count, dim);
            detail::vector_tiles tiles(dim);
            for (std::size_t r = 0; r < count; ++r) tiles.append({rows.data() + r * dim, dim});
            REQUIRE(tiles.size() == count);
            CHECK(tiles.row_major() == rows);
            {
                auto copy = tiles;
                auto more = rows;
                auto const extra = random_rows(rng, tile_rows, dim);
                for (std::size_t r = 0; r < tile_rows; ++r) copy.append({extra.data() + r * dim, dim});
                more.insert(more.end(), extra.begin(), extra.end());
                CHECK(copy.row_major() == more);
                CHECK(tiles.row_major() == rows); // the original is untouched
            }
            std::vector<float> row(dim);
            tiles.copy_row(count - 1, row);
            CHECK(std::equal(row.begin(), row.end(), rows.end() - static_cast<std::ptrdiff_t>(dim)));

            for (double const zeros : {0.0, 0.9}) {
                auto const query = random_query(rng, dim, zeros);
                std::vector<std::uint32_t> nonzero;
                auto const q = tiles.prepare(query, nonzero);
                auto const nonzeros = static_cast<std::size_t>(std::count_if(query.begin(), query.end(), [](float x) { return x != 0.0f; }));
                CHECK(q.dense == (nonzeros * 2 > dim)); // sparse only when at most half are nonzero
                std::size_t mismatches = 0;
                for (std::size_t b = 0; b * tile_rows < count; ++b) {
                    float out[tile_rows];
                    tiles.score_block(b, q, out);
                    for (std::size_t r = 0; r < tile_rows && b * tile_rows + r < count; ++r) {
                        std::size_t const s = b * tile_rows + r;
                        auto const expected = bits(detail::dot_scalar({rows.data() + s * dim, dim}, query));
                        mismatches += bits(out[r]) != expected;
                        mismatches += bits(tiles.score_row(s, q)) != expected; // one row alone, the same bits
                    }
                }
                CHECK(mismatches == 0);
            }
        }
}

TEST_CASE("vector_tiles: a query is scanned sparsely only when at most half its dimensions are nonzero") {
    detail::vector_tiles tiles(8);
    std::vector<float> const row(8, 0.5f);
    tiles.append(row);
    std::vector<std::uint32_t> nonzero;
    std::vector<float> half{1, 0, 2, 0, -0.0f, 3, 0, 4}; // -0 counts as zero
    auto q = tiles.prepare(half, nonzero);
    CHECK_FALSE(q.dense);
    CHECK(std::vector<std::uint32_t>(q.nonzero.begin(), q.nonzero.end()) == std::vector<std::uint32_t>{0, 2, 5, 7});
    std::vector<float> most{1, 1, 1, 1, 1, 0, 0, 0};
    CHECK(tiles.prepare(most, nonzero).dense);
}

TEST_CASE("vector_tiles: after a non-finite value every scan is dense, so inf * 0 still gives NaN") {
    std::size_t const dim = 32;
    detail::vector_tiles tiles(dim);
    std::vector<float> rows(tile_rows * dim, 0.25f);
    rows[5 * dim + 3] = std::numeric_limits<float>::infinity(); // row 5, dimension 3
    for (std::size_t r = 0; r < tile_rows; ++r) tiles.append({rows.data() + r * dim, dim});
    CHECK(tiles.has_non_finite());
    std::vector<float> query(dim, 0.0f);
    query[0] = 1.0f; // dimension 3 is zero: inf * 0
    std::vector<std::uint32_t> nonzero;
    auto const q = tiles.prepare(query, nonzero);
    CHECK(q.dense);
    float out[tile_rows];
    tiles.score_block(0, q, out);
    CHECK(std::isnan(out[5]));
    CHECK(std::isnan(detail::dot_scalar({rows.data() + 5 * dim, dim}, query)));
    CHECK(out[4] == 0.25f);
}

TEST_CASE("flat_retriever: scores from the tiled scan equal dot products computed row by row, across removals") {
    std::mt19937_64 rng(5);
    std::size_t const dim = 64, n = 3 * tile_rows + 21; // three whole tiles and a row-major rest
    flat_retriever retriever;
    user_ref const user{"w", "u"};
    std::vector<chunk> chunks(n);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (std::size_t i = 0; i < n; ++i) {
        auto& c = chunks[i];
        c.item_id = "e" + std::to_string(i);
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        c.text = "row " + std::to_string(i);
        c.time = timestamp{} + std::chrono::hours(24 * static_cast<long>(i));
        c.embedding.resize(dim);
        for (auto& x : c.embedding) x = normal(rng);
        float norm = 0;
        for (float x : c.embedding) norm += x * x;
        for (auto& x : c.embedding) x /= std::sqrt(norm);
    }
    REQUIRE(retriever.add(user, chunks).has_value());
    // Remove a few, so that dead rows sit inside tiles.
    std::vector<std::string> removed;
    for (std::size_t const i : {0, 17, 64, 100, 200}) removed.push_back(chunks[i].item_id);
    REQUIRE(retriever.remove_items(user, removed).has_value());

    for (double const zeros : {0.0, 0.85}) {
        INFO("zeros " << zeros);
        search_query q;
        q.vector = random_query(rng, dim, zeros);
        float norm = 0;
        for (float x : q.vector) norm += x * x;
        for (auto& x : q.vector) x /= std::sqrt(norm);
        q.parts.push_back({"qqzzxxyy", 1.0}); // matches no chunk: the vector side decides alone
        q.k = 10;
        auto const hits = retriever.search(user, q).value();
        REQUIRE(hits.size() == 10);
        // Expected: clamp(dot, 0, 1) of every live chunk, best 10 (ties by chunk id).
        std::vector<std::pair<double, std::string>> expected;
        for (std::size_t i = 0; i < n; ++i) {
            if (i == 0 || i == 17 || i == 64 || i == 100 || i == 200) continue;
            double const score = std::clamp(detail::dot_scalar(chunks[i].embedding, q.vector), 0.0, 1.0);
            if (score > 1e-9) expected.emplace_back(-score, chunks[i].chunk_id);
        }
        std::sort(expected.begin(), expected.end());
        for (std::size_t k = 0; k < hits.size(); ++k) {
            INFO("hit " << k);
            CHECK(hits[k].chunk_id == expected[k].second);
            CHECK(bits(hits[k].score) == bits(-expected[k].first));
        }
    }
}

TEST_CASE("flat_retriever: skipping slots and blocks that cannot reach the top k changes no result, ties included") {
    // Few distinct texts and vectors, so many chunks tie exactly; the order among equal
    // scores is the chunk id, which a skipped block, or a slot the lexical-first scan
    // never scores, must not get wrong. A search with k
    // of every chunk never has a full heap, so it never skips: its first k are the truth.
    std::mt19937_64 rng(11);
    std::size_t const dim = 32, n = 6 * tile_rows + 9;
    std::vector<std::vector<float>> vectors(4);
    for (auto& v : vectors) {
        v = random_query(rng, dim, 0.5);
        float norm = 0;
        for (float x : v) norm += x * x;
        for (auto& x : v) x /= std::sqrt(norm);
    }
    char const* const texts[] = {"coffee in lisbon", "budget review", "coffee budget", "piano lessons"};
    // Options do not bound the lexical weight: at -0.5 fusion is not monotone in the
    // lexical score, and blocks must not be skipped.
    double const weight = GENERATE(0.8, 0.0, -0.5, 1.5);
    flat_retriever::options o;
    o.lexical_weight = weight;
    flat_retriever retriever(o);
    user_ref const user{"w", "u"};
    std::vector<chunk> chunks(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& c = chunks[i];
        c.item_id = "e" + std::to_string((i * 37) % n); // ids out of slot order
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        c.text = texts[(i * 7) % 4];
        c.time = timestamp{} + std::chrono::hours(24 * static_cast<long>(i % 5));
        c.embedding = vectors[(i * 3) % 4];
    }
    REQUIRE(retriever.add(user, chunks).has_value());
    // Dead rows inside tiles and in the rest: the scans must pass over them.
    REQUIRE(retriever.remove_items(user, std::vector<std::string>{chunks[3].item_id, chunks[70].item_id,
                                                                  chunks[n - 2].item_id}).has_value());
    // The queries: some of the chunks' vectors, and one unlike all of them (moderate
    // cosines, where a bound that is too low shows).
    std::vector<std::vector<float>> queries = {vectors[0], vectors[1], random_query(rng, dim, 0.0)};
    for (auto& x : queries.back()) x *= 0.25f;
    for (auto const* text : {"coffee", "budget coffee", "nothing matches"})
        for (std::size_t v = 0; v < queries.size(); ++v) {
            INFO("lexical weight " << weight << ", text '" << text << "', query vector " << v);
            search_query q;
            q.vector = queries[v];
            q.parts.push_back({text, 1.0});
            q.k = n;
            auto const all = retriever.search(user, q).value();
            for (std::size_t const k : {1u, 5u, 64u, 100u}) {
                q.k = k;
                auto const top = retriever.search(user, q).value();
                REQUIRE(top.size() == std::min(k, all.size()));
                for (std::size_t i = 0; i < top.size(); ++i) {
                    CHECK(top[i].chunk_id == all[i].chunk_id);
                    CHECK(bits(top[i].score) == bits(all[i].score));
                }
            }
        }
}

TEST_CASE("hybrid_ranking: neighbours kept for the usual window agree with neighbours found per search") {
    // Chunks inherit a share of their neighbours' lexical scores when close in time. For
    // the retrievers' window the neighbours are kept as slots are linked and unlinked; any
    // other window compares times per search. Times here are whole minutes and no gap is
    // between 3600 and 3659 s, so a window of 3659 s finds the same neighbours: both
    // searches must agree bit for bit, after additions, removals, replacements and the
    // renumbering of a compaction.
    std::mt19937_64 rng(21);
    std::size_t const dim = 16;
    char const* const words[] = {"coffee", "budget", "piano", "lisbon", "running", "walk"};
    detail::hybrid_ranking ranking;
    ranking.reset(dim);
    text::analyzer const analyzer;
    auto const t0 = timestamp{} + std::chrono::hours(24 * 400);
    std::vector<timestamp> times;
    auto const add = [&](std::size_t i, std::string const& item) {
        chunk c;
        c.item_id = item;
        c.chunk_id = make_chunk_id(item, item_kind::event, 1);
        c.text = std::string(words[rng() % 6]) + " " + words[rng() % 6];
        // Gaps of 1 to 59 minutes, or of two hours: some chunks have no neighbour in time.
        c.time = t0 + std::chrono::minutes(i % 7 == 0 ? 120 * i : 60 * (i / 2) + rng() % 59);
        c.embedding = random_query(rng, dim, 0.3);
        ranking.add(c, analyzer.terms(c.text));
    };
    std::size_t next = 0;
    auto const check = [&](char const* stage) {
        INFO(stage);
        for (auto const* text : {"coffee", "budget walk", "lisbon piano running"}) {
            auto const parts = detail::analyze_query(analyzer, std::vector<query_part>{{text, 1.0}});
            search_query q;
            q.vector = random_query(rng, dim, 0.0);
            for (std::size_t const k : {5u, 500u}) { // the lexical-first scan, and every chunk
                q.k = k;
                detail::fusion_weights const usual{0.8, 0.15, 0.7};
                auto other = usual;
                other.neighbour_window = std::chrono::seconds(3659);
                auto const a = ranking.search(parts, q, usual);
                auto const b = ranking.search(parts, q, other);
                REQUIRE(a.size() == b.size());
                CHECK(differing_hits(a, b) == 0);
            }
        }
    };
    for (; next < 300; ++next) add(next, "e" + std::to_string(next));
    check("added");
    for (std::size_t i = 0; i < 300; i += 3) ranking.remove_item("e" + std::to_string(i));
    check("a third removed");
    for (std::size_t i = 1; i < 300; i += 9) add(i, "e" + std::to_string(i)); // replaced: same id, new slot
    check("some replaced");
    for (std::size_t i = 1; i < 300; i += 3) ranking.remove_item("e" + std::to_string(i));
    REQUIRE(ranking.maybe_compact());
    check("compacted");
}

TEST_CASE("hybrid_ranking: the lexical-first scan gives the block scan's result, non-finite values included") {
    // Two rankings of the same 255 live chunks: one also has a 256th slot, added and then
    // removed, which makes it large enough for the lexical-first scan at k <= 16; the
    // other has 255 slots and is scanned block by block. BM25, neighbours and cosines are
    // the same bits in both, so every search must agree bit for bit. With a NaN or an
    // overflowing value, a NaN score lands where the order of offers puts it, so then
    // the lexical-first scan must step aside for the block scan.
    std::mt19937_64 rng(31);
    std::size_t const dim = 32, n = 255;
    char const* const words[] = {"coffee", "budget", "piano", "lisbon", "running", "walk", "review", "team"};
    text::analyzer const analyzer;
    auto const t0 = timestamp{} + std::chrono::hours(24 * 400);
    std::vector<chunk> chunks(n + 1);
    for (std::size_t i = 0; i <= n; ++i) {
        auto& c = chunks[i];
        c.item_id = "e" + std::to_string(i);
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        for (int w = 0; w < 6; ++w) c.text += std::string(words[rng() % 8]) + " ";
        c.time = t0 + std::chrono::minutes(20 * i);
        c.embedding = random_query(rng, dim, 0.0);
        float norm = 0;
        for (float x : c.embedding) norm += x * x;
        for (auto& x : c.embedding) x /= std::sqrt(norm);
    }
    auto const build = [&](std::vector<chunk> const& cs, bool with_dead_slot) {
        detail::hybrid_ranking r;
        r.reset(dim);
        for (std::size_t i = 0; i < n; ++i) r.add(cs[i], analyzer.terms(cs[i].text));
        if (with_dead_slot) {
            r.add(cs[n], analyzer.terms(cs[n].text));
            r.remove_item(cs[n].item_id);
        }
        return r;
    };
    auto const compare = [&](std::vector<chunk> const& cs, std::vector<float> const& vector, double part_weight) {
        auto const lexical_first = build(cs, true);
        auto const block_scan = build(cs, false);
        REQUIRE(lexical_first.slot_count() == 256);
        detail::fusion_weights const weights{0.8, 0.15, 0.7};
        std::size_t mismatches = 0, hits = 0;
        for (auto const* text : {"coffee budget", "piano lisbon running walk", "team"}) {
            auto const parts = detail::analyze_query(analyzer, std::vector<query_part>{{text, part_weight}});
            search_query q;
            q.vector = vector;
            for (std::size_t const k : {1u, 5u, 16u}) {
                q.k = k;
                auto const a = lexical_first.search(parts, q, weights);
                auto const b = block_scan.search(parts, q, weights);
                mismatches += a.size() != b.size();
                mismatches += differing_hits(a, b);
                hits += b.size();
            }
        }
        CHECK(hits > 0);
        CHECK(mismatches == 0);
    };
    auto const query = chunks[7].embedding;
    SECTION("finite values") {
        compare(chunks, query, 1.0);
        compare(chunks, random_query(rng, dim, 0.7), 0.5);
    }
    SECTION("a NaN in a stored vector") {
        auto cs = chunks;
        cs[0].embedding[3] = std::numeric_limits<float>::quiet_NaN();
        cs[100].embedding[5] = std::numeric_limits<float>::quiet_NaN();
        compare(cs, query, 1.0);
    }
    SECTION("stored values large enough for a dot product to overflow") {
        auto cs = chunks;
        for (auto& x : cs[2].embedding) x *= 1e30f;
        compare(cs, query, 1.0);
    }
    SECTION("a NaN or a huge value in the query vector") {
        auto nan_query = query;
        nan_query[1] = std::numeric_limits<float>::quiet_NaN();
        compare(chunks, nan_query, 1.0);
        auto huge = query;
        for (auto& x : huge) x *= 1e30f;
        compare(chunks, huge, 1.0);
    }
    SECTION("an infinite part weight") {
        compare(chunks, query, std::numeric_limits<double>::infinity());
    }
}

TEST_CASE("hybrid_ranking: the lexical-first scan's top k is the full ranking's first k, ties included") {
    // A user of many slots per seed, so that a small k takes the lexical-first scan.
    // Few words, so many chunks share a text and a lexical value (ties among the seeds,
    // at the sampled threshold that finds them, and at the cut); some removed, some
    // replaced. The search for every chunk is the block scan (too few slots per seed),
    // and its first k must be the lexical-first scan's k, bit for bit. At 5,000 slots the
    // seeds' threshold is the largest of its sample, which ties often leave with too few
    // slots above it, so the seeds' second pass runs too.
    std::size_t const n = GENERATE(1200u, 5000u);
    INFO(n << " slots");
    std::mt19937_64 rng(43 + n);
    std::size_t const dim = 32;
    char const* const words[] = {"coffee", "budget", "piano", "lisbon", "running"};
    detail::hybrid_ranking ranking;
    ranking.reset(dim);
    text::analyzer const analyzer;
    auto const t0 = timestamp{} + std::chrono::hours(24 * 400);
    auto const add = [&](std::size_t i) {
        chunk c;
        c.item_id = "e" + std::to_string(i);
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        for (std::size_t w = 0; w < 1 + i % 3; ++w) c.text += std::string(words[rng() % 5]) + " ";
        c.time = t0 + std::chrono::minutes(i % 13 == 0 ? 200 * i : 10 * i);
        c.embedding = random_query(rng, dim, 0.5);
        ranking.add(c, analyzer.terms(c.text));
    };
    for (std::size_t i = 0; i < n; ++i) add(i);
    std::size_t compared = 0;
    auto const check = [&](char const* stage) {
        INFO(stage);
        for (auto const* text : {"coffee", "budget piano", "lisbon running coffee budget"}) {
            auto const parts = detail::analyze_query(analyzer, std::vector<query_part>{{text, 1.0}});
            for (int v = 0; v < 3; ++v) {
                search_query q;
                q.vector = random_query(rng, dim, 0.5);
                for (double const lexical : {0.5, 0.8}) {
                    detail::fusion_weights const weights{lexical, 0.15, 0.7};
                    q.k = n;
                    auto const all = ranking.search(parts, q, weights);
                    for (std::size_t const k : {1u, 5u, 16u, 40u}) {
                        q.k = k;
                        auto const top = ranking.search(parts, q, weights);
                        REQUIRE(top.size() == std::min(k, all.size()));
                        CHECK(differing_hits(top, all) == 0);
                        ++compared;
                    }
                }
            }
        }
    };
    check("added");
    for (std::size_t i = 0; i < n; i += 4) ranking.remove_item("e" + std::to_string(i));
    check("a quarter removed");
    for (std::size_t i = 2; i < n; i += 8) add(i); // replaced: same id, new slot
    check("some replaced");
    CHECK(compared == 3 * 72);
}

TEST_CASE("hybrid_ranking: a k too large to count seeds for is a full search, not an error") {
    detail::hybrid_ranking ranking;
    ranking.reset(4);
    text::analyzer const analyzer;
    for (int i = 0; i < 300; ++i) {
        chunk c;
        c.item_id = "e" + std::to_string(i);
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        c.text = i % 2 ? "coffee budget" : "coffee";
        c.time = timestamp{} + std::chrono::hours(24 * i);
        c.embedding = {1.0f, 0.0f, 0.0f, 0.0f};
        ranking.add(c, analyzer.terms(c.text));
    }
    search_query q;
    q.vector = {1.0f, 0.0f, 0.0f, 0.0f};
    q.k = (std::size_t{1} << 60) + 1; // 16 * k wraps around to 16
    auto const parts = detail::analyze_query(analyzer, std::vector<query_part>{{"coffee budget", 1.0}});
    CHECK(ranking.search(parts, q, detail::fusion_weights{0.8, 0.15, 0.7}).size() == 300);
}

TEST_CASE("hybrid_ranking: a single turn's passes give the general passes' result, bit for bit") {
    // A query of one part of weight 1 takes the single-turn passes (reused buffers, the
    // neighbours' rescaling owed until a score is fused); the same text as two parts of
    // weight 0.5 averages to the same lexical bits (0.5 * x + 0.5 * x is x) through the
    // general passes. Every scan must then agree: the lexical-first scan (k = 5), the
    // block scan (k = 400, and with recency), and a shortlisted search; with and without
    // neighbours, and after removals.
    std::mt19937_64 rng(41);
    std::size_t const dim = 24;
    char const* const words[] = {"coffee", "budget", "piano", "lisbon", "running", "walk", "review", "team"};
    detail::hybrid_ranking ranking;
    ranking.reset(dim);
    text::analyzer const analyzer;
    auto const t0 = timestamp{} + std::chrono::hours(24 * 400);
    for (std::size_t i = 0; i < 400; ++i) {
        chunk c;
        c.item_id = "e" + std::to_string(i);
        c.chunk_id = make_chunk_id(c.item_id, item_kind::event, 1);
        for (std::size_t w = 0; w < 3 + i % 5; ++w) c.text += std::string(words[rng() % 8]) + " ";
        c.time = t0 + std::chrono::minutes(i % 11 == 0 ? 200 * i : 15 * i);
        c.embedding = random_query(rng, dim, 0.0);
        ranking.add(c, analyzer.terms(c.text));
    }
    std::vector<std::uint32_t> listed;
    for (std::uint32_t s = 0; s < 400; s += 7) listed.push_back(s);
    std::size_t compared = 0;
    auto const check = [&](char const* stage) {
        INFO(stage);
        for (auto const* text : {"coffee", "budget walk review", "lisbon piano running team coffee"}) {
            auto const one = detail::analyze_query(analyzer, std::vector<query_part>{{text, 1.0}});
            auto const two = detail::analyze_query(analyzer, std::vector<query_part>{{text, 0.5}, {text, 0.5}});
            REQUIRE(one.size() == 1);
            REQUIRE(two.size() == 2);
            search_query q;
            q.vector = random_query(rng, dim, 0.0);
            for (double const neighbour : {0.7, 0.0}) {
                detail::fusion_weights const weights{0.6, 0.15, neighbour};
                for (std::size_t const k : {5u, 400u}) {
                    for (bool const recent : {false, true}) {
                        q.k = k;
                        q.prefer_recent = recent;
                        detail::vector_shortlist const shortlist{listed, 0.9};
                        for (auto const* list : {static_cast<detail::vector_shortlist const*>(nullptr), &shortlist}) {
                            auto const a = ranking.search(one, q, weights, list);
                            auto const b = ranking.search(two, q, weights, list);
                            REQUIRE(a.size() == b.size());
                            REQUIRE(!a.empty());
                            CHECK(differing_hits(a, b) == 0);
                            ++compared;
                        }
                    }
                }
            }
        }
    };
    check("added");
    for (std::size_t i = 0; i < 400; i += 4) ranking.remove_item("e" + std::to_string(i));
    check("a quarter removed");
    CHECK(compared == 2 * 3 * 2 * 2 * 2 * 2);
}
