// WallClock: the time of day in ms since the Unix epoch, as std::chrono::system_clock gives it,
// cheap enough to take once per recorded datapoint.
//
// Reading the system clock costs 20 to 50 ns (clock_gettime through the vDSO, more under a
// hypervisor); that was the largest single cost of record(). WallClock reads the CPU's counter
// instead (x86-64: the TSC, only when it is the kernel's own clocksource; arm64: CNTVCT_EL0) and
// converts it with a rate measured against CLOCK_MONOTONIC. It re-anchors to CLOCK_REALTIME at
// least every kAnchorInterval, so a clock that is stepped (NTP, `date -s`, forwards or backwards)
// is followed within that time, and between anchors it is off by the rate's error only (well below
// a millisecond). A machine that suspends with a counter that stops may see timestamps behind by
// the time suspended for up to kAnchorIntervalNs after it resumes. Where the counter cannot be
// used it reads the system clock every time.
//
// Not thread-safe: its owner serialises the calls (the recorder calls it under its mutex).
#pragma once

#include <time.h>

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace twinlink::detail {

class WallClock {
public:
    /// How long the converted counter is trusted before the next reading of the system clock.
    static constexpr std::int64_t kAnchorIntervalNs = 50'000'000;
    /// The shortest span over which the counter's rate is measured before it is used (a first
    /// rate good to about 0.1 %, refined at every anchor; the error it can add before the next
    /// anchor stays far below a millisecond).
    static constexpr std::int64_t kCalibrationNs = 2'000'000;

    /// `use_counter` false: always the system clock (tests compare the two).
    explicit WallClock(bool use_counter = counter_available());

    /// Milliseconds since the Unix epoch.
    std::int64_t now_ms() noexcept {
        if (rate_known_) {
            const std::uint64_t since = read_counter() - anchor_counter_;
            if (since < anchor_ticks_) {
                const std::int64_t ns = anchor_ns_ + static_cast<std::int64_t>(static_cast<double>(since) * ns_per_tick_);
                if (ns >= 0) return ns / 1'000'000;
            }
        }
        return anchor();
    }

    /// Whether this machine's counter can stand in for the system clock.
    static bool counter_available() noexcept;
    /// The counter this class reads (0 where none is used).
    static std::uint64_t read_counter() noexcept {
#if defined(__x86_64__)
        return __rdtsc();
#elif defined(__aarch64__)
        std::uint64_t v;
        asm volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
        return v;
#else
        return 0;
#endif
    }

private:
    struct Pair {
        std::uint64_t counter;
        std::int64_t ns;
    };
    static Pair read_pair(clockid_t id, int tries) noexcept;
    std::int64_t anchor() noexcept;

    bool use_counter_;
    bool rate_known_ = false;
    double ns_per_tick_ = 0;
    std::uint64_t anchor_ticks_ = 0;     // kAnchorIntervalNs in counter ticks
    std::uint64_t anchor_counter_ = 0;   // the counter at the last anchor
    std::int64_t anchor_ns_ = 0;         // CLOCK_REALTIME at the last anchor
    bool calibrating_ = false;
    std::uint64_t first_counter_ = 0;    // the counter and CLOCK_MONOTONIC when calibration began
    std::int64_t first_mono_ns_ = 0;
    std::uint64_t last_check_ = 0;       // the counter when CLOCK_MONOTONIC was last read
    // While calibrating: how far the counter moves between readings of CLOCK_MONOTONIC (about 0.1 ms
    // of a 3 GHz counter, 11 ms of a 24 MHz one).
    static constexpr std::uint64_t kCheckTicks = 1u << 18;
};

}  // namespace twinlink::detail
