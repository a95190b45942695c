// The compact encoding: see compact_codec.hpp for the shape and docs/protocol.md ("The compact
// encoding") for the bytes.
#include "datapoints/compact_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <utility>

#include "twinlink/status.hpp"
#include "twinlink/uuid7.hpp"

#include "common/utf8.hpp"
#include "shadow/json_nesting.hpp"

namespace twinlink::detail {
namespace {

// Value block types (the byte before a series' values).
enum Block : unsigned char {
    kXorDoubles = 0,
    kDecimalDoubles = 1,
    kInts = 2,
    kBools = 3,
    kStrings = 4,
    kObjects = 5,
    kMixed = 6,
};

// Kinds of the values of a mixed series, in the order their blocks follow the kind bytes.
enum Kind : unsigned char { kDouble = 0, kInt = 1, kBool = 2, kString = 3, kObject = 4 };
constexpr int kKinds = 5;

// Doubles with up to this many decimals may be written as integers; 10^15 and everything smaller
// is exact in a double, and so is every integer up to 2^53.
constexpr int kMaxDecimals = 15;
constexpr double kPow10[kMaxDecimals + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
constexpr std::int64_t kMaxExactInt = std::int64_t(1) << 53;

// Worst cases, for size_estimate(): a varint takes at most 10 bytes; the header of a series
// (name, count, stream orders, block types and lengths, padding; five blocks when mixed) at most
// kSeriesOverhead besides its name.
constexpr std::size_t kMaxVarint = 10;
constexpr std::size_t kSeriesOverhead = 96;
constexpr std::size_t kUuidBytes = 16;

// ---------------------------------------------------------------------------------------------
// Writing

void put_uvarint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

std::uint64_t zigzag(std::uint64_t v) {  // v is an int64's bits
    return (v << 1) ^ (0 - (v >> 63));
}

std::int64_t unzigzag(std::uint64_t v) { return static_cast<std::int64_t>((v >> 1) ^ (0 - (v & 1))); }

void put_svarint(std::string& out, std::uint64_t v) { put_uvarint(out, zigzag(v)); }

void put_string(std::string& out, std::string_view s) {
    put_uvarint(out, s.size());
    out.append(s.data(), s.size());
}

// An int-stream of `order` (0: the values, 1: deltas, 2: deltas of deltas), in wrapping 64-bit
// arithmetic; a zero is followed by the count of zeros right after it.
void put_int_stream_order(std::string& out, const std::uint64_t* x, std::size_t n, int order) {
    auto token = [&](std::size_t i) -> std::uint64_t {
        if (order == 0 || i == 0) return x[i];
        if (order == 1 || i == 1) return x[i] - x[i - 1];
        return (x[i] - x[i - 1]) - (x[i - 1] - x[i - 2]);
    };
    std::size_t i = 0;
    while (i < n) {
        const std::uint64_t d = token(i++);
        put_svarint(out, d);
        if (d == 0) {
            std::size_t zeros = 0;
            while (i < n && token(i) == 0) {
                ++zeros;
                ++i;
            }
            put_uvarint(out, zeros);
        }
    }
}

// The order byte and the shortest of the three int-streams.
void put_int_stream(std::string& out, const std::uint64_t* x, std::size_t n, std::string& scratch) {
    std::string best;
    int best_order = 0;
    for (int order = 0; order <= 2; ++order) {
        scratch.clear();
        put_int_stream_order(scratch, x, n, order);
        if (order == 0 || scratch.size() < best.size()) {
            best.swap(scratch);
            best_order = order;
        }
    }
    out += static_cast<char>(best_order);
    out += best;
}

// Bits, most significant first, into bytes.
class BitWriter {
public:
    explicit BitWriter(std::string& out) : out_(out) {}
    void put(std::uint64_t v, int n) {  // the low n bits of v, 0 <= n <= 64
        if (n == 0) return;
        if (n > 48) {
            put(v >> 32, n - 32);
            put(v & 0xFFFFFFFFu, 32);
            return;
        }
        acc_ = (acc_ << n) | (v & ((std::uint64_t(1) << n) - 1));
        used_ += n;
        while (used_ >= 8) {
            used_ -= 8;
            out_ += static_cast<char>((acc_ >> used_) & 0xFF);
        }
    }
    void flush() {
        if (used_ > 0) out_ += static_cast<char>((acc_ << (8 - used_)) & 0xFF);
        used_ = 0;
    }

private:
    std::string& out_;
    std::uint64_t acc_ = 0;
    int used_ = 0;  // bits in acc_ not yet written, < 8 between calls
};

std::uint64_t bits_of(double v) {
    std::uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

double double_of(std::uint64_t b) {
    double v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

int leading_zeros(std::uint64_t x) { return x == 0 ? 64 : __builtin_clzll(x); }
int trailing_zeros(std::uint64_t x) { return x == 0 ? 64 : __builtin_ctzll(x); }

// Gorilla's XOR encoding: the first value's 64 bits, then per value '0' (the same as the previous),
// '10' + the XOR's bits inside the previous window, or '11' + 6 bits of leading zeros + 6 bits of
// (window length - 1) + the window.
void put_xor_doubles(std::string& out, const std::vector<double>& values) {
    std::string bits;
    BitWriter w(bits);
    std::uint64_t prev = bits_of(values[0]);
    w.put(prev, 64);
    int lead = -1, len = 0;  // the current window; none yet
    for (std::size_t i = 1; i < values.size(); ++i) {
        const std::uint64_t cur = bits_of(values[i]);
        const std::uint64_t x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            w.put(0, 1);
            continue;
        }
        const int l = leading_zeros(x), t = trailing_zeros(x);
        if (lead >= 0 && l >= lead && t >= 64 - lead - len) {
            w.put(2, 2);
            w.put(x >> (64 - lead - len), len);
        } else {
            lead = l;
            len = 64 - l - t;
            w.put(3, 2);
            w.put(static_cast<std::uint64_t>(lead), 6);
            w.put(static_cast<std::uint64_t>(len - 1), 6);
            w.put(x >> t, len);
        }
    }
    w.flush();
    put_uvarint(out, bits.size());
    out += bits;
}

// The fewest decimals k with which `v` reads back bit for bit as m / 10^k, m an integer of at most
// 2^53; -1 when there are none up to kMaxDecimals (-0.0 never does: 0 / 10^k is +0.0).
int decimals_of(double v, int from) {
    for (int k = from; k <= kMaxDecimals; ++k) {
        const double scaled = std::nearbyint(v * kPow10[k]);
        if (!(std::fabs(scaled) <= static_cast<double>(kMaxExactInt))) return -1;
        const auto m = static_cast<std::int64_t>(scaled);
        if (bits_of(static_cast<double>(m) / kPow10[k]) == bits_of(v)) return k;
    }
    return -1;
}

// Writes the doubles as a decimal block when every value is m / 10^k for one k, and that is
// shorter than the XOR block; else as XOR.
void put_doubles(std::string& out, const std::vector<double>& values, std::string& scratch) {
    std::string xor_block;
    put_xor_doubles(xor_block, values);
    int k = 0;
    for (double v : values) {
        const int d = decimals_of(v, k);
        if (d < 0) {
            k = -1;
            break;
        }
        k = std::max(k, d);
    }
    if (k >= 0) {
        std::vector<std::uint64_t> ms;
        ms.reserve(values.size());
        for (double v : values) {
            const double scaled = std::nearbyint(v * kPow10[k]);
            // The range first: converting a double beyond int64_t (1e20, say) is undefined.
            if (!(std::fabs(scaled) <= static_cast<double>(kMaxExactInt))) {
                k = -1;
                break;
            }
            const auto m = static_cast<std::int64_t>(scaled);
            if (bits_of(static_cast<double>(m) / kPow10[k]) != bits_of(v)) {
                k = -1;
                break;
            }
            ms.push_back(static_cast<std::uint64_t>(m));
        }
        if (k >= 0) {
            std::string decimal_block;
            decimal_block += static_cast<char>(k);
            put_int_stream(decimal_block, ms.data(), ms.size(), scratch);
            if (decimal_block.size() <= xor_block.size()) {
                out += static_cast<char>(kDecimalDoubles);
                out += decimal_block;
                return;
            }
        }
    }
    out += static_cast<char>(kXorDoubles);
    out += xor_block;
}

void put_ints(std::string& out, const std::vector<std::int64_t>& values, std::string& scratch) {
    out += static_cast<char>(kInts);
    std::vector<std::uint64_t> x(values.begin(), values.end());
    put_int_stream(out, x.data(), x.size(), scratch);
}

// The first value, then the lengths of the runs of equal values.
void put_bools(std::string& out, const std::vector<std::uint8_t>& values) {
    out += static_cast<char>(kBools);
    out += static_cast<char>(values[0]);
    std::size_t run = 1;
    for (std::size_t i = 1; i < values.size(); ++i) {
        if (values[i] == values[i - 1]) {
            ++run;
        } else {
            put_uvarint(out, run);
            run = 1;
        }
    }
    put_uvarint(out, run);
}

void put_texts(std::string& out, Block type, const std::vector<std::string>& values) {
    out += static_cast<char>(type);
    for (const auto& s : values) put_string(out, s);
}

}  // namespace

// =============================================================================================
// Encoder

struct CompactEncoder::Column {
    explicit Column(std::string n) : name(std::move(n)) {}
    std::string name;
    bool active = false;
    Kind kind = kDouble;  // of every value, unless mixed
    bool mixed = false;
    std::vector<std::int64_t> ts;
    std::vector<double> doubles;
    std::vector<std::int64_t> ints;
    std::vector<std::uint8_t> bools;
    std::vector<std::string> strings;
    std::vector<std::string> objects;  // JSON text
    std::vector<std::uint8_t> kinds;   // per point, only when mixed

    // Before a point of kind `k` is added.
    void note(Kind k) {
        if (ts.empty()) {
            kind = k;
        } else if (!mixed && k != kind) {
            mixed = true;
            kinds.assign(ts.size(), kind);
        }
        if (mixed) kinds.push_back(k);
    }

    void clear() {
        active = false;
        mixed = false;
        ts.clear();
        doubles.clear();
        ints.clear();
        bools.clear();
        strings.clear();
        objects.clear();
        kinds.clear();
    }
};

CompactEncoder::CompactEncoder(std::string device) : device_(std::move(device)) {}
CompactEncoder::~CompactEncoder() = default;

CompactEncoder::Column& CompactEncoder::column(std::string_view name, std::size_t adding) {
    if (points_ + adding > kMaxCompactPoints || points_ + adding < points_)
        throw Error(Status::InvalidArgument, "a compact batch holds at most " + std::to_string(kMaxCompactPoints) +
                                                 " points");
    if (last_ && last_->name == name) return *last_;
    auto it = columns_.find(name);
    Column* c;
    if (it != columns_.end()) {
        c = it->second.get();
    } else {
        validate_series_name(name);
        auto owned = std::make_unique<Column>(std::string(name));
        c = owned.get();
        columns_.emplace(std::string_view(c->name), std::move(owned));
    }
    if (!c->active) {
        c->active = true;
        order_.push_back(c);
        bound_ += kSeriesOverhead + c->name.size();
    }
    last_ = c;
    return *c;
}

namespace {

template <class Column>
void note_time(Column& c, std::int64_t ts, std::size_t& points, std::int64_t& t0) {
    c.ts.push_back(ts);
    if (points++ == 0 || ts < t0) t0 = ts;
}

}  // namespace

void CompactEncoder::add(std::string_view series, std::int64_t ts, double value) {
    Column& c = column(series, 1);
    c.note(kDouble);
    c.doubles.push_back(value);
    note_time(c, ts, points_, t0_);
    bound_ += kMaxVarint + kMaxVarint + 1;
}

void CompactEncoder::add(std::string_view series, std::int64_t ts, std::int64_t value) {
    Column& c = column(series, 1);
    c.note(kInt);
    c.ints.push_back(value);
    note_time(c, ts, points_, t0_);
    bound_ += kMaxVarint + kMaxVarint + 1;
}

void CompactEncoder::add(std::string_view series, std::int64_t ts, bool value) {
    Column& c = column(series, 1);
    c.note(kBool);
    c.bools.push_back(value ? 1 : 0);
    note_time(c, ts, points_, t0_);
    bound_ += kMaxVarint + 2;
}

void CompactEncoder::add_string(std::string_view series, std::int64_t ts, std::string_view value) {
    Column& c = column(series, 1);
    c.note(kString);
    c.strings.emplace_back(value);
    note_time(c, ts, points_, t0_);
    bound_ += kMaxVarint + kMaxVarint + 1 + value.size();
}

void CompactEncoder::add_object(std::string_view series, std::int64_t ts, std::string json_text) {
    Column& c = column(series, 1);
    c.note(kObject);
    bound_ += kMaxVarint + kMaxVarint + 1 + json_text.size();
    c.objects.push_back(std::move(json_text));
    note_time(c, ts, points_, t0_);
}

void CompactEncoder::add_many(std::string_view series, const std::int64_t* ts, const double* values, std::size_t n) {
    Column& c = column(series, n);
    if (c.mixed || (!c.ts.empty() && c.kind != kDouble)) {
        for (std::size_t i = 0; i < n; ++i) add(series, ts[i], values[i]);
        return;
    }
    c.kind = kDouble;
    c.doubles.insert(c.doubles.end(), values, values + n);
    c.ts.insert(c.ts.end(), ts, ts + n);
    for (std::size_t i = 0; i < n; ++i)
        if (points_++ == 0 || ts[i] < t0_) t0_ = ts[i];
    bound_ += n * (kMaxVarint + kMaxVarint + 1);
}

void CompactEncoder::add_many(std::string_view series, const std::int64_t* ts, const std::int64_t* values,
                              std::size_t n) {
    Column& c = column(series, n);
    if (c.mixed || (!c.ts.empty() && c.kind != kInt)) {
        for (std::size_t i = 0; i < n; ++i) add(series, ts[i], values[i]);
        return;
    }
    c.kind = kInt;
    c.ints.insert(c.ints.end(), values, values + n);
    c.ts.insert(c.ts.end(), ts, ts + n);
    for (std::size_t i = 0; i < n; ++i)
        if (points_++ == 0 || ts[i] < t0_) t0_ = ts[i];
    bound_ += n * (kMaxVarint + kMaxVarint + 1);
}

std::size_t CompactEncoder::size_estimate() const noexcept {
    // magic, version, device, batch id, seq, t0, series count
    return 1 + 1 + kMaxVarint + device_.size() + kUuidBytes + 3 * kMaxVarint + bound_;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
}

void put_uuid(std::string& out, std::string_view id) {
    int high = -1;
    for (char c : id) {
        if (c == '-') continue;
        if (high < 0) {
            high = hex_value(c);
        } else {
            out += static_cast<char>(high << 4 | hex_value(c));
            high = -1;
        }
    }
}

void put_values(std::string& out, const CompactEncoder::Column& c, Kind kind, std::string& scratch) {
    switch (kind) {
        case kDouble: put_doubles(out, c.doubles, scratch); return;
        case kInt: put_ints(out, c.ints, scratch); return;
        case kBool: put_bools(out, c.bools); return;
        case kString: put_texts(out, kStrings, c.strings); return;
        case kObject: put_texts(out, kObjects, c.objects); return;
    }
}

bool has_kind(const CompactEncoder::Column& c, int kind) {
    switch (kind) {
        case kDouble: return !c.doubles.empty();
        case kInt: return !c.ints.empty();
        case kBool: return !c.bools.empty();
        case kString: return !c.strings.empty();
        default: return !c.objects.empty();
    }
}

}  // namespace

std::string CompactEncoder::finish(std::string_view batch_id, std::uint64_t seq) {
    std::string out;
    out.reserve(size_estimate());
    out += static_cast<char>(kCompactMagic);
    put_uvarint(out, kBatchFormatVersion);
    put_string(out, device_);
    put_uuid(out, batch_id);
    put_uvarint(out, seq);
    const std::int64_t t0 = points_ ? t0_ : 0;
    put_svarint(out, static_cast<std::uint64_t>(t0));
    put_uvarint(out, order_.size());
    std::string scratch;
    std::vector<std::uint64_t> offsets;
    for (const Column* c : order_) {
        put_string(out, c->name);
        put_uvarint(out, c->ts.size());
        offsets.clear();
        for (std::int64_t ts : c->ts) offsets.push_back(static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(t0));
        put_int_stream(out, offsets.data(), offsets.size(), scratch);
        if (!c->mixed) {
            put_values(out, *c, c->kind, scratch);
            continue;
        }
        out += static_cast<char>(kMixed);
        out.append(reinterpret_cast<const char*>(c->kinds.data()), c->kinds.size());
        for (int k = 0; k < kKinds; ++k)
            if (has_kind(*c, k)) put_values(out, *c, static_cast<Kind>(k), scratch);
    }
    clear();
    return out;
}

void CompactEncoder::clear() noexcept {
    // Keep the series of this batch (and their capacity) for the next one; drop the others.
    for (auto it = columns_.begin(); it != columns_.end();) {
        if (!it->second->active) {
            it = columns_.erase(it);
            continue;
        }
        it->second->clear();
        ++it;
    }
    order_.clear();
    last_ = nullptr;
    points_ = 0;
    t0_ = 0;
    bound_ = 0;
}

// =============================================================================================
// Decoder

namespace {

[[noreturn]] void malformed(const std::string& what) {
    throw Error(Status::ProtocolError, "malformed datapoint batch: " + what);
}

std::string quoted(std::string_view s) {
    if (s.size() > 64 || !is_utf8(s)) return "<" + std::to_string(s.size()) + " bytes>";
    std::string out = "'";
    for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    return out + "'";
}

// Bounds-checked reading of the batch; `what` names the field for messages.
class Reader {
public:
    explicit Reader(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

    std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
    bool at_end() const { return p_ == end_; }

    unsigned char byte(const std::string& what) {
        if (p_ == end_) malformed(what + " is missing (the batch ends early)");
        return static_cast<unsigned char>(*p_++);
    }

    std::uint64_t uvarint(const std::string& what) {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (p_ == end_) malformed(what + ": the batch ends inside a varint");
            const auto b = static_cast<unsigned char>(*p_++);
            if (shift == 63 && b > 1) malformed(what + ": a varint is larger than 64 bits");
            v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        malformed(what + ": a varint is longer than 10 bytes");
    }

    std::int64_t svarint(const std::string& what) { return unzigzag(uvarint(what)); }

    std::string_view bytes(std::size_t n, const std::string& what) {
        if (n > left())
            malformed(what + " claims " + std::to_string(n) + " bytes, but only " + std::to_string(left()) +
                      " are left");
        std::string_view s(p_, n);
        p_ += n;
        return s;
    }

    std::string_view string(const std::string& what) {
        const std::uint64_t n = uvarint(what);
        if (n > left())
            malformed(what + " claims " + std::to_string(n) + " bytes, but only " + std::to_string(left()) +
                      " are left");
        return bytes(static_cast<std::size_t>(n), what);
    }

private:
    const char* p_;
    const char* end_;
};

// Bits, most significant first, of a block of bytes.
class BitReader {
public:
    BitReader(std::string_view bytes, const std::string& what) : bytes_(bytes), what_(what) {}
    std::uint64_t get(int n) {
        std::uint64_t v = 0;
        if (static_cast<std::uint64_t>(n) > bytes_.size() * 8 - pos_)
            malformed(what_ + ": the XOR bits end early");
        for (int i = 0; i < n; ++i, ++pos_) {
            const auto b = static_cast<unsigned char>(bytes_[pos_ / 8]);
            v = (v << 1) | ((b >> (7 - pos_ % 8)) & 1);
        }
        return v;
    }
    // All but the last byte's padding was read.
    bool done() const { return (pos_ + 7) / 8 == bytes_.size(); }

private:
    std::string_view bytes_;
    const std::string& what_;
    std::uint64_t pos_ = 0;
};

// The values of an int-stream of `n` values.
std::vector<std::uint64_t> int_stream(Reader& r, std::size_t n, const std::string& what) {
    const unsigned order = r.byte(what + " order");
    if (order > 2) malformed(what + ": int-stream order " + std::to_string(order) + " is not 0, 1 or 2");
    std::vector<std::uint64_t> x;
    x.reserve(n);  // n is bounded by kMaxCompactPoints
    while (x.size() < n) {
        const auto t = static_cast<std::uint64_t>(r.svarint(what));
        x.push_back(t);
        if (t == 0) {
            const std::uint64_t zeros = r.uvarint(what);
            if (zeros > n - x.size())
                malformed(what + ": a run of " + std::to_string(zeros) + " zeros is longer than the " +
                          std::to_string(n - x.size()) + " values left");
            x.resize(x.size() + static_cast<std::size_t>(zeros), 0);
        }
    }
    if (order == 1) {
        for (std::size_t i = 1; i < n; ++i) x[i] += x[i - 1];
    } else if (order == 2 && n >= 2) {
        std::uint64_t delta = x[1];
        x[1] += x[0];
        for (std::size_t i = 2; i < n; ++i) {
            delta += x[i];
            x[i] = x[i - 1] + delta;
        }
    }
    return x;
}

void read_xor_doubles(Reader& r, std::size_t n, const std::string& what, std::vector<DatapointValue>& out) {
    const std::string_view block = r.string(what + " XOR block");
    BitReader bits(block, what);
    std::uint64_t prev = bits.get(64);
    int lead = -1, len = 0;
    auto push = [&](std::uint64_t b) {
        const double v = double_of(b);
        if (!std::isfinite(v)) malformed(what + ": a value is not finite");
        out.emplace_back(v);
    };
    push(prev);
    for (std::size_t i = 1; i < n; ++i) {
        if (bits.get(1) == 0) {
            push(prev);
            continue;
        }
        if (bits.get(1) == 0) {
            if (lead < 0) malformed(what + ": an XOR value reuses a window before one was set");
        } else {
            lead = static_cast<int>(bits.get(6));
            len = static_cast<int>(bits.get(6)) + 1;
            if (lead + len > 64) malformed(what + ": an XOR window runs past bit 64");
        }
        const std::uint64_t x = bits.get(len) << (64 - lead - len);
        prev ^= x;
        push(prev);
    }
    if (!bits.done()) malformed(what + ": the XOR block has bytes after its last value");
}

void read_decimal_doubles(Reader& r, std::size_t n, const std::string& what, std::vector<DatapointValue>& out) {
    const unsigned k = r.byte(what + " decimals");
    if (k > kMaxDecimals) malformed(what + ": " + std::to_string(k) + " decimals, more than 15");
    for (std::uint64_t m : int_stream(r, n, what)) {
        const auto v = static_cast<std::int64_t>(m);
        if (v > kMaxExactInt || v < -kMaxExactInt) malformed(what + ": a scaled value is beyond 2^53");
        out.emplace_back(static_cast<double>(v) / kPow10[k]);
    }
}

void read_bools(Reader& r, std::size_t n, const std::string& what, std::vector<DatapointValue>& out) {
    const unsigned first = r.byte(what);
    if (first > 1) malformed(what + ": the first boolean is " + std::to_string(first) + ", not 0 or 1");
    bool value = first == 1;
    std::size_t done = 0;
    while (done < n) {
        const std::uint64_t run = r.uvarint(what);
        if (run == 0 || run > n - done)
            malformed(what + ": a run of " + std::to_string(run) + " booleans where 1.." + std::to_string(n - done) +
                      " are left");
        out.insert(out.end(), static_cast<std::size_t>(run), DatapointValue(value));
        done += static_cast<std::size_t>(run);
        value = !value;
    }
}

// An object value's JSON text: nesting is counted before parsing, so that neither the parser nor
// the value's destructor goes deeper than kMaxValueDepth.
nlohmann::json read_object(std::string_view text, const std::string& what) {
    if (json_nesting_exceeds(text, static_cast<std::size_t>(kMaxValueDepth)))
        malformed(what + ": a value is nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) malformed(what + ": an object value is not valid JSON");
    if (!j.is_object()) malformed(what + ": a value is JSON but not an object");
    try {
        validate_value(j);
    } catch (const Error& e) {
        malformed(what + ": " + e.what());
    }
    return j;
}

void read_texts(Reader& r, std::size_t n, bool objects, const std::string& what, std::vector<DatapointValue>& out) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::string_view s = r.string(what);
        if (objects) {
            out.emplace_back(read_object(s, what));
        } else {
            if (!is_utf8(s)) malformed(what + ": a string is not valid UTF-8");
            out.emplace_back(std::string(s));
        }
    }
}

// One value block of `n` values; `kind` >= 0 restricts its type to that kind (in a mixed series).
void read_block(Reader& r, std::size_t n, int kind, const std::string& what, std::vector<DatapointValue>& out) {
    const unsigned type = r.byte(what + " type");
    static const int kind_of[] = {kDouble, kDouble, kInt, kBool, kString, kObject};
    if (kind >= 0 && (type > kObjects || kind_of[type] != kind))
        malformed(what + ": a block of type " + std::to_string(type) + " where kind " + std::to_string(kind) +
                  " belongs");
    switch (type) {
        case kXorDoubles: read_xor_doubles(r, n, what, out); return;
        case kDecimalDoubles: read_decimal_doubles(r, n, what, out); return;
        case kInts:
            for (std::uint64_t v : int_stream(r, n, what)) out.emplace_back(static_cast<std::int64_t>(v));
            return;
        case kBools: read_bools(r, n, what, out); return;
        case kStrings: read_texts(r, n, false, what, out); return;
        case kObjects: read_texts(r, n, true, what, out); return;
        case kMixed: {
            const std::string_view kinds = r.bytes(n, what + " kinds");
            std::size_t count[kKinds] = {};
            for (char c : kinds) {
                const auto k = static_cast<unsigned char>(c);
                if (k >= kKinds) malformed(what + ": value kind " + std::to_string(k) + " is not 0..4");
                ++count[k];
            }
            std::vector<DatapointValue> of_kind[kKinds];
            for (int k = 0; k < kKinds; ++k)
                if (count[k]) read_block(r, count[k], k, what, of_kind[k]);
            std::size_t next[kKinds] = {};
            for (char c : kinds) {
                const auto k = static_cast<unsigned char>(c);
                out.push_back(std::move(of_kind[k][next[k]++]));
            }
            return;
        }
        default: malformed(what + ": unknown value block type " + std::to_string(type));
    }
}

std::string uuid_text(std::string_view raw) {
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        const auto b = static_cast<unsigned char>(raw[i]);
        s += hex[b >> 4];
        s += hex[b & 15];
    }
    return s;
}

}  // namespace

DecodedBatch decode_compact(std::string_view bytes) {
    Reader r(bytes);
    if (r.byte("the magic byte") != kCompactMagic) malformed("a compact batch starts with byte 0xd1");
    DecodedBatch out;
    out.encoding = Encoding::Compact;
    const std::uint64_t version = r.uvarint("the version");
    if (version != static_cast<std::uint64_t>(kBatchFormatVersion))
        malformed("unsupported batch format version " + std::to_string(version) + " (this reader knows " +
                  std::to_string(kBatchFormatVersion) + ")");
    out.version = kBatchFormatVersion;
    const std::string_view device = r.string("the device id");
    if (device.empty() || !is_utf8(device)) malformed("the device id must be a non-empty UTF-8 string");
    out.device = std::string(device);
    out.batch_id = uuid_text(r.bytes(kUuidBytes, "the batch id"));
    out.seq = r.uvarint("seq");
    const auto t0 = static_cast<std::uint64_t>(r.svarint("t0"));
    const std::uint64_t series = r.uvarint("the series count");
    // A series takes at least 5 bytes (name, count, order, one timestamp, block type).
    if (series > r.left() / 5)
        malformed("the series count " + std::to_string(series) + " is more than " + std::to_string(r.left()) +
                  " bytes can hold");
    std::unordered_set<std::string_view> names;
    std::vector<DatapointValue> values;
    for (std::uint64_t s = 0; s < series; ++s) {
        const std::string_view name = r.string("series " + std::to_string(s) + " name");
        try {
            validate_series_name(name);
        } catch (const Error& e) {
            malformed(e.what());
        }
        if (!names.insert(name).second) malformed("series " + quoted(name) + " appears twice");
        const std::string what = "series " + quoted(name);
        const std::uint64_t count = r.uvarint(what + " count");
        if (count == 0) malformed(what + " has no points");
        if (count > kMaxCompactPoints - out.points.size())
            malformed(what + ": more than " + std::to_string(kMaxCompactPoints) + " points in the batch");
        const auto n = static_cast<std::size_t>(count);
        const std::vector<std::uint64_t> offsets = int_stream(r, n, what + " timestamps");
        values.clear();
        read_block(r, n, -1, what + " values", values);
        out.points.reserve(out.points.size() + n);
        for (std::size_t i = 0; i < n; ++i)
            out.points.push_back(Datapoint{std::string(name), static_cast<std::int64_t>(t0 + offsets[i]),
                                           std::move(values[i])});
    }
    if (!r.at_end()) malformed(std::to_string(r.left()) + " bytes after the last series");
    return out;
}

}  // namespace twinlink::detail
