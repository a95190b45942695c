// `twinlink simulate`: a fleet of real devices in one process, against a broker and `twinlink serve`.
//
// Each simulated device is a twinlink::Device of its own (client id, shadow, datapoint pipeline with
// delivery receipts), as a gateway that fronts many sensors would run them. The command connects
// them all at once (connect_async: no device waits for another), records a counter series at the
// given rate on each, reports to each shadow every --shadow-every seconds and times the round trip,
// then flushes, and judges the run by what the sink stored: the points its receipts confirmed and,
// with --db, the rows in serve's database. The figures go to a table on stdout and to --json.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "commands.hpp"
#include "connection.hpp"
#include "process_usage.hpp"
#include "stop_signals.hpp"
#include "stored_datapoints.hpp"
#include "twinlink/device.hpp"
#include "twinlink/runtime.hpp"
#include "twinlink/status.hpp"

namespace {

using namespace twinlink;
using namespace twinlink::cli;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kName = "twinlink simulate";
// How often the recording loop wakes: often enough that a device's points are spread over the
// second rather than sent in one burst, rarely enough to cost nothing at 1,000 devices.
constexpr milliseconds kTick{10};
constexpr milliseconds kShadowTimeout{10000};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Counts asynchronous completions (connects, flushes, disconnects, shadow reports) that arrive
/// on the devices' dispatcher threads.
class Completions {
public:
    void done(bool ok, const std::string& message = {}) {
        std::lock_guard<std::mutex> lock(mu_);
        ++(ok ? ok_ : failed_);
        if (!ok && first_failure_.empty()) first_failure_ = message;
    }
    std::uint64_t ok() const {
        std::lock_guard<std::mutex> lock(mu_);
        return ok_;
    }
    std::uint64_t failed() const {
        std::lock_guard<std::mutex> lock(mu_);
        return failed_;
    }
    std::uint64_t total() const {
        std::lock_guard<std::mutex> lock(mu_);
        return ok_ + failed_;
    }
    std::string first_failure() const {
        std::lock_guard<std::mutex> lock(mu_);
        return first_failure_;
    }

private:
    mutable std::mutex mu_;
    std::uint64_t ok_ = 0, failed_ = 0;
    std::string first_failure_;
};

/// Shadow round trips: from report_start() to the cloud's update/accepted.
class RoundTrips {
public:
    void started() { started_.fetch_add(1); }
    void finished(double ms, bool ok) {
        std::lock_guard<std::mutex> lock(mu_);
        if (ok) samples_.push_back(ms);
        else ++failed_;
    }
    std::uint64_t outstanding() const {
        std::lock_guard<std::mutex> lock(mu_);
        return started_.load() - samples_.size() - failed_;
    }
    std::uint64_t accepted() const {
        std::lock_guard<std::mutex> lock(mu_);
        return samples_.size();
    }
    std::uint64_t failed() const {
        std::lock_guard<std::mutex> lock(mu_);
        return failed_;
    }
    std::uint64_t started_count() const { return started_.load(); }
    /// The q-quantile (nearest rank) of the accepted round trips in ms; nothing without samples.
    std::optional<double> quantile(double q) const {
        std::lock_guard<std::mutex> lock(mu_);
        if (samples_.empty()) return std::nullopt;
        std::vector<double> s = samples_;
        const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.size())));
        const std::size_t at = rank == 0 ? 0 : std::min(rank - 1, s.size() - 1);
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(at), s.end());
        return s[at];
    }

private:
    mutable std::mutex mu_;
    std::atomic<std::uint64_t> started_{0};
    std::vector<double> samples_;
    std::uint64_t failed_ = 0;
};

struct SimulatedDevice {
    std::unique_ptr<Device> device;
    Datapoints* datapoints = nullptr;
    Shadow* shadow = nullptr;
    Datapoints::SeriesId counter{0};
    std::uint64_t next_value = 0;  // the counter series: 0, 1, 2, ... (the sink's rows can be checked)
    std::uint64_t reports = 0;
    Clock::time_point next_report;
};

struct Settings {
    unsigned long devices = 10;
    double rate = 10;            // points per second per device
    double duration_s = 10;
    double shadow_every_s = 5;   // 0: no shadow reports
    double connect_timeout_s = 30;
    double flush_timeout_s = 30;
    std::string client_prefix = "sim";
    Encoding encoding = Encoding::Json;
    std::string json_path;
    std::string db_path;
    unsigned runtime_threads = 2;  // 0: no runtime, each device's client has threads of its own
    bool progress = false;
};

Encoding parse_encoding(const std::string& name) {
    for (auto e : {Encoding::Json, Encoding::Cbor, Encoding::Compact})
        if (name == encoding_name(e)) return e;
    throw UsageError("--encoding: unknown encoding '" + name + "'; use json, cbor or compact");
}

double parse_rate(std::string_view option, const std::string& text) {
    const double v = parse_seconds(option, text);  // a non-negative decimal number
    if (v <= 0) throw UsageError("--" + std::string(option) + " must be above 0");
    return v;
}

std::string fixed(double v, int decimals) {
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(decimals);
    s << v;
    return s.str();
}

std::string ms_or_dash(const std::optional<double>& v) { return v ? fixed(*v, 1) + " ms" : "-"; }

nlohmann::json json_or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

struct Totals {
    std::uint64_t recorded = 0, confirmed = 0, dropped = 0, rejected = 0, receipt_timeouts = 0, sent = 0;
    std::uint64_t reconnects = 0, connect_failures = 0;
};

Totals totals(const std::vector<SimulatedDevice>& fleet) {
    Totals t;
    for (const auto& d : fleet) {
        const DatapointStats s = d.datapoints->stats();
        t.recorded += s.recorded;
        t.confirmed += s.confirmed_points;
        t.dropped += s.dropped_points;
        t.rejected += s.rejected_points;
        t.receipt_timeouts += s.receipt_timeouts;
        t.sent += s.sent;
        const ClientStats c = d.device->client().stats();
        t.reconnects += c.reconnects;
        t.connect_failures += c.connect_failures;
    }
    return t;
}

/// The rows serve's database (a SQLite file, read-only, or PostgreSQL) holds for the simulated
/// devices; nothing when it has no datapoint tables yet.
std::optional<std::uint64_t> stored_rows(const std::string& db, const std::vector<SimulatedDevice>& fleet) {
    StoredDatapoints stored(db);
    if (!stored.has_datapoints()) return std::nullopt;
    std::uint64_t rows = 0;
    for (const auto& d : fleet) rows += stored.store().count(d.device->id());
    return rows;
}

class ProgressLine {
public:
    explicit ProgressLine(bool on) : on_(on) {}
    void show(const std::string& text) {
        if (!on_) return;
        std::fprintf(stderr, "\r%s\033[K", text.c_str());
        std::fflush(stderr);
        shown_ = true;
    }
    void end() {
        if (!shown_) return;
        std::fputc('\n', stderr);
        shown_ = false;
    }

private:
    bool on_;
    bool shown_ = false;
};

int simulate(const std::vector<std::string>& args) {
    CommandLine cli(kName, "",
                    "Runs a fleet of simulated devices in this process against a broker and 'twinlink serve':\n"
                    "each device has its own client id, shadow and datapoint pipeline (with the sink's\n"
                    "receipts). All connect at once; each records a counter series at --rate points per\n"
                    "second for --duration seconds and reports to its shadow every --shadow-every seconds;\n"
                    "then every device flushes. Prints a table (points/s stored, shadow round trip, reconnects,\n"
                    "RSS per device, threads, CPU per 1,000 points) and writes it to --json. Exit status 1 when\n"
                    "a device did not connect or a recorded point was not confirmed stored.");
    cli.option("devices", "N", "devices to simulate", "10")
        .option("rate", "R", "points per second of each device", "10")
        .option("duration", "SECONDS", "how long the devices record", "10")
        .option("shadow-every", "SECONDS", "each device reports to its shadow this often (0: never)", "5")
        .option("client-prefix", "PREFIX", "device ids (and client ids) are PREFIX-0, PREFIX-1, ...", "sim")
        .option("encoding", "NAME", "datapoint encoding: json, cbor or compact", "json")
        .option("json", "FILE", "also write the results to FILE as JSON")
        .option("db", "PATH|URI",
                "serve's database, its SQLite file (read-only) or PostgreSQL URI, read to count the rows\n"
                "this run stored")
        .option("connect-timeout", "SECONDS", "how long every device may take to connect", "30")
        .option("flush-timeout", "SECONDS", "how long the final flush may take", "30")
        .option("runtime-threads", "K",
                "the devices share a twinlink::Runtime with K dispatch threads (0: none, each device's "
                "client has threads of its own)",
                "2")
        .flag("progress", "show the progress line on stderr even when it is not a terminal");
    add_connection_options(cli, "warning", "not used: each device's client id is its device id (--client-prefix)");
    add_topic_options(cli);
    cli.epilog("example:\n"
               "  twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db &\n"
               "  twinlink simulate --broker mqtt://127.0.0.1:1883 --devices 100 --rate 10 --duration 30 \\\n"
               "      --shadow-every 2 --db cloud.db --json sim.json");
    if (!cli.parse(args, 0, 0)) return kExitOk;
    if (cli.given("client-id")) throw UsageError("--client-id: each device's client id is its device id; use --client-prefix");

    Settings s;
    s.devices = parse_positive("devices", cli.value("devices"));
    s.rate = parse_rate("rate", cli.value("rate"));
    s.duration_s = parse_rate("duration", cli.value("duration"));
    s.shadow_every_s = parse_seconds("shadow-every", cli.value("shadow-every"));
    s.connect_timeout_s = parse_rate("connect-timeout", cli.value("connect-timeout"));
    s.flush_timeout_s = parse_rate("flush-timeout", cli.value("flush-timeout"));
    s.client_prefix = cli.value("client-prefix");
    s.encoding = parse_encoding(cli.value("encoding"));
    s.json_path = cli.value("json");
    s.db_path = cli.value("db");
    s.progress = cli.given("progress") || ::isatty(STDERR_FILENO) == 1;
    const std::string runtime_threads = cli.value("runtime-threads");
    if (runtime_threads != "0") {
        const unsigned long k = parse_positive("runtime-threads", runtime_threads);
        if (k > 256) throw UsageError("--runtime-threads: at most 256");
        s.runtime_threads = static_cast<unsigned>(k);
    } else {
        s.runtime_threads = 0;
    }
    const TopicProfile profile = topic_profile(cli);
    const std::string prefix = cli.value("prefix");
    ClientOptions client = client_options(cli);
    try {
        validate_topic_prefix(prefix);
    } catch (const Error& e) {
        throw UsageError(std::string("--prefix: ") + e.what());
    }

    // Before any thread exists, so that every thread inherits the blocked mask.
    StopSignals signals;
    ProgressLine progress(s.progress);
    bool interrupted = false;
    const auto stopped = [&](milliseconds wait) {
        if (interrupted) return true;
        if (signals.wait(wait) != 0) interrupted = true;
        return interrupted;
    };

    // The callbacks' targets outlive the fleet: a device's destructor completes what is still
    // pending with Canceled.
    Completions connects, flushes, disconnects;
    RoundTrips round_trips;
    const ProcessUsage before = process_usage();
    if (s.runtime_threads > 0) client.runtime = std::make_shared<Runtime>(RuntimeOptions{s.runtime_threads});
    std::vector<SimulatedDevice> fleet(s.devices);
    for (unsigned long i = 0; i < s.devices; ++i) {
        DeviceOptions o;
        o.client = client;
        o.profile = profile;
        o.prefix = prefix;
        o.shadow.request_timeout = kShadowTimeout;
        o.datapoints.encoding = s.encoding;
        const std::string id = s.client_prefix + "-" + std::to_string(i);
        try {
            fleet[i].device = std::make_unique<Device>(id, std::move(o));
        } catch (const Error& e) {
            throw UsageError(e.what());  // a bad --client-prefix makes a bad device id
        }
        // Shadow and pipeline before connecting, so that their subscriptions go with the connect.
        fleet[i].shadow = &fleet[i].device->shadow();
        fleet[i].datapoints = &fleet[i].device->datapoints();
        fleet[i].counter = fleet[i].datapoints->series("counter");
    }

    // Connect: every device at once.
    const auto connect_start = Clock::now();
    const auto connect_timeout = milliseconds(static_cast<long long>(s.connect_timeout_s * 1000));
    for (auto& d : fleet)
        d.device->client().connect_async(connect_timeout, [&connects](std::uint64_t, const OperationResult& r) {
            connects.done(r.status == Status::Ok, r.message);
        });
    std::optional<double> connect_ms;
    while (connects.total() < s.devices && !stopped(50ms)) {
        progress.show("simulate: connecting " + std::to_string(connects.ok()) + "/" + std::to_string(s.devices) +
                      "  " + fixed(seconds_since(connect_start), 1) + " s");
    }
    if (connects.ok() == s.devices) connect_ms = seconds_since(connect_start) * 1000;
    progress.end();
    if (connects.failed() > 0)
        std::cerr << kName << ": " << connects.failed() << " of " << s.devices
                  << " devices did not connect (first: " << connects.first_failure() << "); they keep trying\n";
    const ProcessUsage connected_usage = process_usage();

    // What the database held for these device ids before this run (an earlier run's rows).
    std::uint64_t rows_before = 0;
    if (!s.db_path.empty()) {
        try {
            rows_before = stored_rows(s.db_path, fleet).value_or(0);
        } catch (const Error&) {
            // Not created yet by serve: nothing stored before.
        }
    }

    // Record and report.
    const auto run_start = Clock::now();
    const ProcessUsage run_start_usage = process_usage();
    const auto run_end = run_start + milliseconds(static_cast<long long>(s.duration_s * 1000));
    const auto shadow_every = milliseconds(static_cast<long long>(s.shadow_every_s * 1000));
    for (std::size_t i = 0; i < fleet.size(); ++i)  // spread over the period, not all at once
        fleet[i].next_report = run_start + shadow_every * static_cast<long long>(i + 1) / static_cast<long long>(fleet.size());
    std::uint64_t record_errors = 0;
    std::string first_record_error;
    auto next_progress = run_start + 1s;
    std::uint64_t last_confirmed = 0;
    auto last_progress = run_start;
    while (!interrupted) {
        const auto now = Clock::now();
        const auto elapsed = std::min(now, run_end) - run_start;
        const auto due = static_cast<std::uint64_t>(std::chrono::duration<double>(elapsed).count() * s.rate);
        for (auto& d : fleet) {
            for (; d.next_value < due; ++d.next_value) {
                try {
                    d.datapoints->record(d.counter, static_cast<std::int64_t>(d.next_value));
                } catch (const Error& e) {
                    if (record_errors++ == 0) first_record_error = e.what();
                }
            }
            if (shadow_every.count() > 0 && now >= d.next_report && now < run_end) {
                d.next_report += shadow_every;
                const nlohmann::json reported = {{"sim", {{"n", ++d.reports}}}};
                round_trips.started();
                const auto sent = Clock::now();
                d.shadow->report_start(reported, kShadowTimeout,
                                       [&round_trips, sent](std::uint64_t, const OperationResult& r) {
                                           round_trips.finished(seconds_since(sent) * 1000, r.status == Status::Ok);
                                       });
            }
        }
        if (now >= run_end) break;
        if (now >= next_progress) {
            const Totals t = totals(fleet);
            const double rate = static_cast<double>(t.confirmed - last_confirmed) /
                                std::max(1e-3, std::chrono::duration<double>(now - last_progress).count());
            last_confirmed = t.confirmed;
            last_progress = now;
            progress.show("simulate: " + fixed(seconds_since(run_start), 0) + "/" + fixed(s.duration_s, 0) +
                          " s  connected " + std::to_string(connects.ok()) + "/" + std::to_string(s.devices) +
                          "  recorded " + std::to_string(t.recorded) + "  stored " + std::to_string(t.confirmed) +
                          " (" + fixed(rate, 0) + "/s)  shadow p50 " + ms_or_dash(round_trips.quantile(0.5)) +
                          "  reconnects " + std::to_string(t.reconnects));
            next_progress += 1s;
        }
        stopped(std::min<milliseconds>(kTick, std::chrono::duration_cast<milliseconds>(run_end - now) + 1ms));
    }
    const double recorded_s = std::chrono::duration<double>(std::min(Clock::now(), run_end) - run_start).count();
    const ProcessUsage run_usage = process_usage();

    // Flush: every device's points confirmed stored (or the timeout), all at once.
    progress.show("simulate: flushing");
    const auto flush_timeout = milliseconds(static_cast<long long>(s.flush_timeout_s * 1000));
    const auto flush_start = Clock::now();
    for (auto& d : fleet)
        d.datapoints->flush_start(interrupted ? std::min(flush_timeout, milliseconds(3000)) : flush_timeout,
                                  [&flushes](std::uint64_t, const OperationResult& r) {
                                      flushes.done(r.status == Status::Ok, r.message);
                                  });
    // Bounded by the flush timeout (each flush ends by then), with a margin; a second Ctrl-C
    // stops waiting.
    bool second_interrupt = false;
    const auto flush_deadline = flush_start + flush_timeout + 5s;
    while ((flushes.total() < s.devices || round_trips.outstanding() > 0) && Clock::now() < flush_deadline) {
        if (signals.wait(50ms) != 0) {
            interrupted = second_interrupt = true;
            break;
        }
    }
    const auto flushed_at = Clock::now();
    const ProcessUsage end_usage = process_usage();
    progress.end();

    const Totals t = totals(fleet);
    std::optional<std::uint64_t> rows;
    std::string rows_error;
    if (!s.db_path.empty()) {
        try {
            rows = stored_rows(s.db_path, fleet);
            if (rows) *rows -= std::min(*rows, rows_before);
        } catch (const Error& e) {
            rows_error = e.what();
        }
    }

    // Disconnect every device at once, so that none of the destructors waits for a connection.
    for (auto& d : fleet)
        d.device->client().disconnect_async(second_interrupt ? 0ms : 500ms,
                                            [&disconnects](std::uint64_t, const OperationResult& r) {
                                                disconnects.done(r.status == Status::Ok);
                                            });
    const auto disconnect_deadline = Clock::now() + 10s;
    while (disconnects.total() < s.devices && Clock::now() < disconnect_deadline && signals.wait(20ms) == 0) {
    }

    const double stored_span_s = std::chrono::duration<double>(flushed_at - run_start).count();
    const std::uint64_t lost = t.recorded - std::min(t.recorded, t.confirmed);
    const double cpu_ms = end_usage.cpu_ms - run_start_usage.cpu_ms;
    const double rss_per_device_kib =
        (static_cast<double>(run_usage.rss_kib) - static_cast<double>(before.rss_kib)) / static_cast<double>(s.devices);
    const auto p50 = round_trips.quantile(0.5), p99 = round_trips.quantile(0.99);
    const double stored_per_s = stored_span_s > 0 ? static_cast<double>(t.confirmed) / stored_span_s : 0;
    // NaN without a point (written as null in the JSON, "-" in the table).
    const double cpu_per_1000 = t.confirmed > 0 ? cpu_ms * 1000 / static_cast<double>(t.confirmed) : std::nan("");

    nlohmann::ordered_json out;
    out["devices"] = s.devices;
    out["rate_per_device"] = s.rate;
    out["duration_s"] = s.duration_s;
    out["shadow_every_s"] = s.shadow_every_s;
    out["encoding"] = encoding_name(s.encoding);
    out["runtime_threads"] = s.runtime_threads > 0 ? nlohmann::json(s.runtime_threads) : nlohmann::json();
    out["connected"] = connects.ok();
    out["connect_ms"] = json_or_null(connect_ms);
    out["recorded_s"] = recorded_s;
    out["flush_ms"] = std::chrono::duration<double, std::milli>(flushed_at - flush_start).count();
    out["points_recorded"] = t.recorded;
    out["points_confirmed"] = t.confirmed;
    out["points_stored_rows"] = rows ? nlohmann::json(*rows) : nlohmann::json();
    out["points_lost"] = lost;
    out["points_dropped"] = t.dropped;
    out["points_rejected"] = t.rejected + record_errors;
    out["points_per_s_stored"] = stored_per_s;
    out["batches_sent"] = t.sent;
    out["receipt_timeouts"] = t.receipt_timeouts;
    out["shadow_reports"] = round_trips.started_count();
    out["shadow_accepted"] = round_trips.accepted();
    out["shadow_failed"] = round_trips.failed();
    out["shadow_p50_ms"] = json_or_null(p50);
    out["shadow_p99_ms"] = json_or_null(p99);
    out["reconnects"] = t.reconnects;
    out["connect_failures"] = t.connect_failures;
    out["rss_kib_before"] = before.rss_kib;
    out["rss_kib_connected"] = connected_usage.rss_kib;
    out["rss_kib_end"] = run_usage.rss_kib;
    out["peak_rss_kib"] = end_usage.peak_rss_kib;
    out["rss_per_device_kib"] = rss_per_device_kib;
    out["threads_before"] = before.threads;
    out["threads"] = run_usage.threads;
    out["cpu_ms"] = cpu_ms;
    out["cpu_ms_per_1000_points"] = std::isnan(cpu_per_1000) ? nlohmann::json() : nlohmann::json(cpu_per_1000);
    out["interrupted"] = interrupted;

    const auto row = [](const std::string& name, const std::string& value) {
        std::cout << "  " << name << std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') << value << "\n";
    };
    std::cout << "twinlink simulate: " << s.devices << " devices, " << fixed(s.rate, 1) << " points/s each, "
              << fixed(recorded_s, 1) << " s, "
              << (s.runtime_threads > 0 ? "a runtime of " + std::to_string(s.runtime_threads) + " dispatch threads"
                                        : std::string("no runtime"))
              << (interrupted ? " (interrupted)" : "") << "\n";
    row("connected", std::to_string(connects.ok()) + "/" + std::to_string(s.devices) +
                         (connect_ms ? " in " + fixed(*connect_ms, 0) + " ms" : ""));
    row("points recorded", std::to_string(t.recorded));
    row("points confirmed (receipts)", std::to_string(t.confirmed));
    row("points stored (rows)", rows ? std::to_string(*rows) : (rows_error.empty() ? "-" : "? (" + rows_error + ")"));
    row("points lost", std::to_string(lost) + " (dropped " + std::to_string(t.dropped) + ")");
    row("points/s stored", fixed(stored_per_s, 0));
    row("shadow round trip p50", ms_or_dash(p50));
    row("shadow round trip p99", ms_or_dash(p99));
    row("shadow reports", std::to_string(round_trips.accepted()) + " accepted, " +
                              std::to_string(round_trips.failed()) + " failed");
    row("reconnects", std::to_string(t.reconnects));
    row("receipt timeouts", std::to_string(t.receipt_timeouts));
    row("RSS per device", fixed(rss_per_device_kib, 1) + " KiB");
    row("threads", std::to_string(run_usage.threads) + " (" + std::to_string(before.threads) + " before)");
    row("CPU per 1,000 points", std::isnan(cpu_per_1000) ? "-" : fixed(cpu_per_1000, 2) + " ms");
    if (record_errors > 0)
        std::cerr << kName << ": " << record_errors << " points refused by record() (first: " << first_record_error
                  << ")\n";

    if (!s.json_path.empty()) {
        std::ofstream f(s.json_path, std::ios::trunc);
        f << out.dump(2) << "\n";
        if (!f) throw Error(Status::Io, "cannot write " + s.json_path);
    }
    if (interrupted) return kExitOk;
    return connects.ok() == s.devices && lost == 0 ? kExitOk : kExitFailure;
}

}  // namespace

int run_simulate_command(int argc, char** argv) {
    return twinlink::cli::run_guarded(kName, [&] { return simulate(twinlink::cli::words(argc, argv, 1)); });
}
