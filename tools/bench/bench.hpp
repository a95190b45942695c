// One benchmark scenario's result, and the scenarios.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "twinlink/datapoint.hpp"

namespace twinlink::bench {

struct Result {
    std::string scenario;
    std::size_t points = 0;  ///< datapoints, or shadow updates
    std::size_t messages = 0;
    double seconds = 0;
    double cpu_seconds = 0;
    double points_per_second = 0;
    double payload_bytes_per_point = 0;
    double wire_bytes_per_point = 0;
    long peak_rss_kb = 0;
    nlohmann::json extra = nlohmann::json::object();  ///< scenario-specific figures (latencies, ...)
};

/// `--stop-at STAGE[,STAGE]`: the process stops itself (SIGSTOP) at each STAGE it reaches, so that
/// its memory can be read there (scripts/rss-breakdown) before it is continued (SIGCONT). Stages:
/// "started" (arguments read, nothing connected), "connected" (client connected and, in the
/// twinlink scenarios, the datapoint pipeline created and idle).
void set_stop_stages(const std::string& stages);
void reached(const char* stage);

nlohmann::json to_json(const Result& r);
Result result_from_json(const nlohmann::json& j);

Result run_twinlink_cpp(const std::string& broker, Encoding encoding, std::size_t points);
Result run_twinlink_capi(const std::string& broker, Encoding encoding, std::size_t points);
Result run_paho_per_message(const std::string& broker, std::size_t points);
/// `updates` shadow updates spread over `devices` devices, `window` requests in flight per device.
Result run_shadow(const std::string& broker, std::size_t devices, std::size_t window, std::size_t updates);

}  // namespace twinlink::bench
