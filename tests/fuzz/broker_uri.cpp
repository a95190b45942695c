// Fuzz target: any bytes as a broker URI (from options, configuration files, the CLI). Either
// parse_broker_uri() throws Error(InvalidArgument), or the result is a usable address (known
// scheme, non-empty host without blanks, port 1..65535, a path only for websockets) whose Paho
// spelling parses back to the same address.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqtt/broker_uri.hpp"
#include "twinlink/status.hpp"

#include "fuzz_check.hpp"

namespace {

bool parses(std::string_view text, twinlink::detail::BrokerUri& out) {
    try {
        out = twinlink::detail::parse_broker_uri(text);
        return true;
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
        FUZZ_CHECK(std::string_view(e.what()).find("invalid broker URI") != std::string_view::npos);
        return false;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    twinlink::detail::BrokerUri uri;
    if (!parses(text, uri)) return 0;
    FUZZ_CHECK(uri.text == text);
    FUZZ_CHECK(uri.scheme == "mqtt" || uri.scheme == "mqtts" || uri.scheme == "ws" || uri.scheme == "wss");
    FUZZ_CHECK(uri.tls() == (uri.scheme == "mqtts" || uri.scheme == "wss"));
    FUZZ_CHECK(!uri.host.empty());
    static constexpr char kNotInHost[] = " \t\n\v\f\r\0/@";
    FUZZ_CHECK(uri.host.find_first_of(kNotInHost, 0, sizeof kNotInHost - 1) == std::string::npos);
    FUZZ_CHECK(uri.port >= 1 && uri.port <= 65535);
    FUZZ_CHECK(uri.path.empty() || uri.path.front() == '/');
    if (uri.scheme == "mqtt" || uri.scheme == "mqtts") FUZZ_CHECK(uri.path.empty());

    // What Paho is given names the same broker.
    const std::string paho = uri.paho_uri();
    twinlink::detail::BrokerUri again;
    FUZZ_CHECK(parses(paho, again));
    FUZZ_CHECK(again.scheme == uri.scheme);
    FUZZ_CHECK(again.host == uri.host);
    FUZZ_CHECK(again.port == uri.port);
    FUZZ_CHECK(again.path == uri.path);
    FUZZ_CHECK(again.paho_uri() == paho);
    return 0;
}
