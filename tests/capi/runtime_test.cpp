// tl_runtime: NULL arguments, clients sharing one runtime, and the reference counting that lets the
// runtime be freed before or after its clients.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "broker.hpp"
#include "support.hpp"

namespace {

using namespace tltest;

struct RuntimeDeleter {
    void operator()(tl_runtime* runtime) const { tl_runtime_free(runtime); }
};
using Runtime = std::unique_ptr<tl_runtime, RuntimeDeleter>;

Runtime make_runtime(uint32_t threads) {
    tl_runtime* rt = nullptr;
    EXPECT_EQ(tl_runtime_new(&rt, threads), TL_OK) << tl_last_error();
    return Runtime(rt);
}

size_t clients_of(const tl_runtime* runtime) {
    size_t n = 0;
    EXPECT_EQ(tl_runtime_clients(runtime, &n), TL_OK) << tl_last_error();
    return n;
}

TEST(Runtime, NullArgumentsAndBadThreadCounts) {
    EXPECT_EQ(tl_runtime_new(nullptr, 2), TL_EINVAL);
    EXPECT_NE(std::string(tl_last_error()).find("tl_runtime_new: "), std::string::npos);
    tl_runtime* rt = reinterpret_cast<tl_runtime*>(1);
    EXPECT_EQ(tl_runtime_new(&rt, 257), TL_EINVAL);
    EXPECT_EQ(rt, nullptr);
    tl_runtime_free(nullptr);
    size_t n = 0;
    EXPECT_EQ(tl_runtime_clients(nullptr, &n), TL_EINVAL);
    auto runtime = make_runtime(0);  // 0: the default
    ASSERT_TRUE(runtime);
    EXPECT_EQ(tl_runtime_clients(runtime.get(), nullptr), TL_EINVAL);
    EXPECT_EQ(tl_client_options_set_runtime(nullptr, runtime.get()), TL_EINVAL);
    EXPECT_NE(std::string(tl_last_error()).find("tl_client_options_set_runtime: "), std::string::npos);
}

TEST(Runtime, ClientsShareItAndKeepItAlive) {
    twinlink::testing::Broker broker(twinlink::testing::Broker::Options{false});
    auto runtime = make_runtime(2);
    auto options = make_options(broker.uri());
    ASSERT_EQ(tl_client_options_set_runtime(options.get(), runtime.get()), TL_OK);
    std::vector<Client> clients;
    for (int i = 0; i < 30; ++i) {
        clients.push_back(make_client(options.get()));
        ASSERT_TRUE(clients.back());
        ASSERT_EQ(tl_client_start(clients.back().get()), TL_OK);
    }
    EXPECT_EQ(clients_of(runtime.get()), 30u);
    // Both references of the caller go; the clients and the options hold the runtime.
    runtime.reset();
    options.reset();
    ASSERT_TRUE(eventually([&] {
        for (auto& c : clients)
            if (tl_client_state(c.get()) != TL_STATE_CONNECTED) return false;
        return true;
    }, 20000ms));
    Inbox inbox;
    ASSERT_EQ(tl_client_subscribe(clients[0].get(), "rt/capi", 1, Inbox::on_message, &inbox, nullptr, nullptr),
              TL_OK);
    ASSERT_EQ(tl_client_publish_wait(clients[1].get(), "rt/capi", "hi", 2, 1, 0, 5000), TL_OK);
    EXPECT_TRUE(inbox.wait_for(1));
    clients.clear();
}

TEST(Runtime, OptionsGivenAnotherRuntimeOrNone) {
    auto first = make_runtime(1);
    auto second = make_runtime(1);
    auto options = make_options("mqtt://127.0.0.1:1");
    ASSERT_EQ(tl_client_options_set_runtime(options.get(), first.get()), TL_OK);
    ASSERT_EQ(tl_client_options_set_runtime(options.get(), second.get()), TL_OK);
    auto on_second = make_client(options.get());
    ASSERT_EQ(tl_client_options_set_runtime(options.get(), nullptr), TL_OK);
    auto on_its_own = make_client(options.get());
    EXPECT_EQ(clients_of(first.get()), 0u);
    EXPECT_EQ(clients_of(second.get()), 1u);
    on_second.reset();
    EXPECT_EQ(clients_of(second.get()), 0u);
}

}  // namespace
