#include <optional>

#include "blocking.hpp"
#include "gil.hpp"
#include "callbacks.hpp"
#include "errors.hpp"
#include "objects.hpp"
#include "operations.hpp"
#include "payload.hpp"

namespace twinlink_py {

Client::Client(const ClientOptions& options) : Handle("client", nullptr) {
    tl_status status;
    {
        GilRelease nogil;
        status = tl_client_new(&client_, options.get());
    }
    check(status);
    set_release([client = client_] { tl_client_free(client); });
}

Client::Client(tl_client* borrowed, std::shared_ptr<Handle> device) : Handle("device", std::move(device)),
                                                                      client_(borrowed) {}

py::dict client_stats(const tl_client* client) {
    tl_client_stats s{};
    s.struct_size = sizeof s;
    check(tl_client_get_stats(client, &s));
    py::dict d;
    d["messages_out"] = s.messages_out;
    d["bytes_out"] = s.bytes_out;
    d["messages_in"] = s.messages_in;
    d["bytes_in"] = s.bytes_in;
    d["connects"] = s.connects;
    d["reconnects"] = s.reconnects;
    d["connect_failures"] = s.connect_failures;
    d["queued_messages"] = s.queued_messages;
    d["queued_bytes"] = s.queued_bytes;
    d["inflight"] = s.inflight;
    d["dropped"] = s.dropped;
    d["rejected"] = s.rejected;
    d["ack_timeouts"] = s.ack_timeouts;
    d["resent"] = s.resent;
    d["callback_queue"] = s.callback_queue;
    return d;
}

namespace {

std::shared_ptr<Client> self_of(Client& client) {
    return std::static_pointer_cast<Client>(client.shared_from_this());
}

// Runs `call(tl_client*)` as a blocking call that holds a Use of the client.
template <class Call>
Outcome blocking(Client& client, Call call) {
    auto use = std::make_shared<Handle::Use>(client);
    return run_blocking([self = self_of(client), use, call = std::move(call)] { return call(self->get()); });
}

}  // namespace

void bind_client(py::module_& m) {
    py::class_<Client, Handle, std::shared_ptr<Client>>(m, "Client")
        .def(py::init([](const ClientOptions& options) { return make_handle<Client>(options); }))
        .def_property_readonly("id", [](Client& c) {
            Handle::Use use(c);
            return std::string(tl_client_id(c.get()));
        })
        .def_property_readonly("state", [](Client& c) {
            Handle::Use use(c);
            return static_cast<int>(tl_client_state(c.get()));
        })
        .def("start", [](Client& c) {
            Handle::Use use(c);
            tl_status status;
            {
                GilRelease nogil;
                status = tl_client_start(c.get());
            }
            check(status);
        })
        .def("connect", [](Client& c, uint32_t timeout_ms) {
            blocking(c, [timeout_ms](tl_client* client) { return tl_client_connect(client, timeout_ms); }).check();
        })
        .def("connect_start",
             [](Client& c, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(c, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_client_connect_start(c.get(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("cancel",
             [](Client& c, uint64_t operation) {
                 return cancel_operation(c, [&] { return tl_client_cancel(c.get(), operation); });
             })
        .def("disconnect_start",
             [](Client& c, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(c, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_client_disconnect_start(c.get(), timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("publish_start",
             [](Client& c, const std::string& topic, py::handle payload, int qos, bool retain, uint32_t timeout_ms,
                const py::object& on_done) {
                 PayloadView bytes(payload);  // stays valid without the GIL: the view pins the buffer
                 return start_operation(c, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_client_publish_start(c.get(), topic.c_str(), bytes.data(), bytes.size(), qos,
                                                    retain ? 1 : 0, timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("subscribe_start",
             [](Client& c, const std::string& filter, int qos, const py::object& on_message, uint32_t timeout_ms,
                const py::object& on_done) {
                 Handle::Use use(c);
                 // Both references are twinlink's from here: released by their destroy callbacks,
                 // also when the start fails.
                 Callback* message = new_callback(on_message);
                 Callback* done = new_callback(on_done);
                 uint64_t id = 0, operation = 0;
                 tl_status status;
                 {
                     GilRelease nogil;
                     status = tl_client_subscribe_start(c.get(), filter.c_str(), qos, message_trampoline, message,
                                                        destroy_callback, &id, timeout_ms, completion_trampoline,
                                                        done, destroy_callback, &operation);
                 }
                 check(status);
                 return py::make_tuple(id, operation);
             })
        .def("unsubscribe_start",
             [](Client& c, uint64_t id, uint32_t timeout_ms, const py::object& on_done) {
                 return start_operation(c, on_done, [&](auto cb, void* ud, auto destroy, uint64_t* op) {
                     return tl_client_unsubscribe_start(c.get(), id, timeout_ms, cb, ud, destroy, op);
                 });
             })
        .def("disconnect", [](Client& c, uint32_t timeout_ms) {
            blocking(c, [timeout_ms](tl_client* client) { return tl_client_disconnect(client, timeout_ms); }).check();
        })
        .def("publish",
             [](Client& c, const std::string& topic, py::handle payload, int qos, bool retain, const py::object& on_done) {
                 Handle::Use use(c);
                 PayloadView bytes(payload);  // stays valid without the GIL: the view pins the buffer
                 Callback* callback = on_done.is_none() ? nullptr : new_callback(on_done);
                 uint64_t id = 0;
                 tl_status status;
                 {
                     // Never blocks on the network, but hands the message to Paho, whose lock a
                     // thread of Paho's may hold while it waits for a twinlink lock: never with the GIL.
                     GilRelease nogil;
                     status = tl_client_publish(c.get(), topic.c_str(), bytes.data(), bytes.size(), qos,
                                                retain ? 1 : 0, callback ? publish_trampoline : nullptr, callback,
                                                callback ? destroy_callback : nullptr, &id);
                 }
                 check(status);
                 return id;
             })
        .def("publish_wait",
             [](Client& c, const std::string& topic, py::handle payload, int qos, bool retain, uint32_t timeout_ms) {
                 std::string bytes = PayloadView(payload).copy();
                 blocking(c, [topic, bytes = std::move(bytes), qos, retain, timeout_ms](tl_client* client) {
                     return tl_client_publish_wait(client, topic.c_str(), bytes.data(), bytes.size(), qos,
                                                   retain ? 1 : 0, timeout_ms);
                 }).check();
             })
        .def("subscribe",
             [](Client& c, const std::string& filter, int qos, const py::object& on_message) {
                 // The callable's reference is twinlink's from here: released by the destroy callback,
                 // also when the subscription fails.
                 void* callback = new_callback(on_message);
                 auto id = std::make_shared<uint64_t>(0);
                 blocking(c, [filter, qos, callback, id](tl_client* client) {
                     return tl_client_subscribe(client, filter.c_str(), qos, message_trampoline, callback,
                                                destroy_callback, id.get());
                 }).check();
                 return *id;
             })
        .def("unsubscribe", [](Client& c, uint64_t id) {
            blocking(c, [id](tl_client* client) { return tl_client_unsubscribe(client, id); }).check();
        })
        .def("stats", [](Client& c) {
            Handle::Use use(c);
            return client_stats(c.get());
        });
}

}  // namespace twinlink_py
