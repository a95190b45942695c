// Client: the caller-facing half (construction, publish, subscribe, lifecycle calls).
// The connection loop is in connection_loop.cpp.
#include "mqtt/client_impl.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include <MQTTAsync.h>

#include "twinlink/topic.hpp"

namespace twinlink {

using detail::CompletionLatch;
using detail::OutgoingMessage;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kMaxPayload = 268435455;  // MQTT's largest remaining length

std::string random_client_id() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> hex(0, 15);
    std::string id = "tl-";
    for (int i = 0; i < 16; ++i) id += "0123456789abcdef"[hex(rd)];
    return id;
}

std::vector<detail::BrokerUri> parse_brokers(const std::vector<std::string>& uris) {
    std::vector<detail::BrokerUri> out;
    for (const auto& u : uris) out.push_back(detail::parse_broker_uri(u));
    return out;
}

std::string join_brokers(const std::vector<detail::BrokerUri>& brokers) {
    std::string s;
    for (const auto& b : brokers) s += (s.empty() ? "" : ", ") + b.text;
    return s;
}

void check_qos(int qos) {
    if (qos < 0 || qos > 2) throw Error(Status::InvalidArgument, "qos must be 0, 1 or 2, not " + std::to_string(qos));
}

// Paho's C library records each entry and exit of its functions in an in-memory ring, under a global
// mutex, for a dump it writes only on its own internal errors. Its background threads still do so
// while they stop, after MQTTAsync_destroy of the last client has freed that ring: the ring is then
// allocated again and lost when the next client starts Paho up again (LeakSanitizer: 124,800 bytes,
// now and then, in capi.Cycles.ConnectDisconnectDoesNotLeak). Recording errors only avoids that race
// and the work. Tracing asked for through Paho's environment variables is left as it is.
void quiet_paho_trace() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (std::getenv("MQTT_C_CLIENT_TRACE") == nullptr && std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") == nullptr)
            MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    });
}

}  // namespace

const char* connection_state_name(ConnectionState state) noexcept {
    switch (state) {
        case ConnectionState::Disconnected: return "disconnected";
        case ConnectionState::Connecting: return "connecting";
        case ConnectionState::Connected: return "connected";
        case ConnectionState::Reconnecting: return "reconnecting";
    }
    return "unknown";
}

// ---- Impl: construction and teardown --------------------------------------------------------

Client::Impl::Impl(ClientOptions options)
    : opts_(std::move(options)),
      brokers_(parse_brokers(opts_.brokers)),
      brokers_text_(join_brokers(brokers_)),
      client_id_(opts_.client_id.empty() ? random_client_id() : opts_.client_id),
      log_(opts_.log, opts_.log_level),
      outbox_(opts_.queue_max_messages, opts_.queue_max_bytes, opts_.overflow) {
    detail::validate_client_options(opts_, brokers_);
    // Lines logged on Paho's threads are written by the dispatcher.
    log_.set_deferral([this](std::function<void()> write) { post_task(std::move(write)); });
    // Paho refuses to queue more than max_buffered_messages commands (100 by default), even while
    // connected; the client's own window must fit.
    mqtt::create_options create(opts_.mqtt_version == MqttVersion::V5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1,
                                static_cast<int>(opts_.max_inflight) + 64);
    quiet_paho_trace();
    try {
        paho_ = std::make_unique<mqtt::async_client>(brokers_.front().paho_uri(), client_id_, create, nullptr);
    } catch (const mqtt::exception& e) {
        throw Error(Status::InvalidArgument, "cannot create an MQTT client for " + brokers_text_ + ": " + e.what());
    }
    // The connect options only once the Paho client exists. Their MQTT 5 properties are allocated by
    // Paho's C library through its heap tracker, and the first client of the process (the first
    // after all were destroyed) starts that tracker afresh: anything Paho allocated before then can
    // no longer be freed (MQTTProperties_free does not find it), which LeakSanitizer reported as
    // 942 bytes at the exit of every client with a persistent session.
    detail::fill_connect_options(connect_options_, opts_, brokers_);
    paho_->set_message_callback([this](mqtt::const_message_ptr m) {
        PahoCallback scope(*this);
        on_message(std::move(m));
    });
    paho_->set_connection_lost_handler([this](const std::string& cause) {
        PahoCallback scope(*this);
        on_connection_lost(cause);
    });
    paho_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
        PahoCallback scope(*this);
        on_connection_lost("the broker closed the connection (reason code " + std::to_string(int(reason)) + ")");
    });
    if (opts_.runtime) ++opts_.runtime->impl()->clients;
}

Client::Impl::~Impl() {
    // The connect options go while the Paho client is still there (see the constructor): after the
    // last client is destroyed, a new one elsewhere in the process would restart Paho's heap tracker
    // before they are freed.
    connect_options_ = mqtt::connect_options();
    // Paho first: after this, no callback of ours runs any more, so what they left is final.
    paho_.reset();
    log_.set_deferral({});
    run_late_tasks();
    log_.flush();
    if (opts_.runtime) --opts_.runtime->impl()->clients;
}

void Client::Impl::shutdown() {
    {
        std::lock_guard<std::mutex> life(life_mu_);
        {
            std::lock_guard<std::mutex> lock(mu_);
            shutting_down_ = true;
            stop_ = true;
            wake_locked();
        }
        join_loop();
    }
    try {
        paho_->disable_callbacks();
    } catch (...) {
    }
    std::vector<OutgoingMessage> pending;
    std::vector<std::shared_ptr<detail::Subscription>> handlers;  // released after the lock
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [ticket, f] : inflight_) pending.push_back(std::move(f.message));
        inflight_.clear();
        for (auto& m : outbox_.take_all()) pending.push_back(std::move(m));
        handlers = subs_.clear();
        listeners_.clear();
        unacked_unsubscribes_.clear();
    }
    handlers.clear();
    for (auto& m : pending) complete(m, Status::Canceled);
    operations_.close();
    // A Paho callback that began before the callbacks were disabled may still be posting (a
    // completion it took from the in-flight map just before it was cleared): let it finish, so
    // that it reaches the dispatcher. They are short, never waiting for anything but mu_.
    if (!detail::on_network_thread()) {
        const auto deadline = Clock::now() + milliseconds(2000);
        while (paho_callbacks_.load() > 0 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
    }
    {
        std::lock_guard<std::mutex> lock(post_mu_);
        dispatcher_closed_ = true;
    }
    dispatcher_.stop();
    run_late_tasks();
    log_.flush();
}

void Client::Impl::post_task(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(post_mu_);
        if (!dispatcher_closed_) {
            // Queued, never run here: the dispatcher is stopped only after dispatcher_closed_.
            dispatcher_.post(std::move(task));
            return;
        }
        if (detail::on_network_thread()) {
            late_tasks_.push_back(std::move(task));
            return;
        }
    }
    try {
        task();
    } catch (...) {
    }
}

void Client::Impl::run_late_tasks() {
    if (detail::on_network_thread()) return;
    for (;;) {
        std::vector<std::function<void()>> tasks;
        {
            std::lock_guard<std::mutex> lock(post_mu_);
            tasks.swap(late_tasks_);
        }
        if (tasks.empty()) return;
        for (auto& task : tasks) {
            try {
                task();
            } catch (...) {
            }
        }
    }
}

// ---- Lifecycle ------------------------------------------------------------------------------

void Client::Impl::start() {
    std::lock_guard<std::mutex> life(life_mu_);
    if (loop_) {
        bool ending;
        std::vector<std::uint64_t> called_off;
        {
            std::lock_guard<std::mutex> lock(mu_);
            ending = stop_;
            if (!ending && draining_) {
                // A disconnect_async() still draining is called off: the client stays connected.
                draining_ = false;
                called_off.swap(disconnect_waiters_);
                wake_locked();
            }
        }
        for (const auto id : called_off)
            operations_.finish(id, OperationResult{Status::Canceled, "disconnect was interrupted by connect", ""});
        if (!ending) return;
        // Only a disconnect_async() leaves a stopping loop unjoined: its close takes ~1 s at most.
        join_loop();
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = false;
        draining_ = false;
        running_ = true;
        failures_ = 0;
        last_failure_ = {Status::Ok, ""};
    }
    start_loop();
}

void Client::Impl::connect(milliseconds timeout) {
    start();
    std::unique_lock<std::mutex> lock(mu_);
    const bool done = cv_.wait_for(lock, timeout, [&] {
        return state_ == ConnectionState::Connected || stop_ || (failures_ > 0 && last_failure_.permanent());
    });
    if (state_ == ConnectionState::Connected) return;
    if (stop_) throw Error(Status::Canceled, "connect was interrupted by disconnect");
    if (done) throw Error(last_failure_.status, last_failure_.message);
    std::string why = failures_ > 0 ? ": " + last_failure_.message : "";
    throw Error(Status::Timeout, "not connected to " + brokers_text_ + " within " +
                                     std::to_string(timeout.count()) + " ms" + why +
                                     "; still trying in the background");
}

std::uint64_t Client::Impl::connect_async(milliseconds timeout, OperationCallback done) {
    start();
    const std::uint64_t id = operations_.begin(
        timeout, "not connected to " + brokers_text_ + " within " + std::to_string(timeout.count()) +
                     " ms; still trying in the background",
        std::move(done), [this](std::uint64_t op) {
            std::lock_guard<std::mutex> lock(mu_);
            connect_waiters_.erase(std::remove(connect_waiters_.begin(), connect_waiters_.end(), op),
                                   connect_waiters_.end());
        });
    std::optional<OperationResult> now;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (state_ == ConnectionState::Connected)
            now = OperationResult{Status::Ok, "", ""};
        else if (failures_ > 0 && last_failure_.permanent())
            now = OperationResult{last_failure_.status, last_failure_.message, ""};
        else
            connect_waiters_.push_back(id);
    }
    if (now) operations_.finish(id, std::move(*now));
    return id;
}

void Client::Impl::finish_connect_waiters(const OperationResult& result) {
    std::vector<std::uint64_t> waiters;
    {
        std::lock_guard<std::mutex> lock(mu_);
        waiters.swap(connect_waiters_);
    }
    for (const auto id : waiters) operations_.finish(id, result);
}

void Client::Impl::disconnect(milliseconds timeout) {
    std::lock_guard<std::mutex> life(life_mu_);
    if (!loop_) return;
    {
        std::unique_lock<std::mutex> lock(mu_);
        ++drain_waiters_;
        cv_.wait_for(lock, timeout, [&] {
            return (outbox_.empty() && inflight_.empty()) || state_ != ConnectionState::Connected || stop_;
        });
        --drain_waiters_;
        stop_ = true;
        wake_locked();
    }
    join_loop();
}

std::uint64_t Client::Impl::disconnect_async(milliseconds drain, OperationCallback done) {
    // The close after the drain takes ~1 s at most (kCloseBudget, then the DISCONNECT): the
    // deadline only guards against a close that hangs.
    const std::uint64_t id = operations_.begin(
        drain + milliseconds(5000),
        "the disconnect did not finish within " + std::to_string(drain.count()) + " ms + 5 s; it goes on",
        std::move(done), [this](std::uint64_t op) {
            std::lock_guard<std::mutex> lock(mu_);
            disconnect_waiters_.erase(std::remove(disconnect_waiters_.begin(), disconnect_waiters_.end(), op),
                                      disconnect_waiters_.end());
        });
    bool stopped;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopped = !running_;
        if (!stopped) {
            disconnect_waiters_.push_back(id);
            if (state_ != ConnectionState::Connected || lost_) {
                stop_ = true;  // nothing to drain: stop at once, as disconnect() does
            } else {
                const auto deadline = Clock::now() + (drain.count() < 0 ? milliseconds(0) : drain);
                drain_deadline_ = draining_ ? std::min(drain_deadline_, deadline) : deadline;
                draining_ = true;
            }
            wake_locked();
        }
    }
    if (stopped) operations_.finish(id, OperationResult{Status::Ok, "", ""});
    return id;
}

std::uint64_t Client::Impl::publish_async(std::string_view topic, std::string payload, int qos, bool retain,
                                          milliseconds timeout, OperationCallback done) {
    validate_topic_name(topic);
    check_qos(qos);
    const std::string name(topic);
    const std::uint64_t op = operations_.begin(
        timeout, "publish to '" + name + "' did not complete within " + std::to_string(timeout.count()) +
                     " ms; it stays queued",
        std::move(done), {});
    // Delivery::Direct: finish() only posts to the dispatcher, so it may run on any thread.
    auto finished = [this, op, name](std::uint64_t, Status status) {
        operations_.finish(op, OperationResult{status,
                                               status == Status::Ok
                                                   ? std::string()
                                                   : "publish to '" + name + "' failed: " + status_name(status),
                                               ""});
    };
    try {
        publish(topic, std::move(payload), qos, retain, std::move(finished), Delivery::Direct, nullptr);
    } catch (...) {
        operations_.discard(op);
        throw;
    }
    return op;
}

ConnectionState Client::Impl::state() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
}


ClientStats Client::Impl::stats() const {
    ClientStats s;
    s.messages_out = counters_.messages_out;
    s.bytes_out = counters_.bytes_out;
    s.messages_in = counters_.messages_in;
    s.bytes_in = counters_.bytes_in;
    s.connects = counters_.connects;
    s.reconnects = counters_.reconnects;
    s.connect_failures = counters_.connect_failures;
    s.dropped = counters_.dropped;
    s.rejected = counters_.rejected;
    s.ack_timeouts = counters_.ack_timeouts;
    s.resent = counters_.resent;
    s.callback_queue = dispatcher_.pending();
    std::lock_guard<std::mutex> lock(mu_);
    s.queued_messages = outbox_.size();
    s.queued_bytes = outbox_.bytes();
    s.inflight = inflight_.size();
    return s;
}

// ---- Publish --------------------------------------------------------------------------------

std::uint64_t Client::Impl::publish(std::string_view topic, std::string payload, int qos, bool retain,
                                    PublishCallback on_complete, Delivery completion,
                                    std::shared_ptr<CompletionLatch> latch) {
    validate_topic_name(topic);
    check_qos(qos);
    if (payload.size() > kMaxPayload)
        throw Error(Status::InvalidArgument, "payload of " + std::to_string(payload.size()) +
                                                 " bytes exceeds MQTT's limit of 268435455 bytes");
    OutgoingMessage m;
    m.topic = std::string(topic);
    m.payload = std::make_shared<const std::string>(std::move(payload));
    m.qos = qos;
    m.retain = retain;
    m.on_complete = std::move(on_complete);
    m.completion = completion;
    m.latch = std::move(latch);

    std::uint64_t id;
    std::vector<OutgoingMessage> dropped;
    bool connected;
    {
        std::lock_guard<std::mutex> lock(mu_);
        id = m.id = ++next_id_;
        try {
            dropped = outbox_.push(std::move(m));
        } catch (const Error& e) {
            if (e.status() == Status::QueueFull) ++counters_.rejected;
            throw;
        }
        counters_.dropped += dropped.size();
        connected = state_ == ConnectionState::Connected;
    }
    for (auto& d : dropped) complete(d, Status::Dropped);
    if (!dropped.empty())
        log_.warning("offline queue full: dropped " + std::to_string(dropped.size()) + " oldest message(s)");
    if (connected) pump();
    return id;
}

void Client::Impl::pump() {
    std::lock_guard<std::mutex> send(send_mu_);
    for (;;) {
        std::uint64_t ticket;
        mqtt::message_ptr msg;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (state_ != ConnectionState::Connected || lost_ || outbox_.empty() ||
                inflight_.size() >= opts_.max_inflight)
                return;
            OutgoingMessage m = outbox_.pop_front();
            ticket = ++next_ticket_;
            msg = mqtt::make_message(m.topic, mqtt::binary_ref(m.payload), m.qos, m.retain);
            inflight_.emplace(ticket, Inflight{std::move(m), Clock::now() + opts_.ack_timeout, false, {}});
        }
        try {
            paho_->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(ticket)), delivery_listener_);
        } catch (const mqtt::exception& e) {
            // The connection went away under us: keep the message first in line for the next one.
            std::string why = e.what();
            {
                std::lock_guard<std::mutex> lock(mu_);
                const auto it = inflight_.find(ticket);
                if (it != inflight_.end()) {
                    std::vector<OutgoingMessage> back;
                    back.push_back(std::move(it->second.message));
                    inflight_.erase(it);
                    outbox_.push_front(std::move(back));
                }
            }
            log_.debug("hand-off to the network failed, message kept queued: " + why);
            return;
        }
    }
}

void Client::Impl::complete(OutgoingMessage& m, Status status) {
    if (status == Status::Ok) {
        ++counters_.messages_out;
        counters_.bytes_out += m.bytes();
    }
    if (m.latch) m.latch->set(status);
    if (!m.on_complete) return;
    if (m.completion == Delivery::Direct) {
        // A module's short hand-off (it only records the result and wakes its own thread).
        try {
            m.on_complete(m.id, status);
        } catch (const std::exception& e) {
            log_.error(std::string("a publish completion threw: ") + e.what());
        }
        return;
    }
    post_callback("a publish callback", [cb = std::move(m.on_complete), id = m.id, status] { cb(id, status); });
}

void Client::Impl::post_callback(const char* what, std::function<void()> callback) {
    post_task([self = shared_from_this(), what, callback = std::move(callback)] {
        try {
            callback();
        } catch (const std::exception& e) {
            self->log_.error(std::string(what) + " threw: " + e.what());
        } catch (...) {
            self->log_.error(std::string(what) + " threw");
        }
    });
}

void Client::Impl::DeliveryListener::on_success(const mqtt::token& tok) {
    PahoCallback scope(impl_);
    impl_.on_delivery(reinterpret_cast<std::uintptr_t>(tok.get_user_context()), true, 0);
}

void Client::Impl::DeliveryListener::on_failure(const mqtt::token& tok) {
    PahoCallback scope(impl_);
    impl_.on_delivery(reinterpret_cast<std::uintptr_t>(tok.get_user_context()), false,
                      static_cast<int>(tok.get_reason_code()));
}

void Client::Impl::on_delivery(std::uint64_t ticket, bool ok, int reason_code) {
    OutgoingMessage done;
    Status status = Status::Ok;
    {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = inflight_.find(ticket);
        if (it == inflight_.end()) return;  // already timed out, or queued again after a loss
        // Only an MQTT 5 PUBACK carries a refusal (0x80..0xA2); anything else, 255 ("no reason
        // code") included, is Paho giving up on the message, most likely because the connection
        // is going away.
        const bool refused = opts_.mqtt_version == MqttVersion::V5 && reason_code >= 0x80 && reason_code < 0xFF;
        if (!ok && !refused) {
            // Most likely the connection is going away; the connection loop decides shortly.
            it->second.failed = true;
            it->second.failed_at = Clock::now();
            wake_locked();
            return;
        }
        if (!ok) status = reason_code == 0x87 ? Status::NotAuthorized : Status::ProtocolError;
        done = std::move(it->second.message);
        inflight_.erase(it);
        // Wake the connection loop only when this acknowledgement gives it something to do: a
        // freed slot for a message waiting in the outbox, or the end of a drain (disconnect).
        // Waking it for every acknowledgement cost a context switch per publish.
        if (!outbox_.empty()) {
            pump_ = true;
            wake_locked();
        } else if (inflight_.empty() && (draining_ || drain_waiters_ > 0)) {
            wake_locked();
        }
    }
    if (status != Status::Ok)
        log_.warning("the broker refused a publish to '" + done.topic + "' (reason code " +
                     std::to_string(reason_code) + ")");
    complete(done, status);
}

// ---- Subscribe ------------------------------------------------------------------------------

mqtt::token_ptr Client::Impl::subscribe_request(const std::string& filter, int qos, int identifier,
                                                std::uint64_t operation, mqtt::iaction_listener* wake) {
    mqtt::properties props;
    if (opts_.mqtt_version == MqttVersion::V5)
        props.add(mqtt::property(mqtt::property::SUBSCRIPTION_IDENTIFIER, identifier));
    if (operation != 0)
        return paho_->subscribe(filter, qos, reinterpret_cast<void*>(static_cast<std::uintptr_t>(operation)),
                                subscribe_listener_, mqtt::subscribe_options(), props);
    if (wake) return paho_->subscribe(filter, qos, nullptr, *wake, mqtt::subscribe_options(), props);
    if (opts_.mqtt_version != MqttVersion::V5) return paho_->subscribe(filter, qos);
    return paho_->subscribe(filter, qos, mqtt::subscribe_options(), props);
}

void Client::Impl::send_subscribe(const std::string& filter, int qos, int identifier) {
    mqtt::token_ptr tok;
    try {
        tok = subscribe_request(filter, qos, identifier);
    } catch (const mqtt::exception& e) {
        throw Error(Status::NotConnected, "subscribe to '" + filter + "': " + e.what());
    }
    try {
        if (!wait_while_connected(tok, opts_.operation_timeout)) {
            std::unique_lock<std::mutex> lock(mu_);
            if (lost_ || stop_ || state_ != ConnectionState::Connected)
                throw Error(Status::NotConnected, "the connection ended before the broker acknowledged the "
                                                  "subscription to '" + filter + "'");
            lock.unlock();
            throw Error(Status::Timeout, "the broker did not acknowledge the subscription to '" + filter +
                                             "' within " + std::to_string(opts_.operation_timeout.count()) + " ms");
        }
    } catch (const mqtt::exception& e) {
        throw Error(Status::SubscribeRejected, "the broker refused the subscription to '" + filter + "': " + e.what());
    }
    // A refusal fails the token (caught above). The reason codes of Paho C++ 1.2's
    // subscribe_response are not reliable, so they are not read.
}

std::uint64_t Client::Impl::subscribe(std::string_view filter, int qos, MessageHandler handler, Delivery delivery) {
    validate_topic_filter(filter);
    check_qos(qos);
    if (!handler) throw Error(Status::InvalidArgument, "subscribe: the message handler is empty");
    detail::SubscriptionTable::Added added;
    bool send;
    {
        std::lock_guard<std::mutex> lock(mu_);
        added = subs_.add(std::string(filter), qos, std::move(handler), delivery);
        send = added.broker_subscribe && state_ == ConnectionState::Connected;
    }
    if (!send) return added.subscription->id;
    try {
        send_subscribe(added.subscription->filter, qos, added.subscription->identifier);
    } catch (const Error& e) {
        if (e.status() == Status::NotConnected) return added.subscription->id;  // made at reconnect
        bool unused = false;
        std::lock_guard<std::mutex> lock(mu_);
        subs_.remove(added.subscription->id, unused);
        throw;
    }
    return added.subscription->id;
}

void Client::Impl::unsubscribe(std::uint64_t id) {
    std::shared_ptr<detail::Subscription> removed;
    bool unused = false, connected;
    {
        std::lock_guard<std::mutex> lock(mu_);
        removed = subs_.remove(id, unused);
        connected = state_ == ConnectionState::Connected;
    }
    if (!removed) throw Error(Status::InvalidArgument, "unsubscribe: no subscription has id " + std::to_string(id));
    dispatcher_.barrier();  // a call of this handler in progress elsewhere returns first
    if (removed->delivery == Delivery::Dispatcher && !dispatcher_.on_dispatcher_thread()) {
        // No dispatcher task runs it any more (the barrier) or will (it is inactive), but one that
        // has just run may still hold it: release what the handler owns now, not whenever that
        // task is destroyed, so that a binding's destructor of it has run when this returns.
        MessageHandler released = std::move(removed->handler);
    }
    if (!unused || !connected) return;
    // The handler is gone already, which is all the caller is promised. The UNSUBACK would only
    // say that the broker stopped sending, and waiting for it would hold up every process that
    // unsubscribes on its way out whenever the broker has gone silent; a stale broker
    // subscription only costs traffic. Paho sends the UNSUBSCRIBE before any later packet.
    try {
        keep_until_acknowledged(paho_->unsubscribe(removed->filter));
    } catch (const mqtt::exception& e) {
        log_.debug("unsubscribe from '" + removed->filter + "' failed: " + e.what());
    }
}

void Client::Impl::keep_until_acknowledged(mqtt::token_ptr unsubscribe) {
    // close_gracefully() waits for these: an UNSUBACK that arrives while the Paho client is
    // destroyed is leaked by Paho (tests/sanitizers/lsan.supp says how).
    std::lock_guard<std::mutex> lock(mu_);
    auto& unacked = unacked_unsubscribes_;
    unacked.erase(std::remove_if(unacked.begin(), unacked.end(), [](const mqtt::token_ptr& t) { return t->is_complete(); }),
                  unacked.end());
    unacked.push_back(std::move(unsubscribe));
}

// ---- Subscribe and unsubscribe without a waiting thread ------------------------------------

Client::AsyncSubscription Client::Impl::subscribe_async(std::string_view filter, int qos, MessageHandler handler,
                                                        milliseconds timeout, OperationCallback done) {
    validate_topic_filter(filter);
    check_qos(qos);
    if (!handler) throw Error(Status::InvalidArgument, "subscribe: the message handler is empty");
    // The operation first, so that a start that fails has registered nothing. Its subscription id
    // is set under mu_ once the handler is added (0 until then).
    auto sub_id = std::make_shared<std::uint64_t>(0);
    const std::string name(filter);
    const std::uint64_t op = operations_.begin(
        timeout,
        "the broker did not acknowledge the subscription to '" + name + "' within " +
            std::to_string(timeout.count()) + " ms; it was removed",
        std::move(done), [this, sub_id](std::uint64_t operation) {
            std::uint64_t id;
            {
                std::lock_guard<std::mutex> lock(mu_);
                subscribe_ops_.erase(operation);
                id = *sub_id;
            }
            bool sent = false;
            if (id != 0) detach_subscription(id, true, 0, sent);
        });
    detail::SubscriptionTable::Added added;
    bool send;
    {
        std::lock_guard<std::mutex> lock(mu_);
        added = subs_.add(name, qos, std::move(handler), Delivery::Dispatcher);
        *sub_id = added.subscription->id;
        send = added.broker_subscribe && state_ == ConnectionState::Connected;
        if (send) subscribe_ops_[op] = added.subscription->id;
    }
    const auto& sub = *added.subscription;
    if (!operations_.pending(op)) {
        // Ended (a zero timeout, a cancel) before the handler was added: remove it again.
        bool sent = false;
        detach_subscription(sub.id, false, 0, sent);
        return {sub.id, op};
    }
    if (send) {
        try {
            subscribe_request(sub.filter, qos, sub.identifier, op);
            return {sub.id, op};
        } catch (const mqtt::exception&) {
            // The connection went away meanwhile: the SUBSCRIBE is made at the next connect.
            std::lock_guard<std::mutex> lock(mu_);
            subscribe_ops_.erase(op);
        }
    }
    operations_.finish(op, OperationResult{Status::Ok, "", ""});
    return {sub.id, op};
}

std::uint64_t Client::Impl::unsubscribe_async(std::uint64_t id, milliseconds timeout, OperationCallback done) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!subs_.contains(id))
            throw Error(Status::InvalidArgument, "unsubscribe: no subscription has id " + std::to_string(id));
    }
    const std::uint64_t op = operations_.begin(
        timeout,
        "the broker did not acknowledge the unsubscribe within " + std::to_string(timeout.count()) +
            " ms; the subscription's handler is removed all the same",
        std::move(done), {});
    bool sent = false;
    if (!detach_subscription(id, true, op, sent)) {
        // Removed by another thread meanwhile.
        operations_.finish(op, OperationResult{Status::InvalidArgument,
                                               "unsubscribe: no subscription has id " + std::to_string(id), ""});
    } else if (!sent) {
        // Posted after the release of the handler: the completion runs once it is destroyed.
        operations_.finish(op, OperationResult{Status::Ok, "", ""});
    }
    return op;
}

bool Client::Impl::detach_subscription(std::uint64_t id, bool send_unsubscribe, std::uint64_t operation,
                                       bool& sent) {
    sent = false;
    std::shared_ptr<detail::Subscription> removed;
    bool unused = false, connected;
    {
        std::lock_guard<std::mutex> lock(mu_);
        removed = subs_.remove(id, unused);
        connected = state_ == ConnectionState::Connected && !lost_;
    }
    if (!removed) return false;
    if (removed->delivery == Delivery::Dispatcher) {
        // The dispatcher runs one task at a time: a call of this handler in progress returns
        // before this runs, and later ones see it inactive.
        post_task([removed] { MessageHandler released = std::move(removed->handler); });
    }
    if (!send_unsubscribe || !unused || !connected) return true;
    try {
        mqtt::token_ptr token;
        if (operation != 0) {
            token = paho_->unsubscribe(removed->filter,
                                       reinterpret_cast<void*>(static_cast<std::uintptr_t>(operation)),
                                       unsubscribe_listener_);
            sent = true;
        } else {
            token = paho_->unsubscribe(removed->filter);
        }
        keep_until_acknowledged(std::move(token));
    } catch (const mqtt::exception& e) {
        log_.debug("unsubscribe from '" + removed->filter + "' failed: " + e.what());
    }
    return true;
}

bool Client::Impl::failed_by_disconnect(int return_code) const {
    if (return_code == MQTTASYNC_OPERATION_INCOMPLETE || return_code == MQTTASYNC_DISCONNECTED) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return lost_ || stop_ || state_ != ConnectionState::Connected;
}

void Client::Impl::on_subscribe_result(std::uint64_t operation, bool ok, int return_code) {
    std::uint64_t id = 0;
    {
        std::lock_guard<std::mutex> lock(mu_);
        const auto it = subscribe_ops_.find(operation);
        if (it == subscribe_ops_.end()) return;  // timed out or canceled already
        id = it->second;
        subscribe_ops_.erase(it);
    }
    if (!ok && failed_by_disconnect(return_code)) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (shutting_down_) return;  // there is no next connect: shutdown() cancels it
        }
        // A SUBSCRIBE cut short by a lost connection is made again at the next one.
        ok = true;
    }
    if (ok) {
        operations_.finish(operation, OperationResult{Status::Ok, "", ""});
        return;
    }
    bool sent = false;
    detach_subscription(id, false, 0, sent);  // no UNSUBSCRIBE from Paho's thread, and none is needed
    operations_.finish(operation, OperationResult{Status::SubscribeRejected,
                                                  "the broker refused the subscription (return code " +
                                                      std::to_string(return_code) + ")",
                                                  ""});
}

void Client::Impl::on_unsubscribe_result(std::uint64_t operation, bool ok, int return_code) {
    if (ok || failed_by_disconnect(return_code)) {
        operations_.finish(operation, OperationResult{Status::Ok, "", ""});
        return;
    }
    operations_.finish(operation, OperationResult{Status::ProtocolError,
                                                  "the broker refused the unsubscribe (return code " +
                                                      std::to_string(return_code) + ")",
                                                  ""});
}

void Client::Impl::OperationListener::on_success(const mqtt::token& tok) {
    PahoCallback scope(impl_);
    const auto op = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
    if (kind_ == Kind::Subscribe)
        impl_.on_subscribe_result(op, true, 0);
    else
        impl_.on_unsubscribe_result(op, true, 0);
}

void Client::Impl::OperationListener::on_failure(const mqtt::token& tok) {
    PahoCallback scope(impl_);
    const auto op = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
    if (kind_ == Kind::Subscribe)
        impl_.on_subscribe_result(op, false, tok.get_return_code());
    else
        impl_.on_unsubscribe_result(op, false, tok.get_return_code());
}

bool Client::Impl::wait_while_connected(const mqtt::token_ptr& token, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!token->wait_for(milliseconds(50))) {
        if (Clock::now() >= deadline) return false;
        std::lock_guard<std::mutex> lock(mu_);
        if (lost_ || stop_ || state_ != ConnectionState::Connected) return false;
    }
    return true;
}

void Client::Impl::dispatch(std::function<void()> task) { post_callback("a dispatched task", std::move(task)); }

std::uint64_t Client::Impl::add_connection_listener(ConnectionListener listener) {
    if (!listener) throw Error(Status::InvalidArgument, "add_connection_listener: the listener is empty");
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.emplace(++next_listener_id_, std::make_shared<ConnectionListener>(std::move(listener)));
    return next_listener_id_;
}

void Client::Impl::remove_connection_listener(std::uint64_t id) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        listeners_.erase(id);
    }
    dispatcher_.barrier();
}

// ---- Incoming messages ----------------------------------------------------------------------

void Client::Impl::on_message(mqtt::const_message_ptr message) {
    ++counters_.messages_in;
    counters_.bytes_in += message->get_payload_ref().size();
    // With MQTT 5 a broker sends one copy per matching subscription, each naming its subscription
    // identifier: route a copy only to that filter's handlers, so a handler sees a message once.
    std::vector<int> identifiers;
    if (opts_.mqtt_version == MqttVersion::V5) {
        const auto& props = message->get_properties();
        for (std::size_t i = 0, n = props.count(mqtt::property::SUBSCRIPTION_IDENTIFIER); i < n; ++i)
            identifiers.push_back(mqtt::get<int>(props, mqtt::property::SUBSCRIPTION_IDENTIFIER, i));
    }
    std::vector<std::shared_ptr<detail::Subscription>> direct, dispatched;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto targets = identifiers.empty() ? subs_.matching(message->get_topic()) : subs_.with_identifiers(identifiers);
        for (auto& sub : targets)
            (sub->delivery == Delivery::Direct ? direct : dispatched).push_back(std::move(sub));
    }
    if (!direct.empty()) deliver(*message, direct);
    if (dispatched.empty()) return;
    post_task([self = shared_from_this(), message = std::move(message), targets = std::move(dispatched)] {
        self->deliver(*message, targets);
    });
}

void Client::Impl::deliver(const mqtt::message& message,
                           const std::vector<std::shared_ptr<detail::Subscription>>& targets) {
    const auto& payload = message.get_payload_ref();
    MessageView view{message.get_topic(), std::string_view(payload.data(), payload.size()), message.get_qos(),
                     message.is_retained()};
    for (const auto& sub : targets) {
        if (!sub->active) continue;
        try {
            sub->handler(view);
        } catch (const std::exception& e) {
            log_.error("the handler of '" + sub->filter + "' threw: " + e.what());
        } catch (...) {
            log_.error("the handler of '" + sub->filter + "' threw");
        }
    }
}

void Client::Impl::on_connection_lost(const std::string& cause) {
    std::lock_guard<std::mutex> lock(mu_);
    lost_ = true;
    lost_cause_ = cause.empty() ? "connection lost" : "connection lost: " + cause;
    wake_locked();
}

// ---- Client ---------------------------------------------------------------------------------

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

Client::~Client() {
    try {
        impl_->shutdown();
    } catch (...) {
    }
}

void Client::start() { impl_->start(); }
void Client::connect(milliseconds timeout) { impl_->connect(timeout); }
void Client::disconnect(milliseconds timeout) { impl_->disconnect(timeout); }
std::uint64_t Client::connect_async(milliseconds timeout, OperationCallback done) {
    return impl_->connect_async(timeout, std::move(done));
}
bool Client::cancel_operation(std::uint64_t id) { return impl_->operations().cancel(id); }
std::uint64_t Client::begin_operation(milliseconds timeout, std::string timeout_message, OperationCallback done,
                                      std::function<void(std::uint64_t)> abandon) {
    return impl_->operations().begin(timeout, std::move(timeout_message), std::move(done), std::move(abandon));
}
bool Client::finish_operation(std::uint64_t id, OperationResult result) {
    return impl_->operations().finish(id, std::move(result));
}

std::uint64_t Client::publish(std::string_view topic, std::string payload, int qos, bool retain,
                              PublishCallback on_complete, Delivery completion) {
    return impl_->publish(topic, std::move(payload), qos, retain, std::move(on_complete), completion, nullptr);
}

void Client::publish_wait(std::string_view topic, std::string payload, int qos, bool retain, milliseconds timeout) {
    auto latch = std::make_shared<CompletionLatch>();
    impl_->publish(topic, std::move(payload), qos, retain, {}, Delivery::Dispatcher, latch);
    const auto status = latch->wait_for(timeout);
    if (!status)
        throw Error(Status::Timeout, "publish to '" + std::string(topic) + "' did not complete within " +
                                         std::to_string(timeout.count()) + " ms; it stays queued");
    if (*status != Status::Ok)
        throw Error(*status, "publish to '" + std::string(topic) + "' failed: " + status_name(*status));
}

std::uint64_t Client::disconnect_async(milliseconds drain, OperationCallback done) {
    return impl_->disconnect_async(drain, std::move(done));
}

std::uint64_t Client::publish_async(std::string_view topic, std::string payload, int qos, bool retain,
                                    milliseconds timeout, OperationCallback done) {
    return impl_->publish_async(topic, std::move(payload), qos, retain, timeout, std::move(done));
}

Client::AsyncSubscription Client::subscribe_async(std::string_view filter, int qos, MessageHandler handler,
                                                  milliseconds timeout, OperationCallback done) {
    return impl_->subscribe_async(filter, qos, std::move(handler), timeout, std::move(done));
}

std::uint64_t Client::unsubscribe_async(std::uint64_t id, milliseconds timeout, OperationCallback done) {
    return impl_->unsubscribe_async(id, timeout, std::move(done));
}

std::uint64_t Client::subscribe(std::string_view filter, int qos, MessageHandler handler, Delivery delivery) {
    return impl_->subscribe(filter, qos, std::move(handler), delivery);
}

std::uint64_t Client::add_connection_listener(ConnectionListener listener) {
    return impl_->add_connection_listener(std::move(listener));
}

void Client::remove_connection_listener(std::uint64_t id) { impl_->remove_connection_listener(id); }
void Client::wait_for_callbacks() { impl_->wait_for_callbacks(); }

void Client::unsubscribe(std::uint64_t id) { impl_->unsubscribe(id); }
void Client::dispatch(std::function<void()> task) { impl_->dispatch(std::move(task)); }
void Client::log(LogLevel level, const std::string& message) const { impl_->logger().log(level, message); }
ConnectionState Client::state() const { return impl_->state(); }
ClientStats Client::stats() const { return impl_->stats(); }
const std::string& Client::client_id() const { return impl_->client_id(); }
const std::shared_ptr<Runtime>& Client::runtime() const { return impl_->runtime(); }

}  // namespace twinlink
