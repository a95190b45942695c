// twinlink/status.hpp — status codes and the exception type of the C++ core.
//
// The numeric values are the ones of the C ABI's tl_status (capi/include/twinlink/errors.h)
// and never change meaning: a value is added at the end, never reused.
#pragma once

#include <stdexcept>
#include <string>

namespace twinlink {

enum class Status : int {
    Ok = 0,
    InvalidArgument = -1,   ///< a parameter is NULL, empty, out of range or malformed
    NoMemory = -2,          ///< an allocation failed
    Timeout = -3,           ///< the operation did not complete in the time given
    ConnectFailed = -4,     ///< the broker could not be reached or refused the connection
    TlsError = -5,          ///< TLS handshake or certificate verification failed
    NotAuthorized = -6,     ///< the broker refused the credentials or the client certificate
    NotConnected = -7,      ///< the operation needs a connection and there is none
    QueueFull = -8,         ///< the offline queue is full and its policy rejects new messages
    Dropped = -9,           ///< the message was dropped from a full queue (drop-oldest policy)
    Canceled = -10,         ///< the operation was abandoned because the client was stopped or freed
    SubscribeRejected = -11,///< the broker refused a subscription
    WrongState = -12,       ///< the call is not valid in the handle's current state
    ProtocolError = -13,    ///< the peer sent something that breaks the protocol
    Internal = -14,         ///< a bug in twinlink or an unexpected failure of a dependency
    Io = -15,               ///< a file could not be read or written
    Rejected = -16,         ///< the cloud rejected a shadow request (400, 413, 500: see the message)
    Conflict = -17,         ///< a shadow update carried a stale version (409)
    NotFound = -18,         ///< the shadow does not exist (404)
};

/// Stable, human-readable name of a status ("ok", "timeout", ...). Never null.
const char* status_name(Status status) noexcept;

/// The exception every fallible function of the C++ core throws.
/// what() is a complete sentence that names the offending value where there is one.
class Error : public std::runtime_error {
public:
    Error(Status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

}  // namespace twinlink
