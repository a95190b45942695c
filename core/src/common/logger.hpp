// Logger: level filter in front of a LogHandler, with the TWINLINK_LOG=level fallback to stderr.
#pragma once

#include <string>

#include "twinlink/log.hpp"

namespace twinlink::detail {

class Logger {
public:
    Logger() = default;
    /// An empty handler means: stderr when TWINLINK_LOG names a level, else silent.
    Logger(LogHandler handler, LogLevel level);

    bool enabled(LogLevel level) const noexcept { return sink_ && level <= level_; }
    /// Never call while holding an internal lock: the handler may call back into twinlink.
    void log(LogLevel level, const std::string& message) const;

    void error(const std::string& m) const { log(LogLevel::Error, m); }
    void warning(const std::string& m) const { log(LogLevel::Warning, m); }
    void info(const std::string& m) const { log(LogLevel::Info, m); }
    void debug(const std::string& m) const { log(LogLevel::Debug, m); }

private:
    LogHandler sink_;
    LogLevel level_ = LogLevel::Info;
};

}  // namespace twinlink::detail
