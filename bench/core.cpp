// A first look at the core's speed: ingest throughput and /chunks latency of basic_engine
// for one user at growing sizes. Prints medians; run on a quiet machine and compare runs
// side by side (these machines are shared).
#include <persona/presets.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

std::string sentence(std::mt19937& rng) {
    static constexpr char const* words[] = {"meeting", "coffee", "project", "deadline", "Lisbon", "budget", "design",
                                            "review", "prefers", "afternoon", "flight", "dinner", "team", "weekly",
                                            "report", "focus", "morning", "customer", "launch", "call"};
    std::string s;
    for (int i = 0; i < 14; ++i) {
        if (i) s += ' ';
        s += words[rng() % std::size(words)];
    }
    return s + ".";
}

double median(std::vector<double> v) {
    std::ranges::sort(v);
    return v[v.size() / 2];
}

} // namespace

int main() {
    using clock = std::chrono::steady_clock;
    std::printf("%10s %14s %14s %14s\n", "chunks", "ingest ev/s", "chunks p50 us", "chunks p99 us");
    for (std::size_t n : {1000u, 10000u, 50000u}) {
        persona::basic_engine e;
        (void)e.register_user({.user_id = "u"});
        std::mt19937 rng(42);
        auto const t0 = clock::now();
        for (std::size_t b = 0; b < n / 100; ++b) {
            persona::ingest_request in{.user_id = "u"};
            for (std::size_t i = 0; i < 100; ++i)
                in.events.push_back({"e" + std::to_string(b * 100 + i), "note",
                                     std::chrono::sys_days{std::chrono::year{2025} / 1 / 1}, sentence(rng), {}});
            (void)e.ingest(in).value();
        }
        double const secs = std::chrono::duration<double>(clock::now() - t0).count();
        std::vector<double> lat;
        for (int q = 0; q < 200; ++q) {
            persona::chunks_request c{.user_id = "u", .conversation = {{"user", sentence(rng)}}, .top_k = 5};
            auto const s = clock::now();
            (void)e.chunks(c).value();
            lat.push_back(std::chrono::duration<double, std::micro>(clock::now() - s).count());
        }
        std::ranges::sort(lat);
        std::printf("%10zu %14.0f %14.0f %14.0f\n", n, static_cast<double>(n) / secs, median(lat), lat[lat.size() * 99 / 100]);
    }
}
