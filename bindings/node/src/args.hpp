// args.hpp — JS arguments to C values, with a TypeError or RangeError naming the argument.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace twinlink_node {

std::string Text(const Napi::CallbackInfo& info, size_t index, const char* name);
// undefined or null -> nullopt.
std::optional<std::string> OptionalText(const Napi::CallbackInfo& info, size_t index, const char* name);
inline const char* CStr(const std::optional<std::string>& text) { return text ? text->c_str() : nullptr; }

// An integer in [min, max] (a Number, or a BigInt).
int64_t Integer(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max);
inline uint32_t Uint32(const Napi::CallbackInfo& info, size_t index, const char* name) {
    return static_cast<uint32_t>(Integer(info, index, name, 0, UINT32_MAX));
}
inline int Int(const Napi::CallbackInfo& info, size_t index, const char* name, int min, int max) {
    return static_cast<int>(Integer(info, index, name, min, max));
}
// A size: a non-negative integer up to 2^53.
inline uint64_t Size(const Napi::CallbackInfo& info, size_t index, const char* name) {
    return static_cast<uint64_t>(Integer(info, index, name, 0, (int64_t{1} << 53)));
}
double Number(const Napi::CallbackInfo& info, size_t index, const char* name);
bool Bool(const Napi::CallbackInfo& info, size_t index, const char* name);
Napi::Function Function(const Napi::CallbackInfo& info, size_t index, const char* name);

// Milliseconds since the epoch: undefined/null (TL_NOW), a Number, a BigInt or a Date.
int64_t Timestamp(Napi::Env env, napi_value value, const char* name);

// A readable description of a value for error messages: "type number (1.5)", "an instance of Map".
std::string Describe(Napi::Value value);

}  // namespace twinlink_node
