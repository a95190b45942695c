#include "connection.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "twinlink/status.hpp"

namespace twinlink::cli {

std::string default_broker() {
    const char* env = std::getenv("TWINLINK_BROKER");
    return env && *env ? env : "mqtt://127.0.0.1:1883";
}

void add_connection_options(CommandLine& cli, const std::string& default_log_level,
                            const std::string& client_id_help) {
    cli.option("broker", "URI", "broker to connect to: mqtt://, mqtts://, ws://, wss://; several are tried in turn",
               default_broker(), true)
        .option("client-id", "ID", client_id_help)
        .option("username", "NAME", "MQTT user name")
        .option("password", "SECRET", "MQTT password (default: $TWINLINK_PASSWORD)")
        .option("tls-ca", "FILE", "PEM file of the CAs that sign the broker's certificate")
        .option("tls-cert", "FILE", "client certificate (PEM) for mutual TLS")
        .option("tls-key", "FILE", "private key (PEM) of --tls-cert")
        .flag("tls-insecure", "accept any broker certificate (testing only)")
        .option("log-level", "LEVEL", "error, warning, info or debug", default_log_level);
}

void add_topic_options(CommandLine& cli) {
    cli.option("profile", "NAME", "topic layout: twinlink ({prefix}/{device}/...) or aws ($aws/things/...)",
               "twinlink")
        .option("prefix", "PREFIX", "first topic levels of the twinlink profile", std::string(kDefaultTopicPrefix));
}

TopicProfile topic_profile(const CommandLine& cli) {
    const std::string name = cli.value("profile");
    if (name == "twinlink") return TopicProfile::Twinlink;
    if (name == "aws") return TopicProfile::Aws;
    throw UsageError("unknown profile '" + name + "'; use twinlink or aws");
}

namespace {

LogLevel log_level(const std::string& name) {
    for (auto level : {LogLevel::Error, LogLevel::Warning, LogLevel::Info, LogLevel::Debug})
        if (name == log_level_name(level)) return level;
    throw UsageError("unknown log level '" + name + "'; use error, warning, info or debug");
}

}  // namespace

LogHandler stderr_log(const std::string& program) {
    auto mu = std::make_shared<std::mutex>();
    return [program, mu](LogLevel level, const std::string& message) {
        const std::string line = program + ": " +
                                 (level == LogLevel::Info ? std::string() : "[" + std::string(log_level_name(level)) + "] ") +
                                 message + "\n";
        std::lock_guard<std::mutex> lock(*mu);
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    };
}

ClientOptions client_options(const CommandLine& cli) {
    ClientOptions o;
    o.brokers = cli.values("broker");
    for (const auto& uri : o.brokers) {
        try {
            validate_broker_uri(uri);
        } catch (const Error& e) {
            throw UsageError(std::string("--broker: ") + e.what());
        }
    }
    o.client_id = cli.value("client-id");
    o.username = cli.value("username");
    o.password = cli.value("password");
    if (!cli.given("password")) {
        if (const char* env = std::getenv("TWINLINK_PASSWORD")) o.password = env;
    }
    o.tls.ca_file = cli.value("tls-ca");
    o.tls.cert_file = cli.value("tls-cert");
    o.tls.key_file = cli.value("tls-key");
    o.tls.insecure = cli.given("tls-insecure");
    if (o.tls.cert_file.empty() != o.tls.key_file.empty())
        throw UsageError("--tls-cert and --tls-key go together");
    o.log_level = log_level(cli.value("log-level"));
    o.log = stderr_log(cli.name());
    o.connect_timeout = std::chrono::milliseconds(5000);
    o.reconnect_min = std::chrono::milliseconds(250);
    o.reconnect_max = std::chrono::milliseconds(5000);
    return o;
}

}  // namespace twinlink::cli
