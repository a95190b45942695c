// Fuzz target: any bytes as MQTT topic names and filters (the input, and its halves split at the
// first NUL... or at its middle, as a filter and a topic). Validation either throws
// Error(InvalidArgument) or accepts; accepted inputs keep the rules of MQTT 3.1.1 section 4.7
// (checked here independently of the validators), and matching agrees with a simple reference
// matcher written from the standard.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/status.hpp"
#include "twinlink/topic.hpp"

#include "fuzz_check.hpp"

namespace {

bool valid_name(std::string_view s) {
    try {
        twinlink::validate_topic_name(s);
        return true;
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
        return false;
    }
}

bool valid_filter(std::string_view s) {
    try {
        twinlink::validate_topic_filter(s);
        return true;
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
        return false;
    }
}

std::vector<std::string_view> levels(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = s.find('/', start);
        out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) return out;
        start = slash + 1;
    }
}

// The matching rule of the standard, level by level.
bool reference_match(std::string_view filter, std::string_view topic) {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#'))
        return false;
    const auto f = levels(filter);
    const auto t = levels(topic);
    std::size_t i = 0;
    for (; i < f.size(); ++i) {
        if (f[i] == "#") return true;  // also matches the parent level ("a/#" matches "a")
        if (i >= t.size()) return false;
        if (f[i] != "+" && f[i] != t[i]) return false;
    }
    return i == t.size();
}

void check_pair(std::string_view filter, std::string_view topic) {
    if (valid_filter(filter) && valid_name(topic))
        FUZZ_CHECK(twinlink::topic_matches(filter, topic) == reference_match(filter, topic));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const bool name = valid_name(input);
    const bool filter = valid_filter(input);
    const bool has_wildcard = input.find_first_of("+#") != std::string_view::npos;
    if (name) {
        FUZZ_CHECK(!input.empty() && input.size() <= 65535);
        FUZZ_CHECK(input.find('\0') == std::string_view::npos);
        FUZZ_CHECK(!has_wildcard);
        FUZZ_CHECK(filter);  // every topic name is a filter that matches exactly itself
        FUZZ_CHECK(twinlink::topic_matches(input, input));
    }
    if (filter) {
        FUZZ_CHECK(!input.empty() && input.size() <= 65535);
        FUZZ_CHECK(input.find('\0') == std::string_view::npos);
        const auto parts = levels(input);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (parts[i].find_first_of("+#") == std::string_view::npos) continue;
            FUZZ_CHECK(parts[i] == "+" || (parts[i] == "#" && i + 1 == parts.size()));
        }
        if (!has_wildcard) FUZZ_CHECK(name);
    }
    // A filter and a topic: split at the first '\n', else at the middle.
    const std::size_t split = input.find('\n');
    const std::size_t at = split == std::string_view::npos ? input.size() / 2 : split;
    const std::string_view first = input.substr(0, at);
    const std::string_view second = input.substr(split == std::string_view::npos ? at : at + 1);
    check_pair(first, second);
    check_pair(second, first);
    return 0;
}
