/*
 * twinlink/runtime.h — threads shared by many clients (devices) in one process.
 *
 * Without a runtime every client owns a dispatcher thread for its callbacks and a timer thread for
 * the deadlines of its asynchronous operations, besides its connection thread. A process that runs
 * hundreds of devices (a gateway, a fleet simulator) shares one runtime instead: the callbacks of
 * all its clients run on its dispatch threads, each client keeping its own serial queue there (its
 * callbacks run one at a time, in order, as on its own dispatcher thread, while different clients'
 * callbacks run in parallel), and their deadlines wait on its one timer thread. A callback that
 * blocks holds one dispatch thread and delays only the later callbacks of its own client; with as
 * many clients blocked in callbacks as there are dispatch threads, the others wait. "The
 * dispatcher thread" in the other headers means that serial queue for a client with a runtime.
 *
 * The library's own work for its clients runs on the runtime's two network threads instead of
 * threads of each client's: each client's connection loop (connect, reconnect, hand-off,
 * acknowledgement deadlines) and the background work of its shadows and datapoint pipelines
 * (queued updates and resends, the batcher), one pass at a time, waiting for deadlines on the
 * timer thread. None of it waits for the network, so connects stay concurrent (one client's
 * connect never waits for another's), and none of it runs on the dispatch threads, so callbacks
 * that block all of them delay no client's traffic and may wait in blocking calls
 * (tl_client_disconnect(), tl_datapoints_flush()). A device on a runtime adds no thread.
 *
 * Lifetime: reference counted. tl_runtime_free() drops the caller's reference; every client made
 * with options that name the runtime holds one until it is freed, and the options hold one until
 * they are freed or given another runtime. So the runtime may be freed before or after its clients:
 * its threads end when the last reference goes (a callback that drops it is not waited for).
 */
#ifndef TWINLINK_RUNTIME_H
#define TWINLINK_RUNTIME_H

#include "twinlink/common.h"
#include "twinlink/client.h"

TL_BEGIN_DECLS

/* Threads shared by clients. Every function may be called from any thread. */
typedef struct tl_runtime tl_runtime;

/* Starts a runtime with `dispatch_threads` threads for callbacks (1 to 256; 0 chooses 2) and one
 * timer thread. The caller owns *out and releases it with tl_runtime_free(). Writes NULL to *out
 * on failure. Does not block beyond starting the threads.
 * Errors: TL_EINVAL (out is NULL, thread count out of range), TL_ENOMEM. */
TL_API tl_status tl_runtime_new(tl_runtime **out, uint32_t dispatch_threads);

/* Drops the caller's reference; the threads end once no client or options use the runtime any more
 * (after the callbacks already queued have run). Never blocks on a callback of the runtime's
 * clients when called from one. NULL is a no-op. */
TL_API void tl_runtime_free(tl_runtime *runtime);

/* The number of clients (devices) using the runtime now, written to *out.
 * Errors: TL_EINVAL (runtime or out is NULL). */
TL_API tl_status tl_runtime_clients(const tl_runtime *runtime, size_t *out);

/* Clients made from these options (and devices made from device options they were copied into)
 * use `runtime`'s threads; NULL: each client has its own threads (the default). The options keep
 * a reference to the runtime until they are freed or given another one, so the caller may free
 * its own reference at once. Not thread-safe, like every options setter.
 * Errors: TL_EINVAL (options is NULL). */
TL_API tl_status tl_client_options_set_runtime(tl_client_options *options, tl_runtime *runtime);

TL_END_DECLS

#endif /* TWINLINK_RUNTIME_H */
