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
    explicit Impl(const RuntimeOptions& options)
        : pool(std::make_shared<detail::DispatchPool>(options.dispatch_threads)),
          timers(std::make_shared<detail::TimerQueue>()) {}

    const std::shared_ptr<detail::DispatchPool> pool;
    const std::shared_ptr<detail::TimerQueue> timers;
    std::atomic<std::size_t> clients{0};
};

}  // namespace twinlink
