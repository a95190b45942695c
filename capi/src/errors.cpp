// errors.cpp — tl_last_error(), tl_status_str(), and the thread-local message behind them.
#include "boundary.hpp"

namespace twinlink::capi {
namespace {

// The C enum is the C++ enum, value for value.
static_assert(TL_OK == static_cast<int>(Status::Ok));
static_assert(TL_EINVAL == static_cast<int>(Status::InvalidArgument));
static_assert(TL_ENOMEM == static_cast<int>(Status::NoMemory));
static_assert(TL_ETIMEOUT == static_cast<int>(Status::Timeout));
static_assert(TL_ECONNECT == static_cast<int>(Status::ConnectFailed));
static_assert(TL_ETLS == static_cast<int>(Status::TlsError));
static_assert(TL_EAUTH == static_cast<int>(Status::NotAuthorized));
static_assert(TL_ENOTCONN == static_cast<int>(Status::NotConnected));
static_assert(TL_EQUEUE_FULL == static_cast<int>(Status::QueueFull));
static_assert(TL_EDROPPED == static_cast<int>(Status::Dropped));
static_assert(TL_ECANCELED == static_cast<int>(Status::Canceled));
static_assert(TL_ESUBSCRIBE == static_cast<int>(Status::SubscribeRejected));
static_assert(TL_ESTATE == static_cast<int>(Status::WrongState));
static_assert(TL_EPROTOCOL == static_cast<int>(Status::ProtocolError));
static_assert(TL_EINTERNAL == static_cast<int>(Status::Internal));
static_assert(TL_EIO == static_cast<int>(Status::Io));
static_assert(TL_EREJECTED == static_cast<int>(Status::Rejected));
static_assert(TL_ECONFLICT == static_cast<int>(Status::Conflict));
static_assert(TL_ENOTFOUND == static_cast<int>(Status::NotFound));

// When the message cannot be copied (no memory), `fallback` stands in for it.
thread_local std::string last_message;
thread_local const char* fallback = nullptr;

}  // namespace

tl_status set_last_error(tl_status status, const std::string& message) noexcept {
    try {
        last_message = message;
        fallback = nullptr;
    } catch (...) {
        fallback = "out of memory while recording an error";
    }
    return status;
}

tl_status current_exception_status(const char* function) noexcept {
    try {
        throw;
    } catch (const Error& e) {
        return set_last_error(to_c(e.status()), std::string(function) + ": " + e.what());
    } catch (const std::bad_alloc&) {
        return set_last_error(TL_ENOMEM, std::string(function) + ": out of memory");
    } catch (const std::exception& e) {
        return set_last_error(TL_EINTERNAL, std::string(function) + ": unexpected error: " + e.what());
    } catch (...) {
        return set_last_error(TL_EINTERNAL, std::string(function) + ": unexpected error");
    }
}

}  // namespace twinlink::capi

extern "C" {

const char* tl_last_error(void) {
    using namespace twinlink::capi;
    return fallback != nullptr ? fallback : last_message.c_str();
}

const char* tl_status_str(tl_status status) {
    return twinlink::status_name(static_cast<twinlink::Status>(twinlink::capi::raw_enum(status)));
}

}
