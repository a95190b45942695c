// twinlink/shadow_document.hpp — the shadow document model: merge, delta, metadata, versions.
//
// This is the pure half of the shadow: it knows nothing of MQTT, topics, clocks or storage. The
// cloud-side shadow service keeps one ShadowDocument per (device, shadow), feeds it parsed requests
// (shadow_request.hpp) with the current time, and publishes the payloads it returns; the device
// side uses merge_state and compute_delta on its local copy. The semantics are those of AWS IoT
// Device Shadow, written down in docs/protocol.md.
//
// Timestamps are seconds since the Unix epoch, as in AWS. A ShadowDocument is a value type: copy
// it freely; it is not synchronised, so guard one that several threads share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "twinlink/shadow_request.hpp"

namespace twinlink {

/// Merges `patch` into `target`, key by key, as an update merges a desired or reported section:
///  - a null value deletes the key;
///  - an object value is merged recursively into the target's object at that key (replacing a
///    value of another type); an object that the patch leaves empty through deletions is removed,
///    while an explicitly empty patch object (`{}`) is kept as an empty object;
///  - any other value (number, string, bool, array) replaces the target's value whole.
/// A null `patch` empties `target`. A `target` that is not an object is first replaced by an
/// empty object. Does no validation (see validate_update). Throws Error(InvalidArgument) when
/// `patch` is neither an object nor null.
void merge_state(nlohmann::json& target, const nlohmann::json& patch);

/// The delta of a shadow: every key of `desired`, recursively, whose value differs from
/// `reported`'s. Objects on both sides are compared key by key; anything else (arrays, scalars,
/// or a change of type) is compared whole and appears whole. A key missing from reported is in
/// the delta; a key only in reported is not. Numbers compare by value (1 equals 1.0). Always an
/// object, empty when in sync. A non-object `reported` counts as empty; a non-object `desired`
/// gives an empty delta.
nlohmann::json compute_delta(const nlohmann::json& desired, const nlohmann::json& reported);

/// The answer to a get or delete request, or to an update (ShadowUpdateOutcome).
struct ShadowResponse {
    /// Set when the request is rejected; the document is then unchanged.
    std::optional<ShadowError> error;
    /// The payload for the `.../accepted` topic, or for `.../rejected` when `error` is set.
    nlohmann::json payload;

    bool accepted() const noexcept { return !error; }
};

/// The answer to an update: the accepted/rejected payload, plus the two notifications that an
/// accepted update publishes.
struct ShadowUpdateOutcome : ShadowResponse {
    /// The `update/delta` payload, set when the update is accepted and leaves a non-empty delta
    /// (whichever section it changed, as the AWS service does).
    std::optional<nlohmann::json> delta;
    /// The `update/documents` payload, set when the update is accepted.
    std::optional<nlohmann::json> documents;
};

/// One shadow: desired and reported state, their metadata, the version counter, the time of the
/// last change, and whether it exists. A document that does not exist (never created, or deleted)
/// keeps its version counter, so a shadow created again after a delete continues from the old
/// version + 1, as in AWS (which forgets the counter after 48 hours; twinlink never does).
class ShadowDocument {
public:
    /// A shadow that does not exist yet, version 0. `name` (UTF-8) is only used in the 404
    /// message ("No shadow exists with name: 'name'"); for a classic shadow, AWS puts the thing
    /// name there.
    explicit ShadowDocument(std::string name = {});

    /// Loads a document written by to_json(). It exists when it has a `state` member; `delta` is
    /// ignored (recomputed), metadata that does not match the state is rebuilt with the
    /// document's timestamp. Throws Error(InvalidArgument) naming the problem when the document
    /// is malformed or when its state breaks `limits` (depth, key length, UTF-8, nulls in
    /// arrays; the size limits are not applied, so documents stored under larger limits still
    /// load).
    static ShadowDocument from_json(const nlohmann::json& document, std::string name = {},
                                    const ShadowLimits& limits = {});

    /// The full document, for storage and inspection:
    /// `{"state":{"desired":{...},"reported":{...},"delta":{...}},"metadata":{"desired":{...},
    /// "reported":{...}},"version":N,"timestamp":T}`, where delta is present only when non-empty
    /// and T is the time of the last change. A shadow that does not exist is
    /// `{"version":N,"timestamp":T}` (no state), which from_json reads back as such.
    nlohmann::json to_json() const;

    const std::string& name() const noexcept { return name_; }
    bool exists() const noexcept { return exists_; }
    /// The version of the last accepted update; 0 before the first.
    std::uint64_t version() const noexcept { return version_; }
    /// When the document last changed (update or delete), in seconds since the epoch; 0 before.
    std::int64_t timestamp() const noexcept { return timestamp_; }
    /// Always an object (empty when the shadow does not exist).
    const nlohmann::json& desired() const noexcept { return desired_; }
    const nlohmann::json& reported() const noexcept { return reported_; }
    /// `{"desired":{...},"reported":{...}}`: the shape of each section with `{"timestamp":T}` at
    /// every leaf value (and an array of such entries for an array), T being when that value was
    /// last written.
    nlohmann::json metadata() const;
    /// compute_delta(desired(), reported()).
    nlohmann::json delta() const;

    /// Applies an update at time `now_s`. Checks it with validate_update(update, limits), then
    /// its version (409 "Version conflict" unless it equals version()), merges desired and
    /// reported, and checks the resulting size (413 when it exceeds limits.max_document_bytes
    /// and is larger than before: deleting always makes room). On success the shadow exists,
    /// version()
    /// is one more, every written value gets `now_s` in the metadata, and the outcome carries:
    ///  - payload, for update/accepted: `{"state":{...the sections as requested, nulls
    ///    included},"metadata":{...the same shape with {"timestamp":now} at each leaf},
    ///    "version":N,"timestamp":now,"clientToken":"..."}`;
    ///  - delta, for update/delta, when the delta is not empty: `{"state":{...the whole delta},
    ///    "metadata":{...desired's metadata of those keys},"version":N,"timestamp":now,
    ///    "clientToken":"..."}`;
    ///  - documents, for update/documents: `{"previous":{"state":{"desired","reported"},
    ///    "metadata":{"desired","reported"},"version":N-1},"current":{...version N},
    ///    "timestamp":now,"clientToken":"..."}`, without previous when the shadow did not exist.
    /// On rejection, the document is unchanged and payload is the error_response.
    /// clientToken appears wherever the update carried one. Does not throw (except
    /// std::bad_alloc).
    ShadowUpdateOutcome apply_update(const ShadowUpdate& update, std::int64_t now_s,
                                     const ShadowLimits& limits = {});

    /// Answers a get: `{"state":{"desired":{...},"reported":{...},"delta":{...}},
    /// "metadata":{"desired":{...},"reported":{...}},"version":N,"timestamp":now,
    /// "clientToken":"..."}` (delta only when non-empty), or 404 when the shadow does not exist.
    ShadowResponse get_response(const ShadowGet& request, std::int64_t now_s) const;

    /// Deletes the shadow: 404 when it does not exist, 409 when the request carries a version
    /// other than version(). Otherwise the state and metadata are dropped, the version counter is
    /// kept, and the payload is `{"version":N,"timestamp":now,"clientToken":"..."}` with N the
    /// version of the deleted document.
    ShadowResponse remove(const ShadowDelete& request, std::int64_t now_s);

private:
    nlohmann::json state_entry() const;  // {"state":{desired,reported},"metadata":{..},"version"}

    std::string name_;
    nlohmann::json desired_ = nlohmann::json::object();
    nlohmann::json reported_ = nlohmann::json::object();
    nlohmann::json desired_metadata_ = nlohmann::json::object();
    nlohmann::json reported_metadata_ = nlohmann::json::object();
    std::uint64_t version_ = 0;
    std::int64_t timestamp_ = 0;
    bool exists_ = false;
};

}  // namespace twinlink
