// handle.hpp — the lifetime of the C handles behind the Python objects.
//
// Every native object (Client, Shadow, Datapoints, Device) is a Handle. A Handle frees its C handle
// exactly once: at close(), or, when Python drops the last reference without closing, on the
// release thread (never on the thread that runs the garbage collector, which may be a twinlink
// dispatcher thread inside a callback). Calls hold a Handle::Use while they run; close() marks the
// handle closed, waits for the calls in progress, closes the handle's children (a shadow before its
// client, the borrowed handles of a device before the device), then frees it. A child keeps its
// parent's memory alive, so a borrowed shadow outlives the Python Device object that made it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace twinlink_py {

class Handle : public std::enable_shared_from_this<Handle> {
public:
    // `what` names the handle in errors ("the client is closed").
    Handle(const char* what, std::shared_ptr<Handle> parent);
    virtual ~Handle();
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;

    // Proof that a call may use the C handle: while one exists, close() waits.
    class Use {
    public:
        explicit Use(Handle& handle);  // raises twinlink.InvalidState when the handle is closed
        ~Use();
        Use(const Use&) = delete;
        Use& operator=(const Use&) = delete;

    private:
        Handle& handle_;
    };

    // Use without raising: false when the handle is closed. For threads that hold no GIL.
    class Attempt {
    public:
        explicit Attempt(Handle& handle) : handle_(handle), entered_(handle.enter()) {}
        ~Attempt() {
            if (entered_) handle_.leave();
        }
        Attempt(const Attempt&) = delete;
        Attempt& operator=(const Attempt&) = delete;
        explicit operator bool() const { return entered_; }

    private:
        Handle& handle_;
        bool entered_;
    };

    // Closes the children, waits for the calls in progress and frees the C handle. From a
    // twinlink callback it only marks the handle closed and leaves the rest to the release thread.
    // Idempotent. Call without the GIL.
    void close();
    bool closed() const { return closed_.load(); }
    const char* what() const { return what_; }

    // `child` is closed before this handle is freed.
    void adopt(const std::shared_ptr<Handle>& child);

protected:
    // Set by the subclass's constructor once the C handle exists: frees it (or does nothing for a
    // borrowed handle).
    void set_release(std::function<void()> release);

private:
    // Closes and frees, waiting for the calls in progress until `deadline` at most (none: as long
    // as they take). False when one was still in progress: the handle is left as it is (closed,
    // not freed), and so is its parent.
    bool close_now(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
    friend void shutdown_handles();
    bool enter();
    void leave();

    const char* what_;
    std::shared_ptr<Handle> parent_;
    std::atomic<int> users_{0};
    std::atomic<bool> closed_{false};
    std::mutex mutex_;
    std::condition_variable idle_;
    bool released_ = false;  // guarded by mutex_
    std::function<void()> release_;
    std::vector<std::weak_ptr<Handle>> children_;  // guarded by mutex_
};

// Makes a handle and records it for shutdown_handles().
void register_handle(const std::shared_ptr<Handle>& handle);

template <class T, class... Args>
std::shared_ptr<T> make_handle(Args&&... args) {
    auto handle = std::make_shared<T>(std::forward<Args>(args)...);
    register_handle(handle);
    return handle;
}

// Runs `job` on the release thread, after every job queued before it. Never blocks.
void run_on_release_thread(std::function<void()> job);

// At interpreter exit (atexit, before finalization): closes every handle still open, runs the
// queued releases and stops the release thread. Later releases are skipped: the process is ending.
// Call without the GIL.
void shutdown_handles();

// True while this thread runs a callback that twinlink called (set by CallbackScope).
bool in_twinlink_callback();

class CallbackScope {
public:
    CallbackScope();
    ~CallbackScope();
    CallbackScope(const CallbackScope&) = delete;
    CallbackScope& operator=(const CallbackScope&) = delete;
};

}  // namespace twinlink_py
