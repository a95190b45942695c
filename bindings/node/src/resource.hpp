// resource.hpp — the C handles behind the JS objects, their type tags and their lifetimes.
//
// Every handle the addon gives to JS is an External tagged with the kind of what it holds
// (napi_type_tag_object), so a Shadow passed where a Device is expected throws a TypeError instead
// of being misread. Options are plain owned objects, freed by their finalizer. Clients, devices,
// shadows and datapoint pipelines are Resources:
//
//  - a call holds a Lease while it uses the C handle (a synchronous call for its duration, a
//    blocking one until its pool thread is done); a Lease cannot be taken once the resource is
//    closed, and the call throws a StateError instead;
//  - closing marks the resource closed, closes its children (the shadows of a client, the
//    borrowed shadows and datapoints of a device), waits for the leases, and frees the C handle,
//    on a pool thread: tl_device_free() may take a second or two and must not stall the loop;
//  - an External collected without close() closes its resource the same way, in the background;
//  - when an environment ends (a worker exits, the process ends), what is still open is closed.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace twinlink_node {

enum class Kind : uint32_t {
    ClientOptions = 1,
    ShadowOptions,
    DatapointOptions,
    DeviceOptions,
    Channel,
    Client,
    Shadow,
    Datapoints,
    Device,
    Runtime,
};

const char* KindName(Kind kind);

// Tags `value` (an External or object) as holding `kind`.
void TagAs(Napi::Env env, Napi::Value value, Kind kind);
// Whether `value` was tagged as `kind`.
bool HasTag(Napi::Env env, Napi::Value value, Kind kind);

class Resource : public std::enable_shared_from_this<Resource> {
public:
    // `handle` is the C handle; `release` frees it (empty for a borrowed handle).
    Resource(Kind kind, void* handle, std::function<void()> release);
    ~Resource() = default;
    Resource(const Resource&) = delete;
    Resource& operator=(const Resource&) = delete;

    Kind kind() const { return kind_; }
    template <class T>
    T* handle() const {
        return static_cast<T*>(handle_);
    }
    bool closed() const { return closed_.load(); }

    // Permission to use the C handle. Copies share the permission (the copy is taken while the
    // original holds the resource open, so it cannot fail).
    class Lease {
    public:
        Lease() = default;
        Lease(const Lease& other);
        Lease& operator=(const Lease&) = delete;
        ~Lease();
        Resource* get() const { return resource_.get(); }

    private:
        friend class Resource;
        explicit Lease(std::shared_ptr<Resource> resource) : resource_(std::move(resource)) {}
        std::shared_ptr<Resource> resource_;
    };

    // A Lease, or throws a StateError naming the closed resource. JS thread.
    Lease Use(Napi::Env env);
    // Fast path for hot calls: false when closed. Pair with Leave().
    bool Enter();
    void Leave();

    // `child` is closed before this resource is freed. False when this one is closed already.
    bool Adopt(const std::shared_ptr<Resource>& child);

    // Marks it closed, closes the children, waits for the leases (until `deadline` at most: false
    // if one was still held), frees the C handle. Idempotent. Blocks: a pool thread, not the loop.
    bool CloseNow(std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max());

    // Marks it closed at once (new calls throw) and finishes CloseNow() on the pool.
    void CloseInBackground();

private:
    const Kind kind_;
    void* const handle_;
    std::atomic<int> users_{0};
    std::atomic<bool> closed_{false};
    std::mutex mutex_;
    std::condition_variable idle_;
    bool released_ = false;  // guarded by mutex_
    std::function<void()> release_;
    std::vector<std::weak_ptr<Resource>> children_;  // guarded by mutex_
};

// The resources of one environment, for closing them when it ends.
class ResourceRegistry {
public:
    void Add(const std::shared_ptr<Resource>& resource);
    // Closes everything still open, in parallel on the pool, waiting up to `timeout`.
    void CloseAll(std::chrono::milliseconds timeout);

private:
    std::mutex mutex_;
    std::vector<std::weak_ptr<Resource>> resources_;
    size_t prune_at_ = 64;
};

// A tagged External holding `resource`; collecting it closes the resource in the background.
Napi::Value WrapResource(Napi::Env env, const std::shared_ptr<Resource>& resource);

// JS thread: a resource for a C handle that was just made, registered with the environment and,
// with a parent, adopted by it; wrapped. When the parent was closed meanwhile, the handle is
// released (in the background) and a StateError thrown.
Napi::Value NewResource(Napi::Env env, Kind kind, void* handle, std::function<void()> release,
                        const std::shared_ptr<Resource>& parent);
// The resource behind argument `index` of kind `kind`, or a TypeError naming `name`.
std::shared_ptr<Resource> UnwrapResource(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name);
// As UnwrapResource, without the shared_ptr copy: for the hot paths. Valid while the External is.
Resource* PeekResource(Napi::Env env, napi_value value, Kind kind, const char* name);

// An owned options object behind a tagged External, freed when the External is collected and
// no blocking call uses it any more.
template <class T>
struct OptionsBox {
    std::shared_ptr<T> options;
};

template <class T>
Napi::Value WrapOptions(Napi::Env env, T* options, void (*free)(T*), Kind kind) {
    auto* box = new OptionsBox<T>{std::shared_ptr<T>(options, free)};
    auto external = Napi::External<OptionsBox<T>>::New(env, box, [](Napi::Env, OptionsBox<T>* b) { delete b; });
    TagAs(env, external, kind);
    return external;
}

// The options behind argument `index`, or a TypeError naming `name`.
void* UnwrapTagged(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name);

template <class T>
T* UnwrapOptions(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name) {
    return static_cast<OptionsBox<T>*>(UnwrapTagged(info, index, kind, name))->options.get();
}

template <class T>
std::shared_ptr<T> SharedOptions(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name) {
    return static_cast<OptionsBox<T>*>(UnwrapTagged(info, index, kind, name))->options;
}

}  // namespace twinlink_node
