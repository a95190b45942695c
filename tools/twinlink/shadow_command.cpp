// `twinlink shadow`: a device shadow seen from the application side, through the Shadow class
// and the shadow service (`twinlink serve` or a real cloud).
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "connection.hpp"
#include "stop_signals.hpp"
#include "twinlink/client.hpp"
#include "twinlink/shadow.hpp"

namespace twinlink::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr const char* kGroup = "twinlink shadow";

milliseconds to_ms(double seconds) { return milliseconds(static_cast<long long>(std::llround(seconds * 1000))); }

/// The options every shadow command shares, and what they make: the client and the shadow.
class ShadowCommand {
public:
    ShadowCommand(const std::string& sub, std::string operands, std::string summary)
        : cli_(std::string(kGroup) + " " + sub, std::move(operands), std::move(summary)) {
        cli_.option("name", "NAME", "named shadow (default: the classic shadow)");
        add_topic_options(cli_);
        add_connection_options(cli_, "warning");
    }

    CommandLine& cli() { return cli_; }

    /// Parses the words after the subcommand; false when --help was shown.
    bool parse(const std::vector<std::string>& args, std::size_t operands) {
        if (!cli_.parse(args, operands, operands)) return false;
        device_ = cli_.operands().front();
        try {
            validate_device_id(device_);
            validate_shadow_name(cli_.value("name"));
            if (topic_profile(cli_) == TopicProfile::Twinlink) validate_topic_prefix(cli_.value("prefix"));
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
        client_options_ = client_options(cli_);
        return true;
    }

    const std::string& device() const { return device_; }

    /// Creates the client and the shadow, not connected yet (so handlers added before connect()
    /// see the first document).
    Shadow& open(milliseconds request_timeout) {
        client_ = std::make_unique<Client>(client_options_);
        ShadowOptions o;
        o.device = device_;
        o.name = cli_.value("name");
        o.profile = topic_profile(cli_);
        o.prefix = cli_.value("prefix");
        o.request_timeout = std::max(request_timeout, milliseconds(100));
        shadow_ = std::make_unique<Shadow>(*client_, o);
        return *shadow_;
    }

    void connect(milliseconds timeout) {
        try {
            client_->connect(timeout);
        } catch (const Error& e) {
            throw Error(e.status(), "cannot connect to " + client_options_.brokers.front() + ": " + e.what());
        }
    }

    /// Unsubscribes and disconnects cleanly.
    void close() {
        shadow_.reset();
        if (client_) client_->disconnect(1s);
    }

    /// "the shadow of device 'x'" or "shadow 'cfg' of device 'x'".
    std::string what() const {
        const std::string name = cli_.value("name");
        return (name.empty() ? std::string("the shadow") : "shadow '" + name + "'") + " of device '" + device_ + "'";
    }

    /// Turns the errors every command can get into messages that say what to do.
    [[noreturn]] void fail(const Error& e, double timeout_s) const {
        if (e.status() == Status::NotFound) throw Error(Status::NotFound, what() + " does not exist");
        if (e.status() == Status::Timeout) {
            std::string seconds = std::to_string(timeout_s);
            seconds.erase(seconds.find_last_not_of('0') + 1);
            if (!seconds.empty() && seconds.back() == '.') seconds.pop_back();
            throw Error(Status::Timeout, "no answer from the shadow service within " + seconds +
                                             " s; is 'twinlink serve' running on this broker, with the same "
                                             "--profile and --prefix?");
        }
        throw e;
    }

private:
    CommandLine cli_;
    std::string device_;
    ClientOptions client_options_;
    std::unique_ptr<Client> client_;
    std::unique_ptr<Shadow> shadow_;
};

void add_timeout(CommandLine& cli) {
    cli.option("timeout", "SECONDS", "how long to wait for the broker and for the answer", "10");
}

/// The document as `get` prints it: the shape of a get/accepted payload without metadata.
json document_json(const ShadowState& s) {
    json state = {{"desired", s.desired}, {"reported", s.reported}};
    if (!s.delta.empty()) state["delta"] = s.delta;
    return {{"state", state}, {"version", s.version}, {"timestamp", s.timestamp}};
}

json parse_state_operand(const std::string& text) {
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded()) throw UsageError("'" + text + "' is not JSON");
    if (!value.is_object() && !value.is_null())
        throw UsageError("the state must be a JSON object (or null), like '{\"led\":\"on\"}'");
    return value;
}

int get(const std::vector<std::string>& args) {
    ShadowCommand cmd("get", "DEVICE", "Prints the shadow document of DEVICE as JSON: desired, reported, delta, version.");
    add_timeout(cmd.cli());
    cmd.cli().option("path", "POINTER", "print only the value at this JSON pointer, e.g. /state/reported/led");
    if (!cmd.parse(args, 1)) return kExitOk;
    const double timeout_s = parse_seconds("timeout", cmd.cli().value("timeout"));
    std::optional<json::json_pointer> path;
    if (cmd.cli().given("path")) {
        try {
            path = json::json_pointer(cmd.cli().value("path"));
        } catch (const json::exception&) {
            throw UsageError("--path '" + cmd.cli().value("path") + "' is not a JSON pointer like /state/reported/led");
        }
    }
    Shadow& shadow = cmd.open(to_ms(timeout_s));
    cmd.connect(to_ms(timeout_s));
    json doc;
    try {
        doc = document_json(shadow.get(to_ms(timeout_s)));
    } catch (const Error& e) {
        cmd.fail(e, timeout_s);
    }
    cmd.close();
    if (path) {
        if (!doc.contains(*path)) throw Error(Status::NotFound, "the document has no value at " + path->to_string());
        std::cout << doc.at(*path).dump() << std::endl;
    } else {
        std::cout << doc.dump(2) << std::endl;
    }
    return kExitOk;
}

int update(const std::vector<std::string>& args, bool desired) {
    const std::string sub = desired ? "desire" : "report";
    ShadowCommand cmd(sub, "DEVICE JSON",
                      desired ? "Merges JSON into the desired state of DEVICE (null deletes a key) and prints the\n"
                                "accepted update. The device receives the difference to its reported state as a delta."
                              : "Merges JSON into the reported state of DEVICE (null deletes a key) and prints the\n"
                                "accepted update, as the device itself would.");
    add_timeout(cmd.cli());
    cmd.cli().epilog(std::string("example:\n  ") + kGroup + " " + sub + " demo-led '{\"led\":\"on\"}'");
    if (!cmd.parse(args, 2)) return kExitOk;
    const double timeout_s = parse_seconds("timeout", cmd.cli().value("timeout"));
    const json state = parse_state_operand(cmd.cli().operands()[1]);
    Shadow& shadow = cmd.open(to_ms(timeout_s));
    cmd.connect(to_ms(timeout_s));
    json accepted;
    try {
        accepted = desired ? shadow.desire(state, to_ms(timeout_s)) : shadow.report(state, to_ms(timeout_s));
    } catch (const Error& e) {
        cmd.fail(e, timeout_s);
    }
    cmd.close();
    std::cout << accepted.dump(2) << std::endl;
    return kExitOk;
}

int remove(const std::vector<std::string>& args) {
    ShadowCommand cmd("delete", "DEVICE",
                      "Deletes the shadow of DEVICE. Its version counter is kept: a shadow created again\n"
                      "continues from the next version.");
    add_timeout(cmd.cli());
    if (!cmd.parse(args, 1)) return kExitOk;
    const double timeout_s = parse_seconds("timeout", cmd.cli().value("timeout"));
    Shadow& shadow = cmd.open(to_ms(timeout_s));
    cmd.connect(to_ms(timeout_s));
    try {
        shadow.remove(to_ms(timeout_s));
    } catch (const Error& e) {
        cmd.fail(e, timeout_s);
    }
    cmd.close();
    std::cout << "deleted " << cmd.what() << std::endl;
    return kExitOk;
}

int watch(const std::vector<std::string>& args) {
    ShadowCommand cmd("watch", "DEVICE",
                      "Prints the document of DEVICE, then every change and every delta as they come, one JSON\n"
                      "object per line: {\"event\":\"document\",\"version\":N,\"timestamp\":T,\"state\":{...}} or\n"
                      "{\"event\":\"delta\",\"version\":N,\"state\":{...}}. Runs until SIGINT or SIGTERM, --count\n"
                      "lines or --timeout.");
    cmd.cli()
        .option("count", "N", "exit after N lines (status 1 when --timeout passes first)")
        .option("timeout", "SECONDS", "exit after this long (default: no limit; the broker connection waits 10 s)");
    if (!cmd.parse(args, 1)) return kExitOk;
    const std::optional<unsigned long> count =
        cmd.cli().given("count") ? std::optional(parse_positive("count", cmd.cli().value("count"))) : std::nullopt;
    std::optional<milliseconds> limit;
    if (cmd.cli().given("timeout")) limit = to_ms(parse_seconds("timeout", cmd.cli().value("timeout")));

    StopSignals signals;  // before the client starts its threads
    Shadow& shadow = cmd.open(10s);

    // Shared with the handlers, which may outlive this frame by a little if connect() throws.
    // A line that repeats the previous one of its kind (but for the timestamp) is not printed: a
    // get that finds the document unchanged reports it again.
    struct Output {
        std::mutex mu;
        std::optional<unsigned long> count;
        unsigned long lines = 0;
        std::string last_document, last_delta;
        void print(const json& line, std::string& last) {
            json key = line;
            key.erase("timestamp");
            std::string text = key.dump();
            std::lock_guard<std::mutex> lock(mu);
            if ((count && lines >= *count) || text == last) return;
            std::cout << line.dump() << std::endl;
            last = std::move(text);
            ++lines;
        }
        bool done() {
            std::lock_guard<std::mutex> lock(mu);
            return count && lines >= *count;
        }
    };
    auto out = std::make_shared<Output>();
    out->count = count;
    shadow.on_change([out](const ShadowState& s) {
        json line = document_json(s);
        line["event"] = "document";
        out->print(line, out->last_document);
    });
    shadow.on_delta([out](const json& delta, std::uint64_t version) {
        out->print({{"event", "delta"}, {"version", version}, {"state", delta}}, out->last_delta);
    });

    const auto start = std::chrono::steady_clock::now();
    cmd.connect(limit ? std::min(*limit, milliseconds(10s)) : milliseconds(10s));
    int status = kExitOk;
    for (;;) {
        if (out->done()) break;
        if (signals.wait(100ms)) break;
        if (limit && std::chrono::steady_clock::now() - start >= *limit) {
            if (count) {
                std::lock_guard<std::mutex> lock(out->mu);
                std::cerr << cmd.cli().name() << ": " << out->lines << " of " << *count << " lines within "
                          << cmd.cli().value("timeout") << " s\n";
                status = kExitFailure;
            }
            break;
        }
    }
    cmd.close();
    return status;
}

int report(const std::vector<std::string>& args) { return update(args, false); }
int desire(const std::vector<std::string>& args) { return update(args, true); }

const std::vector<Subcommand> kSubcommands = {
    {"get", "print the document", get},
    {"desire", "merge a JSON object into the desired state", desire},
    {"report", "merge a JSON object into the reported state", report},
    {"delete", "delete the shadow", remove},
    {"watch", "print the document, then every change and delta as they come", watch},
};

}  // namespace
}  // namespace twinlink::cli

int run_shadow_command(int argc, char** argv) {
    using namespace twinlink::cli;
    return run_command_group(kGroup, "COMMAND DEVICE [OPTIONS]", "A device shadow seen from the application side, through the shadow service.", kSubcommands, argc, argv);
}
