// twinlink/shadow_topics.hpp — the MQTT topics of a shadow, in each topic profile.
//
// A profile fixes the topic layout (docs/protocol.md has the full table):
//   Twinlink  {prefix}/{device}/shadow[/{name}]/update|get|delete[/accepted|/rejected]
//             {prefix}/{device}/shadow[/{name}]/update/delta|documents
//   Aws       $aws/things/{device}/shadow[/name/{name}]/...   (the same stubs; no prefix)
// The empty shadow name is the classic (unnamed) shadow. Everything here is pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twinlink {

enum class TopicProfile : int {
    Twinlink = 0,  ///< everything under `{prefix}/{device}/`
    Aws = 1,       ///< AWS IoT Device Shadow's reserved topics, so a device works against AWS IoT Core
};

/// The three requests of a shadow; each has a request topic and accepted/rejected responses.
enum class ShadowOperation : int { Update = 0, Get = 1, Delete = 2 };

/// The topic level of an operation: "update", "get", "delete". Never null.
const char* shadow_operation_name(ShadowOperation operation) noexcept;

/// The default prefix of the Twinlink profile.
inline constexpr std::string_view kDefaultTopicPrefix = "tl";

/// Throws Error(InvalidArgument) unless `device_id` is 1..128 bytes of [A-Za-z0-9_:.-], which
/// keeps it a single topic level that no wildcard or `$` topic can be confused with.
void validate_device_id(std::string_view device_id);

/// Throws Error(InvalidArgument) unless `shadow_name` is empty (the classic shadow) or 1..128
/// bytes of [A-Za-z0-9_:.-]. (AWS itself is stricter: no '.', at most 64 bytes.)
void validate_shadow_name(std::string_view shadow_name);

/// Throws Error(InvalidArgument) unless `prefix` can start a Twinlink topic: one or more
/// non-empty levels separated by '/', no wildcard, no leading '$', valid UTF-8.
void validate_topic_prefix(std::string_view prefix);

/// What a request topic names.
struct ShadowRequestTopic {
    std::string device_id;
    std::string shadow_name;  ///< empty for the classic shadow
    ShadowOperation operation = ShadowOperation::Update;
};

/// Every topic of one shadow of one device.
class ShadowTopics {
public:
    /// Throws Error(InvalidArgument) for an invalid device id, shadow name or (Twinlink only)
    /// prefix. The Aws profile ignores `prefix`.
    ShadowTopics(TopicProfile profile, std::string_view device_id,
                 std::string_view shadow_name = {},
                 std::string_view prefix = kDefaultTopicPrefix);

    TopicProfile profile() const noexcept { return profile_; }
    const std::string& device_id() const noexcept { return device_id_; }
    const std::string& shadow_name() const noexcept { return shadow_name_; }

    /// The level all topics of this shadow start with: `tl/dev/shadow`, `tl/dev/shadow/cfg`,
    /// `$aws/things/dev/shadow`, `$aws/things/dev/shadow/name/cfg`.
    const std::string& root() const noexcept { return root_; }

    /// Where requests are published: `{root}/update`, `{root}/get`, `{root}/delete`.
    std::string request(ShadowOperation operation) const;
    /// `{root}/{operation}/accepted`.
    std::string accepted(ShadowOperation operation) const;
    /// `{root}/{operation}/rejected`.
    std::string rejected(ShadowOperation operation) const;
    /// `{root}/update/delta`.
    std::string delta() const;
    /// `{root}/update/documents`.
    std::string documents() const;

    /// Subscription filters that match the request topics (update, get, delete) of every shadow,
    /// classic and named, of every device; what a shadow service subscribes to. They match no
    /// response topic, so a service never receives its own answers. Throws
    /// Error(InvalidArgument) for an invalid prefix (Twinlink only).
    static std::vector<std::string> request_filters(TopicProfile profile,
                                                    std::string_view prefix = kDefaultTopicPrefix);

    /// Reads a request topic: the device, the shadow name and the operation. Anything else (a
    /// response topic, another prefix, an invalid device id or shadow name, an unknown
    /// operation) gives nothing. Never throws (except std::bad_alloc).
    static std::optional<ShadowRequestTopic> parse_request(
        TopicProfile profile, std::string_view topic,
        std::string_view prefix = kDefaultTopicPrefix);

private:
    TopicProfile profile_;
    std::string device_id_;
    std::string shadow_name_;
    std::string root_;
};

}  // namespace twinlink
