/*
 * twinlink/datapoints.h — recording telemetry and streaming it in batches.
 *
 * Recording appends to memory and returns at once (it waits only under TL_BACKPRESSURE_BLOCK). A
 * batcher thread encodes points into batches (closed on max points, max encoded bytes or linger
 * time, whichever comes first), numbers them, writes them to the spool when there is one, and
 * publishes them at QoS 1 through the client. A batch leaves the device only once delivered: by
 * default when the sink's receipt says it is stored (TL_DELIVERY_RECEIPT), or at the broker's
 * PUBACK (TL_DELIVERY_BROKER).
 * Wire format: docs/protocol.md. Loss windows of the spool's fsync policies: docs/reliability.md.
 */
#ifndef TWINLINK_DATAPOINTS_H
#define TWINLINK_DATAPOINTS_H

#include "twinlink/client.h"
#include "twinlink/common.h"

TL_BEGIN_DECLS

typedef struct tl_datapoints tl_datapoints;
typedef struct tl_datapoint_options tl_datapoint_options;

/* Timestamp argument meaning "now" (taken inside the call). */
#define TL_NOW INT64_MIN

/* How batches are written (docs/protocol.md, "Datapoints"). */
typedef enum tl_encoding {
    TL_ENCODING_JSON = 0, /* readable JSON document, the default */
    TL_ENCODING_CBOR = 1, /* the same document in CBOR (RFC 8949) */
    /* Compressed columns for sensor series: delta-of-delta timestamps, doubles as scaled decimal
     * integers or XOR bits, varint integers, run-length booleans (a few bytes per point or less
     * for regular series). At most 262,144 points per batch. */
    TL_ENCODING_COMPACT = 2
} tl_encoding;

typedef enum tl_backpressure {
    TL_BACKPRESSURE_DROP_OLDEST = 0, /* the oldest unacknowledged batch is discarded (reported) */
    TL_BACKPRESSURE_DROP_NEWEST = 1, /* recording fails with TL_EQUEUE_FULL (reported) */
    TL_BACKPRESSURE_BLOCK = 2        /* recording waits up to the block timeout, then TL_ETIMEOUT */
} tl_backpressure;

/* When a batch counts as delivered and leaves the device (docs/reliability.md). */
typedef enum tl_delivery_mode {
    TL_DELIVERY_BROKER = 0, /* at the broker's PUBACK: for sinks that send no receipts */
    TL_DELIVERY_RECEIPT = 1 /* when the sink's receipt confirms it is stored; resent when none comes */
} tl_delivery_mode;

typedef enum tl_fsync_policy {
    TL_FSYNC_EVERY_BATCH = 0, /* nothing appended is lost */
    TL_FSYNC_INTERVAL = 1,    /* at most the interval's worth of batches is lost on power loss */
    TL_FSYNC_NEVER = 2        /* whatever the OS had not written back is lost on power loss */
} tl_fsync_policy;

/* Reports discarded points, on the client's dispatcher thread, at most once a second per reason: one
 * call sums up the drops since the previous call for that reason. `reason` is borrowed for the call. */
typedef void (*tl_drop_cb)(tl_backpressure policy, uint64_t points, uint64_t batches, const char *reason,
                           void *user_data);

/* Counters. Set struct_size = sizeof(tl_datapoint_stats) before the call. Fields are only ever added
 * at the end; a caller built against an older header (a smaller struct_size) gets the fields it
 * knows. */
typedef struct tl_datapoint_stats {
    size_t struct_size;
    uint64_t recorded;          /* points accepted */
    uint64_t batched;           /* points in closed batches */
    uint64_t batches;           /* batches closed */
    uint64_t sent;              /* batch publishes started (resends included) */
    uint64_t acked_batches;     /* acknowledged by the broker, each batch counted once */
    uint64_t acked_points;
    uint64_t dropped_points;    /* discarded by the policy or at shutdown without a spool */
    uint64_t dropped_batches;
    uint64_t rejected_points;   /* refused by a record call */
    uint64_t recovered_batches; /* found unacknowledged in the spool at start */
    uint64_t pending_points;    /* recorded, not yet in a closed batch */
    uint64_t backlog_batches;   /* closed, not yet delivered */
    uint64_t backlog_points;
    uint64_t backlog_bytes;
    uint64_t spooled_bytes;
    /* Added after the first release: */
    uint64_t confirmed_batches; /* confirmed stored by the sink's receipts (TL_DELIVERY_RECEIPT) */
    uint64_t confirmed_points;
    uint64_t receipt_timeouts;  /* batches sent again because no receipt came in time */
    uint64_t receipts_ignored;  /* receipts not applied: malformed, for another device, or beyond
                                   the 1,024 waiting to be read (each also logged as a warning) */
} tl_datapoint_stats;

/* Options with the defaults named below. Not thread-safe. Errors: TL_EINVAL, TL_ENOMEM. */
TL_API tl_status tl_datapoint_options_new(tl_datapoint_options **out);
/* NULL is a no-op. */
TL_API void tl_datapoint_options_free(tl_datapoint_options *options);
/* Batch topic; "{device}" is replaced, "{series}" routes each series to its own topic.
 * Default "tl/{device}/dp". Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_topic(tl_datapoint_options *options, const char *topic);
/* Default TL_ENCODING_JSON. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_encoding(tl_datapoint_options *options, tl_encoding encoding);
/* A batch closes at max_points points, max_bytes encoded bytes (1 KiB..256 MiB) or linger_ms after
 * its first point, whichever comes first. Default 5000, 65536, 500. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_batch_limits(tl_datapoint_options *options, size_t max_points,
                                                       size_t max_bytes, uint32_t linger_ms);
/* Durable spool in `dir` (created if missing) holding at most max_bytes of unacknowledged batches.
 * Default: no spool (memory only). Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_spool(tl_datapoint_options *options, const char *dir, uint64_t max_bytes,
                                                tl_fsync_policy fsync, uint32_t fsync_interval_ms);
/* Memory bounds: unacknowledged batches without a spool (default 16 MiB) and points not yet batched
 * (default 1000000). Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_backlog(tl_datapoint_options *options, size_t max_backlog_bytes,
                                                  size_t max_pending_points);
/* What happens when the backlog is full. Default TL_BACKPRESSURE_DROP_OLDEST, 1000 ms.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_backpressure(tl_datapoint_options *options, tl_backpressure policy,
                                                       uint32_t block_timeout_ms);
/* Batches published and not yet acknowledged at most (default 16), and batches published per
 * second at most (0: no limit, the default), so a fleet draining its backlogs after an outage does
 * not hammer the broker. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_sending(tl_datapoint_options *options, uint32_t max_inflight_batches,
                                                  double max_batches_per_second);
/* How a batch counts as delivered. With TL_DELIVERY_RECEIPT (the default) the pipeline subscribes to
 * `receipt_topic` ("{device}" is replaced; NULL keeps the default "tl/{device}/receipts", which a
 * tl_device puts under its prefix) and frees a batch when the sink's receipt names it; one that the
 * broker acknowledged and no receipt confirmed within receipt_timeout_ms (default 10000) is sent
 * again, and the sink drops the duplicate. At most max_unconfirmed_batches (default 64) are sent
 * and not yet confirmed: the device keeps to the sink's pace. Both are ignored with
 * TL_DELIVERY_BROKER, for a sink that sends no receipts (protocol: docs/protocol.md, "Delivery
 * receipts"). Errors: TL_EINVAL (an unknown mode, a zero timeout or window, a bad topic). */
TL_API tl_status tl_datapoint_options_set_delivery(tl_datapoint_options *options, tl_delivery_mode mode,
                                                   uint32_t receipt_timeout_ms, uint32_t max_unconfirmed_batches,
                                                   const char *receipt_topic);
/* Reports discarded points. The user_data is destroyed when the options and every tl_datapoints
 * made from them are freed. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoint_options_set_drop_callback(tl_datapoint_options *options, tl_drop_cb callback,
                                                        void *user_data, tl_destroy_cb destroy);

/* Starts the datapoint pipeline of `device` on `client` (which must outlive it). `options` may be
 * NULL (defaults) and is copied. With a spool, batches left unacknowledged by an earlier run are
 * queued for sending first. Errors: TL_EINVAL, TL_EIO (spool directory), TL_ESTATE (the spool is
 * in use by another process). */
TL_API tl_status tl_datapoints_new(tl_datapoints **out, tl_client *client, const char *device,
                                   const tl_datapoint_options *options);

/* Closes the open batches and stops. With a spool, what is unacknowledged stays on disk for the next
 * start; without one it is discarded and counted (call tl_datapoints_flush() first). NULL: no-op. */
TL_API void tl_datapoints_free(tl_datapoints *datapoints);

/* Record one point of series `name` (1..128 bytes, no '/', '+', '#', control characters) at
 * `timestamp_ms` (milliseconds since the epoch, or TL_NOW). Any thread; never blocks on the network.
 * Errors: TL_EINVAL (bad name, non-finite number, JSON that is not an object), TL_EQUEUE_FULL,
 * TL_ETIMEOUT (backpressure), TL_EIO (the spool cannot be written, a full disk say: batches are held
 * in memory and retried each second, and once they fill the backlog's room the new points are
 * refused; the message names the spool's error). */
TL_API tl_status tl_datapoints_record_double(tl_datapoints *datapoints, const char *name, double value,
                                             int64_t timestamp_ms);
TL_API tl_status tl_datapoints_record_int64(tl_datapoints *datapoints, const char *name, int64_t value,
                                            int64_t timestamp_ms);
TL_API tl_status tl_datapoints_record_bool(tl_datapoints *datapoints, const char *name, int value,
                                           int64_t timestamp_ms);
/* `value` is a NUL-terminated UTF-8 string, copied. */
TL_API tl_status tl_datapoints_record_string(tl_datapoints *datapoints, const char *name, const char *value,
                                             int64_t timestamp_ms);
/* `object_json` is the text of a JSON object, parsed and copied. */
TL_API tl_status tl_datapoints_record_json(tl_datapoints *datapoints, const char *name, const char *object_json,
                                           int64_t timestamp_ms);

/* Record `count` points of one series at once; `timestamps_ms` may be NULL (all "now"). All or
 * nothing. Errors: as the single calls. */
TL_API tl_status tl_datapoints_record_many_double(tl_datapoints *datapoints, const char *name, const double *values,
                                                  const int64_t *timestamps_ms, size_t count);
TL_API tl_status tl_datapoints_record_many_int64(tl_datapoints *datapoints, const char *name, const int64_t *values,
                                                 const int64_t *timestamps_ms, size_t count);

/* Registers series `name` (validated as by tl_datapoints_record_double()) and writes its id to
 * *out_id: the same name always gives the same id, valid until tl_datapoints_free(). Recording by id
 * skips checking and looking up the name, most of the cost of a single point; a binding that
 * buffers its users' record() calls keeps the ids and hands the buffer over with
 * tl_datapoints_record_points_double(). Any thread; never blocks on the network.
 * Errors: TL_EINVAL (NULL arguments, a bad name). */
TL_API tl_status tl_datapoints_series_id(tl_datapoints *datapoints, const char *name, uint32_t *out_id);
/* As tl_datapoints_record_double() and _int64() for a series id from tl_datapoints_series_id().
 * Errors: as those, and TL_EINVAL for an id this pipeline did not give. */
TL_API tl_status tl_datapoints_record_id_double(tl_datapoints *datapoints, uint32_t series_id, double value,
                                                int64_t timestamp_ms);
TL_API tl_status tl_datapoints_record_id_int64(tl_datapoints *datapoints, uint32_t series_id, int64_t value,
                                               int64_t timestamp_ms);
/* Records `count` points of any series: point i is `values[i]` of series `series_ids[i]` at
 * `timestamps_ms[i]` (`timestamps_ms` may be NULL: all "now"). The arrays are read during the call
 * only. All or nothing: a non-finite value or an unknown id rejects the whole call.
 * Errors: TL_EINVAL, TL_EQUEUE_FULL, TL_ETIMEOUT (backpressure). */
TL_API tl_status tl_datapoints_record_points_double(tl_datapoints *datapoints, const uint32_t *series_ids,
                                                    const double *values, const int64_t *timestamps_ms,
                                                    size_t count);

/* Closes the open batches and blocks until every point recorded before the call is delivered (see
 * tl_delivery_mode) or dropped by the policy, or timeout_ms passes. May be called from any thread,
 * the client's callbacks included (deliveries do not need the dispatcher thread).
 * Errors: TL_EINVAL, TL_ETIMEOUT. */
TL_API tl_status tl_datapoints_flush(tl_datapoints *datapoints, uint32_t timeout_ms);

/* As tl_datapoints_flush() without blocking (see "Asynchronous operations" in common.h):
 * `callback` gets TL_OK when every point recorded before the call is delivered, TL_ETIMEOUT, or
 * TL_ECANCELED (tl_datapoints_cancel(), tl_datapoints_free(), the client freed). The batcher
 * thread triggers it as deliveries arrive. Any thread; never blocks. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoints_flush_start(tl_datapoints *datapoints, uint32_t timeout_ms,
                                           tl_completion_cb callback, void *user_data, tl_destroy_cb destroy,
                                           uint64_t *out_operation);
/* As tl_client_cancel(), for an operation started on this pipeline (or any on its client). */
TL_API tl_status tl_datapoints_cancel(tl_datapoints *datapoints, uint64_t operation);

/* Copies the counters (out->struct_size must be set). Never blocks. Errors: TL_EINVAL. */
TL_API tl_status tl_datapoints_get_stats(const tl_datapoints *datapoints, tl_datapoint_stats *out);

TL_END_DECLS

#endif /* TWINLINK_DATAPOINTS_H */
