// BrokerUri: a parsed, checked broker address and its spelling for Paho.
#pragma once

#include <string>
#include <string_view>

namespace twinlink::detail {

struct BrokerUri {
    std::string text;    ///< as the user wrote it
    std::string scheme;  ///< mqtt, mqtts, ws or wss (tcp and ssl are normalised)
    std::string host;    ///< without brackets for IPv6
    int port = 0;
    std::string path;    ///< websocket path, "" or starting with '/'
    bool tls() const { return scheme == "mqtts" || scheme == "wss"; }
    /// tcp://, ssl://, ws:// or wss:// as Paho expects, with the port always present.
    std::string paho_uri() const;
};

/// Throws Error(InvalidArgument) naming the URI and the problem.
BrokerUri parse_broker_uri(std::string_view uri);

}  // namespace twinlink::detail
