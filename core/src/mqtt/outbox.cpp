#include "mqtt/outbox.hpp"

namespace twinlink::detail {

Outbox::Outbox(std::size_t max_messages, std::size_t max_bytes, OverflowPolicy policy)
    : max_messages_(max_messages), max_bytes_(max_bytes), policy_(policy) {}

std::vector<OutgoingMessage> Outbox::push(OutgoingMessage message) {
    const std::size_t size = message.bytes();
    if (size > max_bytes_)
        throw Error(Status::InvalidArgument,
                    "a payload of " + std::to_string(size) + " bytes is larger than the offline queue (" +
                        std::to_string(max_bytes_) + " bytes)");
    const auto fits = [&] { return queue_.size() < max_messages_ && bytes_ + size <= max_bytes_; };
    std::vector<OutgoingMessage> dropped;
    if (!fits()) {
        if (policy_ == OverflowPolicy::RejectNew)
            throw Error(Status::QueueFull, "the offline queue is full (" + std::to_string(queue_.size()) +
                                               " messages, " + std::to_string(bytes_) + " bytes)");
        while (!fits()) dropped.push_back(pop_front());
    }
    bytes_ += size;
    queue_.push_back(std::move(message));
    return dropped;
}

void Outbox::push_front(std::vector<OutgoingMessage> messages) {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
        bytes_ += it->bytes();
        queue_.push_front(std::move(*it));
    }
}

OutgoingMessage Outbox::pop_front() {
    OutgoingMessage m = std::move(queue_.front());
    queue_.pop_front();
    bytes_ -= m.bytes();
    return m;
}

std::vector<OutgoingMessage> Outbox::take_all() {
    std::vector<OutgoingMessage> all(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.end()));
    queue_.clear();
    bytes_ = 0;
    return all;
}

}  // namespace twinlink::detail
