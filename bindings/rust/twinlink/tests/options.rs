//! Every builder option set, and observed where it can be seen from outside.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use twinlink::{
    Backpressure, Client, Delivery, Device, Encoding, ErrorKind, Fsync, LogLevel, Message, MqttVersion, Overflow,
    Profile, Qos, Shadow,
};

use common::{device_id, wait_until, Broker, Cloud, TempDir, TIMEOUT};

/// Messages of `filter` as they arrive.
fn watch(client: &Client, filter: &str) -> (twinlink::Subscription, mpsc::Receiver<Message>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let subscription = client
        .subscribe(filter, Qos::AtLeastOnce, move |m| {
            let _ = tx.lock().unwrap().send(m.clone());
        })
        .unwrap();
    (subscription, rx)
}

fn observer(broker: &Broker) -> Client {
    Client::builder()
        .broker(broker.uri())
        .client_id(device_id("observer"))
        .connect(TIMEOUT)
        .unwrap()
}

#[test]
fn every_client_option_together_still_connects_and_round_trips() {
    let broker = Broker::start();
    let lines = Arc::new(AtomicU32::new(0));
    let counted = lines.clone();
    let client = Client::builder()
        .broker("mqtt://127.0.0.1:1") // refused: the next one is tried
        .broker(broker.uri())
        .client_id(device_id("all-options"))
        .credentials("user", Some("password"))
        .tls_ca(None, None)
        .tls_verify_hostname(true)
        .tls_insecure(false)
        .keepalive(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .ack_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(5))
        .mqtt_version(MqttVersion::V5)
        .clean_session(false)
        .offline_queue(100, 1 << 20, Overflow::RejectNew)
        .max_inflight(10)
        .reconnect_backoff(Duration::from_millis(100), Duration::from_secs(1))
        .tcp_nodelay(true)
        .on_log(LogLevel::Debug, move |_, line| {
            assert!(!line.is_empty());
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .connect(TIMEOUT)
        .unwrap();
    let (_subscription, rx) = watch(&client, "rs/all/#");
    client
        .publish_wait("rs/all/1", "x", Qos::ExactlyOnce, false, TIMEOUT)
        .unwrap();
    let message = rx.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(message.payload, b"x");
    assert!(lines.load(Ordering::SeqCst) > 0, "debug log lines reach the closure");
}

#[test]
fn tls_options_are_checked_and_kept() {
    // Nothing listens for TLS here: the options are set and the client is made (the files
    // must exist; they are read at connect).
    let dir = TempDir::new("tls");
    for name in ["ca.pem", "cert.pem", "key.pem"] {
        std::fs::write(dir.0.join(name), "").unwrap();
    }
    let client = Client::builder()
        .broker("mqtts://127.0.0.1:1")
        .tls_ca(Some(&dir.0.join("ca.pem")), Some(&dir.0))
        .tls_client_cert(dir.0.join("cert.pem"), dir.0.join("key.pem"), Some("pw"))
        .tls_verify_hostname(false)
        .tls_insecure(true)
        .build()
        .unwrap();
    assert_eq!(client.state(), twinlink::ConnectionState::Disconnected);
    let error = Client::builder()
        .broker("mqtts://127.0.0.1:1")
        .tls_ca(Some("bad\0path".as_ref()), None)
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let error = Client::builder()
        .broker("mqtts://127.0.0.1:1")
        .tls_ca(Some(&dir.0.join("missing.pem")), None)
        .build()
        .unwrap_err();
    assert!(error.message().contains("missing.pem"), "{error}");
}

#[test]
fn presence_is_published_on_connect_and_disconnect() {
    let broker = Broker::start();
    let watcher = observer(&broker);
    let topic = format!("rs/presence/{}", device_id("p"));
    let (_subscription, rx) = watch(&watcher, &topic);
    let client = Client::builder()
        .broker(broker.uri())
        .presence(&topic, Some("up"), Some("down"))
        .connect(TIMEOUT)
        .unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap().payload, b"up");
    client.disconnect(TIMEOUT).unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap().payload, b"down");
}

#[test]
fn the_offline_queue_rejects_or_drops() {
    let client = Client::builder()
        .broker("mqtt://127.0.0.1:1")
        .offline_queue(2, 1024, Overflow::RejectNew)
        .build()
        .unwrap();
    client.publish("q/1", "1", Qos::AtLeastOnce, false).unwrap();
    client.publish("q/2", "2", Qos::AtLeastOnce, false).unwrap();
    let error = client.publish("q/3", "3", Qos::AtLeastOnce, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::QueueFull);
    let stats = client.stats().unwrap();
    assert_eq!((stats.queued_messages, stats.rejected), (2, 1), "{stats:?}");

    let client = Client::builder()
        .broker("mqtt://127.0.0.1:1")
        .offline_queue(1, 1024, Overflow::DropOldest)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    client
        .publish_with("q/1", "1", Qos::AtLeastOnce, false, move |_, result| {
            tx.send(result).unwrap();
        })
        .unwrap();
    client.publish("q/2", "2", Qos::AtLeastOnce, false).unwrap();
    let dropped = rx.recv_timeout(TIMEOUT).unwrap().unwrap_err();
    assert_eq!(dropped.kind(), ErrorKind::Dropped);
    assert_eq!(client.stats().unwrap().dropped, 1);
}

#[test]
fn cbor_batches_on_a_custom_topic_with_small_batches_are_stored_by_the_cloud() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let id = device_id("cbor");
    let device = Device::builder(&id)
        .broker(broker.uri())
        .encoding(Encoding::Cbor)
        .batch_limits(10, 4096, Duration::from_millis(50))
        .sending(4, 0.0)
        .receipts(Duration::from_secs(5), 8, None)
        .backlog(1 << 20, 10_000)
        .backpressure(Backpressure::Block, Duration::from_secs(1))
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    for i in 0..100i64 {
        points.record("n", i).unwrap();
    }
    points.flush(TIMEOUT).unwrap();
    let stats = points.stats().unwrap();
    assert!(stats.batches >= 10, "at most 10 points a batch: {stats:?}");
    assert_eq!(stats.confirmed_points, 100, "{stats:?}");
    assert_eq!(cloud.stored_points(&id, "n").len(), 100);
}

#[test]
fn compact_batches_of_every_value_type_are_stored_by_the_cloud() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let id = device_id("compact");
    let device = Device::builder(&id)
        .broker(broker.uri())
        .encoding(Encoding::Compact)
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    for i in 0..100i64 {
        points.record("n", i).unwrap();
        points.record("temp", 21.0 + i as f64 / 100.0).unwrap();
    }
    points.record("on", true).unwrap();
    points.record("mode", "eco").unwrap();
    points.flush(TIMEOUT).unwrap();
    let stats = points.stats().unwrap();
    assert_eq!(stats.confirmed_points, 202, "{stats:?}");
    assert_eq!(cloud.stored_points(&id, "n").len(), 100);
    assert_eq!(cloud.stored_points(&id, "temp").len(), 100);
    assert_eq!(cloud.stored_points(&id, "mode").len(), 1);
}

#[test]
fn datapoint_topic_prefix_and_broker_delivery_are_used() {
    let broker = Broker::start();
    let watcher = observer(&broker);
    let id = device_id("topic");
    let (_custom, custom_rx) = watch(&watcher, &format!("rs/custom/{id}/temp"));
    let (_prefixed, prefixed_rx) = watch(&watcher, &format!("acme/{id}/dp"));

    let device = Device::builder(&id)
        .broker(broker.uri())
        .datapoint_topic("rs/custom/{device}/{series}")
        .delivery(Delivery::Broker)
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    points.record("temp", 20.5).unwrap();
    points.flush(TIMEOUT).unwrap();
    let batch = custom_rx.recv_timeout(TIMEOUT).unwrap();
    assert!(batch.payload_str().unwrap().contains("20.5"), "{batch:?}");

    // A prefix moves the default topics.
    let other = device_id("prefix");
    let (_prefixed2, prefixed_rx2) = watch(&watcher, &format!("acme/{other}/dp"));
    let device = Device::builder(&other)
        .broker(broker.uri())
        .prefix("acme")
        .delivery(Delivery::Broker)
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    points.record("x", 1i64).unwrap();
    points.flush(TIMEOUT).unwrap();
    assert!(prefixed_rx2.recv_timeout(TIMEOUT).is_ok());
    assert!(prefixed_rx.try_recv().is_err());
}

#[test]
fn the_aws_profile_uses_aws_topics() {
    let broker = Broker::start();
    let watcher = observer(&broker);
    let id = device_id("aws");
    let (_subscription, rx) = watch(&watcher, &format!("$aws/things/{id}/shadow/#"));
    let device = Device::builder(&id)
        .broker(broker.uri())
        .profile(Profile::Aws)
        .shadow_request_timeout(Duration::from_secs(5))
        .connect(TIMEOUT)
        .unwrap();
    let shadow = device.shadow().unwrap();
    // Nobody answers: the report times out, but its request was published on the AWS topic.
    let error = shadow.report(&json!({"a": 1}), Duration::from_millis(300)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let message = rx.recv_timeout(TIMEOUT).expect("a message on an AWS shadow topic");
        if message.topic.ends_with("/shadow/update") {
            break;
        }
        assert!(std::time::Instant::now() < deadline);
    }

    // The same for a shadow bound to a client.
    let named = Shadow::builder(&id)
        .name("cfg")
        .profile(Profile::Aws)
        .build(&watcher)
        .unwrap();
    let _ = named.report(&json!({"b": 2}), Duration::from_millis(300));
    loop {
        let message = rx.recv_timeout(TIMEOUT).expect("a message on the named shadow's topic");
        if message.topic.ends_with("/shadow/name/cfg/update") {
            break;
        }
    }
}

#[test]
fn spool_and_shadow_persistence_write_files() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let dir = TempDir::new("files");
    let spool = dir.0.join("spool");
    let shadows = dir.0.join("shadows");
    std::fs::create_dir_all(&shadows).unwrap();
    let id = device_id("files");
    let device = Device::builder(&id)
        .broker(broker.uri())
        .spool(&spool, 1 << 20, Fsync::EveryBatch)
        .shadow_persist_dir(&shadows)
        .connect(TIMEOUT)
        .unwrap();
    assert!(spool.is_dir(), "the spool directory is created at build");
    let points = device.datapoints().unwrap();
    points.record("t", 1.0).unwrap();
    points.flush(TIMEOUT).unwrap();
    assert!(
        std::fs::read_dir(&spool).unwrap().next().is_some(),
        "the spool holds files"
    );
    device
        .shadow()
        .unwrap()
        .report(&json!({"kept": true}), TIMEOUT)
        .unwrap();
    let file = shadows.join(format!("{id}.shadow.json"));
    wait_until("the persisted shadow", TIMEOUT, || {
        std::fs::read_to_string(&file).is_ok_and(|text| text.contains("kept"))
    });

    // A client-bound shadow persists to the path it is given, and reads it back offline.
    let backend = observer(&broker);
    let path = dir.0.join("backend.json");
    let remote = Shadow::builder(&id).persist_path(&path).build(&backend).unwrap();
    remote.get(TIMEOUT).unwrap();
    wait_until("the backend's persisted shadow", TIMEOUT, || {
        std::fs::read_to_string(&path).is_ok_and(|text| text.contains("kept"))
    });
    drop(remote);
    let offline = Client::builder().broker("mqtt://127.0.0.1:1").build().unwrap();
    let reread = Shadow::builder(&id).persist_path(&path).build(&offline).unwrap();
    assert_eq!(reread.state().unwrap()["state"]["reported"]["kept"], true);

    // Fsync policies are accepted.
    for (n, fsync) in [Fsync::Interval(Duration::from_millis(100)), Fsync::Never]
        .into_iter()
        .enumerate()
    {
        Device::builder(device_id("fsync"))
            .broker(broker.uri())
            .spool(dir.0.join(format!("spool-{n}")), 1 << 20, fsync)
            .build()
            .unwrap();
    }
}

#[test]
fn drop_newest_refuses_points_and_reports_them() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let device = Device::builder(device_id("drops"))
        .broker("mqtt://127.0.0.1:1")
        .batch_limits(100_000, 1 << 20, Duration::from_secs(60))
        .backlog(4 << 20, 10)
        .backpressure(Backpressure::DropNewest, Duration::from_millis(100))
        .on_drop(move |event| {
            let _ = tx.lock().unwrap().send(event.clone());
        })
        .build()
        .unwrap();
    let points = device.datapoints().unwrap();
    let mut refused = 0;
    for i in 0..30i64 {
        if let Err(error) = points.record("x", i) {
            assert_eq!(error.kind(), ErrorKind::QueueFull, "{error}");
            refused += 1;
        }
    }
    assert!(refused > 0, "a backlog of 10 points refuses some of 30");
    let event = rx.recv_timeout(TIMEOUT).expect("a drop event");
    assert_eq!(event.policy, Backpressure::DropNewest);
    assert!(event.points > 0 && !event.reason.is_empty(), "{event:?}");
    assert!(points.stats().unwrap().rejected_points > 0);
}

#[test]
fn options_that_the_library_refuses_are_errors() {
    // Datapoint options are checked when the pipeline starts (at build with a spool, else at
    // the first datapoints()).
    let pipeline = |builder: twinlink::DeviceBuilder| builder.build().and_then(|device| device.datapoints().map(drop));
    let refused = [
        pipeline(
            Device::builder("d")
                .broker("mqtt://h")
                .batch_limits(10, 1, Duration::ZERO),
        ),
        pipeline(
            Device::builder("d")
                .broker("mqtt://h")
                .receipts(Duration::ZERO, 1, None),
        ),
        pipeline(Device::builder("d").broker("mqtt://h").datapoint_topic("a/#")),
        pipeline(Device::builder("d").broker("mqtt://h").backlog(1, 1)),
        Device::builder("d")
            .broker("mqtt://h")
            .connect_timeout(Duration::from_millis(1))
            .build()
            .map(drop),
        Device::builder("d")
            .broker("mqtt://h")
            .reconnect_backoff(Duration::from_secs(2), Duration::from_secs(1))
            .build()
            .map(drop),
        Device::builder("d")
            .broker("mqtt://h")
            .presence("a/+", None, None)
            .build()
            .map(drop),
    ];
    for (n, result) in refused.into_iter().enumerate() {
        let error = result.expect_err(&format!("case {n} is refused"));
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "case {n}: {error}");
    }
}

#[test]
fn a_nul_byte_in_any_string_option_is_an_error() {
    let device = || Device::builder("d").broker("mqtt://h");
    let pipeline = |builder: twinlink::DeviceBuilder| builder.build().and_then(|device| device.datapoints().map(drop));
    let results = [
        Device::builder("d").broker("mqtt://h\0").build().map(drop),
        device().client_id("a\0b").build().map(drop),
        device().credentials("u\0", None).build().map(drop),
        device().credentials("u", Some("p\0")).build().map(drop),
        device().presence("t\0", None, None).build().map(drop),
        device().presence("t", Some("on\0"), None).build().map(drop),
        device().tls_client_cert("c\0", "k", None).build().map(drop),
        device().prefix("a\0").build().map(drop),
        device().shadow_persist_dir("a\0").build().map(drop),
        pipeline(device().datapoint_topic("a\0")),
        pipeline(device().receipts(Duration::from_secs(1), 1, Some("r\0"))),
        pipeline(device().spool("s\0", 1 << 20, Fsync::Never)),
    ];
    for (n, result) in results.into_iter().enumerate() {
        let error = result.expect_err(&format!("case {n}"));
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "case {n}: {error}");
        assert!(error.message().contains("NUL"), "case {n}: {error}");
    }
    let offline = Client::builder().broker("mqtt://127.0.0.1:1").build().unwrap();
    for result in [
        Shadow::builder("d").name("n\0").build(&offline).map(drop),
        Shadow::builder("d").persist_path("p\0").build(&offline).map(drop),
        Shadow::builder("d\0").build(&offline).map(drop),
        twinlink::Datapoints::builder("d\0").build(&offline).map(drop),
        offline.subscribe("a\0", Qos::AtMostOnce, |_| {}).map(drop),
        offline.publish_wait("a\0", "", Qos::AtMostOnce, false, TIMEOUT),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}
