// errors.hpp — C statuses and bad arguments as JS exceptions.
//
// A failed C call becomes an instance of the JS layer's TwinlinkError subclass for its status
// (lib/errors.js hands the addon its factory at load time), carrying `.status` (the tl_status),
// `.code` (tl_status_str) and the message of tl_last_error(). A JS value of the wrong type is a
// TypeError, one out of range a RangeError, each naming the argument, with Node's error codes.
#pragma once

#include <napi.h>
#include <twinlink.h>

#include <string>

namespace twinlink_node {

// The TwinlinkError for `status`, with `message` (taken from tl_last_error() on the thread that
// failed). JS thread.
Napi::Error StatusError(Napi::Env env, tl_status status, const std::string& message);

// Throws StatusError(status, tl_last_error()) unless status is TL_OK.
void Check(Napi::Env env, tl_status status);

[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

// setErrorFactory(fn): fn(status, code, message) returns the error to throw.
void InitErrors(Napi::Env env, Napi::Object exports);

}  // namespace twinlink_node
