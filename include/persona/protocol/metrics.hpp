#ifndef PERSONA_PROTOCOL_METRICS_HPP
#define PERSONA_PROTOCOL_METRICS_HPP

/// @file
/// Request counters and latency histograms, rendered in the Prometheus text format.

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace persona::protocol {

/** Counts requests and their latency per (endpoint, status).

    @par Thread safety
    Distinct objects: safe. Shared objects: safe.
*/
class metrics {
public:
    /// Upper bounds of the latency buckets, in seconds.
    static constexpr std::array<double, 12> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                    0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

    /// Record one request.
    void record(std::string_view endpoint, int status, double seconds) {
        std::lock_guard g(mutex_);
        auto& h = series_[{std::string(endpoint), status}];
        for (std::size_t i = 0; i < buckets.size(); ++i)
            if (seconds <= buckets[i]) ++h.bucket[i];
        ++h.count;
        h.sum += seconds;
    }

    /// Return the number of requests recorded for `endpoint` with `status`.
    std::uint64_t count(std::string_view endpoint, int status) const {
        std::lock_guard g(mutex_);
        auto const it = series_.find({std::string(endpoint), status});
        return it == series_.end() ? 0 : it->second.count;
    }

    /** Render everything in the Prometheus text exposition format (version 0.0.4).

        @param users,chunks gauges to include; negative values are omitted.
    */
    std::string render(long long users = -1, long long chunks = -1) const {
        std::lock_guard g(mutex_);
        std::string out;
        char buf[1024]; // labels are short: endpoint names are fixed strings
        out += "# HELP persona_requests_total Requests served, by endpoint and HTTP status.\n"
               "# TYPE persona_requests_total counter\n";
        for (auto const& [key, h] : series_) {
            std::snprintf(buf, sizeof buf, "persona_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                          key.first.c_str(), key.second, static_cast<unsigned long long>(h.count));
            out += buf;
        }
        out += "# HELP persona_request_duration_seconds Time to handle a request, by endpoint and status.\n"
               "# TYPE persona_request_duration_seconds histogram\n";
        for (auto const& [key, h] : series_) {
            char labels[160];
            std::snprintf(labels, sizeof labels, "endpoint=\"%s\",status=\"%d\"", key.first.c_str(), key.second);
            for (std::size_t i = 0; i < buckets.size(); ++i) {
                std::snprintf(buf, sizeof buf, "persona_request_duration_seconds_bucket{%s,le=\"%g\"} %llu\n", labels,
                              buckets[i], static_cast<unsigned long long>(h.bucket[i]));
                out += buf;
            }
            std::snprintf(buf, sizeof buf,
                          "persona_request_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
                          "persona_request_duration_seconds_sum{%s} %.9g\n"
                          "persona_request_duration_seconds_count{%s} %llu\n",
                          labels, static_cast<unsigned long long>(h.count), labels, h.sum, labels,
                          static_cast<unsigned long long>(h.count));
            out += buf;
        }
        if (users >= 0) {
            out += "# HELP persona_users Registered users, all workspaces.\n# TYPE persona_users gauge\n";
            out += "persona_users " + std::to_string(users) + "\n";
        }
        if (chunks >= 0) {
            out += "# HELP persona_chunks Indexed chunks, all users.\n# TYPE persona_chunks gauge\n";
            out += "persona_chunks " + std::to_string(chunks) + "\n";
        }
        return out;
    }

private:
    struct histogram {
        std::array<std::uint64_t, buckets.size()> bucket{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, histogram> series_;
};

} // namespace persona::protocol

#endif
