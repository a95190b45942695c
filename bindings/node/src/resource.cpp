#include "resource.hpp"

#include <algorithm>

#include "addon_data.hpp"
#include "errors.hpp"
#include "pool.hpp"

namespace twinlink_node {
namespace {

// One random 128-bit tag per kind; the low half carries the kind.
napi_type_tag TagOf(Kind kind) { return napi_type_tag{0x9c1f3b7a52d84e06ULL, 0x74776c6b00000000ULL | static_cast<uint32_t>(kind)}; }

}  // namespace

const char* KindName(Kind kind) {
    switch (kind) {
    case Kind::ClientOptions: return "client options";
    case Kind::ShadowOptions: return "shadow options";
    case Kind::DatapointOptions: return "datapoint options";
    case Kind::DeviceOptions: return "device options";
    case Kind::Channel: return "event channel";
    case Kind::Client: return "client";
    case Kind::Shadow: return "shadow";
    case Kind::Datapoints: return "datapoints";
    case Kind::Device: return "device";
    case Kind::Runtime: return "runtime";
    }
    return "handle";
}

void TagAs(Napi::Env env, Napi::Value value, Kind kind) {
    const napi_type_tag tag = TagOf(kind);
    NAPI_THROW_IF_FAILED_VOID(env, napi_type_tag_object(env, value, &tag));
}

bool HasTag(Napi::Env env, Napi::Value value, Kind kind) {
    if (!value.IsExternal()) return false;
    const napi_type_tag tag = TagOf(kind);
    bool result = false;
    NAPI_THROW_IF_FAILED(env, napi_check_object_type_tag(env, value, &tag, &result), false);
    return result;
}

// ---- Resource ------------------------------------------------------------------------------

Resource::Resource(Kind kind, void* handle, std::function<void()> release)
    : kind_(kind), handle_(handle), release_(std::move(release)) {}

Resource::Lease::Lease(const Lease& other) : resource_(other.resource_) {
    if (resource_) resource_->users_.fetch_add(1);
}

Resource::Lease::~Lease() {
    if (resource_) resource_->Leave();
}

Resource::Lease Resource::Use(Napi::Env env) {
    if (!Enter()) {
        throw StatusError(env, TL_ESTATE, std::string("the ") + KindName(kind_) + " is closed");
    }
    return Lease(shared_from_this());
}

bool Resource::Enter() {
    users_.fetch_add(1);
    if (closed_.load()) {
        Leave();
        return false;
    }
    return true;
}

void Resource::Leave() {
    if (users_.fetch_sub(1) == 1 && closed_.load()) {
        std::lock_guard<std::mutex> lock(mutex_);
        idle_.notify_all();
    }
}

bool Resource::Adopt(const std::shared_ptr<Resource>& child) {
    std::lock_guard<std::mutex> lock(mutex_);
    // CloseNow() sets closed_ before it takes the mutex to list the children: a child is either
    // in that list or refused here.
    if (closed_.load()) return false;
    children_.erase(std::remove_if(children_.begin(), children_.end(), [](auto& w) { return w.expired(); }),
                    children_.end());
    children_.push_back(child);
    return true;
}

bool Resource::CloseNow(std::chrono::steady_clock::time_point deadline) {
    closed_.store(true);
    std::vector<std::shared_ptr<Resource>> children;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& weak : children_)
            if (auto child = weak.lock()) children.push_back(std::move(child));
    }
    // Children first: a client's shadows go before the client, a device's borrowed handles
    // before the device.
    for (auto& child : children)
        if (!child->CloseNow(deadline)) return false;
    std::function<void()> release;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        const auto idle = [&] { return users_.load() == 0; };
        if (deadline == std::chrono::steady_clock::time_point::max()) {
            idle_.wait(lock, idle);
        } else if (!idle_.wait_until(lock, deadline, idle)) {
            return false;
        }
        if (released_) return true;
        released_ = true;
        children_.clear();
        release = std::move(release_);
    }
    if (release) release();
    return true;
}

void Resource::CloseInBackground() {
    closed_.store(true);
    RunBlocking([self = shared_from_this()] { self->CloseNow(); });
}

// ---- Registry ------------------------------------------------------------------------------

void ResourceRegistry::Add(const std::shared_ptr<Resource>& resource) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (resources_.size() >= prune_at_) {
        resources_.erase(std::remove_if(resources_.begin(), resources_.end(), [](auto& w) { return w.expired(); }),
                         resources_.end());
        prune_at_ = std::max<size_t>(64, resources_.size() * 2);
    }
    resources_.push_back(resource);
}

void ResourceRegistry::CloseAll(std::chrono::milliseconds timeout) {
    std::vector<std::shared_ptr<Resource>> open;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& weak : resources_)
            if (auto r = weak.lock())
                if (!r->closed()) open.push_back(std::move(r));
        resources_.clear();
    }
    if (open.empty()) return;
    struct Countdown {
        std::mutex mutex;
        std::condition_variable done;
        size_t left;
    };
    auto countdown = std::make_shared<Countdown>();
    countdown->left = open.size();
    // Each closes on a pool thread of its own, so that ten devices take as long as one. What is
    // not closed by the deadline goes on closing in the background (a worker's process lives on;
    // at process exit, the process ends first).
    for (auto& r : open) {
        RunBlocking([r, countdown] {
            r->CloseNow();
            std::lock_guard<std::mutex> lock(countdown->mutex);
            if (--countdown->left == 0) countdown->done.notify_all();
        });
    }
    std::unique_lock<std::mutex> lock(countdown->mutex);
    countdown->done.wait_for(lock, timeout, [&] { return countdown->left == 0; });
}

// ---- Externals -----------------------------------------------------------------------------

namespace {

struct ResourceBox {
    std::shared_ptr<Resource> resource;
};

}  // namespace

Napi::Value WrapResource(Napi::Env env, const std::shared_ptr<Resource>& resource) {
    auto external = Napi::External<ResourceBox>::New(env, new ResourceBox{resource}, [](Napi::Env, ResourceBox* box) {
        // Collected without close(): close in the background (never here: the finalizer runs on
        // the JS thread, and freeing may block).
        if (!box->resource->closed()) box->resource->CloseInBackground();
        delete box;
    });
    TagAs(env, external, resource->kind());
    return external;
}

Napi::Value NewResource(Napi::Env env, Kind kind, void* handle, std::function<void()> release,
                        const std::shared_ptr<Resource>& parent) {
    auto resource = std::make_shared<Resource>(kind, handle, std::move(release));
    if (parent && !parent->Adopt(resource)) {
        resource->CloseInBackground();
        throw StatusError(env, TL_ESTATE, std::string("the ") + KindName(parent->kind()) + " is closed");
    }
    Data(env).registry->Add(resource);
    return WrapResource(env, resource);
}

Resource* PeekResource(Napi::Env env, napi_value value, Kind kind, const char* name) {
    Napi::Value v(env, value);
    if (!HasTag(env, v, kind)) {
        ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a twinlink " + KindName(kind) +
                                " handle");
    }
    return v.As<Napi::External<ResourceBox>>().Data()->resource.get();
}

std::shared_ptr<Resource> UnwrapResource(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name) {
    PeekResource(info.Env(), info[index], kind, name);
    return info[index].As<Napi::External<ResourceBox>>().Data()->resource;
}

void* UnwrapTagged(const Napi::CallbackInfo& info, size_t index, Kind kind, const char* name) {
    if (!HasTag(info.Env(), info[index], kind)) {
        ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must be twinlink " + KindName(kind));
    }
    return info[index].As<Napi::External<void>>().Data();
}

}  // namespace twinlink_node
