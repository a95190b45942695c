#include "process_usage.hpp"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace twinlink::cli {

namespace {

// "VmRSS:     9228 kB" -> 9228.
std::uint64_t number_after(const std::string& line, std::size_t from) {
    std::uint64_t n = 0;
    for (std::size_t i = from; i < line.size(); ++i) {
        const char c = line[i];
        if (c >= '0' && c <= '9') n = n * 10 + static_cast<std::uint64_t>(c - '0');
        else if (n > 0) break;
    }
    return n;
}

}  // namespace

ProcessUsage process_usage() {
    ProcessUsage u;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = number_after(line, 6);
        else if (line.rfind("VmHWM:", 0) == 0) u.peak_rss_kib = number_after(line, 6);
        else if (line.rfind("Threads:", 0) == 0) u.threads = number_after(line, 8);
    }
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
        const auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
        u.cpu_ms = ms(ru.ru_utime) + ms(ru.ru_stime);
    }
    return u;
}

}  // namespace twinlink::cli
