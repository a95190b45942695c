// The setters are one-to-one with the C functions; the Python layer (twinlink/_options.py) turns
// keyword arguments into calls of them.
#include "options.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "callbacks.hpp"
#include "errors.hpp"

namespace twinlink_py {
namespace {

using OptText = std::optional<std::string>;

const char* c_str(const OptText& text) { return text ? text->c_str() : nullptr; }

// A callable as (trampoline user_data, destroy), or (NULL, NULL) for None.
struct Registration {
    void* user_data = nullptr;
    tl_destroy_cb destroy = nullptr;
    explicit Registration(const py::object& fn) {
        if (!fn.is_none()) {
            user_data = new_callback(fn);
            destroy = destroy_callback;
        }
    }
};

}  // namespace

ClientOptions::ClientOptions() { check(tl_client_options_new(&options_)); }
ClientOptions::~ClientOptions() { tl_client_options_free(options_); }
Runtime::Runtime(uint32_t dispatch_threads) { check(tl_runtime_new(&runtime_, dispatch_threads)); }
Runtime::~Runtime() { tl_runtime_free(runtime_); }
ShadowOptions::ShadowOptions() { check(tl_shadow_options_new(&options_)); }
ShadowOptions::~ShadowOptions() { tl_shadow_options_free(options_); }
DatapointOptions::DatapointOptions() { check(tl_datapoint_options_new(&options_)); }
DatapointOptions::~DatapointOptions() { tl_datapoint_options_free(options_); }
DeviceOptions::DeviceOptions() { check(tl_device_options_new(&options_)); }
DeviceOptions::~DeviceOptions() { tl_device_options_free(options_); }

void bind_options(py::module_& m) {
    py::class_<Runtime, std::shared_ptr<Runtime>>(m, "Runtime")
        .def(py::init<uint32_t>(), py::arg("dispatch_threads"))
        .def_property_readonly("clients", [](const Runtime& r) {
            size_t n = 0;
            check(tl_runtime_clients(r.get(), &n));
            return n;
        });
    py::class_<ClientOptions, std::shared_ptr<ClientOptions>>(m, "ClientOptions")
        .def(py::init<>())
        .def("add_broker", [](ClientOptions& o, const std::string& uri) {
            check(tl_client_options_add_broker(o.get(), uri.c_str()));
        })
        .def("set_client_id", [](ClientOptions& o, const std::string& id) {
            check(tl_client_options_set_client_id(o.get(), id.c_str()));
        })
        .def("set_credentials", [](ClientOptions& o, const std::string& user, const OptText& password) {
            check(tl_client_options_set_credentials(o.get(), user.c_str(), c_str(password)));
        })
        .def("set_mqtt_version", [](ClientOptions& o, int version) {
            check(tl_client_options_set_mqtt_version(o.get(), static_cast<tl_mqtt_version>(version)));
        })
        .def("set_clean_session", [](ClientOptions& o, bool clean) {
            check(tl_client_options_set_clean_session(o.get(), clean ? 1 : 0));
        })
        .def("set_keepalive", [](ClientOptions& o, uint32_t seconds) {
            check(tl_client_options_set_keepalive(o.get(), seconds));
        })
        .def("set_connect_timeout", [](ClientOptions& o, uint32_t ms) {
            check(tl_client_options_set_connect_timeout(o.get(), ms));
        })
        .def("set_reconnect_backoff", [](ClientOptions& o, uint32_t min_ms, uint32_t max_ms) {
            check(tl_client_options_set_reconnect_backoff(o.get(), min_ms, max_ms));
        })
        .def("set_ack_timeout", [](ClientOptions& o, uint32_t ms) {
            check(tl_client_options_set_ack_timeout(o.get(), ms));
        })
        .def("set_operation_timeout", [](ClientOptions& o, uint32_t ms) {
            check(tl_client_options_set_operation_timeout(o.get(), ms));
        })
        .def("set_tls_ca", [](ClientOptions& o, const OptText& file, const OptText& dir) {
            check(tl_client_options_set_tls_ca(o.get(), c_str(file), c_str(dir)));
        })
        .def("set_tls_client_cert",
             [](ClientOptions& o, const std::string& cert, const std::string& key, const OptText& password) {
                 check(tl_client_options_set_tls_client_cert(o.get(), cert.c_str(), key.c_str(), c_str(password)));
             })
        .def("set_tls_verify_hostname", [](ClientOptions& o, bool verify) {
            check(tl_client_options_set_tls_verify_hostname(o.get(), verify ? 1 : 0));
        })
        .def("set_tls_insecure", [](ClientOptions& o, bool insecure) {
            check(tl_client_options_set_tls_insecure(o.get(), insecure ? 1 : 0));
        })
        .def("set_presence", [](ClientOptions& o, const OptText& topic, const OptText& online, const OptText& offline) {
            check(tl_client_options_set_presence(o.get(), c_str(topic), c_str(online), c_str(offline)));
        })
        .def("set_offline_queue", [](ClientOptions& o, size_t max_messages, size_t max_bytes, int policy) {
            check(tl_client_options_set_offline_queue(o.get(), max_messages, max_bytes,
                                                      static_cast<tl_overflow_policy>(policy)));
        })
        .def("set_max_inflight", [](ClientOptions& o, uint32_t n) {
            check(tl_client_options_set_max_inflight(o.get(), n));
        })
        .def("set_runtime", [](ClientOptions& o, const std::shared_ptr<Runtime>& runtime) {
            check(tl_client_options_set_runtime(o.get(), runtime ? runtime->get() : nullptr));
        })
        .def("set_log_callback", [](ClientOptions& o, const py::object& fn, int level) {
            Registration r(fn);
            check(tl_client_options_set_log_callback(o.get(), fn.is_none() ? nullptr : log_trampoline,
                                                     static_cast<tl_log_level>(level), r.user_data, r.destroy));
        })
        .def("set_connection_callback", [](ClientOptions& o, const py::object& fn) {
            Registration r(fn);
            check(tl_client_options_set_connection_callback(
                o.get(), fn.is_none() ? nullptr : connection_trampoline, r.user_data, r.destroy));
        });

    py::class_<ShadowOptions, std::shared_ptr<ShadowOptions>>(m, "ShadowOptions")
        .def(py::init<>())
        .def("set_name", [](ShadowOptions& o, const OptText& name) {
            check(tl_shadow_options_set_name(o.get(), c_str(name)));
        })
        .def("set_profile", [](ShadowOptions& o, int profile, const OptText& prefix) {
            check(tl_shadow_options_set_profile(o.get(), static_cast<tl_topic_profile>(profile), c_str(prefix)));
        })
        .def("set_request_timeout", [](ShadowOptions& o, uint32_t ms) {
            check(tl_shadow_options_set_request_timeout(o.get(), ms));
        })
        .def("set_persist_path", [](ShadowOptions& o, const OptText& path) {
            check(tl_shadow_options_set_persist_path(o.get(), c_str(path)));
        });

    py::class_<DatapointOptions, std::shared_ptr<DatapointOptions>>(m, "DatapointOptions")
        .def(py::init<>())
        .def("set_topic", [](DatapointOptions& o, const std::string& topic) {
            check(tl_datapoint_options_set_topic(o.get(), topic.c_str()));
        })
        .def("set_encoding", [](DatapointOptions& o, int encoding) {
            check(tl_datapoint_options_set_encoding(o.get(), static_cast<tl_encoding>(encoding)));
        })
        .def("set_batch_limits", [](DatapointOptions& o, size_t max_points, size_t max_bytes, uint32_t linger_ms) {
            check(tl_datapoint_options_set_batch_limits(o.get(), max_points, max_bytes, linger_ms));
        })
        .def("set_spool", [](DatapointOptions& o, const std::string& dir, uint64_t max_bytes, int fsync,
                             uint32_t fsync_interval_ms) {
            check(tl_datapoint_options_set_spool(o.get(), dir.c_str(), max_bytes, static_cast<tl_fsync_policy>(fsync),
                                                 fsync_interval_ms));
        })
        .def("set_backlog", [](DatapointOptions& o, size_t max_backlog_bytes, size_t max_pending_points) {
            check(tl_datapoint_options_set_backlog(o.get(), max_backlog_bytes, max_pending_points));
        })
        .def("set_backpressure", [](DatapointOptions& o, int policy, uint32_t block_timeout_ms) {
            check(tl_datapoint_options_set_backpressure(o.get(), static_cast<tl_backpressure>(policy),
                                                        block_timeout_ms));
            o.record_may_block = policy == TL_BACKPRESSURE_BLOCK;
        })
        .def("set_delivery", [](DatapointOptions& o, int mode, uint32_t receipt_timeout_ms,
                                uint32_t max_unconfirmed_batches) {
            check(tl_datapoint_options_set_delivery(o.get(), static_cast<tl_delivery_mode>(mode), receipt_timeout_ms,
                                                    max_unconfirmed_batches, nullptr));
        })
        .def("set_sending", [](DatapointOptions& o, uint32_t max_inflight_batches, double max_batches_per_second) {
            check(tl_datapoint_options_set_sending(o.get(), max_inflight_batches, max_batches_per_second));
        })
        .def("set_drop_callback", [](DatapointOptions& o, const py::object& fn) {
            Registration r(fn);
            check(tl_datapoint_options_set_drop_callback(o.get(), fn.is_none() ? nullptr : drop_trampoline,
                                                         r.user_data, r.destroy));
        });

    py::class_<DeviceOptions, std::shared_ptr<DeviceOptions>>(m, "DeviceOptions")
        .def(py::init<>())
        .def("set_client", [](DeviceOptions& o, const ClientOptions& client) {
            check(tl_device_options_set_client(o.get(), client.get()));
        })
        .def("set_profile", [](DeviceOptions& o, int profile, const OptText& prefix) {
            check(tl_device_options_set_profile(o.get(), static_cast<tl_topic_profile>(profile), c_str(prefix)));
        })
        .def("set_shadow", [](DeviceOptions& o, const ShadowOptions& shadow) {
            check(tl_device_options_set_shadow(o.get(), shadow.get()));
        })
        .def("set_datapoints", [](DeviceOptions& o, const DatapointOptions& datapoints) {
            check(tl_device_options_set_datapoints(o.get(), datapoints.get()));
            o.record_may_block = datapoints.record_may_block;
        });
}

}  // namespace twinlink_py
