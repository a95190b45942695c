#include "errors.hpp"

#include "addon_data.hpp"

namespace twinlink_node {

Napi::Error StatusError(Napi::Env env, tl_status status, const std::string& message) {
    const char* code = tl_status_str(status);
    auto& factory = Data(env).make_error;
    if (!factory.IsEmpty()) {
        Napi::Value error = factory.Call({Napi::Number::New(env, status), Napi::String::New(env, code),
                                          Napi::String::New(env, message)});
        if (error.IsObject()) return Napi::Error(env, error);
    }
    Napi::Error error = Napi::Error::New(env, message.empty() ? code : message);
    error.Set("status", Napi::Number::New(env, status));
    error.Set("code", Napi::String::New(env, code));
    return error;
}

void Check(Napi::Env env, tl_status status) {
    if (status != TL_OK) throw StatusError(env, status, tl_last_error());
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
    Napi::TypeError error = Napi::TypeError::New(env, message);
    error.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
    throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
    Napi::RangeError error = Napi::RangeError::New(env, message);
    error.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
    throw error;
}

void InitErrors(Napi::Env env, Napi::Object exports) {
    exports.Set("setErrorFactory", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
        if (!info[0].IsFunction()) ThrowTypeError(info.Env(), "The \"factory\" argument must be a function");
        Data(info.Env()).make_error = Napi::Persistent(info[0].As<Napi::Function>());
    }));
    exports.Set("statusName", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
        return Napi::String::New(info.Env(), tl_status_str(static_cast<tl_status>(info[0].ToNumber().Int32Value())));
    }));
}

}  // namespace twinlink_node
