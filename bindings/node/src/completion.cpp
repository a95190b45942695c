#include "completion.hpp"

#include "addon_data.hpp"
#include "errors.hpp"

namespace twinlink_node {

Outcome Outcome::Of(tl_status status) {
    Outcome outcome;
    outcome.status = status;
    if (status != TL_OK) outcome.message = tl_last_error();
    return outcome;
}

Pending::Pending(Napi::Env env, std::shared_ptr<Completions> sink)
    : deferred_(Napi::Promise::Deferred::New(env)), sink_(std::move(sink)) {}

Pending* Pending::Begin(Napi::Env env, Napi::Promise* promise) {
    auto sink = Data(env).completions;
    auto* pending = new Pending(env, sink);
    *promise = pending->deferred_.Promise();
    sink->Started(env);
    return pending;
}

void Pending::Settle(Pending* pending, Outcome outcome) {
    pending->outcome_ = std::move(outcome);
    auto sink = pending->sink_;
    sink->Post(pending);
}

std::shared_ptr<Completions> Completions::New(Napi::Env env) {
    auto self = std::shared_ptr<Completions>(new Completions());
    // The function holds the object until it is finalized (at the environment's end).
    auto* keep = new std::shared_ptr<Completions>(self);
    self->tsfn_ = Tsfn::New(env, "twinlink completion", 0, 1, self.get(),
                            [](Napi::Env, std::shared_ptr<Completions>* held, Completions* completions) {
                                {
                                    std::lock_guard<std::mutex> lock(completions->mutex_);
                                    completions->open_ = false;
                                }
                                delete held;
                            },
                            keep);
    self->tsfn_.Unref(env);  // only pending Promises keep the process alive
    return self;
}

void Completions::Started(Napi::Env env) {
    if (pending_++ == 0) tsfn_.Ref(env);
}

void Completions::Post(Pending* pending) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_ && tsfn_.NonBlockingCall(pending) == napi_ok) return;
    // The environment is gone: nobody waits for the Promise any more. Its napi_deferred may only
    // be touched on the JS thread, so it is left, not deleted.
    pending->sink_.reset();
}

void Completions::CallJs(Napi::Env env, Napi::Function, Completions* self, Pending* raw) {
    std::unique_ptr<Pending> pending(raw);
    if (env == nullptr) return;  // the environment is tearing down
    if (--self->pending_ == 0) self->tsfn_.Unref(env);
    Napi::HandleScope scope(env);
    Outcome& outcome = pending->outcome_;
    try {
        if (outcome.status != TL_OK) {
            pending->deferred_.Reject(StatusError(env, outcome.status, outcome.message).Value());
        } else if (outcome.value) {
            pending->deferred_.Resolve(outcome.value(env));
        } else {
            pending->deferred_.Resolve(env.Undefined());
        }
    } catch (const Napi::Error& error) {
        pending->deferred_.Reject(error.Value());
    }
}

}  // namespace twinlink_node
