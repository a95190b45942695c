#include "args.hpp"

#include <twinlink.h>

#include <cmath>

#include "errors.hpp"

namespace twinlink_node {
namespace {

[[noreturn]] void WrongType(const Napi::CallbackInfo& info, size_t index, const char* name, const char* expected) {
    ThrowTypeError(info.Env(), std::string("The \"") + name + "\" argument must be " + expected + ". Received " +
                                   Describe(info[index]));
}

}  // namespace

std::string Describe(Napi::Value value) {
    switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("type boolean (") + (value.As<Napi::Boolean>().Value() ? "true" : "false") + ")";
    case napi_number: {
        std::string text = value.ToString().Utf8Value();
        return "type number (" + text + ")";
    }
    case napi_string: {
        std::string text = value.As<Napi::String>().Utf8Value();
        if (text.size() > 28) text = text.substr(0, 25) + "...";
        return "type string ('" + text + "')";
    }
    case napi_bigint: return "type bigint (" + value.ToString().Utf8Value() + "n)";
    case napi_symbol: return "type symbol";
    case napi_function: return "function";
    case napi_external: return "an external handle";
    default: break;
    }
    Napi::Value constructor = value.As<Napi::Object>().Get("constructor");
    if (constructor.IsFunction()) {
        std::string name = constructor.As<Napi::Object>().Get("name").ToString().Utf8Value();
        if (!name.empty()) return "an instance of " + name;
    }
    return "an object";
}

std::string Text(const Napi::CallbackInfo& info, size_t index, const char* name) {
    if (!info[index].IsString()) WrongType(info, index, name, "of type string");
    return info[index].As<Napi::String>().Utf8Value();
}

std::optional<std::string> OptionalText(const Napi::CallbackInfo& info, size_t index, const char* name) {
    if (info[index].IsUndefined() || info[index].IsNull()) return std::nullopt;
    return Text(info, index, name);
}

int64_t Integer(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
    Napi::Value v = info[index];
    int64_t result = 0;
    if (v.IsNumber()) {
        const double d = v.As<Napi::Number>().DoubleValue();
        if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) {
            ThrowRangeError(info.Env(), std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                                            std::to_string(min) + " and <= " + std::to_string(max) + ". Received " +
                                            v.ToString().Utf8Value());
        }
        return static_cast<int64_t>(d);
    }
    if (v.IsBigInt()) {
        bool lossless = false;
        result = v.As<Napi::BigInt>().Int64Value(&lossless);
        if (!lossless || result < min || result > max) {
            ThrowRangeError(info.Env(), std::string("The value of \"") + name + "\" is out of range. It must be >= " +
                                            std::to_string(min) + " and <= " + std::to_string(max) + ". Received " +
                                            v.ToString().Utf8Value() + "n");
        }
        return result;
    }
    WrongType(info, index, name, "of type number");
}

double Number(const Napi::CallbackInfo& info, size_t index, const char* name) {
    if (!info[index].IsNumber()) WrongType(info, index, name, "of type number");
    return info[index].As<Napi::Number>().DoubleValue();
}

bool Bool(const Napi::CallbackInfo& info, size_t index, const char* name) {
    if (!info[index].IsBoolean()) WrongType(info, index, name, "of type boolean");
    return info[index].As<Napi::Boolean>().Value();
}

Napi::Function Function(const Napi::CallbackInfo& info, size_t index, const char* name) {
    if (!info[index].IsFunction()) WrongType(info, index, name, "of type function");
    return info[index].As<Napi::Function>();
}

int64_t Timestamp(Napi::Env env, napi_value raw, const char* name) {
    napi_valuetype type;
    napi_typeof(env, raw, &type);
    if (type == napi_undefined || type == napi_null) return TL_NOW;
    if (type == napi_number) {
        double d;
        napi_get_value_double(env, raw, &d);
        if (!std::isfinite(d) || std::fabs(d) > 9.0e15) {
            ThrowRangeError(env, std::string("The value of \"") + name +
                                     "\" is out of range. It must be milliseconds since the epoch. Received " +
                                     Napi::Value(env, raw).ToString().Utf8Value());
        }
        return static_cast<int64_t>(std::llround(d));
    }
    if (type == napi_bigint) {
        int64_t value;
        bool lossless;
        napi_get_value_bigint_int64(env, raw, &value, &lossless);
        if (!lossless || value == TL_NOW) {
            ThrowRangeError(env, std::string("The value of \"") + name + "\" is out of range of a 64-bit timestamp");
        }
        return value;
    }
    bool is_date = false;
    napi_is_date(env, raw, &is_date);
    if (is_date) {
        double d;
        napi_get_date_value(env, raw, &d);
        if (!std::isfinite(d)) ThrowRangeError(env, std::string("The \"") + name + "\" argument is an invalid Date");
        return static_cast<int64_t>(d);
    }
    ThrowTypeError(env, std::string("The \"") + name + "\" argument must be a number of milliseconds, a bigint or a Date. Received " +
                            Describe(Napi::Value(env, raw)));
}

}  // namespace twinlink_node
