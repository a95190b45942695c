// bindings.hpp — the addon's modules, one per module of the C ABI. Each adds its functions to the
// exports; the names are the C functions' in camelCase without the tl_ prefix.
#pragma once

#include <napi.h>

#include <string>

namespace twinlink_node {

void InitOptions(Napi::Env env, Napi::Object exports);
void InitClient(Napi::Env env, Napi::Object exports);
void InitShadow(Napi::Env env, Napi::Object exports);
void InitDatapoints(Napi::Env env, Napi::Object exports);
void InitDevice(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);

// Copies a string twinlink allocated and frees it. Any thread.
std::string TakeString(char* text);

}  // namespace twinlink_node
