// tl_shadow delta registration: the delta pending when a callback registers. The test plays the
// cloud itself, publishing the answers a shadow service would, so what the shadow knows is exact.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

/// The deltas a tl_shadow_delta_cb whose user_data is this log received, with their threads.
class DeltaLog {
public:
    struct Delta {
        std::string json;
        uint64_t version;
        std::thread::id thread;
    };

    static void on_delta(const char* delta_json, uint64_t version, void* log) {
        auto* self = static_cast<DeltaLog*>(log);
        {
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->deltas_.push_back({delta_json, version, std::this_thread::get_id()});
        }
        self->changed_.notify_all();
    }
    static void destroy(void* log) { static_cast<DeltaLog*>(log)->destroys++; }

    bool wait_for(std::size_t count, milliseconds timeout = 5000ms) const {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return deltas_.size() >= count; });
    }
    std::vector<Delta> deltas() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return deltas_;
    }

    std::atomic<int> destroys{0};

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    std::vector<Delta> deltas_;
};

struct ShadowDeleter {
    void operator()(tl_shadow* shadow) const { tl_shadow_free(shadow); }
};
using Shadow = std::unique_ptr<tl_shadow, ShadowDeleter>;

class ShadowDeltas : public ::testing::Test {
protected:
    void SetUp() override {
        device_ = connect_client(broker_.uri());
        cloud_ = connect_client(broker_.uri());
        ASSERT_TRUE(device_ && cloud_);
        tl_shadow* shadow = nullptr;
        ASSERT_EQ(tl_shadow_new(&shadow, device_.get(), "lamp", nullptr), TL_OK) << tl_last_error();
        shadow_.reset(shadow);
    }

    /// Publishes `payload` on `topic` as the cloud, and waits for the broker to take it.
    void cloud_says(const std::string& topic, const std::string& payload) {
        ASSERT_EQ(tl_client_publish_wait(cloud_.get(), topic.c_str(), payload.data(), payload.size(), 1, 0, 5000),
                  TL_OK)
            << tl_last_error();
    }

    /// The local copy's version (tl_shadow_state).
    uint64_t local_version() {
        char* document = nullptr;
        if (tl_shadow_state(shadow_.get(), &document) != TL_OK) return 0;
        const std::string text = document;
        tl_free(document);
        const auto at = text.find("\"version\":");
        return at == std::string::npos ? 0 : std::stoull(text.substr(at + 10));
    }

    /// The shadow learns of a delta {"led":"on"} at version 3 from update/documents, before the
    /// update/delta event of that version (the cloud publishes both; their order is not fixed).
    void make_a_delta_pending() {
        cloud_says("tl/lamp/shadow/update/documents",
                   R"({"current":{"state":{"desired":{"led":"on"},"reported":{"led":"off"}},"version":3},)"
                   R"("timestamp":1700000000})");
        ASSERT_TRUE(eventually([&] { return local_version() == 3; }));
    }

    twinlink::testing::Broker broker_{twinlink::testing::Broker::Options{false}};
    Client device_, cloud_;
    Shadow shadow_;
};

TEST_F(ShadowDeltas, RegistrationHandsOverThePendingDeltaOnceUnlessToldNotTo) {
    make_a_delta_pending();
    DeltaLog whole, led, absent, no_initial, plain;
    uint64_t id = 0;
    ASSERT_EQ(tl_shadow_on_delta_ex(shadow_.get(), nullptr, 0, DeltaLog::on_delta, &whole, DeltaLog::destroy, &id),
              TL_OK)
        << tl_last_error();
    EXPECT_GT(id, 0u);
    ASSERT_EQ(tl_shadow_on_delta_ex(shadow_.get(), "/led", 0, DeltaLog::on_delta, &led, DeltaLog::destroy, nullptr),
              TL_OK);
    ASSERT_EQ(tl_shadow_on_delta_ex(shadow_.get(), "/absent", 0, DeltaLog::on_delta, &absent, DeltaLog::destroy,
                                    nullptr),
              TL_OK);
    ASSERT_EQ(tl_shadow_on_delta_ex(shadow_.get(), "", TL_SHADOW_DELTA_NO_INITIAL, DeltaLog::on_delta, &no_initial,
                                    DeltaLog::destroy, nullptr),
              TL_OK);
    // The function of the first release keeps its meaning: no delta at registration.
    ASSERT_EQ(tl_shadow_on_delta(shadow_.get(), nullptr, DeltaLog::on_delta, &plain, DeltaLog::destroy, nullptr),
              TL_OK);

    ASSERT_TRUE(whole.wait_for(1));
    EXPECT_EQ(whole.deltas()[0].json, R"({"led":"on"})");
    EXPECT_EQ(whole.deltas()[0].version, 3u);
    EXPECT_NE(whole.deltas()[0].thread, std::this_thread::get_id());  // on the dispatcher
    ASSERT_TRUE(led.wait_for(1));
    EXPECT_EQ(led.deltas()[0].json, R"("on")");
    EXPECT_EQ(led.deltas()[0].version, 3u);

    // The update/delta event of version 3 arrives now: the handlers that were handed that delta
    // do not get it again, the others do. The next delta, a marker, reaches every handler after
    // anything that came before it.
    cloud_says("tl/lamp/shadow/update/delta", R"({"state":{"led":"on"},"version":3,"timestamp":1700000000})");
    cloud_says("tl/lamp/shadow/update/delta", R"({"state":{"marker":1},"version":4,"timestamp":1700000001})");
    ASSERT_TRUE(whole.wait_for(2));
    ASSERT_TRUE(no_initial.wait_for(2));
    ASSERT_TRUE(plain.wait_for(2));
    ASSERT_EQ(whole.deltas().size(), 2u);
    EXPECT_EQ(whole.deltas()[1].json, R"({"marker":1})");
    EXPECT_EQ(whole.deltas()[1].version, 4u);
    for (DeltaLog* log : {&no_initial, &plain}) {
        ASSERT_EQ(log->deltas().size(), 2u);
        EXPECT_EQ(log->deltas()[0].json, R"({"led":"on"})");
        EXPECT_EQ(log->deltas()[0].version, 3u);
        EXPECT_EQ(log->deltas()[1].version, 4u);
    }
    EXPECT_EQ(led.deltas().size(), 1u);
    EXPECT_EQ(absent.deltas().size(), 0u);

    // Each user data is released once, after the last call (common.h): on the freeing thread, or
    // on the dispatcher when a delta event for its handler was still queued there.
    shadow_.reset();
    const std::vector<std::pair<const char*, DeltaLog*>> logs = {
        {"whole", &whole}, {"led", &led}, {"absent", &absent}, {"no_initial", &no_initial}, {"plain", &plain}};
    for (const auto& [name, log] : logs) EXPECT_TRUE(eventually([&] { return log->destroys.load() >= 1; })) << name;
    std::this_thread::sleep_for(50ms);
    for (const auto& [name, log] : logs) EXPECT_EQ(log->destroys.load(), 1) << name;
}

TEST_F(ShadowDeltas, NothingIsHandedOverWhenNoDeltaIsPending) {
    DeltaLog log;
    ASSERT_EQ(tl_shadow_on_delta_ex(shadow_.get(), nullptr, 0, DeltaLog::on_delta, &log, DeltaLog::destroy, nullptr),
              TL_OK);
    cloud_says("tl/lamp/shadow/update/delta", R"({"state":{"marker":1},"version":1,"timestamp":1700000000})");
    ASSERT_TRUE(log.wait_for(1));
    ASSERT_EQ(log.deltas().size(), 1u);
    EXPECT_EQ(log.deltas()[0].json, R"({"marker":1})");
    shadow_.reset();  // before the log goes
    EXPECT_EQ(log.destroys, 1);
}

TEST_F(ShadowDeltas, UnknownFlagsAreRejectedAndTheUserDataIsReleased) {
    DeltaLog log;
    uint64_t id = 99;
    EXPECT_EQ(tl_shadow_on_delta_ex(shadow_.get(), nullptr, 0x80u, DeltaLog::on_delta, &log, DeltaLog::destroy, &id),
              TL_EINVAL);
    EXPECT_TRUE(contains(tl_last_error(), "flags"));
    EXPECT_EQ(id, 0u);
    EXPECT_EQ(log.destroys, 1);
    EXPECT_EQ(tl_shadow_on_delta_ex(shadow_.get(), "no-slash", 0, DeltaLog::on_delta, &log, DeltaLog::destroy, &id),
              TL_EINVAL);
    EXPECT_EQ(log.destroys, 2);
    EXPECT_EQ(tl_shadow_on_delta_ex(nullptr, nullptr, 0, DeltaLog::on_delta, &log, DeltaLog::destroy, &id), TL_EINVAL);
    EXPECT_EQ(log.destroys, 3);
}

}  // namespace
