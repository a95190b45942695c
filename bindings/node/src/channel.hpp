// channel.hpp — events from twinlink's threads to one JS object.
//
// A Channel carries what the C callbacks report (connection changes, deltas, messages, drops, log
// lines) to a JS object of the JS layer (a Device, Client or Shadow), through one thread-safe
// function: the C callback copies what it was given into an event and returns at once, and on the
// JS thread the layer's dispatch function is called with the object as `this` and the event's
// arguments. C callbacks never wait for JS, so nothing the JS side does (close() included) can
// deadlock with twinlink's dispatcher thread.
//
// Like a socket, a channel normally neither keeps the process alive nor its object: SetKeepAlive
// (a connected device, say) refs the thread-safe function and holds the object strongly. Events
// for an object that was garbage-collected are dropped.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace twinlink_node {

class Channel : public std::enable_shared_from_this<Channel> {
public:
    // Appends the event's arguments; runs on the JS thread.
    using Event = std::function<void(Napi::Env, std::vector<napi_value>&)>;

    // JS thread.
    static std::shared_ptr<Channel> New(Napi::Env env, Napi::Object target, Napi::Function dispatch);

    // Any thread; never blocks. Dropped once the channel is closed.
    void Post(Event event);

    // JS thread.
    void SetKeepAlive(Napi::Env env, bool keep_alive);
    // JS thread: no more events; idempotent.
    void Close();

private:
    static void CallJs(Napi::Env env, Napi::Function dispatch, Channel* self, Event* event);
    using Tsfn = Napi::TypedThreadSafeFunction<Channel, Event, &Channel::CallJs>;

    Tsfn tsfn_;
    std::mutex mutex_;
    bool open_ = true;             // guarded by mutex_
    bool keep_alive_ = false;      // JS thread only
    Napi::ObjectReference target_;  // weak unless keep_alive_; reset when the function is finalized
};

// A C callback's user_data: the channel and the token that tells the JS layer which registration
// (a subscription, a delta handler) the event belongs to.
struct Route {
    std::shared_ptr<Channel> channel;
    uint32_t token;
};

// tl_destroy_cb for a Route.
void DestroyRoute(void* route);

}  // namespace twinlink_node

namespace twinlink_node {

// channelNew(target, dispatch), channelKeepAlive(channel, on), channelClose(channel).
void InitChannels(Napi::Env env, Napi::Object exports);
// The channel behind argument `index`, or a TypeError naming `name`.
std::shared_ptr<Channel> UnwrapChannel(const Napi::CallbackInfo& info, size_t index, const char* name);

}  // namespace twinlink_node
