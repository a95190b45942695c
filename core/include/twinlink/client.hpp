// twinlink/client.hpp — the MQTT client: connection lifecycle, publish, subscribe.
//
// Threads. A Client owns two threads: the connection thread, which runs its connection loop
// (connects, reconnects with backoff, resubscribes, drains the offline queue, expires
// acknowledgements), and the dispatcher thread, on which every user callback runs (message
// handlers, publish callbacks, connection events). With ClientOptions::runtime it owns none: the
// connection loop runs on the runtime's network threads and the dispatcher is a serial queue on
// its dispatch threads ("the connection thread" and "the dispatcher thread" below mean those). No user
// callback is ever called while twinlink holds an internal lock, nor on one of Paho's threads (the
// log sink included: see LogHandler), so a callback may call any member of the Client, including
// disconnect(); a callback that blocks delays only later callbacks, never the network. Every
// member function may be called from any thread.
//
// Errors. Fallible members throw twinlink::Error; its status() is one of twinlink::Status.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "twinlink/log.hpp"
#include "twinlink/status.hpp"

namespace twinlink {

class Runtime;

enum class MqttVersion : int { V311 = 4, V5 = 5 };

/// What publish() does when the offline queue is full.
enum class OverflowPolicy : int {
    RejectNew = 0,   ///< publish() throws Error(QueueFull); queued messages are kept
    DropOldest = 1,  ///< the oldest queued message is dropped; its callback gets Status::Dropped
};

enum class ConnectionState : int {
    Disconnected = 0,  ///< not started, or stopped by disconnect()
    Connecting = 1,    ///< an attempt is under way
    Connected = 2,
    Reconnecting = 3,  ///< waiting `retry_in` before the next attempt
};

const char* connection_state_name(ConnectionState state) noexcept;

/// Throws Error(InvalidArgument) naming the problem unless `uri` is a broker URI the client
/// accepts (see ClientOptions::brokers).
void validate_broker_uri(std::string_view uri);

struct TlsOptions {
    std::string ca_file;       ///< PEM file of trusted CAs; empty: the system's default store
    std::string ca_dir;        ///< directory of hashed CA certificates (c_rehash); optional
    std::string cert_file;     ///< client certificate (PEM) for mutual TLS; optional
    std::string key_file;      ///< its private key (PEM); required with cert_file
    std::string key_password;  ///< password of an encrypted key; optional
    bool verify_hostname = true;  ///< check that the server certificate names the host
    bool insecure = false;     ///< accept any server certificate; logs a warning at every connect
};

/// Retained status message: `online` after every (re)connect, `offline` as last will and on
/// disconnect(). Off while `topic` is empty.
struct PresenceOptions {
    std::string topic;
    std::string online = "online";
    std::string offline = "offline";
};

struct ConnectionEvent {
    ConnectionState state;
    Status reason = Status::Ok;     ///< why the connection ended or an attempt failed
    std::string message;            ///< human-readable reason; empty when connected normally
    std::string broker;             ///< the broker URI this event concerns
    std::chrono::milliseconds retry_in{0};  ///< with Reconnecting: delay before the next attempt
    unsigned attempt = 0;           ///< consecutive failed attempts so far
};

struct ClientOptions {
    /// Broker URIs, tried in turn: mqtt://host[:1883], mqtts://host[:8883], ws://host[:80]/path,
    /// wss://host[:443]/path (tcp:// and ssl:// are accepted as synonyms). At least one.
    std::vector<std::string> brokers;
    std::string client_id;  ///< empty: a random "tl-" id (then clean_session must stay true)
    std::string username;
    std::string password;
    TlsOptions tls;
    MqttVersion mqtt_version = MqttVersion::V311;
    bool clean_session = true;  ///< MQTT 5: clean start with session expiry 0, or expiry 1 day
    std::chrono::seconds keepalive{30};
    std::chrono::milliseconds connect_timeout{10000};   ///< one attempt
    std::chrono::milliseconds reconnect_min{500};       ///< backoff floor
    std::chrono::milliseconds reconnect_max{30000};     ///< backoff ceiling
    std::chrono::milliseconds ack_timeout{30000};       ///< QoS 1/2 acknowledgement deadline
    std::chrono::milliseconds operation_timeout{10000}; ///< subscribe wait
    PresenceOptions presence;
    std::size_t queue_max_messages = 10000;            ///< offline queue bound, messages
    std::size_t queue_max_bytes = 16u * 1024u * 1024u; ///< offline queue bound, payload bytes
    OverflowPolicy overflow = OverflowPolicy::RejectNew;
    std::size_t max_inflight = 256;  ///< messages handed to the network and not yet acknowledged
    /// Turn Nagle's algorithm off on the connection (TCP_NODELAY), which Paho leaves on: without
    /// it a small request or response can wait ~40 ms per hop for a delayed acknowledgement.
    bool tcp_nodelay = true;
    LogHandler log;                  ///< empty: silent (or stderr when TWINLINK_LOG is set)
    LogLevel log_level = LogLevel::Info;
    /// Connection state changes; runs on the dispatcher thread.
    std::function<void(const ConnectionEvent&)> on_connection;
    /// Threads shared with other clients (twinlink/runtime.hpp): the callbacks run on the
    /// runtime's dispatch threads, in order per client, and the operation deadlines wait on its
    /// timer thread. The client holds the runtime until it is destroyed. Empty: the client has
    /// its own dispatcher and timer threads.
    std::shared_ptr<Runtime> runtime;
};

/// A received message, borrowed for the duration of the handler call.
struct MessageView {
    std::string_view topic;
    std::string_view payload;
    int qos = 0;
    bool retained = false;
};

struct ClientStats {
    std::uint64_t messages_out = 0;   ///< publishes completed (acknowledged for QoS 1/2)
    std::uint64_t bytes_out = 0;      ///< payload bytes of those
    std::uint64_t messages_in = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t connects = 0;       ///< successful connections, the first included
    std::uint64_t reconnects = 0;     ///< successful connections after a lost one
    std::uint64_t connect_failures = 0;
    std::uint64_t queued_messages = 0;  ///< now waiting in the offline queue
    std::uint64_t queued_bytes = 0;
    std::uint64_t inflight = 0;         ///< now handed to the network, not yet acknowledged
    std::uint64_t dropped = 0;          ///< dropped by the DropOldest policy
    std::uint64_t rejected = 0;         ///< refused by the RejectNew policy
    std::uint64_t ack_timeouts = 0;     ///< publishes reported with Status::Timeout
    std::uint64_t resent = 0;           ///< in-flight messages queued again after a lost connection
    std::uint64_t callback_queue = 0;   ///< callbacks waiting for the dispatcher thread
};

using MessageHandler = std::function<void(const MessageView& message)>;
using ConnectionListener = std::function<void(const ConnectionEvent& event)>;

/// Where a message handler runs.
enum class Delivery : int {
    /// On the dispatcher thread, like every other user callback (the default).
    Dispatcher = 0,
    /// Directly on the network thread, before the dispatcher sees the message. Only for short,
    /// non-blocking handlers of modules built on the client (the shadow's response matching), so
    /// that a dispatcher callback can wait for a response without deadlocking. Paho holds its
    /// global lock while it delivers, so such a handler may only update its own state, wake
    /// waiters, dispatch() and log() (its lines are queued for the dispatcher): publishing from it
    /// can deadlock against a thread handing messages to Paho, and subscribe, unsubscribe,
    /// connect and disconnect wait for Paho's threads.
    Direct = 1,
};
/// Called once per publish: Status::Ok when the broker acknowledged it (QoS 1/2) or it was
/// written to the network (QoS 0), else why it failed. It runs on the dispatcher thread, unless
/// publish() was given Delivery::Direct for it: then it runs on whichever thread of the client
/// completes the message (Paho's, the connection thread, or the caller of publish() or of the
/// destructor), under the rules of Delivery::Direct.
using PublishCallback = std::function<void(std::uint64_t message_id, Status status)>;

/// How an asynchronous operation (connect_async(), disconnect_async(), publish_async(),
/// subscribe_async(), unsubscribe_async(), Shadow::report_start(), get_start(), update_start(),
/// remove_start(), Datapoints::flush_start()) ended.
struct OperationResult {
    Status status = Status::Ok;  ///< Ok, or Timeout, Canceled, or the operation's own error
    std::string message;         ///< empty on success
    std::string document;        ///< the JSON answer of a shadow operation; empty otherwise
};
/// Called exactly once per asynchronous operation, on the client's dispatcher thread: when the
/// event that finishes it arrives, when its timeout passes (Status::Timeout), or when it is
/// canceled or its client, shadow or pipeline is destroyed (Status::Canceled). Never in the call
/// that started it. `id` is the operation id the start call returned.
using OperationCallback = std::function<void(std::uint64_t id, const OperationResult& result)>;

class Client {
public:
    /// Validates the options (throws Error(InvalidArgument) naming the bad one). Does not connect.
    explicit Client(ClientOptions options);
    /// Stops the connection thread (no graceful drain), reports Status::Canceled to the callback
    /// of every message still queued or in flight, and waits for callbacks in progress to return
    /// (unless called from a callback). Never throws, never blocks for longer than ~2 s, and for
    /// well under 1 s when not connected (the broker down or unreachable).
    ~Client();

    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Starts the connection thread and returns at once; it connects and keeps reconnecting
    /// until disconnect(). Idempotent.
    void start();

    /// start(), then waits until connected. Throws Error(Timeout) when `timeout` passes first,
    /// or the error of an attempt that failed for a reason that retrying will not fix
    /// (TlsError, NotAuthorized). In both cases the client keeps trying in the background until
    /// disconnect().
    void connect(std::chrono::milliseconds timeout);

    /// start(), and completes `done` when connected (Status::Ok), when an attempt fails for a
    /// reason that retrying will not fix, when `timeout` passes, or with Canceled on
    /// disconnect(), cancel_operation() or destruction. Returns the operation id at once and
    /// holds no thread while waiting. As with connect(), the client keeps trying after a failure.
    std::uint64_t connect_async(std::chrono::milliseconds timeout, OperationCallback done);

    /// Ends the asynchronous operation `id` (of this client or of a module built on it) with
    /// Status::Canceled, which its callback receives promptly on the dispatcher thread. What was
    /// already handed to the network is not recalled (a queued shadow report is still sent).
    /// Returns false when the operation had already ended.
    bool cancel_operation(std::uint64_t id);

    /// For modules built on the client: registers an asynchronous operation that ends with
    /// finish_operation(), its timeout (Status::Timeout with `timeout_message`), a cancel, or
    /// the client's destruction. `abandon(id)` runs (on the canceling or timer thread, with no
    /// lock of the client held) when it ends other than by finish_operation(). Error(Canceled)
    /// once the client is shutting down.
    std::uint64_t begin_operation(std::chrono::milliseconds timeout, std::string timeout_message,
                                  OperationCallback done, std::function<void(std::uint64_t)> abandon = {});
    /// Completes operation `id` with `result` (its callback is posted to the dispatcher); false
    /// when it had already ended. Any thread, Paho's included.
    bool finish_operation(std::uint64_t id, OperationResult result);

    /// Waits up to `timeout` for queued and in-flight messages to be acknowledged, publishes the
    /// offline presence, disconnects and stops the connection thread. Messages still queued stay
    /// queued for the next connect. Idempotent; returns within timeout + ~1 s, and within ~100 ms
    /// when not connected (a connect attempt or a backoff is interrupted).
    void disconnect(std::chrono::milliseconds timeout);

    /// As disconnect(), without a waiting thread: the connection thread drains (up to `drain`),
    /// closes and ends, then `done` completes with Status::Ok (at once, through the dispatcher,
    /// when the client is not started). Canceled when start()/connect() is called while it still
    /// drains (the client stays connected), on cancel_operation() (the disconnect goes on) or
    /// destruction. Its deadline is `drain` + 5 s: the close itself takes ~1 s at most.
    std::uint64_t disconnect_async(std::chrono::milliseconds drain, OperationCallback done);

    /// Queues a message and returns its id (> 0) at once. It is sent when connected, in publish
    /// order, at most max_inflight at a time. Throws Error(InvalidArgument) for a bad topic,
    /// qos or payload size, Error(QueueFull) when the RejectNew policy refuses it.
    /// `completion` says where `on_complete` runs: Delivery::Direct is for modules built on the
    /// client whose acknowledgements must not wait for the dispatcher (a datapoint flush() made
    /// from a callback waits for them there).
    std::uint64_t publish(std::string_view topic, std::string payload, int qos, bool retain,
                          PublishCallback on_complete = {}, Delivery completion = Delivery::Dispatcher);

    /// publish() and wait for its completion. Throws Error(Timeout) when `timeout` passes (the
    /// message stays queued and may still be sent), or the failure of the publish. Safe to
    /// call from a callback.
    void publish_wait(std::string_view topic, std::string payload, int qos, bool retain,
                      std::chrono::milliseconds timeout);

    /// publish() that completes `done` with the publish's outcome (Ok once acknowledged for QoS
    /// 1/2, or written for QoS 0; Dropped; Canceled on destruction), Timeout when `timeout` passes
    /// first (the message stays queued), or Canceled by cancel_operation() (it stays queued too).
    /// Throws what publish() throws, before anything is registered.
    std::uint64_t publish_async(std::string_view topic, std::string payload, int qos, bool retain,
                                std::chrono::milliseconds timeout, OperationCallback done);

    /// Registers `handler` for messages matching `filter` and returns its subscription id.
    /// When connected, sends SUBSCRIBE and waits for the SUBACK (up to operation_timeout; when
    /// the connection ends first, it returns and the SUBSCRIBE is made at the next connect); the
    /// filter is subscribed again after every reconnect. Throws Error(InvalidArgument) for a
    /// bad filter or qos, Error(SubscribeRejected) when the broker refuses, Error(Timeout).
    std::uint64_t subscribe(std::string_view filter, int qos, MessageHandler handler,
                            Delivery delivery = Delivery::Dispatcher);

    /// The ids of subscribe_async().
    struct AsyncSubscription {
        std::uint64_t subscription = 0;  ///< for unsubscribe() / unsubscribe_async()
        std::uint64_t operation = 0;     ///< the operation that completes with the SUBACK
    };
    /// As subscribe(), without a waiting thread: the handler is registered at once, and `done`
    /// completes with Ok on the SUBACK (at once when offline, or when the connection ends first:
    /// the SUBSCRIBE is made at the next connect), SubscribeRejected when the broker refuses,
    /// Timeout after `timeout`, or Canceled (cancel_operation(), destruction). After
    /// SubscribeRejected, Timeout and Canceled the subscription is removed, as by
    /// unsubscribe_async(). Throws Error(InvalidArgument) for a bad filter, qos or an empty
    /// handler, before anything is registered.
    AsyncSubscription subscribe_async(std::string_view filter, int qos, MessageHandler handler,
                                      std::chrono::milliseconds timeout, OperationCallback done);

    /// Removes a subscription without waiting: the handler is not called after a call already in
    /// progress, and is destroyed on the dispatcher thread before `done` runs. `done` completes
    /// with Ok once that is so and, when an UNSUBSCRIBE was sent (no other subscription uses the
    /// filter, and connected), the broker acknowledged it (or the connection ended first); Timeout
    /// when that acknowledgement does not come within `timeout`; Canceled (cancel_operation(),
    /// destruction): the subscription is removed in every case. Throws Error(InvalidArgument) for
    /// an unknown id, before anything is registered.
    std::uint64_t unsubscribe_async(std::uint64_t subscription_id, std::chrono::milliseconds timeout,
                                    OperationCallback done);

    /// Removes a subscription; after it returns the handler is not called again (it waits for a
    /// call in progress on another thread) and, unless called from a callback of this client,
    /// the handler has been destroyed. UNSUBSCRIBE is sent when no other handler uses the filter,
    /// and not waited for: this never waits for the broker. Throws Error(InvalidArgument) for an
    /// unknown id.
    void unsubscribe(std::uint64_t subscription_id);

    /// Runs `task` on this client's dispatcher thread, after the callbacks already queued. For
    /// modules built on the client (shadow, datapoints) whose callbacks must follow the same
    /// threading rules. Never blocks.
    void dispatch(std::function<void()> task);

    /// Returns once no callback of this client is running on the dispatcher thread (at once when
    /// called from one). Modules use it so that a handler they removed is not running any more.
    void wait_for_callbacks();

    /// Adds a listener of connection state changes (besides ClientOptions::on_connection); it runs
    /// on the dispatcher thread. Returns an id for remove_connection_listener().
    std::uint64_t add_connection_listener(ConnectionListener listener);
    /// After it returns, the listener is not called again (a call in progress on another thread
    /// is waited for). Unknown ids are ignored.
    void remove_connection_listener(std::uint64_t id);

    /// Writes a line to this client's log sink (for modules built on the client). Any thread; on
    /// one of Paho's threads (a Delivery::Direct handler) the line is queued and the dispatcher
    /// writes it. Call it with no lock of yours held that the sink might need.
    void log(LogLevel level, const std::string& message) const;

    ConnectionState state() const;
    bool connected() const { return state() == ConnectionState::Connected; }
    ClientStats stats() const;
    const std::string& client_id() const;
    /// The runtime of ClientOptions::runtime, or null: for modules built on the client (a shadow,
    /// a datapoint pipeline) that share its threads. Any thread.
    const std::shared_ptr<Runtime>& runtime() const;

    class Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace twinlink
