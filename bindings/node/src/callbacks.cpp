#include "callbacks.hpp"

#include <napi.h>

#include <string>
#include <vector>

#include "channel.hpp"

namespace twinlink_node {
namespace {

std::string Copy(const char* text) { return text != nullptr ? std::string(text) : std::string(); }

Channel& ChannelOf(void* route) { return *static_cast<Route*>(route)->channel; }
uint32_t TokenOf(void* route) { return static_cast<Route*>(route)->token; }

}  // namespace

void OnConnection(const tl_connection_event* e, void* route) {
    ChannelOf(route).Post([state = static_cast<int>(e->state), reason = static_cast<int>(e->reason),
                           message = Copy(e->message), broker = Copy(e->broker), retry = e->retry_in_ms,
                           attempt = e->attempt](Napi::Env env, std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "connection"), Napi::Number::New(env, state), Napi::Number::New(env, reason),
                Napi::String::New(env, message), Napi::String::New(env, broker), Napi::Number::New(env, retry),
                Napi::Number::New(env, attempt)};
    });
}

void OnLog(tl_log_level level, const char* message, void* route) {
    ChannelOf(route).Post([level = static_cast<int>(level), message = Copy(message)](Napi::Env env,
                                                                                    std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "log"), Napi::Number::New(env, level), Napi::String::New(env, message)};
    });
}

void OnMessage(const tl_message* m, void* route) {
    const auto* bytes = static_cast<const char*>(m->payload);
    ChannelOf(route).Post([token = TokenOf(route), topic = Copy(m->topic),
                           payload = std::string(bytes, bytes + m->payload_len), qos = m->qos,
                           retained = m->retained != 0](Napi::Env env, std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "message"), Napi::Number::New(env, token), Napi::String::New(env, topic),
                Napi::Buffer<char>::Copy(env, payload.data(), payload.size()), Napi::Number::New(env, qos),
                Napi::Boolean::New(env, retained)};
    });
}

void OnDelta(const char* delta_json, uint64_t version, void* route) {
    ChannelOf(route).Post([token = TokenOf(route), json = Copy(delta_json), version](Napi::Env env,
                                                                                    std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "delta"), Napi::Number::New(env, token), Napi::String::New(env, json),
                Napi::Number::New(env, static_cast<double>(version))};
    });
}

void OnChange(const char* document_json, void* route) {
    ChannelOf(route).Post([token = TokenOf(route), json = Copy(document_json)](Napi::Env env,
                                                                              std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "change"), Napi::Number::New(env, token), Napi::String::New(env, json)};
    });
}

void OnDrop(tl_backpressure policy, uint64_t points, uint64_t batches, const char* reason, void* route) {
    ChannelOf(route).Post([policy = static_cast<int>(policy), points, batches, reason = Copy(reason)](
                              Napi::Env env, std::vector<napi_value>& args) {
        args = {Napi::String::New(env, "drop"), Napi::Number::New(env, policy),
                Napi::Number::New(env, static_cast<double>(points)), Napi::Number::New(env, static_cast<double>(batches)),
                Napi::String::New(env, reason)};
    });
}

}  // namespace twinlink_node
