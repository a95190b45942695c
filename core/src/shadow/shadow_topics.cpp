#include "twinlink/shadow_topics.hpp"

#include <array>
#include <string>

#include "twinlink/status.hpp"
#include "twinlink/topic.hpp"

namespace twinlink {
namespace {

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::string_view kAwsRoot = "$aws/things/";
constexpr std::array<ShadowOperation, 3> kOperations = {
    ShadowOperation::Update, ShadowOperation::Get, ShadowOperation::Delete};

bool is_id_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':' || c == '.' || c == '-';
}

// Why `id` is not a valid device id or shadow name, or nullptr when it is.
const char* id_problem(std::string_view id) noexcept {
    if (id.empty()) return "is empty";
    if (id.size() > kMaxIdBytes) return "is longer than 128 bytes";
    for (char c : id)
        if (!is_id_char(c)) return "contains a character other than A-Z a-z 0-9 _ : . -";
    return nullptr;
}

// A topic level shown in a message: cut short and without control characters.
std::string quoted(std::string_view text) {
    std::string out = "'";
    for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
    }
    if (text.size() > 64) out += "...";
    return out + "'";
}

std::optional<ShadowOperation> operation_from(std::string_view level) noexcept {
    for (ShadowOperation op : kOperations)
        if (level == shadow_operation_name(op)) return op;
    return std::nullopt;
}

// Splits `text` at '/'; an empty text is one empty level.
std::vector<std::string_view> levels_of(std::string_view text) {
    std::vector<std::string_view> levels;
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = text.find('/', start);
        levels.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) return levels;
        start = end + 1;
    }
}

std::string root_of(TopicProfile profile, std::string_view prefix, std::string_view device,
                    std::string_view shadow_name) {
    std::string root;
    if (profile == TopicProfile::Aws) {
        root.append(kAwsRoot).append(device).append("/shadow");
        if (!shadow_name.empty()) root.append("/name/").append(shadow_name);
    } else {
        root.append(prefix).append("/").append(device).append("/shadow");
        if (!shadow_name.empty()) root.append("/").append(shadow_name);
    }
    return root;
}

}  // namespace

const char* shadow_operation_name(ShadowOperation operation) noexcept {
    switch (operation) {
        case ShadowOperation::Update: return "update";
        case ShadowOperation::Get: return "get";
        case ShadowOperation::Delete: return "delete";
    }
    return "unknown";
}

void validate_device_id(std::string_view device_id) {
    if (const char* problem = id_problem(device_id))
        throw Error(Status::InvalidArgument,
                    "device id " + quoted(device_id) + " " + problem +
                        "; a device id is 1 to 128 characters from A-Z a-z 0-9 _ : . -");
}

void validate_shadow_name(std::string_view shadow_name) {
    if (shadow_name.empty()) return;
    if (const char* problem = id_problem(shadow_name))
        throw Error(Status::InvalidArgument,
                    "shadow name " + quoted(shadow_name) + " " + problem +
                        "; a shadow name is empty (the classic shadow) or 1 to 128 characters "
                        "from A-Z a-z 0-9 _ : . -");
}

void validate_topic_prefix(std::string_view prefix) {
    if (prefix.empty())
        throw Error(Status::InvalidArgument, "topic prefix is empty");
    if (prefix.find_first_of("+#") != std::string_view::npos)
        throw Error(Status::InvalidArgument,
                    "topic prefix " + quoted(prefix) + " contains a wildcard ('+' or '#')");
    // UTF-8, NUL and length: the rules of any topic name.
    validate_topic_name(prefix);
    if (prefix.front() == '$')
        throw Error(Status::InvalidArgument,
                    "topic prefix " + quoted(prefix) +
                        " starts with '$', which MQTT reserves for the broker's own topics");
    for (std::string_view level : levels_of(prefix))
        if (level.empty())
            throw Error(Status::InvalidArgument,
                        "topic prefix " + quoted(prefix) +
                            " has an empty level (a leading, trailing or double '/')");
}

ShadowTopics::ShadowTopics(TopicProfile profile, std::string_view device_id,
                           std::string_view shadow_name, std::string_view prefix)
    : profile_(profile), device_id_(device_id), shadow_name_(shadow_name) {
    validate_device_id(device_id);
    validate_shadow_name(shadow_name);
    if (profile == TopicProfile::Twinlink) validate_topic_prefix(prefix);
    root_ = root_of(profile, prefix, device_id, shadow_name);
}

std::string ShadowTopics::request(ShadowOperation operation) const {
    return root_ + "/" + shadow_operation_name(operation);
}

std::string ShadowTopics::accepted(ShadowOperation operation) const {
    return request(operation) + "/accepted";
}

std::string ShadowTopics::rejected(ShadowOperation operation) const {
    return request(operation) + "/rejected";
}

std::string ShadowTopics::delta() const { return root_ + "/update/delta"; }

std::string ShadowTopics::documents() const { return root_ + "/update/documents"; }

std::vector<std::string> ShadowTopics::request_filters(TopicProfile profile,
                                                       std::string_view prefix) {
    if (profile == TopicProfile::Twinlink) validate_topic_prefix(prefix);
    // Classic requests have one level after "shadow", named ones two (Twinlink) or three (Aws),
    // and no response topic ends in an operation name, so these never match a response.
    const std::string classic = root_of(profile, prefix, "+", "");
    const std::string named = root_of(profile, prefix, "+", "+");
    std::vector<std::string> filters;
    for (ShadowOperation op : kOperations) filters.push_back(classic + "/" + shadow_operation_name(op));
    for (ShadowOperation op : kOperations) filters.push_back(named + "/" + shadow_operation_name(op));
    return filters;
}

std::optional<ShadowRequestTopic> ShadowTopics::parse_request(TopicProfile profile,
                                                              std::string_view topic,
                                                              std::string_view prefix) {
    std::string_view head = profile == TopicProfile::Aws ? kAwsRoot : prefix;
    if (profile == TopicProfile::Twinlink) {
        try {
            validate_topic_prefix(prefix);
        } catch (const Error&) {
            return std::nullopt;
        }
    }
    // The Twinlink prefix is followed by '/'; the Aws root already ends with it.
    if (topic.substr(0, head.size()) != head) return std::nullopt;
    topic.remove_prefix(head.size());
    if (profile == TopicProfile::Twinlink) {
        if (topic.empty() || topic.front() != '/') return std::nullopt;
        topic.remove_prefix(1);
    }

    // device / "shadow" / [name | "name"/name] / operation
    const std::vector<std::string_view> levels = levels_of(topic);
    const std::size_t named_size = profile == TopicProfile::Aws ? 5 : 4;
    if (levels.size() != 3 && levels.size() != named_size) return std::nullopt;
    if (levels[1] != "shadow") return std::nullopt;
    const auto operation = operation_from(levels.back());
    if (!operation) return std::nullopt;

    std::string_view name;
    if (levels.size() == named_size) {
        if (profile == TopicProfile::Aws && levels[2] != "name") return std::nullopt;
        name = levels[named_size - 2];
        if (id_problem(name) != nullptr) return std::nullopt;
    }
    if (id_problem(levels[0]) != nullptr) return std::nullopt;
    return ShadowRequestTopic{std::string(levels[0]), std::string(name), *operation};
}

}  // namespace twinlink
