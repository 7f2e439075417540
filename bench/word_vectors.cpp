// Word vectors (issue 6): what loading them costs, how fast word_vector_embedder embeds,
// and retrieval quality on the evaluation files with and without them.
//
//   persona_bench_word_vectors VECTORS [EVAL_FILE...]
//
// VECTORS is the file scripts/word-vectors.sh writes. Each EVAL_FILE (the format of
// ../shared/eval, as persona-eval reads it) is run in process through persona::eval::evaluate
// on the same engine with each embedder, as persona-eval does (top_k 50); the table shows
// recall@k over all questions (and choice accuracy when the file has options). Numbers go into docs/word-vectors.md.

#include <persona/engine.hpp>
#include <persona/eval/dataset.hpp>
#include <persona/eval/runner.hpp>
#include <persona/extractive_answerer.hpp>
#include <persona/flat_retriever.hpp>
#include <persona/hashing_embedder.hpp>
#include <persona/memory_store.hpp>
#include <persona/word_vector_embedder.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return -1;
}

/// The engine's own embedder slot, so the dimension-0 case means "lexical only".
struct no_embedder {
    std::size_t dimension() const noexcept { return 0; }
    persona::result<void> embed(std::span<std::string_view const>, std::span<float>) const { return {}; }
};

template <class Embedder>
void run_eval(std::string const& label, Embedder e, persona::eval::dataset const& data) {
    persona::engine_options deep; // as persona-eval in process: deep enough for recall@50
    deep.max_top_k = 50;
    persona::engine<persona::memory_store, Embedder, persona::flat_retriever, persona::extractive_answerer> engine(
        persona::memory_store{}, std::move(e), persona::flat_retriever{}, persona::extractive_answerer{}, deep);
    auto r = persona::eval::evaluate(engine, data, {.top_k = 50});
    if (!r) {
        std::cerr << label << ": " << r.error().message << "\n";
        return;
    }
    boost::json::object const j = persona::eval::report_json(*r);
    boost::json::object const& recall = j.at("recall").as_object();
    std::printf("| %-41s |", label.c_str());
    for (char const* k : {"1", "3", "5", "10", "25", "50"}) {
        if (recall.contains(k))
            std::printf(" %5.1f |", recall.at(k).as_object().at("all").to_number<double>());
        else
            std::printf("     - |");
    }
    if (j.contains("choice"))
        std::printf("  %5.1f |", j.at("choice").as_object().at("all").to_number<double>());
    else
        std::printf("      - |");
    std::printf(" %8.0f | %6.3f |\n", j.at("ingest_events_per_s").to_number<double>(),
                j.at("latency_ms").as_object().at("chunks").as_object().at("p50").to_number<double>());
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: persona_bench_word_vectors VECTORS [EVAL_FILE...]\n";
        return 2;
    }
    std::filesystem::path const file = argv[1];

    // Loading: the first load measures memory; the five timed ones find the page cache warm.
    long const rss0 = rss_kib();
    auto first = persona::word_vectors::load(file);
    if (!first) {
        std::cerr << first.error().message << "\n";
        return 1;
    }
    persona::word_vectors vectors = *first;
    long const rss1 = rss_kib();
    std::vector<double> load_ms, load_nocrc_ms;
    for (int i = 0; i < 5; ++i) {
        auto t0 = clock_type::now();
        auto v = persona::word_vectors::load(file);
        load_ms.push_back(ms_since(t0));
        if (!v) {
            std::cerr << v.error().message << "\n";
            return 1;
        }
        t0 = clock_type::now();
        auto u = persona::word_vectors::load(file, {.verify_checksum = false});
        load_nocrc_ms.push_back(ms_since(t0));
    }
    std::ranges::sort(load_ms);
    std::ranges::sort(load_nocrc_ms);
    std::printf("file: %s, %.1f MiB, %zu words x %zu dimensions\n", file.c_str(),
                static_cast<double>(std::filesystem::file_size(file)) / 1048576.0, vectors.size(),
                vectors.dimension());
    std::printf("load (median of 5, warm cache): %.1f ms with the checksum, %.1f ms without\n", load_ms[2],
                load_nocrc_ms[2]);
    std::printf("memory: %.1f MiB held by the table (RSS grew by %.1f MiB)\n",
                static_cast<double>(vectors.memory_bytes()) / 1048576.0, static_cast<double>(rss1 - rss0) / 1024.0);

    // Lookups and similarity.
    std::vector<std::string> words;
    for (std::size_t i = 0; i < 200000; ++i) words.emplace_back(vectors.word((i * 7919) % vectors.size()));
    auto t0 = clock_type::now();
    std::size_t sink = 0;
    for (auto const& w : words) sink += vectors.find(w).rank();
    double const find_ns = ms_since(t0) * 1e6 / static_cast<double>(words.size());
    t0 = clock_type::now();
    float fsink = 0;
    for (std::size_t i = 0; i + 1 < words.size(); ++i) fsink += vectors.similarity(words[i], words[i + 1]);
    double const sim_ns = ms_since(t0) * 1e6 / static_cast<double>(words.size() - 1);
    t0 = clock_type::now();
    auto const near = vectors.nearest("coffee", 10);
    double const nearest_ms = ms_since(t0);
    std::printf("find: %.0f ns, similarity(a, b): %.0f ns (random words), nearest(word, 10): %.1f ms  [%zu %g]\n",
                find_ns, sim_ns, nearest_ms, sink % 10, static_cast<double>(fsink > 0));
    std::printf("nearest(\"coffee\"):");
    for (auto const& n : near) std::printf(" %s %.2f", n.word.c_str(), static_cast<double>(n.similarity));
    std::printf("\n");

    // Embedding throughput on sentences of chat length.
    std::vector<std::string> const sentences{
        "I went hiking in the mountains last weekend with my sister and we saw a bear.",
        "Caroline said she is looking into adoption agencies and counseling careers.",
        "My favourite drink in the morning is a strong black coffee without sugar.",
        "We should move the stand-up meeting to 2 PM starting next week.",
    };
    std::vector<std::string_view> texts;
    for (int i = 0; i < 256; ++i) texts.emplace_back(sentences[static_cast<std::size_t>(i) % sentences.size()]);
    auto const throughput = [&](auto const& e) {
        std::vector<float> out(texts.size() * e.dimension());
        auto const start = clock_type::now();
        int rounds = 0;
        while (ms_since(start) < 300) {
            (void)e.embed(texts, out);
            ++rounds;
        }
        return rounds * static_cast<double>(texts.size()) / (ms_since(start) / 1000.0);
    };
    t0 = clock_type::now();
    persona::word_vector_embedder const wve(vectors);
    std::printf("word_vector_embedder construction (common direction): %.1f ms\n", ms_since(t0));
    std::printf("embed: word_vector_embedder %.0f texts/s (%.0f without stem fallback), "
                "hashing_embedder(256) %.0f texts/s\n",
                throughput(wve), throughput(persona::word_vector_embedder(vectors, {.stem_fallback = false})),
                throughput(persona::hashing_embedder{}));

    persona::word_vector_embedder::options const plain{.sif_a = 0, .remove_common_direction = false};
    persona::word_vector_embedder::options const sif_only{.remove_common_direction = false};
    for (int i = 2; i < argc; ++i) {
        auto data = persona::eval::read_dataset(argv[i]);
        if (!data) {
            std::cerr << argv[i] << ": " << data.error().message << "\n";
            return 1;
        }
        std::printf("\n%s\n\n", std::filesystem::path(argv[i]).filename().c_str());
        std::printf("| %-41s |  R@1  |  R@3  |  R@5  | R@10  | R@25  | R@50  | choice | ingest/s | chunks p50 ms |\n", "embedder");
        std::printf("|%s|------:|------:|------:|------:|------:|------:|-------:|---------:|-------:|\n",
                    std::string(43, '-').c_str());
        run_eval("none (lexical only)", no_embedder{}, *data);
        run_eval("hashing_embedder (default)", persona::hashing_embedder{}, *data);
        run_eval("word vectors: plain mean", persona::word_vector_embedder(vectors, plain), *data);
        run_eval("word vectors: SIF weights", persona::word_vector_embedder(vectors, sif_only), *data);
        run_eval("word vectors: SIF + common dir. (default)", persona::word_vector_embedder(vectors), *data);
        run_eval("word vectors: default, no stem fallback",
                 persona::word_vector_embedder(vectors, {.stem_fallback = false}), *data);
    }
    return 0;
}
