// Fuzz target: any bytes as a shadow document or message as the device receives it (update/
// accepted, update/delta, update/documents, get/accepted) and as a stored document is read back
// (the cloud's store and the device's shadow file go through ShadowDocument::from_json). Checks:
//  - from_json() loads the document or throws Error(InvalidArgument); a loaded one survives
//    to_json()/from_json() and its delta is consistent;
//  - the device's merge of an accepted state into its local copy: merge_state() takes any object
//    or null section (and throws Error(InvalidArgument) for anything else), keeps the copy an
//    object without nulls, and is idempotent; compute_delta() of the result only names desired
//    keys and is empty once reported has caught up;
//  - a delta handler's JSON pointer lookups on the received delta do not throw.
// Like the device, it skips input nested deeper than kMaxShadowMessageNesting (a payload of a few
// hundred thousand levels, beyond libFuzzer's input sizes, overflowed the stack in copies).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shadow/json_nesting.hpp"
#include "twinlink/shadow_document.hpp"
#include "twinlink/status.hpp"

#include "fuzz_check.hpp"

namespace {

using nlohmann::json;

// Nulls delete object members, so none is left as a member; arrays are values, replaced whole,
// and may hold nulls.
bool has_no_null_member(const json& value) {
    if (!value.is_object()) return true;
    for (const json& child : value)
        if (child.is_null() || !has_no_null_member(child)) return false;
    return true;
}

void check_delta(const json& desired, const json& reported) {
    const json delta = twinlink::compute_delta(desired, reported);
    FUZZ_CHECK(delta.is_object());
    if (!desired.is_object()) {
        FUZZ_CHECK(delta.empty());
        return;
    }
    for (auto it = delta.begin(); it != delta.end(); ++it) FUZZ_CHECK(desired.contains(it.key()));
    FUZZ_CHECK(twinlink::compute_delta(desired, desired).empty());
    // Reporting everything desired leaves no delta (a null in desired would delete, not report).
    if (!has_no_null_member(desired)) return;
    json caught_up = reported.is_object() ? reported : json::object();
    twinlink::merge_state(caught_up, desired);
    FUZZ_CHECK(twinlink::compute_delta(desired, caught_up).empty());
}

// merge_state(target, patch) as the device applies an accepted section; returns whether it took it.
bool merge(json& target, const json& patch) {
    const json before = target;
    try {
        twinlink::merge_state(target, patch);
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
        FUZZ_CHECK(!patch.is_object() && !patch.is_null());
        FUZZ_CHECK(target == before);  // a rejected patch changes nothing
        return false;
    }
    FUZZ_CHECK(patch.is_object() || patch.is_null());
    FUZZ_CHECK(target.is_object());
    if (patch.is_null()) FUZZ_CHECK(target.empty());
    // Nulls delete: none survives a merge into a copy that had none.
    if (has_no_null_member(before)) FUZZ_CHECK(has_no_null_member(target));
    json again = target;
    twinlink::merge_state(again, patch);
    FUZZ_CHECK(again == target);
    return true;
}

const json& local_desired() {
    static const json value = json::parse(R"({"color":"red","lights":{"on":true,"level":3},"list":[1,2]})");
    return value;
}
const json& local_reported() {
    static const json value = json::parse(R"({"color":"blue","lights":{"on":true,"level":2},"temp":21.5})");
    return value;
}

void as_stored_document(const json& doc) {
    twinlink::ShadowDocument loaded;
    try {
        loaded = twinlink::ShadowDocument::from_json(doc, "fuzz");
    } catch (const twinlink::Error& e) {
        FUZZ_CHECK(e.status() == twinlink::Status::InvalidArgument);
        return;
    }
    FUZZ_CHECK(loaded.desired().is_object() && loaded.reported().is_object());
    FUZZ_CHECK(loaded.exists() || (loaded.desired().empty() && loaded.reported().empty()));
    const json stored = loaded.to_json();
    (void)stored.dump();
    const auto again = twinlink::ShadowDocument::from_json(stored, "fuzz");
    FUZZ_CHECK(again.to_json() == stored);
    FUZZ_CHECK(loaded.delta() == twinlink::compute_delta(loaded.desired(), loaded.reported()));
    check_delta(loaded.desired(), loaded.reported());
}

void as_device_message(const json& msg) {
    const auto state = msg.find("state");
    if (state == msg.end() || !state->is_object()) return;
    // update/accepted and get/accepted: sections merged into (or replacing) the local copy.
    json desired = local_desired(), reported = local_reported();
    for (const char* name : {"desired", "reported"}) {
        const auto section = state->find(name);
        if (section == state->end()) continue;
        merge(name[0] == 'd' ? desired : reported, *section);
        if (section->is_object()) check_delta(*section, reported);
    }
    check_delta(desired, reported);
    // update/delta: handlers look values up by JSON pointer.
    for (const char* path : {"/lights/level", "/color", "/list/0", "/a~1b/~0c", "/"}) {
        const json::json_pointer pointer(path);
        if (state->contains(pointer)) (void)state->at(pointer).dump();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    // The device drops messages and files nested deeper than this before parsing them.
    if (twinlink::detail::json_nesting_exceeds(payload, twinlink::detail::kMaxShadowMessageNesting)) return 0;
    const json msg = json::parse(payload, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) return 0;  // the device ignores those
    as_stored_document(msg);
    as_device_message(msg);
    // update/documents: the current document inside.
    const auto current = msg.find("current");
    if (current != msg.end() && current->is_object()) {
        as_stored_document(*current);
        as_device_message(*current);
    }
    return 0;
}
