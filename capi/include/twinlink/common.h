/*
 * twinlink/common.h — export macro, version, and the types every module uses.
 */
#ifndef TWINLINK_COMMON_H
#define TWINLINK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define TL_BEGIN_DECLS extern "C" {
#define TL_END_DECLS }
#else
#define TL_BEGIN_DECLS
#define TL_END_DECLS
#endif

/* Marks every exported function; the linker version script is generated from these lines. */
#if defined(__GNUC__)
#define TL_API __attribute__((visibility("default")))
#else
#define TL_API
#endif

/* The version of the headers compiled against. tl_version() gives the library's at run time. */
#define TL_VERSION_MAJOR 0
#define TL_VERSION_MINOR 1
#define TL_VERSION_PATCH 0
#define TL_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define TL_VERSION_NUMBER (TL_VERSION_MAJOR * 10000 + TL_VERSION_MINOR * 100 + TL_VERSION_PATCH)

TL_BEGIN_DECLS

/*
 * ABI promise: within one major version (the SONAME is libtwinlink.so.MAJOR) a function, a
 * struct field or an enum value is never removed or changed in meaning; new ones are added at the
 * end. Structs passed in or out begin with `struct_size`, which the caller sets to sizeof(struct),
 * so an older caller and a newer library agree on how much is there.
 */

/* Result of every fallible function: TL_OK or a negative value. The values never change meaning. */
typedef enum tl_status {
    TL_OK = 0,
    TL_EINVAL = -1,         /* a parameter is NULL, empty, out of range or malformed */
    TL_ENOMEM = -2,         /* an allocation failed */
    TL_ETIMEOUT = -3,       /* the operation did not complete in the time given */
    TL_ECONNECT = -4,       /* the broker could not be reached or refused the connection */
    TL_ETLS = -5,           /* TLS handshake or certificate verification failed */
    TL_EAUTH = -6,          /* the broker refused the credentials or the client certificate */
    TL_ENOTCONN = -7,       /* the operation needs a connection and there is none */
    TL_EQUEUE_FULL = -8,    /* the offline queue is full and its policy rejects new messages */
    TL_EDROPPED = -9,       /* the message was dropped from a full queue (drop-oldest policy) */
    TL_ECANCELED = -10,     /* abandoned because the client was stopped or freed */
    TL_ESUBSCRIBE = -11,    /* the broker refused a subscription */
    TL_ESTATE = -12,        /* the call is not valid in the handle's current state */
    TL_EPROTOCOL = -13,     /* the peer sent something that breaks the protocol */
    TL_EINTERNAL = -14,     /* a bug in twinlink or an unexpected failure of a dependency */
    TL_EIO = -15,           /* a file could not be read or written */
    TL_EREJECTED = -16,     /* the cloud rejected a shadow request (400, 413, 500: see the message) */
    TL_ECONFLICT = -17,     /* a shadow update carried a stale version (409) */
    TL_ENOTFOUND = -18      /* the shadow does not exist (404) */
} tl_status;

/* Log levels, in increasing verbosity. */
typedef enum tl_log_level {
    TL_LOG_ERROR = 0,
    TL_LOG_WARNING = 1,
    TL_LOG_INFO = 2,
    TL_LOG_DEBUG = 3
} tl_log_level;

/*
 * Receives one log line. `message` is borrowed for the call. Runs on a thread of twinlink's (the
 * connection thread, the dispatcher) or on a thread of yours inside a twinlink call, never on a
 * thread of the MQTT library (lines produced there are written later by the client's dispatcher)
 * and never while twinlink holds an internal lock: it may call twinlink and take locks of its own
 * (an interpreter lock, say). A client writes its lines one at a time, in the order they were
 * produced; the callback must still be thread-safe (clients may share it) and should return
 * quickly.
 */
typedef void (*tl_log_cb)(tl_log_level level, const char *message, void *user_data);

/* Releases the user_data of a registration. Called exactly once, on any twinlink thread or the
 * thread that frees the handle, after the last call of the callback it came with. */
typedef void (*tl_destroy_cb)(void *user_data);

/*
 * Asynchronous operations. A function named tl_<module>_<verb>_start() begins an operation that a
 * blocking tl_<module>_<verb>() would wait for, returns at once, and reports how it ended through
 * a tl_completion_cb; no thread waits meanwhile. Its operation id (written to `*out_operation`,
 * which may be NULL) ends it early with tl_<module>_cancel().
 *
 * The callback is called exactly once per start function that returned TL_OK, and never inside
 * that call: on the client's dispatcher thread (the rules of message callbacks apply: it may call
 * any twinlink function), with TL_OK, the operation's error, TL_ETIMEOUT when its timeout passed,
 * or TL_ECANCELED when it was canceled or its handle (or client) freed. The `destroy` given with
 * it runs exactly once, after the callback; when the start function fails, the callback is not
 * called and `destroy` runs before it returns.
 */
typedef struct tl_completion {
    size_t struct_size;    /* sizeof(tl_completion) of the library that made it */
    uint64_t operation;    /* the id the start function returned */
    tl_status status;      /* TL_OK or why the operation failed */
    const char *message;   /* why, for an error; "" on success. Borrowed for the call. */
    const char *document;  /* the JSON answer of a shadow operation (see its start function), or
                              NULL. Borrowed for the call. */
} tl_completion;

typedef void (*tl_completion_cb)(const tl_completion *completion, void *user_data);

/* Frees a string or buffer that twinlink returned through a `char **out` parameter. NULL is a
 * no-op. Any thread. */
TL_API void tl_free(void *pointer);

/* "MAJOR.MINOR.PATCH" of the running library. Static storage; never NULL. Any thread. */
TL_API const char *tl_version(void);

/* TL_VERSION_NUMBER of the running library. Any thread. */
TL_API int tl_version_number(void);

TL_END_DECLS

#endif /* TWINLINK_COMMON_H */
