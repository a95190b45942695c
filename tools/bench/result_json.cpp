#include "bench.hpp"

namespace twinlink::bench {

nlohmann::json to_json(const Result& r) {
    return {{"scenario", r.scenario},
            {"points", r.points},
            {"messages", r.messages},
            {"seconds", r.seconds},
            {"cpu_seconds", r.cpu_seconds},
            {"points_per_second", r.points_per_second},
            {"payload_bytes_per_point", r.payload_bytes_per_point},
            {"wire_bytes_per_point", r.wire_bytes_per_point},
            {"cpu_seconds_per_million", r.points ? r.cpu_seconds / double(r.points) * 1e6 : 0.0},
            {"peak_rss_kb", r.peak_rss_kb},
            {"extra", r.extra}};
}

Result result_from_json(const nlohmann::json& j) {
    Result r;
    r.scenario = j.at("scenario");
    r.points = j.at("points");
    r.messages = j.at("messages");
    r.seconds = j.at("seconds");
    r.cpu_seconds = j.at("cpu_seconds");
    r.points_per_second = j.at("points_per_second");
    r.payload_bytes_per_point = j.at("payload_bytes_per_point");
    r.wire_bytes_per_point = j.at("wire_bytes_per_point");
    r.peak_rss_kb = j.at("peak_rss_kb");
    r.extra = j.value("extra", nlohmann::json::object());
    return r;
}

}  // namespace twinlink::bench
