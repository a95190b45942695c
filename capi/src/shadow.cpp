// shadow.cpp — tl_shadow_options_* and tl_shadow_*: the C face of twinlink::Shadow. JSON text is
// parsed here and handed to the core; the core does everything else.
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "boundary.hpp"
#include "completion.hpp"
#include "handles.hpp"
#include "output.hpp"
#include "twinlink/shadow.hpp"


namespace twinlink::capi {
namespace {

static_assert(TL_PROFILE_TWINLINK == static_cast<int>(TopicProfile::Twinlink));
static_assert(TL_PROFILE_AWS == static_cast<int>(TopicProfile::Aws));

nlohmann::json parse_json(const char* text, const char* name) {
    deref(text, name);
    auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) invalid(std::string(name) + " is not valid JSON");
    return json;
}

nlohmann::json parse_object(const char* text, const char* name) {
    auto json = parse_json(text, name);
    if (!json.is_object()) invalid(std::string(name) + " must be a JSON object");
    return json;
}

std::string document_text(const ShadowState& s) {
    return nlohmann::json{{"state", {{"desired", s.desired}, {"reported", s.reported}, {"delta", s.delta}}},
                          {"version", s.version},
                          {"timestamp", s.timestamp},
                          {"exists", s.exists}}
        .dump();
}

std::string to_hex(uint32_t value) {
    char text[9];
    std::snprintf(text, sizeof text, "%x", static_cast<unsigned>(value));
    return text;
}

// tl_shadow_on_delta(_ex): registers `callback` as a delta handler of the core shadow.
void add_delta_callback(tl_shadow* shadow, const char* json_pointer, uint32_t flags, tl_shadow_delta_cb callback,
                        void* user_data, tl_destroy_cb destroy, uint64_t* out_id) {
    auto data = own_user_data(user_data, destroy);
    if (out_id) *out_id = 0;
    auto& s = deref(shadow, "shadow");
    if (callback == nullptr) invalid("callback is NULL");
    if ((flags & ~uint32_t{TL_SHADOW_DELTA_NO_INITIAL}) != 0)
        invalid("unknown flags 0x" + to_hex(flags & ~uint32_t{TL_SHADOW_DELTA_NO_INITIAL}));
    const auto initial =
        (flags & TL_SHADOW_DELTA_NO_INITIAL) ? twinlink::InitialDelta::Skip : twinlink::InitialDelta::Deliver;
    twinlink::DeltaHandler handler = [callback, data](const nlohmann::json& delta, std::uint64_t version) {
        callback(delta.dump().c_str(), version, data->get());
    };
    const auto id = (json_pointer && *json_pointer) ? s.core.on_delta(json_pointer, std::move(handler), initial)
                                                    : s.core.on_delta(std::move(handler), initial);
    if (out_id) *out_id = id;
}

// The request's fields as a ShadowUpdate; parse_update_request checks it as the service would.
ShadowUpdate parse_update(const char* text) {
    deref(text, "request_json");
    auto parsed = parse_update_request(text);
    if (!parsed) invalid("request_json: " + parsed.error().message);
    return std::move(parsed).request();
}

// The get/accepted payload in the form tl_shadow_get() gives.
std::string get_document_text(const std::string& payload) {
    // As a string_view, like every parse in the library: one instantiation of the parser.
    const auto doc = nlohmann::json::parse(std::string_view(payload), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return payload;
    const auto state = doc.value("state", nlohmann::json::object());
    const auto section = [&](const char* name) {
        const auto it = state.find(name);
        return it != state.end() && it->is_object() ? *it : nlohmann::json::object();
    };
    ShadowState s;
    s.desired = section("desired");
    s.reported = section("reported");
    s.delta = section("delta");
    s.version = doc.value("version", std::uint64_t{0});
    s.timestamp = doc.value("timestamp", std::int64_t{0});
    s.exists = doc.contains("state");
    return document_text(s);
}

// tl_shadow_report_start / tl_shadow_desire_start.
tl_status start_update(const char* function, tl_shadow* shadow, const char* json_text, const char* name,
                       bool desired, uint32_t timeout_ms, tl_completion_cb callback, void* user_data,
                       tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(function, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& s = deref(shadow, "shadow");
            auto done = take_done();
            const auto patch = parse_object(json_text, name);
            const auto timeout = std::chrono::milliseconds(timeout_ms);
            return desired ? s.core.desire_start(patch, timeout, std::move(done))
                           : s.core.report_start(patch, timeout, std::move(done));
        });
    });
}

}  // namespace
}  // namespace twinlink::capi

using namespace twinlink::capi;
using std::chrono::milliseconds;

extern "C" {

tl_status tl_shadow_options_new(tl_shadow_options** out) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        *out = new tl_shadow_options();
    });
}

void tl_shadow_options_free(tl_shadow_options* options) { delete options; }

tl_status tl_shadow_options_set_name(tl_shadow_options* options, const char* name) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const std::string value = name ? name : "";
        twinlink::validate_shadow_name(value);
        o.core.name = value;
    });
}

tl_status tl_shadow_options_set_profile(tl_shadow_options* options, tl_topic_profile profile, const char* prefix) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        const int value = raw_enum(profile);
        if (value != TL_PROFILE_TWINLINK && value != TL_PROFILE_AWS)
            invalid("profile " + std::to_string(value) + " is not a tl_topic_profile");
        if (prefix != nullptr) twinlink::validate_topic_prefix(prefix);
        o.core.profile = static_cast<twinlink::TopicProfile>(value);
        if (prefix != nullptr) o.core.prefix = prefix;
    });
}

tl_status tl_shadow_options_set_request_timeout(tl_shadow_options* options, uint32_t timeout_ms) {
    return guard(__func__, [&] {
        auto& o = deref(options, "options");
        if (timeout_ms < 100) invalid("request timeout must be at least 100 ms");
        o.core.request_timeout = milliseconds(timeout_ms);
    });
}

tl_status tl_shadow_options_set_persist_path(tl_shadow_options* options, const char* path) {
    return guard(__func__, [&] { deref(options, "options").core.persist_path = path ? path : ""; });
}

tl_status tl_shadow_new(tl_shadow** out, tl_client* client, const char* device, const tl_shadow_options* options) {
    return guard(__func__, [&] {
        deref(out, "out") = nullptr;
        auto& c = deref(client, "client");
        twinlink::ShadowOptions o = options ? options->core : twinlink::ShadowOptions{};
        o.device = require_text(device, "device");
        *out = new tl_shadow(c.core, std::move(o));
    });
}

void tl_shadow_free(tl_shadow* shadow) { delete shadow; }

tl_status tl_shadow_report(tl_shadow* shadow, const char* reported_json, uint32_t timeout_ms, char** out_accepted) {
    return guard(__func__, [&] {
        if (out_accepted) *out_accepted = nullptr;
        auto& s = deref(shadow, "shadow");
        const auto accepted = s.core.report(parse_object(reported_json, "reported_json"), milliseconds(timeout_ms));
        write_out(out_accepted, accepted.dump());
    });
}

tl_status tl_shadow_report_async(tl_shadow* shadow, const char* reported_json) {
    return guard(__func__, [&] {
        deref(shadow, "shadow").core.report_async(parse_object(reported_json, "reported_json"));
    });
}

tl_status tl_shadow_desire(tl_shadow* shadow, const char* desired_json, uint32_t timeout_ms, char** out_accepted) {
    return guard(__func__, [&] {
        if (out_accepted) *out_accepted = nullptr;
        auto& s = deref(shadow, "shadow");
        const auto accepted = s.core.desire(parse_object(desired_json, "desired_json"), milliseconds(timeout_ms));
        write_out(out_accepted, accepted.dump());
    });
}

tl_status tl_shadow_desire_async(tl_shadow* shadow, const char* desired_json) {
    return guard(__func__, [&] {
        deref(shadow, "shadow").core.desire_async(parse_object(desired_json, "desired_json"));
    });
}

tl_status tl_shadow_update(tl_shadow* shadow, const char* request_json, uint32_t timeout_ms, char** out_accepted) {
    return guard(__func__, [&] {
        if (out_accepted) *out_accepted = nullptr;
        auto& s = deref(shadow, "shadow");
        write_out(out_accepted, s.core.update(parse_update(request_json), milliseconds(timeout_ms)).dump());
    });
}

tl_status tl_shadow_get(tl_shadow* shadow, uint32_t timeout_ms, char** out_document) {
    return guard(__func__, [&] {
        deref(out_document, "out_document") = nullptr;
        write_out(out_document, document_text(deref(shadow, "shadow").core.get(milliseconds(timeout_ms))));
    });
}

tl_status tl_shadow_delete(tl_shadow* shadow, uint32_t timeout_ms) {
    return guard(__func__, [&] { deref(shadow, "shadow").core.remove(milliseconds(timeout_ms)); });
}

tl_status tl_shadow_state(const tl_shadow* shadow, char** out_document) {
    return guard(__func__, [&] {
        deref(out_document, "out_document") = nullptr;
        write_out(out_document, document_text(deref(shadow, "shadow").core.state()));
    });
}

tl_status tl_shadow_on_delta(tl_shadow* shadow, const char* json_pointer, tl_shadow_delta_cb callback,
                             void* user_data, tl_destroy_cb destroy, uint64_t* out_id) {
    return guard(__func__, [&] {
        add_delta_callback(shadow, json_pointer, TL_SHADOW_DELTA_NO_INITIAL, callback, user_data, destroy, out_id);
    });
}

tl_status tl_shadow_on_delta_ex(tl_shadow* shadow, const char* json_pointer, uint32_t flags,
                                tl_shadow_delta_cb callback, void* user_data, tl_destroy_cb destroy,
                                uint64_t* out_id) {
    return guard(__func__, [&] {
        add_delta_callback(shadow, json_pointer, flags, callback, user_data, destroy, out_id);
    });
}

tl_status tl_shadow_on_change(tl_shadow* shadow, tl_shadow_change_cb callback, void* user_data,
                              tl_destroy_cb destroy, uint64_t* out_id) {
    return guard(__func__, [&] {
        auto data = own_user_data(user_data, destroy);
        if (out_id) *out_id = 0;
        auto& s = deref(shadow, "shadow");
        if (callback == nullptr) invalid("callback is NULL");
        const auto id = s.core.on_change([callback, data](const twinlink::ShadowState& state) {
            callback(document_text(state).c_str(), data->get());
        });
        if (out_id) *out_id = id;
    });
}

tl_status tl_shadow_remove_handler(tl_shadow* shadow, uint64_t handler_id) {
    return guard(__func__, [&] { deref(shadow, "shadow").core.remove_handler(handler_id); });
}

tl_status tl_shadow_report_start(tl_shadow* shadow, const char* reported_json, uint32_t timeout_ms,
                                 tl_completion_cb callback, void* user_data, tl_destroy_cb destroy,
                                 uint64_t* out_operation) {
    return start_update(__func__, shadow, reported_json, "reported_json", false, timeout_ms, callback, user_data,
                        destroy, out_operation);
}

tl_status tl_shadow_desire_start(tl_shadow* shadow, const char* desired_json, uint32_t timeout_ms,
                                 tl_completion_cb callback, void* user_data, tl_destroy_cb destroy,
                                 uint64_t* out_operation) {
    return start_update(__func__, shadow, desired_json, "desired_json", true, timeout_ms, callback, user_data,
                        destroy, out_operation);
}

tl_status tl_shadow_get_start(tl_shadow* shadow, uint32_t timeout_ms, tl_completion_cb callback, void* user_data,
                              tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        if (out_operation) *out_operation = 0;
        auto data = own_user_data(user_data, destroy);
        auto& s = deref(shadow, "shadow");
        auto done = completion(callback, data, get_document_text);
        data.reset();
        const auto id = s.core.get_start(milliseconds(timeout_ms), std::move(done));
        if (out_operation) *out_operation = id;
    });
}

tl_status tl_shadow_update_start(tl_shadow* shadow, const char* request_json, uint32_t timeout_ms,
                                 tl_completion_cb callback, void* user_data, tl_destroy_cb destroy,
                                 uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& s = deref(shadow, "shadow");
            auto done = take_done();
            return s.core.update_start(parse_update(request_json), milliseconds(timeout_ms), std::move(done));
        });
    });
}

tl_status tl_shadow_delete_start(tl_shadow* shadow, uint32_t timeout_ms, tl_completion_cb callback, void* user_data,
                                 tl_destroy_cb destroy, uint64_t* out_operation) {
    return guard(__func__, [&] {
        start_operation(callback, user_data, destroy, out_operation, [&](const auto& take_done) {
            auto& s = deref(shadow, "shadow");
            return s.core.remove_start(milliseconds(timeout_ms), take_done());
        });
    });
}

tl_status tl_shadow_cancel(tl_shadow* shadow, uint64_t operation) {
    return guard(__func__, [&] {
        if (!deref(shadow, "shadow").core.cancel_operation(operation))
            throw twinlink::Error(twinlink::Status::WrongState,
                                  "operation " + std::to_string(operation) + " has already ended or is unknown");
    });
}

}  // extern "C"
