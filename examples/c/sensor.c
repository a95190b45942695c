/*
 * sensor.c: stream datapoints into the local cloud, and lose none when the broker crashes.
 *
 *   usage: sensor BROKER_URI DEVICE POINTS SPOOL_DIR   (for example mqtt://127.0.0.1:1883 demo-sensor 50000 /tmp/s)
 *
 * Records POINTS readings of the series "temp" (value i / 100, 1 ms apart) at about 10,000 points a
 * second into a device's datapoint pipeline with a durable spool. Batches are freed only when the
 * sink (`twinlink serve`) sends its receipt saying they are stored, so a broker that crashes after
 * acknowledging a batch costs nothing: the batch is sent again. After the last point it waits for
 * every receipt and prints the counters. Exits 0 when every point was confirmed stored.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "twinlink.h"

#define FLUSH_TIMEOUT_MS 60000

static int fail(const char *what, tl_status status) {
    fprintf(stderr, "sensor: %s: %s (%s)\n", what, tl_last_error(), tl_status_str(status));
    return 1;
}

static void pause_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

static void print_stats(const char *when, const tl_datapoint_stats *s) {
    printf("  [sensor] %s: recorded %" PRIu64 ", acknowledged by the broker %" PRIu64
           ", confirmed stored %" PRIu64 ", sent again %" PRIu64 ", dropped %" PRIu64 "\n",
           when, s->recorded, s->acked_points, s->confirmed_points, s->receipt_timeouts, s->dropped_points);
    fflush(stdout);
}

int main(int argc, char **argv) {
    tl_client_options *client_options = NULL;
    tl_datapoint_options *dp_options = NULL;
    tl_device_options *options = NULL;
    tl_device *device = NULL;
    tl_datapoints *dp = NULL;
    tl_datapoint_stats stats;
    tl_status status;
    long points, i;
    int64_t t0;
    int result = 1;

    if (argc != 5 || (points = strtol(argv[3], NULL, 10)) <= 0) {
        fprintf(stderr, "usage: sensor BROKER_URI DEVICE POINTS SPOOL_DIR\n");
        return 2;
    }
    if ((status = tl_client_options_new(&client_options)) != TL_OK) return fail("client options", status);
    if ((status = tl_client_options_add_broker(client_options, argv[1])) != TL_OK ||
        (status = tl_client_options_set_reconnect_backoff(client_options, 100, 1000)) != TL_OK) {
        result = fail("client options", status);
        goto out;
    }
    if ((status = tl_datapoint_options_new(&dp_options)) != TL_OK ||
        (status = tl_datapoint_options_set_encoding(dp_options, TL_ENCODING_CBOR)) != TL_OK ||
        (status = tl_datapoint_options_set_batch_limits(dp_options, 1000, 65536, 100)) != TL_OK ||
        (status = tl_datapoint_options_set_spool(dp_options, argv[4], 64u * 1024 * 1024, TL_FSYNC_INTERVAL, 1000)) !=
            TL_OK ||
        /* The default, spelled out: freed on the sink's receipt, sent again after 2 s without one. */
        (status = tl_datapoint_options_set_delivery(dp_options, TL_DELIVERY_RECEIPT, 2000, 64, NULL)) != TL_OK) {
        result = fail("datapoint options", status);
        goto out;
    }
    if ((status = tl_device_options_new(&options)) != TL_OK ||
        (status = tl_device_options_set_client(options, client_options)) != TL_OK ||
        (status = tl_device_options_set_datapoints(options, dp_options)) != TL_OK) {
        result = fail("device options", status);
        goto out;
    }
    if ((status = tl_device_new(&device, argv[2], options)) != TL_OK) {
        result = fail("tl_device_new", status);
        goto out;
    }
    if ((status = tl_device_connect(device, 10000)) != TL_OK) {
        result = fail("connect", status);
        goto out;
    }
    if ((status = tl_device_datapoints(device, &dp)) != TL_OK) {
        result = fail("datapoints", status);
        goto out;
    }

    printf("  [sensor] streaming %ld points of \"temp\"\n", points);
    fflush(stdout);
    t0 = 1700000000000;
    for (i = 0; i < points; ++i) {
        /* Recording never waits for the network: while the broker is away, batches wait in the spool. */
        if ((status = tl_datapoints_record_double(dp, "temp", (double)i / 100.0, t0 + i)) != TL_OK) {
            result = fail("record", status);
            goto out;
        }
        if (i % 1000 == 999) {
            stats.struct_size = sizeof stats;
            tl_datapoints_get_stats(dp, &stats);
            if (i % 10000 == 9999) print_stats("progress", &stats);
            pause_ms(100);
        }
    }
    status = tl_datapoints_flush(dp, FLUSH_TIMEOUT_MS);
    stats.struct_size = sizeof stats;
    tl_datapoints_get_stats(dp, &stats);
    print_stats("done", &stats);
    if (status != TL_OK) {
        result = fail("flush", status);
        goto out;
    }
    result = stats.confirmed_points == (uint64_t)points ? 0 : 1;

out:
    tl_device_free(device); /* frees its client, shadows and datapoints */
    tl_device_options_free(options);
    tl_datapoint_options_free(dp_options);
    tl_client_options_free(client_options);
    return result;
}
