// twinlink/shadow.hpp — keeping a device shadow in sync over a Client.
//
// A Shadow is one shadow (classic or named) of one device, seen through a Client. A device uses
// it to report its state and react to desired changes; a backend uses the very same class, bound to
// the device id it manages, to read the shadow and set desired state (the requests go through the
// shadow service, so both sides see the same versions and deltas).
//
// Sync. On every (re)connect the Shadow's response topics are subscribed again (the Client does
// that before it reports Connected), then it gets the document, updates its local copy, and raises
// the delta it missed while offline. Messages older than the local copy (a lower version) are
// ignored. report() and desire() made while an update is in flight, or offline, are queued and sent
// after it (or after reconnect), folded into as few updates as give the effect of applying them in
// the order they were made (docs/protocol.md, "Reports queued on a device"); an update that gets no
// answer within the request timeout is sent again.
//
// Threads. Delta and change handlers run on the client's dispatcher thread; they may call any
// member, including the blocking ones (report() from a delta handler is the usual pattern). The
// shadow's own background work (sending queued updates, resending unanswered ones, writing
// persist_path) runs on a thread of its own, or, when the client has a Runtime
// (ClientOptions::runtime), on the runtime's network threads: shadows on a runtime add no thread,
// and a report() made in a handler while another update is in flight is sent by that work without
// needing a dispatch thread.
//
// Deltas. A delta handler gets, by default, the delta that is pending when it registers, then every
// new one, so registering after connect() misses nothing (InitialDelta).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "twinlink/client.hpp"
#include "twinlink/shadow_request.hpp"
#include "twinlink/shadow_topics.hpp"

namespace twinlink {

struct ShadowOptions {
    std::string device;  ///< device id, required
    std::string name;    ///< shadow name; empty for the classic shadow
    TopicProfile profile = TopicProfile::Twinlink;
    std::string prefix = std::string(kDefaultTopicPrefix);  ///< Twinlink profile only
    /// How long an update may go unanswered before it is sent again; the default timeout of the
    /// blocking calls.
    std::chrono::milliseconds request_timeout{10000};
    /// When set, the last known document (and any report not yet accepted) is kept in this file,
    /// written atomically after each change, and read at construction, so a restarted device
    /// knows its state before it reaches the cloud.
    std::string persist_path;
};

/// The local copy of a shadow.
struct ShadowState {
    nlohmann::json desired = nlohmann::json::object();
    nlohmann::json reported = nlohmann::json::object();
    nlohmann::json delta = nlohmann::json::object();
    std::uint64_t version = 0;   ///< 0: not known yet
    std::int64_t timestamp = 0;  ///< seconds since the epoch, of the document's last change
    bool exists = false;
};

/// Counters of the messages a Shadow received on its response topics.
struct ShadowStats {
    std::uint64_t messages = 0;   ///< received on the response topics (accepted, rejected, delta, documents)
    std::uint64_t malformed = 0;  ///< of those, dropped unread: not a JSON object, nested more than
                                  ///< 64 levels, or a field of a type the message cannot have (logged)
};

/// A shadow request the cloud answered with an error; status() is Conflict (409), NotFound (404)
/// or Rejected (400, 413, 500), code() the HTTP-style code from the response.
class ShadowRequestError : public Error {
public:
    ShadowRequestError(int code, const std::string& message);
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// Receives the delta (or, for a key-path handler, the value at that path) and its version.
using DeltaHandler = std::function<void(const nlohmann::json& delta, std::uint64_t version)>;
/// Receives the local copy after every accepted change of the document.
using ChangeHandler = std::function<void(const ShadowState& state)>;
/// Builds an update from the current state; for update_with().
using UpdateBuilder = std::function<ShadowUpdate(const ShadowState& current)>;

/// Whether on_delta() also gives a new handler the delta that is pending when it registers.
enum class InitialDelta {
    /// The newest delta the shadow knows of (from the cloud, or from the persisted file), when
    /// there is one (for a key-path handler: when it contains the path), is delivered once, on
    /// the dispatcher thread like every delta, never inside on_delta(). A delta of the same
    /// version that arrives meanwhile is not delivered a second time: a handler sees each
    /// version at most once, in increasing order.
    Deliver,
    /// Only deltas that arrive after the registration.
    Skip,
};

class Shadow {
public:
    /// Validates the options (Error(InvalidArgument)), loads the persisted document, subscribes to
    /// the response topics (waiting for the broker when connected) and, when connected, starts a
    /// get. `client` must outlive the Shadow.
    Shadow(Client& client, ShadowOptions options);
    /// Unsubscribes and stops; pending blocking calls on other threads return Error(Canceled).
    ~Shadow();

    Shadow(const Shadow&) = delete;
    Shadow& operator=(const Shadow&) = delete;

    /// Merges `reported` (an object; null values delete keys) into the next update and waits until
    /// the cloud accepts it. Offline, it is queued with other reports and sent after reconnect.
    /// Returns the update/accepted payload. Throws Error(InvalidArgument) for a bad document,
    /// ShadowRequestError when rejected, Error(Timeout) when `timeout` passes first (the report
    /// stays queued and is still sent).
    nlohmann::json report(const nlohmann::json& reported, std::chrono::milliseconds timeout);
    /// As report(), without waiting.
    void report_async(const nlohmann::json& reported);
    /// As report(), for the desired section (devices that set their own desired state, and
    /// backends).
    nlohmann::json desire(const nlohmann::json& desired, std::chrono::milliseconds timeout);
    void desire_async(const nlohmann::json& desired);

    /// As report(), without a waiting thread: returns an operation id at once and completes
    /// `done` (on the dispatcher thread, exactly once) with the update/accepted payload in
    /// OperationResult::document, the rejection (status Conflict/NotFound/Rejected, the response
    /// in document), Timeout (the report stays queued and is still sent), or Canceled
    /// (Client::cancel_operation(), or the Shadow destroyed). Error(InvalidArgument) for a bad
    /// document, thrown before anything is registered.
    std::uint64_t report_start(const nlohmann::json& reported, std::chrono::milliseconds timeout,
                               OperationCallback done);
    /// As report_start(), for the desired section.
    std::uint64_t desire_start(const nlohmann::json& desired, std::chrono::milliseconds timeout,
                               OperationCallback done);
    /// As get(), without a waiting thread: `done` receives the get/accepted document (the local
    /// copy is updated first), NotFound, NotConnected (also when the connection is lost before
    /// the answer), Timeout or Canceled.
    std::uint64_t get_start(std::chrono::milliseconds timeout, OperationCallback done);
    /// As update(), without a waiting thread: `done` receives the update/accepted payload, the
    /// rejection (Conflict for a stale version, NotFound, Rejected; the response in document),
    /// NotConnected (not connected, or the connection lost before the answer), Timeout or
    /// Canceled. Error(InvalidArgument) for a bad update, thrown before anything is registered.
    std::uint64_t update_start(const ShadowUpdate& update, std::chrono::milliseconds timeout,
                               OperationCallback done);
    /// As remove(), without a waiting thread: `done` receives the delete/accepted payload, or
    /// NotFound, NotConnected, Timeout, Canceled as update_start().
    std::uint64_t remove_start(std::chrono::milliseconds timeout, OperationCallback done);
    /// Client::cancel_operation() of the client this shadow is on.
    bool cancel_operation(std::uint64_t id);

    /// Sends `update` as it is (with its version, if any) and waits for the answer. Needs a
    /// connection (Error(NotConnected)). A stale version throws ShadowRequestError with Conflict.
    nlohmann::json update(const ShadowUpdate& update, std::chrono::milliseconds timeout);
    /// Optimistic concurrency: gets the document, asks `build` for an update (its version is set
    /// to the current one), sends it, and on a 409 conflict reads again and retries, at most
    /// `retries` more times.
    nlohmann::json update_with(const UpdateBuilder& build, unsigned retries, std::chrono::milliseconds timeout);

    /// Fetches the document from the cloud, updates the local copy and returns it. Throws
    /// ShadowRequestError (NotFound) when the shadow does not exist, Error(NotConnected).
    ShadowState get(std::chrono::milliseconds timeout);
    /// Deletes the shadow in the cloud.
    void remove(std::chrono::milliseconds timeout);

    /// The local copy: the last document seen, with reports not yet accepted merged over
    /// `reported`. Never blocks on the network.
    ShadowState state() const;
    /// Counters since construction. Never blocks on the network.
    ShadowStats stats() const;

    /// Calls `handler` with every new delta, and first with the pending one unless `initial` is
    /// Skip (see InitialDelta). Returns an id for remove_handler().
    std::uint64_t on_delta(DeltaHandler handler, InitialDelta initial = InitialDelta::Deliver);
    /// Calls `handler` with the value at `json_pointer` (RFC 6901, e.g. "/led" or "/cfg/rate")
    /// whenever a new delta contains that path, and first with the pending delta's, as above.
    /// Error(InvalidArgument) for a malformed pointer.
    std::uint64_t on_delta(std::string_view json_pointer, DeltaHandler handler,
                           InitialDelta initial = InitialDelta::Deliver);
    std::uint64_t on_change(ChangeHandler handler);
    /// After it returns the handler is not called again. Unknown ids are ignored.
    void remove_handler(std::uint64_t id);

    const ShadowTopics& topics() const;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
