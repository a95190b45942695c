// completion.hpp — the C face of an asynchronous operation's end: turns a core OperationCallback
// into a call of a tl_completion_cb, with its user_data released (exactly once) after it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "boundary.hpp"
#include "twinlink/client.hpp"

namespace twinlink::capi {

/// The callback to give the core. `document` rewrites a successful answer before it is passed
/// on (tl_shadow_get_start() gives the document in tl_shadow_get()'s form); empty: as it is.
inline OperationCallback completion(tl_completion_cb callback, const std::shared_ptr<UserData>& data,
                                    std::function<std::string(const std::string&)> document = {}) {
    if (callback == nullptr) invalid("callback is NULL");
    return [callback, data, document = std::move(document)](std::uint64_t id, const OperationResult& r) {
        std::string text = r.document;
        if (document && r.status == Status::Ok && !text.empty()) text = document(text);
        tl_completion c{};
        c.struct_size = sizeof c;
        c.operation = id;
        c.status = to_c(r.status);
        c.message = r.message.c_str();
        c.document = text.empty() ? nullptr : text.c_str();
        callback(&c, data->get());
    };
}

}  // namespace twinlink::capi
