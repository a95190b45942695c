// twinlink/spool_options.hpp — where and how durably the device keeps datapoint batches that the
// cloud has not acknowledged yet, so they survive a restart, a crash or a power loss.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace twinlink {

/// When the spool forces its writes to stable storage (fdatasync). What a power loss or kernel
/// crash can take away with each policy (a crash of the process alone loses nothing that was
/// appended: the data is already in the kernel):
enum class FsyncPolicy : int {
    /// Every append is on disk before append() returns: nothing appended is lost.
    EveryBatch = 0,
    /// At most the appends of the last fsync_interval (the owner calls the spool's due-sync
    /// between batches, so a quiet spell does not stretch that window). One fsync per interval
    /// instead of one per batch: the default, and the right trade for flash storage.
    Interval = 1,
    /// Whatever the kernel had not written back yet (on Linux typically up to 30 s with the default
    /// dirty_expire_centisecs). No fsync ever, except when asked for explicitly.
    Never = 2,
};

struct SpoolOptions {
    /// Directory of the spool, created (with its parents) if missing. One spool per directory: a
    /// second one, in this process or another, is refused.
    std::string dir;
    /// Disk space the spool may use for its segments; a batch that would need more is refused
    /// (Status::QueueFull) and the owner decides what to drop.
    std::uint64_t max_bytes = 64ull * 1024 * 1024;
    /// Size at which the spool starts a new segment file. A segment is deleted when every batch in it
    /// is acknowledged, so smaller segments give space back sooner; larger ones mean fewer files.
    std::uint64_t segment_bytes = 4ull * 1024 * 1024;
    FsyncPolicy fsync = FsyncPolicy::Interval;
    std::chrono::milliseconds fsync_interval{1000};  ///< with FsyncPolicy::Interval
};

}  // namespace twinlink
