#include "support.hpp"

#include <fstream>

#include <gtest/gtest.h>

namespace tltest {

Options make_options(const std::string& uri) {
    tl_client_options* raw = nullptr;
    EXPECT_EQ(tl_client_options_new(&raw), TL_OK) << tl_last_error();
    Options options(raw);
    if (options) {
        EXPECT_EQ(tl_client_options_add_broker(raw, uri.c_str()), TL_OK) << tl_last_error();
        EXPECT_EQ(tl_client_options_set_reconnect_backoff(raw, 100, 500), TL_OK) << tl_last_error();
    }
    return options;
}

Client make_client(const tl_client_options* options) {
    tl_client* raw = nullptr;
    EXPECT_EQ(tl_client_new(&raw, options), TL_OK) << tl_last_error();
    return Client(raw);
}

Client connect_client(const std::string& uri) {
    const Options options = make_options(uri);
    Client client = make_client(options.get());
    if (!client) return client;
    const tl_status status = tl_client_connect(client.get(), 5000);
    EXPECT_EQ(status, TL_OK) << tl_last_error();
    if (status != TL_OK) client.reset();
    return client;
}

void Inbox::on_message(const tl_message* message, void* inbox) {
    auto* self = static_cast<Inbox*>(inbox);
    Message copy{message->topic,
                 std::string(static_cast<const char*>(message->payload), message->payload_len),
                 message->qos, message->retained != 0};
    {
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->messages_.push_back(std::move(copy));
    }
    self->changed_.notify_all();
}

bool Inbox::wait_for(std::size_t count, milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

std::vector<Inbox::Message> Inbox::messages() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
}

std::vector<std::string> Inbox::payloads() const {
    std::vector<std::string> result;
    for (const auto& m : messages()) result.push_back(m.payload);
    return result;
}

std::size_t Inbox::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_.size();
}

void ConnectionLog::on_event(const tl_connection_event* event, void* log) {
    auto* self = static_cast<ConnectionLog*>(log);
    tl_connection_event copy = *event;
    copy.message = "";
    copy.broker = "";
    {
        std::lock_guard<std::mutex> lock(self->mutex_);
        self->events_.push_back(copy);
    }
    self->changed_.notify_all();
}

int ConnectionLog::wait_for(tl_connection_state state, std::size_t from, milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mutex_);
    int found = -1;
    changed_.wait_for(lock, timeout, [&] {
        for (std::size_t i = from; i < events_.size(); ++i) {
            if (events_[i].state == state) {
                found = static_cast<int>(i);
                return true;
            }
        }
        return false;
    });
    return found;
}

std::vector<tl_connection_state> ConnectionLog::states() const {
    std::vector<tl_connection_state> result;
    for (const auto& e : events()) result.push_back(e.state);
    return result;
}

std::vector<tl_connection_event> ConnectionLog::events() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
}

long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = -1;
            status >> kib;
            return kib;
        }
        status.ignore(4096, '\n');
    }
    return -1;
}

}  // namespace tltest
