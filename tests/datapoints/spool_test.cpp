// The durable spool: append/ack/reopen, recovery from torn, corrupt and zero-filled records, the ack
// log, sequence numbers that survive everything being acknowledged, the directory lock, the space
// bound, segment rotation and deletion.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "datapoints/spool.hpp"
#include "twinlink/status.hpp"

namespace {

namespace fs = std::filesystem;
using twinlink::Error;
using twinlink::FsyncPolicy;
using twinlink::SpoolOptions;
using twinlink::Status;
using twinlink::detail::Spool;

constexpr std::size_t kHeader = 22;  // record header and topic length

class TempDir {
public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "twinlink-spool-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<fs::path> segments(const std::string& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".seg") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

SpoolOptions options(const std::string& dir, FsyncPolicy fsync = FsyncPolicy::Never) {
    SpoolOptions o;
    o.dir = dir;
    o.fsync = fsync;
    return o;
}

std::string payload_of(std::uint64_t seq, std::size_t size = 60) {
    std::string p = "batch-" + std::to_string(seq) + ":";
    while (p.size() < size) p += static_cast<char>('a' + (p.size() + seq) % 26);
    return p;
}

std::string topic_of(std::uint64_t seq) { return "tl/dev/dp/" + std::to_string(seq % 3); }

void append(Spool& s, std::uint64_t seq, std::size_t size = 60) { s.append(seq, topic_of(seq), payload_of(seq, size)); }

std::vector<std::uint64_t> pending_seqs(Spool& s) {
    std::vector<std::uint64_t> seqs;
    for (const auto& r : s.take_pending()) {
        EXPECT_EQ(r.topic, topic_of(r.seq));
        EXPECT_EQ(r.payload.substr(0, r.payload.find(':') + 1), "batch-" + std::to_string(r.seq) + ":");
        seqs.push_back(r.seq);
    }
    return seqs;
}

using Seqs = std::vector<std::uint64_t>;

TEST(Spool, AppendAckReopen) {
    TempDir dir;
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(s.next_seq(), 1u);
        EXPECT_TRUE(s.take_pending().empty());
        for (std::uint64_t seq = 1; seq <= 5; ++seq) append(s, seq);
        EXPECT_EQ(s.next_seq(), 6u);
        EXPECT_EQ(s.records(), 5u);
        EXPECT_EQ(s.bytes(), 5 * (kHeader + 11 + 60));
        s.ack(2);
        s.ack(4);
        s.ack(4);   // twice: ignored
        s.ack(99);  // unknown: ignored
        EXPECT_EQ(s.records(), 3u);
        EXPECT_EQ(s.bytes(), 3 * (kHeader + 11 + 60));
    }
    Spool s(options(dir.path()));
    EXPECT_EQ(s.stats().records_recovered, 3u);
    EXPECT_EQ(s.next_seq(), 6u);
    EXPECT_EQ(s.records(), 3u);
    const auto pending = s.take_pending();
    ASSERT_EQ(pending.size(), 3u);
    EXPECT_EQ(pending[0].seq, 1u);
    EXPECT_EQ(pending[0].topic, topic_of(1));
    EXPECT_EQ(pending[0].payload, payload_of(1));
    EXPECT_EQ(pending[1].seq, 3u);
    EXPECT_EQ(pending[2].seq, 5u);
    EXPECT_TRUE(s.take_pending().empty());
}

TEST(Spool, ReopenAppendsToTheSameSegment) {
    TempDir dir;
    { Spool s(options(dir.path())); append(s, 1); append(s, 2); }
    { Spool s(options(dir.path())); append(s, 3); }
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{1, 2, 3}));
    EXPECT_EQ(segments(dir.path()).size(), 1u);
}

TEST(Spool, PayloadsAreOpaqueBytes) {
    TempDir dir;
    const std::string binary("\x00\xd7\x1e\x5b\xa9\xff\n", 7);  // includes the record magic
    {
        Spool s(options(dir.path()));
        s.append(1, "", binary);
        s.append(2, std::string(65535, 't'), "");
        EXPECT_THROW(s.append(3, std::string(65536, 't'), ""), Error);
    }
    Spool s(options(dir.path()));
    const auto pending = s.take_pending();
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].payload, binary);
    EXPECT_EQ(pending[0].topic, "");
    EXPECT_EQ(pending[1].topic.size(), 65535u);
    EXPECT_EQ(s.stats().corrupt_records, 0u);
}

TEST(Spool, SeqMustNotGoBackButMayJump) {
    TempDir dir;
    Spool s(options(dir.path()));
    append(s, 1);
    try {
        append(s, 1);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument);
    }
    EXPECT_THROW(s.append(0, "t", "p"), Error);
    append(s, 10);
    EXPECT_EQ(s.next_seq(), 11u);
}

// Found by fuzz_spool_segment: a record of seq 2^64-1 (appended, or read back from a damaged
// segment) wrapped next_seq() to 0, after which any seq was accepted again.
TEST(Spool, LargestSeqDoesNotWrapNextSeq) {
    TempDir dir;
    {
        Spool s(options(dir.path()));
        EXPECT_THROW(s.append(UINT64_MAX, "t", "p"), Error);
        s.append(Spool::kMaxSeq, "t", "p");
        EXPECT_EQ(s.next_seq(), UINT64_MAX);
        EXPECT_THROW(s.append(1, "t", "p"), Error);
    }
    Spool s(options(dir.path()));
    EXPECT_EQ(s.next_seq(), UINT64_MAX);
    ASSERT_EQ(s.take_pending().size(), 1u);
}

// --- recovery -------------------------------------------------------------------------------

// Three records; returns the segment's bytes and where records 2 and 3 start.
std::string three_records(const std::string& dir, std::size_t& second, std::size_t& third) {
    {
        Spool s(options(dir));
        append(s, 1, 40);
        append(s, 2, 50);
        append(s, 3, 70);
    }
    second = kHeader + topic_of(1).size() + 40;
    third = second + kHeader + topic_of(2).size() + 50;
    const auto files = segments(dir);
    EXPECT_EQ(files.size(), 1u);
    return read_file(files.at(0));
}

TEST(SpoolRecovery, TornLastRecordAtEveryLength) {
    TempDir dir;
    std::size_t second, third;
    const std::string original = three_records(dir.path(), second, third);
    const fs::path file = segments(dir.path()).at(0);
    for (std::size_t cut = third; cut < original.size(); ++cut) {
        write_file(file, original.substr(0, cut));
        {
            Spool s(options(dir.path()));
            EXPECT_EQ(pending_seqs(s), (Seqs{1, 2})) << "cut at " << cut;
            EXPECT_EQ(s.stats().torn_tails, cut == third ? 0u : 1u) << cut;
            EXPECT_EQ(s.stats().corrupt_records, 0u) << cut;
            EXPECT_EQ(s.stats().bytes_lost, cut - third) << cut;
            EXPECT_EQ(s.next_seq(), 3u) << cut;
        }
        EXPECT_EQ(fs::file_size(file), third) << "the torn tail is cut off; cut at " << cut;
    }
    // Appends continue after the last good record.
    {
        Spool s(options(dir.path()));
        append(s, 3, 70);
    }
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{1, 2, 3}));
    EXPECT_EQ(read_file(file), original);
}

TEST(SpoolRecovery, DamagedMiddleRecordAtEveryByte) {
    TempDir dir;
    std::size_t second, third;
    const std::string original = three_records(dir.path(), second, third);
    const fs::path file = segments(dir.path()).at(0);
    for (std::size_t at = second; at < third; ++at) {
        for (const unsigned char flip : {0x01, 0x80, 0xff}) {
            std::string damaged = original;
            damaged[at] = static_cast<char>(damaged[at] ^ flip);
            write_file(file, damaged);
            Spool s(options(dir.path()));
            EXPECT_EQ(pending_seqs(s), (Seqs{1, 3})) << "byte " << at << " ^ " << int(flip);
            EXPECT_EQ(s.stats().corrupt_records, 1u) << at;
            EXPECT_EQ(s.stats().torn_tails, 0u) << at;
            EXPECT_EQ(s.next_seq(), 4u) << at;
            EXPECT_EQ(fs::file_size(file), original.size()) << "nothing valid is cut off; byte " << at;
        }
    }
}

// Found by fuzz_spool_segment: a damaged length that spans the next record made recovery jump
// over that (valid, unacknowledged) record.
TEST(SpoolRecovery, DamagedLengthDoesNotSkipTheRecordsItSpans) {
    TempDir dir;
    std::size_t second = 0, third = 0;
    std::string data = three_records(dir.path(), second, third);
    const std::uint32_t spanning = static_cast<std::uint32_t>(third - 20);  // record 1's length, to record 3
    for (int i = 0; i < 4; ++i) data[12 + i] = static_cast<char>(spanning >> (8 * i));
    write_file(segments(dir.path()).at(0), data);
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{2, 3}));
    EXPECT_EQ(s.stats().corrupt_records, 1u);
}

TEST(SpoolRecovery, ZeroFilledTail) {
    TempDir dir;
    std::size_t second, third;
    const std::string original = three_records(dir.path(), second, third);
    const fs::path file = segments(dir.path()).at(0);

    // Blocks of zeros after the last record, as a file system may leave after a power loss.
    write_file(file, original + std::string(8192, '\0'));
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(pending_seqs(s), (Seqs{1, 2, 3}));
        EXPECT_EQ(s.stats().torn_tails, 1u);
        EXPECT_EQ(s.stats().bytes_lost, 8192u);
    }
    EXPECT_EQ(fs::file_size(file), original.size());

    // The last record itself zeroed.
    write_file(file, original.substr(0, third) + std::string(original.size() - third, '\0'));
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(pending_seqs(s), (Seqs{1, 2}));
        EXPECT_EQ(s.stats().torn_tails, 1u);
        EXPECT_EQ(s.stats().corrupt_records, 0u);
    }
    EXPECT_EQ(fs::file_size(file), third);
}

TEST(SpoolRecovery, GarbageBetweenRecordsIsSkipped) {
    TempDir dir;
    std::size_t second, third;
    const std::string original = three_records(dir.path(), second, third);
    write_file(segments(dir.path()).at(0),
               original.substr(0, second) + std::string(333, '\x5a') + original.substr(second));
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{1, 2, 3}));
    EXPECT_EQ(s.stats().corrupt_records, 1u);
    EXPECT_EQ(s.stats().bytes_lost, 333u);
}

TEST(SpoolRecovery, MissingAckLogResendsEverything) {
    TempDir dir;
    {
        Spool s(options(dir.path()));
        for (std::uint64_t seq = 1; seq <= 3; ++seq) append(s, seq);
        s.ack(1);
        s.ack(2);
    }
    fs::remove(fs::path(dir.path()) / "acks");
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{1, 2, 3}));
    EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "acks"));
}

TEST(SpoolRecovery, TornAndCorruptAckEntries) {
    TempDir dir;
    {
        Spool s(options(dir.path()));
        for (std::uint64_t seq = 1; seq <= 4; ++seq) append(s, seq);
        s.ack(1);
        s.ack(2);
        s.ack(3);
    }
    const fs::path acks = fs::path(dir.path()) / "acks";
    const std::string log = read_file(acks);
    ASSERT_EQ(log.size(), 36u);

    write_file(acks, log + std::string("\x04\x00\x00", 3));  // an entry cut short
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(pending_seqs(s), (Seqs{4}));
    }
    EXPECT_EQ(fs::file_size(acks), 36u);

    std::string damaged = log;
    damaged[12 + 3] ^= 0x10;  // the entry of seq 2
    write_file(acks, damaged);
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(pending_seqs(s), (Seqs{2, 4}));
        EXPECT_EQ(s.stats().corrupt_acks, 1u);
        s.ack(2);
    }
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{4}));
    EXPECT_EQ(s.stats().corrupt_acks, 0u) << "the damaged log was rewritten";
}

TEST(SpoolRecovery, EmptyNewestSegmentKeepsItsSeq) {
    TempDir dir;
    { Spool s(options(dir.path())); }
    // As left by a crash between creating a segment for seq 42 and writing its first record.
    write_file(fs::path(dir.path()) / "00000000000000000042.seg", "");
    {
        Spool s(options(dir.path()));
        EXPECT_EQ(s.next_seq(), 42u);
        append(s, 42);
    }
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{42}));
    EXPECT_EQ(segments(dir.path()).size(), 1u);
}

TEST(SpoolRecovery, IgnoresStrayFiles) {
    TempDir dir;
    { Spool s(options(dir.path())); append(s, 1); }
    write_file(fs::path(dir.path()) / "notes.txt", "hello");
    write_file(fs::path(dir.path()) / "123.seg", "junk");
    write_file(fs::path(dir.path()) / "acks.tmp", "left by an interrupted compaction");
    Spool s(options(dir.path()));
    EXPECT_EQ(pending_seqs(s), (Seqs{1}));
    EXPECT_FALSE(fs::exists(fs::path(dir.path()) / "acks.tmp"));
}

// --- sequence numbers, segments, space ----------------------------------------------------

SpoolOptions small_segments(const std::string& dir, std::uint64_t segment_bytes = 200) {
    SpoolOptions o = options(dir);
    o.segment_bytes = segment_bytes;  // two 93-byte records per segment
    return o;
}

TEST(SpoolSegments, RotateAndDeleteWhenAcknowledged) {
    TempDir dir;
    Spool s(small_segments(dir.path()));
    for (std::uint64_t seq = 1; seq <= 9; ++seq) append(s, seq);
    auto files = segments(dir.path());
    ASSERT_EQ(files.size(), 5u);
    EXPECT_EQ(files[0].filename(), "00000000000000000001.seg");
    EXPECT_EQ(files[1].filename(), "00000000000000000003.seg");
    EXPECT_EQ(files[4].filename(), "00000000000000000009.seg");
    EXPECT_EQ(s.disk_bytes(), 9 * 93u);

    s.ack(1);
    EXPECT_EQ(segments(dir.path()).size(), 5u);
    s.ack(2);
    EXPECT_EQ(segments(dir.path()).size(), 4u);
    EXPECT_EQ(s.stats().segments_removed, 1u);
    s.ack(4);
    EXPECT_EQ(segments(dir.path()).size(), 4u) << "seq 3 still pending";
    s.ack(3);
    EXPECT_EQ(segments(dir.path()).size(), 3u);
    s.ack(9);
    EXPECT_EQ(segments(dir.path()).size(), 3u) << "the newest segment stays";
    EXPECT_EQ(s.disk_bytes(), 5 * 93u);
    EXPECT_EQ(s.bytes(), 4 * 93u);
}

TEST(SpoolSegments, NextSeqSurvivesEverythingAcknowledged) {
    TempDir dir;
    {
        Spool s(small_segments(dir.path()));
        for (std::uint64_t seq = 1; seq <= 10; ++seq) append(s, seq);
        for (std::uint64_t seq = 1; seq <= 10; ++seq) s.ack(seq);
        EXPECT_EQ(s.records(), 0u);
        EXPECT_EQ(segments(dir.path()).size(), 1u);
    }
    {
        Spool s(small_segments(dir.path()));
        EXPECT_EQ(s.next_seq(), 11u);
        EXPECT_TRUE(s.take_pending().empty());
        append(s, 11);  // rotation deletes the fully acknowledged newest segment
        append(s, 12);
        append(s, 13);
        s.ack(11);
        s.ack(12);
        s.ack(13);
    }
    Spool s(small_segments(dir.path()));
    EXPECT_EQ(s.next_seq(), 14u);
    EXPECT_EQ(segments(dir.path()).size(), 1u);
    // The ack log only remembers acknowledgements of records still on disk.
    EXPECT_LE(fs::file_size(fs::path(dir.path()) / "acks"), 2 * 12u);
}

TEST(SpoolSegments, AckLogStaysSmall) {
    TempDir dir;
    Spool s(small_segments(dir.path()));
    for (std::uint64_t seq = 1; seq <= 2000; ++seq) {
        append(s, seq);
        if (seq > 3) s.ack(seq - 3);
    }
    EXPECT_LE(fs::file_size(fs::path(dir.path()) / "acks"), 12u * 24);
    EXPECT_LE(segments(dir.path()).size(), 4u);
}

TEST(SpoolSegments, LargeRecordGetsItsOwnSegment) {
    TempDir dir;
    Spool s(small_segments(dir.path()));
    append(s, 1);
    append(s, 2, 1000);
    append(s, 3);
    EXPECT_EQ(segments(dir.path()).size(), 3u);
}

TEST(SpoolSpace, QueueFullThenRoomAfterAcks) {
    TempDir dir;
    SpoolOptions o = small_segments(dir.path());
    o.max_bytes = 600;  // six 93-byte records
    Spool s(o);
    std::uint64_t seq = 1;
    for (; seq <= 6; ++seq) append(s, seq);
    try {
        append(s, seq);
        FAIL() << "no QueueFull";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::QueueFull) << e.what();
    }
    EXPECT_EQ(s.next_seq(), 7u) << "a refused append uses no seq";
    EXPECT_LE(s.disk_bytes(), 600u);
    s.ack(1);
    EXPECT_THROW(append(s, seq), Error) << "half a segment acknowledged frees nothing";
    s.ack(2);
    append(s, seq++);
    EXPECT_LE(s.disk_bytes(), 600u);
    EXPECT_THROW(s.append(seq, "t", std::string(700, 'x')), Error) << "larger than the whole spool";
}

TEST(SpoolSpace, FullyAcknowledgedNewestSegmentMakesRoom) {
    TempDir dir;
    SpoolOptions o = options(dir.path());
    o.max_bytes = 300;
    o.segment_bytes = 1000;  // everything in one segment
    Spool s(o);
    append(s, 1);
    append(s, 2);
    append(s, 3);
    EXPECT_THROW(append(s, 4), Error);
    s.ack(1);
    s.ack(2);
    s.ack(3);
    append(s, 4);  // a new segment; the old one goes
    EXPECT_EQ(s.disk_bytes(), 93u);
    EXPECT_EQ(segments(dir.path()).size(), 1u);
}

// --- the directory ----------------------------------------------------------------------------

TEST(SpoolDirectory, LockRefusesASecondSpool) {
    TempDir dir;
    auto first = std::make_unique<Spool>(options(dir.path()));
    try {
        Spool second(options(dir.path()));
        FAIL() << "opened twice";
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::WrongState);
        EXPECT_NE(std::string(e.what()).find(std::to_string(::getpid())), std::string::npos) << e.what();
    }

    // Another process.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int code = 3;
        try {
            Spool other(options(dir.path()));
            code = 1;
        } catch (const Error& e) {
            code = e.status() == Status::WrongState ? 0 : 2;
        } catch (...) {
        }
        ::_exit(code);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the other process was not refused";

    first.reset();
    EXPECT_NO_THROW(Spool again(options(dir.path())));
}

TEST(SpoolDirectory, CreatesMissingParents) {
    TempDir dir;
    const std::string nested = dir.path() + "/a/b/spool";
    { Spool s(options(nested)); append(s, 1); }
    Spool s(options(nested));
    EXPECT_EQ(pending_seqs(s), (Seqs{1}));
}

TEST(SpoolDirectory, IoErrorNamesThePath) {
    TempDir dir;
    write_file(fs::path(dir.path()) / "file", "x");
    const std::string bad = dir.path() + "/file/spool";
    try {
        Spool s(options(bad));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), Status::Io);
        EXPECT_NE(std::string(e.what()).find(dir.path() + "/file"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("Not a directory"), std::string::npos) << e.what();
    }
}

TEST(SpoolDirectory, RejectsBadOptions) {
    TempDir dir;
    SpoolOptions o = options("");
    EXPECT_THROW(Spool{o}, Error);
    o = options(dir.path());
    o.max_bytes = 0;
    EXPECT_THROW(Spool{o}, Error);
    o = options(dir.path());
    o.segment_bytes = 0;
    EXPECT_THROW(Spool{o}, Error);
    o = options(dir.path());
    o.fsync_interval = std::chrono::milliseconds(-1);
    EXPECT_THROW(Spool{o}, Error);
}

// --- fsync policies ---------------------------------------------------------------------------

TEST(SpoolFsync, EveryPolicyRecovers) {
    for (const auto policy : {FsyncPolicy::EveryBatch, FsyncPolicy::Interval, FsyncPolicy::Never}) {
        TempDir dir;
        {
            Spool s(options(dir.path(), policy));
            for (std::uint64_t seq = 1; seq <= 3; ++seq) append(s, seq);
            s.ack(2);
            s.sync();
        }
        Spool s(options(dir.path(), policy));
        EXPECT_EQ(pending_seqs(s), (Seqs{1, 3})) << static_cast<int>(policy);
    }
}

TEST(SpoolFsync, IntervalSchedulesASync) {
    TempDir dir;
    SpoolOptions o = options(dir.path(), FsyncPolicy::Interval);
    o.fsync_interval = std::chrono::milliseconds(5000);
    Spool s(o);
    const auto never = std::chrono::steady_clock::time_point::max();
    EXPECT_EQ(s.sync_due(), never);
    const auto before = std::chrono::steady_clock::now();
    append(s, 1);
    EXPECT_GE(s.sync_due(), before + o.fsync_interval);
    EXPECT_LE(s.sync_due(), std::chrono::steady_clock::now() + o.fsync_interval);
    s.sync_if_due();  // not due yet
    EXPECT_NE(s.sync_due(), never);
    s.sync();
    EXPECT_EQ(s.sync_due(), never);

    o.fsync_interval = std::chrono::milliseconds(0);
    TempDir dir2;
    o.dir = dir2.path();
    Spool t(o);
    append(t, 1);
    t.sync_if_due();
    EXPECT_EQ(t.sync_due(), never);
}

TEST(SpoolFsync, EveryBatchLeavesNothingUnsynced) {
    TempDir dir;
    Spool s(options(dir.path(), FsyncPolicy::EveryBatch));
    append(s, 1);
    EXPECT_EQ(s.sync_due(), std::chrono::steady_clock::time_point::max());
    s.ack(1);  // acknowledgements wait for the interval
    EXPECT_NE(s.sync_due(), std::chrono::steady_clock::time_point::max());
}

TEST(SpoolFsync, NeverSchedulesNothing) {
    TempDir dir;
    Spool s(options(dir.path(), FsyncPolicy::Never));
    append(s, 1);
    EXPECT_EQ(s.sync_due(), std::chrono::steady_clock::time_point::max());
}

}  // namespace
