// Fuzz target: any bytes as an update, get and delete request, applied to shadows in several
// states. Checks that nothing throws and that every answer keeps the model's invariants:
// versions move by exactly one per accepted update, a rejection changes nothing, the delta is
// consistent with desired and reported, metadata has the state's shape, documents survive
// to_json/from_json, and merging is idempotent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "twinlink/shadow_document.hpp"
#include "twinlink/shadow_request.hpp"
#include "twinlink/status.hpp"

#include "fuzz_check.hpp"

namespace {

using nlohmann::json;
using twinlink::ShadowDocument;
using twinlink::ShadowLimits;

constexpr std::int64_t kNow = 1700000000;

// Small document limits, so that 413 is reachable with small inputs.
ShadowLimits fuzz_limits() {
    ShadowLimits limits;
    limits.max_document_bytes = 1024;
    return limits;
}

ShadowDocument seeded_document() {
    static const json seed = json::parse(R"({
        "state": {
            "desired": {"color": "red", "lights": {"on": true, "level": 3},
                        "list": [1, 2, {"x": 1}], "only_desired": {"a": {"b": 1}}},
            "reported": {"color": "blue", "lights": {"on": true, "level": 2}, "temp": 21.5,
                         "list": [1, 2, {"x": 1}]}
        },
        "version": 7,
        "timestamp": 1600000000
    })");
    return ShadowDocument::from_json(seed, "fuzz");
}

bool is_timestamp_leaf(const json& metadata) {
    return metadata.is_object() && metadata.size() == 1 && metadata.contains("timestamp") &&
           metadata["timestamp"].is_number_integer();
}

// Metadata mirrors the state: objects key by key, arrays element by element, a timestamp leaf
// for every other value.
bool metadata_matches(const json& state, const json& metadata) {
    if (state.is_object()) {
        if (!metadata.is_object() || metadata.size() != state.size()) return false;
        for (auto it = state.begin(); it != state.end(); ++it) {
            const auto m = metadata.find(it.key());
            if (m == metadata.end() || !metadata_matches(it.value(), *m)) return false;
        }
        return true;
    }
    if (state.is_array()) {
        if (!metadata.is_array() || metadata.size() != state.size()) return false;
        for (std::size_t i = 0; i < state.size(); ++i)
            if (!metadata_matches(state[i], metadata[i])) return false;
        return true;
    }
    return is_timestamp_leaf(metadata);
}

// No object left empty by deletions can exist, but explicit {} can; nulls never can.
bool has_no_null(const json& value) {
    if (value.is_null()) return false;
    if (value.is_structured())
        for (const json& child : value)
            if (!has_no_null(child)) return false;
    return true;
}

void check_document(const ShadowDocument& doc) {
    FUZZ_CHECK(doc.desired().is_object());
    FUZZ_CHECK(doc.reported().is_object());
    FUZZ_CHECK(has_no_null(doc.desired()));
    FUZZ_CHECK(has_no_null(doc.reported()));
    const json metadata = doc.metadata();
    FUZZ_CHECK(metadata_matches(doc.desired(), metadata["desired"]));
    FUZZ_CHECK(metadata_matches(doc.reported(), metadata["reported"]));
    // Serialisable, and read back to the same document.
    const json stored = doc.to_json();
    (void)stored.dump();
    FUZZ_CHECK(ShadowDocument::from_json(stored, doc.name()).to_json() == stored);

    // The delta: reporting everything desired leaves none.
    const json delta = doc.delta();
    FUZZ_CHECK(delta.is_object());
    json reported = doc.reported();
    twinlink::merge_state(reported, doc.desired());
    FUZZ_CHECK(twinlink::compute_delta(doc.desired(), reported).empty());
    FUZZ_CHECK(twinlink::compute_delta(doc.desired(), doc.desired()).empty());
    for (auto it = delta.begin(); it != delta.end(); ++it) FUZZ_CHECK(doc.desired().contains(it.key()));
}

void check_rejection(const twinlink::ShadowResponse& response) {
    FUZZ_CHECK(response.error.has_value());
    FUZZ_CHECK(response.payload["code"] == response.error->code);
    FUZZ_CHECK(!response.error->message.empty());
    (void)response.payload.dump();
}

void apply_update(ShadowDocument doc, const twinlink::ShadowUpdate& update,
                  const ShadowLimits& limits) {
    const json before = doc.to_json();
    const bool existed = doc.exists();
    const std::uint64_t version = doc.version();
    const auto outcome = doc.apply_update(update, kNow, limits);
    if (!outcome.accepted()) {
        check_rejection(outcome);
        const int code = outcome.error->code;
        FUZZ_CHECK(code == 400 || code == 409 || code == 413);
        FUZZ_CHECK(code != 409 || (update.version && *update.version != version));
        FUZZ_CHECK(doc.to_json() == before);
        FUZZ_CHECK(!outcome.delta && !outcome.documents);
        return;
    }
    FUZZ_CHECK(!update.version || *update.version == version);
    FUZZ_CHECK(doc.exists());
    FUZZ_CHECK(doc.version() == version + 1);
    FUZZ_CHECK(doc.timestamp() == kNow);
    FUZZ_CHECK(outcome.payload["version"] == doc.version());
    FUZZ_CHECK(outcome.payload.contains("state") && outcome.payload.contains("metadata"));
    FUZZ_CHECK(metadata_matches(outcome.payload["state"], outcome.payload["metadata"]));
    const json state = {{"desired", doc.desired()}, {"reported", doc.reported()}};
    FUZZ_CHECK(state.dump().size() <= limits.max_document_bytes);
    const json delta = doc.delta();
    FUZZ_CHECK(outcome.delta.has_value() == !delta.empty());
    if (outcome.delta) {
        FUZZ_CHECK((*outcome.delta)["state"] == delta);
        FUZZ_CHECK((*outcome.delta)["version"] == doc.version());
        FUZZ_CHECK(metadata_matches(delta, (*outcome.delta)["metadata"]));
    }
    FUZZ_CHECK(outcome.documents.has_value());
    FUZZ_CHECK((*outcome.documents)["current"]["version"] == doc.version());
    FUZZ_CHECK(outcome.documents->contains("previous") == existed);
    if (existed) FUZZ_CHECK((*outcome.documents)["previous"]["version"] == version);
    (void)outcome.payload.dump();
    (void)outcome.documents->dump();
    check_document(doc);

    // Merging is idempotent: the same patch again changes nothing.
    if (update.desired) {
        json again = doc.desired();
        twinlink::merge_state(again, *update.desired);
        FUZZ_CHECK(again == doc.desired());
    }
    if (update.reported) {
        json again = doc.reported();
        twinlink::merge_state(again, *update.reported);
        FUZZ_CHECK(again == doc.reported());
    }
    // The same request again: a conditional one now conflicts, any other is accepted.
    const auto second = doc.apply_update(update, kNow + 1, limits);
    if (update.version) {
        FUZZ_CHECK(!second.accepted() && second.error->code == 409);
    } else {
        FUZZ_CHECK(second.accepted() && doc.version() == version + 2);
    }
}

void get_and_delete(ShadowDocument doc, const twinlink::ShadowGet& get,
                    const twinlink::ShadowDelete& del) {
    const auto got = doc.get_response(get, kNow);
    FUZZ_CHECK(got.accepted() == doc.exists());
    if (!got.accepted()) {
        check_rejection(got);
        FUZZ_CHECK(got.error->code == 404);
    } else {
        FUZZ_CHECK(got.payload["version"] == doc.version());
        (void)got.payload.dump();
    }
    const std::uint64_t version = doc.version();
    const bool existed = doc.exists();
    const auto removed = doc.remove(del, kNow);
    FUZZ_CHECK(doc.version() == version);
    if (removed.accepted()) {
        FUZZ_CHECK(existed && !doc.exists());
        FUZZ_CHECK(removed.payload["version"] == version);
        FUZZ_CHECK(!doc.get_response(get, kNow).accepted());
    } else {
        check_rejection(removed);
        FUZZ_CHECK(removed.error->code == (existed ? 409 : 404));
        FUZZ_CHECK(doc.exists() == existed);
    }
}

// The payload as a stored document, when it is shallow enough for the recursive code of the
// test itself: from_json either loads it or throws twinlink::Error, nothing else.
void load_as_document(std::string_view payload) {
    std::size_t brackets = 0;
    for (char c : payload) brackets += c == '{' || c == '[';
    if (brackets > 64) return;
    const json document = json::parse(payload, nullptr, false);
    if (document.is_discarded()) return;
    try {
        check_document(ShadowDocument::from_json(document, "fuzz"));
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    const ShadowLimits limits = fuzz_limits();

    const auto update = twinlink::parse_update_request(payload, limits);
    const auto get = twinlink::parse_get_request(payload, limits);
    const auto del = twinlink::parse_delete_request(payload, limits);
    for (const twinlink::ShadowError* error :
         {update ? nullptr : &update.error(), get ? nullptr : &get.error(),
          del ? nullptr : &del.error()}) {
        if (error == nullptr) continue;
        FUZZ_CHECK(error->code == 400 || error->code == 413);
        FUZZ_CHECK(!error->message.empty());
    }
    // Whatever is echoed must be a valid token.
    for (const auto* token : {&update.client_token(), &get.client_token(), &del.client_token()})
        if (*token) FUZZ_CHECK(twinlink::is_valid_client_token(**token));

    ShadowDocument fresh("fuzz");
    ShadowDocument seeded = seeded_document();
    ShadowDocument deleted = seeded_document();
    FUZZ_CHECK(deleted.remove({}, kNow - 10).accepted());

    if (update) {
        // A parsed request survives its own serialisation (which may be a little longer than
        // the payload: 1e5 comes back as 100000.0).
        ShadowLimits relaxed = limits;
        relaxed.max_payload_bytes *= 4;
        const auto reparsed =
            twinlink::parse_update_request(update.request().to_json().dump(), relaxed);
        FUZZ_CHECK(reparsed.ok());
        FUZZ_CHECK(reparsed.request().to_json() == update.request().to_json());
        for (const ShadowDocument* doc : {&fresh, &seeded, &deleted})
            apply_update(*doc, update.request(), limits);
    }
    if (get && del) {
        for (const ShadowDocument* doc : {&fresh, &seeded, &deleted})
            get_and_delete(*doc, get.request(), del.request());
    }
    load_as_document(payload);
    return 0;
}
