#include "twinlink/runtime.hpp"

#include <string>

#include "common/runtime_impl.hpp"
#include "twinlink/status.hpp"

namespace twinlink {

namespace {

constexpr unsigned kMaxDispatchThreads = 256;

const RuntimeOptions& validated(const RuntimeOptions& o) {
    if (o.dispatch_threads < 1 || o.dispatch_threads > kMaxDispatchThreads)
        throw Error(Status::InvalidArgument, "a runtime needs 1 to " + std::to_string(kMaxDispatchThreads) +
                                                 " dispatch threads, not " + std::to_string(o.dispatch_threads));
    return o;
}

}  // namespace

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_shared<Impl>(validated(options))) {}

// The pool and the timer queue end when the last holder lets go: clients hold them too while they
// shut down.
Runtime::~Runtime() = default;

RuntimeStats Runtime::stats() const {
    RuntimeStats s;
    s.dispatch_threads = impl_->pool->threads();
    s.clients = impl_->clients.load();
    s.queued_callbacks = impl_->pool->queued();
    s.timers = impl_->timers->pending();
    return s;
}

}  // namespace twinlink
