#include "handle.hpp"

#include <deque>
#include <thread>
#include <utility>

#include "errors.hpp"

namespace twinlink_py {
namespace {

thread_local int callback_depth = 0;

// The thread that frees handles Python dropped without closing them, and runs deferred closes, in
// the order they were queued (so a shadow is freed before the client it was made on).
class ReleaseThread {
public:
    void run(std::function<void()> job) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopped_) return;  // after shutdown_handles(): the process is ending, the memory goes with it
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
        jobs_.push_back(std::move(job));
        ++queued_;
        wake_.notify_all();
    }

    // Waits until every job queued before the call has run.
    void drain() {
        std::unique_lock<std::mutex> lock(mutex_);
        if (std::this_thread::get_id() == thread_.get_id()) return;
        const uint64_t ticket = queued_;
        done_cv_.wait(lock, [&] { return done_ >= ticket || !thread_.joinable(); });
    }

    bool is_current() const { return std::this_thread::get_id() == thread_id_.load(); }

    void stop() {
        std::thread thread;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            wake_.notify_all();
            thread = std::move(thread_);
        }
        if (thread.joinable()) thread.join();
        std::lock_guard<std::mutex> lock(mutex_);
        stopped_ = true;
        done_cv_.notify_all();
    }

private:
    void loop() {
        thread_id_.store(std::this_thread::get_id());
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, and everything queued has run
            auto job = std::move(jobs_.front());
            jobs_.pop_front();
            lock.unlock();
            job();
            job = nullptr;  // what it captured goes before the job counts as done
            lock.lock();
            ++done_;
            done_cv_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_cv_;
    std::deque<std::function<void()>> jobs_;
    uint64_t queued_ = 0;
    uint64_t done_ = 0;
    bool stopping_ = false;
    bool stopped_ = false;
    std::thread thread_;
    std::atomic<std::thread::id> thread_id_{};
};

// Leaked on purpose: handles may be destroyed during interpreter finalization, after static
// destructors would have run.
ReleaseThread& release_thread() {
    static auto* instance = new ReleaseThread();
    return *instance;
}

// Every handle ever made and still alive, for shutdown_handles().
struct Registry {
    std::mutex mutex;
    std::vector<std::weak_ptr<Handle>> handles;
    size_t prune_at = 64;
};

Registry& registry() {
    static auto* instance = new Registry();
    return *instance;
}

}  // namespace

void register_handle(const std::shared_ptr<Handle>& handle) {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.handles.size() >= r.prune_at) {
        std::vector<std::weak_ptr<Handle>> alive;
        for (auto& weak : r.handles)
            if (!weak.expired()) alive.push_back(std::move(weak));
        r.handles = std::move(alive);
        r.prune_at = std::max<size_t>(64, r.handles.size() * 2);
    }
    r.handles.push_back(handle);
}

Handle::Handle(const char* what, std::shared_ptr<Handle> parent) : what_(what), parent_(std::move(parent)) {}

Handle::~Handle() {
    std::function<void()> release;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!released_) {
            released_ = true;
            release = std::move(release_);
        }
    }
    if (release) run_on_release_thread(std::move(release));
}

void Handle::set_release(std::function<void()> release) {
    std::lock_guard<std::mutex> lock(mutex_);
    release_ = std::move(release);
}

void Handle::adopt(const std::shared_ptr<Handle>& child) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Drop the children that are gone, so a long-lived client that made many shadows stays small.
    std::vector<std::weak_ptr<Handle>> alive;
    for (auto& weak : children_)
        if (!weak.expired()) alive.push_back(std::move(weak));
    alive.push_back(child);
    children_ = std::move(alive);
}

bool Handle::enter() {
    users_.fetch_add(1);
    if (closed_.load()) {
        leave();
        return false;
    }
    return true;
}

void Handle::leave() {
    if (users_.fetch_sub(1) == 1 && closed_.load()) {
        std::lock_guard<std::mutex> lock(mutex_);
        idle_.notify_all();
    }
}

Handle::Use::Use(Handle& handle) : handle_(handle) {
    if (!handle_.enter()) raise_status(kStatusInvalidState, std::string("the ") + handle_.what() + " is closed");
}

Handle::Use::~Use() { handle_.leave(); }

void Handle::close() {
    closed_.store(true);
    if (in_twinlink_callback()) {
        // Freeing a handle from its own callback is not allowed (and waiting there for calls in
        // progress could wait for this very callback): the release thread does it.
        run_on_release_thread([self = shared_from_this()] { self->close_now(); });
        return;
    }
    close_now();
}

bool Handle::close_now(std::optional<std::chrono::steady_clock::time_point> deadline) {
    closed_.store(true);
    std::vector<std::shared_ptr<Handle>> children;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto idle = [&] { return users_.load() == 0; };
        if (deadline) {
            if (!idle_.wait_until(lock, *deadline, idle)) return false;
        } else {
            idle_.wait(lock, idle);
        }
        for (auto& weak : children_)
            if (auto child = weak.lock()) children.push_back(std::move(child));
        children_.clear();
    }
    bool children_freed = true;
    for (auto& child : children) children_freed = child->close_now(deadline) && children_freed;
    children.clear();
    if (!children_freed) return false;
    // Children that Python dropped earlier may still wait on the release thread: they go first.
    if (!release_thread().is_current()) release_thread().drain();
    std::function<void()> release;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (released_) return true;
        released_ = true;
        release = std::move(release_);
    }
    if (release) release();
    return true;
}

void run_on_release_thread(std::function<void()> job) { release_thread().run(std::move(job)); }

void shutdown_handles() {
    std::vector<std::shared_ptr<Handle>> handles;
    {
        auto& r = registry();
        std::lock_guard<std::mutex> lock(r.mutex);
        for (auto& weak : r.handles)
            if (auto handle = weak.lock()) handles.push_back(std::move(handle));
        r.handles.clear();
    }
    // Calls still in progress (a daemon thread waiting in connect(), say) are not waited for long:
    // their handles are left to the process's exit.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (auto& handle : handles) handle->close_now(deadline);
    release_thread().drain();
    release_thread().stop();
    // The last references may be dropped here, with the release thread gone: nothing left to free.
    handles.clear();
}

bool in_twinlink_callback() { return callback_depth > 0; }

CallbackScope::CallbackScope() { ++callback_depth; }
CallbackScope::~CallbackScope() { --callback_depth; }

}  // namespace twinlink_py
