// spool_fsize_device: a device whose disk fills up under its spool, for the fault matrix.
//
//   spool_fsize_device SPOOL_DIR LIMIT_BYTES POINTS
//       Sets RLIMIT_FSIZE to LIMIT_BYTES with SIGXFSZ ignored, so that a write past that size fails
//       with EFBIG as on a full disk, then records the int points 0..POINTS-1 into a pipeline with a
//       spool (segments larger than the limit), the broker out of reach (a closed port), so every
//       batch has to go to the spool. Prints "recorded R refused F", the first refusal of record()
//       as "refusal: STATUS: MESSAGE", the pipeline's counters, and
//       every line the SDK logged at Error level as "log: ...". Exits 0 once recording is done and
//       the pipeline has tried the spool again for a few seconds.
#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "twinlink/datapoints.hpp"

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    if (argc != 4) {
        std::fprintf(stderr, "usage: spool_fsize_device SPOOL_DIR LIMIT_BYTES POINTS\n");
        return 2;
    }
    ::signal(SIGXFSZ, SIG_IGN);
    const rlim_t limit = std::strtoull(argv[2], nullptr, 10);
    const rlimit rl{limit, limit};
    if (::setrlimit(RLIMIT_FSIZE, &rl) != 0) {
        std::perror("setrlimit");
        return 1;
    }
    try {
        twinlink::ClientOptions c;
        c.brokers = {"mqtt://127.0.0.1:1"};
        c.client_id = "dev-fsize";
        c.connect_timeout = 1s;
        c.log_level = twinlink::LogLevel::Error;
        c.log = [](twinlink::LogLevel, const std::string& message) {
            std::printf("log: %s\n", message.c_str());
            std::fflush(stdout);
        };
        twinlink::Client client(c);
        client.start();

        twinlink::DatapointOptions o;
        o.device = "dev-fsize";
        o.batch_max_points = 250;
        o.linger = 20ms;
        twinlink::SpoolOptions spool;
        spool.dir = argv[1];
        spool.segment_bytes = 4 * limit;
        spool.max_bytes = 64 * limit;
        spool.fsync = twinlink::FsyncPolicy::Never;
        o.spool = spool;
        // The DropEvents, summed by reason (they come at most once a second per reason).
        auto drops = std::make_shared<std::pair<std::mutex, std::map<std::string, std::uint64_t>>>();
        o.on_drop = [drops](const twinlink::DropEvent& ev) {
            std::lock_guard<std::mutex> lock(drops->first);
            drops->second[ev.reason] += ev.points;
        };
        twinlink::Datapoints dp(client, o);
        const long long points = std::atoll(argv[3]);
        long long refused = 0;
        std::string first_refusal;
        for (long long i = 0; i < points; ++i) {
            try {
                dp.record("s", static_cast<std::int64_t>(i), 1'700'000'000'000 + i);
            } catch (const twinlink::Error& e) {
                if (refused++ == 0) first_refusal = std::string(twinlink::status_name(e.status())) + ": " + e.what();
            }
            if (i % 1000 == 999) std::this_thread::sleep_for(10ms);
        }
        std::this_thread::sleep_for(2500ms);  // the batcher retries the spool once a second
        const auto s = dp.stats();
        std::printf("recorded %lld refused %lld\n", points - refused, refused);
        if (refused > 0) std::printf("refusal: %s\n", first_refusal.c_str());
        std::printf("stats recorded %llu batched %llu pending %llu backlog_points %llu spooled_bytes %llu dropped %llu\n",
                    static_cast<unsigned long long>(s.recorded), static_cast<unsigned long long>(s.batched),
                    static_cast<unsigned long long>(s.pending_points), static_cast<unsigned long long>(s.backlog_points),
                    static_cast<unsigned long long>(s.spooled_bytes), static_cast<unsigned long long>(s.dropped_points));
        {
            std::lock_guard<std::mutex> lock(drops->first);
            std::string text;
            for (const auto& [reason, count] : drops->second)
                text += (text.empty() ? "" : "; ") + std::to_string(count) + " point(s): " + reason;
            std::printf("drop: %s\n", text.empty() ? "none" : text.c_str());
        }
        std::fflush(stdout);
        client.disconnect(100ms);
        return 0;
    } catch (const std::exception& e) {
        std::printf("spool_fsize_device: %s\n", e.what());
        return 1;
    }
}
