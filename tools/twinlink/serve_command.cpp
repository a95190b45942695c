// `twinlink serve`: the local cloud. Runs the shadow service (and, when it is built, the datapoint
// sink) on one broker connection, with one SQLite or PostgreSQL database, until SIGINT or SIGTERM.
// Several instances on one PostgreSQL database share the work through a shared subscription group.
#include <csignal>
#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

#include "command_line.hpp"
#include "commands.hpp"
#include "connection.hpp"
#include "stop_signals.hpp"
#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/postgres_database.hpp"
#include "twinlink/shadow_service.hpp"

#if __has_include("twinlink/datapoint_sink.hpp")
#include "twinlink/datapoint_sink.hpp"
#define TWINLINK_SERVE_DATAPOINTS 1
#else
#define TWINLINK_SERVE_DATAPOINTS 0
#endif

namespace twinlink::cli {
namespace {

using namespace std::chrono_literals;

constexpr const char* kName = "twinlink serve";
constexpr const char* kDefaultClientId = "twinlink-serve";

std::string describe(const ShadowServiceStats& s) {
    std::string rejected;
    for (const auto& [code, n] : s.rejected_by_code)
        rejected += (rejected.empty() ? "" : ", ") + std::to_string(code) + ": " + std::to_string(n);
    return std::to_string(s.requests) + " shadow requests (" + std::to_string(s.updates) + " updates, " +
           std::to_string(s.gets) + " gets, " + std::to_string(s.deletes) + " deletes), " +
           std::to_string(s.accepted) + " accepted, " + std::to_string(s.rejected) + " rejected" +
           (rejected.empty() ? "" : " (" + rejected + ")");
}

int serve(const std::vector<std::string>& args) {
    CommandLine cli(kName, "",
                    "Runs the local cloud on a broker: the shadow service, which answers the shadow requests\n"
                    "of every device and keeps the documents in a SQLite or PostgreSQL database"
#if TWINLINK_SERVE_DATAPOINTS
                    ", and the datapoint sink,\nwhich stores the datapoint batches devices send"
#endif
                    ".\nPrints \"twinlink serve: ready\" on stderr once it answers; stops on SIGINT or SIGTERM.");
    cli.option("db", "PATH|URI",
               "SQLite database file, created when missing (\":memory:\" for none), or a PostgreSQL URI\n"
               "(postgresql://user@host:port/database) that several instances may share");
    cli.option("share-group", "NAME",
               "share the requests and batches with the other instances of group NAME (MQTT 5 shared\n"
               "subscriptions: each message goes to one instance); give each instance its own --client-id");
    add_connection_options(cli, "info",
                           "MQTT client id of the persistent session (default: twinlink-serve; one per instance)");
    add_topic_options(cli);
    cli.option("max-payload", "BYTES", "largest shadow request accepted (larger ones get 413)", "65536");
    cli.flag("clean-session",
             "no persistent session (the broker then keeps nothing for serve while it is down)");
    cli.epilog("examples:\n  twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db\n"
               "  twinlink serve --broker mqtt://127.0.0.1:1883 --db postgresql://twinlink@127.0.0.1/cloud \\\n"
               "      --share-group cloud --client-id serve-1");
    if (!cli.parse(args, 0, 0)) return kExitOk;
    if (!cli.given("db")) throw UsageError("--db PATH|URI is required");
    const std::string db_arg = cli.value("db");
    const bool postgres = PostgresDatabase::is_uri(db_arg);
    const std::string share_group = cli.given("share-group") ? cli.value("share-group") : std::string();

    ShadowServiceOptions service_options;
    service_options.profile = topic_profile(cli);
    service_options.prefix = cli.value("prefix");
    service_options.limits.max_payload_bytes = parse_positive("max-payload", cli.value("max-payload"));
    try {
        validate_topic_prefix(service_options.prefix);
    } catch (const Error& e) {
        throw UsageError(std::string("--prefix: ") + e.what());
    }
    ClientOptions client_opts = client_options(cli);
    // A persistent MQTT 5 session (expiry 1 day): the broker queues the requests and batches that
    // arrive while serve restarts or reconnects, instead of dropping them for want of a subscriber.
    client_opts.mqtt_version = MqttVersion::V5;
    if (!cli.given("clean-session")) {
        client_opts.clean_session = false;
        if (client_opts.client_id.empty()) client_opts.client_id = kDefaultClientId;
    }
    const auto log = [sink = client_opts.log, level = client_opts.log_level](LogLevel l, const std::string& message) {
        if (l <= level) sink(l, message);
    };

    // Before any thread exists, so that every thread inherits the blocked mask.
    StopSignals signals;

    // One of the two, by the form of --db.
    std::unique_ptr<Database> sqlite;
    std::unique_ptr<PostgresDatabase> pg;
    if (postgres)
        pg = std::make_unique<PostgresDatabase>(db_arg);
    else
        sqlite = std::make_unique<Database>(db_arg);
    const auto open_store = [&](auto* type) {
        using Store = std::remove_pointer_t<decltype(type)>;
        return pg ? std::make_unique<Store>(*pg) : std::make_unique<Store>(*sqlite);
    };
    auto shadow_store = open_store(static_cast<ShadowStore*>(nullptr));
#if TWINLINK_SERVE_DATAPOINTS
    auto datapoint_store = open_store(static_cast<DatapointStore*>(nullptr));
#endif
    log(LogLevel::Info, "database " + (pg ? pg->uri() : sqlite->path()) + " (" +
                            std::to_string(shadow_store->list().size()) + " shadows stored)");
    if (!share_group.empty() && !postgres)
        log(LogLevel::Warning, "--share-group with a SQLite database: instances on other files do not see "
                               "each other's shadows; use a PostgreSQL database for several instances");

    Client client(client_opts);
    // Handlers first, connection second: a persistent session delivers what the broker kept for
    // serve right after the connect, and a message that finds no handler would be acknowledged
    // and lost.
    service_options.share_group = share_group;
    auto shadow_service = std::make_unique<ShadowService>(client, *shadow_store, service_options);
    for (const auto& filter : shadow_service->filters()) log(LogLevel::Debug, "shadow service subscribed to " + filter);
#if TWINLINK_SERVE_DATAPOINTS
    // The sink's default filters are under the default prefix; --prefix moves them with the shadows.
    DatapointSinkOptions sink_options;
    sink_options.share_group = share_group;
    const std::string default_head = std::string(kDefaultTopicPrefix) + "/";
    if (service_options.profile == TopicProfile::Twinlink) {
        for (auto& filter : sink_options.filters)
            if (filter.rfind(default_head, 0) == 0) filter = service_options.prefix + "/" + filter.substr(default_head.size());
        sink_options.receipt_topic = service_options.prefix + "/{device}/receipts";
    }
    auto datapoint_sink = std::make_unique<DatapointSink>(client, *datapoint_store, sink_options);
    for (const auto& filter : datapoint_sink->options().filters)
        log(LogLevel::Debug, "datapoint sink subscribed to " + filter +
                                 (share_group.empty() ? "" : " (shared in group " + share_group + ")"));
#endif

    client.start();
    log(LogLevel::Info, "connecting to " + client_opts.brokers.front() +
                            (client_opts.brokers.size() > 1 ? " (and the other brokers given)" : ""));
    auto waited = 0ms;
    while (!client.connected()) {
        if (const int sig = signals.wait(100ms)) {
            log(LogLevel::Info, std::string("stopped by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                    " before connecting");
            return kExitOk;
        }
        waited += 100ms;
        if (waited == 10s) log(LogLevel::Warning, "still waiting for the broker; retrying in the background");
    }
    client_opts.log(LogLevel::Info, "ready");  // whatever the log level: scripts wait for it

    int sig = 0;
    while ((sig = signals.wait(60s)) == 0) log(LogLevel::Debug, describe(shadow_service->stats()));
    log(LogLevel::Info, std::string("stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");

    // Disconnect before the handlers go: their unsubscribing would also end the persistent
    // session's subscriptions, and the broker would stop keeping messages for the next start.
    // Lets the last responses and receipts reach the broker, and keeps the whole stop under 1 s
    // whatever the broker does (a lost receipt only means the device sends that batch again).
    client.disconnect(250ms);
#if TWINLINK_SERVE_DATAPOINTS
    const DatapointSinkStats sink_stats = datapoint_sink->stats();
    datapoint_sink.reset();
#endif
    const ShadowServiceStats stats = shadow_service->stats();
    shadow_service.reset();
    log(LogLevel::Info, describe(stats));
#if TWINLINK_SERVE_DATAPOINTS
    log(LogLevel::Info, std::to_string(sink_stats.batches) + " datapoint batches (" +
                            std::to_string(sink_stats.points) + " points), " + std::to_string(sink_stats.duplicates) +
                            " duplicates dropped, " + std::to_string(sink_stats.rejected) + " rejected");
#endif
    return kExitOk;
}

}  // namespace
}  // namespace twinlink::cli

int run_serve_command(int argc, char** argv) {
    using namespace twinlink::cli;
    return run_guarded(kName, [&] { return serve(words(argc, argv, 1)); });
}
