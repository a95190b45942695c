// RateLimiter: a token bucket allowing `rate` events per second with a burst of one second's worth.
#pragma once

#include <algorithm>
#include <chrono>

namespace twinlink::detail {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    /// rate <= 0: unlimited.
    explicit RateLimiter(double rate) : rate_(rate), tokens_(std::max(1.0, rate)), last_(Clock::now()) {}

    bool try_take(Clock::time_point now) {
        if (rate_ <= 0) return true;
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }
    /// When the next token is available (now, if one is).
    Clock::time_point next_available(Clock::time_point now) {
        if (rate_ <= 0) return now;
        refill(now);
        if (tokens_ >= 1.0) return now;
        return now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>((1.0 - tokens_) / rate_));
    }

private:
    void refill(Clock::time_point now) {
        tokens_ = std::min(std::max(1.0, rate_), tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
        last_ = now;
    }
    double rate_;
    double tokens_;
    Clock::time_point last_;
};

}  // namespace twinlink::detail
