#include "twinlink/shadow_request.hpp"

#include "common/utf8.hpp"
#include "shadow/json_nesting.hpp"

#include <initializer_list>
#include <string>
#include <type_traits>

namespace twinlink {
namespace {

using nlohmann::json;
using detail::is_utf8;

ShadowError bad_request(std::string message) { return ShadowError{400, std::move(message)}; }

// The nesting is checked before parsing so that a deeply nested payload never reaches recursive
// code (copies, comparisons, our own walks).
using detail::json_nesting_exceeds;

std::string too_deep_message(const ShadowLimits& limits) {
    return "JSON contains too many levels of nesting; maximum is " +
           std::to_string(limits.max_depth);
}

// Walks a desired or reported value. `depth` is the level of `value` when it is a container.
std::optional<ShadowError> check_value(const json& value, const char* section, std::size_t depth,
                                       bool in_array, const ShadowLimits& limits) {
    switch (value.type()) {
        case json::value_t::object:
            if (depth > limits.max_depth) return bad_request(too_deep_message(limits));
            for (auto it = value.begin(); it != value.end(); ++it) {
                const std::string& key = it.key();
                if (key.size() > limits.max_key_bytes)
                    return bad_request("A key in " + std::string(section) + " is " +
                                       std::to_string(key.size()) +
                                       " bytes long; the maximum is " +
                                       std::to_string(limits.max_key_bytes));
                if (!is_utf8(key))
                    return bad_request("A key in " + std::string(section) +
                                       " is not valid UTF-8");
                if (in_array && it.value().is_null())
                    return bad_request(std::string(section) +
                                       " contains a null inside an array; arrays can't contain "
                                       "null values");
                if (auto e = check_value(it.value(), section, depth + 1, in_array, limits)) return e;
            }
            return std::nullopt;
        case json::value_t::array:
            if (depth > limits.max_depth) return bad_request(too_deep_message(limits));
            for (const json& element : value) {
                if (element.is_null())
                    return bad_request(std::string(section) +
                                       " contains a null inside an array; arrays can't contain "
                                       "null values");
                if (auto e = check_value(element, section, depth + 1, true, limits)) return e;
            }
            return std::nullopt;
        case json::value_t::string:
            if (!is_utf8(value.get_ref<const std::string&>()))
                return bad_request("A string in " + std::string(section) + " is not valid UTF-8");
            return std::nullopt;
        case json::value_t::binary:
            return bad_request(std::string(section) + " contains a binary value, which JSON "
                                                      "can't carry");
        default:
            return std::nullopt;
    }
}

std::optional<ShadowError> check_section(const std::optional<json>& section, const char* name,
                                         const ShadowLimits& limits) {
    if (!section || section->is_null()) return std::nullopt;
    if (!section->is_object())
        return bad_request(std::string(name) + " must be an object or null");
    return check_value(*section, name, 1, false, limits);
}

// The message of a JSON parse failure without nlohmann's prefix and without the "last read"
// excerpt, which echoes up to a whole (possibly huge) token of the payload.
std::string parse_error_message(const json::exception& e) {
    std::string what = e.what();
    if (e.id == 406 || e.id == 407) return "Invalid JSON: a number is out of range";
    const auto colon = what.find(": ");
    if (colon != std::string::npos) what.erase(0, colon + 2);
    const auto last_read = what.find("; last read");
    if (last_read != std::string::npos) what.erase(last_read);
    if (const auto* pe = dynamic_cast<const json::parse_error*>(&e))
        return "Invalid JSON at byte " + std::to_string(pe->byte) + ": " + what;
    return "Invalid JSON: " + what;
}

// The common steps of every parser: size, encoding, nesting, syntax, object. `depth_allowance`
// is the nesting the request's own structure adds above the desired/reported sections.
std::optional<ShadowError> parse_object(std::string_view payload, const ShadowLimits& limits,
                                        std::size_t depth_allowance, json& out) {
    if (payload.size() > limits.max_payload_bytes)
        return ShadowError{413, "Payload too large: " + std::to_string(payload.size()) +
                                    " bytes; the maximum is " +
                                    std::to_string(limits.max_payload_bytes)};
    if (!is_utf8(payload)) return bad_request("Payload is not valid UTF-8");
    if (json_nesting_exceeds(payload, limits.max_depth + depth_allowance))
        return bad_request(too_deep_message(limits));
    try {
        out = json::parse(payload.begin(), payload.end());
    } catch (const json::exception& e) {
        return bad_request(parse_error_message(e));
    }
    if (!out.is_object()) return bad_request("Payload must be a JSON object");
    return std::nullopt;
}

// Reads clientToken first, so that every later rejection can echo it. An invalid token is not
// echoed.
std::optional<ShadowError> read_client_token(const json& request,
                                             std::optional<std::string>& token) {
    const auto it = request.find("clientToken");
    if (it == request.end()) return std::nullopt;
    if (!it->is_string() || !is_valid_client_token(it->get_ref<const std::string&>()))
        return bad_request("Invalid clientToken");
    token = it->get<std::string>();
    return std::nullopt;
}

std::optional<ShadowError> read_version(const json& request,
                                        std::optional<std::uint64_t>& version) {
    const auto it = request.find("version");
    if (it == request.end()) return std::nullopt;
    if (it->is_number_unsigned()) {
        version = it->get<std::uint64_t>();
    } else if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
        version = static_cast<std::uint64_t>(it->get<std::int64_t>());
    } else {
        return bad_request("Invalid version: it must be a non-negative integer");
    }
    return std::nullopt;
}

// Rejects a top-level key that the operation does not know. The message names the key, cut
// short so that a long one does not bloat the response.
std::optional<ShadowError> check_keys(const json& request,
                                      std::initializer_list<const char*> allowed,
                                      const char* where) {
    for (auto it = request.begin(); it != request.end(); ++it) {
        bool known = false;
        for (const char* name : allowed) known = known || it.key() == name;
        if (known) continue;
        std::string key = it.key();
        if (key.size() > 32) {
            std::size_t cut = 32;
            while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) --cut;
            key = key.substr(0, cut) + "...";
        }
        return bad_request(std::string(where) + " contains an invalid node: '" + key + "'");
    }
    return std::nullopt;
}

// Get and delete accept an empty payload; delete also takes a version.
template <class Request>
ShadowParseResult<Request> parse_simple(std::string_view payload, const ShadowLimits& limits) {
    constexpr bool kHasVersion = std::is_same_v<Request, ShadowDelete>;
    Request request;
    if (payload.empty()) return request;
    json body;
    if (auto e = parse_object(payload, limits, 0, body)) return {std::move(*e), std::nullopt};
    if (auto e = read_client_token(body, request.client_token))
        return {std::move(*e), std::nullopt};
    auto reject = [&](ShadowError e) {
        return ShadowParseResult<Request>(std::move(e), request.client_token);
    };
    if constexpr (kHasVersion) {
        if (auto e = check_keys(body, {"clientToken", "version"}, "Request")) return reject(*e);
        if (auto e = read_version(body, request.version)) return reject(*e);
    } else {
        if (auto e = check_keys(body, {"clientToken"}, "Request")) return reject(*e);
    }
    return request;
}

}  // namespace

bool is_valid_client_token(std::string_view token) noexcept {
    return token.size() <= kMaxClientTokenBytes && is_utf8(token);
}

nlohmann::json error_response(const ShadowError& error,
                              const std::optional<std::string>& client_token,
                              std::int64_t now_s) {
    json out = {{"code", error.code}, {"message", error.message}, {"timestamp", now_s}};
    if (client_token) out["clientToken"] = *client_token;
    return out;
}

nlohmann::json ShadowUpdate::to_json() const {
    json state = json::object();
    if (desired) state["desired"] = *desired;
    if (reported) state["reported"] = *reported;
    json out = {{"state", std::move(state)}};
    if (version) out["version"] = *version;
    if (client_token) out["clientToken"] = *client_token;
    return out;
}

nlohmann::json ShadowGet::to_json() const {
    json out = json::object();
    if (client_token) out["clientToken"] = *client_token;
    return out;
}

nlohmann::json ShadowDelete::to_json() const {
    json out = json::object();
    if (version) out["version"] = *version;
    if (client_token) out["clientToken"] = *client_token;
    return out;
}

std::optional<ShadowError> validate_update(const ShadowUpdate& update,
                                           const ShadowLimits& limits) {
    if (update.client_token && !is_valid_client_token(*update.client_token))
        return bad_request("Invalid clientToken");
    if (!update.desired && !update.reported)
        return bad_request("State must contain desired or reported");
    if (auto e = check_section(update.desired, "desired", limits)) return e;
    return check_section(update.reported, "reported", limits);
}

ShadowParseResult<ShadowUpdate> parse_update_request(std::string_view payload,
                                                     const ShadowLimits& limits) {
    ShadowUpdate update;
    json body;
    if (payload.empty()) return {bad_request("Payload is empty; an update needs a JSON object"),
                                 std::nullopt};
    // The request object and its state object sit above desired and reported.
    if (auto e = parse_object(payload, limits, 2, body)) return {std::move(*e), std::nullopt};
    if (auto e = read_client_token(body, update.client_token))
        return {std::move(*e), std::nullopt};
    auto reject = [&](ShadowError e) {
        return ShadowParseResult<ShadowUpdate>(std::move(e), update.client_token);
    };
    if (auto e = check_keys(body, {"state", "version", "clientToken"}, "Request"))
        return reject(*e);
    if (auto e = read_version(body, update.version)) return reject(*e);

    const auto state = body.find("state");
    if (state == body.end()) return reject(bad_request("Missing required node: state"));
    if (state->is_null()) {
        // "state": null deletes everything, like desired and reported both null.
        update.desired = json();
        update.reported = json();
    } else if (!state->is_object()) {
        return reject(bad_request("State node must be an object or null"));
    } else {
        if (auto e = check_keys(*state, {"desired", "reported"}, "State")) return reject(*e);
        if (auto it = state->find("desired"); it != state->end()) update.desired = std::move(*it);
        if (auto it = state->find("reported"); it != state->end())
            update.reported = std::move(*it);
    }
    if (auto e = validate_update(update, limits)) return reject(*e);
    return update;
}

ShadowParseResult<ShadowGet> parse_get_request(std::string_view payload,
                                               const ShadowLimits& limits) {
    return parse_simple<ShadowGet>(payload, limits);
}

ShadowParseResult<ShadowDelete> parse_delete_request(std::string_view payload,
                                                     const ShadowLimits& limits) {
    return parse_simple<ShadowDelete>(payload, limits);
}

}  // namespace twinlink
