// twinlink/log.hpp — log levels and the log sink type.
#pragma once

#include <functional>
#include <string>

namespace twinlink {

/// Levels in increasing verbosity; the numeric values are those of the C ABI's tl_log_level.
enum class LogLevel : int { Error = 0, Warning = 1, Info = 2, Debug = 3 };

const char* log_level_name(LogLevel level) noexcept;

/// Receives one finished log line. Called on whichever twinlink thread produced the line
/// (a caller's thread, the connection thread or the dispatcher), never while twinlink holds
/// an internal lock, so it may call back into twinlink. It must be thread-safe.
using LogHandler = std::function<void(LogLevel level, const std::string& message)>;

}  // namespace twinlink
