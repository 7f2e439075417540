#ifndef PERSONA_TESTS_FAISS_TEST_DATA_HPP
#define PERSONA_TESTS_FAISS_TEST_DATA_HPP

// Deterministic synthetic data for the FAISS tests and the saver program: random unit
// vectors with random texts, clustered vectors, and mixed queries. Fixed seeds; the
// same calls in the same order give the same data in every process.

#include <persona/faiss/faiss_retriever.hpp>
#include <persona/types.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace persona_faiss_test {

inline std::vector<std::string> const& vocabulary() {
    static std::vector<std::string> const words = [] {
        std::vector<std::string> w;
        char const* stems[] = {"coffee", "meeting", "flight", "budget", "report", "lisbon", "porto", "garden",
                               "piano",  "tennis",  "salary", "doctor", "school", "travel", "dinner", "hotel",
                               "python", "server",  "friday", "winter", "summer", "family", "kitchen", "bicycle",
                               "museum", "concert", "library", "weekend", "morning", "evening"};
        for (auto const* s : stems)
            for (char const* suffix : {"", "s", "ing", "er"}) w.push_back(std::string(s) + suffix);
        return w;
    }();
    return words;
}

inline void normalise(std::vector<float>& v) {
    double n = 0;
    for (float x : v) n += double(x) * x;
    n = std::sqrt(n);
    for (float& x : v) x = static_cast<float>(x / n);
}

/// Random unit vectors, random texts, times spread over a year.
class random_corpus {
public:
    random_corpus(std::size_t dim, unsigned seed) : dim_(dim), rng_(seed) {}

    /// Chunks `<prefix><first>` … `<prefix><first + n - 1>`, one per item.
    std::vector<persona::chunk> chunks(std::string const& prefix, std::size_t n, std::size_t first = 0) {
        std::vector<persona::chunk> out;
        for (std::size_t i = first; i < first + n; ++i) {
            persona::chunk c;
            c.item_id = prefix + std::to_string(i);
            c.chunk_id = persona::make_chunk_id(c.item_id, persona::item_kind::event, 1);
            c.text = text(6 + rng_() % 10);
            c.time = persona::timestamp{} + std::chrono::seconds(1'700'000'000 + rng_() % 31'536'000);
            c.embedding = vector();
            out.push_back(std::move(c));
        }
        return out;
    }

    /// Mixed queries: text and vector, text only, vector only; recency, min_score, k of 1 to 50.
    std::vector<persona::search_query> queries(std::size_t n) {
        std::vector<persona::search_query> out;
        std::size_t const ks[] = {1, 5, 10, 50};
        for (std::size_t i = 0; i < n; ++i) {
            persona::search_query q;
            if (i % 5 != 4) q.parts.push_back({text(1 + rng_() % 3), 1.0});
            if (i % 5 == 1) q.parts.push_back({text(2), 0.35});
            if (i % 5 != 3) q.vector = vector();
            q.k = ks[i % 4];
            q.prefer_recent = i % 4 == 2;
            if (i % 7 == 6) q.min_score = 0.2;
            out.push_back(std::move(q));
        }
        return out;
    }

private:
    std::string text(std::size_t words) {
        auto const& v = vocabulary();
        std::string t;
        for (std::size_t i = 0; i < words; ++i) t += (i ? " " : "") + v[rng_() % v.size()];
        return t;
    }
    std::vector<float> vector() {
        std::normal_distribution<float> normal;
        std::vector<float> v(dim_);
        for (auto& x : v) x = normal(rng_);
        normalise(v);
        return v;
    }

    std::size_t dim_;
    std::mt19937_64 rng_;
};

/// Unit vectors around `clusters` random centres (no text): where approximate indexes shine.
class clustered_corpus {
public:
    clustered_corpus(std::size_t dim, std::size_t clusters, unsigned seed) : dim_(dim), rng_(seed) {
        for (std::size_t c = 0; c < clusters; ++c) centres_.push_back(around(nullptr, 1.0f));
    }

    std::vector<persona::chunk> chunks(std::size_t n) {
        std::vector<persona::chunk> out;
        for (std::size_t i = 0; i < n; ++i) {
            persona::chunk c;
            c.item_id = "p" + std::to_string(i);
            c.chunk_id = persona::make_chunk_id(c.item_id, persona::item_kind::event, 1);
            c.embedding = around(&centres_[rng_() % centres_.size()], 0.5f);
            out.push_back(std::move(c));
        }
        return out;
    }

    std::vector<persona::search_query> queries(std::size_t n) {
        std::vector<persona::search_query> out;
        for (std::size_t i = 0; i < n; ++i) {
            persona::search_query q;
            q.vector = around(&centres_[rng_() % centres_.size()], 0.5f);
            q.k = 10;
            out.push_back(std::move(q));
        }
        return out;
    }

private:
    std::vector<float> around(std::vector<float> const* centre, float spread) {
        std::normal_distribution<float> normal;
        std::vector<float> v(dim_);
        for (std::size_t i = 0; i < dim_; ++i)
            v[i] = (centre ? (*centre)[i] : 0.0f) + spread * normal(rng_) / std::sqrt(float(dim_));
        normalise(v);
        return v;
    }

    std::size_t dim_;
    std::mt19937_64 rng_;
    std::vector<std::vector<float>> centres_;
};

/// What the saver program indexes: three users of 500 chunks.
inline std::map<persona::user_ref, std::vector<persona::chunk>> saver_corpus() {
    random_corpus corpus(32, 1234);
    std::map<persona::user_ref, std::vector<persona::chunk>> out;
    for (int u = 0; u < 3; ++u) out[{"w", "s" + std::to_string(u)}] = corpus.chunks("s" + std::to_string(u) + "_", 500);
    return out;
}

/// The saver's retriever: HNSW, built on one thread so that a rebuild gives the same graph.
inline persona::faiss_retriever::options saver_options() { return {.spec = "HNSW32", .build_threads = 1}; }

/// The saver's queries.
inline std::vector<persona::search_query> saver_queries() { return random_corpus(32, 99).queries(40); }

/// Every hit of every saver query for every user, one line each, scores exact (%a).
inline std::string transcript(persona::faiss_retriever const& r) {
    std::string out;
    auto const queries = saver_queries();
    for (auto const& [user, chunks] : saver_corpus()) {
        for (std::size_t i = 0; i < queries.size(); ++i) {
            auto const hits = r.search(user, queries[i]);
            if (!hits) {
                out += user.user_id + " " + std::to_string(i) + " ERROR " + hits.error().message + "\n";
                continue;
            }
            for (auto const& h : *hits) {
                char score[64];
                std::snprintf(score, sizeof score, "%a", h.score);
                out += user.user_id + " " + std::to_string(i) + " " + h.chunk_id + " " + score + "\n";
            }
        }
    }
    return out;
}

} // namespace persona_faiss_test

#endif
