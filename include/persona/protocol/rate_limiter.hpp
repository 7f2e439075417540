#ifndef PERSONA_PROTOCOL_RATE_LIMITER_HPP
#define PERSONA_PROTOCOL_RATE_LIMITER_HPP

/// @file
/// Per-key request quotas in fixed one-minute windows, with API.md's headers.

#include <persona/time.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace persona::protocol {

/** The outcome of one rate-limit check, with what the `X-RateLimit-*` headers say. */
struct rate_decision {
    bool allowed = true;
    std::uint64_t limit = 0;      ///< requests per minute
    std::uint64_t remaining = 0;  ///< left in this window after this request
    timestamp reset{};            ///< end of the window
    std::uint64_t retry_after = 0;///< seconds until the window ends (when refused)
};

/** Counts requests per key in fixed windows of one minute.

    A window starts at a whole minute of the clock, so every key's window ends at the
    same instant and `X-RateLimit-Reset` is exact.

    @par Thread safety
    Distinct objects: safe. Shared objects: safe.
*/
class rate_limiter {
public:
    /// `per_minute` requests per key and minute; 0 disables limiting.
    explicit rate_limiter(std::uint64_t per_minute = 0, std::function<timestamp()> clock = &persona::now)
        : per_minute_(per_minute), clock_(std::move(clock)) {}

    /// Whether limiting is on.
    bool enabled() const noexcept { return per_minute_ != 0; }

    /// Count one request of `key` (any stable key identity, e.g. its hash) and decide.
    rate_decision check(std::string_view key) {
        timestamp const t = clock_();
        auto const window = std::chrono::floor<std::chrono::minutes>(t);
        timestamp const reset = window + std::chrono::minutes(1);
        std::lock_guard g(mutex_);
        if (window != window_) { // a new minute: every counter starts over
            counts_.clear();
            window_ = window;
        }
        auto& n = counts_[std::string(key)];
        rate_decision d;
        d.limit = per_minute_;
        d.reset = reset;
        if (n >= per_minute_) {
            d.allowed = false;
            d.remaining = 0;
            d.retry_after = static_cast<std::uint64_t>(std::max<std::int64_t>(1, (reset - t).count()));
            return d;
        }
        ++n;
        d.remaining = per_minute_ - n;
        return d;
    }

private:
    std::uint64_t per_minute_;
    std::function<timestamp()> clock_;
    std::mutex mutex_;
    std::chrono::sys_time<std::chrono::minutes> window_{};
    std::unordered_map<std::string, std::uint64_t> counts_;
};

} // namespace persona::protocol

#endif
