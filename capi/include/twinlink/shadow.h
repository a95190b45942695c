/*
 * twinlink/shadow.h — device shadows: report state, follow desired state, read and write shadows.
 *
 * A tl_shadow is one shadow (classic or named) of one device, bound to a tl_client. A device uses it
 * to report and to receive deltas; a backend uses the same functions with the id of the device it
 * manages (tl_shadow_get(), tl_shadow_desire()). Semantics and topics are in docs/protocol.md.
 *
 * JSON crosses the ABI as UTF-8 text. Strings twinlink returns through `char **out` are allocated by
 * twinlink and released with tl_free().
 *
 * Threads. Delta and change callbacks run on the client's dispatcher thread (see twinlink/client.h)
 * and may call any function, including the blocking ones of this header: reporting from a delta
 * callback is the usual pattern and does not deadlock.
 */
#ifndef TWINLINK_SHADOW_H
#define TWINLINK_SHADOW_H

#include "twinlink/client.h"
#include "twinlink/common.h"

TL_BEGIN_DECLS

typedef struct tl_shadow tl_shadow;
typedef struct tl_shadow_options tl_shadow_options;

typedef enum tl_topic_profile {
    TL_PROFILE_TWINLINK = 0, /* {prefix}/{device}/shadow[/{name}]/... */
    TL_PROFILE_AWS = 1       /* $aws/things/{device}/shadow[/name/{name}]/... */
} tl_topic_profile;

/* Receives a delta as JSON text (borrowed for the call) and its version. For a handler
 * registered with a JSON pointer, the text is the value at that path. Dispatcher thread. */
typedef void (*tl_shadow_delta_cb)(const char *delta_json, uint64_t version, void *user_data);

/* Receives the local document after every accepted change, as JSON text (borrowed for the call):
 * {"state":{"desired":{},"reported":{},"delta":{}},"version":N,"timestamp":T,"exists":true}.
 * Dispatcher thread. */
typedef void (*tl_shadow_change_cb)(const char *document_json, void *user_data);

/* Options with the defaults named below. Errors: TL_EINVAL, TL_ENOMEM. */
TL_API tl_status tl_shadow_options_new(tl_shadow_options **out);
/* NULL is a no-op. */
TL_API void tl_shadow_options_free(tl_shadow_options *options);
/* Shadow name; NULL or "" for the classic shadow (default). 1..128 bytes of [A-Za-z0-9_:.-].
 * Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_options_set_name(tl_shadow_options *options, const char *name);
/* Topic profile and, for TL_PROFILE_TWINLINK, the prefix (NULL keeps "tl"). Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_options_set_profile(tl_shadow_options *options, tl_topic_profile profile,
                                               const char *prefix);
/* How long an update may go unanswered before it is resent, >= 100 ms. Default 10000.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_options_set_request_timeout(tl_shadow_options *options, uint32_t timeout_ms);
/* File that keeps the last known document (written atomically after each change); NULL: none.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_options_set_persist_path(tl_shadow_options *options, const char *path);

/* Binds a shadow of `device` to `client` (which must outlive it): subscribes to its response
 * topics (blocking up to the client's operation timeout when connected) and, once connected,
 * fetches the document and raises any delta missed while offline. `options` may be NULL (all
 * defaults) and is copied. Errors: TL_EINVAL (bad device id or options), TL_EIO (persist file),
 * TL_ETIMEOUT, TL_ESUBSCRIBE. */
TL_API tl_status tl_shadow_new(tl_shadow **out, tl_client *client, const char *device,
                               const tl_shadow_options *options);

/* Unsubscribes and frees; blocking calls in progress on other threads return TL_ECANCELED.
 * Not from one of this shadow's callbacks. NULL is a no-op. */
TL_API void tl_shadow_free(tl_shadow *shadow);

/* Merges `reported_json` (an object; null values delete keys) into the next update and blocks until
 * the cloud accepts it or timeout_ms passes. Offline, reports are queued and sent after reconnect,
 * in as few updates as keep the effect of their order (docs/protocol.md). `out_accepted` (may be NULL) receives the update/accepted payload; free it with
 * tl_free(). Errors: TL_EINVAL (not a JSON object, too deep, keys too long), TL_EREJECTED,
 * TL_ETIMEOUT (the report stays queued and is still sent), TL_ECANCELED. */
TL_API tl_status tl_shadow_report(tl_shadow *shadow, const char *reported_json, uint32_t timeout_ms,
                                  char **out_accepted);
/* As tl_shadow_report() without waiting. Never blocks. Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_report_async(tl_shadow *shadow, const char *reported_json);
/* As tl_shadow_report(), for the desired section. */
TL_API tl_status tl_shadow_desire(tl_shadow *shadow, const char *desired_json, uint32_t timeout_ms,
                                  char **out_accepted);
TL_API tl_status tl_shadow_desire_async(tl_shadow *shadow, const char *desired_json);

/* As tl_shadow_report() without blocking (see "Asynchronous operations" in common.h): queues the
 * report at once, and `callback` gets TL_OK with the update/accepted payload as its document,
 * TL_EREJECTED/TL_ECONFLICT with the rejection as its document, TL_ETIMEOUT (the report stays
 * queued and is still sent), or TL_ECANCELED (tl_shadow_cancel(), tl_shadow_free(), the client
 * freed). Any thread; never blocks. Errors: TL_EINVAL (not a JSON object, too deep, keys too
 * long; NULL callback). */
TL_API tl_status tl_shadow_report_start(tl_shadow *shadow, const char *reported_json, uint32_t timeout_ms,
                                        tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                        uint64_t *out_operation);
/* As tl_shadow_report_start(), for the desired section. */
TL_API tl_status tl_shadow_desire_start(tl_shadow *shadow, const char *desired_json, uint32_t timeout_ms,
                                        tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                        uint64_t *out_operation);
/* As tl_shadow_get() without blocking: `callback` gets TL_OK with the document in the form of
 * tl_shadow_get() (the local copy is updated first), TL_ENOTFOUND, TL_ENOTCONN (also when the
 * connection is lost before the answer), TL_ETIMEOUT or TL_ECANCELED. Any thread; never blocks.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_get_start(tl_shadow *shadow, uint32_t timeout_ms, tl_completion_cb callback,
                                     void *user_data, tl_destroy_cb destroy, uint64_t *out_operation);
/* As tl_client_cancel(), for an operation started on this shadow (or any on its client). */
TL_API tl_status tl_shadow_cancel(tl_shadow *shadow, uint64_t operation);

/* Sends a full update request as given, e.g. {"state":{"desired":{"a":1}},"version":7}, and
 * blocks for the answer. Needs a connection. Errors: TL_EINVAL, TL_ENOTCONN, TL_ECONFLICT (stale
 * version), TL_EREJECTED, TL_ETIMEOUT. */
TL_API tl_status tl_shadow_update(tl_shadow *shadow, const char *request_json, uint32_t timeout_ms,
                                  char **out_accepted);

/* As tl_shadow_update() without blocking (see "Asynchronous operations" in common.h): sends the
 * request at once, and `callback` gets TL_OK with the update/accepted payload as its document,
 * TL_ECONFLICT (stale version)/TL_EREJECTED/TL_ENOTFOUND with the rejection as its document,
 * TL_ENOTCONN (not connected, or the connection lost before the answer), TL_ETIMEOUT or
 * TL_ECANCELED (tl_shadow_cancel(), tl_shadow_free(), the client freed). Any thread; never
 * blocks. Errors: TL_EINVAL (NULL shadow or callback, request_json not a valid update request). */
TL_API tl_status tl_shadow_update_start(tl_shadow *shadow, const char *request_json, uint32_t timeout_ms,
                                        tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                        uint64_t *out_operation);

/* Fetches the document from the cloud (updating the local copy) and writes it to *out_document in
 * the form of tl_shadow_change_cb (delta always present, {} when in sync); free it with tl_free().
 * Errors: TL_ENOTFOUND, TL_ENOTCONN, TL_ETIMEOUT, TL_EREJECTED. */
TL_API tl_status tl_shadow_get(tl_shadow *shadow, uint32_t timeout_ms, char **out_document);

/* Deletes the shadow in the cloud. Errors: TL_ENOTFOUND, TL_ENOTCONN, TL_ETIMEOUT. */
TL_API tl_status tl_shadow_delete(tl_shadow *shadow, uint32_t timeout_ms);

/* As tl_shadow_delete() without blocking (see "Asynchronous operations" in common.h): `callback`
 * gets TL_OK with the delete/accepted payload as its document (the local copy is emptied first),
 * TL_ENOTFOUND with the rejection as its document, TL_ENOTCONN, TL_ETIMEOUT or TL_ECANCELED, as
 * tl_shadow_update_start(). Any thread; never blocks. Errors: TL_EINVAL (NULL shadow or callback). */
TL_API tl_status tl_shadow_delete_start(tl_shadow *shadow, uint32_t timeout_ms, tl_completion_cb callback,
                                        void *user_data, tl_destroy_cb destroy, uint64_t *out_operation);

/* The local copy, in the form of tl_shadow_change_cb, with reports not yet accepted merged into
 * reported. Free with tl_free(). Never blocks on the network. Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_state(const tl_shadow *shadow, char **out_document);

/* Calls `callback` for every new delta; with a JSON pointer (RFC 6901, e.g. "/led"), only when the
 * delta contains that path, with the value there. `json_pointer` NULL or "": the whole delta.
 * `out_id` (may be NULL) receives an id for tl_shadow_remove_handler(). On error destroy(user_data)
 * runs before the return. Only deltas that arrive after the registration are delivered: this is
 * tl_shadow_on_delta_ex() with TL_SHADOW_DELTA_NO_INITIAL. Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_on_delta(tl_shadow *shadow, const char *json_pointer, tl_shadow_delta_cb callback,
                                    void *user_data, tl_destroy_cb destroy, uint64_t *out_id);

/* Flags of tl_shadow_on_delta_ex(), or-ed together; 0 is the default behaviour. */
#define TL_SHADOW_DELTA_NO_INITIAL 0x1u /* do not deliver the delta pending at registration */

/* As tl_shadow_on_delta(), and first, unless `flags` has TL_SHADOW_DELTA_NO_INITIAL, with the delta
 * that is pending when the callback registers: the newest one the shadow knows of (from the cloud,
 * or from the persist file), if any; with a JSON pointer, only when it contains that path. So a
 * callback registered after tl_client_connect() misses nothing. That delta is delivered once, on the
 * dispatcher thread, never from inside this call (it may run before this call has returned). A
 * callback receives each version at most once and in increasing order: a delta event of the
 * version just handed over is not delivered again. Never blocks on the network.
 * Errors: TL_EINVAL (NULL shadow or callback, malformed pointer, unknown flags). */
TL_API tl_status tl_shadow_on_delta_ex(tl_shadow *shadow, const char *json_pointer, uint32_t flags,
                                       tl_shadow_delta_cb callback, void *user_data, tl_destroy_cb destroy,
                                       uint64_t *out_id);

/* Calls `callback` after every accepted change of the document. Errors: TL_EINVAL. */
TL_API tl_status tl_shadow_on_change(tl_shadow *shadow, tl_shadow_change_cb callback, void *user_data,
                                     tl_destroy_cb destroy, uint64_t *out_id);

/* After it returns the handler is not called again and its destroy callback has run.
 * Errors: TL_EINVAL (NULL shadow). Unknown ids are ignored. */
TL_API tl_status tl_shadow_remove_handler(tl_shadow *shadow, uint64_t handler_id);

TL_END_DECLS

#endif /* TWINLINK_SHADOW_H */
