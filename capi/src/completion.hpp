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

/// The frame of every tl_*_start() function, inside its guard(): takes ownership of user_data
/// first (so that `destroy` runs when anything fails), zeroes *out_operation, and calls
/// `start(take_done)`, which checks its own arguments, calls `take_done()` for the core's callback
/// (it checks `callback` and owns the user data from then on) and returns the operation id.
template <class Start>
void start_operation(tl_completion_cb callback, void* user_data, tl_destroy_cb destroy, std::uint64_t* out_operation,
                     Start start) {
    if (out_operation) *out_operation = 0;
    auto data = own_user_data(user_data, destroy);
    const auto take_done = [&] {
        auto done = completion(callback, data);
        data.reset();
        return done;
    };
    const std::uint64_t id = start(take_done);
    if (out_operation) *out_operation = id;
}

}  // namespace twinlink::capi
