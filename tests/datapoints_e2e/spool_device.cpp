// spool_device: a device process for the crash test, which kills it with SIGKILL.
//
//   spool_device record BROKER SPOOL_DIR DEVICE POINTS
//       Records POINTS int points (value i, timestamp kBase + i, series "s0".."s3" in turn) into a
//       pipeline with a spool synced after every batch (FsyncPolicy::EveryBatch), at a steady pace.
//       Whenever more points are in closed batches, prints "durable N recorded R": N of the R
//       points recorded so far are on disk (a closed batch is appended and synced before stats()
//       counts it in `batched`): a prefix of each series, not always the first N of all, as
//       numbers are batched a series at a time. Give it a broker it cannot reach, so nothing is
//       acknowledged and everything stays in the spool. After the last point it prints
//       "recorded POINTS" and waits to be killed.
//
//   spool_device drain BROKER SPOOL_DIR DEVICE [BATCHES_PER_SECOND]
//       Opens the same spool, sends what it holds (at most BATCHES_PER_SECOND when given), prints
//       "acked N" as the broker's acknowledgements come in and "confirmed N" as receipts do
//       (batches so far, each line when its count changes), and once every batch is acknowledged prints
//       "drained B batches, N points" and exits 0 (1 when that takes more than 30 s).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "twinlink/datapoints.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kBase = 1'700'000'000'000;

twinlink::DatapointOptions pipeline(const std::string& spool_dir, const std::string& device, double rate) {
    twinlink::DatapointOptions o;
    o.max_batches_per_second = rate;
    o.device = device;
    o.encoding = twinlink::Encoding::Cbor;
    o.batch_max_points = 500;
    o.linger = 20ms;
    twinlink::SpoolOptions spool;
    spool.dir = spool_dir;
    spool.fsync = twinlink::FsyncPolicy::EveryBatch;
    o.spool = spool;
    return o;
}

twinlink::ClientOptions client_options(const std::string& broker) {
    twinlink::ClientOptions o;
    o.brokers = {broker};
    o.connect_timeout = 5s;
    o.reconnect_min = 50ms;
    o.reconnect_max = 300ms;
    return o;
}

int record(twinlink::Datapoints& dp, long points) {
    std::uint64_t durable = 0;
    for (long i = 0; i < points; ++i) {
        dp.record("s" + std::to_string(i % 4), static_cast<std::int64_t>(i), kBase + i);
        if (i % 200 == 199) {
            const std::uint64_t batched = dp.stats().batched;
            if (batched != durable) {
                durable = batched;
                std::printf("durable %llu recorded %ld\n", static_cast<unsigned long long>(durable), i + 1);
                std::fflush(stdout);
            }
            std::this_thread::sleep_for(1ms);
        }
    }
    std::printf("recorded %ld\n", points);
    std::fflush(stdout);
    for (;;) std::this_thread::sleep_for(1s);
}

int drain(twinlink::Datapoints& dp) {
    // Reports progress ("acked N", "confirmed N": batches acknowledged, receipted so far) while it waits.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::uint64_t acked = ~std::uint64_t{0}, confirmed = ~std::uint64_t{0};
    for (;;) {
        const auto s = dp.stats();
        if (s.acked_batches != acked) {
            acked = s.acked_batches;
            std::printf("acked %llu\n", static_cast<unsigned long long>(acked));
            std::fflush(stdout);
        }
        if (s.confirmed_batches != confirmed) {
            confirmed = s.confirmed_batches;
            std::printf("confirmed %llu\n", static_cast<unsigned long long>(confirmed));
            std::fflush(stdout);
        }
        if (s.backlog_batches == 0 && s.pending_points == 0) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            std::fprintf(stderr, "spool_device: %llu batch(es) not acknowledged within 30 s\n",
                         static_cast<unsigned long long>(s.backlog_batches));
            return 1;
        }
        std::this_thread::sleep_for(5ms);
    }
    const auto s = dp.stats();
    std::printf("drained %llu batches, %llu points\n", static_cast<unsigned long long>(s.recovered_batches),
                static_cast<unsigned long long>(s.acked_points));
    std::fflush(stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (!((mode == "record" && argc == 6) || (mode == "drain" && (argc == 5 || argc == 6)))) {
        std::fprintf(stderr,
                     "usage: spool_device record BROKER SPOOL_DIR DEVICE POINTS\n"
                     "       spool_device drain BROKER SPOOL_DIR DEVICE [BATCHES_PER_SECOND]\n");
        return 2;
    }
    try {
        const double rate = mode == "drain" && argc == 6 ? std::atof(argv[5]) : 0;
        twinlink::Client client(client_options(argv[2]));
        client.start();
        twinlink::Datapoints dp(client, pipeline(argv[3], argv[4], rate));
        if (mode == "record") return record(dp, std::atol(argv[5]));
        const int status = drain(dp);
        client.disconnect(1s);
        return status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spool_device: %s\n", e.what());
        return 1;
    }
}
