// completion.hpp — Promises that another thread settles.
//
// An operation that waits (connect, a shadow request, flush, a publish's acknowledgement) returns a
// Promise at once. Whatever finishes it — a pool thread that made a blocking C call, or a C
// completion callback on twinlink's dispatcher thread — hands an Outcome to Pending::Settle(), and
// the environment's thread-safe function resolves or rejects the Promise on the JS thread. A
// pending Promise keeps the process alive, as a pending fs or socket request does.
//
// Blocking() is the pool variant. When the C ABI gains completion-callback variants of connect,
// the shadow requests and flush, only the functions that call Blocking() change: they pass the
// Pending as the callback's user_data instead.
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

}  // namespace twinlink_node
