/* raw_enums.h: calls that pass enum values outside the enumerators, as C may and C++ may not. */
#ifndef TL_TEST_RAW_ENUMS_H
#define TL_TEST_RAW_ENUMS_H

#include "twinlink.h"

#ifdef __cplusplus
extern "C" {
#endif

tl_status raw_set_mqtt_version(tl_client_options *options, int version);
tl_status raw_set_offline_queue(tl_client_options *options, size_t max_messages, size_t max_bytes, int policy);
tl_status raw_set_log_callback(tl_client_options *options, tl_log_cb callback, int level, void *user_data,
                               tl_destroy_cb destroy);
const char *raw_status_str(int status);
tl_status raw_set_encoding(tl_datapoint_options *options, int encoding);
tl_status raw_set_backpressure(tl_datapoint_options *options, int policy, uint32_t block_timeout_ms);
tl_status raw_set_spool(tl_datapoint_options *options, const char *dir, uint64_t max_bytes, int fsync,
                        uint32_t fsync_interval_ms);

#ifdef __cplusplus
}
#endif

#endif /* TL_TEST_RAW_ENUMS_H */
