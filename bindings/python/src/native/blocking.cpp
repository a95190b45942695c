#include "blocking.hpp"
#include "gil.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <pythread.h>

namespace twinlink_py {
namespace {

unsigned long main_thread_ident = 0;

constexpr auto kSignalCheckInterval = std::chrono::milliseconds(100);

Outcome call_here(const std::function<tl_status()>& call) {
    Outcome outcome;
    outcome.status = call();
    if (outcome.status != TL_OK) outcome.error = tl_last_error();
    return outcome;
}

}  // namespace

Outcome run_blocking(std::function<tl_status()> call) {
    if (PyThread_get_thread_ident() != main_thread_ident) {
        // Only the main thread receives signals: elsewhere there is nothing to interrupt.
        GilRelease nogil;
        return call_here(call);
    }

    struct State {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        Outcome outcome;
        std::function<tl_status()> call;
    };
    auto state = std::make_shared<State>();
    state->call = std::move(call);
    std::thread([state] {
        Outcome outcome = call_here(state->call);
        state->call = nullptr;  // releases what the call captured before the caller continues
        std::lock_guard<std::mutex> lock(state->mutex);
        state->outcome = std::move(outcome);
        state->done = true;
        state->done_cv.notify_all();
    }).detach();

    for (;;) {
        bool done;
        {
            GilRelease nogil;
            std::unique_lock<std::mutex> lock(state->mutex);
            done = state->done_cv.wait_for(lock, kSignalCheckInterval, [&] { return state->done; });
        }
        if (done) break;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    return state->outcome;
}

void init_blocking() {
    main_thread_ident = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
}

}  // namespace twinlink_py
