// Logger: level filter in front of a LogHandler, with the TWINLINK_LOG=level fallback to stderr.
//
// The sink is user code, and user code never runs on a thread of Paho's: Paho holds its own lock
// while it calls us, so a sink that waits for anything (a binding's interpreter lock, a lock that
// the caller of publish() holds) would deadlock against a thread entering Paho. A line logged on a
// thread inside a NetworkCallbackScope is therefore only queued, and the owner's deferral (the
// client's dispatcher) writes it soon after. Every line goes through the same queue, so lines are
// written one at a time and in the order they were logged; a line logged on one of our threads
// while nobody is writing is written at once, on that thread, after any line queued before it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "twinlink/log.hpp"

namespace twinlink::detail {

/// Marks the current thread, for the lifetime of the object, as one that runs a callback of
/// Paho's (a thread twinlink does not own). Entered first thing by every callback given to Paho.
class NetworkCallbackScope {
public:
    NetworkCallbackScope() noexcept;
    ~NetworkCallbackScope();
    NetworkCallbackScope(const NetworkCallbackScope&) = delete;
    NetworkCallbackScope& operator=(const NetworkCallbackScope&) = delete;
};

/// True inside a NetworkCallbackScope: no user code may run on this thread now.
bool on_network_thread() noexcept;

class Logger {
public:
    /// Runs `write` later on a thread of ours; must not run it on the calling thread.
    using Deferral = std::function<void(std::function<void()> write)>;

    Logger();
    /// An empty handler means: stderr when TWINLINK_LOG names a level, else silent.
    Logger(LogHandler handler, LogLevel level);

    bool enabled(LogLevel level) const noexcept;
    /// Writes the line, or queues it (see above). Never call while holding an internal lock: the
    /// handler may call back into twinlink. Copies of a Logger share its queue and sink.
    void log(LogLevel level, const std::string& message) const;

    /// Where lines logged on a network thread are handed for writing. Without one they wait for
    /// the next line logged elsewhere, or for flush().
    void set_deferral(Deferral deferral);

    /// Writes the queued lines on this thread, unless it is a network thread or another thread is
    /// writing them already. For the end of the owner's life, when no deferral runs any more.
    void flush() const;

    void error(const std::string& m) const { log(LogLevel::Error, m); }
    void warning(const std::string& m) const { log(LogLevel::Warning, m); }
    void info(const std::string& m) const { log(LogLevel::Info, m); }
    void debug(const std::string& m) const { log(LogLevel::Debug, m); }

private:
    struct State;
    static void write_queued(State& state);

    std::shared_ptr<State> state_;
};

}  // namespace twinlink::detail
