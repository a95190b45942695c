// detail::Outbox: the bounded FIFO of messages waiting for the network.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mqtt/outbox.hpp"
#include "twinlink/status.hpp"

namespace {

using twinlink::OverflowPolicy;
using twinlink::Status;
using twinlink::detail::OutgoingMessage;
using twinlink::detail::Outbox;

OutgoingMessage msg(std::uint64_t id, std::size_t size = 10) {
    OutgoingMessage m;
    m.id = id;
    m.topic = "t/" + std::to_string(id);
    m.payload = std::make_shared<const std::string>(size, 'x');
    m.qos = 1;
    return m;
}

std::vector<std::uint64_t> ids(const std::vector<OutgoingMessage>& v) {
    std::vector<std::uint64_t> out;
    for (const auto& m : v) out.push_back(m.id);
    return out;
}

Status push_status(Outbox& box, OutgoingMessage m) {
    try {
        box.push(std::move(m));
        return Status::Ok;
    } catch (const twinlink::Error& e) {
        return e.status();
    }
}

TEST(InternalOutbox, KeepsFifoOrderAndCountsBytes) {
    Outbox box(100, 1000, OverflowPolicy::RejectNew);
    EXPECT_TRUE(box.empty());
    for (std::uint64_t i = 1; i <= 5; ++i) EXPECT_TRUE(box.push(msg(i, i)).empty());
    EXPECT_EQ(box.size(), 5u);
    EXPECT_EQ(box.bytes(), 15u);
    EXPECT_EQ(box.pop_front().id, 1u);
    EXPECT_EQ(box.bytes(), 14u);
    EXPECT_EQ(ids(box.take_all()), (std::vector<std::uint64_t>{2, 3, 4, 5}));
    EXPECT_TRUE(box.empty());
    EXPECT_EQ(box.bytes(), 0u);
}

TEST(InternalOutbox, RejectNewOnMessageBound) {
    Outbox box(3, 1000, OverflowPolicy::RejectNew);
    for (std::uint64_t i = 1; i <= 3; ++i) box.push(msg(i));
    EXPECT_EQ(push_status(box, msg(4)), Status::QueueFull);
    EXPECT_EQ(box.size(), 3u);
    EXPECT_EQ(box.bytes(), 30u);
    EXPECT_EQ(ids(box.take_all()), (std::vector<std::uint64_t>{1, 2, 3}));
}

TEST(InternalOutbox, RejectNewOnByteBound) {
    Outbox box(100, 100, OverflowPolicy::RejectNew);
    for (std::uint64_t i = 1; i <= 4; ++i) box.push(msg(i, 25));
    EXPECT_EQ(push_status(box, msg(5, 1)), Status::QueueFull);
    EXPECT_EQ(box.bytes(), 100u);
    EXPECT_EQ(box.size(), 4u);
}

TEST(InternalOutbox, DropOldestReturnsTheDroppedOldestFirst) {
    Outbox box(3, 1000, OverflowPolicy::DropOldest);
    for (std::uint64_t i = 1; i <= 3; ++i) box.push(msg(i));
    EXPECT_EQ(ids(box.push(msg(4))), std::vector<std::uint64_t>{1});
    EXPECT_EQ(ids(box.push(msg(5))), std::vector<std::uint64_t>{2});
    EXPECT_EQ(box.size(), 3u);
    EXPECT_EQ(box.bytes(), 30u);
    EXPECT_EQ(ids(box.take_all()), (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST(InternalOutbox, DropOldestOnByteBoundDropsJustEnough) {
    Outbox box(100, 100, OverflowPolicy::DropOldest);
    for (std::uint64_t i = 1; i <= 10; ++i) box.push(msg(i, 10));
    EXPECT_EQ(ids(box.push(msg(11, 25))), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(box.bytes(), 95u);
    EXPECT_EQ(box.size(), 8u);
}

TEST(InternalOutbox, MessageLargerThanTheByteBoundIsInvalid) {
    for (auto policy : {OverflowPolicy::RejectNew, OverflowPolicy::DropOldest}) {
        Outbox box(100, 100, policy);
        box.push(msg(1, 50));
        EXPECT_EQ(push_status(box, msg(2, 101)), Status::InvalidArgument);
        EXPECT_EQ(box.size(), 1u) << "the queue was emptied for a message that never fits";
        EXPECT_EQ(box.bytes(), 50u);
        EXPECT_EQ(push_status(box, msg(3, 50)), Status::Ok) << "exactly max_bytes must fit";
    }
}

TEST(InternalOutbox, PushFrontRestoresOrderIgnoringBounds) {
    Outbox box(3, 1000, OverflowPolicy::RejectNew);
    for (std::uint64_t i = 1; i <= 3; ++i) box.push(msg(i));
    std::vector<OutgoingMessage> taken;
    taken.push_back(box.pop_front());  // 1
    taken.push_back(box.pop_front());  // 2
    box.push(msg(4));
    box.push(msg(5));
    EXPECT_EQ(box.size(), 3u);
    // 1 and 2 were in flight and come back first although the queue is full.
    box.push_front(std::move(taken));
    EXPECT_EQ(box.size(), 5u);
    EXPECT_EQ(box.bytes(), 50u);
    EXPECT_EQ(ids(box.take_all()), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

TEST(InternalOutbox, PayloadIsSharedNotCopied) {
    Outbox box(10, 1000, OverflowPolicy::RejectNew);
    auto m = msg(1, 20);
    const auto* data = m.payload.get();
    box.push(std::move(m));
    const auto out = box.pop_front();
    EXPECT_EQ(out.payload.get(), data);
    OutgoingMessage empty;
    EXPECT_EQ(empty.bytes(), 0u);
}

}  // namespace
