// `twinlink dp`: the datapoints that a sink (`twinlink serve`) stored, read from its database (a
// SQLite file, opened read-only so these commands can run next to the sink, or PostgreSQL).
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "stop_signals.hpp"
#include "stored_datapoints.hpp"

namespace twinlink::cli {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGroup = "twinlink dp";

constexpr std::int64_t kMsPerDay = 86'400'000;

// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
    std::int64_t year;
    unsigned month, day;
};

Civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

/// "2024-11-24T17:33:20.123Z": UTC, milliseconds.
std::string iso_time(std::int64_t ms) {
    std::int64_t days = ms / kMsPerDay;
    std::int64_t rest = ms % kMsPerDay;
    if (rest < 0) {
        rest += kMsPerDay;
        --days;
    }
    const Civil c = civil_from_days(days);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(c.year),
                  c.month, c.day, static_cast<long long>(rest / 3'600'000), static_cast<long long>(rest / 60'000 % 60),
                  static_cast<long long>(rest / 1000 % 60), static_cast<long long>(rest % 1000));
    return buf;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads `count` digits at `pos` into `out`; false when they are not there.
bool read_digits(const std::string& s, std::size_t& pos, std::size_t count, unsigned& out) {
    if (pos + count > s.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (!is_digit(s[pos + i])) return false;
        out = out * 10 + static_cast<unsigned>(s[pos + i] - '0');
    }
    pos += count;
    return true;
}

// YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:MM]]; no offset means UTC.
std::optional<std::int64_t> parse_iso(const std::string& s) {
    std::size_t pos = 0;
    unsigned year, month, day, hour = 0, minute = 0, second = 0, ms = 0;
    if (!read_digits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, month) ||
        pos >= s.size() || s[pos++] != '-' || !read_digits(s, pos, 2, day))
        return std::nullopt;
    if (pos < s.size() && (s[pos] == 'T' || s[pos] == 't' || s[pos] == ' ')) {
        ++pos;
        if (!read_digits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' || !read_digits(s, pos, 2, minute))
            return std::nullopt;
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            if (!read_digits(s, pos, 2, second)) return std::nullopt;
            if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
                ++pos;
                std::size_t digits = 0;
                for (; pos < s.size() && is_digit(s[pos]); ++pos, ++digits)
                    if (digits < 3) ms = ms * 10 + static_cast<unsigned>(s[pos] - '0');
                if (digits == 0) return std::nullopt;
                for (; digits < 3; ++digits) ms *= 10;
            }
        }
    }
    std::int64_t offset_min = 0;
    if (pos < s.size()) {
        if (s[pos] == 'Z' || s[pos] == 'z') {
            ++pos;
        } else if (s[pos] == '+' || s[pos] == '-') {
            const int sign = s[pos++] == '-' ? -1 : 1;
            unsigned oh = 0, om = 0;
            if (!read_digits(s, pos, 2, oh)) return std::nullopt;
            if (pos < s.size() && s[pos] == ':') ++pos;
            if (pos < s.size() && !read_digits(s, pos, 2, om)) return std::nullopt;
            if (oh > 23 || om > 59) return std::nullopt;
            offset_min = sign * static_cast<std::int64_t>(oh * 60 + om);
        }
    }
    if (pos != s.size()) return std::nullopt;
    static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || (month == 2 && day == 29 && !leap) ||
        hour > 23 || minute > 59 || second > 59)
        return std::nullopt;
    return days_from_civil(year, month, day) * kMsPerDay + (hour * 3600 + minute * 60 + second) * 1000LL + ms -
           offset_min * 60'000;
}

/// A point in time on the command line: a duration before now ("10m", "2h", "1d", "30s", "1w"),
/// milliseconds since the epoch, or an ISO 8601 date and time.
std::int64_t parse_time(std::string_view option, const std::string& text, std::int64_t now) {
    const auto bad = [&] {
        return UsageError("option '--" + std::string(option) +
                          "' wants a time: a duration before now (30s, 10m, 2h, 1d, 1w), milliseconds since the "
                          "epoch, or an ISO 8601 time like 2024-11-24T17:30:00Z; not '" + text + "'");
    };
    if (text.empty()) throw bad();
    if (const auto iso = parse_iso(text)) return *iso;
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits == 0 || digits > 18) throw bad();
    const std::int64_t n = std::stoll(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    if (unit.empty()) return n;  // epoch milliseconds
    std::int64_t scale = 0;
    if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "d") scale = kMsPerDay;
    else if (unit == "w") scale = 7 * kMsPerDay;
    else throw bad();
    if (n > (std::numeric_limits<std::int64_t>::max() / 2) / scale) throw bad();
    return now - n * scale;
}

/// One line per point: "2024-11-24T17:33:20.123Z temp 21.5", the value as JSON (a string is
/// quoted, an integral double keeps its ".0").
void print(const Datapoint& p) {
    const std::string value = std::visit([](const auto& v) { return nlohmann::json(v).dump(); }, p.value);
    std::cout << iso_time(p.timestamp_ms) << ' ' << p.name << ' ' << value << '\n';
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

/// The database of a sink (read-only), and its datapoint store, which it must have.
class StoredData {
public:
    explicit StoredData(const std::string& db) : stored_(db) {
        if (!stored_.has_datapoints())
            throw Error(Status::NotFound, "database '" + stored_.name() + "' holds no datapoints (it was not "
                                          "written by 'twinlink serve' with a datapoint sink)");
    }
    DatapointStore& store() { return stored_.store(); }

    /// Throws NotFound, naming the devices there are, unless `device` has a stored batch.
    void require_device(const std::string& device) {
        const auto devices = store().devices();
        for (const auto& d : devices)
            if (d == device) return;
        throw Error(Status::NotFound, "no datapoints of device '" + device + "' in '" + stored_.name() + "'" +
                                          (devices.empty() ? std::string(" (it holds none)")
                                                           : "; devices with datapoints: " + join(devices)));
    }

private:
    StoredDatapoints stored_;
};

CommandLine make_cli(const std::string& sub, std::string operands, std::string summary) {
    CommandLine cli(std::string(kGroup) + " " + sub, std::move(operands), std::move(summary));
    cli.option("db", "PATH|URI",
               "the database of 'twinlink serve' (required): its SQLite file, or its PostgreSQL URI\n"
               "(postgresql://user@host:port/database)");
    return cli;
}

std::string required_db(const CommandLine& cli) {
    if (!cli.given("db")) throw UsageError("--db PATH|URI is required");
    return cli.value("db");
}

int tail(const std::vector<std::string>& given) {
    CommandLine cli = make_cli("tail", "DEVICE",
                               "Prints the latest points of DEVICE, oldest first, one per line: the time (UTC), the\n"
                               "series and the value as JSON. With --follow, then prints the points stored from then\n"
                               "on as they arrive, until SIGINT or SIGTERM.");
    cli.option("lines", "N", "how many points; -n N for short", "20")
        .flag("follow", "keep printing points as they are stored; -f for short")
        .epilog("example:\n  twinlink dp tail sensor-42 --db cloud.db -n 50 --follow");
    std::vector<std::string> args = given;
    for (auto& a : args) {
        if (a == "-n") a = "--lines";
        else if (a == "-f") a = "--follow";
    }
    if (!cli.parse(args, 1, 1)) return kExitOk;
    const std::string device = cli.operands().front();
    const std::string db = required_db(cli);
    const unsigned long lines = parse_positive("lines", cli.value("lines"));
    const bool follow = cli.given("follow");

    std::optional<StopSignals> signals;
    if (follow) signals.emplace();
    StoredData data(db);
    if (!follow) data.require_device(device);

    DatapointStore& store = data.store();
    const std::int64_t cursor = store.last_id(device);
    std::set<std::int64_t> shown_after_cursor;  // stored between last_id() and tail()
    for (const auto& p : store.tail(device, lines)) {
        print(p.point);
        if (p.id > cursor) shown_after_cursor.insert(p.id);
    }
    std::cout.flush();
    if (!follow) return kExitOk;

    std::int64_t last = cursor;
    for (;;) {
        for (const auto& p : store.stored_after(device, last, 10000)) {
            last = p.id;
            if (shown_after_cursor.erase(p.id) == 0) print(p.point);
        }
        std::cout.flush();
        if (signals->wait(250ms)) return kExitOk;
    }
}

int query(const std::vector<std::string>& args) {
    CommandLine cli = make_cli("query", "DEVICE SERIES",
                               "Prints the points of one series of DEVICE in time order, one per line: the time\n"
                               "(UTC), the series and the value as JSON.");
    cli.option("since", "TIME", "from this time on (inclusive)")
        .option("until", "TIME", "up to this time (inclusive)")
        .option("limit", "N", "print at most N points, the earliest")
        .epilog("TIME is a duration before now (30s, 10m, 2h, 1d, 1w), milliseconds since the epoch, or an\n"
                "ISO 8601 time (2024-11-24, 2024-11-24T17:30:00Z, 2024-11-24T18:30:00+01:00; UTC when it\n"
                "has no offset).\n\n"
                "example:\n  twinlink dp query sensor-42 temp --db cloud.db --since 2h --limit 100");
    if (!cli.parse(args, 2, 2)) return kExitOk;
    const std::string device = cli.operands()[0];
    const std::string series = cli.operands()[1];
    const std::string db = required_db(cli);
    const std::int64_t now = now_ms();
    const std::int64_t since =
        cli.given("since") ? parse_time("since", cli.value("since"), now) : std::numeric_limits<std::int64_t>::min();
    const std::int64_t until =
        cli.given("until") ? parse_time("until", cli.value("until"), now) : std::numeric_limits<std::int64_t>::max();
    if (until < since)
        throw UsageError("--until (" + iso_time(until) + ") is before --since (" + iso_time(since) + ")");
    const std::size_t limit = cli.given("limit") ? parse_positive("limit", cli.value("limit")) : 0;

    StoredData data(db);
    data.require_device(device);
    const auto known = data.store().series(device);
    bool found = false;
    for (const auto& s : known) found = found || s == series;
    if (!found)
        throw Error(Status::NotFound, "device '" + device + "' has no series '" + series + "'; its series: " +
                                          join(known));
    for (const auto& p : data.store().query(device, series, since, until, limit)) print(p.point);
    std::cout.flush();
    return kExitOk;
}

const std::vector<Subcommand> kSubcommands = {
    {"tail", "print the latest points of a device, and follow new ones", tail},
    {"query", "print the points of one series in a time range", query},
};

}  // namespace
}  // namespace twinlink::cli

int run_dp_command(int argc, char** argv) {
    using namespace twinlink::cli;
    return run_command_group(kGroup, "COMMAND DEVICE [ARGS...] --db PATH|URI", "The datapoints that 'twinlink serve' stored, read from its database.", kSubcommands, argc, argv);
}
