// Spool: the durable queue of encoded batches between the batcher and the network. A batch is
// appended before it is published and acknowledged when the broker has it, so a restart, a crash or
// a power loss resends what was not acknowledged instead of losing it.
//
// On disk, in SpoolOptions::dir:
//   lock                     flock'd while a Spool has the directory open (holds the owner's pid)
//   <first seq, 20 digits>.seg
//                            append-only segments of records, each
//                              [magic u32][seq u64][length u32][crc32c u32][body: length bytes]
//                            little-endian; the CRC covers seq, length and the body. The body is
//                              [topic length u16][topic][payload]
//   acks                     append-only log of acknowledged seqs, 12 bytes each: [seq u64][crc32c u32]
//
// Recovery at open reads every segment. A damaged record in the middle (bad magic or CRC with a
// valid record after it) is skipped and counted; the reader moves on to the next valid record it
// finds by the record magic (not by the damaged header's length, which may be the damaged part).
// Damage that no valid record follows is a torn tail (a write cut short by a crash, or the
// zero-filled blocks some file systems leave after a power loss); it is cut off the last segment so
// appends continue after the last good record. The ack log tolerates a torn tail the same way.
//
// Sequence numbers are never reused in a directory: next_seq() is one past the highest seq ever
// appended, because the newest segment is never deleted (a fully acknowledged newest segment is
// deleted only after a newer one exists), and an empty newest segment left by a crash still names
// the seq it was created for. The exceptions are the appends that a power loss takes away under
// FsyncPolicy::Interval or Never: their seqs were never durable and may be handed out again, which
// is why the receiver checks the batch id of a duplicate seq (docs/protocol.md).
//
// What a power loss or kernel crash can take away, by FsyncPolicy (a crash of the process alone
// loses nothing that append() returned for, since the data is in the kernel by then):
//   EveryBatch  nothing: append() returns after fdatasync (and a directory fsync for a new segment)
//   Interval    at most the appends of the last fsync_interval, provided the owner calls
//               sync_if_due() by sync_due() when no append comes
//   Never       whatever the kernel had not written back (typically up to 30 s on Linux)
//
// Acknowledgements are not forced to disk on their own: losing one only means that batch is sent
// again after a restart, and the receiver drops the duplicate. They are synced within
// fsync_interval (or earlier, with the next append under EveryBatch), and by sync().
//
// Not thread-safe: the caller serialises all calls (the batcher thread owns its spool).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "twinlink/spool_options.hpp"

namespace twinlink::detail {

class Spool {
public:
    struct Record {
        std::uint64_t seq = 0;
        std::string topic;
        std::string payload;
    };

    struct Stats {
        std::uint64_t records_recovered = 0;  ///< unacknowledged records found at open
        std::uint64_t torn_tails = 0;         ///< incomplete or zeroed tails cut off at open
        std::uint64_t corrupt_records = 0;    ///< damaged records (or damaged stretches) skipped at open
        std::uint64_t bytes_lost = 0;         ///< bytes given up at open, torn tails included
        std::uint64_t corrupt_acks = 0;       ///< ack log entries that failed their check at open
        std::uint64_t segments_removed = 0;   ///< fully acknowledged segments deleted since open
    };

    /// Largest topic and payload append() takes (MQTT's own limits).
    static constexpr std::size_t kMaxTopicBytes = 65535;
    static constexpr std::size_t kMaxPayloadBytes = 256u * 1024 * 1024;
    /// Largest seq append() takes; one more is the largest next_seq(). Recovery counts a record or
    /// an ack of a larger seq as damaged (seq 0 likewise).
    static constexpr std::uint64_t kMaxSeq = UINT64_MAX - 1;

    /// Opens the directory (creating it), locks it and recovers its contents. Throws
    /// Error(InvalidArgument) for bad options, Error(Io) naming the path and the system's reason when
    /// a file cannot be created, read or written, Error(WrongState) when another Spool (in this
    /// process or another) has the directory open.
    explicit Spool(SpoolOptions options);
    /// Syncs (unless the policy is Never; errors are ignored), closes and unlocks.
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    /// The unacknowledged records recovered at open, in seq order. Moves them out: a second call
    /// returns nothing. Records appended since open are not included (the caller has them).
    std::vector<Record> take_pending();

    /// One past the highest seq ever appended in this directory (1 for a new one).
    std::uint64_t next_seq() const noexcept { return next_seq_; }

    /// Appends a record; it is durable as the fsync policy says. `seq` must be at least next_seq()
    /// (gaps are allowed) and at most kMaxSeq, else Error(InvalidArgument); so must a topic or
    /// payload over the limits, or
    /// a record larger than max_bytes on its own. Error(QueueFull) when the record does not fit in
    /// max_bytes next to the unacknowledged ones: nothing is written, and the caller may ack (drop)
    /// older records and retry. Error(Io) when the write or a forced sync fails: nothing is appended
    /// and next_seq() is unchanged (unless the partial write could not be undone either: then the
    /// seq is skipped, next_seq() moves past it, and the next append starts a new segment).
    void append(std::uint64_t seq, std::string_view topic, std::string_view payload);

    /// Marks `seq` as delivered. A seq that is not pending (unknown, or acknowledged already) is
    /// ignored. Deletes segments whose records are all acknowledged (except the newest) and compacts
    /// the ack log when most of its entries are about deleted segments. Error(Io) if the ack log
    /// cannot be written; the record then stays pending.
    void ack(std::uint64_t seq);

    /// Forces everything written so far to stable storage: the current segment, the ack log, and the
    /// directory when files were created or deleted. Error(Io) on failure.
    void sync();
    /// Syncs if unsynced writes are older than fsync_interval (appends with Interval, acknowledgements
    /// with EveryBatch and Interval). The owner calls it whenever it wakes up, at the latest at
    /// sync_due(); append() and ack() call it too.
    void sync_if_due();
    /// When sync_if_due() next has work; time_point::max() when nothing waits for a sync or the policy
    /// is Never.
    std::chrono::steady_clock::time_point sync_due() const noexcept;

    /// Bytes and count of unacknowledged records, headers included.
    std::uint64_t bytes() const noexcept { return bytes_; }
    std::size_t records() const noexcept { return unacked_.size(); }
    /// Bytes of all segment files, acknowledged records still in them included; bounded by max_bytes.
    std::uint64_t disk_bytes() const noexcept { return disk_bytes_; }
    std::uint64_t max_bytes() const noexcept { return options_.max_bytes; }
    /// Whether append() with a topic and payload of these sizes would find room now. This is the
    /// rule append() applies: disk_bytes() counts acknowledged records that share a segment with
    /// unacknowledged ones, and each record has a header, so bytes() + payload size is not it.
    bool fits(std::size_t topic_bytes, std::size_t payload_bytes) const noexcept;
    const Stats& stats() const noexcept { return stats_; }
    const SpoolOptions& options() const noexcept { return options_; }

private:
    struct Entry {
        std::uint64_t seq;
        std::uint32_t bytes;  // record size on disk, header included
        bool acked;
    };
    struct Segment {
        std::uint64_t first_seq = 0;
        std::uint64_t size = 0;  // bytes in the file
        std::vector<Entry> entries;  // in seq order
        std::size_t unacked = 0;
    };

    void lock_directory();
    void recover();
    static std::uint64_t record_bytes(std::size_t topic_bytes, std::size_t payload_bytes) noexcept;
    void recover_segment(std::uint64_t first_seq, bool last, const std::unordered_set<std::uint64_t>& acked,
                         std::unordered_set<std::uint64_t>& seen);
    std::unordered_set<std::uint64_t> load_acks();
    void rotate(std::uint64_t seq);
    bool remove_segment(std::map<std::uint64_t, Segment>::iterator it);
    bool compact_acks();
    void undo_append(std::uint64_t seq, std::uint64_t old_size);
    void sync_directory();
    void mark_dirty();
    std::string path(const std::string& name) const;
    void close_all() noexcept;

    SpoolOptions options_;
    int dir_fd_ = -1;
    int lock_fd_ = -1;
    int ack_fd_ = -1;
    int active_fd_ = -1;
    Segment* active_ = nullptr;     // the newest segment, which appends go to
    bool active_broken_ = false;    // a failed write could not be undone: start a new segment

    std::map<std::uint64_t, Segment> segments_;                // by first seq
    std::unordered_map<std::uint64_t, std::uint64_t> unacked_;  // seq -> first seq of its segment
    std::vector<Record> pending_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t bytes_ = 0;
    std::uint64_t disk_bytes_ = 0;
    std::uint64_t ack_entries_ = 0;  // entries in the ack log file
    std::uint64_t live_acks_ = 0;    // of those, acks of records in segments that still exist

    bool segment_dirty_ = false;
    bool acks_dirty_ = false;
    bool dir_dirty_ = false;
    bool unsynced_ = false;
    std::chrono::steady_clock::time_point unsynced_since_{};

    Stats stats_;
};

}  // namespace twinlink::detail
