// Runtime::Impl: what a Runtime shares with the clients created with it.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "common/dispatch_pool.hpp"
#include "common/timer_queue.hpp"
#include "twinlink/runtime.hpp"

namespace twinlink {

class Runtime::Impl {
public:
    /// Network threads: the clients' connection loops, whose passes never wait for the network
    /// nor run user code. Two, so that the rare pass that blocks (diagnosing a refused TLS
    /// handshake, up to a few seconds) leaves one for everyone else.
    static constexpr unsigned kNetworkThreads = 2;

    explicit Impl(const RuntimeOptions& options)
        : pool(std::make_shared<detail::DispatchPool>(options.dispatch_threads)),
          network(std::make_shared<detail::DispatchPool>(kNetworkThreads, "tl-network")),
          timers(std::make_shared<detail::TimerQueue>()) {}

    /// User callbacks (and the library's own background work: shadow timers, batchers).
    const std::shared_ptr<detail::DispatchPool> pool;
    /// The clients' connection loops: kept apart from `pool`, so that callbacks that block never
    /// delay a client's network work (acknowledgements, reconnects), and a callback may wait for it
    /// (disconnect()).
    const std::shared_ptr<detail::DispatchPool> network;
    const std::shared_ptr<detail::TimerQueue> timers;
    std::atomic<std::size_t> clients{0};
};

}  // namespace twinlink
