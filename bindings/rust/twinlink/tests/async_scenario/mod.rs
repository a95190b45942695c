//! One scenario of the async API, written against std and `futures` only, and run by
//! tests/async_tokio.rs on tokio and by tests/async_std.rs on async-std. Each of those binaries
//! holds this single test, so the thread count of the process is the scenario's alone.
//!
//! Every await is bounded: native operations by their own timeout, everything else by `bounded`
//! with the runtime's sleep.

use std::future::Future;
use std::pin::pin;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::future::{join_all, select, Either};
use futures::StreamExt;
use serde_json::json;
use twinlink::{Client, ConnectionState, Delivery, Device, ErrorKind, Qos};

use crate::common::{device_id, twinlink_cli, Broker, Cloud, TIMEOUT};

/// `f`, or a panic naming `what` once `sleep(TIMEOUT)` is over first.
async fn bounded<T, S: Future<Output = ()>>(what: &str, sleep: S, f: impl Future<Output = T>) -> T {
    match select(pin!(f), pin!(sleep)).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("timed out after {TIMEOUT:?} waiting for {what}"),
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

pub async fn run<S, F>(sleep: S)
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let id = device_id("async");

    // connect_async
    let device = Device::builder(&id)
        .broker(broker.uri())
        .connect_async(TIMEOUT)
        .await
        .expect("connect_async");
    assert_eq!(device.state(), ConnectionState::Connected);
    device
        .connect_async(TIMEOUT)
        .await
        .expect("connect_async when connected");

    // report_async, get_async; bounded() once here so that the runtime's timer exists before
    // the threads are counted.
    let shadow = device.shadow().unwrap();
    let accepted = bounded(
        "report_async",
        sleep(TIMEOUT),
        shadow.report_async(&json!({"firmware": "1.2.0"}), TIMEOUT),
    )
    .await
    .expect("report_async");
    assert_eq!(accepted["state"]["reported"]["firmware"], "1.2.0", "{accepted}");
    let document = shadow.get_async(TIMEOUT).await.expect("get_async");
    assert_eq!(document["state"]["reported"]["firmware"], "1.2.0", "{document}");

    // 1000 reports awaited at once, on no thread of their own.
    let before = threads();
    let reports: Vec<_> = (0..1000)
        .map(|i| shadow.report_async(&json!({ "n": i }), TIMEOUT))
        .collect();
    let results = bounded("1000 report_async", sleep(TIMEOUT * 3), join_all(reports)).await;
    let after = threads();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} reports failed, the first: {}",
        failed.len(),
        failed[0]
    );
    assert!(
        after <= before,
        "threads: {before} before the 1000 reports, {after} after"
    );
    let document = shadow.get_async(TIMEOUT).await.unwrap();
    assert_eq!(document["state"]["reported"]["n"], 999, "{document}");

    // An error comes back through the future: a report that is not a JSON object.
    let error = shadow.report_async(&json!([1, 2]), TIMEOUT).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");

    // flush_async: every point confirmed by the cloud's receipts.
    let points = device.datapoints().unwrap();
    for i in 0..1000i64 {
        points.record("n", i).unwrap();
    }
    points.record_many("x", &[1.0, 2.0, 3.0][..], None).unwrap();
    points.flush_async(TIMEOUT).await.expect("flush_async");
    let stats = points.stats().unwrap();
    assert_eq!(stats.recorded, 1003);
    assert_eq!(stats.confirmed_points, 1003, "{stats:?}");

    // Dropping a future cancels the native operation: on a broker without a cloud, a get waits
    // for its 60 s timeout unless canceled; the C library releases it at once when it is.
    let lonely = Broker::start();
    let other = Device::builder(device_id("async-cancel"))
        .broker(lonely.uri())
        .delivery(Delivery::Broker)
        .connect_async(TIMEOUT)
        .await
        .unwrap();
    let other_shadow = other.shadow().unwrap();
    // Every operation so far has completed; the library releases each just after its completion.
    let deadline = Instant::now() + TIMEOUT;
    while twinlink::operations_in_flight() > 0 {
        assert!(Instant::now() < deadline, "completed operations were not released");
        sleep(Duration::from_millis(10)).await;
    }
    let mut get = other_shadow.get_async(Duration::from_secs(60));
    assert!(futures::poll!(&mut get).is_pending());
    assert_eq!(twinlink::operations_in_flight(), 1);
    drop(get);
    let deadline = Instant::now() + TIMEOUT;
    while twinlink::operations_in_flight() > 0 {
        assert!(Instant::now() < deadline, "the dropped get was not released");
        sleep(Duration::from_millis(10)).await;
    }
    // The device is still usable after a cancel.
    other_shadow
        .report_async(&json!({"x": 1}), Duration::from_millis(200))
        .await
        .unwrap_err();
    drop(other);

    // deltas(): a desire from a backend (the twinlink CLI, another process) arrives as a stream
    // item.
    let mut deltas = shadow.deltas().unwrap();
    let status = Command::new(twinlink_cli())
        .args(["shadow", "desire", &id, r#"{"led":"on"}"#, "--broker", &broker.uri()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "twinlink shadow desire: {status}");
    let delta = bounded("a delta", sleep(TIMEOUT), async {
        loop {
            let delta = deltas.next().await.expect("the delta stream ended");
            if delta.state["led"] == "on" {
                return delta;
            }
        }
    })
    .await;
    assert!(delta.version > 0);
    shadow.report_async(&json!({"led": "on"}), TIMEOUT).await.unwrap();
    assert_eq!(deltas.dropped(), 0);

    // A stream on a JSON pointer gets the value there, the pending delta first.
    shadow
        .desire_async(&json!({"led": "blink"}), TIMEOUT)
        .await
        .expect("desire_async");
    let mut led = shadow.deltas_at("/led").unwrap();
    let value = bounded("the pending delta at /led", sleep(TIMEOUT), async {
        loop {
            let delta = led.next().await.expect("the delta stream ended");
            if delta.state == "blink" {
                return delta.state;
            }
        }
    })
    .await;
    assert_eq!(value, "blink");

    // A consumer that falls behind: with room for one delta, three desires leave the newest one
    // queued and two counted as dropped.
    let mut behind = shadow.deltas_at("/level").unwrap().max_queue(1);
    for level in 1..=3 {
        shadow.desire_async(&json!({ "level": level }), TIMEOUT).await.unwrap();
    }
    let deadline = Instant::now() + TIMEOUT;
    while behind.dropped() < 2 {
        assert!(Instant::now() < deadline, "dropped {} of 3 deltas", behind.dropped());
        sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(behind.queued(), 1);
    let newest = bounded("the newest delta", sleep(TIMEOUT), behind.next())
        .await
        .unwrap();
    assert_eq!(newest.state, 3);
    drop(behind);

    // A backend (a Client) watches the device's shadow as a stream of documents and sees the
    // device's report; its desire arrives at the device as a delta.
    let backend = Client::builder().broker(broker.uri()).build().unwrap();
    backend.connect_async(TIMEOUT).await.expect("Client::connect_async");
    let watched = backend.shadow(&id).unwrap();
    let mut changes = watched.changes().unwrap();
    shadow.report_async(&json!({"mode": "eco"}), TIMEOUT).await.unwrap();
    bounded("the report in the backend's change stream", sleep(TIMEOUT), async {
        while changes.next().await.expect("the change stream ended")["state"]["reported"]["mode"] != "eco" {}
    })
    .await;
    let mut deltas = shadow.deltas_at("/mode").unwrap();
    watched.desire_async(&json!({"mode": "boost"}), TIMEOUT).await.unwrap();
    bounded("the backend's desire at the device", sleep(TIMEOUT), async {
        while deltas.next().await.expect("the delta stream ended").state != "boost" {}
    })
    .await;
    assert_eq!(changes.dropped(), 0);

    // publish_async and subscribe_stream: messages as a Stream.
    let mut messages = backend
        .subscribe_stream("rs-async/#", Qos::AtLeastOnce, TIMEOUT)
        .await
        .expect("subscribe_stream");
    let publishes: Vec<_> = (0..10)
        .map(|i| {
            backend.publish_async(
                &format!("rs-async/{i}"),
                i.to_string(),
                Qos::AtLeastOnce,
                false,
                TIMEOUT,
            )
        })
        .collect();
    for result in join_all(publishes).await {
        result.expect("publish_async");
    }
    let received = bounded("10 messages", sleep(TIMEOUT), async {
        let mut received = Vec::new();
        while received.len() < 10 {
            received.push(messages.next().await.expect("the message stream ended"));
        }
        received
    })
    .await;
    let mut topics: Vec<String> = received.iter().map(|m| m.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    assert_eq!(topics.len(), 10, "{topics:?}");
    assert_eq!(messages.dropped(), 0);
    messages.unsubscribe_async(TIMEOUT).await.expect("unsubscribe_async");
    let error = backend
        .subscribe_stream("bad/#/filter", Qos::AtLeastOnce, TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");

    // update_async with a stale version, then the current one; delete_async.
    let version = watched.get_async(TIMEOUT).await.unwrap()["version"].as_u64().unwrap();
    let stale = json!({"state": {"desired": {"x": 1}}, "version": version - 1});
    let error = watched.update_async(&stale, TIMEOUT).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    let current = json!({"state": {"desired": {"x": 1}}, "version": version});
    let accepted = watched.update_async(&current, TIMEOUT).await.expect("update_async");
    assert_eq!(accepted["state"]["desired"]["x"], 1, "{accepted}");
    watched.delete_async(TIMEOUT).await.expect("delete_async");
    let error = watched.get_async(TIMEOUT).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");

    // disconnect_async, of a client and of a device.
    backend
        .disconnect_async(TIMEOUT)
        .await
        .expect("Client::disconnect_async");
    assert_eq!(backend.state(), ConnectionState::Disconnected);
    device
        .disconnect_async(TIMEOUT)
        .await
        .expect("Device::disconnect_async");
    assert_eq!(device.state(), ConnectionState::Disconnected);
}
