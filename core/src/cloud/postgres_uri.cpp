// The parts of PostgresDatabase that need no libpq: recognising a URI, and taking its password
// out for messages.
#include <string>

#include "twinlink/postgres_database.hpp"

namespace twinlink {

namespace {

bool starts_with(std::string_view text, std::string_view head) { return text.substr(0, head.size()) == head; }

}  // namespace

bool PostgresDatabase::is_uri(std::string_view text) noexcept {
    return starts_with(text, "postgresql://") || starts_with(text, "postgres://");
}

std::string PostgresDatabase::redact(std::string_view uri) {
    std::string out(uri);
    // scheme://user:password@host -> scheme://user@host
    const auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const auto authority = scheme_end + 3;
        const auto authority_end = out.find_first_of("/?", authority);
        const auto at = out.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
        if (at != std::string::npos && at >= authority) {
            const auto colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
        }
    }
    // ...?password=secret&... -> ...?password=***&...
    for (std::size_t from = 0;;) {
        const auto at = out.find("password=", from);
        if (at == std::string::npos) break;
        const char before = at == 0 ? '?' : out[at - 1];
        const auto value = at + 9;
        if (before == '?' || before == '&') {
            const auto end = out.find('&', value);
            out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
        }
        from = value;
    }
    return out;
}

}  // namespace twinlink
