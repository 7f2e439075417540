// Issue 7, benchmark 4: HTTP requests/s and latency under load. Runs wrk (Debian package)
// with --connections connections on 2 threads for --duration seconds against:
//   - persona_bench_bare_server (the ceiling: Beast answering a fixed small JSON body);
//   - persona-server --memory, POST /chunks (a user of N chunks, for each N of --sizes;
//     the bodies cycle through 64 distinct 6-word user turns, top_k 5);
//   - persona-server --memory, POST /ingest (one 14-word event per request, a fresh
//     event id each time, spread over 64 users);
//   - persona-server on SQLite (its default), POST /ingest (one commit with fsync each).
// All servers run at once with 2 I/O threads; the runs alternate, the main three twice in
// A B C ... C B A order, so the ratios are taken in one run on the same machine state.
// wrk's own client shares the 2 cores with the server under test, as it does for the
// bare server.
//
//   build-bench/bench/persona_bench_http --server build-bench/tools/persona-server
//       --bare build-bench/bench/persona_bench_bare_server [--duration 20] [--connections 64]
//       [--sizes 100,1000,10000] [--dir /tmp] [--plot FILE]
#include "server.hpp"

#include <fstream>

namespace {

// wrk Lua: the requests are made once in init() (a list cycled through) so that the
// client spends its time sending, not formatting; done() prints one machine-readable line.
constexpr char const* lua_common = R"(
local reqs, i = {}, 0
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %d %.1f %.1f %.1f %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.mean, e.status,
    e.connect + e.read + e.write + e.timeout))
end
)";

// args: key, body file (one JSON body per line).
constexpr char const* lua_cycle = R"(
function init(args)
  local headers = { ["Authorization"] = "x-api-key: " .. args[1], ["Content-Type"] = "application/json" }
  for line in io.lines(args[2]) do reqs[#reqs + 1] = wrk.format("POST", args[3], headers, line) end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
)";

// args: key, run tag. A fresh event per request: the run tag, thread id and counter make
// the event id unique (a repeated id would measure replacing an event, not adding one).
constexpr char const* lua_ingest = R"(
local words = { "meeting", "coffee", "project", "deadline", "Lisbon", "budget", "design", "review",
  "prefers", "afternoon", "flight", "dinner", "team", "weekly", "report", "focus" }
local counter, headers, tag = 0, nil, "r"
local next_id = 0 -- in the main state: numbers the threads; each thread sees its own global tid
function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
end
function init(args)
  headers = { ["Authorization"] = "x-api-key: " .. args[1], ["Content-Type"] = "application/json" }
  tag = args[2] or "r"
end
function request()
  counter = counter + 1
  local text = {}
  for k = 1, 14 do text[k] = words[(counter * 7 + k * 13) % #words + 1] end
  local body = string.format(
    '{"user_id":"wrk_%d","source":"wrk","events":[{"event_id":"%s_t%d_%d","type":"note",' ..
    '"timestamp":"2025-01-01T00:00:00Z","content":"%s %d."}]}',
    counter % 64, tag, tid, counter, table.concat(text, " "), counter)
  return wrk.format("POST", "/ingest", headers, body)
end
)";

struct result_row {
    std::string name;
    std::vector<double> rps, p50, p99, cpu_us; // cpu_us: the server's CPU per request
    long non2xx = 0, socket_errors = 0;
};

} // namespace

int main(int argc, char** argv) {
    bench::args const opt(argc, argv,
                          {{"server", ""},
                           {"bare", ""},
                           {"wrk", "wrk"},
                           {"duration", "20"},
                           {"connections", "64"},
                           {"sizes", "100,1000,10000"},
                           {"dir", std::filesystem::temp_directory_path().string()},
                           {"plot", ""}});
    if (opt.str("server").empty() || opt.str("bare").empty()) {
        std::fprintf(stderr, "%s needs --server PATH-TO-persona-server and --bare PATH-TO-persona_bench_bare_server\n",
                     argv[0]);
        return 2;
    }
    std::filesystem::path const dir = opt.str("dir");
    auto const sizes = opt.list("sizes");
    std::string const stem = (dir / ("persona-bench-http-" + std::to_string(getpid()))).string();

    // The servers.
    int const bare_port = bench::free_port();
    bench::child_process bare({opt.str("bare"), "--port", std::to_string(bare_port), "--threads", "2"});
    bench::persona_server memory(opt.str("server"), true, dir);
    bench::persona_server sqlite(opt.str("server"), false, dir);
    std::string const bare_url = "http://127.0.0.1:" + std::to_string(bare_port);
    for (int i = 0;; ++i) {
        try {
            bench::client c(bare_url, "");
            if (c.send("GET", "/") == 200) break;
        } catch (std::exception const&) {
            if (i > 100) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    // Their data: one user per /chunks size; 64 ingest users on each persona-server.
    {
        auto c = memory.connect();
        auto s = sqlite.connect();
        std::mt19937_64 rng(5);
        for (auto const size : sizes) {
            std::string const user = "chunks_" + std::to_string(size);
            c.ok("PUT", "/register", bench::to_body(persona::register_request{.user_id = user}));
            for (std::size_t have = 0; have < size; have += 1000)
                c.ok("POST", "/ingest", bench::to_body(bench::events(user, "e", have, std::min<std::size_t>(1000, size - have), rng)));
            std::ofstream bodies(stem + "-chunks-" + std::to_string(size) + ".txt");
            std::mt19937_64 qrng(size);
            for (int q = 0; q < 64; ++q) bodies << bench::to_body(bench::chunks_query(user, qrng)) << '\n';
        }
        for (int u = 0; u < 64; ++u) {
            auto const reg = bench::to_body(persona::register_request{.user_id = "wrk_" + std::to_string(u)});
            c.ok("PUT", "/register", reg);
            s.ok("PUT", "/register", reg);
        }
        std::ofstream(stem + "-bare.txt") << "{}\n";
        std::ofstream(stem + "-cycle.lua") << lua_common << lua_cycle;
        std::ofstream(stem + "-ingest.lua") << lua_common << lua_ingest;
    }

    // One wrk run: returns false (and says why) if wrk printed no result line.
    std::map<std::string, result_row> results;
    std::vector<std::string> order;
    auto run = [&](std::string const& name, pid_t server, std::string const& url, std::string const& key,
                   std::string const& script, std::string const& script_args) {
        std::string const cmd = opt.str("wrk") + " -t2 -c" + opt.str("connections") + " -d" + opt.str("duration") +
                                "s --timeout 10s -s " + script + " " + url + " -- " + key + " " + script_args + " 2>&1";
        std::fprintf(stderr, "[http] %s (%ss)\n", name.c_str(), opt.str("duration").c_str());
        double const cpu_before = bench::cpu_seconds(server);
        std::string const out = bench::capture(cmd);
        double const cpu = bench::cpu_seconds(server) - cpu_before;
        auto const at = out.find("WRK ");
        if (at == std::string::npos) {
            std::fprintf(stderr, "[http] wrk gave no result for %s:\n%s\n", name.c_str(), out.c_str());
            return;
        }
        long requests = 0, duration_us = 0, non2xx = 0, errors = 0;
        double p50 = 0, p99 = 0, mean = 0;
        std::sscanf(out.c_str() + at, "WRK %ld %ld %lf %lf %lf %ld %ld", &requests, &duration_us, &p50, &p99, &mean,
                    &non2xx, &errors);
        auto& r = results[name];
        if (r.name.empty()) {
            r.name = name;
            order.push_back(name);
        }
        r.rps.push_back(static_cast<double>(requests) / (static_cast<double>(duration_us) / 1e6));
        r.p50.push_back(p50);
        r.p99.push_back(p99);
        if (requests > 0) r.cpu_us.push_back(cpu * 1e6 / static_cast<double>(requests));
        r.non2xx += non2xx;
        r.socket_errors += errors;
    };
    std::string const cycle = stem + "-cycle.lua", ingest = stem + "-ingest.lua";
    std::size_t const main_size = sizes.size() > 1 ? sizes[sizes.size() / 2] : sizes.front();
    auto chunks_run = [&](std::size_t size) {
        run("persona-server --memory, /chunks, user of " + std::to_string(size) + " chunks", memory.pid(), memory.url(),
            memory.key(), cycle, stem + "-chunks-" + std::to_string(size) + ".txt /chunks");
    };
    auto bare_run = [&] { run("bare Beast server, fixed body", bare.pid(), bare_url, "none", cycle, stem + "-bare.txt /"); };
    int ingest_runs = 0;
    auto ingest_run = [&] {
        run("persona-server --memory, /ingest, 1 event", memory.pid(), memory.url(), memory.key(), ingest,
            "run" + std::to_string(++ingest_runs));
    };

    // A B C, then the other sizes and SQLite, then C B A.
    bare_run();
    chunks_run(main_size);
    ingest_run();
    for (auto const size : sizes)
        if (size != main_size) chunks_run(size);
    run("persona-server SQLite, /ingest, 1 event", sqlite.pid(), sqlite.url(), sqlite.key(), ingest, "sqlite");
    ingest_run();
    chunks_run(main_size);
    bare_run();

    auto const bare_rps = results.count("bare Beast server, fixed body")
                              ? bench::median(results["bare Beast server, fixed body"].rps)
                              : NAN;
    std::printf("| server, request | runs | requests/s | vs bare Beast | server CPU µs per request | p50 ms | p99 ms | "
                "non-2xx | socket errors |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (auto const& name : order) {
        auto const& r = results[name];
        double const rps = bench::median(r.rps);
        double const cpu_us = r.cpu_us.empty() ? NAN : bench::median(r.cpu_us);
        std::printf("| %s | %zu | %.0f | %.2f | %.1f | %.2f | %.2f | %ld | %ld |\n", name.c_str(), r.rps.size(), rps,
                    rps / bare_rps, cpu_us, bench::median(r.p50) / 1e3, bench::median(r.p99) / 1e3, r.non2xx,
                    r.socket_errors);
    }
    // The plot: short labels, bare first, then /chunks by size, then /ingest.
    bench::plot_data plot(opt.str("plot"));
    plot.header("label requests_per_s p99_ms server_cpu_us_per_request");
    auto plot_row = [&](std::string const& name, std::string const& label) {
        if (!results.count(name)) return;
        auto const& r = results[name];
        plot.row("\"" + label + "\"" + bench::fmt(" %.0f", bench::median(r.rps)) +
                 bench::fmt(" %.3f", bench::median(r.p99) / 1e3) +
                 bench::fmt(" %.1f", r.cpu_us.empty() ? NAN : bench::median(r.cpu_us)));
    };
    plot_row("bare Beast server, fixed body", "bare");
    for (auto const size : sizes)
        plot_row("persona-server --memory, /chunks, user of " + std::to_string(size) + " chunks",
                 "chunks-" + std::to_string(size));
    plot_row("persona-server --memory, /ingest, 1 event", "ingest-memory");
    plot_row("persona-server SQLite, /ingest, 1 event", "ingest-sqlite");
    std::printf("\nwrk -t2 -c%s -d%ss, all on 127.0.0.1; \"runs\" > 1: the median of the runs (the first and last "
                "of the sequence). Latency percentiles are wrk's. Server CPU: the server process's user + system time "
                "over the run (/proc/PID/stat) divided by the requests wrk counted; wrk itself is not included.\n",
                opt.str("connections").c_str(), opt.str("duration").c_str());
    for (auto const* suffix : {"-bare.txt", "-cycle.lua", "-ingest.lua"}) std::filesystem::remove(stem + suffix);
    for (auto const size : sizes) std::filesystem::remove(stem + "-chunks-" + std::to_string(size) + ".txt");
}
