// Why a TLS connect failed, asked of OpenSSL directly.
//
// Paho reports a refused server certificate as OpenSSL's bare "certificate verify failed" (an
// expired certificate, an unknown CA and a self-signed one alike), and a host name mismatch or a
// client certificate the broker refused as a "TCP/TLS connect failure" with no reason at all.
// After such a failure, one handshake of our own with the same trust settings reads the reason
// from OpenSSL: the verification result of the server certificate, or the alert the broker sent
// about the client certificate. It only diagnoses; the MQTT connection is always Paho's.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "mqtt/broker_uri.hpp"
#include "twinlink/client.hpp"

namespace twinlink::detail {

/// A sentence naming the check that refused the handshake with `broker` ("server certificate
/// verification failed: the certificate has expired ..."), or nothing when the probe's handshake succeeds, the broker cannot be
/// reached, or the reason is not one it knows. Blocks for at most about 2 x `timeout`.
std::optional<std::string> diagnose_tls_failure(const BrokerUri& broker, const TlsOptions& tls,
                                                std::chrono::milliseconds timeout) noexcept;

}  // namespace twinlink::detail
