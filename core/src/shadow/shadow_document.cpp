#include "twinlink/shadow_document.hpp"

#include <limits>
#include <utility>

#include "twinlink/status.hpp"

namespace twinlink {
namespace {

using nlohmann::json;

const json* find_member(const json* object, const std::string& key) {
    if (object == nullptr || !object->is_object()) return nullptr;
    const auto it = object->find(key);
    return it == object->end() ? nullptr : &*it;
}

// Metadata of a value written at `ts`: objects recurse, arrays get one entry per element (as in
// AWS), and every other value, null included, is a leaf {"timestamp":ts}.
json written_metadata(const json& value, std::int64_t ts) {
    if (value.is_object()) {
        json out = json::object();
        for (auto it = value.begin(); it != value.end(); ++it)
            out[it.key()] = written_metadata(it.value(), ts);
        return out;
    }
    if (value.is_array()) {
        json out = json::array();
        for (const json& element : value) out.push_back(written_metadata(element, ts));
        return out;
    }
    return json{{"timestamp", ts}};
}

// The metadata of `value` (a node of the merged state) after an update whose patch at this node
// is `patch` (null when the update did not touch it). Values the patch wrote get `now`; the
// others keep their entry in `old` (the metadata before the update), or get `fallback` when
// `old` has none of the right shape. Walking the merged state rather than the patch keeps the
// metadata exactly the state's shape, whatever deletions and type changes the patch made.
json rebuilt_metadata(const json& value, const json* old, const json* patch, std::int64_t now,
                      std::int64_t fallback) {
    if (value.is_object()) {
        json out = json::object();
        for (auto it = value.begin(); it != value.end(); ++it) {
            const json* child_patch = find_member(patch, it.key());
            if (child_patch != nullptr && !(child_patch->is_object() && it.value().is_object())) {
                out[it.key()] = written_metadata(it.value(), now);
            } else {
                out[it.key()] = rebuilt_metadata(it.value(), find_member(old, it.key()),
                                                 child_patch, now, fallback);
            }
        }
        return out;
    }
    if (value.is_array()) {
        json out = json::array();
        for (std::size_t i = 0; i < value.size(); ++i) {
            const json* old_element =
                old != nullptr && old->is_array() && i < old->size() ? &(*old)[i] : nullptr;
            out.push_back(rebuilt_metadata(value[i], old_element, nullptr, now, fallback));
        }
        return out;
    }
    if (const json* ts = find_member(old, "timestamp"); ts != nullptr && ts->is_number_integer())
        return json{{"timestamp", ts->get<std::int64_t>()}};
    return json{{"timestamp", fallback}};
}

// The desired metadata of the keys in `delta` (a sub-tree of desired).
json delta_metadata(const json& delta, const json* metadata, std::int64_t fallback) {
    if (!delta.is_object()) {
        if (metadata != nullptr) return *metadata;
        return written_metadata(delta, fallback);
    }
    json out = json::object();
    for (auto it = delta.begin(); it != delta.end(); ++it)
        out[it.key()] = delta_metadata(it.value(), find_member(metadata, it.key()), fallback);
    return out;
}

// Merges an object patch into an object target, by the rules of merge_state.
void merge_object(json& target, const json& patch) {
    for (auto it = patch.begin(); it != patch.end(); ++it) {
        const json& value = it.value();
        if (value.is_null()) {
            target.erase(it.key());
        } else if (value.is_object()) {
            json& slot = target[it.key()];
            if (!slot.is_object()) slot = json::object();
            merge_object(slot, value);
            // Emptied by this patch's deletions: gone. An explicit {} stays.
            if (slot.empty() && !value.empty()) target.erase(it.key());
        } else {
            target[it.key()] = value;
        }
    }
}

ShadowError version_conflict() { return ShadowError{409, "Version conflict"}; }

// A token that is too long or not UTF-8 is never echoed: it could not be serialised, or would
// not be what the requester sent.
ShadowError invalid_client_token() { return ShadowError{400, "Invalid clientToken"}; }

template <class Response>
Response rejection(ShadowError error, const std::optional<std::string>& client_token,
                   std::int64_t now_s) {
    Response response;
    response.payload = error_response(error, client_token, now_s);
    response.error = std::move(error);
    return response;
}

// Bytes of the state as the size limit counts them: the compact JSON
// {"desired":D,"reported":R}, whose fixed part is 24 bytes. Spelt out to spare two deep copies.
std::size_t state_size(const json& desired, const json& reported) {
    return 24 + desired.dump().size() + reported.dump().size();
}

void add_token(json& payload, const std::optional<std::string>& client_token) {
    if (client_token) payload["clientToken"] = *client_token;
}

std::int64_t timestamp_member(const json& document) {
    const auto it = document.find("timestamp");
    if (it == document.end()) return 0;
    if (!it->is_number_integer())
        throw Error(Status::InvalidArgument, "shadow document: 'timestamp' must be an integer");
    return it->get<std::int64_t>();
}

std::uint64_t version_member(const json& document) {
    const auto it = document.find("version");
    if (it == document.end()) return 0;
    if (it->is_number_unsigned()) return it->get<std::uint64_t>();
    if (it->is_number_integer() && it->get<std::int64_t>() >= 0)
        return static_cast<std::uint64_t>(it->get<std::int64_t>());
    throw Error(Status::InvalidArgument,
                "shadow document: 'version' must be a non-negative integer");
}

// A state section of a stored document: an object, or absent/null for empty.
json stored_section(const json& state, const char* key) {
    const auto it = state.find(key);
    if (it == state.end() || it->is_null()) return json::object();
    if (!it->is_object())
        throw Error(Status::InvalidArgument,
                    std::string("shadow document: state.") + key + " must be an object");
    return *it;
}

}  // namespace

void merge_state(nlohmann::json& target, const nlohmann::json& patch) {
    if (!patch.is_null() && !patch.is_object())
        throw Error(Status::InvalidArgument,
                    std::string("merge_state: the patch must be a JSON object or null, not ") +
                        patch.type_name());
    if (!target.is_object() || patch.is_null()) target = json::object();
    if (patch.is_object()) merge_object(target, patch);
}

nlohmann::json compute_delta(const nlohmann::json& desired, const nlohmann::json& reported) {
    json delta = json::object();
    if (!desired.is_object()) return delta;
    for (auto it = desired.begin(); it != desired.end(); ++it) {
        const json* other = find_member(&reported, it.key());
        if (other == nullptr) {
            delta[it.key()] = it.value();
        } else if (it.value().is_object() && other->is_object()) {
            json sub = compute_delta(it.value(), *other);
            if (!sub.empty()) delta[it.key()] = std::move(sub);
        } else if (it.value() != *other) {
            delta[it.key()] = it.value();
        }
    }
    return delta;
}

ShadowDocument::ShadowDocument(std::string name) : name_(std::move(name)) {}

ShadowDocument ShadowDocument::from_json(const nlohmann::json& document, std::string name,
                                         const ShadowLimits& limits) {
    if (!document.is_object())
        throw Error(Status::InvalidArgument, "shadow document: must be a JSON object, not " +
                                                 std::string(document.type_name()));
    ShadowDocument doc(std::move(name));
    doc.version_ = version_member(document);
    doc.timestamp_ = timestamp_member(document);

    const auto state = document.find("state");
    if (state == document.end()) return doc;  // a shadow that does not exist (yet, or any more)
    if (!state->is_object())
        throw Error(Status::InvalidArgument, "shadow document: 'state' must be an object");

    ShadowUpdate sections;
    sections.desired = stored_section(*state, "desired");
    sections.reported = stored_section(*state, "reported");
    if (auto e = validate_update(sections, limits))
        throw Error(Status::InvalidArgument, "shadow document: " + e->message);
    // Merging into empty objects drops stray nulls and emptied objects, like an update would.
    merge_state(doc.desired_, *sections.desired);
    merge_state(doc.reported_, *sections.reported);

    const auto metadata = document.find("metadata");
    const json* meta = metadata != document.end() ? &*metadata : nullptr;
    doc.desired_metadata_ = rebuilt_metadata(doc.desired_, find_member(meta, "desired"), nullptr,
                                             doc.timestamp_, doc.timestamp_);
    doc.reported_metadata_ = rebuilt_metadata(doc.reported_, find_member(meta, "reported"),
                                              nullptr, doc.timestamp_, doc.timestamp_);
    doc.exists_ = true;
    return doc;
}

nlohmann::json ShadowDocument::to_json() const {
    if (!exists_) return json{{"version", version_}, {"timestamp", timestamp_}};
    json state = {{"desired", desired_}, {"reported", reported_}};
    if (json d = delta(); !d.empty()) state["delta"] = std::move(d);
    return json{{"state", std::move(state)},
                {"metadata", metadata()},
                {"version", version_},
                {"timestamp", timestamp_}};
}

nlohmann::json ShadowDocument::metadata() const {
    return json{{"desired", desired_metadata_}, {"reported", reported_metadata_}};
}

nlohmann::json ShadowDocument::delta() const { return compute_delta(desired_, reported_); }

nlohmann::json ShadowDocument::state_entry() const {
    return json{{"state", {{"desired", desired_}, {"reported", reported_}}},
                {"metadata", metadata()},
                {"version", version_}};
}

ShadowUpdateOutcome ShadowDocument::apply_update(const ShadowUpdate& update, std::int64_t now_s,
                                                 const ShadowLimits& limits) {
    const auto& token = update.client_token;
    if (token && !is_valid_client_token(*token))
        return rejection<ShadowUpdateOutcome>(invalid_client_token(), std::nullopt, now_s);
    if (auto e = validate_update(update, limits))
        return rejection<ShadowUpdateOutcome>(std::move(*e), token, now_s);
    if (update.version && *update.version != version_)
        return rejection<ShadowUpdateOutcome>(version_conflict(), token, now_s);
    if (version_ == std::numeric_limits<std::uint64_t>::max())
        return rejection<ShadowUpdateOutcome>(
            ShadowError{500, "Internal service failure: the version counter is exhausted"}, token,
            now_s);

    // Merge into copies, so that a rejection below leaves the document as it was.
    json desired = desired_;
    json reported = reported_;
    if (update.desired) merge_state(desired, *update.desired);
    if (update.reported) merge_state(reported, *update.reported);
    // An update that does not grow the state is never refused for its size, so that deleting
    // always makes room, even in a document stored under larger limits.
    const std::size_t state_bytes = state_size(desired, reported);
    if (state_bytes > limits.max_document_bytes && state_bytes > state_size(desired_, reported_))
        return rejection<ShadowUpdateOutcome>(
            ShadowError{413, "Shadow document too large: the state would take " +
                                 std::to_string(state_bytes) + " bytes; the maximum is " +
                                 std::to_string(limits.max_document_bytes)},
            token, now_s);

    std::optional<json> previous;
    if (exists_) previous = state_entry();

    const json* desired_patch =
        update.desired && update.desired->is_object() ? &*update.desired : nullptr;
    const json* reported_patch =
        update.reported && update.reported->is_object() ? &*update.reported : nullptr;
    // A section the update did not name keeps its metadata as it is (it is already the state's
    // shape); a section it named is rebuilt around what it wrote.
    if (update.desired)
        desired_metadata_ = rebuilt_metadata(desired, &desired_metadata_, desired_patch, now_s,
                                             timestamp_);
    if (update.reported)
        reported_metadata_ = rebuilt_metadata(reported, &reported_metadata_, reported_patch,
                                              now_s, timestamp_);
    desired_ = std::move(desired);
    reported_ = std::move(reported);
    exists_ = true;
    ++version_;
    timestamp_ = now_s;

    ShadowUpdateOutcome outcome;
    json echoed_state = json::object();
    json echoed_metadata = json::object();
    if (update.desired) {
        echoed_state["desired"] = *update.desired;
        echoed_metadata["desired"] = written_metadata(*update.desired, now_s);
    }
    if (update.reported) {
        echoed_state["reported"] = *update.reported;
        echoed_metadata["reported"] = written_metadata(*update.reported, now_s);
    }
    outcome.payload = json{{"state", std::move(echoed_state)},
                           {"metadata", std::move(echoed_metadata)},
                           {"version", version_},
                           {"timestamp", now_s}};
    add_token(outcome.payload, token);

    if (json d = delta(); !d.empty()) {
        json metadata = delta_metadata(d, &desired_metadata_, now_s);
        outcome.delta = json{{"state", std::move(d)},
                             {"metadata", std::move(metadata)},
                             {"version", version_},
                             {"timestamp", now_s}};
        add_token(*outcome.delta, token);
    }

    json documents = {{"current", state_entry()}, {"timestamp", now_s}};
    if (previous) documents["previous"] = std::move(*previous);
    add_token(documents, token);
    outcome.documents = std::move(documents);
    return outcome;
}

ShadowResponse ShadowDocument::get_response(const ShadowGet& request, std::int64_t now_s) const {
    if (request.client_token && !is_valid_client_token(*request.client_token))
        return rejection<ShadowResponse>(invalid_client_token(), std::nullopt, now_s);
    if (!exists_)
        return rejection<ShadowResponse>(
            ShadowError{404, "No shadow exists with name: '" + name_ + "'"},
            request.client_token, now_s);
    json state = {{"desired", desired_}, {"reported", reported_}};
    if (json d = delta(); !d.empty()) state["delta"] = std::move(d);
    ShadowResponse response;
    response.payload = json{{"state", std::move(state)},
                            {"metadata", metadata()},
                            {"version", version_},
                            {"timestamp", now_s}};
    add_token(response.payload, request.client_token);
    return response;
}

ShadowResponse ShadowDocument::remove(const ShadowDelete& request, std::int64_t now_s) {
    if (request.client_token && !is_valid_client_token(*request.client_token))
        return rejection<ShadowResponse>(invalid_client_token(), std::nullopt, now_s);
    if (!exists_)
        return rejection<ShadowResponse>(
            ShadowError{404, "No shadow exists with name: '" + name_ + "'"},
            request.client_token, now_s);
    if (request.version && *request.version != version_)
        return rejection<ShadowResponse>(version_conflict(), request.client_token, now_s);
    desired_ = json::object();
    reported_ = json::object();
    desired_metadata_ = json::object();
    reported_metadata_ = json::object();
    exists_ = false;
    timestamp_ = now_s;
    ShadowResponse response;
    response.payload = json{{"version", version_}, {"timestamp", now_s}};
    add_token(response.payload, request.client_token);
    return response;
}

}  // namespace twinlink
