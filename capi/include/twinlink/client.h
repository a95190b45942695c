/*
 * twinlink/client.h — the MQTT client: options, connection lifecycle, publish, subscribe.
 *
 * Threads. A tl_client owns two threads: the connection thread (connects, reconnects with
 * exponential backoff and full jitter, resubscribes, drains the offline queue, expires
 * acknowledgements) and the dispatcher thread; with a runtime (twinlink/runtime.h) it owns none
 * and both run on the runtime's shared threads. Every callback of this module (message, publish
 * completion, connection state) runs on the dispatcher thread, one at a time, never while
 * twinlink holds an internal lock: a callback may call any tl_client function, including
 * tl_client_disconnect() and tl_client_free(). A callback that blocks delays later callbacks of
 * the same client, never its network traffic. No callback ever runs on a thread of the MQTT
 * library. The log callback runs on other threads too: see tl_log_cb.
 */
#ifndef TWINLINK_CLIENT_H
#define TWINLINK_CLIENT_H

#include "twinlink/common.h"

TL_BEGIN_DECLS

/* ---- Options ---------------------------------------------------------------------------- */

/* Options of a client. Setters copy their arguments; the options may be freed after
 * tl_client_new() and reused for other clients. Not thread-safe: one thread at a time. */
typedef struct tl_client_options tl_client_options;

typedef enum tl_mqtt_version { TL_MQTT_V311 = 4, TL_MQTT_V5 = 5 } tl_mqtt_version;

/* What tl_client_publish() does when the offline queue is full. */
typedef enum tl_overflow_policy {
    TL_OVERFLOW_REJECT_NEW = 0, /* publish returns TL_EQUEUE_FULL; queued messages are kept */
    TL_OVERFLOW_DROP_OLDEST = 1 /* the oldest queued message is dropped; its callback gets TL_EDROPPED */
} tl_overflow_policy;

typedef enum tl_connection_state {
    TL_STATE_DISCONNECTED = 0, /* not started, or stopped by tl_client_disconnect() */
    TL_STATE_CONNECTING = 1,   /* an attempt is under way */
    TL_STATE_CONNECTED = 2,
    TL_STATE_RECONNECTING = 3  /* waiting retry_in_ms before the next attempt */
} tl_connection_state;

/* A connection state change, borrowed for the duration of the callback. */
typedef struct tl_connection_event {
    size_t struct_size;          /* sizeof(tl_connection_event) of the library */
    tl_connection_state state;
    tl_status reason;            /* why the connection ended or an attempt failed; TL_OK otherwise */
    const char *message;         /* human-readable reason; "" when none */
    const char *broker;          /* the broker URI this event concerns; "" when none */
    uint32_t retry_in_ms;        /* with TL_STATE_RECONNECTING: delay before the next attempt */
    uint32_t attempt;            /* consecutive failed attempts so far */
} tl_connection_event;

/* Called on every connection state change, on the dispatcher thread. */
typedef void (*tl_connection_cb)(const tl_connection_event *event, void *user_data);

/* Creates options with the defaults named at each setter. Writes NULL to *out on failure.
 * Errors: TL_EINVAL (out is NULL), TL_ENOMEM. */
TL_API tl_status tl_client_options_new(tl_client_options **out);

/* Frees options. NULL is a no-op. */
TL_API void tl_client_options_free(tl_client_options *options);

/* Appends a broker URI; several are tried in turn. mqtt://host[:1883], mqtts://host[:8883],
 * ws://host[:80][/path], wss://host[:443][/path] (tcp:// and ssl:// are synonyms). Checked here.
 * Errors: TL_EINVAL (NULL, or a URI that does not parse; tl_last_error() says why). */
TL_API tl_status tl_client_options_add_broker(tl_client_options *options, const char *uri);

/* Client id. Default: a random "tl-..." id (which requires a clean session).
 * Errors: TL_EINVAL (NULL options or id, longer than 65535 bytes). */
TL_API tl_status tl_client_options_set_client_id(tl_client_options *options, const char *client_id);

/* Username and password; password may be NULL. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_credentials(tl_client_options *options, const char *username,
                                                   const char *password);

/* MQTT protocol version. Default TL_MQTT_V311. Errors: TL_EINVAL (other value). */
TL_API tl_status tl_client_options_set_mqtt_version(tl_client_options *options, tl_mqtt_version version);

/* Clean session (MQTT 5: clean start and session expiry 0) when non-zero, else a persistent
 * session kept by the broker across disconnects. Default 1. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_clean_session(tl_client_options *options, int clean);

/* Keep-alive interval in seconds, 0 to 65535 (0: none). Default 30. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_keepalive(tl_client_options *options, uint32_t seconds);

/* Time one connection attempt may take, >= 100 ms. Default 10000. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_connect_timeout(tl_client_options *options, uint32_t timeout_ms);

/* Reconnect backoff: the n-th consecutive retry waits a random time between min_ms and
 * min(max_ms, min_ms * 2^n) ("full jitter"). 0 < min_ms <= max_ms. Default 500 / 30000.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_reconnect_backoff(tl_client_options *options, uint32_t min_ms,
                                                         uint32_t max_ms);

/* Deadline for the acknowledgement of a QoS 1/2 publish once sent, >= 100 ms; a publish not
 * acknowledged by then completes with TL_ETIMEOUT. Default 30000. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_ack_timeout(tl_client_options *options, uint32_t timeout_ms);

/* How long subscribe waits for the broker, >= 100 ms. Default 10000.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_operation_timeout(tl_client_options *options, uint32_t timeout_ms);

/* TLS trust: a PEM file of CA certificates and/or a directory of hashed CA certificates; either
 * may be NULL. Default: the system's store. Used for mqtts:// and wss:// brokers. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_tls_ca(tl_client_options *options, const char *ca_file,
                                              const char *ca_dir);

/* Client certificate and private key (PEM files) for mutual TLS; key_password may be NULL.
 * Errors: TL_EINVAL (NULL options, cert or key). */
TL_API tl_status tl_client_options_set_tls_client_cert(tl_client_options *options, const char *cert_file,
                                                       const char *key_file, const char *key_password);

/* Check that the server certificate names the host we connect to. Default 1. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_tls_verify_hostname(tl_client_options *options, int verify);

/* Accept any server certificate when non-zero (testing only; logs a warning at each connect).
 * Default 0. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_tls_insecure(tl_client_options *options, int insecure);

/* Retained presence: `online` is published to `topic` after every (re)connect, `offline` is the
 * last will and is published on tl_client_disconnect(). NULL payloads keep "online"/"offline".
 * topic NULL or "": off (the default). Errors: TL_EINVAL (NULL options, invalid topic). */
TL_API tl_status tl_client_options_set_presence(tl_client_options *options, const char *topic,
                                                const char *online, const char *offline);

/* Bounds of the queue of messages published but not yet sent (while offline, or beyond
 * max_inflight), and what happens when it is full. Both bounds > 0. Default 10000 messages,
 * 16 MiB of payload, TL_OVERFLOW_REJECT_NEW. Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_offline_queue(tl_client_options *options, size_t max_messages,
                                                     size_t max_bytes, tl_overflow_policy policy);

/* Messages handed to the network and not yet acknowledged, 1 to 65535. Default 256.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_max_inflight(tl_client_options *options, uint32_t max_inflight);

/* Nagle's algorithm off (TCP_NODELAY) on the broker connection when non-zero, the default: Paho
 * leaves it on, and a small request or response can then wait ~40 ms for a delayed acknowledgement.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_tcp_nodelay(tl_client_options *options, int nodelay);

/* Log sink and the most verbose level it receives. Default: none (silent; when the environment
 * variable TWINLINK_LOG is error|warning|info|debug, lines of that level go to stderr).
 * Like the connection callback's, the user_data is shared by every client made from these options:
 * a replaced one is destroyed once no such client uses it any more (at once when none does).
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_log_callback(tl_client_options *options, tl_log_cb callback,
                                                    tl_log_level level, void *user_data,
                                                    tl_destroy_cb destroy);

/* Connection state callback (see tl_connection_cb). The user_data is shared by every client
 * made from these options and destroyed when the last of them and the options are freed.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_client_options_set_connection_callback(tl_client_options *options,
                                                           tl_connection_cb callback, void *user_data,
                                                           tl_destroy_cb destroy);

/* ---- Client ----------------------------------------------------------------------------- */

/* An MQTT client connection. Every function may be called from any thread. */
typedef struct tl_client tl_client;

/* Counters of a client. Set struct_size = sizeof(tl_client_stats) before the call. */
typedef struct tl_client_stats {
    size_t struct_size;
    uint64_t messages_out;     /* publishes completed (acknowledged for QoS 1/2) */
    uint64_t bytes_out;        /* payload bytes of those */
    uint64_t messages_in;
    uint64_t bytes_in;
    uint64_t connects;         /* successful connections, the first included */
    uint64_t reconnects;       /* successful connections after a lost one */
    uint64_t connect_failures;
    uint64_t queued_messages;  /* now waiting in the offline queue */
    uint64_t queued_bytes;
    uint64_t inflight;         /* now handed to the network, not yet acknowledged */
    uint64_t dropped;          /* dropped by TL_OVERFLOW_DROP_OLDEST */
    uint64_t rejected;         /* refused by TL_OVERFLOW_REJECT_NEW */
    uint64_t ack_timeouts;     /* publishes completed with TL_ETIMEOUT */
    uint64_t resent;           /* in-flight messages queued again after a lost connection */
    uint64_t callback_queue;   /* callbacks waiting for the dispatcher thread */
} tl_client_stats;

/* A received message, borrowed for the duration of the callback. The payload is not
 * NUL-terminated. */
typedef struct tl_message {
    size_t struct_size;
    const char *topic;
    const void *payload;
    size_t payload_len;
    int qos;
    int retained;
} tl_message;

/* Receives a message matching a subscription, on the dispatcher thread. */
typedef void (*tl_message_cb)(const tl_message *message, void *user_data);

/* Reports the outcome of one publish, exactly once, on the dispatcher thread: TL_OK when the
 * broker acknowledged it (QoS 1/2) or it was written to the network (QoS 0); TL_ETIMEOUT (no
 * acknowledgement within the ack timeout), TL_EDROPPED, or TL_ECANCELED (client freed first).
 * The publish's destroy callback runs right after it. */
typedef void (*tl_publish_cb)(uint64_t message_id, tl_status status, void *user_data);

/* Creates a client from options (copied; `options` stays the caller's). Does not connect.
 * Writes NULL to *out on failure. Errors: TL_EINVAL (NULL argument, no broker, inconsistent
 * options such as a persistent session without a client id), TL_ENOMEM. Never blocks. */
TL_API tl_status tl_client_new(tl_client **out, const tl_client_options *options);

/* Stops the client without waiting for queued messages (call tl_client_disconnect() first for
 * that), reports TL_ECANCELED to every pending publish callback, waits for a callback in
 * progress on another thread to return, and frees the client. Blocks for at most ~2 s, and for
 * well under 1 s when the client is not connected (the broker down or unreachable).
 * May be called from a callback of this client. NULL is a no-op. */
TL_API void tl_client_free(tl_client *client);

/* Starts connecting in the background and returns at once; the client then stays connected,
 * reconnecting after every loss, until tl_client_disconnect(). Idempotent. Errors: TL_EINVAL. */
TL_API tl_status tl_client_start(tl_client *client);

/* tl_client_start(), then blocks until connected or for timeout_ms at most.
 * Errors: TL_EINVAL, TL_ETIMEOUT (the last attempt's failure is in tl_last_error()), TL_ETLS,
 * TL_EAUTH (failures that retrying will not fix, reported at once). After an error the client
 * keeps trying in the background until tl_client_disconnect(). */
TL_API tl_status tl_client_connect(tl_client *client, uint32_t timeout_ms);

/* As tl_client_connect() without blocking (see "Asynchronous operations" in common.h):
 * tl_client_start(), then `callback` gets TL_OK once connected (at once, through the dispatcher,
 * when already connected), TL_ETLS or TL_EAUTH for a failure that retrying will not fix,
 * TL_ETIMEOUT after timeout_ms, or TL_ECANCELED (tl_client_cancel(), tl_client_disconnect(),
 * tl_client_free()). The client keeps trying after an error until tl_client_disconnect().
 * Any thread; never blocks. Errors: TL_EINVAL (NULL client or callback), TL_ECANCELED (the client
 * is being freed). */
TL_API tl_status tl_client_connect_start(tl_client *client, uint32_t timeout_ms, tl_completion_cb callback,
                                         void *user_data, tl_destroy_cb destroy, uint64_t *out_operation);

/* Ends the asynchronous operation `operation` (started by any tl_*_start() function on this
 * client, or on a shadow or datapoint pipeline made from it): its callback gets TL_ECANCELED
 * promptly, on the dispatcher thread. What was already sent is not recalled (a canceled report
 * stays queued and is still sent). Any thread; never blocks. Errors: TL_EINVAL, TL_ESTATE (the
 * operation has already ended, or is unknown). */
TL_API tl_status tl_client_cancel(tl_client *client, uint64_t operation);

/* Waits up to timeout_ms for queued and in-flight messages to be acknowledged, publishes the
 * offline presence, disconnects and stops reconnecting. Messages not yet sent stay queued for
 * the next connect. Blocks for at most timeout_ms + ~1 s; returns within ~100 ms when not
 * connected (a connect attempt or a backoff is interrupted). Idempotent. Errors: TL_EINVAL. */
TL_API tl_status tl_client_disconnect(tl_client *client, uint32_t timeout_ms);

/* As tl_client_disconnect() without blocking (see "Asynchronous operations" in common.h): the
 * connection thread waits up to `timeout_ms` for queued and in-flight messages to be acknowledged,
 * publishes the offline presence and disconnects; then `callback` gets TL_OK (at once, through the
 * dispatcher, when the client is not started or already stopped). Messages not yet sent stay
 * queued. TL_ECANCELED when tl_client_start() or a connect is called while it still waits for the
 * queue (the client then stays connected), on tl_client_cancel() (the disconnect goes on) or
 * tl_client_free(); TL_ETIMEOUT only if the close itself takes over timeout_ms + 5 s (it goes on).
 * A connect started while it closes waits for the close first (~1 s at most).
 * Any thread; never blocks. Errors: TL_EINVAL (NULL client or callback), TL_ECANCELED (the client
 * is being freed). */
TL_API tl_status tl_client_disconnect_start(tl_client *client, uint32_t timeout_ms, tl_completion_cb callback,
                                            void *user_data, tl_destroy_cb destroy, uint64_t *out_operation);

/* Queues a message and returns at once; it is sent in publish order when connected.
 * `topic` (no wildcards) and `payload` (payload_len bytes; NULL only when payload_len is 0) are
 * copied. `callback` may be NULL; `destroy(user_data)` runs after it, or at once on error.
 * `out_id` may be NULL. Errors: TL_EINVAL (bad topic, qos not 0..2, payload over 268435455
 * bytes), TL_EQUEUE_FULL. Never blocks. */
TL_API tl_status tl_client_publish(tl_client *client, const char *topic, const void *payload,
                                   size_t payload_len, int qos, int retain, tl_publish_cb callback,
                                   void *user_data, tl_destroy_cb destroy, uint64_t *out_id);

/* tl_client_publish() and block until it completes or timeout_ms passes. Safe in a callback.
 * Errors: as tl_client_publish(), plus TL_ETIMEOUT (the message stays queued and may still be
 * sent) and the failure of the publish itself. */
TL_API tl_status tl_client_publish_wait(tl_client *client, const char *topic, const void *payload,
                                        size_t payload_len, int qos, int retain, uint32_t timeout_ms);

/* As tl_client_publish_wait() without blocking (see "Asynchronous operations" in common.h): queues
 * the message (topic and payload copied) and `callback` gets the outcome of the publish: TL_OK once
 * the broker acknowledged it (QoS 1/2) or it was written (QoS 0), TL_EDROPPED, TL_ETIMEOUT after
 * timeout_ms (the message stays queued and may still be sent), or TL_ECANCELED (tl_client_cancel():
 * it stays queued too; tl_client_free()). Any thread; never blocks.
 * Errors: as tl_client_publish() (TL_EINVAL, TL_EQUEUE_FULL), TL_EINVAL for a NULL callback. */
TL_API tl_status tl_client_publish_start(tl_client *client, const char *topic, const void *payload,
                                         size_t payload_len, int qos, int retain, uint32_t timeout_ms,
                                         tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                         uint64_t *out_operation);

/* Calls `callback` for every message whose topic matches `filter` (+ and # wildcards).
 * When connected, blocks until the broker acknowledges (operation timeout); the subscription is
 * renewed after every reconnect, and made at connect when registered while offline. `out_id`
 * (may be NULL) receives the id for tl_client_unsubscribe(). On error `destroy(user_data)` runs
 * before the return. Errors: TL_EINVAL (bad filter, qos, NULL callback), TL_ESUBSCRIBE,
 * TL_ETIMEOUT. */
TL_API tl_status tl_client_subscribe(tl_client *client, const char *filter, int qos, tl_message_cb callback,
                                     void *user_data, tl_destroy_cb destroy, uint64_t *out_id);

/* As tl_client_subscribe() without blocking (see "Asynchronous operations" in common.h). The
 * subscription is registered at once: `on_message` may receive messages before the completion
 * runs, and `*out_id` (may be NULL) receives its id at once. `callback` gets TL_OK when the broker
 * acknowledged the SUBSCRIBE (at once, through the dispatcher, when offline or when the connection
 * ends first: it is made at the next connect, as with tl_client_subscribe()), TL_ESUBSCRIBE when
 * the broker refuses, TL_ETIMEOUT after timeout_ms, or TL_ECANCELED (tl_client_cancel(),
 * tl_client_free()). After TL_ESUBSCRIBE, TL_ETIMEOUT and TL_ECANCELED the subscription is removed
 * (as by tl_client_unsubscribe_start()) and `message_destroy(message_user_data)` has run before
 * the completion. Both destroy callbacks run before the return when the call fails.
 * Any thread; never blocks. Errors: TL_EINVAL (NULL client, on_message or callback, bad filter or
 * qos), TL_ECANCELED (the client is being freed). */
TL_API tl_status tl_client_subscribe_start(tl_client *client, const char *filter, int qos, tl_message_cb on_message,
                                           void *message_user_data, tl_destroy_cb message_destroy, uint64_t *out_id,
                                           uint32_t timeout_ms, tl_completion_cb callback, void *user_data,
                                           tl_destroy_cb destroy, uint64_t *out_operation);

/* As tl_client_unsubscribe() without blocking (see "Asynchronous operations" in common.h): the
 * subscription is removed at once (its callback does not start again), its destroy callback runs
 * on the dispatcher thread after any call of it in progress, and then `callback` gets TL_OK, once
 * the broker has also acknowledged the UNSUBSCRIBE when one was sent (no other subscription uses
 * the filter, and connected; a connection that ends first counts as done). TL_ETIMEOUT when that
 * acknowledgement does not come within timeout_ms, TL_ECANCELED (tl_client_cancel(),
 * tl_client_free()); the subscription is removed in every case. Any thread, a callback of this
 * subscription included; never blocks. Errors: TL_EINVAL (NULL client or callback, unknown id),
 * TL_ECANCELED (the client is being freed). */
TL_API tl_status tl_client_unsubscribe_start(tl_client *client, uint64_t subscription_id, uint32_t timeout_ms,
                                             tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                             uint64_t *out_operation);

/* Removes a subscription; when it returns, its callback will not run again (a call in progress
 * on another thread is waited for) and its destroy callback has run (called from a callback of
 * this client, it may run right after that callback returns instead). The UNSUBSCRIBE (sent
 * when no other subscription uses the filter) is not waited for: this never waits for the
 * broker. Errors: TL_EINVAL (NULL client, unknown id). */
TL_API tl_status tl_client_unsubscribe(tl_client *client, uint64_t subscription_id);

/* Current state; TL_STATE_DISCONNECTED for NULL. Never blocks. */
TL_API tl_connection_state tl_client_state(const tl_client *client);

/* Copies the counters into *out (out->struct_size must be set). Never blocks.
 * Errors: TL_EINVAL (NULL, struct_size too small). */
TL_API tl_status tl_client_get_stats(const tl_client *client, tl_client_stats *out);

/* The client id in use (the generated one when none was set). Borrowed: valid until
 * tl_client_free(). NULL for NULL. */
TL_API const char *tl_client_id(const tl_client *client);

TL_END_DECLS

#endif /* TWINLINK_CLIENT_H */
