// twinlink-shadow-bench: the shadow round-trip scenarios of twinlink-bench, in an executable of
// their own because they run the reference shadow service in-process, and with it the cloud
// library's SQLite and PostgreSQL client (libpq and the Kerberos, LDAP and GnuTLS libraries it
// loads). A device links none of those; linked into twinlink-bench they were 3 MiB of the
// datapoint scenarios' RSS. twinlink-bench runs this one for its shadow scenarios.
//
//   twinlink-shadow-bench --broker URI --scenario shadow-1|shadow-1-serial|shadow-100 --points N   (prints one JSON line)
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "bench.hpp"

namespace tb = twinlink::bench;

int main(int argc, char** argv) {
    std::string broker, scenario;
    std::size_t updates = 20000;
    try {
        for (int i = 1; i + 1 < argc; i += 2) {
            if (!std::strcmp(argv[i], "--broker")) broker = argv[i + 1];
            else if (!std::strcmp(argv[i], "--scenario")) scenario = argv[i + 1];
            else if (!std::strcmp(argv[i], "--points")) updates = std::stoul(argv[i + 1]);
            else throw std::runtime_error(std::string("unknown option ") + argv[i]);
        }
        if (broker.empty()) throw std::runtime_error("--broker is required");
        tb::Result r;
        if (scenario == "shadow-1") r = tb::run_shadow(broker, 1, 16, updates);
        // One request at a time: the round trip without queueing behind other requests.
        else if (scenario == "shadow-1-serial") r = tb::run_shadow(broker, 1, 1, updates);
        else if (scenario == "shadow-100") r = tb::run_shadow(broker, 100, 1, updates);
        else throw std::runtime_error("unknown scenario '" + scenario + "'");
        std::cout << tb::to_json(r).dump() << std::endl;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "twinlink-shadow-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
