#include "common/wall_clock.hpp"

#include <time.h>

#include <cstdio>
#include <cstring>

namespace twinlink::detail {
namespace {

std::int64_t read_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t floor_ms(std::int64_t ns) noexcept {
    return ns >= 0 ? ns / 1'000'000 : -((-ns + 999'999) / 1'000'000);
}

#if defined(__x86_64__)
// The TSC stands in for the system clock only where the kernel itself trusts it for that: when it is
// the current clocksource, the kernel has checked that it is invariant and synchronised across CPUs.
bool kernel_uses_tsc() noexcept {
    std::FILE* f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f) return false;
    char name[32] = {};
    const bool read = std::fgets(name, sizeof name, f) != nullptr;
    std::fclose(f);
    return read && std::strcmp(name, "tsc\n") == 0;
}
#endif

}  // namespace

bool WallClock::counter_available() noexcept {
#if defined(__x86_64__)
    static const bool available = kernel_uses_tsc();
    return available;
#elif defined(__aarch64__)
    return true;  // the generic timer's virtual count, which the kernel's vDSO reads too
#else
    return false;
#endif
}

WallClock::WallClock(bool use_counter) : use_counter_(use_counter && counter_available()) {}

// A reading of clock `id` paired with the counter at the same moment: the counter is read before and
// after it, and of `tries` readings the one with the narrowest bracket is kept, so that a thread
// interrupted between the reads does not skew the pair.
WallClock::Pair WallClock::read_pair(clockid_t id, int tries) noexcept {
    Pair best{};
    std::uint64_t narrowest = UINT64_MAX;
    for (int i = 0; i < tries; ++i) {
        const std::uint64_t before = read_counter();
        const std::int64_t ns = read_ns(id);
        const std::uint64_t after = read_counter();
        if (after >= before && after - before < narrowest) {
            narrowest = after - before;
            best = Pair{before + (after - before) / 2, ns};
        }
    }
    return best;
}

// Reads the system clock, and with it anchors the counter. The first anchor starts the rate's
// calibration against CLOCK_MONOTONIC (which steps of the time of day do not move); until the rate
// is known every call comes here, so CLOCK_MONOTONIC is read only every kCheckTicks of the counter,
// and the rate is set by the first reading kCalibrationNs or more after the start. Every later
// anchor measures it again over the whole span since the start, so it only gets more exact.
std::int64_t WallClock::anchor() noexcept {
    if (!use_counter_) return floor_ms(read_ns(CLOCK_REALTIME));
    // While calibrating, one quick reading (this runs on every call then); at a real anchor, the best of three.
    const Pair wall = read_pair(CLOCK_REALTIME, rate_known_ ? 3 : 1);
    if (!calibrating_ || wall.counter < first_counter_) {
        const Pair mono = read_pair(CLOCK_MONOTONIC, 3);
        calibrating_ = true;
        rate_known_ = false;
        first_counter_ = last_check_ = mono.counter;
        first_mono_ns_ = mono.ns;
    } else if (rate_known_ || wall.counter - last_check_ >= kCheckTicks) {
        const Pair mono = read_pair(CLOCK_MONOTONIC, 3);
        last_check_ = mono.counter;
        if (mono.ns - first_mono_ns_ >= kCalibrationNs && mono.counter > first_counter_) {
            ns_per_tick_ = static_cast<double>(mono.ns - first_mono_ns_) / static_cast<double>(mono.counter - first_counter_);
            anchor_ticks_ = static_cast<std::uint64_t>(static_cast<double>(kAnchorIntervalNs) / ns_per_tick_);
            rate_known_ = anchor_ticks_ > 0;
        }
    }
    anchor_counter_ = wall.counter;
    anchor_ns_ = wall.ns;
    return floor_ms(wall.ns);
}

}  // namespace twinlink::detail
