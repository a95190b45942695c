// twinlink/runtime.hpp — threads shared by many devices (or clients) in one process.
//
// Without a runtime every Client owns its threads: a dispatcher thread for its callbacks, a timer
// thread for the deadlines of its asynchronous operations, and a thread for its connection loop.
// A process that runs hundreds of devices (a gateway, a fleet simulator) pays for them a hundred
// times. A Runtime owns a fixed set instead, which every client created with it shares:
//
//   - dispatch: `dispatch_threads` threads run the callbacks of all its clients. Each client keeps
//     its own serial queue on them: its callbacks run one at a time and in order, as on its own
//     dispatcher thread, while the callbacks of different clients run in parallel. A slow callback
//     holds one dispatch thread and delays only the later callbacks of its own client. (With as
//     many clients blocked in callbacks as there are dispatch threads, the others wait.)
//   - network: two threads run the library's own work for all its clients, never user code:
//     each client's connection loop (connect, resubscribe, hand-off of queued messages,
//     acknowledgement deadlines, reconnect with backoff), and the background work of its shadows
//     (queued updates, resends, file writes) and datapoint pipelines (the batcher). Each runs one
//     pass at a time and never waits for the network: Paho's answers and its own deadlines wake
//     it. So connects are concurrent (a client's connect never waits for another's), callbacks
//     that block every dispatch thread delay no client's traffic, and a callback may wait in a
//     blocking call (disconnect(), Datapoints::flush(), Shadow::report()).
//   - timers: one thread for the deadlines of all its clients: their asynchronous operations
//     (connect_async, publish_async, shadow requests, datapoint flushes...) and the next wake of
//     their connection loops, shadows and pipelines.
//
// So a device on a runtime adds no thread. Paho adds one send and one receive thread for the
// whole process.
//
// Lifetime. The runtime is reference counted: ClientOptions::runtime (and DeviceOptions::client)
// holds a std::shared_ptr, so the runtime lives until the last client using it is destroyed, in
// whatever order the application drops its references. Its threads end then; if the last reference
// goes on one of the runtime's own threads (a client destroyed from its own callback), that thread
// is detached and ends after the callback returns.
//
//   auto rt = std::make_shared<twinlink::Runtime>(twinlink::RuntimeOptions{4});
//   twinlink::DeviceOptions o;
//   o.client.brokers = {"mqtt://broker:1883"};
//   o.client.runtime = rt;
//   twinlink::Device a("sensor-1", o), b("sensor-2", o);
//
// Thread-safe: a Runtime may be shared by clients used from any thread.
#pragma once

#include <cstddef>
#include <memory>

namespace twinlink {

struct RuntimeOptions {
    /// Threads that run the callbacks of every client of the runtime; 1 to 256.
    unsigned dispatch_threads = 2;
};

struct RuntimeStats {
    unsigned dispatch_threads = 0;
    std::size_t clients = 0;         ///< clients (devices) using the runtime now
    /// Clients whose next callback waits for a free dispatch thread (each client's own queue may
    /// hold more: ClientStats::callback_queue).
    std::size_t queued_callbacks = 0;
    /// Deadlines pending, all clients: operations, and the next wake of connection loops, shadows
    /// and datapoint pipelines.
    std::size_t timers = 0;
};

class Runtime {
public:
    /// Starts the threads. Throws Error(InvalidArgument) for a thread count out of range.
    explicit Runtime(RuntimeOptions options = {});
    /// Ends the threads after the callbacks already queued have run. Clients hold the runtime by
    /// std::shared_ptr, so this runs after the last of them is destroyed.
    ~Runtime();

    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    RuntimeStats stats() const;

    class Impl;
    /// For the library's own modules.
    const std::shared_ptr<Impl>& impl() const noexcept { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
