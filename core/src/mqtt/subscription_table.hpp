// SubscriptionTable: the handlers registered by subscribe() and the broker subscriptions they
// need. Not thread-safe: the client guards it with its state mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twinlink/client.hpp"

namespace twinlink::detail {

struct Subscription {
    std::uint64_t id = 0;
    std::string filter;
    int qos = 0;
    MessageHandler handler;
    Delivery delivery = Delivery::Dispatcher;
    /// MQTT 5 subscription identifier of the filter (shared by every subscription to it), so that
    /// the copy a broker sends per matching subscription reaches only that filter's handlers.
    int identifier = 0;
    /// Cleared on removal; the dispatcher checks it just before each call.
    std::atomic<bool> active{true};
};

class SubscriptionTable {
public:
    struct Added {
        std::shared_ptr<Subscription> subscription;
        bool broker_subscribe;  ///< the filter is new, or needs a higher QoS than before
    };
    Added add(std::string filter, int qos, MessageHandler handler, Delivery delivery = Delivery::Dispatcher);

    /// Removes and deactivates a subscription; null for an unknown id. `filter_unused` tells
    /// whether no other subscription uses its filter any more.
    std::shared_ptr<Subscription> remove(std::uint64_t id, bool& filter_unused);

    bool contains(std::uint64_t id) const;

    std::vector<std::shared_ptr<Subscription>> matching(std::string_view topic) const;
    /// The subscriptions whose filter has one of these identifiers.
    std::vector<std::shared_ptr<Subscription>> with_identifiers(const std::vector<int>& identifiers) const;

    struct Filter {
        std::string filter;
        int qos;  ///< the highest any of its subscriptions asked for
        int identifier;
    };
    /// Every distinct filter.
    std::vector<Filter> filters() const;

    /// Removes and deactivates everything.
    std::vector<std::shared_ptr<Subscription>> clear();

    /// Changes whenever a subscription is added.
    std::uint64_t generation() const noexcept { return generation_; }

private:
    int max_qos(std::string_view filter) const;

    std::vector<std::shared_ptr<Subscription>> subs_;
    std::uint64_t next_id_ = 0;
    int next_identifier_ = 0;
    std::uint64_t generation_ = 0;
};

}  // namespace twinlink::detail
