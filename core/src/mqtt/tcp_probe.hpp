// tcp_reachable: whether a TCP connection to host:port can be opened. Used only to tell, after a
// failed TLS connect that Paho reports without detail, a TLS-level refusal (hostname or certificate)
// from a broker that is not there at all.
#pragma once

#include <chrono>
#include <string>

namespace twinlink::detail {

bool tcp_reachable(const std::string& host, int port, std::chrono::milliseconds timeout) noexcept;

}  // namespace twinlink::detail
