#include "common/logger.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace twinlink::detail {
namespace {

bool level_from_env(LogLevel& out) {
    const char* v = std::getenv("TWINLINK_LOG");
    if (!v) return false;
    const struct { const char* name; LogLevel level; } names[] = {
        {"error", LogLevel::Error}, {"warning", LogLevel::Warning},
        {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
    for (const auto& n : names) {
        if (std::strcmp(v, n.name) == 0) {
            out = n.level;
            return true;
        }
    }
    return false;
}

}  // namespace

Logger::Logger(LogHandler handler, LogLevel level) : sink_(std::move(handler)), level_(level) {
    if (sink_) return;
    LogLevel env_level;
    if (level_from_env(env_level)) {
        level_ = env_level;
        sink_ = [](LogLevel l, const std::string& m) {
            std::fprintf(stderr, "twinlink %s: %s\n", log_level_name(l), m.c_str());
        };
    }
}

void Logger::log(LogLevel level, const std::string& message) const {
    if (!enabled(level)) return;
    try {
        sink_(level, message);
    } catch (...) {
        // A throwing log sink must not take down the thread that logged.
    }
}

}  // namespace twinlink::detail
