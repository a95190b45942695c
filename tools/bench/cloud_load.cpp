// twinlink-cloud-load: the load of the cloud benchmark (scripts/bench-cloud). Drives devices
// against whatever `twinlink serve` instances answer on the broker, and measures what the cloud
// side sustains: datapoints stored (confirmed by the sink's receipts) per second, then shadow
// updates accepted per second. Prints one JSON object.
//
//   twinlink-cloud-load --broker URI [--devices N] [--points N] [--shadow-devices N] [--updates N]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Args {
    std::string broker;
    std::size_t devices = 4;           // datapoint devices
    std::size_t points = 200000;       // in all
    std::size_t shadow_devices = 16;
    std::size_t updates = 10000;       // in all
};

twinlink::ClientOptions client_options(const std::string& broker, const std::string& id) {
    twinlink::ClientOptions o;
    o.brokers = {broker};
    o.client_id = id;
    o.max_inflight = 256;
    o.queue_max_messages = 100000;
    o.connect_timeout = 10s;
    return o;
}

// Starts every client, then waits for all: connects of several clients run side by side.
void connect_all(std::vector<std::unique_ptr<twinlink::Client>>& clients) {
    for (auto& c : clients) c->start();
    const auto deadline = Clock::now() + 60s;
    for (auto& c : clients) {
        while (!c->connected()) {
            if (Clock::now() > deadline) throw std::runtime_error("the devices did not all connect within 60 s");
            std::this_thread::sleep_for(10ms);
        }
    }
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every device records its share as fast as it can; the clock stops when the last receipt came.
nlohmann::json run_points(const Args& a) {
    const std::size_t per_device = a.points / a.devices;
    std::vector<std::unique_ptr<twinlink::Client>> clients;
    std::vector<std::unique_ptr<twinlink::Datapoints>> dps;
    for (std::size_t d = 0; d < a.devices; ++d) {
        const std::string id = "bench-dp-" + std::to_string(d);
        clients.push_back(std::make_unique<twinlink::Client>(client_options(a.broker, id)));
    }
    connect_all(clients);
    for (std::size_t d = 0; d < a.devices; ++d) {
        const std::string id = "bench-dp-" + std::to_string(d);
        twinlink::DatapointOptions o;
        o.device = id;
        o.encoding = twinlink::Encoding::Cbor;
        o.batch_max_points = 500;
        o.linger = 20ms;
        o.delivery = twinlink::DeliveryMode::Receipt;
        o.receipt_timeout = 30s;
        dps.push_back(std::make_unique<twinlink::Datapoints>(*clients[d], o));
    }
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t d = 0; d < a.devices; ++d)
        threads.emplace_back([&, d] {
            auto& dp = *dps[d];
            for (std::size_t i = 0; i < per_device; ++i)
                dp.record("s" + std::to_string(i % 4), static_cast<double>(i), 1'700'000'000'000 + static_cast<std::int64_t>(i));
            dp.flush(300s);
        });
    for (auto& t : threads) t.join();
    const double elapsed = seconds_since(start);
    std::uint64_t confirmed = 0, resent = 0;
    for (auto& dp : dps) {
        confirmed += dp->stats().confirmed_points;
        resent += dp->stats().receipt_timeouts;
    }
    for (auto& c : clients) c->disconnect(1s);
    return {{"devices", a.devices},
            {"points", confirmed},
            {"seconds", elapsed},
            {"points_per_s", double(confirmed) / elapsed},
            {"receipt_timeouts", resent},
            {"complete", confirmed == per_device * a.devices}};
}

// Every device reports in a loop, one update in flight each: updates/s is the service's rate at
// that concurrency.
nlohmann::json run_shadow(const Args& a) {
    const std::size_t per_device = a.updates / a.shadow_devices;
    std::vector<std::unique_ptr<twinlink::Client>> clients;
    std::vector<std::unique_ptr<twinlink::Shadow>> shadows;
    for (std::size_t d = 0; d < a.shadow_devices; ++d) {
        const std::string id = "bench-sh-" + std::to_string(d);
        clients.push_back(std::make_unique<twinlink::Client>(client_options(a.broker, id)));
    }
    connect_all(clients);
    for (std::size_t d = 0; d < a.shadow_devices; ++d) {
        const std::string id = "bench-sh-" + std::to_string(d);
        twinlink::ShadowOptions o;
        o.device = id;
        o.request_timeout = 30s;
        shadows.push_back(std::make_unique<twinlink::Shadow>(*clients[d], o));
        shadows.back()->report({{"warm", true}}, 30s);  // the document exists before the clock starts
    }
    std::atomic<std::uint64_t> accepted{0}, failed{0};
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t d = 0; d < a.shadow_devices; ++d)
        threads.emplace_back([&, d] {
            for (std::size_t i = 0; i < per_device; ++i) {
                try {
                    shadows[d]->report({{"n", i}}, 60s);
                    accepted.fetch_add(1);
                } catch (const std::exception&) {
                    failed.fetch_add(1);
                }
            }
        });
    for (auto& t : threads) t.join();
    const double elapsed = seconds_since(start);
    shadows.clear();
    for (auto& c : clients) c->disconnect(1s);
    return {{"devices", a.shadow_devices},
            {"updates", accepted.load()},
            {"failed", failed.load()},
            {"seconds", elapsed},
            {"updates_per_s", double(accepted.load()) / elapsed}};
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--broker") a.broker = v;
        else if (k == "--devices") a.devices = std::strtoul(v.c_str(), nullptr, 10);
        else if (k == "--points") a.points = std::strtoul(v.c_str(), nullptr, 10);
        else if (k == "--shadow-devices") a.shadow_devices = std::strtoul(v.c_str(), nullptr, 10);
        else if (k == "--updates") a.updates = std::strtoul(v.c_str(), nullptr, 10);
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (a.broker.empty() || a.devices == 0 || a.shadow_devices == 0) {
        std::fprintf(stderr,
                     "usage: %s --broker URI [--devices N] [--points N] [--shadow-devices N] [--updates N]\n",
                     argv[0]);
        return 2;
    }
    try {
        nlohmann::json out;
        out["datapoints"] = run_points(a);
        out["shadow"] = run_shadow(a);
        std::printf("%s\n", out.dump().c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "twinlink-cloud-load: %s\n", e.what());
        return 1;
    }
}
