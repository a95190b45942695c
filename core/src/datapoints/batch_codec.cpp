// Datapoint rules (series names, values) and the batch codec.
//
// JSON is written directly as text: each value is formatted once, when it is added, which is what
// lets size_estimate() be exact for values instead of guessing how long a double will print, and
// costs about half of building a DOM and dump()ing it (codec_bench measures both). The text follows
// nlohmann's dump(): the same escaping, objects through dump() itself, doubles in shortest
// round-trip form with ".0" on integral ones (std::to_chars, which may pick "1e+14" where dump()
// writes "100000000000000.0"; both read back as the same double). CBOR is written directly as bytes
// too, in nlohmann's CBOR mapping (the bytes are the same as to_cbor() of the same document, which
// the codec tests check): each value is encoded when it is added, and finish() writes the heads,
// keys and time offsets around the value bytes. Object values go through nlohmann's to_cbor(). Both encodings
// are read with nlohmann's SAX parser, which keeps the document order, lets the reader see
// repeated members, and lets it stop hostile nesting before nlohmann's recursive CBOR reader goes
// deep.
#include "twinlink/batch_codec.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "twinlink/status.hpp"
#include "twinlink/uuid7.hpp"

#include "common/utf8.hpp"
#include "datapoints/compact_codec.hpp"
#include "datapoints/recent_names.hpp"

namespace twinlink {
namespace {

using detail::is_utf8;
using detail::utf8_sequence;

constexpr std::uint64_t kInt64Max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// ---------------------------------------------------------------------------------------------
// UTF-8 and names

std::string printable(std::string_view s) {
    // For messages: the text itself when it is short and printable UTF-8, else a description.
    if (s.size() > 64 || !is_utf8(s)) return "<" + std::to_string(s.size()) + " bytes>";
    std::string out = "'";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out + "'";
}

// The reason `name` is not a valid series name, or nullptr.
const char* series_name_problem(std::string_view name) {
    if (name.empty()) return "is empty";
    if (name.size() > kMaxSeriesNameBytes) return "is longer than 128 bytes";
    std::size_t i = 0;
    while (i < name.size()) {
        std::uint32_t cp;
        const std::size_t len = utf8_sequence(name, i, cp);
        if (len == 0) return "is not valid UTF-8";
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return "contains a control character";
        if (cp == '/' || cp == '+' || cp == '#') return "contains '/', '+' or '#', which are reserved";
        i += len;
    }
    return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Values

// Why a JSON value inside an object value cannot be carried, or nullptr. Depth is bounded before
// recursing, so a deeply nested value cannot exhaust the stack here.
template <class Json>
const char* json_problem(const Json& j, int depth) {
    switch (j.type()) {
        case nlohmann::json::value_t::object:
            if (depth > kMaxValueDepth) return "is nested deeper than 32 levels";
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (!is_utf8(it.key())) return "has a key that is not valid UTF-8";
                if (const char* p = json_problem(it.value(), depth + 1)) return p;
            }
            return nullptr;
        case nlohmann::json::value_t::array:
            if (depth > kMaxValueDepth) return "is nested deeper than 32 levels";
            for (const auto& e : j)
                if (const char* p = json_problem(e, depth + 1)) return p;
            return nullptr;
        case nlohmann::json::value_t::string:
            return is_utf8(j.template get_ref<const std::string&>()) ? nullptr
                                                                     : "has a string that is not valid UTF-8";
        case nlohmann::json::value_t::number_float:
            return std::isfinite(j.template get<double>()) ? nullptr : "has a number that is not finite";
        case nlohmann::json::value_t::binary:
            return "has a binary value, which JSON cannot carry";
        case nlohmann::json::value_t::discarded:
            return "is a discarded value";
        default:
            return nullptr;
    }
}

// `series` is empty when the value is checked on its own.
[[noreturn]] void throw_value(std::string_view series, const std::string& problem) {
    throw Error(Status::InvalidArgument, "datapoint value " +
                                             (series.empty() ? "" : "for series " + printable(series) + " ") +
                                             problem);
}

void check_double(std::string_view series, double v) {
    if (!std::isfinite(v))
        throw_value(series, std::isnan(v) ? "is NaN; JSON cannot carry it"
                                          : "is infinite; JSON cannot carry it");
}

void check_string(std::string_view series, std::string_view v) {
    if (!is_utf8(v)) throw_value(series, "is a string that is not valid UTF-8");
}

void check_object(std::string_view series, const nlohmann::json& v) {
    if (!v.is_object())
        throw_value(series, std::string("is a JSON ") + v.type_name() +
                                "; a JSON value must be an object (use a number, bool or string for scalars)");
    if (const char* p = json_problem(v, 1)) throw_value(series, std::string("is an object that ") + p);
}

// ---------------------------------------------------------------------------------------------
// Sizes

std::size_t decimal_digits(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 10) { v /= 10; ++n; }
    return n;
}

std::size_t decimal_size(std::int64_t v) {
    return v < 0 ? 1 + decimal_digits(0 - static_cast<std::uint64_t>(v))
                 : decimal_digits(static_cast<std::uint64_t>(v));
}

// Bytes of a CBOR head (major type + argument), which is also the size of an unsigned integer.
std::size_t cbor_head(std::uint64_t v) {
    return v < 24 ? 1 : v <= 0xFF ? 2 : v <= 0xFFFF ? 3 : v <= 0xFFFFFFFFull ? 5 : 9;
}

std::size_t cbor_int(std::int64_t v) {
    return v >= 0 ? cbor_head(static_cast<std::uint64_t>(v))
                  : cbor_head(static_cast<std::uint64_t>(-(v + 1)));
}

// nlohmann writes a double as float32 when that is exact.
std::size_t cbor_double(double v) {
    const bool fits = v >= static_cast<double>(std::numeric_limits<float>::lowest()) &&
                      v <= static_cast<double>(std::numeric_limits<float>::max()) &&
                      static_cast<double>(static_cast<float>(v)) == v;
    return fits ? 5 : 9;
}

std::size_t cbor_string(std::size_t size) { return cbor_head(size) + size; }

// ---------------------------------------------------------------------------------------------
// CBOR bytes (RFC 8949, definite lengths, shortest heads), as nlohmann's to_cbor() writes them

// The writers below put one item at `out`, which has room for its largest form, and return the end.
constexpr std::size_t kMaxCborNumber = 9;  // a head with an 8-byte argument, or a float64
constexpr std::size_t kMaxIntText = 20;    // "-9223372036854775808"
constexpr std::size_t kMaxDoubleText = 26; // to_chars' shortest form (at most 24) and ".0"

// Big-endian stores as one byte swap and one store. libtwinlink is built at -Os, where a loop of
// shifts (a byte at a time) stays a loop: for a float64, that loop was most of write_cbor_double.
template <class T>
void store_big_endian(char* out, T v) {
    static_assert(std::is_same_v<T, std::uint16_t> || std::is_same_v<T, std::uint32_t> ||
                  std::is_same_v<T, std::uint64_t>);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if constexpr (sizeof(T) == 2) v = __builtin_bswap16(v);
    else if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
    else v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "unknown byte order"
#endif
    std::memcpy(out, &v, sizeof v);
}

char* write_cbor_head(char* out, std::uint8_t major, std::uint64_t v) {
    const auto m = static_cast<char>(major << 5);
    if (v < 24) {
        *out = static_cast<char>(m | static_cast<char>(v));
        return out + 1;
    }
    if (v <= 0xFF) {
        out[0] = static_cast<char>(m | 24);
        out[1] = static_cast<char>(v);
        return out + 2;
    }
    if (v <= 0xFFFF) {
        out[0] = static_cast<char>(m | 25);
        store_big_endian(out + 1, static_cast<std::uint16_t>(v));
        return out + 3;
    }
    if (v <= 0xFFFFFFFFull) {
        out[0] = static_cast<char>(m | 26);
        store_big_endian(out + 1, static_cast<std::uint32_t>(v));
        return out + 5;
    }
    out[0] = static_cast<char>(m | 27);
    store_big_endian(out + 1, v);
    return out + 9;
}

char* write_cbor_int(char* out, std::int64_t v) {
    if (v >= 0) return write_cbor_head(out, 0, static_cast<std::uint64_t>(v));
    return write_cbor_head(out, 1, static_cast<std::uint64_t>(-(v + 1)));
}

// float32 when that is exact, as nlohmann does, else float64.
char* write_cbor_double(char* out, double v) {
    if (cbor_double(v) == 5) {
        const float f = static_cast<float>(v);
        std::uint32_t bits;
        std::memcpy(&bits, &f, sizeof bits);
        out[0] = static_cast<char>(0xFA);
        store_big_endian(out + 1, bits);
        return out + 5;
    }
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    out[0] = static_cast<char>(0xFB);
    store_big_endian(out + 1, bits);
    return out + 9;
}

char* write_int_text(char* out, std::int64_t v) { return std::to_chars(out, out + kMaxIntText, v).ptr; }

// The shortest text that reads back as the same double, like nlohmann's dump(); an integral value
// gets ".0" so that a reader sees a double, not an integer.
char* write_double_text(char* out, double v) {
    char* end = std::to_chars(out, out + kMaxDoubleText - 2, v).ptr;
    for (const char* p = out; p != end; ++p)
        if (*p == '.' || *p == 'e') return end;
    *end++ = '.';
    *end++ = '0';
    return end;
}

// Appends `n` items to `out`: `write(at, i)` writes item i at `at`, which has room for `max_bytes`,
// and returns the end. Room for all of them is made at once, so that the items cost no append each.
template <class Write>
void write_in_place(std::string& out, std::size_t n, std::size_t max_bytes, Write write) {
    const std::size_t before = out.size();
    out.resize(before + n * max_bytes);
    char* const base = out.data();
    char* at = base + before;
    for (std::size_t i = 0; i < n; ++i) at = write(at, i);
    out.resize(static_cast<std::size_t>(at - base));
}

void put_cbor_head(std::string& out, std::uint8_t major, std::uint64_t v) {
    char buf[kMaxCborNumber];
    out.append(buf, write_cbor_head(buf, major, v));
}

void put_cbor_int(std::string& out, std::int64_t v) {
    char buf[kMaxCborNumber];
    out.append(buf, write_cbor_int(buf, v));
}

void put_cbor_double(std::string& out, double v) {
    char buf[kMaxCborNumber];
    out.append(buf, write_cbor_double(buf, v));
}

void put_cbor_text(std::string& out, std::string_view s) {
    put_cbor_head(out, 3, s.size());
    out.append(s.data(), s.size());
}

// ---------------------------------------------------------------------------------------------
// JSON text

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
    char buf[kMaxIntText];
    out.append(buf, write_int_text(buf, v));
}

void append_double(std::string& out, double v) {
    char buf[kMaxDoubleText];
    out.append(buf, write_double_text(buf, v));
}

// RFC 8259 escaping, as nlohmann does it (UTF-8 passes through; control characters are escaped).
void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    std::size_t run = 0;  // start of the bytes not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: {
                static const char hex[] = "0123456789abcdef";
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                out.append(esc, sizeof esc);
            }
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

// The fixed text around a JSON batch; size_estimate() counts with the same pieces finish() writes.
constexpr std::string_view kJsonHead = R"({"v":1,"device":)";
constexpr std::string_view kJsonBatch = R"(,"batch":")";
constexpr std::string_view kJsonSeq = R"(","seq":)";
constexpr std::string_view kJsonT0 = R"(,"t0":)";
constexpr std::string_view kJsonSeries = R"(,"series":{)";
constexpr std::string_view kJsonTail = "}}";
constexpr std::string_view kJsonEntryHead = R"(:{"t":[)";
constexpr std::string_view kJsonEntryMid = R"(],"v":[)";
constexpr std::string_view kJsonEntryTail = "]}";
constexpr std::size_t kUuidSize = 36;
constexpr std::size_t kRecountCredit = 8;
constexpr std::size_t kMaxUint64Digits = 20;

// CBOR keys are one-byte-head text strings: "v" is 2 bytes, "device" 7, and so on.
constexpr std::size_t cbor_key(std::string_view key) { return 1 + key.size(); }

}  // namespace

const char* encoding_name(Encoding encoding) noexcept {
    switch (encoding) {
        case Encoding::Json: return "json";
        case Encoding::Cbor: return "cbor";
        case Encoding::Compact: return "compact";
    }
    return "unknown";
}

void validate_series_name(std::string_view name) {
    if (const char* problem = series_name_problem(name))
        throw Error(Status::InvalidArgument, "series name " + printable(name) + " " + problem);
}

void validate_value(const DatapointValue& value) {
    if (const auto* d = std::get_if<double>(&value)) check_double("", *d);
    else if (const auto* s = std::get_if<std::string>(&value)) check_string("", *s);
    else if (const auto* j = std::get_if<nlohmann::json>(&value)) check_object("", *j);
}

// =============================================================================================
// Encoder

namespace {

struct Column {
    explicit Column(std::string n) : name(std::move(n)) {}
    std::string name;
    std::size_t name_bytes = 0;      // the encoded key: quoted JSON string, or CBOR text string
    bool active = false;             // has points in the current batch
    std::vector<std::int64_t> ts;    // absolute; the offsets to t0 are written by finish()
    std::string text;                // the values, ready to copy: Json comma-separated, Cbor items
};

}  // namespace

struct BatchEncoder::Impl {
    Encoding encoding;
    std::string device;
    std::unique_ptr<detail::CompactEncoder> compact;  // Encoding::Compact keeps its columns there
    std::size_t device_bytes = 0;  // encoded

    // Columns stay allocated across batches while their series keep appearing; the keys view the
    // columns' names, which never move because the columns live on the heap.
    std::unordered_map<std::string_view, std::unique_ptr<Column>> columns;
    std::vector<Column*> order;  // columns with points, in order of their first point
    detail::RecentNames<Column*> recent;  // the columns of recently added series, by their name

    std::size_t points = 0;
    std::int64_t t0 = 0;
    std::int64_t t_max = 0;
    // Bytes of the time offsets under the current t0. Exact while timestamps arrive at or after the
    // first one; a point before t0 shifts every offset, and until the next recount the sum is
    // bounded by (points × size of the largest offset).
    std::size_t t_bytes = 0;
    bool t_bytes_loose = false;
    std::size_t recount_credit = 0;
    // Everything else that is not fixed per batch: per-series framing and keys, separators, values.
    std::size_t body_bytes = 0;
    // finish() writes a column's time offsets here first (in place, see write_in_place()), so that
    // the batch itself never needs more than the room reserved for it.
    mutable std::string scratch;

    Impl(Encoding e, std::string d) : encoding(e), device(std::move(d)) {
        device_bytes = encoding == Encoding::Json ? json_string_size(device) : cbor_string(device.size());
    }

    static std::size_t json_string_size(std::string_view s) {
        std::string tmp;
        append_json_string(tmp, s);
        return tmp.size();
    }

    std::size_t offset_size(std::uint64_t offset) const {
        return encoding == Encoding::Json ? decimal_digits(offset) : cbor_head(offset);
    }

    Column& column(std::string_view name) {
        const std::size_t slot = detail::RecentNames<Column*>::slot_of(name);
        Column* c = recent.find(name, slot, nullptr, [](const Column* col) { return std::string_view(col->name); });
        if (c && c->active) return *c;
        if (!c) c = find_or_add(name);
        recent.put(slot, c);
        if (!c->active) activate(*c);
        return *c;
    }

    Column* find_or_add(std::string_view name) {
        auto it = columns.find(name);
        Column* c;
        if (it != columns.end()) {
            c = it->second.get();
        } else {
            validate_series_name(name);
            auto owned = std::make_unique<Column>(std::string(name));
            c = owned.get();
            c->name_bytes = encoding == Encoding::Json ? json_string_size(c->name) : cbor_string(c->name.size());
            columns.emplace(std::string_view(c->name), std::move(owned));
        }
        return c;
    }

    void activate(Column& c) {
        c.active = true;
        order.push_back(&c);
        if (encoding == Encoding::Json) {
            body_bytes += (order.size() > 1 ? 1 : 0) + c.name_bytes + kJsonEntryHead.size() +
                          kJsonEntryMid.size() + kJsonEntryTail.size();
        } else {
            // key, map(2), "t", empty array head, "v", empty array head
            body_bytes += c.name_bytes + 1 + cbor_key("t") + 1 + cbor_key("v") + 1;
        }
    }

    // Accounts for the value's separator (Json) or the growth of the array heads (Cbor) of a column
    // that is about to get its next point.
    void grow(Column& c) {
        const std::size_t n = c.ts.size();
        if (encoding == Encoding::Json) {
            if (n > 0) body_bytes += 2;  // ',' in t and ',' in v
        } else {
            body_bytes += 2 * (cbor_head(n + 1) - cbor_head(n));
        }
    }

    void note_timestamp(Column& c, std::int64_t ts) {
        c.ts.push_back(ts);
        ++points;
        if (points == 1) {
            t0 = t_max = ts;
            t_bytes = offset_size(0);
        } else if (ts >= t0) {
            t_bytes += offset_size(static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(t0));
            if (ts > t_max) t_max = ts;
        } else {
            t0 = ts;
            t_bytes = points * offset_size(static_cast<std::uint64_t>(t_max) - static_cast<std::uint64_t>(t0));
            t_bytes_loose = true;
        }
        // Recounting costs one step per point; each point earns kRecountCredit, so points that keep
        // moving t0 back cost O(1) each and the bound is re-tightened every points/kRecountCredit.
        recount_credit = std::min(recount_credit + kRecountCredit, points);
        if (t_bytes_loose && recount_credit >= points) {
            recount_credit -= points;
            recount();
        }
    }

    void recount() {
        std::size_t sum = 0;
        for (const Column* c : order)
            for (std::int64_t ts : c->ts)
                sum += offset_size(static_cast<std::uint64_t>(ts) - static_cast<std::uint64_t>(t0));
        t_bytes = sum;
        t_bytes_loose = false;
    }

    std::size_t fixed_bytes() const {
        const std::int64_t t0_now = points ? t0 : 0;
        if (encoding == Encoding::Json) {
            return kJsonHead.size() + device_bytes + kJsonBatch.size() + kUuidSize + kJsonSeq.size() +
                   kMaxUint64Digits + kJsonT0.size() + decimal_size(t0_now) + kJsonSeries.size() +
                   kJsonTail.size();
        }
        return 1 /* map(6) */ + cbor_key("v") + 1 + cbor_key("device") + device_bytes + cbor_key("batch") +
               cbor_string(kUuidSize) + cbor_key("seq") + 9 + cbor_key("t0") + cbor_int(t0_now) +
               cbor_key("series") + cbor_head(order.size());
    }

    void reset() noexcept {
        // Keep the columns of the series in this batch (and their capacity) for the next one; drop
        // the others, so a device that renames its series does not accumulate columns forever.
        for (auto it = columns.begin(); it != columns.end();) {
            Column& c = *it->second;
            if (!c.active) {
                it = columns.erase(it);
                continue;
            }
            c.active = false;
            c.ts.clear();
            c.text.clear();
            ++it;
        }
        order.clear();
        recent.clear();  // it may point at columns erased above
        points = 0;
        t0 = t_max = 0;
        t_bytes = 0;
        t_bytes_loose = false;
        recount_credit = 0;
        body_bytes = 0;
    }

    std::string finish_json(std::string_view batch_id, std::uint64_t seq, std::size_t reserve) const {
        std::string out;
        out.reserve(reserve);
        out += kJsonHead;
        append_json_string(out, device);
        out += kJsonBatch;
        out += batch_id;
        out += kJsonSeq;
        append_uint(out, seq);
        out += kJsonT0;
        append_int(out, points ? t0 : 0);
        out += kJsonSeries;
        const auto base = static_cast<std::uint64_t>(t0);
        for (std::size_t i = 0; i < order.size(); ++i) {
            const Column& c = *order[i];
            if (i) out += ',';
            append_json_string(out, c.name);
            out += kJsonEntryHead;
            scratch.clear();
            write_in_place(scratch, c.ts.size(), kMaxIntText + 1, [&](char* at, std::size_t k) {
                if (k) *at++ = ',';
                return std::to_chars(at, at + kMaxIntText, static_cast<std::uint64_t>(c.ts[k]) - base).ptr;
            });
            out += scratch;
            out += kJsonEntryMid;
            out += c.text;
            out += kJsonEntryTail;
        }
        out += kJsonTail;
        return out;
    }

    std::string finish_cbor(std::string_view batch_id, std::uint64_t seq, std::size_t reserve) const {
        std::string out;
        out.reserve(reserve);
        put_cbor_head(out, 5, 6);
        put_cbor_text(out, "v");
        put_cbor_int(out, kBatchFormatVersion);
        put_cbor_text(out, "device");
        put_cbor_text(out, device);
        put_cbor_text(out, "batch");
        put_cbor_text(out, batch_id);
        put_cbor_text(out, "seq");
        put_cbor_head(out, 0, seq);
        put_cbor_text(out, "t0");
        put_cbor_int(out, points ? t0 : 0);
        put_cbor_text(out, "series");
        put_cbor_head(out, 5, order.size());
        const auto base = static_cast<std::uint64_t>(t0);
        for (const Column* c : order) {
            put_cbor_text(out, c->name);
            put_cbor_head(out, 5, 2);
            put_cbor_text(out, "t");
            put_cbor_head(out, 4, c->ts.size());
            scratch.clear();
            write_in_place(scratch, c->ts.size(), kMaxCborNumber, [&](char* at, std::size_t k) {
                return write_cbor_head(at, 0, static_cast<std::uint64_t>(c->ts[k]) - base);
            });
            out += scratch;
            put_cbor_text(out, "v");
            put_cbor_head(out, 4, c->ts.size());
            out += c->text;
        }
        return out;
    }
};

BatchEncoder::BatchEncoder(Encoding encoding, std::string device) {
    if (encoding != Encoding::Json && encoding != Encoding::Cbor && encoding != Encoding::Compact)
        throw Error(Status::InvalidArgument, "unknown datapoint encoding " +
                                                 std::to_string(static_cast<int>(encoding)));
    if (device.empty()) throw Error(Status::InvalidArgument, "the device id of a batch is empty");
    if (!is_utf8(device))
        throw Error(Status::InvalidArgument, "the device id of a batch is not valid UTF-8");
    impl_ = std::make_unique<Impl>(encoding, std::move(device));
    if (encoding == Encoding::Compact) impl_->compact = std::make_unique<detail::CompactEncoder>(impl_->device);
}

BatchEncoder::~BatchEncoder() = default;
BatchEncoder::BatchEncoder(BatchEncoder&&) noexcept = default;
BatchEncoder& BatchEncoder::operator=(BatchEncoder&&) noexcept = default;

Encoding BatchEncoder::encoding() const noexcept { return impl_->encoding; }
const std::string& BatchEncoder::device() const noexcept { return impl_->device; }
std::size_t BatchEncoder::points() const noexcept {
    return impl_->compact ? impl_->compact->points() : impl_->points;
}
std::size_t BatchEncoder::series() const noexcept {
    return impl_->compact ? impl_->compact->series() : impl_->order.size();
}

void BatchEncoder::reject_unsigned(std::string_view series, std::uint64_t value) {
    throw Error(Status::InvalidArgument, "datapoint value " + std::to_string(value) + " for series " +
                                             printable(series) + " does not fit in an int64");
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, double value) {
    check_double(series, value);
    Impl& s = *impl_;
    if (s.compact) return s.compact->add(series, ts_ms, value);
    Column& c = s.column(series);
    s.grow(c);
    if (s.encoding == Encoding::Json) {
        if (!c.ts.empty()) c.text += ',';
        const std::size_t before = c.text.size();
        append_double(c.text, value);
        s.body_bytes += c.text.size() - before;
    } else {
        const std::size_t before = c.text.size();
        put_cbor_double(c.text, value);
        s.body_bytes += c.text.size() - before;
    }
    s.note_timestamp(c, ts_ms);
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, std::int64_t value) {
    Impl& s = *impl_;
    if (s.compact) return s.compact->add(series, ts_ms, value);
    Column& c = s.column(series);
    s.grow(c);
    if (s.encoding == Encoding::Json) {
        if (!c.ts.empty()) c.text += ',';
        const std::size_t before = c.text.size();
        append_int(c.text, value);
        s.body_bytes += c.text.size() - before;
    } else {
        const std::size_t before = c.text.size();
        put_cbor_int(c.text, value);
        s.body_bytes += c.text.size() - before;
    }
    s.note_timestamp(c, ts_ms);
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, bool value) {
    Impl& s = *impl_;
    if (s.compact) return s.compact->add(series, ts_ms, value);
    Column& c = s.column(series);
    s.grow(c);
    if (s.encoding == Encoding::Json) {
        if (!c.ts.empty()) c.text += ',';
        c.text += value ? "true" : "false";
        s.body_bytes += value ? 4 : 5;
    } else {
        c.text += static_cast<char>(value ? 0xF5 : 0xF4);
        s.body_bytes += 1;
    }
    s.note_timestamp(c, ts_ms);
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, std::string_view value) {
    check_string(series, value);
    Impl& s = *impl_;
    if (s.compact) return s.compact->add_string(series, ts_ms, value);
    Column& c = s.column(series);
    s.grow(c);
    if (s.encoding == Encoding::Json) {
        if (!c.ts.empty()) c.text += ',';
        const std::size_t before = c.text.size();
        append_json_string(c.text, value);
        s.body_bytes += c.text.size() - before;
    } else {
        const std::size_t before = c.text.size();
        put_cbor_text(c.text, value);
        s.body_bytes += c.text.size() - before;
    }
    s.note_timestamp(c, ts_ms);
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, const nlohmann::json& object) {
    check_object(series, object);
    Impl& s = *impl_;
    if (s.compact) return s.compact->add_object(series, ts_ms, object.dump());
    Column& c = s.column(series);
    s.grow(c);
    if (s.encoding == Encoding::Json) {
        if (!c.ts.empty()) c.text += ',';
        const std::string text = object.dump();
        c.text += text;
        s.body_bytes += text.size();
    } else {
        const std::size_t before = c.text.size();
        nlohmann::json::to_cbor(object, c.text);
        s.body_bytes += c.text.size() - before;
    }
    s.note_timestamp(c, ts_ms);
}

namespace {

// The loop of both add_many(): `write(out, i)` writes value i in the column's encoding at `out`, which
// has room for `max_bytes`, and returns the end. The values are written in place, into room made
// for all of them at once.
template <class Impl, class Column, class Write>
void add_values(Impl& s, Column& c, const std::int64_t* ts, std::size_t n, std::size_t max_bytes, Write write) {
    const bool json = s.encoding == Encoding::Json;
    const std::size_t had = c.ts.size();
    std::string& text = c.text;
    const std::size_t before = text.size();
    text.resize(before + n * (max_bytes + 1));
    char* const base = text.data();
    char* out = base + before;
    for (std::size_t i = 0; i < n; ++i) {
        if (json && had + i > 0) *out++ = ',';
        out = write(out, i);
    }
    const auto after = static_cast<std::size_t>(out - base);
    text.resize(after);
    // What grow() would have counted point by point: a ',' in "t" for each ',' written in "v"
    // (JSON), or the growth of the two array heads (CBOR).
    if (json) s.body_bytes += (after - before) + (n - (had == 0 ? 1 : 0));
    else s.body_bytes += (after - before) + 2 * (cbor_head(had + n) - cbor_head(had));
    c.ts.reserve(had + n);
    for (std::size_t i = 0; i < n; ++i) s.note_timestamp(c, ts[i]);
}

// Whether every value is finite, in a loop the compiler can vectorise (a value is not finite when
// its exponent bits are all ones).
bool all_finite(const double* values, std::size_t n) {
    constexpr std::uint64_t kExponent = 0x7FF0000000000000ull;
    std::uint64_t bad = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t bits;
        std::memcpy(&bits, &values[i], sizeof bits);
        bad |= static_cast<std::uint64_t>((bits & kExponent) == kExponent);
    }
    return bad == 0;
}

}  // namespace

void BatchEncoder::add_many(std::string_view series, const std::int64_t* ts, const double* values, std::size_t n) {
    if (n == 0) return;
    if (!all_finite(values, n))
        for (std::size_t i = 0; i < n; ++i) check_double(series, values[i]);  // throws for the first one
    Impl& s = *impl_;
    if (s.compact) return s.compact->add_many(series, ts, values, n);
    if (s.encoding == Encoding::Json)
        add_values(s, s.column(series), ts, n, kMaxDoubleText,
                   [&](char* out, std::size_t i) { return write_double_text(out, values[i]); });
    else
        add_values(s, s.column(series), ts, n, kMaxCborNumber,
                   [&](char* out, std::size_t i) { return write_cbor_double(out, values[i]); });
}

void BatchEncoder::add_many(std::string_view series, const std::int64_t* ts, const std::int64_t* values,
                            std::size_t n) {
    if (n == 0) return;
    Impl& s = *impl_;
    if (s.compact) return s.compact->add_many(series, ts, values, n);
    if (s.encoding == Encoding::Json)
        add_values(s, s.column(series), ts, n, kMaxIntText,
                   [&](char* out, std::size_t i) { return write_int_text(out, values[i]); });
    else
        add_values(s, s.column(series), ts, n, kMaxCborNumber,
                   [&](char* out, std::size_t i) { return write_cbor_int(out, values[i]); });
}

void BatchEncoder::add(std::string_view series, std::int64_t ts_ms, const DatapointValue& value) {
    std::visit([&](const auto& v) { add(series, ts_ms, v); }, value);
}

std::size_t BatchEncoder::size_estimate() const noexcept {
    const Impl& s = *impl_;
    if (s.compact) return s.compact->size_estimate();
    return s.fixed_bytes() + s.body_bytes + s.t_bytes;
}

std::string BatchEncoder::finish(std::string_view batch_id, std::uint64_t seq) {
    if (!is_uuid(batch_id))
        throw Error(Status::InvalidArgument, "batch id " + printable(batch_id) + " is not a UUID");
    Impl& s = *impl_;
    if (s.compact) return s.compact->finish(batch_id, seq);
    const std::size_t estimate = size_estimate();
    std::string out = s.encoding == Encoding::Json ? s.finish_json(batch_id, seq, estimate)
                                                   : s.finish_cbor(batch_id, seq, estimate);
    s.reset();
    return out;
}

void BatchEncoder::clear() noexcept {
    if (impl_->compact) impl_->compact->clear();
    else impl_->reset();
}

// =============================================================================================
// Decoder

namespace {

[[noreturn]] void malformed(const std::string& what) {
    throw Error(Status::ProtocolError, "malformed datapoint batch: " + what);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the id means nothing to a
// reader of our error.
std::string strip_exception_id(const std::string& what) {
    if (!what.empty() && what[0] == '[') {
        const auto end = what.find("] ");
        if (end != std::string::npos) return what.substr(end + 2);
    }
    return what;
}

// Reads the events of nlohmann's SAX parser into a DecodedBatch, checking the structure as it goes.
class BatchReader {
public:
    using json = nlohmann::json;

    BatchReader(DecodedBatch& out, std::size_t input_size, bool check_utf8)
        : out_(out), input_size_(input_size), check_utf8_(check_utf8) {}

    // --- the SAX interface ---------------------------------------------------------------
    bool null() { return scalar(Scalar::Null, [&] { return json(nullptr); }); }
    bool boolean(bool v) { int_ = v; return scalar(Scalar::Bool, [&] { return json(v); }); }
    bool number_integer(std::int64_t v) {
        int_ = v;
        uint_ok_ = v >= 0;
        uint_ = static_cast<std::uint64_t>(v);
        return scalar(Scalar::Int, [&] { return json(v); });
    }
    bool number_unsigned(std::uint64_t v) {
        uint_ = v;
        uint_ok_ = true;
        int_ = static_cast<std::int64_t>(v);  // only used when v fits, checked where it matters
        return scalar(v <= kInt64Max ? Scalar::Int : Scalar::BigUint, [&] { return json(v); });
    }
    bool number_float(double v, const std::string&) {
        if (!std::isfinite(v)) malformed(where() + ": a number is not finite");
        double_ = v;
        return scalar(Scalar::Double, [&] { return json(v); });
    }
    bool string(std::string& v) {
        if (check_utf8_ && !is_utf8(v)) malformed(where() + ": a string is not valid UTF-8");
        string_ = &v;
        return scalar(Scalar::String, [&] { return json(v); });
    }
    bool binary(json::binary_t&) { malformed(where() + ": byte strings are not allowed"); }

    bool start_object(std::size_t size) {
        check_size(size);
        switch (state_) {
            case State::Start: state_ = State::Top; return true;
            case State::TopValue:
                if (member_ == Member::Series) { state_ = State::Series; return true; }
                if (member_ == Member::Unknown) return skip(State::Top);
                wrong();
            case State::SeriesValue: state_ = State::Entry; return true;
            case State::EntryValue:
                if (entry_member_ != EntryMember::Unknown) not_an_array();
                return skip(State::Entry);
            case State::Values:
                value_ = json(json::value_t::object);
                stack_.assign(1, &value_);
                state_ = State::Object;
                return true;
            case State::Object: return nest(json(json::value_t::object));
            case State::Skip: return skip_deeper();
            default: unexpected("an object");
        }
    }

    bool end_object() {
        switch (state_) {
            case State::Top: state_ = State::Done; return true;
            case State::Series: state_ = State::Top; return true;
            case State::Entry: end_series(); state_ = State::Series; return true;
            case State::Object: return unnest();
            case State::Skip: return skip_up();
            default: unexpected("the end of an object");
        }
    }

    bool start_array(std::size_t size) {
        check_size(size);
        switch (state_) {
            case State::TopValue:
                if (member_ == Member::Unknown) return skip(State::Top);
                wrong();
            case State::SeriesValue:
                malformed("series " + printable(series_name_) + " must be an object with members t and v");
            case State::EntryValue:
                if (entry_member_ == EntryMember::T) {
                    if (size != std::size_t(-1)) offsets_.reserve(size);
                    state_ = State::Offsets;
                    return true;
                }
                if (entry_member_ == EntryMember::V) {
                    if (size != std::size_t(-1)) values_.reserve(size);
                    state_ = State::Values;
                    return true;
                }
                return skip(State::Entry);
            case State::Values:
                malformed(where() + ": an array is not a datapoint value (wrap it in an object)");
            case State::Object: return nest(json(json::value_t::array));
            case State::Skip: return skip_deeper();
            default: unexpected("an array");
        }
    }

    bool end_array() {
        switch (state_) {
            case State::Offsets: state_ = State::Entry; return true;
            case State::Values: state_ = State::Entry; return true;
            case State::Object: return unnest();
            case State::Skip: return skip_up();
            default: unexpected("the end of an array");
        }
    }

    bool key(std::string& k) {
        if (check_utf8_ && !is_utf8(k)) malformed(where() + ": a key is not valid UTF-8");
        switch (state_) {
            case State::Top: top_key(k); return true;
            case State::Series: series_key(k); return true;
            case State::Entry: entry_key(k); return true;
            case State::Object: key_ = k; return true;
            case State::Skip: return true;
            default: unexpected("a key");
        }
    }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
        (void)position;
        malformed(strip_exception_id(e.what()));
    }

    // --- after the last event -------------------------------------------------------------
    void finish() {
        if (state_ != State::Done) malformed("the document ended early");
        static const std::pair<Member, const char*> required[] = {
            {Member::Version, "v"}, {Member::Device, "device"}, {Member::Batch, "batch"},
            {Member::Seq, "seq"},   {Member::T0, "t0"},         {Member::Series, "series"}};
        for (const auto& [m, name] : required)
            if (!(seen_ & bit(m))) malformed(std::string("member '") + name + "' is missing");
        // Offsets are resolved only now because t0 may come after the series.
        const auto base = static_cast<std::uint64_t>(t0_);
        const std::uint64_t limit = kInt64Max - base;  // largest offset that keeps the time in int64
        for (std::size_t i = 0; i < out_.points.size(); ++i) {
            if (point_offsets_[i] > limit)
                malformed("series " + printable(out_.points[i].name) + ": time offset " +
                          std::to_string(point_offsets_[i]) + " from t0 " + std::to_string(t0_) +
                          " is past the largest int64 timestamp");
            out_.points[i].timestamp_ms = static_cast<std::int64_t>(base + point_offsets_[i]);
        }
    }

private:
    enum class State {
        Start, Top, TopValue, Series, SeriesValue, Entry, EntryValue, Offsets, Values, Object, Skip, Done
    };
    enum class Member : unsigned { Version, Device, Batch, Seq, T0, Series, Unknown };
    enum class EntryMember { T, V, Unknown };
    enum class Scalar { Null, Bool, Int, BigUint, Double, String };

    static unsigned bit(Member m) { return 1u << static_cast<unsigned>(m); }

    template <class MakeJson>
    bool scalar(Scalar kind, MakeJson&& make) {
        switch (state_) {
            case State::TopValue: top_value(kind); state_ = State::Top; return true;
            case State::SeriesValue:
                malformed("series " + printable(series_name_) + " must be an object with members t and v");
            case State::EntryValue:
                if (entry_member_ != EntryMember::Unknown) not_an_array();
                state_ = State::Entry;
                return true;
            case State::Offsets: offset(kind); return true;
            case State::Values: value(kind); return true;
            case State::Object: return insert(make());
            case State::Skip: return true;
            default: unexpected("a value");
        }
    }

    [[noreturn]] void not_an_array() const {
        malformed("series " + printable(series_name_) + ": member '" +
                  (entry_member_ == EntryMember::T ? "t" : "v") + "' must be an array");
    }

    void top_key(const std::string& k) {
        static const std::pair<const char*, Member> known[] = {
            {"v", Member::Version}, {"device", Member::Device}, {"batch", Member::Batch},
            {"seq", Member::Seq},   {"t0", Member::T0},         {"series", Member::Series}};
        member_ = Member::Unknown;
        for (const auto& [name, m] : known)
            if (k == name) member_ = m;
        if (member_ != Member::Unknown) {
            if (seen_ & bit(member_)) malformed("member '" + k + "' appears twice");
            seen_ |= bit(member_);
        }
        state_ = State::TopValue;
    }

    std::string member_name() const {
        switch (member_) {
            case Member::Version: return "v";
            case Member::Device: return "device";
            case Member::Batch: return "batch";
            case Member::Seq: return "seq";
            case Member::T0: return "t0";
            case Member::Series: return "series";
            case Member::Unknown: break;
        }
        return "?";
    }

    const char* member_type() const {
        switch (member_) {
            case Member::Version: return "the integer 1";
            case Member::Device: return "a non-empty string";
            case Member::Batch: return "a UUID string";
            case Member::Seq: return "an unsigned integer";
            case Member::T0: return "an int64 timestamp in milliseconds";
            case Member::Series: return "an object";
            case Member::Unknown: break;
        }
        return "?";
    }

    [[noreturn]] void wrong() const { malformed("member '" + member_name() + "' must be " + member_type()); }

    void top_value(Scalar kind) {
        switch (member_) {
            case Member::Version:
                if (kind == Scalar::BigUint) malformed("unsupported batch format version " + std::to_string(uint_));
                if (kind != Scalar::Int) wrong();
                if (int_ != kBatchFormatVersion)
                    malformed("unsupported batch format version " + std::to_string(int_) + " (this reader knows " +
                              std::to_string(kBatchFormatVersion) + ")");
                out_.version = static_cast<int>(int_);
                return;
            case Member::Device:
                if (kind != Scalar::String || string_->empty()) wrong();
                out_.device = *string_;
                return;
            case Member::Batch:
                if (kind != Scalar::String) wrong();
                if (!is_uuid(*string_)) malformed("batch id " + printable(*string_) + " is not a UUID");
                out_.batch_id = *string_;
                return;
            case Member::Seq:
                if ((kind != Scalar::Int && kind != Scalar::BigUint) || !uint_ok_) wrong();
                out_.seq = uint_;
                return;
            case Member::T0:
                if (kind != Scalar::Int) wrong();
                t0_ = int_;
                return;
            case Member::Series: wrong();
            case Member::Unknown: return;
        }
    }

    void series_key(const std::string& k) {
        if (const char* problem = series_name_problem(k)) malformed("series name " + printable(k) + " " + problem);
        if (!series_seen_.insert(k).second) malformed("series " + printable(k) + " appears twice");
        series_name_ = k;
        entry_seen_ = 0;
        offsets_.clear();
        values_.clear();
        state_ = State::SeriesValue;
    }

    void entry_key(const std::string& k) {
        entry_member_ = k == "t" ? EntryMember::T : k == "v" ? EntryMember::V : EntryMember::Unknown;
        if (entry_member_ != EntryMember::Unknown) {
            const unsigned b = entry_member_ == EntryMember::T ? 1u : 2u;
            if (entry_seen_ & b) malformed("series " + printable(series_name_) + ": member '" + k + "' appears twice");
            entry_seen_ |= b;
        }
        state_ = State::EntryValue;
    }

    void offset(Scalar kind) {
        if (kind == Scalar::Int || kind == Scalar::BigUint) {
            if (!uint_ok_)
                malformed("series " + printable(series_name_) + ": time offset " + std::to_string(int_) +
                          " is negative (offsets count from t0, the smallest timestamp)");
            offsets_.push_back(uint_);
            return;
        }
        malformed("series " + printable(series_name_) + ": time offsets must be unsigned integers");
    }

    void value(Scalar kind) {
        switch (kind) {
            case Scalar::Double: values_.emplace_back(double_); return;
            case Scalar::Int: values_.emplace_back(int_); return;
            case Scalar::Bool: values_.emplace_back(int_ != 0); return;
            case Scalar::String: values_.emplace_back(std::move(*string_)); return;
            case Scalar::BigUint:
                malformed(where() + ": integer " + std::to_string(uint_) + " does not fit in an int64");
            case Scalar::Null: malformed(where() + ": null is not a datapoint value");
        }
    }

    void end_series() {
        if (!(entry_seen_ & 1u)) malformed("series " + printable(series_name_) + ": member 't' is missing");
        if (!(entry_seen_ & 2u)) malformed("series " + printable(series_name_) + ": member 'v' is missing");
        if (offsets_.size() != values_.size())
            malformed("series " + printable(series_name_) + " has " + std::to_string(offsets_.size()) +
                      " timestamps but " + std::to_string(values_.size()) + " values");
        out_.points.reserve(out_.points.size() + values_.size());
        point_offsets_.insert(point_offsets_.end(), offsets_.begin(), offsets_.end());
        for (auto& v : values_) out_.points.push_back(Datapoint{series_name_, 0, std::move(v)});
    }

    // --- object values ----------------------------------------------------------------------
    bool insert(json v) {
        json& parent = *stack_.back();
        if (parent.is_object()) parent[key_] = std::move(v);
        else parent.push_back(std::move(v));
        return true;
    }

    bool nest(json container) {
        if (static_cast<int>(stack_.size()) >= kMaxValueDepth)
            malformed(where() + ": a value is nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
        json& parent = *stack_.back();
        json* child;
        if (parent.is_object()) {
            json& slot = parent[key_];
            slot = std::move(container);
            child = &slot;
        } else {
            parent.push_back(std::move(container));
            child = &parent.back();
        }
        stack_.push_back(child);
        return true;
    }

    bool unnest() {
        stack_.pop_back();
        if (stack_.empty()) {
            values_.emplace_back(std::move(value_));
            state_ = State::Values;
        }
        return true;
    }

    // --- members we do not know -------------------------------------------------------------
    bool skip(State back) {
        skip_back_ = back;
        skip_depth_ = 1;
        state_ = State::Skip;
        return true;
    }
    bool skip_deeper() {
        if (++skip_depth_ > kMaxValueDepth)
            malformed("an unknown member is nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
        return true;
    }
    bool skip_up() {
        if (--skip_depth_ == 0) state_ = skip_back_;
        return true;
    }

    // --- messages ---------------------------------------------------------------------------
    void check_size(std::size_t size) const {
        // Every element takes at least one byte, so a larger count is a lie meant to make us reserve.
        if (size != std::size_t(-1) && size > input_size_)
            malformed(where() + ": a container claims " + std::to_string(size) + " elements in a " +
                      std::to_string(input_size_) + "-byte batch");
    }

    std::string where() const {
        switch (state_) {
            case State::Offsets: return "series " + printable(series_name_) + ", t";
            case State::Values:
            case State::Object: return "series " + printable(series_name_) + ", v[" + std::to_string(values_.size()) + "]";
            case State::Entry:
            case State::EntryValue:
            case State::SeriesValue: return "series " + printable(series_name_);
            case State::TopValue: return "member '" + member_name() + "'";
            default: return "batch";
        }
    }

    [[noreturn]] void unexpected(const char* what) const {
        if (state_ == State::Start) malformed("a batch must be a JSON object or a CBOR map");
        malformed(where() + ": " + std::string(what) + " is not allowed here");
    }

    DecodedBatch& out_;
    std::size_t input_size_;
    bool check_utf8_;

    State state_ = State::Start;
    Member member_ = Member::Unknown;
    unsigned seen_ = 0;
    std::int64_t t0_ = 0;

    std::unordered_set<std::string> series_seen_;
    std::string series_name_;
    EntryMember entry_member_ = EntryMember::Unknown;
    unsigned entry_seen_ = 0;
    std::vector<std::uint64_t> offsets_;
    std::vector<DatapointValue> values_;
    std::vector<std::uint64_t> point_offsets_;  // parallel to out_.points

    json value_;                 // the object value being built
    std::vector<json*> stack_;   // its open containers
    std::string key_;

    State skip_back_ = State::Top;
    int skip_depth_ = 0;

    // The last scalar, for whichever handler consumes it.
    std::int64_t int_ = 0;
    std::uint64_t uint_ = 0;
    bool uint_ok_ = false;
    double double_ = 0;
    std::string* string_ = nullptr;
};

}  // namespace

DecodedBatch decode_batch(std::string_view bytes) {
    std::size_t first = 0;
    while (first < bytes.size() &&
           (bytes[first] == ' ' || bytes[first] == '\t' || bytes[first] == '\n' || bytes[first] == '\r'))
        ++first;
    if (first == bytes.size()) malformed(bytes.empty() ? "it is empty" : "it is only whitespace");
    if (first == 0 && static_cast<unsigned char>(bytes[0]) == detail::kCompactMagic) return detail::decode_compact(bytes);

    DecodedBatch out;
    const auto lead = static_cast<unsigned char>(bytes[first]);
    if (lead == '{') {
        out.encoding = Encoding::Json;
    } else if (first == 0 && (lead >> 5) == 5) {  // CBOR major type 5: map
        out.encoding = Encoding::Cbor;
    } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", lead);
        malformed(std::string("it starts with byte ") + hex + ", neither '{' (JSON) nor a CBOR map, nor 0xd1 (compact)");
    }

    // The JSON lexer checks UTF-8 itself; nlohmann's CBOR reader does not.
    BatchReader reader(out, bytes.size(), out.encoding == Encoding::Cbor);
    try {
        nlohmann::json::sax_parse(bytes.data(), bytes.data() + bytes.size(), &reader,
                                  out.encoding == Encoding::Json ? nlohmann::json::input_format_t::json
                                                                 : nlohmann::json::input_format_t::cbor,
                                  /*strict=*/true);
    } catch (const nlohmann::json::exception& e) {
        malformed(strip_exception_id(e.what()));
    }
    reader.finish();
    return out;
}

}  // namespace twinlink
