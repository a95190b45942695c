// twinlink/shadow_request.hpp — shadow requests: their types, limits, validation and parsing.
//
// A shadow request is the payload published to an update, get or delete topic (see
// shadow_topics.hpp and docs/protocol.md). The parse functions turn untrusted bytes from the network
// into a validated request, or into the error to answer with; they never throw on bad input.
// Everything here is pure: no I/O, no clock, no global state, safe to use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace twinlink {

/// Bounds on what a request may contain and on the document it may produce. A request that
/// breaks one is answered with an error, never with a crash.
struct ShadowLimits {
    /// Bytes of a request payload; more is rejected with 413.
    std::size_t max_payload_bytes = 64 * 1024;
    /// Bytes of the resulting state, measured as the compact JSON of
    /// `{"desired":{...},"reported":{...}}` (metadata does not count, as in AWS); more is 413.
    std::size_t max_document_bytes = 64 * 1024;
    /// Nesting of objects and arrays in desired and reported: the section itself is level 1,
    /// so `{"a":{"b":1}}` has depth 2. Deeper is rejected with 400. It also bounds the
    /// recursion of every function of the shadow model, so keep it small.
    std::size_t max_depth = 8;
    /// Bytes of every object key inside desired and reported; longer is rejected with 400.
    std::size_t max_key_bytes = 128;
};

/// The most bytes a clientToken may have (fixed by AWS; longer is rejected with 400).
inline constexpr std::size_t kMaxClientTokenBytes = 64;

/// True when `token` can be a clientToken: valid UTF-8 of at most kMaxClientTokenBytes bytes.
bool is_valid_client_token(std::string_view token) noexcept;

/// Why a request was rejected, as published on a `.../rejected` topic. `code` is an HTTP status,
/// as in AWS: 400 bad request, 404 no such shadow, 409 version conflict, 413 too large,
/// 500 internal failure.
struct ShadowError {
    int code = 0;
    std::string message;
};

/// The payload of a `.../rejected` response:
/// `{"code":C,"message":"...","timestamp":T,"clientToken":"..."}` (clientToken only when given).
nlohmann::json error_response(const ShadowError& error,
                              const std::optional<std::string>& client_token,
                              std::int64_t now_s);

/// An update request: `{"state":{"desired":{...},"reported":{...}},"version":N,"clientToken":"..."}`.
struct ShadowUpdate {
    /// Absent: desired is left alone. JSON null: all desired state is deleted. An object: merged
    /// into desired (see merge_state in shadow_document.hpp).
    std::optional<nlohmann::json> desired;
    /// The same for reported.
    std::optional<nlohmann::json> reported;
    /// When set, the update is applied only if it equals the shadow's current version (else 409).
    std::optional<std::uint64_t> version;
    /// Echoed in every response to this request.
    std::optional<std::string> client_token;

    /// The request payload. `"state": null` in a parsed payload comes back as
    /// `{"desired":null,"reported":null}`, which means the same.
    nlohmann::json to_json() const;
};

/// A get request: an empty payload or `{"clientToken":"..."}`.
struct ShadowGet {
    std::optional<std::string> client_token;

    /// `{}` or `{"clientToken":"..."}`.
    nlohmann::json to_json() const;
};

/// A delete request: an empty payload or `{"version":N,"clientToken":"..."}`, both optional.
/// `version` makes the delete conditional, like an update's (an extension of AWS, which ignores
/// the content of a delete request).
struct ShadowDelete {
    std::optional<std::uint64_t> version;
    std::optional<std::string> client_token;

    nlohmann::json to_json() const;
};

/// Either a validated request or the error to answer it with. A rejected payload still yields
/// its clientToken when one could be read, so that the rejection can echo it.
template <class Request>
class ShadowParseResult {
public:
    ShadowParseResult(Request request) : request_(std::move(request)) {}
    ShadowParseResult(ShadowError error, std::optional<std::string> client_token)
        : error_(std::move(error)), rejected_token_(std::move(client_token)) {}

    bool ok() const noexcept { return request_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }

    /// The request. Only when ok().
    const Request& request() const& { return *request_; }
    Request& request() & { return *request_; }
    Request&& request() && { return std::move(*request_); }

    /// Why the payload was rejected. Only when !ok().
    const ShadowError& error() const noexcept { return error_; }

    /// The clientToken to echo in the response, accepted or rejected.
    const std::optional<std::string>& client_token() const noexcept {
        return request_ ? request_->client_token : rejected_token_;
    }

private:
    std::optional<Request> request_;
    ShadowError error_;
    std::optional<std::string> rejected_token_;
};

/// Parses and validates the payload of an update request. Rejections (all with a message that
/// names the problem):
///  - 413 payload larger than limits.max_payload_bytes;
///  - 400 not valid UTF-8, not JSON, not an object, nesting deeper than limits.max_depth;
///  - 400 a top-level key other than state, version, clientToken; `state` missing, not an object
///    or null, with a key other than desired and reported, or with neither of them;
///  - 400 desired or reported neither an object nor null; a key longer than limits.max_key_bytes;
///    a null inside an array (arrays are values, and a null in one cannot mean "delete");
///  - 400 `version` not a non-negative integer; `clientToken` not a string of at most
///    kMaxClientTokenBytes bytes.
/// Never throws for any input.
ShadowParseResult<ShadowUpdate> parse_update_request(std::string_view payload,
                                                     const ShadowLimits& limits = {});

/// Parses the payload of a get request: empty, or a JSON object with at most a clientToken.
/// Rejections are 413 and 400 as for updates. Never throws for any input.
ShadowParseResult<ShadowGet> parse_get_request(std::string_view payload,
                                               const ShadowLimits& limits = {});

/// Parses the payload of a delete request: empty, or a JSON object with at most a version and a
/// clientToken. Rejections are 413 and 400 as for updates. Never throws for any input.
ShadowParseResult<ShadowDelete> parse_delete_request(std::string_view payload,
                                                     const ShadowLimits& limits = {});

/// The checks of parse_update_request that apply to an update built in code: desired/reported
/// present and objects or null, depth, key length, no null in arrays, valid UTF-8 in every key
/// and string, a valid clientToken. Returns the error, or nothing when the update is valid.
/// ShadowDocument::apply_update runs it on every update, so an invalid one never reaches a
/// document. Does not throw (except std::bad_alloc).
std::optional<ShadowError> validate_update(const ShadowUpdate& update,
                                           const ShadowLimits& limits = {});

}  // namespace twinlink
