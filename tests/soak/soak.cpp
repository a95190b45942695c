// twinlink_soak: a device left running against a broker that keeps crashing, to see that nothing
// grows and nothing is lost (`make soak DURATION=30m`; docs/testing.md, "Soak").
//
// One process plays the device: a Client with a Shadow (it reports every 2 s and answers the
// desired "rate" through a delta handler) and Datapoints (about 110 points a second of three
// series, delivered with receipts). A second Client in the same process plays a backend that sets
// the desired "rate" every 15 s. The cloud is a real `twinlink serve` child with an SQLite file;
// the broker is a private mosquitto without persistence, SIGKILLed and started again on the same
// port every --restart-every seconds.
//
// Every --sample-every seconds a CSV row records this process's VmRSS (/proc/self/status), open
// descriptors (/proc/self/fd) and threads (/proc/self/task), the same of serve, and the counters.
// For this process it also records what glibc's allocator says: the bytes in use (mallinfo2) and
// the number of malloc arenas (malloc_info). RSS counts pages the allocator keeps after they were
// freed, and glibc gives a thread a new arena of its own when arenas are contended: a step in RSS
// with the bytes in use flat is the allocator's, a rise of the bytes in use is a leak.
// At the end the device stops recording, waits until every batch is confirmed, serve is stopped,
// and its database is read.
//
// It fails (exit 1) when, after the warm-up, the device's RSS, heap in use, descriptors or threads
// grew beyond their tolerance (median of the last third of the samples against the median of the
// first third for RSS and heap; the largest value of each third for descriptors and threads), when the database does
// not hold exactly the points recorded (the counter series must be 0..N-1, each once), when the
// device dropped a point, or when the shadow does not converge on the last desired rate.
#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/broker.hpp"
#include "fixtures/process.hpp"
#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace proc = twinlink::testing::detail;

constexpr const char* kDevice = "soak-device";

struct Settings {
    std::chrono::seconds duration{120};
    std::optional<std::chrono::seconds> warmup;  // default: a quarter of duration, at most 60 s
    std::chrono::seconds restart_every{45};
    std::chrono::seconds sample_every{5};
    std::string serve;  // path of the twinlink tool
    std::string csv = "soak.csv";
    long rss_tolerance_kib = 4096;
    long heap_tolerance_kib = 1024;
    long fd_tolerance = 2;
    long thread_tolerance = 2;
};

/// "90", "90s", "30m", "2h" as seconds.
std::chrono::seconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument("not a duration: '" + text + "'");
    }
    const std::string unit = text.substr(used);
    long long scale = 0;
    if (unit.empty() || unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    if (scale == 0 || n <= 0) throw std::invalid_argument("not a duration: '" + text + "' (e.g. 90s, 30m, 2h)");
    return std::chrono::seconds(n * scale);
}

void usage() {
    std::fprintf(stderr,
                 "usage: twinlink_soak --serve PATH [--duration 2m] [--warmup D] [--restart-every 45s]\n"
                 "                     [--sample-every 5s] [--csv FILE] [--rss-tolerance-kib 4096]\n"
                 "                     [--heap-tolerance-kib 1024] [--fd-tolerance 2] [--thread-tolerance 2]\n"
                 "  --serve      the twinlink tool, run as `PATH serve`\n"
                 "  durations    90s, 30m, 2h; the warm-up defaults to a quarter of --duration, at most 60 s\n");
}

Settings parse_args(int argc, char** argv) {
    Settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string key = argv[i];
        if (key == "--help" || key == "-h") {
            usage();
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::invalid_argument(key + " needs a value");
        const std::string value = argv[++i];
        if (key == "--duration") s.duration = parse_duration(value);
        else if (key == "--warmup") s.warmup = parse_duration(value);
        else if (key == "--restart-every") s.restart_every = parse_duration(value);
        else if (key == "--sample-every") s.sample_every = parse_duration(value);
        else if (key == "--serve") s.serve = value;
        else if (key == "--csv") s.csv = value;
        else if (key == "--rss-tolerance-kib") s.rss_tolerance_kib = std::stol(value);
        else if (key == "--heap-tolerance-kib") s.heap_tolerance_kib = std::stol(value);
        else if (key == "--fd-tolerance") s.fd_tolerance = std::stol(value);
        else if (key == "--thread-tolerance") s.thread_tolerance = std::stol(value);
        else throw std::invalid_argument("unknown option " + key);
    }
    if (s.serve.empty()) throw std::invalid_argument("--serve PATH is required");
    if (!s.warmup) s.warmup = std::min<std::chrono::seconds>(60s, s.duration / 4);
    if (*s.warmup >= s.duration) throw std::invalid_argument("--warmup must be shorter than --duration");
    return s;
}

/// RSS (KiB), open descriptors and threads of a process ("self" or a pid), from /proc.
struct Usage {
    long rss_kib = -1;
    long fds = -1;
    long threads = -1;
    long heap_kib = -1;  // this process only: bytes the allocator has handed out and not had back
    long arenas = -1;    // this process only: glibc malloc arenas
};

/// Heap in use (KiB) and the number of arenas of this process, from glibc's allocator.
void add_heap_usage(Usage& u) {
    const struct mallinfo2 mi = ::mallinfo2();
    u.heap_kib = static_cast<long>((mi.uordblks + mi.hblkhd) / 1024);
    char* text = nullptr;
    std::size_t size = 0;
    std::FILE* f = ::open_memstream(&text, &size);
    if (f == nullptr) return;
    ::malloc_info(0, f);
    std::fclose(f);
    long n = 0;
    for (const char* p = text; (p = std::strstr(p, "<heap nr=")) != nullptr; ++p) ++n;
    std::free(text);
    u.arenas = n;
}

long count_entries(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return -1;
    long n = 0;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    return n;
}

Usage usage_of(const std::string& pid) {
    Usage u;
    const std::string base = "/proc/" + pid;
    std::ifstream status(base + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) u.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    }
    // Our own listing of /proc/self/fd holds one descriptor of its own: not counted.
    u.fds = count_entries(base + "/fd");
    if (pid == "self" && u.fds > 0) --u.fds;
    u.threads = count_entries(base + "/task");
    return u;
}

/// `twinlink serve` with its database in a file, its output in another; stopped with SIGTERM.
class Serve {
public:
    Serve(const std::string& tool, const std::string& broker_uri, std::string db, std::string output)
        : db_(std::move(db)), output_(std::move(output)) {
        proc::SpawnOptions o;
        o.argv = {tool, "serve", "--broker", broker_uri, "--db", db_};
        o.output_path = output_;
        o.die_with_parent = true;
        pid_ = proc::spawn(o);
        const auto deadline = Clock::now() + 30s;
        while (proc::read_file(output_).find("twinlink serve: ready") == std::string::npos) {
            if (Clock::now() > deadline || !proc::is_alive(pid_))
                throw std::runtime_error("twinlink serve did not get ready:\n" + proc::read_file(output_));
            std::this_thread::sleep_for(50ms);
        }
    }
    ~Serve() { stop(); }
    Serve(const Serve&) = delete;
    Serve& operator=(const Serve&) = delete;

    pid_t pid() const { return pid_; }
    bool alive() const { return pid_ > 0 && proc::is_alive(pid_); }
    const std::string& db() const { return db_; }
    std::string output() const { return proc::read_file(output_); }

    /// SIGTERM, then SIGKILL after 10 s; the exit code, or -1 when it was killed or had died.
    int stop() {
        if (pid_ <= 0) return status_;
        ::kill(pid_, SIGTERM);
        const auto status = proc::wait_for_exit(pid_, 10s);
        if (!status) proc::terminate(pid_, SIGKILL, 1s);
        status_ = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
        pid_ = 0;
        return status_;
    }

private:
    std::string db_, output_;
    pid_t pid_ = 0;
    int status_ = -1;
};

struct Sample {
    double t = 0;  // seconds since the start
    Usage self, serve;
    std::uint64_t recorded = 0, confirmed = 0, restarts = 0;
    bool connected = false;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
    const double n = static_cast<double>(x.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sx += x[i];
        sy += y[i];
        sxx += x[i] * x[i];
        sxy += x[i] * y[i];
    }
    const double d = n * sxx - sx * sx;
    return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

/// One resource over the samples after the warm-up: prints its summary line; false when it grew
/// beyond `tolerance` (a negative one: shown, not judged).
bool judge(const char* name, const char* unit, const std::vector<Sample>& after, long tolerance, bool by_median,
           const std::function<long(const Sample&)>& value) {
    std::vector<double> t, v;
    for (const auto& s : after) {
        t.push_back(s.t);
        v.push_back(static_cast<double>(value(s)));
    }
    const std::size_t third = std::max<std::size_t>(1, v.size() / 3);
    const std::vector<double> head(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(third));
    const std::vector<double> tail(v.end() - static_cast<std::ptrdiff_t>(third), v.end());
    const double first = by_median ? median(head) : *std::max_element(head.begin(), head.end());
    const double last = by_median ? median(tail) : *std::max_element(tail.begin(), tail.end());
    const double growth = last - first;
    const bool judged = tolerance >= 0;
    const bool ok = !judged || growth <= static_cast<double>(tolerance);
    const std::string verdict = !judged ? "" : "(tolerance " + std::to_string(tolerance) + ") " + (ok ? "ok" : "GREW");
    std::printf("  %-8s first %.0f, last %.0f, min %.0f, max %.0f %s; %s of the last third against the first "
                "%+.0f; slope %+.1f %s/h %s\n",
                name, v.front(), v.back(), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                unit, by_median ? "median" : "largest", growth, slope(t, v) * 3600, unit, verdict.c_str());
    return ok;
}

twinlink::ClientOptions client_options(const std::string& uri, const std::string& id) {
    twinlink::ClientOptions o;
    o.brokers = {uri};
    o.client_id = id;
    o.connect_timeout = 5s;
    o.reconnect_min = 50ms;
    o.reconnect_max = 500ms;
    o.log_level = twinlink::LogLevel::Error;
    o.log = [id](twinlink::LogLevel, const std::string& message) {
        std::fprintf(stderr, "soak: %s: %s\n", id.c_str(), message.c_str());
    };
    return o;
}

int run(const Settings& settings) {
    const std::string dir = proc::make_temp_dir("tl-soak-");
    twinlink::testing::Broker broker(twinlink::testing::Broker::Options{false});
    Serve serve(settings.serve, broker.uri(), dir + "/cloud.db", dir + "/serve.out");

    twinlink::Client device_client(client_options(broker.uri(), kDevice));
    device_client.start();
    twinlink::Client backend_client(client_options(broker.uri(), "soak-backend"));
    backend_client.start();

    twinlink::ShadowOptions so;
    so.device = kDevice;
    twinlink::Shadow shadow(device_client, so);
    // The device applies the desired rate by reporting it, as a real device would.
    shadow.on_delta("/rate", [&shadow](const nlohmann::json& rate, std::uint64_t) {
        shadow.report_async({{"rate", rate}});
    });
    twinlink::Shadow backend(backend_client, so);

    twinlink::DatapointOptions dpo;
    dpo.device = kDevice;
    dpo.encoding = twinlink::Encoding::Cbor;
    dpo.batch_max_points = 500;
    dpo.linger = 200ms;
    dpo.delivery = twinlink::DeliveryMode::Receipt;
    dpo.receipt_timeout = 3s;
    twinlink::Datapoints dp(device_client, dpo);

    std::atomic<bool> recording{true};
    std::atomic<std::int64_t> counter{0};
    std::thread recorder([&] {
        const auto counter_series = dp.series("counter");
        for (std::int64_t i = 0; recording.load(); ++i) {
            dp.record(counter_series, i);
            counter.store(i + 1);
            if (i % 10 == 0) {
                dp.record("temperature", 20.0 + static_cast<double>(i % 100) / 10);
                dp.record("door_open", i % 20 == 0);
            }
            std::this_thread::sleep_for(10ms);
        }
    });

    std::FILE* csv = std::fopen(settings.csv.c_str(), "w");
    if (csv == nullptr) throw std::runtime_error("cannot write " + settings.csv);
    std::fprintf(csv, "t_s,rss_kib,heap_kib,malloc_arenas,fds,threads,serve_rss_kib,serve_fds,serve_threads,"
                      "recorded,confirmed,broker_restarts,connected\n");

    const auto start = Clock::now();
    const auto end = start + settings.duration;
    auto next_sample = start;
    auto next_restart = start + settings.restart_every;
    auto next_desire = start + 5s;
    auto next_report = start;
    std::uint64_t restarts = 0;
    std::int64_t rate = 0;
    std::vector<Sample> samples;
    bool serve_died = false;
    while (Clock::now() < end) {
        const auto now = Clock::now();
        if (now >= next_restart) {
            broker.restart();  // SIGKILL, then mosquitto again on the same port
            ++restarts;
            next_restart += settings.restart_every;
        }
        if (now >= next_desire) {
            backend.desire_async({{"rate", ++rate}});
            next_desire += 15s;
        }
        if (now >= next_report) {
            const auto up = std::chrono::duration_cast<std::chrono::seconds>(now - start).count();
            shadow.report_async({{"uptime_s", up}, {"recorded", counter.load()}});
            next_report += 2s;
        }
        if (now >= next_sample) {
            Sample s;
            s.t = std::chrono::duration<double>(now - start).count();
            s.self = usage_of("self");
            add_heap_usage(s.self);
            if (serve.alive()) s.serve = usage_of(std::to_string(serve.pid()));
            const auto st = dp.stats();
            s.recorded = st.recorded;
            s.confirmed = st.confirmed_points;
            s.restarts = restarts;
            s.connected = device_client.connected();
            std::fprintf(csv, "%.1f,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%llu,%llu,%llu,%d\n", s.t, s.self.rss_kib,
                         s.self.heap_kib, s.self.arenas, s.self.fds, s.self.threads, s.serve.rss_kib, s.serve.fds, s.serve.threads,
                         static_cast<unsigned long long>(s.recorded), static_cast<unsigned long long>(s.confirmed),
                         static_cast<unsigned long long>(s.restarts), s.connected ? 1 : 0);
            std::fflush(csv);
            samples.push_back(s);
            next_sample += settings.sample_every;
        }
        if (!serve.alive()) {
            serve_died = true;
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    recording = false;
    recorder.join();
    std::fclose(csv);

    bool ok = true;
    std::printf("twinlink_soak: %lld s, %llu broker restarts, %zu samples in %s\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count()),
                static_cast<unsigned long long>(restarts), samples.size(), settings.csv.c_str());
    if (serve_died) {
        std::printf("  twinlink serve died:\n%s\n", serve.output().c_str());
        ok = false;
    }

    // Every point confirmed by the sink, and the shadow on the last desired rate.
    const auto flush_started = Clock::now();
    try {
        dp.flush(120s);
    } catch (const std::exception& e) {
        std::printf("  flush: %s\n", e.what());
        ok = false;
    }
    const double flush_s = std::chrono::duration<double>(Clock::now() - flush_started).count();
    // The cloud's document, as the backend reads it: the device has applied the last rate.
    std::int64_t reported_rate = -1;
    for (const auto deadline = Clock::now() + 60s; reported_rate != rate && Clock::now() < deadline;) {
        try {
            reported_rate = backend.get(5s).reported.value("rate", std::int64_t{-1});
        } catch (const twinlink::Error& e) {
            std::printf("  shadow get: %s\n", e.what());
        }
        if (reported_rate != rate) std::this_thread::sleep_for(500ms);
    }
    const auto st = dp.stats();
    const auto cs = device_client.stats();
    device_client.disconnect(1s);
    backend_client.disconnect(1s);
    const int serve_status = serve.stop();

    // What serve stored: every point, the counter series 0..N-1 each exactly once.
    twinlink::Database db(serve.db());
    auto q = db.prepare("SELECT count(*) FROM datapoints_points WHERE device = ?1");
    q.bind(1, std::string(kDevice));
    q.step();
    const std::int64_t stored = q.column_int64(0);
    auto c = db.prepare("SELECT count(*), count(DISTINCT value), coalesce(min(value), -1), coalesce(max(value), -1) "
                        "FROM datapoints_points WHERE device = ?1 AND series = 'counter'");
    c.bind(1, std::string(kDevice));
    c.step();
    const std::int64_t counter_rows = c.column_int64(0), counter_distinct = c.column_int64(1);
    const std::int64_t counter_min = c.column_int64(2), counter_max = c.column_int64(3);
    const std::int64_t counted = counter.load();

    std::printf("  points   recorded %llu, confirmed %llu, stored %lld, dropped %llu, receipt timeouts %llu "
                "(flush %.1f s)\n",
                static_cast<unsigned long long>(st.recorded), static_cast<unsigned long long>(st.confirmed_points),
                static_cast<long long>(stored), static_cast<unsigned long long>(st.dropped_points + st.rejected_points),
                static_cast<unsigned long long>(st.receipt_timeouts), flush_s);
    std::printf("  counter  %lld recorded, %lld rows, %lld distinct, %lld..%lld\n", static_cast<long long>(counted),
                static_cast<long long>(counter_rows), static_cast<long long>(counter_distinct),
                static_cast<long long>(counter_min), static_cast<long long>(counter_max));
    std::printf("  client   %llu connects, %llu reconnects, %llu messages out, %llu in\n",
                static_cast<unsigned long long>(cs.connects), static_cast<unsigned long long>(cs.reconnects),
                static_cast<unsigned long long>(cs.messages_out), static_cast<unsigned long long>(cs.messages_in));
    std::printf("  shadow   desired rate %lld, reported %lld\n", static_cast<long long>(rate),
                static_cast<long long>(reported_rate));
    if (static_cast<std::uint64_t>(stored) != st.recorded || st.confirmed_points != st.recorded ||
        st.dropped_points + st.rejected_points != 0 || counter_rows != counted || counter_distinct != counted ||
        (counted > 0 && (counter_min != 0 || counter_max != counted - 1))) {
        std::printf("  POINTS LOST OR DUPLICATED\n");
        ok = false;
    }
    if (reported_rate != rate) {
        std::printf("  SHADOW DID NOT CONVERGE\n");
        ok = false;
    }
    if (serve_status != 0) {
        std::printf("  twinlink serve exited with %d:\n%s\n", serve_status, serve.output().c_str());
        ok = false;
    }

    std::vector<Sample> after;
    for (const auto& s : samples)
        if (s.t >= static_cast<double>(settings.warmup->count())) after.push_back(s);
    if (after.size() < 3) {
        std::printf("  too few samples after the %lld s warm-up to judge growth\n",
                    static_cast<long long>(settings.warmup->count()));
        ok = false;
    } else {
        std::printf("  after the %lld s warm-up (%zu samples), this process:\n",
                    static_cast<long long>(settings.warmup->count()), after.size());
        ok &= judge("rss", "KiB", after, settings.rss_tolerance_kib, true, [](const Sample& s) { return s.self.rss_kib; });
        ok &= judge("heap", "KiB", after, settings.heap_tolerance_kib, true,
                    [](const Sample& s) { return s.self.heap_kib; });
        constexpr long kShown = -1;
        judge("arenas", "", after, kShown, false, [](const Sample& s) { return s.self.arenas; });
        ok &= judge("fds", "", after, settings.fd_tolerance, false, [](const Sample& s) { return s.self.fds; });
        ok &= judge("threads", "", after, settings.thread_tolerance, false,
                    [](const Sample& s) { return s.self.threads; });
        std::printf("  twinlink serve (shown, not judged):\n");
        constexpr long kNotJudged = -1;
        judge("rss", "KiB", after, kNotJudged, true, [](const Sample& s) { return s.serve.rss_kib; });
        judge("fds", "", after, kNotJudged, false, [](const Sample& s) { return s.serve.fds; });
        judge("threads", "", after, kNotJudged, false, [](const Sample& s) { return s.serve.threads; });
    }

    std::printf("twinlink_soak: %s\n", ok ? "passed" : "FAILED");
    if (ok) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    } else {
        std::printf("twinlink_soak: serve's database and output kept in %s\n", dir.c_str());
    }
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "twinlink_soak: %s\n", e.what());
        usage();
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "twinlink_soak: %s\n", e.what());
        return 1;
    }
}
