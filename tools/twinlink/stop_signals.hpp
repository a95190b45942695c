// SIGINT and SIGTERM as something a command waits for, instead of handlers that run anywhere.
#pragma once

#include <signal.h>

#include <chrono>

namespace twinlink::cli {

/// Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it starts afterwards:
/// create it first thing in a command, before any Client. wait() then receives them. The
/// previous signal mask is restored on destruction.
class StopSignals {
public:
    StopSignals();
    ~StopSignals();
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    /// Waits up to `timeout` for SIGINT or SIGTERM. Returns the signal number, or 0 when the time
    /// passed first.
    int wait(std::chrono::milliseconds timeout);

private:
    sigset_t old_mask_;
};

}  // namespace twinlink::cli
