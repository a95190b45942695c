// handles.hpp — access to the core object behind a C handle that another module's handle needs
// (a shadow or a datapoint pipeline is bound to a client).
#pragma once

#include "twinlink.h"
#include "twinlink/client.hpp"

namespace twinlink::capi {

/// The twinlink::Client inside a tl_client (defined in client.cpp).
twinlink::Client& core_of(tl_client& client);

}  // namespace twinlink::capi
