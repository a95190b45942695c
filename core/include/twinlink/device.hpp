// twinlink/device.hpp — a device: its client, its shadows and its datapoint pipeline together.
//
// The shape every binding exposes. A Device derives what it can from the device id: the client
// id, and in the Twinlink profile the presence topic "{prefix}/{device}/status" and the datapoint
// topic "{prefix}/{device}/dp". Shadows are created on first use; the datapoint pipeline too, or at
// construction when it has a spool (so batches an earlier run left behind are sent on connect).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "twinlink/client.hpp"
#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"

namespace twinlink {

struct DeviceOptions {
    /// Brokers, TLS, credentials, timeouts, callbacks. An empty client_id becomes the device id;
    /// an empty presence topic becomes "{prefix}/{device}/status" in the Twinlink profile.
    ClientOptions client;
    TopicProfile profile = TopicProfile::Twinlink;
    std::string prefix = std::string(kDefaultTopicPrefix);
    /// For every shadow of the device (device and name are set by the Device). A persist_path here
    /// is a directory: each shadow keeps "<device>[.<name>].shadow.json" in it.
    ShadowOptions shadow;
    /// For the datapoint pipeline (device is set by the Device; a topic left at its default
    /// follows the prefix).
    DatapointOptions datapoints;
};

class Device {
public:
    /// Validates everything (Error(InvalidArgument)); opens the spool if there is one. Does not connect.
    Device(std::string device_id, DeviceOptions options);
    /// Stops the datapoint pipeline, then the shadows, then the client.
    ~Device();

    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    const std::string& id() const noexcept { return id_; }
    Client& client() noexcept { return *client_; }

    void connect(std::chrono::milliseconds timeout) { client_->connect(timeout); }
    void disconnect(std::chrono::milliseconds timeout) { client_->disconnect(timeout); }

    /// The shadow `name` ("" for the classic one), created on first use. Thread-safe.
    Shadow& shadow(std::string_view name = {});
    /// The datapoint pipeline, created on first use. Thread-safe.
    Datapoints& datapoints();

private:
    std::string id_;
    DeviceOptions opts_;
    std::unique_ptr<Client> client_;
    std::mutex mu_;
    std::map<std::string, std::unique_ptr<Shadow>, std::less<>> shadows_;
    std::unique_ptr<Datapoints> datapoints_;
};

}  // namespace twinlink
