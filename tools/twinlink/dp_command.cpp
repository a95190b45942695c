// `twinlink dp`: not built yet; the datapoint commands replace this file.
#include <iostream>

#include "commands.hpp"

int run_dp_command(int /*argc*/, char** /*argv*/) {
    std::cerr << "twinlink dp: not built yet\n";
    return twinlink::cli::kExitUsage;
}
