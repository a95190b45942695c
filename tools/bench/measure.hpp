// Measurement helpers shared by the benchmarks: wall time, CPU time and peak RSS of this process.
#pragma once

#include <chrono>
#include <string>

#include <sys/resource.h>

namespace twinlink::bench {

struct Usage {
    double cpu_seconds;
    long peak_rss_kb;
};

inline Usage usage() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return {seconds(ru.ru_utime) + seconds(ru.ru_stime), ru.ru_maxrss};
}

class Stopwatch {
public:
    Stopwatch() : start_(std::chrono::steady_clock::now()), cpu_start_(usage().cpu_seconds) {}
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
    double cpu_seconds() const { return usage().cpu_seconds - cpu_start_; }

private:
    std::chrono::steady_clock::time_point start_;
    double cpu_start_;
};

}  // namespace twinlink::bench
