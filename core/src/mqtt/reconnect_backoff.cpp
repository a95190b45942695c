#include "mqtt/reconnect_backoff.hpp"

#include <algorithm>

namespace twinlink::detail {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(min), max_(std::max(min, max)), rng_(std::random_device{}()) {}

std::chrono::milliseconds ReconnectBackoff::next() {
    long long ceiling = min_.count();
    for (unsigned i = 0; i < attempt_ && ceiling < max_.count(); ++i) ceiling *= 2;
    ceiling = std::min<long long>(ceiling, max_.count());
    if (attempt_ < 64) ++attempt_;
    std::uniform_int_distribution<long long> pick(min_.count(), ceiling);
    return std::chrono::milliseconds(pick(rng_));
}

}  // namespace twinlink::detail
