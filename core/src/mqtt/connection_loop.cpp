// The connection loop: connect, resubscribe, drain, watch acknowledgements, and reconnect with
// backoff until the client is stopped.
//
// A state machine (Client::Impl::Phase) that a TimedLoop runs one pass at a time: on a thread of
// the client's own, or, with a runtime, on the runtime's network threads, so that a thousand
// clients add no thread. A pass never waits for the network. What a phase awaits (the CONNACK,
// the SUBACKs, the close's acknowledgements) pokes the loop when it completes (wake_listener_),
// and so do the changes the serving phase acts on (wake_locked(): freed slots, a loss, a stop, a
// drain); each phase also returns its deadline.
#include "mqtt/client_impl.hpp"

#include <algorithm>

#include "mqtt/tcp_socket.hpp"

namespace twinlink {

using detail::OutgoingMessage;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// A connection that lasted this long resets the backoff: a broker that accepts and at once drops
// us (a duplicate client id, say) keeps being retried slowly.
constexpr auto kStableConnection = std::chrono::seconds(10);
// A publish failure that is not followed by a lost connection within this time is reported.
constexpr auto kFailureGrace = milliseconds(500);
constexpr auto kExpiryScanInterval = milliseconds(100);
// The close after a stop request (the offline presence, then DISCONNECT) takes at most this, so a
// process stops within a second however silent the broker is.
constexpr auto kCloseBudget = milliseconds(700);
constexpr auto kDisconnectShare = milliseconds(200);  // kept for the DISCONNECT
// An attempt cut short (a stop, its time budget spent) is still awaited this long after the
// abort, so that its token normally completes before the next attempt reuses the Paho client.
constexpr auto kAbandonGrace = milliseconds(2000);
// The DISCONNECT of a connection stopped before it was served.
constexpr auto kEndingDisconnect = milliseconds(1000);

}  // namespace

// ---- The loop's life ------------------------------------------------------------------------

void Client::Impl::start_loop() {
    loop_state_ = LoopState{};
    loop_state_.backoff.emplace(opts_.reconnect_min, opts_.reconnect_max);
    const auto& runtime = opts_.runtime;
    auto loop = std::make_shared<detail::TimedLoop>(runtime ? runtime->impl()->network : nullptr,
                                                    runtime ? runtime->impl()->timers : nullptr,
                                                    [this] { return connection_pass(); });
    {
        std::lock_guard<std::mutex> lock(mu_);
        loop_ = loop;
    }
    loop->start();
}

void Client::Impl::join_loop() {
    std::shared_ptr<detail::TimedLoop> loop;
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (!loop_) return;
        // The loop ends on its own once stop_ is set: within the close's budget when connected,
        // within an attempt's abort grace when connecting.
        cv_.wait(lock, [&] { return !running_; });
        loop = std::move(loop_);
    }
    loop->stop();  // waits for the pass that ended it to return
}

void Client::Impl::wake_locked() {
    cv_.notify_all();
    if (loop_) loop_->poke();
}

void Client::Impl::wake_from_paho() {
    PahoCallback scope(*this);
    std::lock_guard<std::mutex> lock(mu_);
    if (loop_) loop_->poke();
}

Clock::time_point Client::Impl::connection_pass() {
    for (;;) {
        std::optional<TimePoint> wait;
        switch (loop_state_.phase) {
            case Phase::Start: wait = step_start(); break;
            case Phase::Connecting: wait = step_connecting(Clock::now()); break;
            case Phase::Subscribing: wait = step_subscribing(Clock::now()); break;
            case Phase::Serving: wait = step_serving(); break;
            case Phase::Backoff: {
                const bool stop = stop_requested();
                if (stop) {
                    loop_state_.phase = Phase::Ending;
                } else if (Clock::now() >= loop_state_.deadline) {
                    loop_state_.phase = Phase::Start;
                } else {
                    wait = loop_state_.deadline;
                }
                break;
            }
            case Phase::Closing: wait = step_closing(Clock::now()); break;
            case Phase::Ending: wait = step_ending(Clock::now()); break;
            case Phase::Ended: return TimePoint::max();
        }
        if (wait) return *wait;
    }
}

bool Client::Impl::stop_requested() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
}

bool Client::Impl::awaited_complete(std::vector<mqtt::token_ptr>& awaited, std::string* error) {
    bool all = true;
    for (auto it = awaited.begin(); it != awaited.end();) {
        try {
            if (!(*it)->wait_for(milliseconds(0))) {
                all = false;
                ++it;
                continue;
            }
        } catch (const mqtt::exception& e) {
            if (error && error->empty()) *error = e.what();
        }
        it = awaited.erase(it);
    }
    return all;
}

// ---- Connecting -----------------------------------------------------------------------------

std::optional<Clock::time_point> Client::Impl::step_start() {
    auto& ls = loop_state_;
    if (stop_requested()) {
        ls.phase = Phase::Ending;
        return std::nullopt;
    }
    set_state(ConnectionState::Connecting, Status::Ok, "", milliseconds(0), ls.failed_attempts);
    {
        std::lock_guard<std::mutex> lock(mu_);
        lost_ = false;
    }
    if (opts_.tls.insecure)
        log_.warning("TLS server certificate verification is off (tls.insecure): anyone can impersonate the broker");
    log_.debug("connecting to " + brokers_text_ + " as '" + client_id_ + "' (attempt " +
               std::to_string(ls.failed_attempts + 1) + ")");
    ls.abandoned_at.reset();
    ls.abandoned_for_stop = false;
    ls.deadline = Clock::now() + opts_.connect_timeout * static_cast<int>(brokers_.size()) + milliseconds(2000);
    try {
        // The options are copied into the attempt; no callback of theirs outlives the call (the
        // TLS error callback of Paho C++ 1.2 would: its context is that copy, so none is set).
        ls.connect_token = paho_->connect(connect_options_, nullptr, wake_listener_);
    } catch (const mqtt::exception& e) {
        connect_failed(detail::classify_connect_failure(e, brokers_, brokers_text_, opts_.tls, std::string()));
        return std::nullopt;
    }
    ls.phase = Phase::Connecting;
    return std::nullopt;
}

std::optional<Clock::time_point> Client::Impl::step_connecting(TimePoint now) {
    auto& ls = loop_state_;
    try {
        if (ls.connect_token->wait_for(milliseconds(0))) {
            ls.connect_token.reset();
            if (!ls.abandoned_at) {
                begin_subscribing();
                return std::nullopt;
            }
            // Connected after all, but too late: the attempt counts as cut short (below).
        }
    } catch (const mqtt::exception& e) {
        ls.connect_token.reset();
        if (ls.abandoned_for_stop || stop_requested()) {
            connect_failed(std::nullopt);
        } else {
            connect_failed(detail::classify_connect_failure(e, brokers_, brokers_text_, opts_.tls, std::string()));
        }
        return std::nullopt;
    }
    if (ls.connect_token) {
        if (ls.abandoned_at) {
            const auto until = *ls.abandoned_at + kAbandonGrace;
            if (now < until) return until;
            ls.connect_token.reset();  // given up on: Paho ends it with the next connect or the client
        } else {
            const bool stopping = stop_requested();
            if (!stopping && now < ls.deadline) return ls.deadline;
            ls.abandoned_at = now;
            ls.abandoned_for_stop = stopping;
            try {
                paho_->disconnect(0);
            } catch (const mqtt::exception&) {
            }
            return now + kAbandonGrace;
        }
    }
    if (ls.abandoned_for_stop) {
        connect_failed(std::nullopt);
    } else {
        connect_failed(detail::ConnectFailure{Status::Timeout, "connecting to " + brokers_text_ + " timed out"});
    }
    return std::nullopt;
}

void Client::Impl::connect_failed(const std::optional<detail::ConnectFailure>& failure) {
    auto& ls = loop_state_;
    if (failure) {
        ++counters_.connect_failures;
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++failures_;
            last_failure_ = *failure;
            cv_.notify_all();
        }
        if (failure->permanent()) finish_connect_waiters(OperationResult{failure->status, failure->message, ""});
        log_.warning(failure->message);
    }
    ++ls.failed_attempts;
    Status reason;
    std::string why;
    {
        std::lock_guard<std::mutex> lock(mu_);
        reason = last_failure_.status;
        why = last_failure_.message;
    }
    enter_backoff(reason, why);
}

void Client::Impl::enter_backoff(Status reason, const std::string& why) {
    auto& ls = loop_state_;
    if (stop_requested()) {
        ls.phase = Phase::Ending;
        return;
    }
    const milliseconds delay = ls.backoff->next();
    set_state(ConnectionState::Reconnecting, reason, why, delay, ls.failed_attempts);
    ls.deadline = Clock::now() + delay;
    ls.phase = Phase::Backoff;
}

// ---- Subscribing ----------------------------------------------------------------------------

void Client::Impl::begin_subscribing() {
    // Subscribe again to everything, then go Connected in the same critical section that checks
    // no subscription was added meanwhile (step_subscribing): a concurrent subscribe() either is
    // in the snapshot or sees Connected and sends its own SUBSCRIBE.
    auto& ls = loop_state_;
    std::vector<detail::SubscriptionTable::Filter> filters;
    {
        std::lock_guard<std::mutex> lock(mu_);
        ls.generation = subs_.generation();
        filters = subs_.filters();
    }
    ls.awaited.clear();
    ls.deadline = Clock::now() + opts_.operation_timeout;
    ls.phase = Phase::Subscribing;
    if (filters.empty()) return;
    try {
        if (opts_.mqtt_version == MqttVersion::V5) {
            // One subscription identifier per SUBSCRIBE packet, so one packet per filter.
            for (const auto& f : filters)
                ls.awaited.push_back(subscribe_request(f.filter, f.qos, f.identifier, 0, &wake_listener_));
        } else {
            auto names = std::make_shared<mqtt::string_collection>();
            std::vector<int> qos;
            for (const auto& f : filters) {
                names->push_back(f.filter);
                qos.push_back(f.qos);
            }
            ls.awaited.push_back(paho_->subscribe(names, qos, nullptr, wake_listener_));
        }
    } catch (const mqtt::exception& e) {
        resubscribe_failed(e.what());
    }
}

void Client::Impl::resubscribe_failed(const std::string& what) {
    // A refused filter is not reported per filter: Paho C++ 1.2's SUBACK reason codes are
    // unreliable, so they are not read.
    if (paho_->is_connected())
        log_.warning("the broker refused a subscription after connect: " + what);
    else  // the serving phase sees lost_ and starts over
        on_connection_lost("subscribing after connect failed: " + what);
}

std::optional<Clock::time_point> Client::Impl::step_subscribing(TimePoint now) {
    auto& ls = loop_state_;
    std::string error;
    const bool all = awaited_complete(ls.awaited, &error);
    if (!all && now < ls.deadline && !stop_requested()) return ls.deadline;
    if (!error.empty()) {
        resubscribe_failed(error);
    } else if (!all && !stop_requested()) {
        resubscribe_failed("no SUBACK in time");
    }
    ls.awaited.clear();
    go_connected();
    return std::nullopt;
}

void Client::Impl::go_connected() {
    auto& ls = loop_state_;
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (subs_.generation() != ls.generation) {
            // A subscription came or went meanwhile: restore the whole set again.
            lock.unlock();
            begin_subscribing();
            return;
        }
        // Counted before Connected is visible: a connect() that returns sees its connection in stats().
        ++counters_.connects;
        if (ever_connected_) ++counters_.reconnects;
        ever_connected_ = true;
        state_ = ConnectionState::Connected;
        connected_at_ = Clock::now();
        cv_.notify_all();
    }
    if (opts_.tcp_nodelay) {
        std::vector<detail::Endpoint> endpoints;
        for (const auto& b : brokers_) endpoints.push_back({b.host, b.port});
        detail::disable_nagle(endpoints);
    }
    publish_presence_online();
    set_state(ConnectionState::Connected, Status::Ok, "");
    pump();
    ls.next_scan = Clock::now();
    ls.phase = Phase::Serving;
}

void Client::Impl::publish_presence_online() {
    if (opts_.presence.topic.empty()) return;
    try {
        paho_->publish(opts_.presence.topic, opts_.presence.online.data(), opts_.presence.online.size(), 1, true);
    } catch (const mqtt::exception& e) {
        log_.warning(std::string("publishing the online presence failed: ") + e.what());
    }
}

// ---- Serving --------------------------------------------------------------------------------

std::optional<Clock::time_point> Client::Impl::step_serving() {
    auto& ls = loop_state_;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (draining_ && !stop_ &&
            ((outbox_.empty() && inflight_.empty()) || lost_ || Clock::now() >= drain_deadline_)) {
            // A disconnect_async() has waited long enough: stop as disconnect() does.
            draining_ = false;
            stop_ = true;
        }
        if (stop_) {
            lock.unlock();
            ls.close_step = 0;
            ls.phase = Phase::Closing;
            return std::nullopt;
        }
        if (lost_) {
            lock.unlock();
            if (Clock::now() - connected_at_ >= kStableConnection) ls.backoff->reset();
            handle_loss();
            std::string why;
            {
                std::lock_guard<std::mutex> again(mu_);
                why = lost_cause_;
            }
            enter_backoff(Status::NotConnected, why);
            return std::nullopt;
        }
        if (pump_) {
            pump_ = false;
            lock.unlock();
            pump();
            lock.lock();
            continue;
        }
        const auto now = Clock::now();
        if (now >= ls.next_scan) {
            ls.next_scan = now + kExpiryScanInterval;
            std::vector<OutgoingMessage> timed_out, failed;
            expire_inflight(timed_out, failed);
            if (!timed_out.empty() || !failed.empty()) {
                lock.unlock();
                if (!timed_out.empty())
                    log_.warning(std::to_string(timed_out.size()) + " publish(es) not acknowledged within " +
                                 std::to_string(opts_.ack_timeout.count()) + " ms");
                if (!failed.empty())
                    log_.warning(std::to_string(failed.size()) + " publish(es) failed while connected");
                for (auto& m : timed_out) complete(m, Status::Timeout);
                for (auto& m : failed) complete(m, Status::ProtocolError);
                lock.lock();
                continue;
            }
        }
        auto wake = now + std::chrono::seconds(1);
        if (!inflight_.empty()) wake = std::min(wake, std::max(ls.next_scan, inflight_.begin()->second.deadline));
        if (draining_) wake = std::min(wake, drain_deadline_);
        return wake;
    }
}

void Client::Impl::expire_inflight(std::vector<OutgoingMessage>& timed_out, std::vector<OutgoingMessage>& failed) {
    const auto now = Clock::now();
    for (auto it = inflight_.begin(); it != inflight_.end();) {
        if (it->second.deadline <= now) {
            timed_out.push_back(std::move(it->second.message));
        } else if (it->second.failed && now - it->second.failed_at >= kFailureGrace) {
            failed.push_back(std::move(it->second.message));
        } else {
            ++it;
            continue;
        }
        it = inflight_.erase(it);
        pump_ = true;
    }
    counters_.ack_timeouts += timed_out.size();
}

void Client::Impl::handle_loss() {
    std::size_t resent;
    std::string cause;
    {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<OutgoingMessage> back;
        for (auto& [ticket, f] : inflight_) back.push_back(std::move(f.message));
        inflight_.clear();
        resent = back.size();
        outbox_.push_front(std::move(back));
        counters_.resent += resent;
        cause = lost_cause_;
    }
    log_.warning("lost the connection to " + brokers_text_ + " (" + cause + "); " + std::to_string(resent) +
                 " unacknowledged message(s) will be sent again");
    set_state(ConnectionState::Disconnected, Status::NotConnected, cause);
}

// ---- Closing and ending ---------------------------------------------------------------------

std::optional<Clock::time_point> Client::Impl::step_closing(TimePoint now) {
    // One budget for the whole close, and every wait ends as soon as the connection is known to
    // be gone: a dead broker answers nothing.
    auto& ls = loop_state_;
    bool lost;
    {
        std::lock_guard<std::mutex> lock(mu_);
        lost = lost_;
    }
    switch (ls.close_step) {
        case 0:  // the UNSUBACKs still due (Paho C 1.3.12 leaks one that arrives during the destroy)
            ls.close_deadline = now + kCloseBudget;
            ls.awaited.clear();
            {
                std::lock_guard<std::mutex> lock(mu_);
                ls.awaited.swap(unacked_unsubscribes_);
            }
            ls.close_step = 1;
            [[fallthrough]];
        case 1:
            if (!awaited_complete(ls.awaited, nullptr) && !lost && now < ls.close_deadline - kDisconnectShare)
                return ls.close_deadline - kDisconnectShare;
            ls.awaited.clear();
            if (!opts_.presence.topic.empty()) {
                try {
                    ls.awaited.push_back(paho_->publish(opts_.presence.topic, opts_.presence.offline.data(),
                                                        opts_.presence.offline.size(), 1, true, nullptr,
                                                        wake_listener_));
                } catch (const mqtt::exception& e) {
                    log_.debug(std::string("publishing the offline presence failed: ") + e.what());
                }
            }
            ls.close_step = 2;
            [[fallthrough]];
        case 2: {
            std::string error;
            if (!awaited_complete(ls.awaited, &error) && !lost && now < ls.close_deadline - kDisconnectShare)
                return ls.close_deadline - kDisconnectShare;
            if (!error.empty()) log_.debug("publishing the offline presence failed: " + error);
            ls.awaited.clear();
            try {
                ls.awaited.push_back(paho_->disconnect(0, nullptr, wake_listener_));
            } catch (const mqtt::exception& e) {
                log_.debug(std::string("disconnect: ") + e.what());
            }
            ls.deadline = std::max(ls.close_deadline, now + kDisconnectShare);
            ls.close_step = 3;
            [[fallthrough]];
        }
        case 3: {
            std::string error;
            if (!awaited_complete(ls.awaited, &error) && !lost && now < ls.deadline) return ls.deadline;
            if (!error.empty()) log_.debug("disconnect: " + error);
            ls.awaited.clear();
            break;
        }
        default: break;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<OutgoingMessage> back;
        for (auto& [ticket, f] : inflight_) back.push_back(std::move(f.message));
        inflight_.clear();
        outbox_.push_front(std::move(back));
    }
    ls.close_step = 4;  // the DISCONNECT is done: step_ending() sends none
    ls.phase = Phase::Ending;
    return std::nullopt;
}

std::optional<Clock::time_point> Client::Impl::step_ending(TimePoint now) {
    auto& ls = loop_state_;
    // Stopped while connecting or waiting: make sure nothing stays open.
    if (ls.close_step != 4) {
        ls.close_step = 4;
        ls.awaited.clear();
        try {
            if (paho_->is_connected()) {
                ls.awaited.push_back(paho_->disconnect(0, nullptr, wake_listener_));
                ls.deadline = now + kEndingDisconnect;
            }
        } catch (const mqtt::exception&) {
        }
    }
    if (!ls.awaited.empty() && !awaited_complete(ls.awaited, nullptr) && now < ls.deadline) return ls.deadline;
    ls.awaited.clear();
    set_state(ConnectionState::Disconnected, Status::Ok, "disconnected");
    std::vector<std::uint64_t> waiters;
    {
        // stop_ stays set, so that start() ends this loop before it starts another.
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
        running_ = false;
        draining_ = false;
        waiters.swap(disconnect_waiters_);
        cv_.notify_all();
    }
    for (const auto id : waiters) operations_.finish(id, OperationResult{Status::Ok, "", ""});
    ls.phase = Phase::Ended;
    return TimePoint::max();
}

// ---- State changes --------------------------------------------------------------------------

void Client::Impl::set_state(ConnectionState state, Status reason, const std::string& message,
                             milliseconds retry_in, unsigned attempt) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        state_ = state;
        cv_.notify_all();
    }
    switch (state) {
        case ConnectionState::Connected: log_.info("connected to " + brokers_text_ + " as '" + client_id_ + "'"); break;
        case ConnectionState::Reconnecting:
            log_.info("reconnecting in " + std::to_string(retry_in.count()) + " ms (attempt " +
                      std::to_string(attempt + 1) + ")");
            break;
        case ConnectionState::Disconnected: log_.info(message.empty() ? "disconnected" : message); break;
        case ConnectionState::Connecting: break;
    }
    if (state == ConnectionState::Connected) finish_connect_waiters(OperationResult{Status::Ok, "", ""});
    if (state == ConnectionState::Disconnected)
        finish_connect_waiters(OperationResult{Status::Canceled, "connect was interrupted by disconnect", ""});
    ConnectionEvent ev{state, reason, message, brokers_text_, retry_in, attempt};
    if (opts_.on_connection)
        post_callback("the connection callback", [this, ev] { opts_.on_connection(ev); });
    std::vector<std::weak_ptr<ConnectionListener>> listeners;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [id, l] : listeners_) listeners.push_back(l);
    }
    if (listeners.empty()) return;
    // Looked up again when the task runs, so a listener removed meanwhile is not called.
    post_callback("a connection listener", [ev, listeners = std::move(listeners)] {
        for (const auto& weak : listeners)
            if (auto l = weak.lock()) (*l)(ev);
    });
}

}  // namespace twinlink
