#include "twinlink/topic.hpp"

#include <string>

#include "common/utf8.hpp"
#include "twinlink/status.hpp"

namespace twinlink {
namespace {

constexpr std::size_t kMaxTopicBytes = 65535;

void check_common(std::string_view s, const char* what) {
    if (s.empty()) throw Error(Status::InvalidArgument, std::string(what) + " is empty");
    if (s.size() > kMaxTopicBytes)
        throw Error(Status::InvalidArgument, std::string(what) + " is longer than 65535 bytes");
    if (s.find('\0') != std::string_view::npos)
        throw Error(Status::InvalidArgument, std::string(what) + " contains a NUL character");
    if (!detail::is_utf8(s))
        throw Error(Status::InvalidArgument, std::string(what) + " is not valid UTF-8");
}

}  // namespace

void validate_topic_name(std::string_view name) {
    check_common(name, "topic");
    if (name.find_first_of("+#") != std::string_view::npos)
        throw Error(Status::InvalidArgument,
                    "topic '" + std::string(name) + "' contains a wildcard ('+' or '#'); "
                    "wildcards are only valid in subscription filters");
}

void validate_topic_filter(std::string_view filter) {
    check_common(filter, "topic filter");
    std::size_t start = 0;
    for (;;) {
        const std::size_t end = filter.find('/', start);
        const std::string_view level =
            filter.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        const bool last = end == std::string_view::npos;
        if (level.find_first_of("+#") != std::string_view::npos) {
            if (level.size() != 1)
                throw Error(Status::InvalidArgument,
                            "topic filter '" + std::string(filter) +
                                "': a wildcard must be a whole level (like 'a/+/b' or 'a/#')");
            if (level == "#" && !last)
                throw Error(Status::InvalidArgument,
                            "topic filter '" + std::string(filter) + "': '#' must be the last level");
        }
        if (last) break;
        start = end + 1;
    }
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#'))
        return false;
    std::size_t f = 0, t = 0;
    for (;;) {
        const std::size_t fe = filter.find('/', f);
        const std::string_view flevel = filter.substr(f, fe == std::string_view::npos ? fe : fe - f);
        if (flevel == "#") return true;  // also matches the parent level: "a/#" matches "a"
        const std::size_t te = topic.find('/', t);
        const std::string_view tlevel = topic.substr(t, te == std::string_view::npos ? te : te - t);
        if (flevel != "+" && flevel != tlevel) return false;
        const bool flast = fe == std::string_view::npos, tlast = te == std::string_view::npos;
        if (flast && tlast) return true;
        if (flast) return false;
        if (tlast) {
            // Only "x/#" can still match a topic that has run out of levels.
            return filter.substr(fe + 1) == "#";
        }
        f = fe + 1;
        t = te + 1;
    }
}

}  // namespace twinlink
