//! Round trips through a real broker and `twinlink serve`.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use serde::Serialize;
use serde_json::json;
use twinlink::{ConnectionState, Delivery, Device, Encoding};

use common::{device_id, wait_until, Broker, Cloud, TIMEOUT};

#[test]
fn datapoints_are_stored_by_the_cloud() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let id = device_id("dp");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let points = device.datapoints().unwrap();
    points.record("temp", 21.5).unwrap();
    points.record("count", 7i64).unwrap();
    points.record("on", true).unwrap();
    points.record("mode", "eco").unwrap();
    points.record_many("series", &[1.0, 2.0, 3.0][..], None).unwrap();
    points
        .record_many(
            "ints",
            &[10i64, 20][..],
            Some(&[1_700_000_000_000, 1_700_000_001_000][..]),
        )
        .unwrap();
    points.flush(TIMEOUT).unwrap();
    let stats = points.stats().unwrap();
    assert_eq!(stats.recorded, 9);
    assert_eq!(stats.confirmed_points, 9, "{stats:?}");
    assert_eq!(stats.backlog_points, 0);

    let temp = cloud.stored_points(&id, "temp");
    assert_eq!(temp.len(), 1, "{temp:?}");
    assert!(temp[0].contains("21.5"), "{temp:?}");
    assert!(cloud.stored_points(&id, "mode")[0].contains("\"eco\""));
    assert_eq!(cloud.stored_points(&id, "series").len(), 3);
    let ints = cloud.stored_points(&id, "ints");
    assert_eq!(ints.len(), 2);
    assert!(ints[0].contains("10") && ints[1].contains("20"), "{ints:?}");
}

#[test]
fn datapoints_with_broker_delivery_and_cbor_without_a_cloud() {
    let broker = Broker::start();
    let device = Device::builder(device_id("dp-broker"))
        .broker(broker.uri())
        .encoding(Encoding::Cbor)
        .delivery(Delivery::Broker)
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    for i in 0..100i64 {
        points.record("n", i).unwrap();
    }
    points.flush(TIMEOUT).unwrap();
    let stats = points.stats().unwrap();
    assert_eq!(stats.acked_points, 100, "{stats:?}");
}

#[derive(Serialize)]
struct Reported {
    firmware: &'static str,
    temp: f64,
}

#[test]
fn shadow_report_get_and_delta() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let id = device_id("shadow");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = device.shadow().unwrap();

    let accepted = shadow
        .report(
            &Reported {
                firmware: "1.2.0",
                temp: 21.5,
            },
            TIMEOUT,
        )
        .unwrap();
    assert_eq!(accepted["state"]["reported"]["firmware"], "1.2.0", "{accepted}");
    let document = shadow.get(TIMEOUT).unwrap();
    assert_eq!(document["state"]["reported"]["temp"], 21.5, "{document}");
    assert_eq!(shadow.state().unwrap()["state"]["reported"]["firmware"], "1.2.0");

    // A backend asks for a change; the device sees
    // the delta and reports it back from inside the closure.
    let (sender, deltas) = mpsc::channel();
    let reporter = shadow.clone();
    let handler = shadow
        .on_delta(move |delta, version| {
            if let Some(led) = delta.get("led") {
                reporter.report(&json!({ "led": led }), TIMEOUT).unwrap();
            }
            let _ = sender.send((delta, version));
        })
        .unwrap();
    // The backend's side (desired state) through the same shadow handle.
    shadow.desire(&json!({"led": "on"}), TIMEOUT).unwrap();
    let (delta, version) = deltas.recv_timeout(TIMEOUT).expect("a delta");
    assert_eq!(delta, json!({"led": "on"}));
    assert!(version > 0);
    wait_until("the delta to be reported back", TIMEOUT, || {
        shadow.get(TIMEOUT).unwrap()["state"]["reported"]["led"] == "on"
    });
    drop(handler);
}

#[test]
fn connection_events_reach_the_closure() {
    let broker = Broker::start();
    let states = Arc::new(Mutex::new(Vec::new()));
    let seen = states.clone();
    let device = Device::builder(device_id("events"))
        .broker(broker.uri())
        .on_connection(move |event| seen.lock().unwrap().push(event.state))
        .connect(TIMEOUT)
        .unwrap();
    assert_eq!(device.state(), ConnectionState::Connected);
    wait_until("a Connected event", TIMEOUT, || {
        states.lock().unwrap().contains(&ConnectionState::Connected)
    });
    device.disconnect(TIMEOUT).unwrap();
    wait_until("a Disconnected event", TIMEOUT, || {
        states.lock().unwrap().last() == Some(&ConnectionState::Disconnected)
    });
}

#[test]
fn a_panic_in_a_callback_does_not_kill_the_process() {
    let broker = Broker::start();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let before = twinlink::callback_panics();
    let device = Device::builder(device_id("panic"))
        .broker(broker.uri())
        .on_connection(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            panic!("on purpose");
        })
        .connect(TIMEOUT)
        .unwrap();
    wait_until("the panicking callback to run", TIMEOUT, || {
        twinlink::callback_panics() > before
    });
    // The device still works, and the closure is still called on later events.
    let points = device.datapoints().unwrap();
    points.record("x", 1.0).unwrap();
    device.disconnect(TIMEOUT).unwrap();
    wait_until("a second event", TIMEOUT, || calls.load(Ordering::SeqCst) >= 2);
    device.connect(TIMEOUT).unwrap();
}

#[test]
fn handles_outlive_the_device_in_any_drop_order() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let dropped = Arc::new(AtomicU32::new(0));

    struct CountDrop(Arc<AtomicU32>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    // Device first, then the pipeline, then the handler, then the shadow.
    let device = Device::builder(device_id("drop"))
        .broker(broker.uri())
        .connect(TIMEOUT)
        .unwrap();
    let shadow = device.shadow().unwrap();
    let points = device.datapoints().unwrap();
    let token = CountDrop(dropped.clone());
    let handler = shadow.on_delta(move |_, _| {
        let _ = &token;
    });
    let handler = handler.unwrap();
    drop(device);
    points.record("still", 1.0).unwrap();
    points.flush(TIMEOUT).unwrap();
    shadow.report(&json!({"alive": true}), TIMEOUT).unwrap();
    drop(points);
    assert_eq!(dropped.load(Ordering::SeqCst), 0);
    drop(handler);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the closure is dropped when its handler is"
    );
    drop(shadow);

    // The device's own closures are dropped when its last handle is.
    let token = CountDrop(dropped.clone());
    let device = Device::builder(device_id("drop2"))
        .broker(broker.uri())
        .on_connection(move |_| {
            let _ = &token;
        })
        .connect(TIMEOUT)
        .unwrap();
    let shadow = device.shadow().unwrap();
    drop(device);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the shadow keeps the device");
    drop(shadow);
    assert_eq!(dropped.load(Ordering::SeqCst), 2, "the device frees its closures");

    // Handles used and dropped on other threads.
    let device = Device::builder(device_id("drop3"))
        .broker(broker.uri())
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let points = points.clone();
            std::thread::spawn(move || {
                for n in 0..50i64 {
                    points.record(&format!("t{i}"), n).unwrap();
                }
            })
        })
        .collect();
    drop(device);
    for thread in threads {
        thread.join().unwrap();
    }
    points.flush(TIMEOUT).unwrap();
    assert_eq!(points.stats().unwrap().recorded, 200);
}

#[test]
fn the_last_handle_may_be_dropped_inside_a_closure() {
    let broker = Broker::start();
    let freed = Arc::new(AtomicU32::new(0));

    struct CountDrop(Arc<AtomicU32>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    // The closure owns the only Device handle and drops it when the connection is lost: the
    // device is then freed off the dispatcher thread, after the closure returns.
    let slot: Arc<Mutex<Option<Device>>> = Arc::new(Mutex::new(None));
    let in_closure = slot.clone();
    let token = CountDrop(freed.clone());
    let device = Device::builder(device_id("self-drop"))
        .broker(broker.uri())
        .on_connection(move |event| {
            let _ = &token;
            if event.state == ConnectionState::Reconnecting {
                drop(in_closure.lock().unwrap().take());
            }
        })
        .connect(TIMEOUT)
        .unwrap();
    *slot.lock().unwrap() = Some(device);
    drop(broker);
    wait_until("the device and its closure to be freed", TIMEOUT, || {
        freed.load(Ordering::SeqCst) == 1
    });
    assert!(slot.lock().unwrap().is_none());
}
