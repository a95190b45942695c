// boundary.hpp — what every C entry point uses to keep C++ on its side of the ABI: a guard that
// turns any exception into a tl_status plus the thread's last-error message, argument checks
// that throw, and the owner of a C user_data pointer and its destructor.
#pragma once

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "twinlink.h"
#include "twinlink/status.hpp"

namespace twinlink::capi {

/// Records `message` as this thread's tl_last_error() and returns `status`. Never throws.
tl_status set_last_error(tl_status status, const std::string& message) noexcept;

inline tl_status to_c(Status status) noexcept { return static_cast<tl_status>(status); }

/// The status of the exception being handled, recorded as this thread's last error with the
/// message prefixed by the name of the C function: twinlink::Error gives its own status,
/// std::bad_alloc TL_ENOMEM, anything else TL_EINTERNAL. Call it only from a catch block.
tl_status current_exception_status(const char* function) noexcept;

/// Runs `body` and returns TL_OK, or current_exception_status() of what it threw. The exception
/// is sorted out of line, in one function for all entry points, so that each of them carries one
/// catch-all handler instead of four handlers that build strings.
template <class Body>
tl_status guard(const char* function, Body&& body) noexcept {
    try {
        body();
        return TL_OK;
    } catch (...) {
        return current_exception_status(function);
    }
}

/// The value a C caller passed for an enum parameter, read as its integer type: C may pass any
/// value of that type, and loading one outside the enumerators' range as the enum is undefined
/// in C++.
template <class Enum>
int raw_enum(const Enum& value) noexcept {
    std::underlying_type_t<Enum> raw;
    std::memcpy(&raw, &value, sizeof raw);
    return static_cast<int>(raw);
}

[[noreturn]] inline void invalid(const std::string& message) {
    throw Error(Status::InvalidArgument, message);
}

/// `*pointer`, or throws InvalidArgument "<name> is NULL".
template <class T>
T& deref(T* pointer, const char* name) {
    if (pointer == nullptr) invalid(std::string(name) + " is NULL");
    return *pointer;
}

/// `text`, or throws InvalidArgument "<name> is NULL" / "<name> is empty".
inline const char* require_text(const char* text, const char* name) {
    if (text == nullptr) invalid(std::string(name) + " is NULL");
    if (*text == '\0') invalid(std::string(name) + " is empty");
    return text;
}

/// Owns a user_data pointer of a C registration: its destructor is called exactly once, by
/// release() or, failing that, when the owner is destroyed. Shared (std::shared_ptr) by every
/// std::function that captures it, so the destructor runs when the last of them is gone.
class UserData {
public:
    UserData(void* data, tl_destroy_cb destroy) noexcept : data_(data), destroy_(destroy) {}
    ~UserData() { release(); }
    UserData(const UserData&) = delete;
    UserData& operator=(const UserData&) = delete;

    void* get() const noexcept { return data_; }
    void release() noexcept {
        if (tl_destroy_cb destroy = std::exchange(destroy_, nullptr)) destroy(data_);
    }

private:
    void* data_;
    tl_destroy_cb destroy_;
};

/// A shared UserData. When even that allocation fails, `destroy(data)` runs before the throw,
/// so the caller's destructor is called on every path.
inline std::shared_ptr<UserData> own_user_data(void* data, tl_destroy_cb destroy) {
    try {
        return std::make_shared<UserData>(data, destroy);
    } catch (...) {
        if (destroy != nullptr) destroy(data);
        throw;
    }
}

}  // namespace twinlink::capi
