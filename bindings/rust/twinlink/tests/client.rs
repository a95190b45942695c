//! Client: publish/subscribe, stats, and the shadows of other devices through a backend client.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use serde::Deserialize;
use serde_json::json;
use twinlink::{Client, ConnectionState, Device, ErrorKind, Message, Qos, Shadow};

use common::{device_id, wait_until, Broker, Cloud, TIMEOUT};

fn client(broker: &Broker, id: &str) -> Client {
    Client::builder()
        .broker(broker.uri())
        .client_id(id)
        .connect(TIMEOUT)
        .unwrap()
}

#[test]
fn publish_subscribe_round_trip_at_qos_1() {
    let broker = Broker::start();
    let receiver = client(&broker, &device_id("rx"));
    let sender = client(&broker, &device_id("tx"));
    assert_eq!(receiver.state(), ConnectionState::Connected);

    let (tx, rx) = mpsc::channel::<Message>();
    let tx = Mutex::new(tx);
    let subscription = receiver
        .subscribe("rs/test/+", Qos::AtLeastOnce, move |message| {
            tx.lock().unwrap().send(message.clone()).unwrap();
        })
        .unwrap();
    assert!(subscription.id() > 0);

    sender
        .publish_wait("rs/test/a", b"hello", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    let message = rx.recv_timeout(TIMEOUT).expect("a message");
    assert_eq!(message.topic, "rs/test/a");
    assert_eq!(message.payload_str(), Some("hello"));
    assert_eq!(message.qos, Qos::AtLeastOnce);
    assert!(!message.retained);

    // publish returns once queued; publish_with reports the acknowledgement.
    let id = sender
        .publish(
            "rs/test/b",
            serde_json::to_vec(&json!({"n": 2})).unwrap(),
            Qos::AtLeastOnce,
            false,
        )
        .unwrap();
    assert!(id > 0);
    let (done_tx, done_rx) = mpsc::channel();
    let queued = sender
        .publish_with("rs/test/c", "", Qos::AtLeastOnce, false, move |id, result| {
            done_tx.send((id, result)).unwrap();
        })
        .unwrap();
    let (done_id, result) = done_rx.recv_timeout(TIMEOUT).expect("a completion");
    assert_eq!(done_id, queued);
    result.unwrap();
    let b = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(b.json::<serde_json::Value>().unwrap()["n"], 2);
    let c = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!((c.topic.as_str(), c.payload.len()), ("rs/test/c", 0));

    let stats = sender.stats().unwrap();
    assert!(stats.messages_out >= 3, "{stats:?}");
    assert_eq!(stats.connects, 1);
    wait_until("three messages counted in", TIMEOUT, || {
        receiver.stats().unwrap().messages_in >= 3
    });
    subscription.unsubscribe().unwrap();
    receiver.disconnect(TIMEOUT).unwrap();
    assert_eq!(receiver.state(), ConnectionState::Disconnected);
}

#[test]
fn dropping_a_subscription_unsubscribes() {
    let broker = Broker::start();
    let receiver = client(&broker, &device_id("rx"));
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    let subscription = receiver
        .subscribe("rs/drop", Qos::AtLeastOnce, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    // A second subscription, kept, tells when later messages have arrived.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let _witness = receiver
        .subscribe("rs/witness", Qos::AtLeastOnce, move |m| {
            tx.lock().unwrap().send(m.payload.clone()).unwrap();
        })
        .unwrap();
    receiver
        .publish_wait("rs/drop", "1", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    wait_until("the first message", TIMEOUT, || count.load(Ordering::SeqCst) == 1);
    drop(subscription);
    receiver
        .publish_wait("rs/drop", "2", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    receiver
        .publish_wait("rs/witness", "w", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), b"w");
    assert_eq!(count.load(Ordering::SeqCst), 1, "no message after the drop");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let broker = Broker::start();
    let client = client(&broker, &device_id("bad"));
    let error = client.publish("a/+/b", "x", Qos::AtMostOnce, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = client.publish("a\0b", "x", Qos::AtMostOnce, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = client.subscribe("a/#/b", Qos::AtMostOnce, |_| {}).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = Client::builder().build().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "no broker");
    let error = Client::builder()
        .broker(broker.uri())
        .keepalive(std::time::Duration::from_secs(100_000))
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "keepalive over 65535 s");
    let error = Client::builder()
        .broker(broker.uri())
        .max_inflight(0)
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = Shadow::builder("bad/id").build(&client).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = Shadow::builder("dev").name("no spaces").build(&client).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn client_id_is_generated_when_not_set() {
    let broker = Broker::start();
    let client = Client::builder().broker(broker.uri()).build().unwrap();
    assert!(client.id().starts_with("tl-"), "{}", client.id());
    assert_eq!(client.state(), ConnectionState::Disconnected);
    client.start().unwrap();
    wait_until("connected after start", TIMEOUT, || {
        client.state() == ConnectionState::Connected
    });
}

#[derive(Debug, Deserialize, PartialEq)]
struct Config {
    interval: Option<u32>,
    led: Option<String>,
}

#[test]
fn a_backend_client_drives_another_devices_shadow() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let id = device_id("backend");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = device.shadow().unwrap();
    shadow.report(&json!({"interval": 5}), TIMEOUT).unwrap();

    let (typed_tx, typed_rx) = mpsc::channel();
    let typed_tx = Mutex::new(typed_tx);
    let _typed = shadow
        .on_delta_as(move |delta: twinlink::Result<Config>, version| {
            typed_tx.lock().unwrap().send((delta, version)).unwrap();
        })
        .unwrap();
    let (change_tx, change_rx) = mpsc::channel();
    let change_tx = Mutex::new(change_tx);
    let _changes = shadow
        .on_change(move |document| {
            change_tx.lock().unwrap().send(document).unwrap();
        })
        .unwrap();

    let backend = client(&broker, &device_id("backend-client"));
    let remote = backend.shadow(&id).unwrap();
    let document = remote.get(TIMEOUT).unwrap();
    assert_eq!(document["state"]["reported"]["interval"], 5, "{document}");
    remote.desire(&json!({"interval": 10, "led": "on"}), TIMEOUT).unwrap();

    let (delta, version) = typed_rx.recv_timeout(TIMEOUT).expect("a typed delta");
    assert_eq!(
        delta.unwrap(),
        Config {
            interval: Some(10),
            led: Some("on".into())
        }
    );
    assert!(version > 0);
    let document = change_rx.recv_timeout(TIMEOUT).expect("a change");
    assert!(document["state"].is_object(), "{document}");

    // A delta that does not fit the type is reported as an error, not a panic.
    let panics = twinlink::callback_panics();
    remote.desire(&json!({"interval": "often"}), TIMEOUT).unwrap();
    let (delta, _) = typed_rx.recv_timeout(TIMEOUT).expect("a mistyped delta");
    let error = delta.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.message().contains("Config"), "{error}");
    assert_eq!(twinlink::callback_panics(), panics);

    // A full update request with the current version, then a stale one.
    let current = remote.get(TIMEOUT).unwrap()["version"].as_u64().unwrap();
    remote
        .update(
            &json!({"state": {"desired": {"led": "off"}}, "version": current}),
            TIMEOUT,
        )
        .unwrap();
    let stale = remote
        .update(&json!({"state": {"desired": {"led": "on"}}, "version": 1}), TIMEOUT)
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::Conflict, "{stale}");

    remote.delete(TIMEOUT).unwrap();
    assert_eq!(remote.get(TIMEOUT).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn named_shadows_are_separate_documents() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let id = device_id("named");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let config = device.named_shadow("config").unwrap();
    config.report(&json!({"mode": "eco"}), TIMEOUT).unwrap();
    device.shadow().unwrap().report(&json!({"fw": "1"}), TIMEOUT).unwrap();

    let backend = client(&broker, &device_id("named-backend"));
    let remote = Shadow::builder(&id)
        .name("config")
        .request_timeout(std::time::Duration::from_secs(5))
        .build(&backend)
        .unwrap();
    let document = remote.get(TIMEOUT).unwrap();
    assert_eq!(document["state"]["reported"]["mode"], "eco", "{document}");
    assert!(document["state"]["reported"].get("fw").is_none(), "{document}");
    let classic = backend.shadow(&id).unwrap().get(TIMEOUT).unwrap();
    assert_eq!(classic["state"]["reported"]["fw"], "1");
    assert!(classic["state"]["reported"].get("mode").is_none());
}

#[test]
fn a_devices_client_publishes_on_its_connection() {
    let broker = Broker::start();
    let device = Device::builder(device_id("dev-client"))
        .broker(broker.uri())
        .connect(TIMEOUT)
        .unwrap();
    let client = device.client();
    assert_eq!(client.id(), device.id());
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let subscription = client
        .subscribe("rs/dev/#", Qos::AtLeastOnce, move |m| {
            tx.lock().unwrap().send(m.topic.clone()).unwrap();
        })
        .unwrap();
    drop(device);
    // The client (and the subscription) keep the device alive.
    client
        .publish_wait("rs/dev/x", "1", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), "rs/dev/x");
    drop(client);
    drop(subscription);
}

#[test]
fn nowait_reports_json_points_and_deltas_without_the_pending_one() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let id = device_id("nowait");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = device.shadow().unwrap();
    shadow.report_nowait(&json!({"a": 1})).unwrap();
    assert_eq!(
        shadow.report_nowait(&json!([1, 2])).unwrap_err().kind(),
        ErrorKind::InvalidArgument,
        "not an object"
    );
    let backend = client(&broker, &device_id("nowait-backend"));
    let remote = backend.shadow(&id).unwrap();
    wait_until("the report to be accepted", TIMEOUT, || {
        remote.get(TIMEOUT).is_ok_and(|d| d["state"]["reported"]["a"] == 1)
    });
    remote.desire_nowait(&json!({"led": "on"})).unwrap();
    wait_until("the delta to be known", TIMEOUT, || {
        shadow.state().unwrap()["state"]["delta"]["led"] == "on"
    });

    // initial = false: the pending delta is not delivered, the next one is.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let _handler = shadow
        .on_delta_with(Some("/led"), false, move |led, version| {
            tx.lock().unwrap().send((led, version)).unwrap();
        })
        .unwrap();
    remote.desire(&json!({"led": "off"}), TIMEOUT).unwrap();
    let (led, _) = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(led, "off", "the first delivered delta is the new one");

    let points = device.datapoints().unwrap();
    points
        .record_json("gps", &json!({"lat": 48.85, "lon": 2.35}), Some(1_700_000_000_000))
        .unwrap();
    points
        .record_json("gps", &json!({"lat": 1.0, "lon": 2.0}), None)
        .unwrap();
    assert_eq!(
        points.record_json("gps", &json!(3), None).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    points.flush(TIMEOUT).unwrap();
    let stored = cloud.stored_points(&id, "gps");
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(stored[0].contains("48.85"), "{stored:?}");
}

#[test]
fn device_stats_hold_the_client_and_the_pipeline_once_it_exists() {
    let broker = Broker::start();
    let device = Device::builder(device_id("stats"))
        .broker(broker.uri())
        .delivery(twinlink::Delivery::Broker)
        .connect(TIMEOUT)
        .unwrap();
    let stats = device.stats().unwrap();
    assert_eq!(stats.state, ConnectionState::Connected);
    assert!(stats.datapoints.is_none(), "no pipeline yet");
    // The core counts the connection just after it reports it (connect() may return first).
    wait_until("the connection to be counted", TIMEOUT, || {
        device.stats().unwrap().client.connects == 1
    });
    let points = device.datapoints().unwrap();
    points.record("x", 1i64).unwrap();
    points.flush(TIMEOUT).unwrap();
    let stats = device.stats().unwrap();
    assert_eq!(stats.datapoints.unwrap().acked_points, 1);
    assert!(stats.client.messages_out >= 1);
}

#[test]
fn a_gateway_device_binds_another_devices_shadow_to_its_own_connection() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let child = device_id("child");
    let sensor = Device::builder(&child).broker(broker.uri()).connect(TIMEOUT).unwrap();
    sensor.shadow().unwrap().report(&json!({"t": 20}), TIMEOUT).unwrap();

    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let gateway = Device::builder(device_id("gateway"))
        .broker(broker.uri())
        .on_connection(move |event| seen.lock().unwrap().push(event.state))
        .connect(TIMEOUT)
        .unwrap();
    let remote = Shadow::builder(&child).build(&gateway.client()).unwrap();
    drop(gateway); // the shadow keeps the gateway's connection, and so the gateway
    assert_eq!(remote.get(TIMEOUT).unwrap()["state"]["reported"]["t"], 20);
    wait_until("a Connected event", TIMEOUT, || {
        events.lock().unwrap().contains(&ConnectionState::Connected)
    });
}

#[test]
fn a_client_records_datapoints_for_other_devices() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let gateway = client(&broker, &device_id("gateway-dp"));
    let meter = device_id("meter");
    let points = twinlink::Datapoints::builder(&meter)
        .encoding(twinlink::Encoding::Cbor)
        .batch_limits(10, 4096, std::time::Duration::from_millis(50))
        .build(&gateway)
        .unwrap();
    let other = device_id("meter");
    let broker_only = twinlink::Datapoints::builder(&other)
        .delivery(twinlink::Delivery::Broker)
        .datapoint_topic("rs/meters/{device}")
        .build(&gateway)
        .unwrap();
    drop(gateway); // the pipelines keep their client
    for i in 0..25i64 {
        points.record("kwh", i).unwrap();
        broker_only.record("kwh", i).unwrap();
    }
    points.flush(TIMEOUT).unwrap();
    broker_only.flush(TIMEOUT).unwrap();
    assert_eq!(points.stats().unwrap().confirmed_points, 25);
    assert_eq!(broker_only.stats().unwrap().acked_points, 25);
    assert_eq!(cloud.stored_points(&meter, "kwh").len(), 25);
    assert!(cloud.stored_points(&other, "kwh").is_empty(), "not on the sink's topic");
    assert_eq!(
        twinlink::Datapoints::builder("bad/id")
            .build(&client(&broker, &device_id("bad")))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}
