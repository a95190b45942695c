// ReconnectBackoff: exponential backoff with full jitter between a floor and a ceiling.
#pragma once

#include <chrono>
#include <random>

namespace twinlink::detail {

class ReconnectBackoff {
public:
    ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max);

    /// The delay before the next attempt: uniform in [min, min(max, min * 2^n)] where n counts
    /// the delays given since reset(). Randomised so a fleet that lost its broker together does
    /// not come back in lock step.
    std::chrono::milliseconds next();
    void reset() noexcept { attempt_ = 0; }
    unsigned attempt() const noexcept { return attempt_; }

private:
    std::chrono::milliseconds min_, max_;
    unsigned attempt_ = 0;
    std::minstd_rand rng_;
};

}  // namespace twinlink::detail
