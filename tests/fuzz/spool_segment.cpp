// Fuzz target: any bytes as the files of a spool directory, read by the same recovery that runs
// when a device restarts. The first byte chooses the layout:
//   bits 0-3  k: the last 12*k bytes (as far as there are) are the ack log
//   bit 4     5 more bytes go to the ack log as a torn tail
//   bit 5     the segment bytes are split into two segment files (the first one closed)
// and the rest is segment data. Recovery must not throw; what it recovers must be consistent
// (pending records in seq order, none of them acknowledged, next_seq above them all), a second
// open of the repaired directory must recover the same records, and a record appended after
// recovery must be there at the next open.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "datapoints/spool.hpp"
#include "twinlink/spool_options.hpp"

#include "fuzz_check.hpp"

namespace {

using twinlink::detail::Spool;

// One directory for the whole run, emptied before each input: in /dev/shm when there is one, so
// that the target measures the parser rather than the disk.
const std::string& spool_dir() {
    // Never destroyed: the atexit handler below runs after static destructors would have.
    static const std::string& dir = *new std::string([] {
        const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string tmpl = std::string(base) + "/twinlink-fuzz-spool-XXXXXX";
        FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
        std::atexit([] {
            for (const char* f : {"lock", "acks", "acks.tmp", "00000000000000000001.seg",
                                  "00000000000000100000.seg"})
                ::unlink((spool_dir() + "/" + f).c_str());
            ::rmdir(spool_dir().c_str());
        });
        return tmpl;
    }());
    return dir;
}

void write_file(const std::string& name, std::string_view bytes) {
    std::ofstream out(spool_dir() + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    FUZZ_CHECK(out.good());
}

twinlink::SpoolOptions options() {
    twinlink::SpoolOptions o;
    o.dir = spool_dir();
    o.fsync = twinlink::FsyncPolicy::Never;
    return o;
}

struct Opened {
    std::vector<Spool::Record> pending;
    std::uint64_t next_seq;
    std::uint64_t max_seq_in_segments;
};

bool same(const std::vector<Spool::Record>& a, const std::vector<Spool::Record>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.seq == y.seq && x.topic == y.topic && x.payload == y.payload;
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned layout = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t ack_bytes = std::min<std::size_t>(rest.size(), 12 * (layout & 15u) + ((layout & 16u) ? 5 : 0));
    const std::string_view acks = rest.substr(rest.size() - ack_bytes);
    const std::string_view segments = rest.substr(0, rest.size() - ack_bytes);

    for (const char* f : {"lock", "acks", "acks.tmp", "00000000000000000001.seg", "00000000000000100000.seg"})
        ::unlink((spool_dir() + "/" + f).c_str());
    if (!acks.empty()) write_file("acks", acks);
    if (layout & 32u) {
        write_file("00000000000000000001.seg", segments.substr(0, segments.size() / 2));
        write_file("00000000000000100000.seg", segments.substr(segments.size() / 2));
    } else {
        write_file("00000000000000000001.seg", segments);
    }

    std::vector<Spool::Record> first;
    std::uint64_t next_seq = 0;
    {
        Spool spool(options());
        first = spool.take_pending();
        next_seq = spool.next_seq();
        FUZZ_CHECK(spool.take_pending().empty());
        FUZZ_CHECK(spool.records() == first.size());
        FUZZ_CHECK(spool.stats().records_recovered == first.size());
        FUZZ_CHECK(spool.stats().bytes_lost <= segments.size());
        FUZZ_CHECK(spool.disk_bytes() <= segments.size());
        std::uint64_t bytes = 0;
        for (std::size_t i = 0; i < first.size(); ++i) {
            FUZZ_CHECK(first[i].seq > 0 && first[i].seq < next_seq);
            if (i > 0) FUZZ_CHECK(first[i - 1].seq < first[i].seq);
            bytes += 22 + first[i].topic.size() + first[i].payload.size();
        }
        FUZZ_CHECK(spool.bytes() == bytes);
    }
    // The repaired directory recovers to the same records.
    std::uint64_t seq = 0;
    {
        Spool spool(options());
        FUZZ_CHECK(same(spool.take_pending(), first));
        FUZZ_CHECK(spool.next_seq() <= next_seq);
        if (!first.empty()) FUZZ_CHECK(spool.next_seq() > first.back().seq);
        seq = spool.next_seq();
        if (seq > Spool::kMaxSeq) return 0;
        spool.append(seq, "fuzz/topic", "payload");
        FUZZ_CHECK(spool.next_seq() == seq + 1);
    }
    // And an append after recovery is found at the next open, after them.
    {
        Spool spool(options());
        auto pending = spool.take_pending();
        FUZZ_CHECK(!pending.empty());
        FUZZ_CHECK(pending.back().seq == seq && pending.back().topic == "fuzz/topic" &&
                   pending.back().payload == "payload");
        pending.pop_back();
        FUZZ_CHECK(same(pending, first));
        FUZZ_CHECK(spool.next_seq() == seq + 1);
    }
    return 0;
}
