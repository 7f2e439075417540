// A real persona-server started by a benchmark (a child process on 127.0.0.1, a free
// port, its own admin key and files), and a keep-alive client for it. Shared by
// bench/ingest.cpp, retrieval.cpp and http.cpp. Not a benchmark itself.
#ifndef PERSONA_BENCH_SERVER_HPP
#define PERSONA_BENCH_SERVER_HPP

#include "common.hpp"

#include <persona/http/beast_transport.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace bench {

/// One keep-alive connection to a server, sending prebuilt bodies with the admin key.
class client {
public:
    client(std::string const& url, std::string key)
        : transport_(persona::http::beast_transport::make(url).value()), key_(std::move(key)) {}

    /// Send and return the status (any failure to talk to the server throws).
    int send(std::string method, std::string target, std::string body = {}) {
        persona::http_request req{std::move(method), std::move(target),
                                  {{"Authorization", "x-api-key: " + key_}, {"Content-Type", "application/json"}},
                                  std::move(body)};
        auto r = transport_.send(req);
        if (!r) throw std::runtime_error("HTTP: " + r.error().message);
        last_body_ = std::move(r->body);
        return r->status;
    }
    /// Send and insist on 200.
    void ok(std::string method, std::string target, std::string body = {}) {
        if (int const s = send(method, target, std::move(body)); s != 200)
            throw std::runtime_error(method + " " + target + ": status " + std::to_string(s) + ": " + last_body_);
    }
    std::string const& last_body() const { return last_body_; }

private:
    persona::http::beast_transport transport_;
    std::string key_;
    std::string last_body_;
};

/// persona-server in memory (`--memory`, basic_engine) or on a fresh SQLite file in `dir`.
class persona_server {
public:
    persona_server(std::string const& binary, bool memory, std::filesystem::path const& dir, std::size_t threads = 2)
        : port_(free_port()), url_("http://127.0.0.1:" + std::to_string(port_)) {
        auto const stem = dir / ("persona-bench-" + std::to_string(getpid()) + "-" + std::to_string(port_));
        keys_ = stem.string() + "-keys.txt";
        db_ = stem.string() + ".db";
        cleanup();
        key_ = capture(binary + " keys add --workspace default --scope admin --name bench --keys " + keys_ +
                       " 2>/dev/null");
        if (key_.empty()) throw std::runtime_error("cannot create a key with " + binary);
        std::vector<std::string> argv{binary, "--port", std::to_string(port_), "--keys", keys_, "--quiet",
                                      "--threads", std::to_string(threads)};
        if (memory) argv.push_back("--memory");
        else argv.insert(argv.end(), {"--db", db_});
        process_.emplace(std::move(argv));
        // Wait for /healthz (the server binds after opening its store).
        for (int i = 0; i < 200; ++i) {
            try {
                client c(url_, key_);
                if (c.send("GET", "/healthz") == 200) return;
            } catch (std::exception const&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("persona-server did not start on " + url_);
    }
    ~persona_server() {
        process_.reset();
        cleanup();
    }
    std::string const& url() const { return url_; }
    std::string const& key() const { return key_; }
    client connect() const { return client(url_, key_); }
    pid_t pid() const { return process_->pid(); }

private:
    void cleanup() const {
        std::error_code ec;
        for (auto const& f : {keys_, db_, db_ + "-wal", db_ + "-shm"}) std::filesystem::remove(f, ec);
    }
    int port_;
    std::string url_, keys_, db_, key_;
    std::optional<child_process> process_;
};

} // namespace bench

#endif
