// Command-line parsing for the `twinlink` tool: options, operands, --help text, and the mapping
// of failures to exit statuses. Every command declares its options on a CommandLine, so its help
// and its parser cannot disagree.
#pragma once

#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace twinlink::cli {

/// A command line the command cannot run with; exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class CommandLine {
public:
    /// `name` as the user types it ("twinlink shadow get"), `operands` the synopsis of its
    /// positional arguments ("DEVICE JSON"), `summary` one sentence on what it does.
    CommandLine(std::string name, std::string operands, std::string summary);

    /// An option with a value, given as `--name VALUE` or `--name=VALUE`. Without `repeatable`,
    /// giving it twice is a usage error.
    CommandLine& option(std::string name, std::string value_name, std::string help,
                        std::string default_value = {}, bool repeatable = false);
    /// An option without a value.
    CommandLine& flag(std::string name, std::string help);
    /// A paragraph shown at the end of --help (examples, notes).
    CommandLine& epilog(std::string text);

    /// Parses `args` (the words after the command's name). Returns false when --help (or -h)
    /// was given: the help is then printed on stdout. Throws UsageError for an unknown option,
    /// a missing value, or a number of operands outside [min_operands, max_operands].
    bool parse(const std::vector<std::string>& args, std::size_t min_operands, std::size_t max_operands);

    /// The value of an option: the one given, else its default.
    std::string value(std::string_view name) const;
    /// Every value given for a repeatable option, in order (the default when none was given and
    /// it has one).
    std::vector<std::string> values(std::string_view name) const;
    /// Whether the option or flag was given.
    bool given(std::string_view name) const;
    const std::vector<std::string>& operands() const noexcept { return operands_; }

    const std::string& name() const noexcept { return name_; }
    std::string help() const;

private:
    struct Option {
        std::string name;
        std::string value_name;  // empty for a flag
        std::string help;
        std::string default_value;
        bool repeatable = false;
        std::vector<std::string> values;
        bool given = false;
    };
    const Option& find(std::string_view name) const;
    Option* lookup(std::string_view name);

    std::string name_, operands_synopsis_, summary_;
    std::vector<Option> options_;
    std::vector<std::string> epilog_;
    std::vector<std::string> operands_;
};

/// The words of argv from `first` on.
std::vector<std::string> words(int argc, char** argv, int first);

/// Runs `body` and returns its exit status; an exception becomes a message on stderr and a
/// status: UsageError 2 ("NAME: message" and a hint to use --help), anything else 1.
int run_guarded(const std::string& name, const std::function<int()>& body);

/// One command of a group such as `twinlink shadow`.
struct Subcommand {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>& args);
};

/// Runs a command group: `argv[1]` names the subcommand, the words after it are its arguments.
/// With no subcommand or --help it prints the group's help (`synopsis` and `description` head it);
/// an unknown subcommand is a usage error.
int run_command_group(const char* group, const char* synopsis, const char* description,
                      const std::vector<Subcommand>& subcommands, int argc, char** argv);

/// A non-negative number of seconds ("10", "0.5"), for `--timeout` and the like.
double parse_seconds(std::string_view option, const std::string& text);
/// A positive integer, for `--count` and the like.
unsigned long parse_positive(std::string_view option, const std::string& text);

}  // namespace twinlink::cli
