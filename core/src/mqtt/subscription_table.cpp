#include "mqtt/subscription_table.hpp"

#include <algorithm>

#include "twinlink/topic.hpp"

namespace twinlink::detail {

int SubscriptionTable::max_qos(std::string_view filter) const {
    int qos = -1;
    for (const auto& s : subs_)
        if (s->filter == filter) qos = std::max(qos, s->qos);
    return qos;
}

SubscriptionTable::Added SubscriptionTable::add(std::string filter, int qos, MessageHandler handler, Delivery delivery) {
    const int existing_qos = max_qos(filter);
    const bool broker_subscribe = existing_qos < qos;
    auto sub = std::make_shared<Subscription>();
    if (existing_qos >= 0) {
        for (const auto& s : subs_)
            if (s->filter == filter) sub->identifier = s->identifier;
    } else {
        // MQTT 5 allows 1 to 268435455; wrapping around after that many filters is harmless in practice.
        next_identifier_ = next_identifier_ % 268435455 + 1;
        sub->identifier = next_identifier_;
    }
    sub->id = ++next_id_;
    sub->filter = std::move(filter);
    sub->qos = qos;
    sub->handler = std::move(handler);
    sub->delivery = delivery;
    subs_.push_back(sub);
    ++generation_;
    return {std::move(sub), broker_subscribe};
}

std::shared_ptr<Subscription> SubscriptionTable::remove(std::uint64_t id, bool& filter_unused) {
    const auto it = std::find_if(subs_.begin(), subs_.end(), [&](const auto& s) { return s->id == id; });
    if (it == subs_.end()) return nullptr;
    auto sub = *it;
    subs_.erase(it);
    sub->active = false;
    filter_unused = max_qos(sub->filter) < 0;
    return sub;
}

bool SubscriptionTable::contains(std::uint64_t id) const {
    return std::any_of(subs_.begin(), subs_.end(), [&](const auto& s) { return s->id == id; });
}

std::vector<std::shared_ptr<Subscription>> SubscriptionTable::matching(std::string_view topic) const {
    std::vector<std::shared_ptr<Subscription>> out;
    for (const auto& s : subs_)
        if (topic_matches(s->filter, topic)) out.push_back(s);
    return out;
}

std::vector<std::shared_ptr<Subscription>> SubscriptionTable::with_identifiers(const std::vector<int>& identifiers) const {
    std::vector<std::shared_ptr<Subscription>> out;
    for (const auto& s : subs_)
        if (std::find(identifiers.begin(), identifiers.end(), s->identifier) != identifiers.end()) out.push_back(s);
    return out;
}

std::vector<SubscriptionTable::Filter> SubscriptionTable::filters() const {
    std::vector<Filter> out;
    for (const auto& s : subs_) {
        const auto it = std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.filter == s->filter; });
        if (it == out.end())
            out.push_back({s->filter, s->qos, s->identifier});
        else
            it->qos = std::max(it->qos, s->qos);
    }
    return out;
}

std::vector<std::shared_ptr<Subscription>> SubscriptionTable::clear() {
    for (auto& s : subs_) s->active = false;
    return std::exchange(subs_, {});
}

}  // namespace twinlink::detail
