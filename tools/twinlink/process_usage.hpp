// What the running process uses, as the kernel counts it: resident memory, threads and CPU time.
// For commands that report their own cost (`twinlink simulate`).
#pragma once

#include <cstdint>

namespace twinlink::cli {

struct ProcessUsage {
    std::uint64_t rss_kib = 0;       ///< VmRSS of /proc/self/status
    std::uint64_t peak_rss_kib = 0;  ///< VmHWM: the largest RSS so far
    std::uint64_t threads = 0;       ///< Threads of /proc/self/status
    double cpu_ms = 0;               ///< user + system time of every thread (getrusage RUSAGE_SELF)
};

/// The figures now. A figure the system does not give stays 0.
ProcessUsage process_usage();

}  // namespace twinlink::cli
