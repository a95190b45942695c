// stream_device: a device process for the kill tests, which SIGKILL it in the middle of streaming.
//
//   stream_device BROKER SPOOL_DIR DEVICE FIRST COUNT FSYNC
//       Records the int points FIRST..FIRST+COUNT-1 (series "s0".."s3" in turn, timestamp kBase +
//       value) at about 20,000 points a second into a pipeline with a spool (FSYNC: every-batch,
//       interval or never) and delivery receipts, through BROKER to whatever sink answers there.
//       After every 100 points it prints "spooled S recorded R": R points recorded so far, of
//       which S are in closed batches (a closed batch is in the spool before stats() counts it).
//       After the last point it waits for every batch to be confirmed, the ones an earlier run
//       left in the spool included, prints "confirmed N" (points confirmed by receipts in this
//       run) and exits 0; 1 when that takes more than 60 s.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "twinlink/datapoints.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kBase = 1'700'000'000'000;

twinlink::FsyncPolicy fsync_policy(const std::string& name) {
    if (name == "every-batch") return twinlink::FsyncPolicy::EveryBatch;
    if (name == "interval") return twinlink::FsyncPolicy::Interval;
    if (name == "never") return twinlink::FsyncPolicy::Never;
    throw std::runtime_error("unknown fsync policy " + name);
}

int stream(twinlink::Datapoints& dp, std::int64_t first, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) {
        const std::int64_t value = first + i;
        dp.record("s" + std::to_string(value % 4), value, kBase + value);
        if (i % 100 == 99) {
            std::printf("spooled %llu recorded %lld\n", static_cast<unsigned long long>(dp.stats().batched),
                        static_cast<long long>(i + 1));
            std::fflush(stdout);
            std::this_thread::sleep_for(5ms);
        }
    }
    dp.flush(60s);
    std::printf("confirmed %llu\n", static_cast<unsigned long long>(dp.stats().confirmed_points));
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: stream_device BROKER SPOOL_DIR DEVICE FIRST COUNT every-batch|interval|never\n");
        return 2;
    }
    try {
        twinlink::ClientOptions c;
        c.brokers = {argv[1]};
        c.client_id = argv[3];
        c.connect_timeout = 5s;
        c.reconnect_min = 50ms;
        c.reconnect_max = 300ms;
        twinlink::Client client(c);
        client.start();

        twinlink::DatapointOptions o;
        o.device = argv[3];
        o.encoding = twinlink::Encoding::Cbor;
        o.batch_max_points = 500;
        o.linger = 50ms;
        o.delivery = twinlink::DeliveryMode::Receipt;
        o.receipt_timeout = 2s;
        twinlink::SpoolOptions spool;
        spool.dir = argv[2];
        spool.fsync = fsync_policy(argv[6]);
        o.spool = spool;
        twinlink::Datapoints dp(client, o);
        const int status = stream(dp, std::atoll(argv[4]), std::atoll(argv[5]));
        client.disconnect(1s);
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stream_device: %s\n", e.what());
        return 1;
    }
}
