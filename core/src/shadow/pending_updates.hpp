// PendingUpdates: the reports and desires a Shadow has not sent yet, kept as the fewest update
// requests whose effect, applied in turn, is exactly that of every patch applied in turn.
//
// Why a queue and not one merged patch. The wire merge (docs/protocol.md: objects merge, null
// deletes, anything else replaces) cannot say "replace this key by this object": `{"a": null}`
// followed by `{"a": {"c": 1}}` leaves `{"a": {"c": 1}}` whatever `a` held, but the one patch
// `{"a": {"c": 1}}` keeps the other keys of `a`, and no single patch deletes keys the sender
// does not know of. So a patch is folded into the last queued update only when the fold is
// exact for every document the cloud may hold (compose_section() below decides); otherwise it
// starts a new update. The Shadow sends the queued updates one at a time, in order, so the cloud
// applies them in the order they were made. Typical use (reports that set values) still folds
// into one update; only a key deleted or replaced by a non-object and then set to an object again
// costs a second one.
//
// Not synchronised: the Shadow guards it with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "twinlink/shadow_document.hpp"
#include "twinlink/status.hpp"

namespace twinlink::detail {

namespace patch_rules {

using nlohmann::json;

// What a patch value `value` under a key leaves at that key when the key holds nothing (or
// anything that is not an object, which the merge treats alike): nothing, or a value. Computed
// with the very merge the cloud uses.
inline std::optional<json> applied_to_nothing(const json& value) {
    json target = json::object();
    merge_state(target, json{{"k", value}});
    const auto it = target.find("k");
    if (it == target.end()) return std::nullopt;
    return *it;
}

// The one patch value with the effect of `first` then `second` at one key, or nothing when no
// single value has it. A present key's effect (merge_state) is: null deletes; a scalar or array
// replaces; {} keeps an object and turns anything else into {}; a non-empty object merges into
// the object there (anything else counting as {}) and removes the key when that leaves it empty.
inline std::optional<json> compose_value(const json& first, const json& second) {
    if (!second.is_object()) return second;  // null, scalars and arrays do not look at what is there
    if (!first.is_object()) {
        // `first` leaves nothing or a non-object, which `second` treats as nothing: the result is
        // a constant. A patch value can only say "nothing" as a constant (null); a constant
        // object cannot be said, since an object value merges.
        if (!applied_to_nothing(second)) return json(nullptr);
        return std::nullopt;
    }
    if (first.empty()) return second;  // {} only turns a non-object into {}, as `second` does
    if (second.empty()) {
        // {} after `first` keeps what `first` leaves, and makes {} of the nothing `first` leaves
        // when its deletions empty the object. Exact when `first` never leaves nothing, which is
        // when it leaves something even at a key that held nothing (the merge only adds keys).
        if (applied_to_nothing(first)) return first;
        return std::nullopt;
    }
    json out = first;
    for (auto it = second.begin(); it != second.end(); ++it) {
        const auto prior = out.find(it.key());
        if (prior == out.end()) {
            out[it.key()] = it.value();
            continue;
        }
        std::optional<json> composed = compose_value(*prior, it.value());
        if (!composed) return std::nullopt;
        *prior = std::move(*composed);
    }
    return out;
}

}  // namespace patch_rules

/// The one section patch (the `desired` or `reported` of an update: an object, or null for "delete
/// everything") with the effect of `first` then `second` under merge_state, for every document,
/// or nothing when no single patch has that effect (see the opening comment).
inline std::optional<nlohmann::json> compose_section(const nlohmann::json& first, const nlohmann::json& second) {
    using nlohmann::json;
    if (second.is_null()) return second;
    if (first.is_null()) {
        // The section is emptied, then `second` is merged into {}: a constant, which only null
        // can say, and only when `second` leaves {}.
        json emptied = json::object();
        merge_state(emptied, second);
        if (emptied.empty()) return json(nullptr);
        return std::nullopt;
    }
    // A section is never removed, so the top level merges key by key with no emptiness rule.
    json out = first;
    for (auto it = second.begin(); it != second.end(); ++it) {
        const auto prior = out.find(it.key());
        if (prior == out.end()) {
            out[it.key()] = it.value();
            continue;
        }
        std::optional<json> composed = patch_rules::compose_value(*prior, it.value());
        if (!composed) return std::nullopt;
        *prior = std::move(*composed);
    }
    return out;
}

class PendingUpdates {
public:
    /// One update request to send: either section may be absent (not touched).
    struct Update {
        std::optional<nlohmann::json> desired, reported;
        /// Identifies the report()/desire() calls this update carries: each call gets the
        /// generation of the update it was folded into. Increases along the queue.
        std::uint64_t generation = 0;
    };

    /// Queues the patches of one report or desire (either may be absent) and returns the
    /// generation of the update that carries them.
    std::uint64_t add(std::optional<nlohmann::json> desired, std::optional<nlohmann::json> reported) {
        if (!queue_.empty()) {
            if (auto folded = fold(queue_.back(), desired, reported)) {
                queue_.back().desired = std::move(folded->first);
                queue_.back().reported = std::move(folded->second);
                return queue_.back().generation;
            }
        }
        queue_.push_back(Update{std::move(desired), std::move(reported), next_generation_++});
        return queue_.back().generation;
    }

    /// Puts back in front an update that was taken (in flight, not answered), to be sent again.
    /// It is folded into the next one when that is exact; the fold carries the later generation,
    /// which also answers the callers of the earlier one.
    void put_back(Update update) {
        if (!queue_.empty()) {
            if (auto folded = fold(update, queue_.front().desired, queue_.front().reported)) {
                queue_.front().desired = std::move(folded->first);
                queue_.front().reported = std::move(folded->second);
                return;
            }
        }
        queue_.push_front(std::move(update));
    }

    /// The first update, removed from the queue; nothing when the queue is empty.
    std::optional<Update> take() {
        if (queue_.empty()) return std::nullopt;
        Update front = std::move(queue_.front());
        queue_.pop_front();
        return front;
    }

    bool empty() const noexcept { return queue_.empty(); }
    const std::deque<Update>& updates() const noexcept { return queue_; }

    /// `[{"desired":...,"reported":...}, ...]` (absent sections left out), for the persisted file.
    nlohmann::json to_json() const {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& u : queue_) out.push_back(update_json(u));
        return out;
    }

    static nlohmann::json update_json(const Update& u) {
        nlohmann::json out = nlohmann::json::object();
        if (u.desired) out["desired"] = *u.desired;
        if (u.reported) out["reported"] = *u.reported;
        return out;
    }

    /// Queues what to_json() wrote, after what is queued. Also reads the single object that
    /// earlier versions wrote. Throws Error(InvalidArgument) when malformed.
    void load(const nlohmann::json& saved) {
        const auto add_one = [&](const nlohmann::json& u) {
            if (!u.is_object()) throw Error(Status::InvalidArgument, "a pending update is not a JSON object");
            std::optional<nlohmann::json> desired, reported;
            if (u.contains("desired")) desired = u.at("desired");
            if (u.contains("reported")) reported = u.at("reported");
            if (desired || reported) add(std::move(desired), std::move(reported));
        };
        if (saved.is_array()) {
            for (const auto& u : saved) add_one(u);
        } else {
            add_one(saved);
        }
    }

    void clear() noexcept { queue_.clear(); }

private:
    using Sections = std::pair<std::optional<nlohmann::json>, std::optional<nlohmann::json>>;

    // `into` followed by the sections, as one update, when that is exact for both sections.
    static std::optional<Sections> fold(const Update& into, const std::optional<nlohmann::json>& desired,
                                        const std::optional<nlohmann::json>& reported) {
        std::optional<nlohmann::json> d = into.desired, r = into.reported;
        if (!fold_section(d, desired) || !fold_section(r, reported)) return std::nullopt;
        return Sections{std::move(d), std::move(r)};
    }

    static bool fold_section(std::optional<nlohmann::json>& into, const std::optional<nlohmann::json>& patch) {
        if (!patch) return true;
        if (!into) {
            into = *patch;
            return true;
        }
        std::optional<nlohmann::json> composed = compose_section(*into, *patch);
        if (!composed) return false;
        into = std::move(composed);
        return true;
    }

    std::deque<Update> queue_;
    std::uint64_t next_generation_ = 1;
};

}  // namespace twinlink::detail
