/*
 * twinlink/device.h — a device: one client, its shadows and its datapoint pipeline, in one handle.
 *
 * The shape every language binding uses (twinlink.Device in Python, new Device() in Node, Device in
 * Rust): create it with a device id and options, connect, then use its shadows and datapoints. The
 * handles tl_device_client(), tl_device_shadow() and tl_device_datapoints() return are borrowed:
 * they belong to the device, stay valid until tl_device_free(), and must not be freed.
 *
 * Defaults derived from the device id: the client id is the device id; in the twinlink profile the
 * presence topic is "{prefix}/{device}/status" and datapoints go to "{prefix}/{device}/dp".
 */
#ifndef TWINLINK_DEVICE_H
#define TWINLINK_DEVICE_H

#include "twinlink/client.h"
#include "twinlink/common.h"
#include "twinlink/datapoints.h"
#include "twinlink/shadow.h"

TL_BEGIN_DECLS

typedef struct tl_device tl_device;
typedef struct tl_device_options tl_device_options;

/* Options with defaults. Not thread-safe. Errors: TL_EINVAL, TL_ENOMEM. */
TL_API tl_status tl_device_options_new(tl_device_options **out);
/* NULL is a no-op. */
TL_API void tl_device_options_free(tl_device_options *options);
/* Client options (copied): brokers, TLS, credentials, timeouts, queue, callbacks. A client id or
 * presence topic set there wins over the defaults derived from the device id. Required: at least
 * one broker. Errors: TL_EINVAL. */
TL_API tl_status tl_device_options_set_client(tl_device_options *options, const tl_client_options *client);
/* Topic profile and prefix (NULL keeps "tl") for the shadows and the default topics.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_device_options_set_profile(tl_device_options *options, tl_topic_profile profile,
                                               const char *prefix);
/* Shadow options (copied) used for every shadow of the device; the name in them is ignored. A
 * persist path names a directory here: each shadow keeps "<device>[.<name>].shadow.json" in it.
 * Errors: TL_EINVAL. */
TL_API tl_status tl_device_options_set_shadow(tl_device_options *options, const tl_shadow_options *shadow);
/* Datapoint options (copied). Errors: TL_EINVAL. */
TL_API tl_status tl_device_options_set_datapoints(tl_device_options *options,
                                                  const tl_datapoint_options *datapoints);

/* Creates a device (does not connect). With a datapoint spool, its pipeline starts at once so that
 * batches left by an earlier run are sent as soon as the device connects. `options` is copied.
 * Errors: TL_EINVAL (bad device id, no broker, bad options), TL_EIO, TL_ESTATE (spool in use). */
TL_API tl_status tl_device_new(tl_device **out, const char *device_id, const tl_device_options *options);

/* Stops and frees the datapoint pipeline, the shadows and the client, in that order (see their own
 * free functions). Not from a callback of the device. NULL is a no-op. */
TL_API void tl_device_free(tl_device *device);

/* tl_client_connect() / tl_client_disconnect() of the device's client. */
TL_API tl_status tl_device_connect(tl_device *device, uint32_t timeout_ms);
TL_API tl_status tl_device_disconnect(tl_device *device, uint32_t timeout_ms);

/* The device id. Borrowed until tl_device_free(). NULL for NULL. */
TL_API const char *tl_device_id(const tl_device *device);

/* The device's client (borrowed). NULL for NULL. */
TL_API tl_client *tl_device_client(tl_device *device);

/* The shadow `name` of the device (NULL or "" for the classic shadow), created on first use and
 * kept until tl_device_free(); borrowed. Creating it subscribes (blocking up to the operation
 * timeout when connected). Errors: TL_EINVAL, TL_ETIMEOUT, TL_ESUBSCRIBE. */
TL_API tl_status tl_device_shadow(tl_device *device, const char *name, tl_shadow **out);

/* The device's datapoint pipeline, created on first use (or at tl_device_new() with a spool);
 * borrowed. Errors: TL_EINVAL, TL_EIO, TL_ESTATE. */
TL_API tl_status tl_device_datapoints(tl_device *device, tl_datapoints **out);

TL_END_DECLS

#endif /* TWINLINK_DEVICE_H */
