// twinlink: the command-line tool of the twinlink SDK. Dispatches to a command group.
#include <cstring>
#include <iostream>
#include <string_view>

#include "commands.hpp"
#include "twinlink/version.hpp"

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"serve", "run the local cloud: the shadow service (and datapoint sink) on a broker", run_serve_command},
    {"shadow", "read, set and watch a device shadow: get, desire, report, delete, watch", run_shadow_command},
    {"dp", "inspect the datapoints the local cloud stored", run_dp_command},
    {"simulate", "run a fleet of simulated devices against a broker and serve, and measure it", run_simulate_command},
};

void print_usage(std::ostream& out) {
    out << "usage: twinlink COMMAND [ARGS...]\n\ncommands:\n";
    for (const auto& c : kCommands) {
        const std::string name = c.name;
        out << "  " << name << std::string(10 - name.size(), ' ') << c.summary << "\n";
    }
    out << "\n'twinlink COMMAND --help' describes a command. Options shared by the commands that talk\n"
           "to a broker: --broker URI (default $TWINLINK_BROKER or mqtt://127.0.0.1:1883),\n"
           "--profile twinlink|aws, --prefix PREFIX, --tls-ca FILE.\n"
           "Exit status: 0 success, 1 failure, 2 usage error.\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(std::cerr);
        return twinlink::cli::kExitUsage;
    }
    const std::string_view first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        print_usage(std::cout);
        return twinlink::cli::kExitOk;
    }
    if (first == "--version") {
        std::cout << "twinlink " << twinlink::version() << "\n";
        return twinlink::cli::kExitOk;
    }
    for (const auto& c : kCommands)
        if (first == c.name) return c.run(argc - 1, argv + 1);
    std::cerr << "twinlink: unknown command '" << first << "'\nTry 'twinlink --help'.\n";
    return twinlink::cli::kExitUsage;
}
