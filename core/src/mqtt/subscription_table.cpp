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
    const bool broker_subscribe = max_qos(filter) < qos;
    auto sub = std::make_shared<Subscription>();
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

std::vector<std::shared_ptr<Subscription>> SubscriptionTable::matching(std::string_view topic) const {
    std::vector<std::shared_ptr<Subscription>> out;
    for (const auto& s : subs_)
        if (topic_matches(s->filter, topic)) out.push_back(s);
    return out;
}

std::vector<std::pair<std::string, int>> SubscriptionTable::filters() const {
    std::vector<std::pair<std::string, int>> out;
    for (const auto& s : subs_) {
        const auto it = std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.first == s->filter; });
        if (it == out.end())
            out.emplace_back(s->filter, s->qos);
        else
            it->second = std::max(it->second, s->qos);
    }
    return out;
}

std::vector<std::shared_ptr<Subscription>> SubscriptionTable::clear() {
    for (auto& s : subs_) s->active = false;
    return std::exchange(subs_, {});
}

}  // namespace twinlink::detail
