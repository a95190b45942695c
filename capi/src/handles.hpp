// handles.hpp — the structs behind the C handles that other modules' handles refer to. A handle
// either owns its core object (made by tl_x_new) or borrows one that a tl_device owns (handed out
// by tl_device_client/_shadow/_datapoints); `core` is the object either way.
#pragma once

#include <memory>
#include <utility>

#include "twinlink.h"
#include "twinlink/client.hpp"
#include "twinlink/datapoints.hpp"
#include "twinlink/shadow.hpp"

struct tl_client {
    explicit tl_client(twinlink::ClientOptions options)
        : owned(std::make_unique<twinlink::Client>(std::move(options))), core(*owned) {}
    explicit tl_client(twinlink::Client& borrowed) : core(borrowed) {}
    std::unique_ptr<twinlink::Client> owned;
    twinlink::Client& core;
};

struct tl_shadow {
    tl_shadow(twinlink::Client& client, twinlink::ShadowOptions options)
        : owned(std::make_unique<twinlink::Shadow>(client, std::move(options))), core(*owned) {}
    explicit tl_shadow(twinlink::Shadow& borrowed) : core(borrowed) {}
    std::unique_ptr<twinlink::Shadow> owned;
    twinlink::Shadow& core;
};

struct tl_datapoints {
    tl_datapoints(twinlink::Client& client, twinlink::DatapointOptions options)
        : owned(std::make_unique<twinlink::Datapoints>(client, std::move(options))), core(*owned) {}
    explicit tl_datapoints(twinlink::Datapoints& borrowed) : core(borrowed) {}
    std::unique_ptr<twinlink::Datapoints> owned;
    twinlink::Datapoints& core;
};

// The options structs, for tl_device_options to copy from.
struct tl_client_options {
    twinlink::ClientOptions core;
};
struct tl_shadow_options {
    twinlink::ShadowOptions core;
};
struct tl_datapoint_options {
    twinlink::DatapointOptions core;
};
