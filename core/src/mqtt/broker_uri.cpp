#include "mqtt/broker_uri.hpp"

#include <cctype>

#include "twinlink/client.hpp"
#include "twinlink/status.hpp"

namespace twinlink {
namespace detail {
namespace {

[[noreturn]] void bad(std::string_view uri, const std::string& why) {
    throw Error(Status::InvalidArgument, "invalid broker URI '" + std::string(uri) + "': " + why);
}

struct SchemeInfo {
    const char* name;
    const char* canonical;
    int default_port;
};
constexpr SchemeInfo kSchemes[] = {
    {"mqtt", "mqtt", 1883}, {"tcp", "mqtt", 1883}, {"mqtts", "mqtts", 8883},
    {"ssl", "mqtts", 8883}, {"ws", "ws", 80},       {"wss", "wss", 443},
};

}  // namespace

std::string BrokerUri::paho_uri() const {
    const char* paho_scheme = scheme == "mqtt" ? "tcp" : scheme == "mqtts" ? "ssl" : scheme.c_str();
    const bool v6 = host.find(':') != std::string::npos;
    return std::string(paho_scheme) + "://" + (v6 ? "[" + host + "]" : host) + ":" +
           std::to_string(port) + path;
}

BrokerUri parse_broker_uri(std::string_view uri) {
    BrokerUri out;
    out.text = std::string(uri);
    const std::size_t sep = uri.find("://");
    if (sep == std::string_view::npos) bad(uri, "expected scheme://host[:port], e.g. mqtt://127.0.0.1:1883");
    std::string scheme(uri.substr(0, sep));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const SchemeInfo* info = nullptr;
    for (const auto& s : kSchemes)
        if (scheme == s.name) info = &s;
    if (!info) bad(uri, "unknown scheme '" + scheme + "' (expected mqtt, mqtts, ws or wss)");
    out.scheme = info->canonical;

    std::string_view rest = uri.substr(sep + 3);
    const std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        out.path = std::string(rest.substr(slash));
        if (out.scheme != "ws" && out.scheme != "wss") {
            if (out.path != "/") bad(uri, "a path is only valid for ws:// and wss://");
            out.path.clear();
        }
    }
    if (authority.find('@') != std::string_view::npos)
        bad(uri, "credentials do not belong in the URI; set username and password in the options");

    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) bad(uri, "unterminated '[' in IPv6 address");
        out.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad(uri, "unexpected text after the IPv6 address");
            port_text = after.substr(1);
            if (port_text.empty()) bad(uri, "empty port");
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) bad(uri, "empty port");
        }
    }
    if (out.host.empty()) bad(uri, "no host");
    // Brackets only enclose an IPv6 address: inside a host they would change what Paho reads
    // ("a]:b" became "[a]:b]").
    if (out.host.find_first_of("[]") != std::string::npos) bad(uri, "unexpected '[' or ']' in the host");
    for (char c : out.host)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') bad(uri, "the host contains a blank");

    out.port = info->default_port;
    if (!port_text.empty()) {
        if (port_text.size() > 5) bad(uri, "port out of range (1 to 65535)");
        int p = 0;
        for (char c : port_text) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                bad(uri, "port '" + std::string(port_text) + "' is not a number");
            p = p * 10 + (c - '0');
        }
        if (p < 1 || p > 65535) bad(uri, "port out of range (1 to 65535)");
        out.port = p;
    }
    return out;
}

}  // namespace detail

void validate_broker_uri(std::string_view uri) { detail::parse_broker_uri(uri); }

}  // namespace twinlink
