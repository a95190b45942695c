// blocking.hpp — calls that wait (connect, shadow requests, flush, subscribe, ...) run without the
// GIL, and on the main thread they stay interruptible: the call runs on a helper thread while the
// main thread waits in slices of 100 ms and runs Python's signal handlers in between, so Ctrl-C
// raises KeyboardInterrupt at once. The interrupted call then completes in the background, as
// after a timeout; everything it uses is captured by value (a Handle::Use among it, so closing the
// handle waits for it).
#pragma once

#include <functional>
#include <string>

#include "errors.hpp"

namespace twinlink_py {

struct Outcome {
    tl_status status = TL_OK;
    std::string error;  // tl_last_error() of the thread that made the call, when it failed

    void check() const {
        if (status != TL_OK) raise_status(status, error);
    }
};

// Runs `call` without the GIL and returns its status (see above). Called with the GIL held.
Outcome run_blocking(std::function<tl_status()> call);

// Remembers which thread is Python's main thread. Called once when the module loads.
void init_blocking();

}  // namespace twinlink_py
