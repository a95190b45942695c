/* The call-cost benchmark's common callee (see target.h). */
#include "target.h"

tl_datapoints *callcost_pipeline = NULL;
static tl_client *client = NULL;

static volatile size_t sunk_size;
static volatile double sunk_value;

/* noinline: the benchmark measures a call, and the modules link this library dynamically anyway. */
__attribute__((noinline)) void callcost_sink(const char *name, size_t size, double value) {
    (void)name;
    sunk_size = size;
    sunk_value = value;
}

#define TRY(call)                        \
    do {                                 \
        tl_status status_ = (call);      \
        if (status_ != TL_OK) {          \
            callcost_close();            \
            return status_;              \
        }                                \
    } while (0)

tl_status callcost_open(const char *broker_uri, const char *device) {
    if (callcost_pipeline != NULL) return TL_ESTATE;
    tl_client_options *options = NULL;
    TRY(tl_client_options_new(&options));
    tl_status status = tl_client_options_add_broker(options, broker_uri);
    if (status == TL_OK) status = tl_client_new(&client, options);
    tl_client_options_free(options);
    TRY(status);
    TRY(tl_client_connect(client, 30000));

    tl_datapoint_options *dp = NULL;
    TRY(tl_datapoint_options_new(&dp));
    status = tl_datapoint_options_set_delivery(dp, TL_DELIVERY_BROKER, 10000, 64, NULL);
    if (status == TL_OK) status = tl_datapoint_options_set_backlog(dp, (size_t)512 * 1024 * 1024, 20000000);
    if (status == TL_OK) status = tl_datapoints_new(&callcost_pipeline, client, device, dp);
    tl_datapoint_options_free(dp);
    TRY(status);
    return TL_OK;
}

tl_status callcost_flush(unsigned timeout_ms) {
    if (callcost_pipeline == NULL) return TL_ESTATE;
    return tl_datapoints_flush(callcost_pipeline, timeout_ms);
}

tl_status callcost_counts(unsigned long long *acked, unsigned long long *dropped) {
    if (callcost_pipeline == NULL) return TL_ESTATE;
    tl_datapoint_stats stats = {0};
    stats.struct_size = sizeof stats;
    tl_status status = tl_datapoints_get_stats(callcost_pipeline, &stats);
    *acked = stats.acked_points;
    *dropped = stats.dropped_points;
    return status;
}

void callcost_close(void) {
    tl_datapoints_free(callcost_pipeline);
    callcost_pipeline = NULL;
    if (client != NULL) tl_client_disconnect(client, 5000);
    tl_client_free(client);
    client = NULL;
}
