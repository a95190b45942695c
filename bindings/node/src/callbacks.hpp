// callbacks.hpp — the C callbacks: each copies what it is given into an event on its Route's
// channel and returns at once. The event's first argument names it for the JS layer's dispatch.
#pragma once

#include <twinlink.h>

namespace twinlink_node {

// ('connection', state, reason, message, broker, retryInMs, attempt)
void OnConnection(const tl_connection_event* event, void* route);
// ('log', level, message)
void OnLog(tl_log_level level, const char* message, void* route);
// ('message', token, topic, payload Buffer, qos, retained)
void OnMessage(const tl_message* message, void* route);
// ('delta', token, deltaJson, version)
void OnDelta(const char* delta_json, uint64_t version, void* route);
// ('change', token, documentJson)
void OnChange(const char* document_json, void* route);
// ('drop', policy, points, batches, reason)
void OnDrop(tl_backpressure policy, uint64_t points, uint64_t batches, const char* reason, void* route);

}  // namespace twinlink_node
