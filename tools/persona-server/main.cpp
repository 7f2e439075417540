// persona-server: the Personalization API over HTTP, from an engine preset.
//
//   persona-server [--address 127.0.0.1] [--port 8080] [--threads N] [--keys persona-keys.txt]
//                  [--db persona.db | --memory] [--preset basic|faiss] [--faiss-spec SPEC]
//                  [--rate-limit N] [--body-limit BYTES] [--reject-pii] [--quiet]
//   persona-server keys add --workspace W --scope read|write|admin [--name N] [--keys FILE]
//   persona-server keys list [--keys FILE]
//
// On first start without a keys file it creates one with an admin key for workspace
// "default" and prints that key once, with a curl line to try it.
#include <persona/http/server.hpp>
#include <persona/presets.hpp>
#include <persona/sqlite/sqlite_engine.hpp>
#if PERSONA_SERVER_WITH_FAISS
#include <persona/faiss/faiss_engine.hpp>
#endif

#include <chrono>
#include <functional>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct flags {
    std::string address = "127.0.0.1";
    unsigned short port = 8080;
    std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    std::string keys = "persona-keys.txt";
    std::string preset = "basic";
    std::string faiss_spec = "IDMap,Flat";
    std::string db = "persona.db";
    bool memory = false;
    std::optional<std::uint64_t> rate_limit;
    std::size_t body_limit = 8 << 20;
    bool reject_pii = false;
    bool quiet = false;
};

[[noreturn]] void usage(std::string const& why) {
    if (!why.empty()) std::cerr << "persona-server: " << why << "\n\n";
    std::cerr << "usage: persona-server [--address A] [--port P] [--threads N] [--keys FILE]\n"
                 "                      [--db FILE (default persona.db) | --memory]\n"
                 "                      [--preset basic|faiss] [--faiss-spec SPEC (default IDMap,Flat)]\n"
                 "                      [--rate-limit N] [--body-limit BYTES] [--reject-pii] [--quiet]\n"
                 "       persona-server keys add --workspace W --scope read|write|admin [--name N] [--keys FILE]\n"
                 "       persona-server keys list [--keys FILE]\n";
    std::exit(2);
}

std::uint64_t number(std::string const& flag, std::string const& v) {
    try {
        std::size_t used = 0;
        auto const n = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return n;
    } catch (std::exception const&) {
        usage(flag + " takes a number, not '" + v + "'");
    }
}

bool is_loopback(std::string const& address) {
    return address == "localhost" || address.starts_with("127.") || address == "::1";
}

int keys_command(std::vector<std::string> const& args) {
    std::map<std::string, std::string> opt{{"--keys", "persona-keys.txt"}};
    if (args.empty()) usage("keys: add or list?");
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (i + 1 >= args.size()) usage(args[i] + " needs a value");
        opt[args[i]] = args[i + 1];
        ++i;
    }
    auto loaded = persona::protocol::key_store::load(opt["--keys"]);
    if (!loaded && loaded.error().code != persona::errc::not_found) {
        std::cerr << "persona-server: " << loaded.error().message << "\n";
        return 1;
    }
    persona::protocol::key_store ks = loaded ? std::move(*loaded) : persona::protocol::key_store{};
    if (args[0] == "list") {
        for (auto const& e : ks.entries())
            std::cout << e.who.key_id << "  " << e.who.workspace << "  " << to_string(e.who.scope) << "  " << e.who.name
                      << "\n";
        return 0;
    }
    if (args[0] != "add") usage("keys: unknown command '" + args[0] + "'");
    auto const sc = persona::protocol::scope_from_string(opt["--scope"]);
    if (!sc) usage("keys add needs --scope read|write|admin");
    auto key = ks.add(opt["--workspace"], *sc, opt["--name"]);
    if (!key) usage("keys add needs --workspace NAME (one word)");
    if (auto saved = ks.save(opt["--keys"]); !saved) {
        std::cerr << "persona-server: " << saved.error().message << "\n";
        return 1;
    }
    std::cout << *key << "\n";
    std::cerr << "persona-server: added a " << opt["--scope"] << " key for workspace '" << opt["--workspace"]
              << "' to " << opt["--keys"] << "; it is shown only this once.\n";
    return 0;
}

/// Where the data lives, for the start-up line.
std::string where(flags const& f) { return f.memory ? "memory (nothing is kept)" : f.db; }

template <class Engine>
int serve(Engine& engine, flags const& f, persona::protocol::key_store keys,
          std::function<void()> const& after_stop = {}) {
    // Signals are handled by sigwait below: block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    persona::http::server_options so;
    so.address = f.address;
    so.port = f.port;
    so.threads = f.threads;
    so.body_limit = f.body_limit;
    persona::protocol::service_options po;
    po.rate_limit_per_minute = f.rate_limit.value_or(is_loopback(f.address) ? 0 : 600);
    po.reject_pii = f.reject_pii;
    if (!f.quiet) po.log = [](std::string_view line) { std::clog << line << '\n'; };

    persona::http::server<Engine> server(engine, std::move(keys), so, std::move(po));
    if (auto started = server.start(); !started) {
        std::cerr << "persona-server: " << started.error().message << "\n";
        return 1;
    }
    // One write of the whole line: std::cerr is unbuffered, and scripts that wait for this
    // line (tests, supervisors) must never read it without its port.
    std::ostringstream serving;
    serving << "persona-server: serving the " << f.preset
            << (f.preset == "faiss" ? " (" + f.faiss_spec + ")" : std::string()) << " preset from " << where(f)
            << " on http://" << f.address << ":" << server.port() << " with " << f.threads
            << " threads (Ctrl-C stops)\n";
    std::cerr << serving.str() << std::flush;
    int sig = 0;
    sigwait(&signals, &sig);
    std::cerr << "persona-server: stopping (finishing requests in flight)\n";
    server.stop();
    if (after_stop) after_stop();
    return 0;
}

/// Load every user's chunks from the store into the retriever, saying how long it took.
template <class Engine>
bool restore(Engine& engine, flags const& f) {
    auto const start = std::chrono::steady_clock::now();
    if (auto r = engine.rebuild_index(); !r) {
        std::cerr << "persona-server: cannot load " << f.db << ": " << r.error().message << "\n";
        return false;
    }
    auto const stats = engine.get_statistics();
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::cerr << "persona-server: restored " << stats.users << (stats.users == 1 ? " user" : " users") << " and "
              << stats.chunks << (stats.chunks == 1 ? " chunk" : " chunks") << " from " << f.db << " in " << ms.count()
              << " ms\n";
    return true;
}

std::optional<persona::sqlite_store> open_store(flags const& f) {
    auto store = persona::sqlite_store::open(f.db);
    if (!store) {
        std::cerr << "persona-server: " << store.error().message << "\n";
        return std::nullopt;
    }
    return std::move(*store);
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "keys") return keys_command({args.begin() + 1, args.end()});

    flags f;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& a = args[i];
        auto value = [&]() -> std::string const& {
            if (i + 1 >= args.size()) usage(a + " needs a value");
            return args[++i];
        };
        if (a == "--address") f.address = value();
        else if (a == "--port") f.port = static_cast<unsigned short>(number(a, value()));
        else if (a == "--threads") f.threads = std::max<std::size_t>(1, number(a, value()));
        else if (a == "--keys") f.keys = value();
        else if (a == "--preset") f.preset = value();
        else if (a == "--faiss-spec") f.faiss_spec = value();
        else if (a == "--db") f.db = value();
        else if (a == "--memory") f.memory = true;
        else if (a == "--rate-limit") f.rate_limit = number(a, value());
        else if (a == "--body-limit") f.body_limit = number(a, value());
        else if (a == "--reject-pii") f.reject_pii = true;
        else if (a == "--quiet") f.quiet = true;
        else if (a == "--help" || a == "-h") usage("");
        else usage("unknown flag '" + a + "'");
    }

    auto keys = persona::protocol::key_store::load(f.keys);
    if (!keys && keys.error().code == persona::errc::not_found) {
        persona::protocol::key_store fresh;
        auto const key = fresh.add("default", persona::protocol::scope::admin, "bootstrap").value();
        if (auto saved = fresh.save(f.keys); !saved) {
            std::cerr << "persona-server: " << saved.error().message << "\n";
            return 1;
        }
        std::cout << "Created " << f.keys << " with an admin key for workspace 'default'. It is shown only once:\n\n  "
                  << key << "\n\nTry it:\n\n  curl -s http://" << f.address << ":" << f.port
                  << "/summary?user_id=usr_42af7c -H \"Authorization: x-api-key: " << key << "\"\n\n"
                  << std::flush;
        keys = std::move(fresh);
    }
    if (!keys) {
        std::cerr << "persona-server: " << keys.error().message << "\n";
        return 1;
    }

    if (f.preset == "basic") {
        if (f.memory) {
            persona::basic_engine engine;
            return serve(engine, f, std::move(*keys));
        }
        auto store = open_store(f);
        if (!store) return 1;
        persona::sqlite_engine engine(std::move(*store));
        if (!restore(engine, f)) return 1;
        return serve(engine, f, std::move(*keys));
    }
#if PERSONA_SERVER_WITH_FAISS
    if (f.preset == "faiss") {
        std::optional<persona::faiss_retriever> retriever;
        try {
            retriever.emplace(persona::faiss_retriever::options{.spec = f.faiss_spec});
        } catch (std::invalid_argument const& e) {
            usage(e.what());
        }
        if (f.memory) {
            persona::faiss_engine engine(persona::memory_store{}, persona::hashing_embedder{}, std::move(*retriever));
            return serve(engine, f, std::move(*keys));
        }
        // The index is saved next to the database at a clean stop and adopted at the
        // next start where it still matches the database; anything else is rebuilt.
        auto store = open_store(f);
        if (!store) return 1;
        std::string const index_file = f.db + ".faiss";
        if (auto loaded = retriever->load(index_file); !loaded)
            std::cerr << "persona-server: not using a saved index: " << loaded.error().message
                      << "; building it from the database\n";
        persona::engine<persona::sqlite_store, persona::hashing_embedder, persona::faiss_retriever> engine(
            std::move(*store), persona::hashing_embedder{}, std::move(*retriever));
        if (!restore(engine, f)) return 1;
        engine.get_retriever().drop_unclaimed();
        auto const adopted = engine.get_retriever().get_persistence_statistics();
        if (adopted.users_loaded > 0)
            std::cerr << "persona-server: saved index: " << adopted.users_adopted << " users adopted, "
                      << adopted.users_rebuilt << " rebuilt (stale)\n";
        return serve(engine, f, std::move(*keys), [&] {
            if (auto saved = engine.get_retriever().save(index_file); !saved)
                std::cerr << "persona-server: could not save the index: " << saved.error().message << "\n";
            else
                std::cerr << "persona-server: saved the index to " << index_file << "\n";
        });
    }
    usage("unknown preset '" + f.preset + "' (available: basic, faiss)");
#else
    usage("unknown preset '" + f.preset + "' (available: basic; faiss needs a build with PERSONA_WITH_FAISS=ON)");
#endif
}
