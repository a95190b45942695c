// completion.hpp — Promises that another thread settles.
//
// An operation that waits (connect, a shadow request, flush, a publish's acknowledgement) returns a
// Promise at once. Whatever finishes it — a pool thread that made a blocking C call, or a C
// completion callback on twinlink's dispatcher thread — hands an Outcome to Pending::Settle(), and
// the environment's thread-safe function resolves or rejects the Promise on the JS thread. A
// pending Promise keeps the process alive, as a pending fs or socket request does.
//
// Blocking() is the pool variant, for calls the C ABI has no completion variant of. Completed()
// starts a tl_*_start operation instead: no thread waits while it runs.
#pragma once

#include <napi.h>
#include <twinlink.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "pool.hpp"

namespace twinlink_node {

// How an operation ended. Built on any thread; `value` runs on the JS thread.
struct Outcome {
    tl_status status = TL_OK;
    std::string message;                            // tl_last_error() of the failed call
    std::function<Napi::Value(Napi::Env)> value;    // the resolved value; empty: undefined

    // `status`, with tl_last_error() of this thread when it is an error.
    static Outcome Of(tl_status status);
};

class Completions;

class Pending {
public:
    // JS thread: a new Promise (written to *promise), pending until Settle().
    static Pending* Begin(Napi::Env env, Napi::Promise* promise);
    // Any thread, exactly once; `pending` is consumed.
    static void Settle(Pending* pending, Outcome outcome);

private:
    friend class Completions;
    Pending(Napi::Env env, std::shared_ptr<Completions> sink);

    Napi::Promise::Deferred deferred_;
    std::shared_ptr<Completions> sink_;
    Outcome outcome_;
};

// One per environment (see addon_data.hpp).
class Completions : public std::enable_shared_from_this<Completions> {
public:
    static std::shared_ptr<Completions> New(Napi::Env env);

private:
    friend class Pending;
    static void CallJs(Napi::Env env, Napi::Function, Completions* self, Pending* pending);
    void Started(Napi::Env env);
    void Post(Pending* pending);

    using Tsfn = Napi::TypedThreadSafeFunction<Completions, Pending, &Completions::CallJs>;
    Tsfn tsfn_;
    std::mutex mutex_;
    bool open_ = true;    // guarded by mutex_; false once the environment tears the function down
    size_t pending_ = 0;  // JS thread only
};

// Runs `work` (returning an Outcome) on the pool and returns its Promise. `work` must be copyable.
template <class Work>
Napi::Promise Blocking(Napi::Env env, Work work) {
    Napi::Promise promise;
    Pending* pending = Pending::Begin(env, &promise);
    RunBlocking([pending, work = std::move(work)]() mutable {
        Outcome outcome;
        try {
            outcome = work();
        } catch (const std::exception& e) {
            outcome.status = TL_EINTERNAL;
            outcome.message = e.what();
        }
        Pending::Settle(pending, std::move(outcome));
    });
    return promise;
}

// Starts an operation of the C ABI that reports through a tl_completion_cb and returns its Promise.
// `start(callback, user_data, destroy)` calls the tl_*_start function. `keep` (the handle's
// Lease) is held until the operation ends. With `document`, the Promise resolves to the JSON text
// the completion carries (undefined when none); otherwise to undefined.
template <class Keep, class Start>
Napi::Promise Completed(Napi::Env env, Keep keep, bool document, Start start) {
    struct Operation {
        Pending* pending;
        Keep keep;
        bool document;
    };
    Napi::Promise promise;
    Pending* pending = Pending::Begin(env, &promise);
    auto* op = new Operation{pending, std::move(keep), document};
    const tl_completion_cb done = [](const tl_completion* c, void* user_data) {
        auto* op = static_cast<Operation*>(user_data);
        Outcome outcome;
        outcome.status = c->status;
        if (c->status != TL_OK) {
            outcome.message = c->message != nullptr ? c->message : "";
        } else if (op->document && c->document != nullptr) {
            outcome.value = [json = std::string(c->document)](Napi::Env env) -> Napi::Value {
                return Napi::String::New(env, json);
            };
        }
        Pending::Settle(std::exchange(op->pending, nullptr), std::move(outcome));
    };
    const tl_destroy_cb destroy = [](void* user_data) { delete static_cast<Operation*>(user_data); };
    // On failure the C library has run `destroy` already and will not call `done`.
    const tl_status status = start(done, op, destroy);
    if (status != TL_OK) Pending::Settle(pending, Outcome::Of(status));
    return promise;
}

}  // namespace twinlink_node
