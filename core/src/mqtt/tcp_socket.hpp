// What twinlink needs to know or set at the TCP level, beneath Paho.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace twinlink::detail {

/// Whether a TCP connection to host:port can be opened. Used only to tell, after a failed TLS
/// connect that Paho reports without detail, a TLS-level refusal (host name or certificate) from a
/// broker that is not there at all.
bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout) noexcept;

struct Endpoint {
    std::string host;
    int port;
};

/// Sets TCP_NODELAY on this process's TCP sockets connected to one of `endpoints`; returns how many.
/// Paho C leaves Nagle's algorithm on, which with delayed acknowledgements holds a small request
/// or response back ~40 ms per hop; Paho does not expose its socket, so it is found by its peer
/// address. Other connections of the process to the same broker get it too, which only lowers
/// their latency.
int disable_nagle(const std::vector<Endpoint>& endpoints) noexcept;

}  // namespace twinlink::detail
