// Outbox: the bounded FIFO of messages published but not yet handed to the network, either
// because the client is offline or because max_inflight messages await acknowledgement.
// Not thread-safe: the client guards it with its state mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/completion_latch.hpp"
#include "twinlink/client.hpp"

namespace twinlink::detail {

struct OutgoingMessage {
    std::uint64_t id = 0;
    std::string topic;
    std::shared_ptr<const std::string> payload;  // shared with Paho, so a resend copies nothing
    int qos = 0;
    bool retain = false;
    PublishCallback on_complete;               // runs on the dispatcher, or directly (see Delivery)
    Delivery completion = Delivery::Dispatcher;
    std::shared_ptr<CompletionLatch> latch;    // set directly, for publish_wait()
    std::size_t bytes() const { return payload ? payload->size() : 0; }
};

class Outbox {
public:
    Outbox(std::size_t max_messages, std::size_t max_bytes, OverflowPolicy policy);

    /// Appends `message`. With RejectNew, throws Error(QueueFull) when it does not fit; with
    /// DropOldest, removes and returns the oldest messages until it fits. A message larger than
    /// max_bytes on its own never fits: Error(InvalidArgument).
    std::vector<OutgoingMessage> push(OutgoingMessage message);

    /// Puts messages taken out earlier back at the front, in the order given, whatever the bounds:
    /// they were admitted once and are not dropped for being resent.
    void push_front(std::vector<OutgoingMessage> messages);

    OutgoingMessage pop_front();
    std::vector<OutgoingMessage> take_all();

    bool empty() const noexcept { return queue_.empty(); }
    std::size_t size() const noexcept { return queue_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

private:
    std::deque<OutgoingMessage> queue_;
    std::size_t bytes_ = 0;
    std::size_t max_messages_;
    std::size_t max_bytes_;
    OverflowPolicy policy_;
};

}  // namespace twinlink::detail
