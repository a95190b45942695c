#include "twinlink/uuid7.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace twinlink {
namespace {

// The 42 bits after the version and variant bits (rand_a and the top of rand_b) form a counter.
// It starts at a random value below 2^41 in each new millisecond, which leaves at least 2^41
// increments before it could overflow into the timestamp.
constexpr int kCounterBits = 42;
constexpr std::uint64_t kCounterMax = (std::uint64_t{1} << kCounterBits) - 1;
constexpr std::uint64_t kCounterSeedMask = (std::uint64_t{1} << (kCounterBits - 1)) - 1;

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

class Generator {
public:
    std::string next() {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        const auto now_ms = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now).count());

        std::lock_guard<std::mutex> lock(mutex_);
        const std::uint64_t random = random64();
        if (now_ms > last_ms_) {
            last_ms_ = now_ms;
            counter_ = random & kCounterSeedMask;
        } else if (counter_ < kCounterMax) {
            // Same millisecond, or the clock stepped back: stay on the last timestamp so the ids
            // keep increasing.
            ++counter_;
        } else {
            ++last_ms_;  // RFC 9562 6.2: on counter overflow, borrow from the next millisecond
            counter_ = random & kCounterSeedMask;
        }
        return format(last_ms_, counter_, static_cast<std::uint32_t>(random >> 32));
    }

private:
    std::uint64_t random64() {
        std::uint64_t value;
        for (;;) {
            const ssize_t n = getrandom(&value, sizeof value, GRND_NONBLOCK);
            if (n == static_cast<ssize_t>(sizeof value)) return value;
            if (n < 0 && errno == EINTR) continue;
            break;  // EAGAIN: the pool is not initialised yet (early boot); ENOSYS: old kernel
        }
        const auto pid = static_cast<std::uint64_t>(getpid());
        if (!fallback_seeded_ || pid != fallback_pid_) {
            fallback_pid_ = pid;
            fallback_state_ ^= static_cast<std::uint64_t>(
                                   std::chrono::steady_clock::now().time_since_epoch().count()) ^
                               (pid << 32) ^ reinterpret_cast<std::uintptr_t>(this);
            fallback_seeded_ = true;
        }
        return splitmix64(fallback_state_);
    }

    static std::string format(std::uint64_t ms, std::uint64_t counter, std::uint32_t tail) {
        unsigned char b[16];
        for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
        b[6] = static_cast<unsigned char>(0x70 | ((counter >> 38) & 0x0F));  // version 7
        b[7] = static_cast<unsigned char>(counter >> 30);
        b[8] = static_cast<unsigned char>(0x80 | ((counter >> 24) & 0x3F));  // variant 0b10
        b[9] = static_cast<unsigned char>(counter >> 16);
        b[10] = static_cast<unsigned char>(counter >> 8);
        b[11] = static_cast<unsigned char>(counter);
        for (int i = 0; i < 4; ++i) b[12 + i] = static_cast<unsigned char>(tail >> (24 - 8 * i));

        static const char hex[] = "0123456789abcdef";
        std::string out;
        out.reserve(36);
        for (int i = 0; i < 16; ++i) {
            if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
            out += hex[b[i] >> 4];
            out += hex[b[i] & 0x0F];
        }
        return out;
    }

    std::mutex mutex_;
    std::uint64_t last_ms_ = 0;
    std::uint64_t counter_ = 0;
    bool fallback_seeded_ = false;
    std::uint64_t fallback_pid_ = 0;
    std::uint64_t fallback_state_ = 0;
};

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string uuid7() {
    static Generator generator;
    return generator.next();
}

bool is_uuid(std::string_view text) noexcept {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
    }
    return true;
}

}  // namespace twinlink
