#include "channel.hpp"

namespace twinlink_node {

std::shared_ptr<Channel> Channel::New(Napi::Env env, Napi::Object target, Napi::Function dispatch) {
    auto self = std::shared_ptr<Channel>(new Channel());
    self->target_ = Napi::Weak(target);
    auto* keep = new std::shared_ptr<Channel>(self);
    self->tsfn_ = Tsfn::New(env, dispatch, "twinlink events", 0, 1, self.get(),
                            [](Napi::Env, std::shared_ptr<Channel>* held, Channel* channel) {
                                {
                                    std::lock_guard<std::mutex> lock(channel->mutex_);
                                    channel->open_ = false;
                                }
                                channel->target_.Reset();  // a reference is deleted on the JS thread
                                delete held;
                            },
                            keep);
    self->tsfn_.Unref(env);
    return self;
}

void Channel::Post(Event event) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    auto* owned = new Event(std::move(event));
    if (tsfn_.NonBlockingCall(owned) != napi_ok) delete owned;
}

void Channel::SetKeepAlive(Napi::Env env, bool keep_alive) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!open_) return;
    }
    if (keep_alive == keep_alive_) return;
    keep_alive_ = keep_alive;
    if (keep_alive) {
        tsfn_.Ref(env);
        target_.Ref();
    } else {
        tsfn_.Unref(env);
        target_.Unref();
    }
}

void Channel::Close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!open_) return;
        open_ = false;
    }
    // No Post() can reach the function from here on, so releasing it (which lets the environment
    // finalize it) is safe.
    tsfn_.Release();
}

void Channel::CallJs(Napi::Env env, Napi::Function dispatch, Channel* self, Event* raw) {
    std::unique_ptr<Event> event(raw);
    if (env == nullptr) return;
    {
        std::lock_guard<std::mutex> lock(self->mutex_);
        if (!self->open_) return;
    }
    Napi::HandleScope scope(env);
    Napi::Value target = self->target_.Value();
    if (target.IsEmpty() || !target.IsObject()) return;  // collected
    std::vector<napi_value> args;
    try {
        (*event)(env, args);
        dispatch.Call(target, args);
    } catch (const Napi::Error& error) {
        // The JS layer sends a listener's exception to the 'error' event; what still escapes
        // (an 'error' listener that throws) is the process's uncaught exception, as for any
        // event emitter.
        napi_fatal_exception(env, error.Value());
    }
}

void DestroyRoute(void* route) { delete static_cast<Route*>(route); }

}  // namespace twinlink_node

#include "args.hpp"
#include "errors.hpp"
#include "resource.hpp"

namespace twinlink_node {
namespace {

struct ChannelBox {
    std::shared_ptr<Channel> channel;
};

}  // namespace

std::shared_ptr<Channel> UnwrapChannel(const Napi::CallbackInfo& info, size_t index, const char* name) {
    return static_cast<ChannelBox*>(UnwrapTagged(info, index, Kind::Channel, name))->channel;
}

void InitChannels(Napi::Env env, Napi::Object exports) {
    exports.Set("channelNew", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
        Napi::Env e = info.Env();
        if (!info[0].IsObject()) ThrowTypeError(e, "The \"target\" argument must be an object");
        auto channel = Channel::New(e, info[0].As<Napi::Object>(), Function(info, 1, "dispatch"));
        auto external = Napi::External<ChannelBox>::New(e, new ChannelBox{channel}, [](Napi::Env, ChannelBox* box) {
            box->channel->Close();
            delete box;
        });
        TagAs(e, external, Kind::Channel);
        return external;
    }));
    exports.Set("channelKeepAlive", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
        UnwrapChannel(info, 0, "channel")->SetKeepAlive(info.Env(), Bool(info, 1, "keepAlive"));
    }));
    exports.Set("channelClose", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
        UnwrapChannel(info, 0, "channel")->Close();
    }));
}

}  // namespace twinlink_node
