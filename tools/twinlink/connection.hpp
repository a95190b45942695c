// The options every command that talks to a broker shares (--broker, TLS, credentials, topic
// profile, log level), and the log sink that writes to stderr.
#pragma once

#include <string>

#include "command_line.hpp"
#include "twinlink/client.hpp"
#include "twinlink/shadow_topics.hpp"

namespace twinlink::cli {

/// The broker used when --broker is not given: $TWINLINK_BROKER, else mqtt://127.0.0.1:1883.
std::string default_broker();

/// Declares --broker, --client-id, --username, --password, --tls-ca, --tls-cert, --tls-key,
/// --tls-insecure and --log-level (with `default_log_level`).
void add_connection_options(CommandLine& cli, const std::string& default_log_level,
                            const std::string& client_id_help = "MQTT client id (default: a random one)");

/// Declares --profile and --prefix.
void add_topic_options(CommandLine& cli);

/// Client options from the command line; logs go to stderr prefixed with `cli.name()`. Throws
/// UsageError for a bad broker URI, log level or TLS combination.
ClientOptions client_options(const CommandLine& cli);

/// The --profile option. Throws UsageError.
TopicProfile topic_profile(const CommandLine& cli);

/// Writes "PROGRAM: [level] message" lines to stderr, whole lines at a time.
LogHandler stderr_log(const std::string& program);

}  // namespace twinlink::cli
