// Client::Impl: the state shared by the caller threads, the connection loop, Paho's threads and
// the dispatcher.
//
// Locks, in the only order they are ever nested: life_mu_ (start/stop), then send_mu_ (hand-off to
// Paho, which keeps publish order), then mu_ (all state below it). Paho's callbacks take only mu_
// and never wait for anything else; no lock is held while a user callback or the log sink runs,
// and none but send_mu_ while Paho is called. post_mu_ guards only the hand-off of tasks to the
// dispatcher and is never held while anything else is taken but the dispatcher's own queue lock.
//
// Paho's threads. Paho holds its own lock while it calls us, so no user code (log sink included)
// may run there: every callback given to Paho enters a PahoCallback first, which marks the thread
// (the logger then queues its lines for the dispatcher) and counts the callbacks in progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <mqtt/async_client.h>

#include "common/dispatcher.hpp"
#include "common/logger.hpp"
#include "common/runtime_impl.hpp"
#include "common/timed_loop.hpp"
#include "mqtt/broker_uri.hpp"
#include "mqtt/operation_table.hpp"
#include "mqtt/outbox.hpp"
#include "mqtt/paho_options.hpp"
#include "mqtt/reconnect_backoff.hpp"
#include "mqtt/subscription_table.hpp"
#include "twinlink/client.hpp"

namespace twinlink {

class Client::Impl : public std::enable_shared_from_this<Impl> {
public:
    explicit Impl(ClientOptions options);
    ~Impl();

    // Caller-facing operations (client.cpp).
    void start();
    void connect(std::chrono::milliseconds timeout);
    std::uint64_t connect_async(std::chrono::milliseconds timeout, OperationCallback done);
    detail::OperationTable& operations() { return operations_; }
    void disconnect(std::chrono::milliseconds timeout);
    std::uint64_t disconnect_async(std::chrono::milliseconds drain, OperationCallback done);
    std::uint64_t publish_async(std::string_view topic, std::string payload, int qos, bool retain,
                                std::chrono::milliseconds timeout, OperationCallback done);
    Client::AsyncSubscription subscribe_async(std::string_view filter, int qos, MessageHandler handler,
                                              std::chrono::milliseconds timeout, OperationCallback done);
    std::uint64_t unsubscribe_async(std::uint64_t id, std::chrono::milliseconds timeout, OperationCallback done);
    std::uint64_t publish(std::string_view topic, std::string payload, int qos, bool retain,
                          PublishCallback on_complete, Delivery completion,
                          std::shared_ptr<detail::CompletionLatch> latch);
    std::uint64_t subscribe(std::string_view filter, int qos, MessageHandler handler, Delivery delivery);
    std::uint64_t add_connection_listener(ConnectionListener listener);
    void remove_connection_listener(std::uint64_t id);
    void wait_for_callbacks() { dispatcher_.barrier(); }
    void unsubscribe(std::uint64_t id);
    void dispatch(std::function<void()> task);
    ConnectionState state() const;
    ClientStats stats() const;
    /// Stops everything for good and cancels what is pending; called once, by ~Client.
    void shutdown();

    const std::string& client_id() const { return client_id_; }
    const detail::Logger& logger() const { return log_; }
    const std::shared_ptr<Runtime>& runtime() const { return opts_.runtime; }

private:
    struct Inflight {
        detail::OutgoingMessage message;
        std::chrono::steady_clock::time_point deadline;
        bool failed = false;  // Paho reported a failure while we still looked connected
        std::chrono::steady_clock::time_point failed_at;
    };
    enum class ServeEnd { Lost, Stop };

    class DeliveryListener : public mqtt::iaction_listener {
    public:
        explicit DeliveryListener(Impl& impl) : impl_(impl) {}
        void on_success(const mqtt::token& tok) override;
        void on_failure(const mqtt::token& tok) override;

    private:
        Impl& impl_;
    };

    // Completes the operation whose id is the token's user context: the SUBACK of a
    // subscribe_async() or the UNSUBACK of an unsubscribe_async().
    class OperationListener : public mqtt::iaction_listener {
    public:
        enum class Kind { Subscribe, Unsubscribe };
        OperationListener(Impl& impl, Kind kind) : impl_(impl), kind_(kind) {}
        void on_success(const mqtt::token& tok) override;
        void on_failure(const mqtt::token& tok) override;

    private:
        Impl& impl_;
        Kind kind_;
    };

    // The connection loop (connection_loop.cpp): a state machine that a TimedLoop runs one pass
    // at a time, on a thread of the client's own or on the runtime's network threads. A pass never
    // waits for the network: what it awaits (CONNACK, SUBACKs, the close's acknowledgements) pokes
    // the loop through wake_listener_, and each phase has a deadline.
    enum class Phase {
        Start,        // about to connect (or to stop)
        Connecting,   // CONNECT sent, awaiting its token
        Subscribing,  // connected, the SUBACKs of the resubscription awaited
        Serving,      // Connected: hand-off, acknowledgement deadlines, drains
        Backoff,      // waiting to try again
        Closing,      // a stop while connected: UNSUBACKs, the offline presence, DISCONNECT
        Ending,       // stopped: the DISCONNECT of a connection not served yet, then the end
        Ended         // the loop has nothing left to do until the next start()
    };
    struct LoopState {
        Phase phase = Phase::Start;
        std::optional<detail::ReconnectBackoff> backoff;
        unsigned failed_attempts = 0;
        std::chrono::steady_clock::time_point deadline;  // of the phase (or of the close's step)
        mqtt::token_ptr connect_token;
        std::optional<std::chrono::steady_clock::time_point> abandoned_at;  // the attempt was cut short
        bool abandoned_for_stop = false;
        std::vector<mqtt::token_ptr> awaited;  // SUBACKs, or the close step's tokens
        std::uint64_t generation = 0;          // of the subscriptions being restored
        std::chrono::steady_clock::time_point next_scan;
        int close_step = 0;
        std::chrono::steady_clock::time_point close_deadline;
    };
    // Pokes the loop when a token it awaits completes. Paho's threads.
    class WakeListener : public mqtt::iaction_listener {
    public:
        explicit WakeListener(Impl& impl) : impl_(impl) {}
        void on_success(const mqtt::token&) override { impl_.wake_from_paho(); }
        void on_failure(const mqtt::token&) override { impl_.wake_from_paho(); }

    private:
        Impl& impl_;
    };
    using TimePoint = std::chrono::steady_clock::time_point;
    /// One pass: advances the phases as far as they go now; returns when the next pass is due.
    TimePoint connection_pass();
    // Each step returns the time to wake up at when it must wait, or nothing when it moved on to
    // another phase.
    std::optional<TimePoint> step_start();
    std::optional<TimePoint> step_connecting(TimePoint now);
    std::optional<TimePoint> step_subscribing(TimePoint now);
    std::optional<TimePoint> step_serving();
    std::optional<TimePoint> step_closing(TimePoint now);
    std::optional<TimePoint> step_ending(TimePoint now);
    /// The attempt failed (`failure` empty: it was stopped): counted, reported, then Backoff.
    void connect_failed(const std::optional<detail::ConnectFailure>& failure);
    /// Waits for the next attempt, or ends when a stop was asked for.
    void enter_backoff(Status reason, const std::string& why);
    /// Sends the SUBSCRIBEs of every subscription (the resubscription after a connect).
    void begin_subscribing();
    /// A subscription could not be restored: logged, or the connection is treated as lost.
    void resubscribe_failed(const std::string& what);
    /// Connected: the state, the presence, then the first hand-off.
    void go_connected();
    void publish_presence_online();
    /// Whether every token of awaited is complete (a failed one counts; its error goes to `error`).
    static bool awaited_complete(std::vector<mqtt::token_ptr>& awaited, std::string* error);
    /// SUBSCRIBE for one filter; with MQTT 5 it carries the filter's subscription identifier.
    /// With an `operation`, its SUBACK completes that subscribe_async() operation; with `wake`,
    /// its completion pokes the connection loop.
    mqtt::token_ptr subscribe_request(const std::string& filter, int qos, int identifier,
                                      std::uint64_t operation = 0, mqtt::iaction_listener* wake = nullptr);
    void handle_loss();
    void expire_inflight(std::vector<detail::OutgoingMessage>& timed_out, std::vector<detail::OutgoingMessage>& failed);
    void set_state(ConnectionState state, Status reason, const std::string& message,
                   std::chrono::milliseconds retry_in = std::chrono::milliseconds(0), unsigned attempt = 0);
    /// Starts a connection loop (life_mu_ held, none running).
    void start_loop();
    /// Waits until the connection loop has ended (stop_ set) and releases it. life_mu_ held.
    void join_loop();
    /// Wakes whatever waits on cv_ and the connection loop. mu_ held.
    void wake_locked();
    /// Pokes the connection loop from a Paho callback.
    void wake_from_paho();

    // Entered first by every callback Paho makes into this client (see the top of this file).
    class PahoCallback {
    public:
        explicit PahoCallback(Impl& impl) : impl_(impl) { ++impl_.paho_callbacks_; }
        ~PahoCallback() { --impl_.paho_callbacks_; }
        PahoCallback(const PahoCallback&) = delete;
        PahoCallback& operator=(const PahoCallback&) = delete;

    private:
        detail::NetworkCallbackScope thread_mark_;
        Impl& impl_;
    };

    // Any thread.
    void pump();
    void complete(detail::OutgoingMessage& message, Status status);
    /// Runs a user callback on the dispatcher; what it throws is logged as "<what> threw: ...".
    void post_callback(const char* what, std::function<void()> callback);
    void on_delivery(std::uint64_t ticket, bool ok, int reason_code);
    void on_message(mqtt::const_message_ptr message);
    void on_connection_lost(const std::string& cause);
    void deliver(const mqtt::message& message, const std::vector<std::shared_ptr<detail::Subscription>>& targets);
    void send_subscribe(const std::string& filter, int qos, int identifier);
    /// The SUBACK (ok) or a failure of subscribe_async()'s SUBSCRIBE. Paho's thread.
    void on_subscribe_result(std::uint64_t operation, bool ok, int return_code);
    /// The UNSUBACK (ok) or a failure of unsubscribe_async()'s UNSUBSCRIBE. Paho's thread.
    void on_unsubscribe_result(std::uint64_t operation, bool ok, int return_code);
    /// Remembers the token of an UNSUBSCRIBE sent, for close_gracefully() to wait for. Any thread.
    void keep_until_acknowledged(mqtt::token_ptr unsubscribe);
    /// Removes subscription `id` without waiting: its handler is released on the dispatcher
    /// thread. When `send_unsubscribe` and no other subscription uses the filter while connected,
    /// UNSUBSCRIBE is sent (its UNSUBACK completing `operation` when that is not 0). Returns
    /// whether the subscription existed and sets `sent` when an UNSUBSCRIBE with a listener went out.
    bool detach_subscription(std::uint64_t id, bool send_unsubscribe, std::uint64_t operation, bool& sent);
    /// Whether a failed token means that the connection ended (rather than a refusal).
    bool failed_by_disconnect(int return_code) const;
    /// Waits for a SUBACK while the connection lasts: false when `timeout` passes, the connection
    /// is lost or a stop is requested first (the broker's answer would come too late to matter).
    /// Throws mqtt::exception when the token failed.
    bool wait_while_connected(const mqtt::token_ptr& token, std::chrono::milliseconds timeout);
    /// Hands a task to the dispatcher. Once the dispatcher is closed, a task posted from a Paho
    /// callback is kept for run_late_tasks() (user code never runs on Paho's thread); one posted
    /// elsewhere runs at once.
    void post_task(std::function<void()> task);
    void run_late_tasks();
    bool stop_requested() const;

    ClientOptions opts_;
    std::vector<detail::BrokerUri> brokers_;
    std::string brokers_text_;
    std::string client_id_;
    detail::Logger log_;
    // On the runtime's threads when there is one (opts_ is initialised first).
    detail::Dispatcher dispatcher_{opts_.runtime ? opts_.runtime->impl()->pool : nullptr};

    std::mutex life_mu_;
    LoopState loop_state_;  // the connection loop's passes only (they never overlap)
    // Created by start(), under life_mu_ and mu_ (pokes read it under mu_), and released by the
    // start() or stop that follows its end.
    std::shared_ptr<detail::TimedLoop> loop_;

    std::mutex send_mu_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    ConnectionState state_ = ConnectionState::Disconnected;
    bool stop_ = false;            // the connection thread must end
    bool lost_ = false;            // Paho reported the connection gone
    std::string lost_cause_;
    bool pump_ = false;            // slots freed: the connection thread should hand off more
    int drain_waiters_ = 0;        // disconnect() calls waiting for the outbox and in-flight to empty
    std::uint64_t failures_ = 0;   // failed attempts since start()
    detail::ConnectFailure last_failure_{Status::Ok, ""};
    detail::Outbox outbox_;
    std::map<std::uint64_t, Inflight> inflight_;  // by ticket, i.e. in hand-off order
    std::uint64_t next_id_ = 0;
    std::uint64_t next_ticket_ = 0;
    detail::SubscriptionTable subs_;
    std::map<std::uint64_t, std::shared_ptr<ConnectionListener>> listeners_;
    std::uint64_t next_listener_id_ = 0;
    bool ever_connected_ = false;
    std::vector<std::uint64_t> connect_waiters_;  // connect_async() operations
    bool shutting_down_ = false;    // shutdown() has begun
    bool running_ = false;          // the connection loop runs (set by start(), cleared as it ends)
    bool draining_ = false;         // a disconnect_async() waits for the queue to empty
    std::chrono::steady_clock::time_point drain_deadline_;
    std::vector<std::uint64_t> disconnect_waiters_;  // disconnect_async() operations
    std::map<std::uint64_t, std::uint64_t> subscribe_ops_;  // subscribe_async() operation -> subscription
    // UNSUBSCRIBEs sent and not yet acknowledged (completed ones are pruned at the next send): a
    // graceful close waits for them (close_gracefully()), because Paho C 1.3.12 leaks an UNSUBACK
    // that its receive thread reads while the client is being destroyed.
    std::vector<mqtt::token_ptr> unacked_unsubscribes_;

    /// Ends the connect_async() operations with `result`. Not under mu_.
    void finish_connect_waiters(const OperationResult& result);
    std::chrono::steady_clock::time_point connected_at_;

    struct Counters {
        std::atomic<std::uint64_t> messages_out{0}, bytes_out{0}, messages_in{0}, bytes_in{0};
        std::atomic<std::uint64_t> connects{0}, reconnects{0}, connect_failures{0};
        std::atomic<std::uint64_t> dropped{0}, rejected{0}, ack_timeouts{0}, resent{0};
    } counters_;

    std::atomic<int> paho_callbacks_{0};  // PahoCallback scopes in progress

    std::mutex post_mu_;
    bool dispatcher_closed_ = false;                  // guarded by post_mu_
    std::vector<std::function<void()>> late_tasks_;   // guarded by post_mu_

    detail::OperationTable operations_{
        [this](std::function<void()> task) { post_callback("an operation's completion", std::move(task)); },
        opts_.runtime ? opts_.runtime->impl()->timers : nullptr};

    // Declared last: destroyed first, so no Paho callback outlives the members it touches.
    DeliveryListener delivery_listener_{*this};
    WakeListener wake_listener_{*this};
    OperationListener subscribe_listener_{*this, OperationListener::Kind::Subscribe};
    OperationListener unsubscribe_listener_{*this, OperationListener::Kind::Unsubscribe};
    mqtt::connect_options connect_options_;
    std::unique_ptr<mqtt::async_client> paho_;
};

}  // namespace twinlink
