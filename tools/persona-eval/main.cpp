// persona-eval: score an engine preset, or a running server, on an evaluation file
// (../shared/eval/README.md's format): evidence recall@k, choice accuracy, answer F1,
// latency and ingest throughput.
//
//   persona-eval FILE [--preset basic|faiss|sqlite] [--faiss-spec SPEC] [--word-vectors FILE.pvec]
//   persona-eval FILE --url http://host:port [--key KEY]      (or PERSONA_API_KEY)
//       [--json] [--progress | --no-progress] [--top-k N] [--batch N]
//       [--limit-users N] [--limit-queries N]
//
// The same code runs both targets: persona::eval::evaluate over any personalization_api.
#include <persona/eval/runner.hpp>
#include <persona/json.hpp>
#include <persona/presets.hpp>
#include <persona/word_vector_embedder.hpp>
#if PERSONA_EVAL_WITH_HTTP
#include <persona/http/beast_transport.hpp>
#include <persona/remote_api.hpp>
#endif
#if PERSONA_EVAL_WITH_SQLITE
#include <persona/sqlite/sqlite_engine.hpp>
#endif
#if PERSONA_EVAL_WITH_FAISS
#include <persona/faiss/faiss_engine.hpp>
#endif

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

struct flags {
    std::string file;
    std::string preset = "basic";
    std::string word_vectors; ///< with --preset basic: embed with these word vectors instead of hashing
    bool soft_terms = false;  ///< with --word-vectors: soft term matching in ranking and decisions too
    std::string faiss_spec = "IDMap,Flat";
    std::string url;
    std::string key;
    bool json = false;
    std::optional<bool> progress;
    persona::eval::run_options run;
};

[[noreturn]] void usage(std::string const& why) {
    if (!why.empty()) std::cerr << "persona-eval: " << why << "\n\n";
    std::cerr << "usage: persona-eval FILE [--preset basic|faiss|sqlite] [--faiss-spec SPEC] [--word-vectors FILE.pvec [--soft-terms]]\n"
                 "       persona-eval FILE --url http://HOST:PORT [--key KEY (default: $PERSONA_API_KEY)]\n"
                 "         [--json] [--progress | --no-progress] [--top-k N (default 50)] [--batch N (default 100)]\n"
                 "         [--limit-users N] [--limit-queries N (per user)]\n";
    std::exit(2);
}

std::size_t number(std::string const& flag, std::string const& v) {
    try {
        std::size_t used = 0;
        auto const n = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return n;
    } catch (std::exception const&) {
        usage(flag + " takes a number, not '" + v + "'");
    }
}

/// A one-line bar on stderr, redrawn when the percentage or the phase changes.
class progress_bar {
public:
    void operator()(persona::eval::run_progress const& p) {
        int const pct = p.total ? static_cast<int>(p.done * 100 / p.total) : 100;
        auto const now = std::chrono::steady_clock::now();
        if (pct == last_pct_ && p.phase == last_phase_ && now - last_draw_ < std::chrono::milliseconds(250) &&
            p.done != p.total)
            return;
        last_pct_ = pct;
        last_phase_ = p.phase;
        last_draw_ = now;
        constexpr int width = 30;
        std::string bar(static_cast<std::size_t>(pct * width / 100), '#');
        bar.resize(width, '.');
        std::cerr << "\r[" << bar << "] " << pct << "% " << p.done << "/" << p.total << " " << p.phase << " "
                  << p.user_id << "\x1b[K" << std::flush;
        drawn_ = true;
    }
    void finish() {
        if (drawn_) std::cerr << "\r\x1b[K" << std::flush;
    }

private:
    int last_pct_ = -1;
    std::string last_phase_;
    std::chrono::steady_clock::time_point last_draw_{};
    bool drawn_ = false;
};

template <persona::personalization_api Api>
int run(Api& api, persona::eval::dataset const& data, flags f, std::string const& target) {
    progress_bar bar;
    if (f.progress.value_or(isatty(STDERR_FILENO) != 0)) f.run.on_progress = [&bar](auto const& p) { bar(p); };
    auto r = persona::eval::evaluate(api, data, f.run);
    bar.finish();
    if (!r) {
        std::cerr << "persona-eval: " << r.error().message << "\n";
        return 1;
    }
    for (auto const& w : r->warnings) std::cerr << "persona-eval: warning: " << w << "\n";
    if (f.json) {
        auto j = persona::eval::report_json(*r);
        j["target"] = target;
        std::cout << persona::serialize(boost::json::value(std::move(j))) << "\n";
    } else {
        std::cout << "persona-eval: " << std::filesystem::path(f.file).filename().string() << " on " << target
                  << "\n" << persona::eval::format_report(*r);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    flags f;
    bool preset_given = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& a = args[i];
        auto value = [&]() -> std::string const& {
            if (i + 1 >= args.size()) usage(a + " needs a value");
            return args[++i];
        };
        if (a == "--preset") {
            f.preset = value();
            preset_given = true;
        }
        else if (a == "--faiss-spec") f.faiss_spec = value();
        else if (a == "--word-vectors") f.word_vectors = value();
        else if (a == "--soft-terms") f.soft_terms = true;
        else if (a == "--url") f.url = value();
        else if (a == "--key") f.key = value();
        else if (a == "--json") f.json = true;
        else if (a == "--progress") f.progress = true;
        else if (a == "--no-progress") f.progress = false;
        else if (a == "--top-k") f.run.top_k = number(a, value());
        else if (a == "--batch") f.run.ingest_batch = number(a, value());
        else if (a == "--limit-users") f.run.max_users = number(a, value());
        else if (a == "--limit-queries") f.run.max_queries_per_user = number(a, value());
        else if (a == "--help" || a == "-h") usage("");
        else if (a.starts_with("--")) usage("unknown flag '" + a + "'");
        else if (f.file.empty()) f.file = a;
        else usage("one file only ('" + f.file + "' and '" + a + "')");
    }
    if (f.file.empty()) usage("which file? (e.g. ../shared/eval/locomo/locomo-dev.jsonl)");
    if (f.run.top_k == 0 || f.run.ingest_batch == 0) usage("--top-k and --batch must be at least 1");
    if (!f.url.empty() && preset_given) usage("--preset and --url choose the target: give one");
    if (f.soft_terms && f.word_vectors.empty()) usage("--soft-terms needs --word-vectors FILE");
    if (!f.word_vectors.empty() && f.preset != "basic") usage("--word-vectors goes with --preset basic");

    auto data = persona::eval::read_dataset(f.file);
    if (!data) {
        std::cerr << "persona-eval: " << data.error().message << "\n";
        return 1;
    }

    if (!f.url.empty()) {
#if PERSONA_EVAL_WITH_HTTP
        if (f.key.empty())
            if (char const* k = std::getenv("PERSONA_API_KEY")) f.key = k;
        if (f.key.empty()) usage("--url needs --key KEY or PERSONA_API_KEY");
        auto transport = persona::http::beast_transport::make(f.url);
        if (!transport) usage(transport.error().message);
        persona::remote_api api(std::move(*transport), f.key);
        return run(api, *data, f, f.url);
#else
        usage("--url needs a build with PERSONA_WITH_HTTP=ON");
#endif
    }

    // In process the evaluation looks as deep as recall@50 needs; over HTTP API.md's 20 holds.
    persona::engine_options deep;
    deep.max_top_k = 50;
    if (f.preset == "basic" && !f.word_vectors.empty()) {
        auto embedder = persona::word_vector_embedder::load(f.word_vectors);
        if (!embedder) {
            std::cerr << "persona-eval: " << embedder.error().message << "\n";
            return 1;
        }
        persona::flat_retriever::options retrieval;
        persona::extractive_answerer::options answering;
        if (f.soft_terms) {
            retrieval.soft = persona::soft_terms(embedder->get_vectors());
            answering.soft = persona::soft_terms(embedder->get_vectors());
        }
        persona::engine<persona::memory_store, persona::word_vector_embedder, persona::flat_retriever, persona::extractive_answerer> engine(
            persona::memory_store{}, std::move(*embedder), persona::flat_retriever(retrieval),
            persona::extractive_answerer(answering), deep);
        return run(engine, *data, f, f.soft_terms ? "preset basic with word vectors and soft terms"
                                                  : "preset basic with word vectors");
    }
    if (f.preset == "basic") {
        persona::basic_engine engine(persona::memory_store{}, persona::hashing_embedder{}, persona::flat_retriever{},
                                     persona::extractive_answerer{}, deep);
        return run(engine, *data, f, "preset basic");
    }
#if PERSONA_EVAL_WITH_FAISS
    if (f.preset == "faiss") {
        std::optional<persona::faiss_retriever> retriever;
        try {
            retriever.emplace(persona::faiss_retriever::options{.spec = f.faiss_spec});
        } catch (std::invalid_argument const& e) {
            usage(e.what());
        }
        persona::faiss_engine engine(persona::memory_store{}, persona::hashing_embedder{}, std::move(*retriever),
                                     persona::extractive_answerer{}, deep);
        return run(engine, *data, f, "preset faiss (" + f.faiss_spec + ")");
    }
#endif
#if PERSONA_EVAL_WITH_SQLITE
    if (f.preset == "sqlite") {
        // A fresh database in the temporary directory, removed afterwards.
        auto const db = std::filesystem::temp_directory_path() /
                        ("persona-eval-" + std::to_string(getpid()) + ".db");
        auto const remove_db = [&db] {
            std::error_code ec;
            for (char const* suffix : {"", "-wal", "-shm", "-journal"})
                std::filesystem::remove(db.string() + suffix, ec);
        };
        remove_db();
        int rc = 1;
        {
            auto store = persona::sqlite_store::open(db);
            if (!store) {
                std::cerr << "persona-eval: " << store.error().message << "\n";
                return 1;
            }
            persona::sqlite_engine engine(std::move(*store), persona::hashing_embedder{}, persona::flat_retriever{},
                                          persona::extractive_answerer{}, deep);
            rc = run(engine, *data, f, "preset sqlite");
        }
        remove_db();
        return rc;
    }
#endif
    std::string available = "basic";
#if PERSONA_EVAL_WITH_FAISS
    available += ", faiss";
#endif
#if PERSONA_EVAL_WITH_SQLITE
    available += ", sqlite";
#endif
    usage("unknown preset '" + f.preset + "' (available in this build: " + available + ")");
}
