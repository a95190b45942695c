// twinlink-bench: runs each benchmark scenario in a child process of its own (so CPU time and
// peak RSS are the scenario's alone), prints a table and writes the results as JSON.
//
//   twinlink-bench --broker mqtt://127.0.0.1:PORT --out results.json [--points N] [--baseline-points N]
//   twinlink-bench --broker URI --scenario NAME --points N      (one scenario; prints one JSON line)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.hpp"

namespace tb = twinlink::bench;

namespace {

struct Args {
    std::string broker;
    std::string out;
    std::string scenario;
    std::size_t points = 2000000;
    std::size_t baseline_points = 100000;
    std::size_t shadow_updates = 20000;
    bool shadow_only = false;  // only the shadow round trips (scripts/bench runs them twice)
};

int usage(const char* argv0) {
    std::fprintf(stderr,
                 "usage: %s --broker URI [--out FILE] [--points N] [--baseline-points N] [--shadow-updates N]\n"
                 "       [--scenario NAME [--stop-at STAGE[,STAGE]] | --shadow-only]\n"
                 "scenarios: cpp-json cpp-cbor capi-json capi-cbor paho-per-message shadow-1 shadow-1-serial\n"
                 "           shadow-100\n",
                 argv0);
    return 2;
}

std::vector<std::string> stop_stages;

}  // namespace

void tb::set_stop_stages(const std::string& stages) {
    for (std::size_t pos = 0; pos <= stages.size();) {
        const std::size_t comma = std::min(stages.find(',', pos), stages.size());
        const std::string stage = stages.substr(pos, comma - pos);
        if (stage != "started" && stage != "connected") throw std::runtime_error("unknown stage '" + stage + "'");
        stop_stages.push_back(stage);
        pos = comma + 1;
    }
}

void tb::reached(const char* stage) {
    for (const auto& s : stop_stages)
        if (s == stage) raise(SIGSTOP);
}

namespace {

tb::Result run_scenario(const Args& a) {
    using twinlink::Encoding;
    if (a.scenario == "cpp-json") return tb::run_twinlink_cpp(a.broker, Encoding::Json, a.points);
    if (a.scenario == "cpp-cbor") return tb::run_twinlink_cpp(a.broker, Encoding::Cbor, a.points);
    if (a.scenario == "capi-json") return tb::run_twinlink_capi(a.broker, Encoding::Json, a.points);
    if (a.scenario == "capi-cbor") return tb::run_twinlink_capi(a.broker, Encoding::Cbor, a.points);
    if (a.scenario == "paho-per-message") return tb::run_paho_per_message(a.broker, a.points);
    throw std::runtime_error("unknown scenario '" + a.scenario + "'");
}

bool is_shadow(const std::string& scenario) { return scenario.rfind("shadow-", 0) == 0; }

// The shadow scenarios' executable (shadow_main.cpp), next to this one.
std::string shadow_bench() {
    std::string self(4096, '\0');
    const ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
    if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
    self.resize(std::size_t(n));
    return self.substr(0, self.rfind('/') + 1) + "twinlink-shadow-bench";
}

// Runs `self --scenario NAME` (twinlink-shadow-bench for a shadow scenario) and reads the JSON
// line it prints.
tb::Result run_child(const std::string& self, const Args& a, const std::string& scenario, std::size_t points) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        const std::string p = std::to_string(points);
        execl(self.c_str(), self.c_str(), "--broker", a.broker.c_str(), "--scenario", scenario.c_str(), "--points", p.c_str(),
              static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    std::string output;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) output.append(buf, std::size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("scenario " + scenario + " failed");
    return tb::result_from_json(nlohmann::json::parse(output));
}

// The cores this process may run on (scripts/bench pins it to one): a rate is "on one core" only
// when this is 1. 0 when the kernel does not say.
int cpus_allowed() {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

void print_table(const std::vector<tb::Result>& results, double baseline_rate) {
    std::printf("\n%-44s %11s %9s %8s %9s %9s %8s %8s\n", "scenario (acknowledged end to end)", "points/s",
                "vs base", "B/point", "wire B/pt", "CPU s/M", "RSS MiB", "ns/rec");
    for (const auto& r : results) {
        const double record_ns = r.extra.value("record_ns_per_point", 0.0);
        std::printf("%-44s %11.0f %8.1fx %8.1f %9.1f %9.2f %8.1f %8s\n", r.scenario.c_str(), r.points_per_second,
                    baseline_rate > 0 ? r.points_per_second / baseline_rate : 0.0, r.payload_bytes_per_point,
                    r.wire_bytes_per_point, r.cpu_seconds / double(r.points) * 1e6, double(r.peak_rss_kb) / 1024.0,
                    record_ns > 0 ? std::to_string(int(record_ns)).c_str() : "-");
    }
}

void print_shadow_table(const std::vector<tb::Result>& results) {
    std::printf("\n%-44s %11s %9s %9s %9s\n", "shadow update round trip (request to accepted)", "updates/s", "p50 ms",
                "p99 ms", "CPU s/k");
    for (const auto& r : results)
        std::printf("%-44s %11.0f %9.2f %9.2f %9.3f\n", r.scenario.c_str(), r.points_per_second,
                    r.extra.value("p50_ms", 0.0), r.extra.value("p99_ms", 0.0),
                    r.cpu_seconds / double(r.points) * 1e3);
}

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) {
        const auto next = [&](const char* name) -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(std::string(name) + " needs a value");
            return argv[++i];
        };
        try {
            if (!std::strcmp(argv[i], "--broker")) a.broker = next("--broker");
            else if (!std::strcmp(argv[i], "--out")) a.out = next("--out");
            else if (!std::strcmp(argv[i], "--scenario")) a.scenario = next("--scenario");
            else if (!std::strcmp(argv[i], "--points")) a.points = std::stoul(next("--points"));
            else if (!std::strcmp(argv[i], "--baseline-points")) a.baseline_points = std::stoul(next("--baseline-points"));
            else if (!std::strcmp(argv[i], "--shadow-updates")) a.shadow_updates = std::stoul(next("--shadow-updates"));
            else if (!std::strcmp(argv[i], "--shadow-only")) a.shadow_only = true;
            else if (!std::strcmp(argv[i], "--stop-at")) tb::set_stop_stages(next("--stop-at"));
            else return usage(argv[0]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return usage(argv[0]);
        }
    }
    if (a.broker.empty()) return usage(argv[0]);
    try {
        if (!a.scenario.empty()) {
            if (is_shadow(a.scenario)) {
                const std::string shadow = shadow_bench(), points = std::to_string(a.points);
                execl(shadow.c_str(), shadow.c_str(), "--broker", a.broker.c_str(), "--scenario", a.scenario.c_str(),
                      "--points", points.c_str(), static_cast<char*>(nullptr));
                throw std::runtime_error("cannot run " + shadow);
            }
            tb::reached("started");
            std::cout << tb::to_json(run_scenario(a)).dump() << std::endl;
            return 0;
        }
        std::vector<tb::Result> results;
        std::vector<std::pair<std::string, std::size_t>> plan = {
            {"paho-per-message", a.baseline_points}, {"cpp-json", a.points}, {"cpp-cbor", a.points},
            {"capi-json", a.points},                 {"capi-cbor", a.points}};
        if (a.shadow_only) plan.clear();
        for (const auto& [scenario, points] : plan) {
            std::fprintf(stderr, "running %s (%zu points)...\n", scenario.c_str(), points);
            results.push_back(run_child("/proc/self/exe", a, scenario, points));
        }
        const double baseline = results.empty() ? 0 : results.front().points_per_second;
        if (!results.empty()) print_table(results, baseline);
        std::vector<tb::Result> shadows;
        for (const auto& [scenario, updates] : std::vector<std::pair<std::string, std::size_t>>{
                 {"shadow-1", a.shadow_updates},
                 {"shadow-1-serial", a.shadow_updates / 4},
                 {"shadow-100", a.shadow_updates}}) {
            std::fprintf(stderr, "running %s (%zu updates)...\n", scenario.c_str(), updates);
            shadows.push_back(run_child(shadow_bench(), a, scenario, updates));
        }
        print_shadow_table(shadows);
        if (!a.out.empty()) {
            nlohmann::json j = nlohmann::json::array(), sj = nlohmann::json::array();
            for (const auto& r : results) {
                auto e = tb::to_json(r);
                e["speedup_vs_baseline"] = r.points_per_second / baseline;
                j.push_back(e);
            }
            for (const auto& r : shadows) sj.push_back(tb::to_json(r));
            std::ofstream(a.out) << nlohmann::json{{"cpus_allowed", cpus_allowed()}, {"datapoints", j}, {"shadow", sj}}
                                        .dump(2)
                                 << "\n";
            std::printf("\nresults written to %s\n", a.out.c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "twinlink-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
