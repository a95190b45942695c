#include "twinlink/status.hpp"

#include "twinlink/log.hpp"

namespace twinlink {

const char* status_name(Status status) noexcept {
    switch (status) {
        case Status::Ok: return "ok";
        case Status::InvalidArgument: return "invalid argument";
        case Status::NoMemory: return "out of memory";
        case Status::Timeout: return "timeout";
        case Status::ConnectFailed: return "connect failed";
        case Status::TlsError: return "tls error";
        case Status::NotAuthorized: return "not authorized";
        case Status::NotConnected: return "not connected";
        case Status::QueueFull: return "queue full";
        case Status::Dropped: return "dropped";
        case Status::Canceled: return "canceled";
        case Status::SubscribeRejected: return "subscribe rejected";
        case Status::WrongState: return "wrong state";
        case Status::ProtocolError: return "protocol error";
        case Status::Internal: return "internal error";
        case Status::Io: return "i/o error";
        case Status::Rejected: return "rejected";
        case Status::Conflict: return "version conflict";
        case Status::NotFound: return "not found";
    }
    return "unknown status";
}

const char* log_level_name(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::Error: return "error";
        case LogLevel::Warning: return "warning";
        case LogLevel::Info: return "info";
        case LogLevel::Debug: return "debug";
    }
    return "unknown";
}

}  // namespace twinlink
