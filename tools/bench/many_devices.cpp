// twinlink-many-devices: N devices in one process against one broker. Starts every connect at
// once (connect_async) and reports the time until all are connected, the process's thread count
// and the resident memory each device adds.
//
//   twinlink-many-devices --broker mqtt://127.0.0.1:PORT --devices 1000 [--runtime THREADS]
//                         [--shadow] [--sequential] [--timeout SECONDS]
//
// --runtime 0 (the default) gives every device its own threads; THREADS > 0 shares one
// twinlink::Runtime with that many dispatch threads. --shadow also creates each device's classic
// shadow after connecting (its subscriptions and timer), as an application syncing a shadow would.
// --sequential connects one device after another (connect() waits for each), as a program that
// creates and connects devices in a loop does: the cost of Paho's receive thread waking only once a
// second (docs/performance.md).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "twinlink/device.hpp"
#include "twinlink/runtime.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

long status_field(const char* name) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::string key = std::string(name) + ":";
    while (std::getline(f, line))
        if (line.compare(0, key.size(), key) == 0) return std::atol(line.c_str() + key.size());
    return -1;
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: twinlink-many-devices --broker URI --devices N [--runtime THREADS] [--shadow] "
                 "[--sequential] [--timeout SECONDS]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string broker;
    int devices = 50;
    int runtime_threads = 0;
    bool with_shadow = false;
    bool sequential = false;
    int timeout_s = 60;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--broker") broker = value();
        else if (a == "--devices") devices = std::atoi(value().c_str());
        else if (a == "--runtime") runtime_threads = std::atoi(value().c_str());
        else if (a == "--shadow") with_shadow = true;
        else if (a == "--sequential") sequential = true;
        else if (a == "--timeout") timeout_s = std::atoi(value().c_str());
        else usage();
    }
    if (broker.empty() || devices <= 0 || runtime_threads < 0) usage();

    const long threads_before = status_field("Threads");
    const long rss_before_kb = status_field("VmRSS");
    std::shared_ptr<twinlink::Runtime> runtime;
    if (runtime_threads > 0) {
        twinlink::RuntimeOptions ro;
        ro.dispatch_threads = static_cast<unsigned>(runtime_threads);
        runtime = std::make_shared<twinlink::Runtime>(ro);
    }

    const std::string run = std::to_string(::getpid());
    std::vector<std::unique_ptr<twinlink::Device>> fleet;
    fleet.reserve(static_cast<std::size_t>(devices));
    for (int i = 0; i < devices; ++i) {
        twinlink::DeviceOptions o;
        o.client.brokers = {broker};
        o.client.runtime = runtime;
        fleet.push_back(std::make_unique<twinlink::Device>("md-" + run + "-" + std::to_string(i), o));
    }

    std::mutex mu;
    std::condition_variable cv;
    int done = 0, failed = 0;
    const auto start = Clock::now();
    if (sequential) {
        for (auto& d : fleet) {
            try {
                d->connect(std::chrono::seconds(timeout_s));
            } catch (const twinlink::Error&) {
                ++failed;
            }
            ++done;
        }
    }
    for (auto& d : fleet) {
        if (sequential) break;
        d->client().connect_async(std::chrono::seconds(timeout_s),
                                  [&](std::uint64_t, const twinlink::OperationResult& r) {
                                      std::lock_guard<std::mutex> lock(mu);
                                      ++done;
                                      if (r.status != twinlink::Status::Ok) ++failed;
                                      cv.notify_all();
                                  });
    }
    {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, std::chrono::seconds(timeout_s + 5), [&] { return done == devices; });
    }
    const double connect_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (with_shadow)
        for (auto& d : fleet) d->shadow();
    std::this_thread::sleep_for(200ms);  // let the threads started by the connects settle
    const long threads = status_field("Threads");
    const long rss_kb = status_field("VmRSS");
    int connected = 0;
    for (auto& d : fleet) connected += d->client().connected() ? 1 : 0;

    std::printf("devices            %d (runtime: %s%s%s)\n", devices,
                runtime ? (std::to_string(runtime_threads) + " dispatch threads").c_str() : "none",
                with_shadow ? ", with shadow" : "", sequential ? ", connected one after another" : "");
    std::printf("connected          %d (%d failed)\n", connected, failed);
    std::printf("time to connected  %.2f s\n", connect_s);
    std::printf("threads            %ld (before the devices: %ld)\n", threads, threads_before);
    std::printf("RSS                %ld KB (before: %ld KB), %.1f KB per device\n", rss_kb, rss_before_kb,
                double(rss_kb - rss_before_kb) / devices);
    std::fflush(stdout);

    const auto stop = Clock::now();
    fleet.clear();
    runtime.reset();
    std::printf("destroyed in       %.2f s\n", std::chrono::duration<double>(Clock::now() - stop).count());
    return connected == devices ? 0 : 1;
}
