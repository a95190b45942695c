// addon_data.hpp — what the addon keeps per Node environment (the main thread and each worker).
#pragma once

#include <napi.h>

#include <memory>

namespace twinlink_node {

class Completions;
class ResourceRegistry;

struct AddonData {
    Napi::FunctionReference make_error;          // set by setErrorFactory()
    std::shared_ptr<Completions> completions;    // settles Promises from other threads
    std::shared_ptr<ResourceRegistry> registry;  // open handles, closed when the environment ends
};

inline AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace twinlink_node
