#include "command_line.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "twinlink/status.hpp"

namespace twinlink::cli {

CommandLine::CommandLine(std::string name, std::string operands, std::string summary)
    : name_(std::move(name)), operands_synopsis_(std::move(operands)), summary_(std::move(summary)) {}

CommandLine& CommandLine::option(std::string name, std::string value_name, std::string help,
                                 std::string default_value, bool repeatable) {
    Option o;
    o.name = std::move(name);
    o.value_name = std::move(value_name);
    o.help = std::move(help);
    o.default_value = std::move(default_value);
    o.repeatable = repeatable;
    options_.push_back(std::move(o));
    return *this;
}

CommandLine& CommandLine::flag(std::string name, std::string help) {
    Option o;
    o.name = std::move(name);
    o.help = std::move(help);
    options_.push_back(std::move(o));
    return *this;
}

CommandLine& CommandLine::epilog(std::string text) {
    epilog_.push_back(std::move(text));
    return *this;
}

CommandLine::Option* CommandLine::lookup(std::string_view name) {
    for (auto& o : options_)
        if (o.name == name) return &o;
    return nullptr;
}

const CommandLine::Option& CommandLine::find(std::string_view name) const {
    for (const auto& o : options_)
        if (o.name == name) return o;
    // A typo in the tool's own code, not in the user's command line.
    throw std::logic_error("twinlink: option --" + std::string(name) + " is not declared");
}

bool CommandLine::parse(const std::vector<std::string>& args, std::size_t min_operands,
                        std::size_t max_operands) {
    bool only_operands = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (only_operands || arg.size() < 2 || arg[0] != '-') {
            operands_.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_operands = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            std::cout << help();
            return false;
        }
        if (arg.rfind("--", 0) != 0) throw UsageError("unknown option '" + arg + "'");
        const auto eq = arg.find('=');
        const std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        Option* o = lookup(key);
        if (!o) throw UsageError("unknown option '--" + key + "'");
        if (o->given && !o->repeatable) throw UsageError("option '--" + key + "' is given more than once");
        o->given = true;
        if (o->value_name.empty()) {
            if (eq != std::string::npos) throw UsageError("option '--" + key + "' takes no value");
            continue;
        }
        if (eq != std::string::npos) {
            o->values.push_back(arg.substr(eq + 1));
        } else if (i + 1 < args.size()) {
            o->values.push_back(args[++i]);
        } else {
            throw UsageError("option '--" + key + "' needs a value (" + o->value_name + ")");
        }
    }
    if (operands_.size() < min_operands) {
        throw UsageError(operands_synopsis_.empty() ? "missing arguments"
                                                    : "missing arguments; expected " + operands_synopsis_);
    }
    if (operands_.size() > max_operands)
        throw UsageError("unexpected argument '" + operands_[max_operands] + "'");
    return true;
}

std::string CommandLine::value(std::string_view name) const {
    const Option& o = find(name);
    return o.values.empty() ? o.default_value : o.values.back();
}

std::vector<std::string> CommandLine::values(std::string_view name) const {
    const Option& o = find(name);
    if (o.values.empty() && !o.default_value.empty()) return {o.default_value};
    return o.values;
}

bool CommandLine::given(std::string_view name) const { return find(name).given; }

std::string CommandLine::help() const {
    std::string out = "usage: " + name_ + (options_.empty() ? "" : " [OPTIONS]") +
                      (operands_synopsis_.empty() ? "" : " " + operands_synopsis_) + "\n\n" + summary_ + "\n";
    if (!options_.empty()) {
        out += "\noptions:\n";
        std::vector<std::string> heads;
        std::size_t width = 0;
        for (const auto& o : options_) {
            heads.push_back("--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name));
            width = std::max(width, heads.back().size());
        }
        heads.push_back("--help");
        width = std::max<std::size_t>(width, 6);
        for (std::size_t i = 0; i < options_.size(); ++i) {
            const auto& o = options_[i];
            out += "  " + heads[i] + std::string(width - heads[i].size() + 2, ' ') + o.help;
            if (!o.default_value.empty()) out += " (default: " + o.default_value + ")";
            if (o.repeatable) out += " (repeatable)";
            out += "\n";
        }
        out += "  --help" + std::string(width - 6 + 2, ' ') + "show this help\n";
    }
    for (const auto& paragraph : epilog_) out += "\n" + paragraph + "\n";
    return out;
}

std::vector<std::string> words(int argc, char** argv, int first) {
    std::vector<std::string> out;
    for (int i = first; i < argc; ++i) out.emplace_back(argv[i]);
    return out;
}

int run_guarded(const std::string& name, const std::function<int()>& body) {
    try {
        return body();
    } catch (const UsageError& e) {
        std::cerr << name << ": " << e.what() << "\nTry '" << name << " --help'.\n";
        return kExitUsage;
    } catch (const Error& e) {
        std::cerr << name << ": " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << name << ": " << e.what() << "\n";
        return kExitFailure;
    }
}

double parse_seconds(std::string_view option, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < 0 || v > 1e7)
        throw UsageError("option '--" + std::string(option) + "' wants a number of seconds, not '" + text + "'");
    return v;
}

unsigned long parse_positive(std::string_view option, const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0 || v == 0)
        throw UsageError("option '--" + std::string(option) + "' wants a positive integer, not '" + text + "'");
    return v;
}

}  // namespace twinlink::cli

namespace twinlink::cli {

namespace {

std::string group_help(const char* group, const char* synopsis, const char* description,
                       const std::vector<Subcommand>& subcommands) {
    std::string out = std::string("usage: ") + group + " " + synopsis + "\n\n" + description + "\n\ncommands:\n";
    for (const auto& s : subcommands) {
        const std::string name = s.name;
        out += "  " + name + std::string(name.size() < 8 ? 8 - name.size() : 1, ' ') + s.summary + "\n";
    }
    out += std::string("\n'") + group + " COMMAND --help' describes a command and its options.\n";
    return out;
}

}  // namespace

int run_command_group(const char* group, const char* synopsis, const char* description,
                      const std::vector<Subcommand>& subcommands, int argc, char** argv) {
    if (argc < 2) {
        std::cerr << group_help(group, synopsis, description, subcommands);
        return kExitUsage;
    }
    const std::string sub = argv[1];
    if (sub == "--help" || sub == "-h") {
        std::cout << group_help(group, synopsis, description, subcommands);
        return kExitOk;
    }
    for (const auto& s : subcommands) {
        if (sub == s.name)
            return run_guarded(std::string(group) + " " + sub, [&] { return s.run(words(argc, argv, 2)); });
    }
    std::cerr << group << ": unknown command '" << sub << "'\nTry '" << group << " --help'.\n";
    return kExitUsage;
}

}  // namespace twinlink::cli
