// The connection thread: connect, resubscribe, drain, watch acknowledgements, and reconnect with
// backoff until the client is stopped.
#include "mqtt/client_impl.hpp"

#include <algorithm>

#include "mqtt/reconnect_backoff.hpp"
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

}  // namespace

void Client::Impl::run() {
    detail::ReconnectBackoff backoff(opts_.reconnect_min, opts_.reconnect_max);
    unsigned failed_attempts = 0;
    for (;;) {
        if (stop_requested()) break;
        set_state(ConnectionState::Connecting, Status::Ok, "", milliseconds(0), failed_attempts);
        Status reason;
        std::string why;
        if (attempt_connect(failed_attempts)) {
            failed_attempts = 0;
            if (serve() == ServeEnd::Stop) {
                close_gracefully();
                break;
            }
            if (Clock::now() - connected_at_ >= kStableConnection) backoff.reset();
            handle_loss();
            reason = Status::NotConnected;
            std::lock_guard<std::mutex> lock(mu_);
            why = lost_cause_;
        } else {
            ++failed_attempts;
            std::lock_guard<std::mutex> lock(mu_);
            reason = last_failure_.status;
            why = last_failure_.message;
        }
        if (stop_requested()) break;
        const milliseconds delay = backoff.next();
        set_state(ConnectionState::Reconnecting, reason, why, delay, failed_attempts);
        wait_backoff(delay);
    }
    // Stopped while connecting or waiting: make sure nothing stays open.
    try {
        if (paho_->is_connected()) wait_token(paho_->disconnect(0), milliseconds(1000));
    } catch (const mqtt::exception&) {
    }
    set_state(ConnectionState::Disconnected, Status::Ok, "disconnected");
    std::vector<std::uint64_t> waiters;
    {
        // stop_ stays set, so that start() joins this thread before it starts another.
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
        running_ = false;
        draining_ = false;
        waiters.swap(disconnect_waiters_);
    }
    for (const auto id : waiters) operations_.finish(id, OperationResult{Status::Ok, "", ""});
}

bool Client::Impl::wait_token(const mqtt::token_ptr& token, milliseconds timeout) {
    // Sliced so a stop request is noticed within 50 ms; throws mqtt::exception when the token failed.
    const auto deadline = Clock::now() + timeout;
    while (!token->wait_for(milliseconds(50))) {
        if (Clock::now() >= deadline || stop_requested()) return false;
    }
    return true;
}

bool Client::Impl::wait_unless_lost(const mqtt::token_ptr& token, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!token->wait_for(milliseconds(20))) {
        if (Clock::now() >= deadline) return false;
        std::lock_guard<std::mutex> lock(mu_);
        if (lost_) return false;
    }
    return true;
}

bool Client::Impl::attempt_connect(unsigned attempt) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        tls_error_.clear();
        lost_ = false;
    }
    if (opts_.tls.insecure)
        log_.warning("TLS server certificate verification is off (tls.insecure): anyone can impersonate the broker");
    log_.debug("connecting to " + brokers_text_ + " as '" + client_id_ + "' (attempt " + std::to_string(attempt + 1) + ")");
    std::optional<detail::ConnectFailure> failure;
    try {
        // Paho C++ 1.2 gives Paho C a TLS error callback whose context is the by-value
        // connect_options parameter of async_client::connect(), an object that lives until the end
        // of the full-expression calling connect(). So the attempt is awaited inside that same
        // full-expression, until its token has completed.
        if (await_connect(paho_->connect(connect_options_), failure)) return finish_connect();
    } catch (const mqtt::exception& e) {
        failure = detail::classify_connect_failure(e, brokers_, brokers_text_, opts_.tls, current_tls_error());
    }
    if (!failure) return false;  // stopped
    ++counters_.connect_failures;
    {
        std::lock_guard<std::mutex> lock(mu_);
        ++failures_;
        last_failure_ = *failure;
        cv_.notify_all();
    }
    if (failure->permanent()) finish_connect_waiters(OperationResult{failure->status, failure->message, ""});
    log_.warning(failure->message);
    return false;
}

std::string Client::Impl::current_tls_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tls_error_;
}

bool Client::Impl::await_connect(const mqtt::token_ptr& tok, std::optional<detail::ConnectFailure>& failure) {
    const auto budget = opts_.connect_timeout * static_cast<int>(brokers_.size()) + milliseconds(2000);
    const auto deadline = Clock::now() + budget;
    // Once abandoned (stop requested, TLS already failed, or past the budget), the attempt is
    // aborted and still awaited briefly, so that the token normally completes in here.
    std::optional<Clock::time_point> abandoned_at;
    bool stopping = false;
    std::string tls_error;
    for (;;) {
        try {
            if (tok->wait_for(milliseconds(50))) break;
        } catch (const mqtt::exception& e) {
            if (!stop_requested())
                failure = detail::classify_connect_failure(e, brokers_, brokers_text_, opts_.tls, current_tls_error());
            return false;
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping = stop_;
            tls_error = tls_error_;
        }
        const auto now = Clock::now();
        if (abandoned_at) {
            if (now - *abandoned_at >= milliseconds(2000)) break;
            continue;
        }
        if (stopping || !tls_error.empty() || now >= deadline) {
            abandoned_at = now;
            try {
                paho_->disconnect(0);
            } catch (const mqtt::exception&) {
            }
        }
    }
    if (!abandoned_at) return true;
    if (stopping) return false;
    if (!tls_error.empty())
        failure = detail::tls_failure(brokers_, brokers_text_, opts_.tls, tls_error);
    else
        failure = detail::ConnectFailure{Status::Timeout, "connecting to " + brokers_text_ + " timed out"};
    return false;
}

bool Client::Impl::finish_connect() {
    // Subscribe again to everything, then go Connected in the same critical section that checks
    // no subscription was added meanwhile: a concurrent subscribe() either is in the snapshot or
    // sees Connected and sends its own SUBSCRIBE.
    for (;;) {
        std::uint64_t generation;
        std::vector<detail::SubscriptionTable::Filter> filters;
        {
            std::lock_guard<std::mutex> lock(mu_);
            generation = subs_.generation();
            filters = subs_.filters();
        }
        if (!filters.empty()) resubscribe(filters);
        std::unique_lock<std::mutex> lock(mu_);
        if (subs_.generation() != generation) continue;
        // Counted before Connected is visible: a connect() that returns sees its connection in stats().
        ++counters_.connects;
        if (ever_connected_) ++counters_.reconnects;
        ever_connected_ = true;
        state_ = ConnectionState::Connected;
        connected_at_ = Clock::now();
        cv_.notify_all();
        lock.unlock();
        if (opts_.tcp_nodelay) {
            std::vector<detail::Endpoint> endpoints;
            for (const auto& b : brokers_) endpoints.push_back({b.host, b.port});
            detail::disable_nagle(endpoints);
        }
        publish_presence_online();
        set_state(ConnectionState::Connected, Status::Ok, "");
        pump();
        return true;
    }
}

void Client::Impl::resubscribe(const std::vector<detail::SubscriptionTable::Filter>& filters) {
    try {
        std::vector<mqtt::token_ptr> tokens;
        if (opts_.mqtt_version == MqttVersion::V5) {
            // One subscription identifier per SUBSCRIBE packet, so one packet per filter.
            for (const auto& f : filters) tokens.push_back(subscribe_request(f.filter, f.qos, f.identifier));
        } else {
            auto names = std::make_shared<mqtt::string_collection>();
            std::vector<int> qos;
            for (const auto& f : filters) {
                names->push_back(f.filter);
                qos.push_back(f.qos);
            }
            tokens.push_back(paho_->subscribe(names, qos));
        }
        // A refused filter is not reported per filter: Paho C++ 1.2's SUBACK reason codes are
        // unreliable, so they are not read.
        for (const auto& tok : tokens)
            if (!wait_token(tok, opts_.operation_timeout)) throw mqtt::exception(MQTTASYNC_FAILURE, "no SUBACK in time");
    } catch (const mqtt::exception& e) {
        if (paho_->is_connected())
            log_.warning(std::string("the broker refused a subscription after connect: ") + e.what());
        else  // serve() will see lost_ and start over
            on_connection_lost(std::string("subscribing after connect failed: ") + e.what());
    }
}

void Client::Impl::publish_presence_online() {
    if (opts_.presence.topic.empty()) return;
    try {
        paho_->publish(opts_.presence.topic, opts_.presence.online.data(), opts_.presence.online.size(), 1, true);
    } catch (const mqtt::exception& e) {
        log_.warning(std::string("publishing the online presence failed: ") + e.what());
    }
}

Client::Impl::ServeEnd Client::Impl::serve() {
    auto next_scan = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (draining_ && !stop_ &&
            ((outbox_.empty() && inflight_.empty()) || lost_ || Clock::now() >= drain_deadline_)) {
            // A disconnect_async() has waited long enough: stop as disconnect() does.
            draining_ = false;
            stop_ = true;
        }
        if (stop_) return ServeEnd::Stop;
        if (lost_) return ServeEnd::Lost;
        if (pump_) {
            pump_ = false;
            lock.unlock();
            pump();
            lock.lock();
            continue;
        }
        auto now = Clock::now();
        if (now >= next_scan) {
            next_scan = now + kExpiryScanInterval;
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
        if (!inflight_.empty()) wake = std::min(wake, std::max(next_scan, inflight_.begin()->second.deadline));
        if (draining_) wake = std::min(wake, drain_deadline_);
        cv_.wait_until(lock, wake);
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

void Client::Impl::close_gracefully() {
    // One budget for the whole close, and every wait ends as soon as the connection is known to
    // be gone: a dead broker answers nothing.
    const auto deadline = Clock::now() + kCloseBudget;
    std::vector<mqtt::token_ptr> unsubscribes;
    {
        std::lock_guard<std::mutex> lock(mu_);
        unsubscribes.swap(unacked_unsubscribes_);
    }
    for (const auto& token : unsubscribes) {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) - kDisconnectShare;
        if (left <= milliseconds(0)) break;
        try {
            wait_unless_lost(token, left);
        } catch (const mqtt::exception&) {
            // refused or cut short: acknowledged all the same, nothing is left to arrive
        }
    }
    if (!opts_.presence.topic.empty()) {
        try {
            auto tok = paho_->publish(opts_.presence.topic, opts_.presence.offline.data(),
                                      opts_.presence.offline.size(), 1, true);
            const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) - kDisconnectShare;
            wait_unless_lost(tok, std::max(left, milliseconds(0)));
        } catch (const mqtt::exception& e) {
            log_.debug(std::string("publishing the offline presence failed: ") + e.what());
        }
    }
    try {
        const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        wait_unless_lost(paho_->disconnect(0), std::max(left, kDisconnectShare));
    } catch (const mqtt::exception& e) {
        log_.debug(std::string("disconnect: ") + e.what());
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<OutgoingMessage> back;
    for (auto& [ticket, f] : inflight_) back.push_back(std::move(f.message));
    inflight_.clear();
    outbox_.push_front(std::move(back));
}

void Client::Impl::wait_backoff(milliseconds delay) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, delay, [&] { return stop_; });
}

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
