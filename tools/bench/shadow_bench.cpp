// The shadow benchmark: update round trips (request published → update/accepted received) through
// the reference shadow service on loopback, for one device pipelining its requests and for many
// devices at once. The service runs in this process on its own client, as `twinlink serve` would.
#include "bench.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "measure.hpp"
#include "twinlink/client.hpp"
#include "twinlink/database.hpp"
#include "twinlink/shadow_service.hpp"
#include "twinlink/shadow_topics.hpp"

namespace twinlink::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * double(v.size() - 1));
    return v[i];
}

// The latency at every percentile from 0 to 100, and at 99.9: the round trip's distribution, for
// the CDF chart of scripts/plot-bench.
nlohmann::json cdf(std::vector<double> v) {
    nlohmann::json points = nlohmann::json::array();
    if (v.empty()) return points;
    std::sort(v.begin(), v.end());
    const auto at = [&](double p) { return v[static_cast<std::size_t>(p * double(v.size() - 1))]; };
    for (int p = 0; p <= 100; ++p) points.push_back({p / 100.0, at(p / 100.0)});
    points.push_back({0.999, at(0.999)});
    return points;
}

ClientOptions options(const std::string& broker, const std::string& id) {
    ClientOptions o;
    o.brokers = {broker};
    o.client_id = id;
    o.max_inflight = 1024;
    o.queue_max_messages = 100000;
    return o;
}

}  // namespace

Result run_shadow(const std::string& broker, std::size_t devices, std::size_t window, std::size_t updates) {
    const std::string db_path = "/tmp/twinlink-bench-" + std::to_string(::getpid()) + ".db";
    Result r;
    {
        Database db(db_path);
        ShadowStore store(db);
        Client service_client(options(broker, "bench-shadow-service"));
        service_client.connect(milliseconds(10000));
        ShadowService service(service_client, store);

        Client client(options(broker, "bench-shadow-devices"));
        client.connect(milliseconds(10000));
        std::mutex mu;
        std::condition_variable cv;
        std::map<std::string, Clock::time_point> sent;  // by clientToken
        std::vector<double> latencies_ms;
        std::size_t rejected = 0;
        const auto on_response = [&](const MessageView& m, bool accepted) {
            const auto doc = nlohmann::json::parse(m.payload, nullptr, false);
            if (!doc.is_object() || !doc.contains("clientToken")) return;
            std::lock_guard<std::mutex> lock(mu);
            const auto it = sent.find(doc["clientToken"].get<std::string>());
            if (it == sent.end()) return;
            latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
            sent.erase(it);
            if (!accepted) ++rejected;
            cv.notify_all();
        };
        client.subscribe("tl/+/shadow/update/accepted", 1, [&](const MessageView& m) { on_response(m, true); });
        client.subscribe("tl/+/shadow/update/rejected", 1, [&](const MessageView& m) { on_response(m, false); });

        std::vector<std::string> topics;
        for (std::size_t d = 0; d < devices; ++d)
            topics.push_back(ShadowTopics(TopicProfile::Twinlink, "bench-" + std::to_string(d)).request(ShadowOperation::Update));
        const std::size_t in_flight = devices * window;
        Stopwatch watch;
        for (std::size_t i = 0; i < updates; ++i) {
            std::unique_lock<std::mutex> lock(mu);
            if (!cv.wait_for(lock, std::chrono::seconds(30), [&] { return sent.size() < in_flight; }))
                throw std::runtime_error("shadow service stopped answering");
            const std::string token = "t" + std::to_string(i);
            sent[token] = Clock::now();
            lock.unlock();
            const nlohmann::json request = {{"state", {{"reported", {{"temp", i}, {"seq", i}}}}}, {"clientToken", token}};
            client.publish(topics[i % devices], request.dump(), 1, false);
        }
        std::unique_lock<std::mutex> lock(mu);
        if (!cv.wait_for(lock, std::chrono::seconds(60), [&] { return sent.empty(); }))
            throw std::runtime_error("not every update was answered");
        r.seconds = watch.seconds();
        r.cpu_seconds = watch.cpu_seconds();
        r.extra = {{"devices", devices},
                   {"in_flight", in_flight},
                   {"p50_ms", percentile(latencies_ms, 0.50)},
                   {"p99_ms", percentile(latencies_ms, 0.99)},
                   {"rejected", rejected},
                   {"cdf_ms", cdf(latencies_ms)}};
        lock.unlock();
    }
    ::unlink(db_path.c_str());
    ::unlink((db_path + "-wal").c_str());
    ::unlink((db_path + "-shm").c_str());
    r.scenario = "shadow updates, " + std::to_string(devices) + " device(s) x " + std::to_string(window) + " in flight";
    r.points = updates;
    r.messages = updates;
    r.points_per_second = double(updates) / r.seconds;
    r.peak_rss_kb = usage().peak_rss_kb;
    return r;
}

}  // namespace twinlink::bench
