// Shadow: the device-side (and backend-side) sync engine over a Client.
//
// Responses are matched on the network thread (Delivery::Direct), so a blocking call made from a
// dispatcher callback is answered without needing the dispatcher. Everything user-visible (delta and
// change handlers) is posted to the dispatcher. A timer loop (detail::TimedLoop) sends the update
// that follows an answered one, resends unanswered updates and writes the persisted document,
// keeping publishes and file I/O off the network thread. It runs on a thread of its own, or, when
// the client has a Runtime, on the runtime's network threads and timer thread, so shadows on a
// runtime add no thread. No publish is made while mu_ is held.
//
// Reports and desires made while an update is in flight, or offline, wait in PendingUpdates: folded
// into one update where that is exact, in several consecutive ones where one merge patch cannot say
// what they do in turn (pending_updates.hpp). One update is in flight at a time, so the cloud
// applies them in the order they were made, and the local copy (state()) applies them in the same
// order.
#include "twinlink/shadow.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <set>
#include <mutex>
#include <optional>
#include <vector>

#include "common/runtime_impl.hpp"
#include "common/timed_loop.hpp"
#include "shadow/json_nesting.hpp"
#include "shadow/pending_updates.hpp"
#include "shadow/shadow_file.hpp"
#include "twinlink/shadow_document.hpp"
#include "twinlink/uuid7.hpp"

namespace twinlink {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

Status status_for_code(int code) {
    if (code == 409) return Status::Conflict;
    if (code == 404) return Status::NotFound;
    return Status::Rejected;
}

std::uint64_t version_of(const json& msg) {
    const auto it = msg.find("version");
    return it != msg.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::int64_t timestamp_of(const json& msg) {
    const auto it = msg.find("timestamp");
    return it != msg.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

// The code of a rejection: 500 unless it is an integer in the range of HTTP-style codes, so a
// response whose "code" is a string, a float or huge still fails its request at once.
int code_of(const json& msg) {
    const auto it = msg.find("code");
    if (it == msg.end() || !it->is_number_integer()) return 500;
    const auto code = it->get<std::int64_t>();
    return code >= 100 && code <= 599 ? static_cast<int>(code) : 500;
}

std::string message_of(const json& msg) {
    const auto it = msg.find("message");
    if (it == msg.end()) return "no message";
    return it->is_string() ? it->get<std::string>() : "malformed message " + it->dump();
}

std::string token_of(const json& msg) {
    const auto it = msg.find("clientToken");
    return it != msg.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json section(const json& state, const char* name) {
    const auto it = state.find(name);
    return it != state.end() && it->is_object() ? *it : json::object();
}

ShadowState state_from_document(const json& doc) {
    ShadowState s;
    const json state = doc.contains("state") && doc["state"].is_object() ? doc["state"] : json::object();
    s.desired = section(state, "desired");
    s.reported = section(state, "reported");
    s.delta = section(state, "delta");
    s.version = version_of(doc);
    s.timestamp = timestamp_of(doc);
    s.exists = doc.contains("state");
    return s;
}

}  // namespace

ShadowRequestError::ShadowRequestError(int code, const std::string& message)
    : Error(status_for_code(code), message), code_(code) {}

class Shadow::Impl : public std::enable_shared_from_this<Impl> {
public:
    struct Result {
        Status status = Status::Ok;
        int code = 0;
        std::string message;
        json payload;
    };

    Impl(Client& client, ShadowOptions options)
        : client_(client),
          opts_(std::move(options)),
          topics_(opts_.profile, opts_.device, opts_.name, opts_.prefix),
          timer_(client.runtime() ? client.runtime()->impl()->network : nullptr,
                 client.runtime() ? client.runtime()->impl()->timers : nullptr, [this] { return timer_pass(); }) {
        if (opts_.request_timeout < milliseconds(100))
            throw Error(Status::InvalidArgument, "shadow request_timeout must be at least 100 ms");
        if (!opts_.persist_path.empty()) {
            file_.emplace(opts_.persist_path);
            load_persisted();
        }
        const auto op = [&](ShadowOperation o) {
            return std::pair{topics_.accepted(o), topics_.rejected(o)};
        };
        std::tie(update_accepted_, update_rejected_) = op(ShadowOperation::Update);
        std::tie(get_accepted_, get_rejected_) = op(ShadowOperation::Get);
        std::tie(delete_accepted_, delete_rejected_) = op(ShadowOperation::Delete);
    }

    void start() {
        std::weak_ptr<Impl> weak = weak_from_this();
        const auto handler = [weak](const MessageView& m) {
            if (auto self = weak.lock()) self->on_message(m);
        };
        // Three filters cover accepted/rejected of every operation plus delta and documents.
        for (const auto op : {ShadowOperation::Update, ShadowOperation::Get, ShadowOperation::Delete})
            sub_ids_.push_back(client_.subscribe(topics_.request(op) + "/+", 1, handler, Delivery::Direct));
        listener_id_ = client_.add_connection_listener([weak](const ConnectionEvent& ev) {
            if (auto self = weak.lock()) self->on_connection(ev.state == ConnectionState::Connected);
        });
        timer_.start();
        if (client_.connected()) on_connection(true);
    }

    void shutdown() {
        client_.remove_connection_listener(listener_id_);
        for (auto id : sub_ids_) {
            try {
                client_.unsubscribe(id);
            } catch (const Error&) {
            }
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
            cv_.notify_all();
        }
        // Not under mu_: stop() waits for a pass in progress, which takes mu_.
        timer_.stop();
        std::vector<std::uint64_t> ops;
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [gen, op] : generation_ops_) ops.push_back(op);
            for (const auto& [token, op] : request_ops_) ops.push_back(op);
            generation_ops_.clear();
            request_ops_.clear();
        }
        for (const auto op : ops)
            client_.finish_operation(op, OperationResult{Status::Canceled, "the shadow was closed", ""});
        persist_now();
    }

    // ---- merged updates (report / desire) ----

    /// Queues an update; its generation. With `waiter`, a report()/desire() caller is about to
    /// wait_generation() for it: its result is kept until that caller has taken it.
    std::uint64_t enqueue(std::optional<json> desired, std::optional<json> reported,
                          std::uint64_t operation = 0, bool waiter = false) {
        ShadowUpdate u;
        u.desired = desired;
        u.reported = reported;
        if (const auto err = validate_update(u))
            throw Error(Status::InvalidArgument, "invalid shadow document: " + err->message);
        std::vector<std::string> logs;
        std::uint64_t gen;
        std::optional<std::string> out;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) throw Error(Status::Canceled, "the shadow is shutting down");
            gen = pending_.add(std::move(desired), std::move(reported));
            if (operation) generation_ops_.emplace(gen, operation);
            if (waiter) waiters_.insert(gen);
            dirty_ = true;
            out = take_pending_locked();
        }
        if (out) publish_update(*out, logs);
        emit(logs);
        timer_.poke();
        return gen;
    }

    json wait_generation(std::uint64_t gen, milliseconds timeout) {
        std::unique_lock<std::mutex> lock(mu_);
        const Result* found = nullptr;
        const bool done = cv_.wait_for(lock, timeout, [&] {
            const auto it = results_.lower_bound(gen);
            found = it != results_.end() ? &it->second : nullptr;
            return found || stop_;
        });
        // The result is a copy: another caller folded into the same update may take it too.
        std::optional<Result> result;
        if (found) result = *found;
        forget_waiter_locked(gen);
        if (result) return take(*result);
        if (stop_) throw Error(Status::Canceled, "the shadow was closed while waiting for the cloud");
        (void)done;
        throw Error(Status::Timeout, "the shadow update was not accepted within " + std::to_string(timeout.count()) +
                                         " ms; it stays queued and will be sent " +
                                         (connected_ ? "again" : "after reconnect"));
    }

    // ---- asynchronous report / desire / get: completed by the matching response ----

    std::uint64_t start_update(std::optional<json> desired, std::optional<json> reported, milliseconds timeout,
                               OperationCallback done) {
        ShadowUpdate u;
        u.desired = desired;
        u.reported = reported;
        if (const auto err = validate_update(u))
            throw Error(Status::InvalidArgument, "invalid shadow document: " + err->message);
        std::weak_ptr<Impl> weak = weak_from_this();
        const std::uint64_t op = client_.begin_operation(
            timeout,
            "the shadow update was not accepted within " + std::to_string(timeout.count()) +
                " ms; it stays queued and will be sent when it can",
            std::move(done), [weak](std::uint64_t id) {
                if (auto self = weak.lock()) self->forget_operation(id);
            });
        try {
            enqueue(std::move(desired), std::move(reported), op);
        } catch (const Error& e) {
            client_.finish_operation(op, OperationResult{e.status(), e.what(), ""});
        }
        return op;
    }

    // get_start(), update_start(), remove_start(): one request, completed by the answer that
    // carries its token.
    std::uint64_t start_request(ShadowOperation what, json body, milliseconds timeout, OperationCallback done) {
        const std::string token = uuid7();
        body["clientToken"] = token;
        const std::string name = shadow_operation_name(what);
        std::weak_ptr<Impl> weak = weak_from_this();
        const std::uint64_t op = client_.begin_operation(
            timeout,
            "shadow " + name + ": no answer within " + std::to_string(timeout.count()) +
                " ms (is the shadow service running?)",
            std::move(done), [weak](std::uint64_t id) {
                if (auto self = weak.lock()) self->forget_operation(id);
            });
        std::optional<OperationResult> failed;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_)
                failed = OperationResult{Status::Canceled, "the shadow is shutting down", ""};
            else if (!connected_ && !client_.connected())
                failed = OperationResult{Status::NotConnected, "shadow " + name + ": not connected to the broker", ""};
            else
                request_ops_[token] = op;
        }
        if (!failed) {
            try {
                client_.publish(topics_.request(what), body.dump(), 1, false);
            } catch (const Error& e) {
                std::lock_guard<std::mutex> lock(mu_);
                request_ops_.erase(token);
                failed = OperationResult{e.status(), e.what(), ""};
            }
        }
        if (failed) client_.finish_operation(op, std::move(*failed));
        return op;
    }

    bool cancel_operation(std::uint64_t id) { return client_.cancel_operation(id); }

    // An operation ended by timeout or cancel: nothing more to complete for it.
    void forget_operation(std::uint64_t id) {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = generation_ops_.begin(); it != generation_ops_.end(); ++it)
            if (it->second == id) {
                generation_ops_.erase(it);
                return;
            }
        for (auto it = request_ops_.begin(); it != request_ops_.end(); ++it)
            if (it->second == id) {
                request_ops_.erase(it);
                return;
            }
    }

    static OperationResult operation_result(const Result& r) {
        return OperationResult{r.status, r.message, r.payload.is_null() ? std::string() : r.payload.dump()};
    }

    // ---- single requests (get, delete, versioned update) ----

    Result request(ShadowOperation op, json body, milliseconds timeout) {
        const std::string token = uuid7();
        body["clientToken"] = token;
        auto slot = std::make_shared<std::optional<Result>>();
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) throw Error(Status::Canceled, "the shadow is shutting down");
            // connected_ follows the connection listener, which runs on the dispatcher thread and
            // so may not have seen a connect() that just returned: ask the client as well.
            if (!connected_ && !client_.connected())
                throw Error(Status::NotConnected, std::string("shadow ") + shadow_operation_name(op) +
                                                      ": not connected to the broker");
            requests_[token] = slot;
        }
        try {
            client_.publish(topics_.request(op), body.dump(), 1, false);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mu_);
            requests_.erase(token);
            throw;
        }
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, timeout, [&] { return slot->has_value() || stop_; });
        requests_.erase(token);
        if (slot->has_value()) return **slot;
        if (stop_) throw Error(Status::Canceled, "the shadow was closed while waiting for the cloud");
        throw Error(Status::Timeout, std::string("shadow ") + shadow_operation_name(op) + ": no answer within " +
                                         std::to_string(timeout.count()) + " ms (is the shadow service running?)");
    }

    /// A wait_generation() for `gen` is over: results no remaining waiter can take go.
    void forget_waiter_locked(std::uint64_t gen) {
        const auto w = waiters_.find(gen);
        if (w != waiters_.end()) waiters_.erase(w);
        // A waiter for generation g takes the result of the first update at or after g.
        const auto keep_from = waiters_.empty() ? results_.end() : results_.lower_bound(*waiters_.begin());
        results_.erase(results_.begin(), keep_from);
    }

    static json take(const Result& r) {
        if (r.status == Status::Ok) return r.payload;
        if (r.code) throw ShadowRequestError(r.code, r.message);
        throw Error(r.status, r.message);
    }

    ShadowStats stats() const {
        ShadowStats s;
        s.messages = messages_.load();
        s.malformed = malformed_.load();
        return s;
    }

    ShadowState state() const {
        std::lock_guard<std::mutex> lock(mu_);
        ShadowState s = local_;
        // What the device has reported but the cloud has not confirmed yet.
        if (inflight_ && inflight_->update.reported) merge_state(s.reported, *inflight_->update.reported);
        for (const auto& u : pending_.updates())
            if (u.reported) merge_state(s.reported, *u.reported);
        return s;
    }

    std::uint64_t add_handler(std::optional<json::json_pointer> path, DeltaHandler delta, ChangeHandler change,
                              InitialDelta initial) {
        auto h = std::make_shared<Handler>();
        h->path = std::move(path);
        h->delta = std::move(delta);
        h->change = std::move(change);
        std::uint64_t id;
        std::function<void()> first;
        {
            std::lock_guard<std::mutex> lock(mu_);
            id = ++next_handler_;
            handlers_.emplace(id, h);
            // Taken together with the registration, under mu_: every delta raised after this
            // point reaches the handler as an event, and deliver() drops the one of the same
            // version, whichever of the two the dispatcher runs first.
            if (h->delta && initial == InitialDelta::Deliver) {
                if (auto pending = pending_delta_locked()) first = delta_event(h, pending->first, pending->second);
            }
        }
        // Posted, never called here: delta handlers run on the dispatcher, and the caller may
        // hold locks its handler takes.
        if (first) client_.dispatch(std::move(first));
        return id;
    }

    void remove_handler(std::uint64_t id) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            const auto it = handlers_.find(id);
            if (it == handlers_.end()) return;
            it->second->active = false;
            handlers_.erase(it);
        }
        client_.wait_for_callbacks();
    }

    const ShadowTopics& topics() const { return topics_; }

private:
    struct Inflight {
        std::string token;
        ShadowUpdate update;
        std::uint64_t generation;  // of the PendingUpdates::Update it was
        Clock::time_point deadline;
    };
    struct Handler {
        std::optional<json::json_pointer> path;
        DeltaHandler delta;
        ChangeHandler change;
        std::atomic<bool> active{true};
        std::uint64_t delivered = 0;  // the version of the last delta delivered; dispatcher thread only
    };
    using Events = std::vector<std::function<void()>>;

    void emit(const std::vector<std::string>& logs) {
        for (const auto& line : logs) client_.log(LogLevel::Warning, line);
    }

    // Takes what is pending into flight when nothing is in flight yet, and returns the payload to
    // publish. Under mu_. The caller publishes it with publish_update() after releasing mu_:
    // Client::publish enters Paho, whose lock is held while Paho delivers to our Direct handler,
    // which takes mu_.
    std::optional<std::string> take_pending_locked() {
        if (!sendable_locked()) return std::nullopt;
        detail::PendingUpdates::Update next = *pending_.take();
        Inflight f;
        f.token = uuid7();
        f.update.desired = std::move(next.desired);
        f.update.reported = std::move(next.reported);
        f.update.client_token = f.token;
        f.generation = next.generation;
        f.deadline = Clock::now() + opts_.request_timeout;
        std::string body = f.update.to_json().dump();
        inflight_ = std::move(f);
        return body;
    }

    // Publishes an update taken by take_pending_locked(). Not under mu_. When the client refuses
    // it (its queue is full), the update stays in flight and the timer sends it again at its
    // deadline, as for an unanswered one.
    void publish_update(const std::string& body, std::vector<std::string>& logs) {
        try {
            client_.publish(topics_.request(ShadowOperation::Update), body, 1, false);
        } catch (const Error& e) {
            logs.push_back(std::string("shadow: update deferred: ") + e.what() + "; trying again in " +
                           std::to_string(opts_.request_timeout.count()) + " ms");
        }
    }

    // Puts the in-flight update back in front of what is pending, for a resend. Under mu_. The
    // cloud may have applied it already (the answer was lost); applying an update twice in a row
    // does the same as once, so the resend is harmless.
    void requeue_inflight_locked() {
        if (!inflight_) return;
        pending_.put_back({std::move(inflight_->update.desired), std::move(inflight_->update.reported),
                           inflight_->generation});
        inflight_.reset();
    }

    void finish_inflight_locked(Result r) {
        // The operations of this update and of earlier ones folded into it (see put_back()).
        // finish_operation() only posts to the dispatcher, so it is safe here, on Paho's thread.
        if (!generation_ops_.empty()) {
            const OperationResult done = operation_result(r);
            const auto end = generation_ops_.upper_bound(inflight_->generation);
            for (auto it = generation_ops_.begin(); it != end; ++it) client_.finish_operation(it->second, done);
            generation_ops_.erase(generation_ops_.begin(), end);
        }
        // Kept only while a report()/desire() caller waits for this update or an earlier one
        // folded into it; asynchronous updates have their operations (above), or nobody.
        if (!waiters_.empty() && *waiters_.begin() <= inflight_->generation)
            results_[inflight_->generation] = std::move(r);
        while (results_.size() > 64) results_.erase(results_.begin());  // a bound, whatever happens
        inflight_.reset();
        cv_.notify_all();
        timer_.poke();  // the timer loop sends what is pending (see timer_pass)
    }

    // Whether take_pending_locked() would take something. Under mu_.
    bool sendable_locked() const {
        return connected_ && !inflight_ && !stop_ && !pending_.empty();
    }

    void on_connection(bool connected) {
        std::vector<std::string> logs;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) return;
            const bool was_connected = std::exchange(connected_, connected);
            if (!connected) {
                // A Connecting event that the dispatcher delivers after connect() returned: no
                // connection this shadow knew of was lost, so a request made meanwhile stands.
                if (!was_connected) return;
                requeue_inflight_locked();
                for (auto& [token, slot] : requests_)
                    if (!slot->has_value()) *slot = Result{Status::NotConnected, 0, "the connection was lost", {}};
                for (const auto& [token, op] : request_ops_)
                    client_.finish_operation(op, OperationResult{Status::NotConnected, "the connection was lost", ""});
                request_ops_.clear();
                cv_.notify_all();
                return;
            }
        }
        // Catch up: the subscriptions are in place (the client renews them before Connected).
        json body = json::object();
        body["clientToken"] = uuid7();
        try {
            client_.publish(topics_.request(ShadowOperation::Get), body.dump(), 1, false);
        } catch (const Error& e) {
            logs.push_back(std::string("shadow: catch-up get failed: ") + e.what());
        }
        std::optional<std::string> out;
        {
            std::lock_guard<std::mutex> lock(mu_);
            out = take_pending_locked();
        }
        if (out) publish_update(*out, logs);
        emit(logs);
    }

    // ---- incoming (network thread) ----

    void on_message(const MessageView& m) {
        ++messages_;
        // Before parsing: a deeply nested payload would overflow the stack in the recursive code
        // below (copies, merge_state, compute_delta).
        if (detail::json_nesting_exceeds(m.payload, detail::kMaxShadowMessageNesting)) {
            client_.log(LogLevel::Warning, "shadow: ignored a message nested more than " +
                                               std::to_string(detail::kMaxShadowMessageNesting) +
                                               " levels deep on '" + std::string(m.topic) + "'");
            ++malformed_;
            return;
        }
        json msg = json::parse(m.payload, nullptr, false);
        if (msg.is_discarded() || !msg.is_object()) {
            client_.log(LogLevel::Warning, "shadow: ignored a message that is not a JSON object on '" +
                                               std::string(m.topic) + "'");
            ++malformed_;
            return;
        }
        Events events;
        std::vector<std::string> logs;
        try {
            std::lock_guard<std::mutex> lock(mu_);
            if (stop_) return;
            route_locked(std::string(m.topic), msg, events, logs);
        } catch (const json::exception& e) {
            ++malformed_;
            logs.push_back("shadow: ignored a malformed message on '" + std::string(m.topic) + "': " + e.what());
        }
        emit(logs);
        for (auto& e : events) client_.dispatch(std::move(e));
    }

    void route_locked(const std::string& topic, const json& msg, Events& events, std::vector<std::string>& logs) {
        const std::string token = token_of(msg);
        const std::uint64_t version = version_of(msg);
        const auto resolve = [&](Result r) {
            if (inflight_ && token == inflight_->token) {
                finish_inflight_locked(std::move(r));
                return;
            }
            const auto op = request_ops_.find(token);
            if (op != request_ops_.end()) {
                client_.finish_operation(op->second, operation_result(r));
                request_ops_.erase(op);
                return;
            }
            const auto it = requests_.find(token);
            if (it != requests_.end()) {
                *it->second = std::move(r);
                cv_.notify_all();
            }
        };
        const auto rejection = [&](const char* what) {
            const int code = code_of(msg);
            return Result{status_for_code(code), code,
                          std::string("shadow ") + what + " rejected (" + std::to_string(code) + "): " + message_of(msg),
                          msg};
        };

        if (topic == update_accepted_) {
            // Only object or null sections merge (merge_state throws for others): a malformed one
            // must neither half-update the local copy nor leave the request unanswered.
            const auto mergeable = [&](const char* name) {
                const auto state = msg.find("state");
                if (state == msg.end() || !state->is_object()) return true;
                const auto section = state->find(name);
                return section == state->end() || section->is_object() || section->is_null();
            };
            if (version == local_.version + 1 && msg.contains("state") && mergeable("desired") &&
                mergeable("reported")) {
                const json& state = msg["state"];
                if (state.contains("desired")) merge_state(local_.desired, state["desired"]);
                if (state.contains("reported")) merge_state(local_.reported, state["reported"]);
                local_.delta = compute_delta(local_.desired, local_.reported);
                local_.version = version;
                local_.timestamp = timestamp_of(msg);
                local_.exists = true;
                changed_locked(events);
            } else if (!mergeable("desired") || !mergeable("reported")) {
                ++malformed_;
                logs.push_back("shadow: ignored an update/accepted whose desired or reported section is neither an "
                               "object nor null on '" + topic + "'");
            }
            resolve(Result{Status::Ok, 0, "", msg});
        } else if (topic == update_rejected_) {
            resolve(rejection("update"));
        } else if (topic == topics_.delta()) {
            if (version > last_delta_version_) {
                last_delta_version_ = version;
                deltas_locked(section(msg, "state"), version, events);
            }
        } else if (topic == topics_.documents()) {
            const json current = msg.value("current", json::object());
            if (version_of(current) > local_.version) {
                local_ = state_from_document(current);
                local_.delta = compute_delta(local_.desired, local_.reported);
                local_.timestamp = timestamp_of(msg);
                changed_locked(events);
            }
        } else if (topic == get_accepted_) {
            if (version >= local_.version) {
                local_ = state_from_document(msg);
                changed_locked(events);
                if (!local_.delta.empty() && version > last_delta_version_) {
                    last_delta_version_ = version;
                    deltas_locked(local_.delta, version, events);
                }
            }
            resolve(Result{Status::Ok, 0, "", msg});
        } else if (topic == get_rejected_) {
            if (code_of(msg) == 404) local_.exists = false;
            resolve(rejection("get"));
        } else if (topic == delete_accepted_) {
            if (version >= local_.version) {
                const std::uint64_t v = local_.version > version ? local_.version : version;
                local_ = ShadowState{};
                local_.version = v;
                local_.timestamp = timestamp_of(msg);
                changed_locked(events);
            }
            resolve(Result{Status::Ok, 0, "", msg});
        } else if (topic == delete_rejected_) {
            resolve(rejection("delete"));
        }
    }

    void changed_locked(Events& events) {
        dirty_ = true;
        timer_.poke();
        for (const auto& [id, h] : handlers_) {
            if (!h->change) continue;
            events.push_back([h, state = local_] {
                if (h->active) h->change(state);
            });
        }
    }

    void deltas_locked(const json& delta, std::uint64_t version, Events& events) {
        dirty_ = true;
        last_delta_ = delta;
        for (const auto& [id, h] : handlers_) {
            if (!h->delta) continue;
            if (auto event = delta_event(h, delta, version)) events.push_back(std::move(event));
        }
    }

    // The call of `h` for a delta: with the whole delta, or the value at its path; none when the
    // delta does not hold the path. For the dispatcher thread.
    static std::function<void()> delta_event(const std::shared_ptr<Handler>& h, const json& delta,
                                             std::uint64_t version) {
        if (!h->path) return [h, delta, version] { deliver(*h, delta, version); };
        if (!delta.contains(*h->path)) return {};
        return [h, value = delta.at(*h->path), version] { deliver(*h, value, version); };
    }

    // On the dispatcher thread, which runs a handler's calls one after another. A handler hears
    // each version at most once and in increasing order: the pending delta handed over at
    // registration and a delta event of the same version that raced with it are one delta.
    static void deliver(Handler& h, const json& value, std::uint64_t version) {
        if (!h.active || version <= h.delivered) return;
        h.delivered = version;
        h.delta(value, version);
    }

    // The newest delta the shadow knows of, and its version: that of the last delta event when
    // it is newer than the local copy (the event may arrive before the document it belongs to),
    // else the local copy's, when not empty. Under mu_.
    std::optional<std::pair<json, std::uint64_t>> pending_delta_locked() const {
        if (last_delta_ && last_delta_version_ > local_.version) return std::pair{*last_delta_, last_delta_version_};
        if (local_.exists && !local_.delta.empty()) return std::pair{local_.delta, local_.version};
        return std::nullopt;
    }

    // ---- timer loop: send the next update, resend unanswered ones, persist ----
    //
    // The update that follows an answered one is sent from here rather than from the network
    // thread that received the answer: Paho holds its own lock while it runs our handler, so a
    // publish from there could wait for a thread that is inside Paho waiting for that lock.

    /// One pass of timer_ (never two at once): resends the update in flight if its deadline has
    /// passed, sends what is pending, persists. Returns when the next pass is due: at once when
    /// there is work left, else the in-flight update's deadline, and at most a second from now.
    Clock::time_point timer_pass() {
        std::unique_lock<std::mutex> lock(mu_);
        if (stop_) return Clock::time_point::max();
        std::vector<std::string> logs;
        if (inflight_ && Clock::now() >= inflight_->deadline) {
            logs.push_back("shadow: the update to '" + topics_.root() + "' got no answer within " +
                           std::to_string(opts_.request_timeout.count()) + " ms; sending it again");
            requeue_inflight_locked();
        }
        const std::optional<std::string> out = take_pending_locked();
        lock.unlock();
        if (out) publish_update(*out, logs);
        emit(logs);
        persist_now();
        lock.lock();
        if (stop_) return Clock::time_point::max();
        // What would have woken the loop at once. dirty_ only matters with a file: persist_now()
        // clears it, and only when there is one. The changes that make it true poke timer_ too;
        // this covers those made while the pass ran before it read them.
        if ((dirty_ && file_) || sendable_locked()) return Clock::now();
        auto wake = Clock::now() + std::chrono::seconds(1);
        if (inflight_) wake = std::min(wake, inflight_->deadline);
        return wake;
    }

    void persist_now() {
        if (!file_) return;
        json content;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (!dirty_) return;
            dirty_ = false;
            content["document"] = {{"state", {{"desired", local_.desired}, {"reported", local_.reported}}},
                                   {"version", local_.version},
                                   {"timestamp", local_.timestamp},
                                   {"exists", local_.exists}};
            content["last_delta_version"] = last_delta_version_;
            // The updates still to send, in order, the one in flight first.
            json pending = pending_.to_json();
            if (inflight_)
                pending.insert(pending.begin(), detail::PendingUpdates::update_json(
                                                    {inflight_->update.desired, inflight_->update.reported, 0}));
            content["pending"] = std::move(pending);
        }
        try {
            file_->store(content);
        } catch (const Error& e) {
            client_.log(LogLevel::Error, std::string("shadow: ") + e.what());
        }
    }

    void load_persisted() {
        std::optional<json> content;
        try {
            content = file_->load();
        } catch (const Error& e) {
            // A damaged file must not stop the device: start from the cloud's copy instead.
            client_.log(LogLevel::Error, std::string("shadow: ") + e.what() + "; starting without it");
            return;
        }
        if (!content || !content->is_object()) return;
        try {
            const json& doc = content->value("document", json::object());
            local_ = state_from_document(doc);
            local_.exists = doc.value("exists", false);
            local_.delta = compute_delta(local_.desired, local_.reported);
            last_delta_version_ = content->value("last_delta_version", std::uint64_t{0});
            // An array of updates; a single object in files of earlier versions.
            pending_.load(content->value("pending", json::object()));
        } catch (const std::exception& e) {  // json::exception, or Error from PendingUpdates::load
            client_.log(LogLevel::Error, "shadow: the file '" + file_->path() + "' is malformed (" + e.what() +
                                             "); starting without it");
            local_ = ShadowState{};
            last_delta_version_ = 0;
            pending_.clear();
        }
    }

    Client& client_;
    const ShadowOptions opts_;
    const ShadowTopics topics_;
    std::string update_accepted_, update_rejected_, get_accepted_, get_rejected_, delete_accepted_, delete_rejected_;
    std::optional<detail::ShadowFile> file_;

    std::atomic<std::uint64_t> messages_{0}, malformed_{0};
    mutable std::mutex mu_;
    std::condition_variable cv_;  // waiters of results and requests
    bool stop_ = false;
    bool connected_ = false;
    bool dirty_ = false;  // the persisted file is behind
    ShadowState local_;
    std::uint64_t last_delta_version_ = 0;
    std::optional<json> last_delta_;  // the delta last raised (of last_delta_version_), in this process
    detail::PendingUpdates pending_;
    std::optional<Inflight> inflight_;
    std::map<std::uint64_t, Result> results_;  // by the generation of the update, while waited for
    std::multiset<std::uint64_t> waiters_;     // generations that report()/desire() callers wait for
    std::map<std::string, std::shared_ptr<std::optional<Result>>> requests_;
    std::multimap<std::uint64_t, std::uint64_t> generation_ops_;  // report_start() operations by generation
    std::map<std::string, std::uint64_t> request_ops_;             // start_request() operations by token
    std::map<std::uint64_t, std::shared_ptr<Handler>> handlers_;
    std::uint64_t next_handler_ = 0;

    std::vector<std::uint64_t> sub_ids_;
    std::uint64_t listener_id_ = 0;
    // Last: destroyed first, so no pass runs on a member already destroyed.
    detail::TimedLoop timer_;
};

// ---- Shadow ----------------------------------------------------------------------------------

Shadow::Shadow(Client& client, ShadowOptions options) : impl_(std::make_shared<Impl>(client, std::move(options))) {
    impl_->start();
}

Shadow::~Shadow() { impl_->shutdown(); }

json Shadow::report(const json& reported, milliseconds timeout) {
    return impl_->wait_generation(impl_->enqueue(std::nullopt, reported, 0, true), timeout);
}

void Shadow::report_async(const json& reported) { impl_->enqueue(std::nullopt, reported); }

std::uint64_t Shadow::report_start(const json& reported, milliseconds timeout, OperationCallback done) {
    return impl_->start_update(std::nullopt, reported, timeout, std::move(done));
}

std::uint64_t Shadow::desire_start(const json& desired, milliseconds timeout, OperationCallback done) {
    return impl_->start_update(desired, std::nullopt, timeout, std::move(done));
}

bool Shadow::cancel_operation(std::uint64_t id) { return impl_->cancel_operation(id); }

std::uint64_t Shadow::get_start(milliseconds timeout, OperationCallback done) {
    return impl_->start_request(ShadowOperation::Get, json::object(), timeout, std::move(done));
}

std::uint64_t Shadow::update_start(const ShadowUpdate& u, milliseconds timeout, OperationCallback done) {
    if (const auto err = validate_update(u))
        throw Error(Status::InvalidArgument, "invalid shadow update: " + err->message);
    ShadowUpdate copy = u;
    copy.client_token.reset();
    return impl_->start_request(ShadowOperation::Update, copy.to_json(), timeout, std::move(done));
}

std::uint64_t Shadow::remove_start(milliseconds timeout, OperationCallback done) {
    return impl_->start_request(ShadowOperation::Delete, json::object(), timeout, std::move(done));
}

json Shadow::desire(const json& desired, milliseconds timeout) {
    return impl_->wait_generation(impl_->enqueue(desired, std::nullopt, 0, true), timeout);
}

void Shadow::desire_async(const json& desired) { impl_->enqueue(desired, std::nullopt); }

json Shadow::update(const ShadowUpdate& u, milliseconds timeout) {
    if (const auto err = validate_update(u))
        throw Error(Status::InvalidArgument, "invalid shadow update: " + err->message);
    ShadowUpdate copy = u;
    copy.client_token.reset();
    return Impl::take(impl_->request(ShadowOperation::Update, copy.to_json(), timeout));
}

json Shadow::update_with(const UpdateBuilder& build, unsigned retries, milliseconds timeout) {
    if (!build) throw Error(Status::InvalidArgument, "update_with: the builder is empty");
    for (;;) {
        ShadowState current;
        try {
            current = get(timeout);
        } catch (const ShadowRequestError& e) {
            if (e.status() != Status::NotFound) throw;
        }
        ShadowUpdate u = build(current);
        u.version = current.version;
        try {
            return update(u, timeout);
        } catch (const ShadowRequestError& e) {
            if (e.status() != Status::Conflict || retries == 0) throw;
            --retries;
        }
    }
}

ShadowState Shadow::get(milliseconds timeout) {
    const json payload = Impl::take(impl_->request(ShadowOperation::Get, json::object(), timeout));
    return state_from_document(payload);
}

void Shadow::remove(milliseconds timeout) {
    Impl::take(impl_->request(ShadowOperation::Delete, json::object(), timeout));
}

ShadowState Shadow::state() const { return impl_->state(); }

ShadowStats Shadow::stats() const { return impl_->stats(); }

std::uint64_t Shadow::on_delta(DeltaHandler handler, InitialDelta initial) {
    if (!handler) throw Error(Status::InvalidArgument, "on_delta: the handler is empty");
    return impl_->add_handler(std::nullopt, std::move(handler), {}, initial);
}

std::uint64_t Shadow::on_delta(std::string_view pointer, DeltaHandler handler, InitialDelta initial) {
    if (!handler) throw Error(Status::InvalidArgument, "on_delta: the handler is empty");
    std::optional<json::json_pointer> path;
    try {
        path = json::json_pointer(std::string(pointer));
    } catch (const json::exception& e) {
        throw Error(Status::InvalidArgument, "on_delta: '" + std::string(pointer) +
                                                 "' is not a JSON pointer such as \"/led\": " + e.what());
    }
    return impl_->add_handler(std::move(path), std::move(handler), {}, initial);
}

std::uint64_t Shadow::on_change(ChangeHandler handler) {
    if (!handler) throw Error(Status::InvalidArgument, "on_change: the handler is empty");
    return impl_->add_handler(std::nullopt, {}, std::move(handler), InitialDelta::Skip);
}

void Shadow::remove_handler(std::uint64_t id) { impl_->remove_handler(id); }
const ShadowTopics& Shadow::topics() const { return impl_->topics(); }

}  // namespace twinlink
