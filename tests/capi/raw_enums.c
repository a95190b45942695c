/* raw_enums.c: see raw_enums.h. Written in C, where converting any int to an enum type is defined. */
#include "raw_enums.h"

tl_status raw_set_mqtt_version(tl_client_options *options, int version) {
    return tl_client_options_set_mqtt_version(options, (tl_mqtt_version)version);
}

tl_status raw_set_offline_queue(tl_client_options *options, size_t max_messages, size_t max_bytes, int policy) {
    return tl_client_options_set_offline_queue(options, max_messages, max_bytes, (tl_overflow_policy)policy);
}

tl_status raw_set_log_callback(tl_client_options *options, tl_log_cb callback, int level, void *user_data,
                               tl_destroy_cb destroy) {
    return tl_client_options_set_log_callback(options, callback, (tl_log_level)level, user_data, destroy);
}

const char *raw_status_str(int status) { return tl_status_str((tl_status)status); }

tl_status raw_set_encoding(tl_datapoint_options *options, int encoding) {
    return tl_datapoint_options_set_encoding(options, (tl_encoding)encoding);
}

tl_status raw_set_backpressure(tl_datapoint_options *options, int policy, uint32_t block_timeout_ms) {
    return tl_datapoint_options_set_backpressure(options, (tl_backpressure)policy, block_timeout_ms);
}

tl_status raw_set_spool(tl_datapoint_options *options, const char *dir, uint64_t max_bytes, int fsync,
                        uint32_t fsync_interval_ms) {
    return tl_datapoint_options_set_spool(options, dir, max_bytes, (tl_fsync_policy)fsync, fsync_interval_ms);
}
