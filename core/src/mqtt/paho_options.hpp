// Translation between twinlink's client options and Paho's, and of Paho's failures to Status.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <mqtt/connect_options.h>
#include <mqtt/exception.h>

#include "mqtt/broker_uri.hpp"
#include "twinlink/client.hpp"

namespace twinlink::detail {

/// Checks what Paho would only reject late or obscurely; throws Error(InvalidArgument).
void validate_client_options(const ClientOptions& options, const std::vector<BrokerUri>& brokers);

/// Fills `c`, the connect options of every attempt, in place. No TLS error callback is set: Paho
/// C++ 1.2 gives Paho C the copy that connect() takes by value as its context, which is gone
/// before the handshake (tls_failure() asks OpenSSL for the reason instead). In place because Paho C++ 1.2's connect_options keeps pointers
/// from its C struct into its own members (the MQTT 5 connect properties among them) that a copy
/// or move does not always point at the new object: a connect_options built elsewhere and moved
/// into place handed Paho C a dangling properties pointer (AddressSanitizer: SEGV in
/// MQTTProperties_copy with a persistent MQTT 5 session).
void fill_connect_options(mqtt::connect_options& c, const ClientOptions& options,
                          const std::vector<BrokerUri>& brokers);

struct ConnectFailure {
    Status status;
    std::string message;
    /// Retrying with the same options cannot succeed (bad certificate, refused credentials).
    bool permanent() const { return status == Status::TlsError || status == Status::NotAuthorized; }
};

/// Classifies a failed connect: `tls_error` is what the TLS error callback reported, if anything.
ConnectFailure classify_connect_failure(const mqtt::exception& e, const std::string& brokers,
                                        const std::string& tls_error);
/// The same, and for TLS brokers that accept TCP connections, a bare failure is a TLS refusal;
/// a TLS failure's message names the check that refused it (tls_failure()).
ConnectFailure classify_connect_failure(const mqtt::exception& e, const std::vector<BrokerUri>& brokers,
                                        const std::string& brokers_text, const TlsOptions& tls,
                                        const std::string& tls_error);
/// A TLS refusal by one of `brokers`, with the reason a handshake of our own finds
/// (diagnose_tls_failure()): an expired, untrusted or misnamed server certificate, a client
/// certificate missing or refused, each in its own words. `tls_error` is OpenSSL's message from
/// Paho's handshake, if any: the message when the probe finds no reason. Blocks for the probe (about a second, at most ~4 s per broker).
ConnectFailure tls_failure(const std::vector<BrokerUri>& brokers, const std::string& brokers_text,
                           const TlsOptions& tls, std::string tls_error);

}  // namespace twinlink::detail
