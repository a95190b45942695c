// twinlink/log.hpp — log levels and the log sink type.
#pragma once

#include <functional>
#include <string>

namespace twinlink {

/// Levels in increasing verbosity; the numeric values are those of the C ABI's tl_log_level.
enum class LogLevel : int { Error = 0, Warning = 1, Info = 2, Debug = 3 };

const char* log_level_name(LogLevel level) noexcept;

/// Receives one finished log line. Called on a thread of twinlink's (the connection thread, the
/// dispatcher) or on a caller's thread inside a twinlink call, never on one of Paho's threads
/// (lines produced there are queued and written by the client's dispatcher) and never while
/// twinlink holds an internal lock, so it may call back into twinlink and take locks of its own.
/// A client writes its lines one at a time, in the order they were produced; the handler must
/// still be thread-safe, since several clients may share it.
using LogHandler = std::function<void(LogLevel level, const std::string& message)>;

}  // namespace twinlink
