//! Drop orders of clients, subscriptions and shadows, handles dropped inside their own
//! closures, and panics in every kind of closure.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use twinlink::{Backpressure, Client, ConnectionState, Device, LogLevel, Qos, Shadow, Subscription};

use common::{device_id, wait_until, Broker, Cloud, TIMEOUT};

struct CountDrop(Arc<AtomicU32>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn client_handles_outlive_the_client_in_any_drop_order() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let dropped = Arc::new(AtomicU32::new(0));
    let id = device_id("client-drop");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();

    let client = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    let token = CountDrop(dropped.clone());
    let subscription = client
        .subscribe("rs/order/#", Qos::AtLeastOnce, move |_| {
            let _ = &token;
        })
        .unwrap();
    let shadow = Shadow::builder(&id).build(&client).unwrap();
    let token = CountDrop(dropped.clone());
    let handler = shadow
        .on_change(move |_| {
            let _ = &token;
        })
        .unwrap();
    let publisher = subscription.client().clone();

    // The client first: everything made from it still works.
    drop(client);
    publisher
        .publish_wait("rs/order/a", "1", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    shadow.desire(&json!({"x": 1}), TIMEOUT).unwrap();
    drop(publisher);
    drop(subscription);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the message closure goes with its subscription"
    );
    shadow.get(TIMEOUT).unwrap();
    drop(shadow);
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "the handler keeps the shadow");
    drop(handler);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    drop(device);

    // Used and dropped on several threads at once.
    let client = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || {
                for n in 0..20 {
                    client
                        .publish(&format!("rs/threads/{i}"), n.to_string(), Qos::AtLeastOnce, false)
                        .unwrap();
                }
            })
        })
        .collect();
    drop(client);
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn a_client_may_be_dropped_inside_its_own_closure() {
    let broker = Broker::start();
    let freed = Arc::new(AtomicU32::new(0));
    let slot: Arc<Mutex<Option<(Client, Subscription)>>> = Arc::new(Mutex::new(None));
    let in_closure = slot.clone();
    let token = CountDrop(freed.clone());
    let client = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    let subscription = client
        .subscribe("rs/self-drop", Qos::AtLeastOnce, move |_| {
            let _ = &token;
            // The only handles: the client and this closure's subscription.
            drop(in_closure.lock().unwrap().take());
        })
        .unwrap();
    let sender = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    *slot.lock().unwrap() = Some((client, subscription));
    sender
        .publish_wait("rs/self-drop", "bye", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    wait_until("the client and its closure to be freed", TIMEOUT, || {
        freed.load(Ordering::SeqCst) == 1
    });
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn a_device_may_be_dropped_inside_a_message_closure_of_its_client() {
    let broker = Broker::start();
    let freed = Arc::new(AtomicU32::new(0));
    let slot: Arc<Mutex<Option<(Device, Subscription)>>> = Arc::new(Mutex::new(None));
    let in_closure = slot.clone();
    let token = CountDrop(freed.clone());
    let device = Device::builder(device_id("dev-self-drop"))
        .broker(broker.uri())
        .connect(TIMEOUT)
        .unwrap();
    let client = device.client();
    let subscription = client
        .subscribe("rs/dev-self-drop", Qos::AtLeastOnce, move |_| {
            let _ = &token;
            drop(in_closure.lock().unwrap().take());
        })
        .unwrap();
    drop(client);
    *slot.lock().unwrap() = Some((device, subscription));
    let sender = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    sender
        .publish_wait("rs/dev-self-drop", "bye", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    wait_until("the device and its closure to be freed", TIMEOUT, || {
        freed.load(Ordering::SeqCst) == 1
    });
}

#[test]
fn a_client_bound_shadow_may_be_dropped_inside_a_closure_of_its_client() {
    let broker = Broker::start();
    let freed = Arc::new(AtomicU32::new(0));
    let client = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = Shadow::builder(&device_id("shadow-drop")).build(&client).unwrap();
    let token = CountDrop(freed.clone());
    let slot = Arc::new(Mutex::new(Some((shadow, client.clone()))));
    let in_closure = slot.clone();
    let subscription = client
        .subscribe("rs/shadow-drop", Qos::AtLeastOnce, move |_| {
            let _ = &token;
            drop(in_closure.lock().unwrap().take());
        })
        .unwrap();
    drop(client);
    subscription
        .client()
        .publish_wait("rs/shadow-drop", "x", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    wait_until("the shadow to be dropped in the closure", TIMEOUT, || {
        slot.lock().unwrap().is_none()
    });
    drop(subscription);
    wait_until("the closure to be freed", TIMEOUT, || freed.load(Ordering::SeqCst) == 1);
}

#[test]
fn a_panic_in_any_closure_is_caught() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let before = twinlink::callback_panics();
    let entered = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let mark = |kind: &'static str| {
        let entered = entered.clone();
        move || {
            let mut list = entered.lock().unwrap();
            if !list.contains(&kind) {
                list.push(kind);
            }
        }
    };

    let log_mark = mark("log");
    let log_panicked = AtomicBool::new(false);
    let connection_mark = mark("connection");
    let client = Client::builder()
        .broker(broker.uri())
        .on_log(LogLevel::Debug, move |_, _| {
            // Once: a log closure runs on many threads, and panicking on each line is noisy.
            if !log_panicked.swap(true, Ordering::SeqCst) {
                log_mark();
                panic!("log closure, on purpose");
            }
        })
        .on_connection(move |_| {
            connection_mark();
            panic!("connection closure, on purpose");
        })
        .connect(TIMEOUT)
        .unwrap();

    let message_mark = mark("message");
    let _subscription = client
        .subscribe("rs/panic", Qos::AtLeastOnce, move |_| {
            message_mark();
            panic!("message closure, on purpose");
        })
        .unwrap();
    let publish_mark = mark("publish");
    client
        .publish_with("rs/panic", "x", Qos::AtLeastOnce, false, move |_, _| {
            publish_mark();
            panic!("publish closure, on purpose");
        })
        .unwrap();

    let id = device_id("panics");
    let drop_mark = mark("drop");
    let device = Device::builder(&id)
        .broker(broker.uri())
        .batch_limits(100_000, 1 << 20, Duration::from_secs(60))
        .backlog(4 << 20, 2)
        .backpressure(Backpressure::DropNewest, Duration::from_millis(100))
        .on_drop(move |_| {
            drop_mark();
            panic!("drop closure, on purpose");
        })
        .connect(TIMEOUT)
        .unwrap();
    let points = device.datapoints().unwrap();
    for i in 0..10i64 {
        let _ = points.record("x", i);
    }
    let shadow = device.shadow().unwrap();
    let delta_mark = mark("delta");
    let _delta = shadow
        .on_delta(move |_, _| {
            delta_mark();
            panic!("delta closure, on purpose");
        })
        .unwrap();
    let typed_mark = mark("typed delta");
    let _typed = shadow
        .on_delta_as(move |_: twinlink::Result<serde_json::Value>, _| {
            typed_mark();
            panic!("typed delta closure, on purpose");
        })
        .unwrap();
    let change_mark = mark("change");
    let _change = shadow
        .on_change(move |_| {
            change_mark();
            panic!("change closure, on purpose");
        })
        .unwrap();
    Shadow::builder(&id)
        .build(&client)
        .unwrap()
        .desire(&json!({"led": "on"}), TIMEOUT)
        .unwrap();

    let kinds = [
        "log",
        "connection",
        "message",
        "publish",
        "drop",
        "delta",
        "typed delta",
        "change",
    ];
    wait_until("every closure to have panicked", TIMEOUT, || {
        let list = entered.lock().unwrap();
        kinds.iter().all(|kind| list.contains(kind))
    });
    wait_until("the panics to be counted", TIMEOUT, || {
        twinlink::callback_panics() >= before + kinds.len() as u64
    });
    // Everything still works.
    assert_eq!(client.state(), ConnectionState::Connected);
    client
        .publish_wait("rs/after", "x", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    shadow.report(&json!({"led": "on"}), TIMEOUT).unwrap();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let _after = client
        .subscribe("rs/after2", Qos::AtLeastOnce, move |m| {
            tx.lock().unwrap().send(m.topic.clone()).unwrap();
        })
        .unwrap();
    client
        .publish_wait("rs/after2", "x", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), "rs/after2");
}

#[test]
fn handles_are_send_and_sync_and_builders_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Client>();
    send_sync::<Subscription>();
    send_sync::<Device>();
    send_sync::<Shadow>();
    send_sync::<twinlink::DeltaHandler>();
    send_sync::<twinlink::Datapoints>();
    send_sync::<twinlink::Message>();
    send_sync::<twinlink::ClientStats>();
    send_sync::<twinlink::Error>();
    send::<twinlink::ClientBuilder>();
    send::<twinlink::DeviceBuilder>();
    send_sync::<twinlink::ShadowBuilder>();
}

#[test]
fn a_delta_handler_and_its_device_may_be_dropped_inside_its_own_closure() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    let freed = Arc::new(AtomicU32::new(0));
    let id = device_id("handler-self-drop");
    let device = Device::builder(&id).broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = device.shadow().unwrap();
    let slot: Arc<Mutex<Option<(Device, Shadow, twinlink::DeltaHandler)>>> = Arc::new(Mutex::new(None));
    let in_closure = slot.clone();
    let token = CountDrop(freed.clone());
    let handler = shadow
        .on_delta(move |_, _| {
            let _ = &token;
            // Every handle of the device, this closure's handler included.
            drop(in_closure.lock().unwrap().take());
        })
        .unwrap();
    *slot.lock().unwrap() = Some((device, shadow, handler));
    let backend = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    backend
        .shadow(&id)
        .unwrap()
        .desire(&json!({"led": "on"}), TIMEOUT)
        .unwrap();
    wait_until("the handler, the device and the closure to be freed", TIMEOUT, || {
        freed.load(Ordering::SeqCst) == 1
    });
    assert!(slot.lock().unwrap().is_none());
}
