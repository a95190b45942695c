#include "twinlink/device.hpp"

namespace twinlink {

namespace {

DeviceOptions with_defaults(const std::string& id, DeviceOptions o) {
    validate_device_id(id);
    if (o.profile == TopicProfile::Twinlink) validate_topic_prefix(o.prefix);
    if (o.client.client_id.empty()) o.client.client_id = id;
    if (o.client.presence.topic.empty() && o.profile == TopicProfile::Twinlink)
        o.client.presence.topic = o.prefix + "/" + id + "/status";
    o.datapoints.device = id;
    const DatapointOptions defaults;
    if (o.prefix != kDefaultTopicPrefix) {
        if (o.datapoints.topic == defaults.topic) o.datapoints.topic = o.prefix + "/{device}/dp";
        if (o.datapoints.receipt_topic == defaults.receipt_topic)
            o.datapoints.receipt_topic = o.prefix + "/{device}/receipts";
    }
    return o;
}

}  // namespace

Device::Device(std::string device_id, DeviceOptions options)
    : id_(std::move(device_id)), opts_(with_defaults(id_, std::move(options))) {
    client_ = std::make_unique<Client>(opts_.client);
    if (opts_.datapoints.spool) datapoints_ = std::make_unique<Datapoints>(*client_, opts_.datapoints);
}

Device::~Device() {
    datapoints_.reset();
    shadows_.clear();
    client_.reset();
}

Shadow& Device::shadow(std::string_view name) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = shadows_.find(name);
    if (it != shadows_.end()) return *it->second;
    ShadowOptions o = opts_.shadow;
    o.device = id_;
    o.name = std::string(name);
    o.profile = opts_.profile;
    o.prefix = opts_.prefix;
    if (!o.persist_path.empty())
        o.persist_path += "/" + id_ + (name.empty() ? "" : "." + std::string(name)) + ".shadow.json";
    auto shadow = std::make_unique<Shadow>(*client_, std::move(o));
    return *shadows_.emplace(std::string(name), std::move(shadow)).first->second;
}

Datapoints& Device::datapoints() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!datapoints_) datapoints_ = std::make_unique<Datapoints>(*client_, opts_.datapoints);
    return *datapoints_;
}

}  // namespace twinlink
