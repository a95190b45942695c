// The command groups of the `twinlink` tool. main.cpp dispatches to them from its table.
//
// Each entry point gets the arguments from the group's name on: for `twinlink shadow get dev`,
// argv is {"shadow", "get", "dev"} (argc 3). It returns the process exit status (kExit*), prints
// its own usage errors and help, and lets no exception escape (cli::run_guarded in
// command_line.hpp does that part).
#pragma once

namespace twinlink::cli {

/// Exit statuses of every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  ///< the command ran and failed (broker, cloud, file)
inline constexpr int kExitUsage = 2;    ///< bad command line, or a command that is not built

}  // namespace twinlink::cli

/// `twinlink serve`: the local cloud (shadow service, datapoint sink) on a broker.
int run_serve_command(int argc, char** argv);

/// `twinlink shadow get|desire|report|delete|watch`.
int run_shadow_command(int argc, char** argv);

/// `twinlink dp ...`: the datapoints a sink stored.
int run_dp_command(int argc, char** argv);

/// `twinlink simulate`: a fleet of devices in one process, and what it costs.
int run_simulate_command(int argc, char** argv);
