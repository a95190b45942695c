#include "datapoints/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "datapoints/crc32.hpp"
#include "twinlink/status.hpp"

namespace twinlink::detail {
namespace {

// Bytes D7 1E 5B A9 on disk: not ASCII, so unlikely inside the JSON payloads that a resync scans.
constexpr std::uint32_t kRecordMagic = 0xA95B1ED7u;
constexpr std::size_t kHeaderBytes = 20;  // magic, seq, length, crc
constexpr std::size_t kTopicLengthBytes = 2;
constexpr std::size_t kAckEntryBytes = 12;  // seq, crc
constexpr std::uint64_t kMaxBodyBytes = kTopicLengthBytes + Spool::kMaxTopicBytes + Spool::kMaxPayloadBytes;

const std::string kLockFile = "lock";
const std::string kAckFile = "acks";
const std::string kAckTmpFile = "acks.tmp";
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr std::size_t kSegmentDigits = 20;

void put_le(unsigned char* p, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t get_le(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string segment_name(std::uint64_t first_seq) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(first_seq));
    return std::string(buf) + std::string(kSegmentSuffix);
}

bool parse_segment_name(std::string_view name, std::uint64_t& first_seq) {
    if (name.size() != kSegmentDigits + kSegmentSuffix.size() ||
        name.substr(kSegmentDigits) != kSegmentSuffix)
        return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < kSegmentDigits; ++i) {
        const char c = name[i];
        if (c < '0' || c > '9') return false;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - digit) / 10) return false;
        v = v * 10 + digit;
    }
    first_seq = v;
    return true;
}

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err) {
    throw Error(Status::Io, what + " '" + path + "': " + std::strerror(err));
}

// 0 or the errno of the failure. Regular files rarely write short, but a full disk does.
int write_all(int fd, iovec* iov, int count) {
    while (count > 0) {
        const ssize_t n = ::writev(fd, iov, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        auto left = static_cast<std::size_t>(n);
        while (count > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char*>(iov->iov_base) + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

int write_all(int fd, const void* data, std::size_t size) {
    iovec iov{const_cast<void*>(data), size};
    return write_all(fd, &iov, 1);
}

int sync_fd(int fd, bool data_only) {
    for (;;) {
        if ((data_only ? ::fdatasync(fd) : ::fsync(fd)) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

// Reads the whole file into `out`: 0, or the errno.
int read_file(int fd, std::string& out) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) break;  // shrank meanwhile
        done += static_cast<std::size_t>(n);
    }
    out.resize(done);
    return 0;
}

void make_directories(const std::string& dir) {
    std::string prefix;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir.find('/', pos + 1);
        prefix = dir.substr(0, pos);
        if (prefix.empty() || prefix == "/") continue;
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
            throw_io("cannot create spool directory", prefix, errno);
    }
}

struct RecordView {
    std::uint64_t seq = 0;
    std::size_t size = 0;  // header included
    std::string_view topic;
    std::string_view payload;
};

// A valid record starts at `pos` when its header is plausible and its CRC matches.
bool record_at(std::string_view data, std::size_t pos, RecordView& rec) {
    if (data.size() - pos < kHeaderBytes) return false;
    const auto* h = reinterpret_cast<const unsigned char*>(data.data() + pos);
    if (get_le(h, 4) != kRecordMagic) return false;
    const std::uint64_t seq = get_le(h + 4, 8);
    const std::uint64_t length = get_le(h + 12, 4);
    // Seq 0 is never written, nor one above kMaxSeq (whose successor would wrap next_seq to 0).
    if (seq == 0 || seq > Spool::kMaxSeq || length < kTopicLengthBytes || length > kMaxBodyBytes ||
        length > data.size() - pos - kHeaderBytes)
        return false;
    const auto* body = h + kHeaderBytes;
    const std::uint32_t crc = crc32c(body, static_cast<std::size_t>(length), crc32c(h + 4, 12));
    if (crc != get_le(h + 16, 4)) return false;
    const std::uint64_t topic_length = get_le(body, 2);
    if (topic_length > length - kTopicLengthBytes) return false;
    rec.seq = seq;
    rec.size = kHeaderBytes + static_cast<std::size_t>(length);
    rec.topic = data.substr(pos + kHeaderBytes + kTopicLengthBytes, static_cast<std::size_t>(topic_length));
    rec.payload = data.substr(pos + kHeaderBytes + kTopicLengthBytes + topic_length,
                              static_cast<std::size_t>(length - kTopicLengthBytes - topic_length));
    return true;
}

// The next valid record after damage at `pos`: the first one found by its magic, npos when there
// is none. Not where the damaged header's length leads: that length may be the damaged part, and
// jumping by it skipped the valid records inside its span (found by fuzz_spool_segment: a header
// whose length covered the next record lost that record once a later append made the jump land).
std::size_t resync(std::string_view data, std::size_t pos, RecordView& rec) {
    unsigned char magic[4];
    put_le(magic, kRecordMagic, 4);
    const std::string_view pattern(reinterpret_cast<const char*>(magic), 4);
    for (std::size_t at = data.find(pattern, pos + 1); at != std::string_view::npos;
         at = data.find(pattern, at + 1))
        if (record_at(data, at, rec)) return at;
    return std::string_view::npos;
}

void encode_ack(unsigned char* out, std::uint64_t seq) {
    put_le(out, seq, 8);
    put_le(out + 8, crc32c(out, 8), 4);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening and recovery

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {
    if (options_.dir.empty()) throw Error(Status::InvalidArgument, "the spool directory is empty");
    if (options_.max_bytes == 0) throw Error(Status::InvalidArgument, "the spool's max_bytes is 0");
    if (options_.segment_bytes == 0) throw Error(Status::InvalidArgument, "the spool's segment_bytes is 0");
    if (options_.fsync != FsyncPolicy::EveryBatch && options_.fsync != FsyncPolicy::Interval &&
        options_.fsync != FsyncPolicy::Never)
        throw Error(Status::InvalidArgument, "unknown spool fsync policy " +
                                                 std::to_string(static_cast<int>(options_.fsync)));
    if (options_.fsync_interval.count() < 0)
        throw Error(Status::InvalidArgument, "the spool's fsync_interval is negative");
    try {
        make_directories(options_.dir);
        dir_fd_ = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd_ < 0) throw_io("cannot open spool directory", options_.dir, errno);
        lock_directory();
        recover();
    } catch (...) {
        close_all();
        throw;
    }
}

Spool::~Spool() {
    if (options_.fsync != FsyncPolicy::Never) {
        try {
            sync();
        } catch (...) {
            // Nothing to report to from a destructor; what was not synced is what the policy allows
            // to be lost.
        }
    }
    close_all();
}

void Spool::close_all() noexcept {
    for (int* fd : {&active_fd_, &ack_fd_, &dir_fd_, &lock_fd_}) {
        if (*fd >= 0) ::close(*fd);
        *fd = -1;
    }
}

std::string Spool::path(const std::string& name) const { return options_.dir + "/" + name; }

void Spool::lock_directory() {
    lock_fd_ = ::openat(dir_fd_, kLockFile.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw_io("cannot open the spool's lock file", path(kLockFile), errno);
    // flock locks belong to the open file description, so a second Spool in this very process is
    // refused as well as one in another process.
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err != EWOULDBLOCK) throw_io("cannot lock the spool's lock file", path(kLockFile), err);
        char owner[32] = {0};
        const ssize_t n = ::pread(lock_fd_, owner, sizeof owner - 1, 0);
        std::string message = "spool directory '" + options_.dir + "' is in use by another spool";
        if (n > 0) message += " (process " + std::string(owner, static_cast<std::size_t>(n)) + ")";
        throw Error(Status::WrongState, message);
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(lock_fd_, 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(lock_fd_, pid.data(), pid.size(), 0);
    }
}

void Spool::recover() {
    // Segments by name, and leftovers of an interrupted ack log compaction.
    std::vector<std::uint64_t> names;
    {
        const int fd = ::dup(dir_fd_);
        DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr;
        if (!dir) {
            const int err = errno;
            if (fd >= 0) ::close(fd);
            throw_io("cannot list spool directory", options_.dir, err);
        }
        ::rewinddir(dir);
        while (const dirent* e = ::readdir(dir)) {
            std::uint64_t first_seq;
            if (parse_segment_name(e->d_name, first_seq)) names.push_back(first_seq);
            else if (e->d_name == kAckTmpFile) ::unlinkat(dir_fd_, kAckTmpFile.c_str(), 0);
        }
        ::closedir(dir);
    }
    std::sort(names.begin(), names.end());

    const std::unordered_set<std::uint64_t> acked = load_acks();
    std::unordered_set<std::uint64_t> seen;
    for (std::size_t i = 0; i < names.size(); ++i)
        recover_segment(names[i], i + 1 == names.size(), acked, seen);

    for (std::uint64_t seq : acked) next_seq_ = std::max(next_seq_, seq + 1);
    for (const auto& [first_seq, segment] : segments_) {
        // An empty newest segment was created for a seq whose record a crash took away; that seq was
        // never acknowledged to anyone, but later ones must not go below the name.
        next_seq_ = std::max(next_seq_, first_seq);
        for (const Entry& e : segment.entries) {
            next_seq_ = std::max(next_seq_, e.seq + 1);
            if (e.acked) ++live_acks_;
        }
    }

    // Closed segments whose records are all acknowledged (a crash came before their deletion).
    if (!segments_.empty()) {
        const auto newest = std::prev(segments_.end());
        for (auto it = segments_.begin(); it != newest;) {
            auto next = std::next(it);
            if (it->second.unacked == 0) remove_segment(it);
            it = next;
        }
        active_ = &newest->second;
        const std::string name = segment_name(newest->first);
        active_fd_ = ::openat(dir_fd_, name.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (active_fd_ < 0) throw_io("cannot open spool segment", path(name), errno);
    }

    ack_fd_ = ::openat(dir_fd_, kAckFile.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (ack_fd_ >= 0) dir_dirty_ = true;
    else if (errno == EEXIST) ack_fd_ = ::openat(dir_fd_, kAckFile.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (ack_fd_ < 0) throw_io("cannot open the spool's ack log", path(kAckFile), errno);
    if (ack_entries_ != live_acks_ || stats_.corrupt_acks) compact_acks();

    std::sort(pending_.begin(), pending_.end(),
              [](const Record& a, const Record& b) { return a.seq < b.seq; });
    stats_.records_recovered = pending_.size();
    // Whatever recovery repaired (cut tails, deleted segments, a new ack log) is made durable now,
    // before anything new depends on it.
    if (segment_dirty_ || acks_dirty_ || dir_dirty_) {
        mark_dirty();
        if (options_.fsync != FsyncPolicy::Never) sync();
    }
}

std::unordered_set<std::uint64_t> Spool::load_acks() {
    std::unordered_set<std::uint64_t> acked;
    const int fd = ::openat(dir_fd_, kAckFile.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return acked;  // new directory, or the log was lost: everything is resent
        throw_io("cannot open the spool's ack log", path(kAckFile), errno);
    }
    std::string data;
    const int err = read_file(fd, data);
    if (err) {
        ::close(fd);
        throw_io("cannot read the spool's ack log", path(kAckFile), err);
    }
    const std::size_t count = data.size() / kAckEntryBytes;
    std::size_t kept = 0;  // entries up to the last valid one; what follows is a torn tail
    std::uint64_t bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto* e = reinterpret_cast<const unsigned char*>(data.data() + i * kAckEntryBytes);
        if (crc32c(e, 8) != get_le(e + 8, 4) || get_le(e, 8) == 0 || get_le(e, 8) > kMaxSeq) {
            ++bad;
            continue;
        }
        acked.insert(get_le(e, 8));
        kept = i + 1;
    }
    stats_.corrupt_acks += bad;
    if (kept * kAckEntryBytes != data.size()) {
        if (::ftruncate(fd, static_cast<off_t>(kept * kAckEntryBytes)) != 0) {
            const int e = errno;
            ::close(fd);
            throw_io("cannot truncate the torn tail of the spool's ack log", path(kAckFile), e);
        }
        acks_dirty_ = true;
    }
    ack_entries_ = kept;
    ::close(fd);
    return acked;
}

void Spool::recover_segment(std::uint64_t first_seq, bool last, const std::unordered_set<std::uint64_t>& acked,
                            std::unordered_set<std::uint64_t>& seen) {
    const std::string name = segment_name(first_seq);
    const int fd = ::openat(dir_fd_, name.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw_io("cannot open spool segment", path(name), errno);
    std::string data;
    if (const int err = read_file(fd, data)) {
        ::close(fd);
        throw_io("cannot read spool segment", path(name), err);
    }

    Segment segment;
    segment.first_seq = first_seq;
    const std::string_view view(data);
    std::size_t pos = 0;
    RecordView rec;
    while (pos < view.size()) {
        if (record_at(view, pos, rec)) {
            if (seen.insert(rec.seq).second) {
                const bool is_acked = acked.count(rec.seq) != 0;
                segment.entries.push_back({rec.seq, static_cast<std::uint32_t>(rec.size), is_acked});
                if (!is_acked) {
                    ++segment.unacked;
                    bytes_ += rec.size;
                    unacked_.emplace(rec.seq, first_seq);
                    pending_.push_back({rec.seq, std::string(rec.topic), std::string(rec.payload)});
                }
            } else {
                ++stats_.corrupt_records;  // the same seq twice: keep the first
                // An acknowledged copy keeps its entry, so that its acknowledgement outlives the
                // segment of the first copy (else that copy came back pending at the next open).
                if (acked.count(rec.seq) != 0)
                    segment.entries.push_back({rec.seq, static_cast<std::uint32_t>(rec.size), true});
            }
            pos += rec.size;
            continue;
        }
        const std::size_t next = resync(view, pos, rec);
        if (next == std::string_view::npos) {
            ++stats_.torn_tails;
            stats_.bytes_lost += view.size() - pos;
            if (last && ::ftruncate(fd, static_cast<off_t>(pos)) != 0) {
                const int err = errno;
                ::close(fd);
                throw_io("cannot truncate the torn tail of spool segment", path(name), err);
            }
            if (last) segment_dirty_ = true;
            // A closed segment keeps its tail on disk; it goes with the segment.
            segment.size = last ? pos : view.size();
            break;
        }
        ++stats_.corrupt_records;
        stats_.bytes_lost += next - pos;
        pos = next;
    }
    if (pos >= view.size()) segment.size = view.size();
    ::close(fd);

    std::sort(segment.entries.begin(), segment.entries.end(),
              [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
    disk_bytes_ += segment.size;
    segments_.emplace(first_seq, std::move(segment));
}

// ---------------------------------------------------------------------------------------------
// Operation

std::vector<Spool::Record> Spool::take_pending() { return std::exchange(pending_, {}); }

void Spool::append(std::uint64_t seq, std::string_view topic, std::string_view payload) {
    if (seq < next_seq_)
        throw Error(Status::InvalidArgument, "spool seq " + std::to_string(seq) + " is below next_seq " +
                                                 std::to_string(next_seq_) + "; sequence numbers are never reused");
    if (seq > kMaxSeq) throw Error(Status::InvalidArgument, "spool seq " + std::to_string(seq) + " is above kMaxSeq");
    if (topic.size() > kMaxTopicBytes)
        throw Error(Status::InvalidArgument, "a spooled topic is longer than 65535 bytes");
    if (payload.size() > kMaxPayloadBytes)
        throw Error(Status::InvalidArgument, "a spooled payload of " + std::to_string(payload.size()) +
                                                 " bytes is larger than 256 MiB");
    const std::uint64_t size = record_bytes(topic.size(), payload.size());
    if (size > options_.max_bytes)
        throw Error(Status::InvalidArgument, "a spool record of " + std::to_string(size) +
                                                 " bytes is larger than the spool's max_bytes (" +
                                                 std::to_string(options_.max_bytes) + ")");
    if (!fits(topic.size(), payload.size()))
        throw Error(Status::QueueFull, "the spool is full: " + std::to_string(unacked_.size()) +
                                           " unacknowledged records in " + std::to_string(disk_bytes_) +
                                           " of " + std::to_string(options_.max_bytes) + " bytes");
    if (options_.fsync == FsyncPolicy::Interval) sync_if_due();  // fails before anything is written

    if (!active_ || active_broken_ || (active_->size > 0 && active_->size + size > options_.segment_bytes) ||
        disk_bytes_ + size > options_.max_bytes)
        rotate(seq);

    unsigned char head[kHeaderBytes + kTopicLengthBytes];
    put_le(head, kRecordMagic, 4);
    put_le(head + 4, seq, 8);
    put_le(head + 12, size - kHeaderBytes, 4);
    put_le(head + 20, topic.size(), 2);
    std::uint32_t crc = crc32c(head + 4, 12);
    crc = crc32c(head + 20, kTopicLengthBytes, crc);
    crc = crc32c(topic.data(), topic.size(), crc);
    crc = crc32c(payload.data(), payload.size(), crc);
    put_le(head + 16, crc, 4);

    iovec iov[3] = {{head, sizeof head},
                    {const_cast<char*>(topic.data()), topic.size()},
                    {const_cast<char*>(payload.data()), payload.size()}};
    const std::uint64_t old_size = active_->size;
    const std::uint64_t old_next_seq = next_seq_;
    if (const int err = write_all(active_fd_, iov, 3)) {
        undo_append(seq, old_size);
        throw_io("cannot append to spool segment", path(segment_name(active_->first_seq)), err);
    }

    active_->entries.push_back({seq, static_cast<std::uint32_t>(size), false});
    ++active_->unacked;
    active_->size += size;
    disk_bytes_ += size;
    bytes_ += size;
    unacked_.emplace(seq, active_->first_seq);
    next_seq_ = seq + 1;
    segment_dirty_ = true;
    mark_dirty();

    if (options_.fsync == FsyncPolicy::EveryBatch) {
        try {
            sync();
        } catch (...) {
            active_->entries.pop_back();
            --active_->unacked;
            active_->size -= size;
            disk_bytes_ -= size;
            bytes_ -= size;
            unacked_.erase(seq);
            next_seq_ = old_next_seq;
            undo_append(seq, old_size);
            throw;
        }
    }
}

std::uint64_t Spool::record_bytes(std::size_t topic_bytes, std::size_t payload_bytes) noexcept {
    return kHeaderBytes + kTopicLengthBytes + std::uint64_t{topic_bytes} + payload_bytes;
}

bool Spool::fits(std::size_t topic_bytes, std::size_t payload_bytes) const noexcept {
    // A newest segment whose records are all acknowledged is deleted by the rotation that the
    // append starts, so its bytes count as free.
    const std::uint64_t reclaimable = active_ && active_->unacked == 0 ? active_->size : 0;
    return disk_bytes_ - reclaimable + record_bytes(topic_bytes, payload_bytes) <= options_.max_bytes;
}

void Spool::undo_append(std::uint64_t seq, std::uint64_t old_size) {
    if (::ftruncate(active_fd_, static_cast<off_t>(old_size)) != 0) {
        // Unknown bytes may follow the last good record: recovery will skip them, but appending
        // after them could be mistaken for their continuation. Give up this segment and this seq.
        active_broken_ = true;
        next_seq_ = std::max(next_seq_, seq + 1);
    }
}

void Spool::rotate(std::uint64_t seq) {
    if (active_ && segment_dirty_ && options_.fsync != FsyncPolicy::Never) {
        if (const int err = sync_fd(active_fd_, true))
            throw_io("cannot sync spool segment", path(segment_name(active_->first_seq)), err);
        segment_dirty_ = false;
    }
    const std::string name = segment_name(seq);
    const int fd = ::openat(dir_fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw_io("cannot create spool segment", path(name), errno);

    Segment* old = active_;
    if (active_fd_ >= 0) ::close(active_fd_);
    Segment segment;
    segment.first_seq = seq;
    active_ = &segments_.emplace(seq, std::move(segment)).first->second;
    active_fd_ = fd;
    active_broken_ = false;
    dir_dirty_ = true;
    mark_dirty();

    if (old && old->unacked == 0) {
        // The new segment's name must be on disk before the old one goes, or a crash in between could
        // leave a directory that forgot the highest seq.
        if (options_.fsync != FsyncPolicy::Never) sync_directory();
        remove_segment(segments_.find(old->first_seq));
        if (live_acks_ < ack_entries_ - live_acks_) compact_acks();
    }
}

void Spool::ack(std::uint64_t seq) {
    const auto found = unacked_.find(seq);
    if (found == unacked_.end()) return;
    if (options_.fsync != FsyncPolicy::Never) sync_if_due();

    unsigned char entry[kAckEntryBytes];
    encode_ack(entry, seq);
    if (ack_fd_ < 0) throw Error(Status::Io, "the spool's ack log '" + path(kAckFile) + "' is not open");
    if (const int err = write_all(ack_fd_, entry, sizeof entry)) {
        [[maybe_unused]] const int r = ::ftruncate(ack_fd_, static_cast<off_t>(ack_entries_ * kAckEntryBytes));
        throw_io("cannot write the spool's ack log", path(kAckFile), err);
    }
    ++ack_entries_;
    ++live_acks_;
    acks_dirty_ = true;
    mark_dirty();

    const auto it = segments_.find(found->second);
    unacked_.erase(found);
    Segment& segment = it->second;
    const auto e = std::lower_bound(segment.entries.begin(), segment.entries.end(), seq,
                                    [](const Entry& x, std::uint64_t s) { return x.seq < s; });
    e->acked = true;
    --segment.unacked;
    bytes_ -= e->bytes;

    if (segment.unacked == 0 && &segment != active_) {
        remove_segment(it);
        // Rewriting costs the live entries; waiting until the dead ones outnumber them keeps the
        // cost per ack constant.
        if (live_acks_ < ack_entries_ - live_acks_) compact_acks();
    }
}

bool Spool::remove_segment(std::map<std::uint64_t, Segment>::iterator it) {
    const std::string name = segment_name(it->first);
    if (::unlinkat(dir_fd_, name.c_str(), 0) != 0 && errno != ENOENT)
        return false;  // it stays, and goes at the next open
    Segment& segment = it->second;
    if (&segment == active_) {
        ::close(active_fd_);
        active_fd_ = -1;
        active_ = nullptr;
    }
    live_acks_ -= segment.entries.size() - segment.unacked;
    disk_bytes_ -= segment.size;
    segments_.erase(it);
    ++stats_.segments_removed;
    dir_dirty_ = true;
    mark_dirty();
    return true;
}

bool Spool::compact_acks() {
    const bool durable = options_.fsync != FsyncPolicy::Never;
    // Deleted segments must stay deleted before their acknowledgements are dropped from the log,
    // or a crash could bring them back unacknowledged (harmless, only resent, but avoidable).
    if (durable && dir_dirty_) sync_directory();

    std::string data;
    data.resize(static_cast<std::size_t>(live_acks_) * kAckEntryBytes);
    std::size_t n = 0;
    for (const auto& [first_seq, segment] : segments_)
        for (const Entry& e : segment.entries)
            if (e.acked) encode_ack(reinterpret_cast<unsigned char*>(&data[kAckEntryBytes * n++]), e.seq);

    const int fd = ::openat(dir_fd_, kAckTmpFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;  // the old log still holds every acknowledgement
    int err = write_all(fd, data.data(), data.size());
    if (!err && durable) err = sync_fd(fd, true);
    ::close(fd);
    if (err || ::renameat(dir_fd_, kAckTmpFile.c_str(), dir_fd_, kAckFile.c_str()) != 0) {
        ::unlinkat(dir_fd_, kAckTmpFile.c_str(), 0);
        return false;
    }
    if (ack_fd_ >= 0) ::close(ack_fd_);
    ack_fd_ = ::openat(dir_fd_, kAckFile.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (ack_fd_ < 0) throw_io("cannot open the spool's ack log", path(kAckFile), errno);
    ack_entries_ = live_acks_;
    acks_dirty_ = false;
    dir_dirty_ = true;
    if (durable) sync_directory();
    return true;
}

// ---------------------------------------------------------------------------------------------
// Durability

void Spool::mark_dirty() {
    if (!unsynced_) {
        unsynced_ = true;
        unsynced_since_ = std::chrono::steady_clock::now();
    }
}

void Spool::sync_directory() {
    if (const int err = sync_fd(dir_fd_, false)) throw_io("cannot sync spool directory", options_.dir, err);
    dir_dirty_ = false;
}

void Spool::sync() {
    if (segment_dirty_ && active_fd_ >= 0) {
        if (const int err = sync_fd(active_fd_, true))
            throw_io("cannot sync spool segment", path(segment_name(active_->first_seq)), err);
    }
    segment_dirty_ = false;
    if (acks_dirty_ && ack_fd_ >= 0) {
        if (const int err = sync_fd(ack_fd_, true)) throw_io("cannot sync the spool's ack log", path(kAckFile), err);
    }
    acks_dirty_ = false;
    if (dir_dirty_) sync_directory();
    unsynced_ = false;
}

std::chrono::steady_clock::time_point Spool::sync_due() const noexcept {
    if (!unsynced_ || options_.fsync == FsyncPolicy::Never) return std::chrono::steady_clock::time_point::max();
    return unsynced_since_ + options_.fsync_interval;
}

void Spool::sync_if_due() {
    if (sync_due() <= std::chrono::steady_clock::now()) sync();
}

}  // namespace twinlink::detail
