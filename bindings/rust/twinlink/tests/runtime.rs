//! Devices and clients sharing one `Runtime`: they connect and run their closures on its threads,
//! it counts them, and dropping it before them is harmless (the C side keeps it).

mod common;

use std::sync::mpsc;

use twinlink::{Client, Device, ErrorKind, Qos, Runtime};

use common::{device_id, wait_until, Broker, TIMEOUT};

const DEVICES: usize = 20;

#[test]
fn runtime_arguments() {
    let runtime = Runtime::new(3).unwrap();
    assert_eq!(runtime.threads(), 3);
    assert_eq!(runtime.clients().unwrap(), 0);
    assert_eq!(Runtime::new(0).unwrap().threads(), 2, "0 chooses 2");
    let error = Runtime::new(1000).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn devices_on_one_runtime_connect_and_receive() {
    let broker = Broker::start();
    let runtime = Runtime::new(4).unwrap();
    let id = device_id("rt");
    let devices: Vec<Device> = (0..DEVICES)
        .map(|i| {
            Device::builder(format!("{id}-{i}"))
                .broker(broker.uri())
                .runtime(&runtime)
                .build()
                .unwrap()
        })
        .collect();
    assert_eq!(runtime.clients().unwrap(), DEVICES);
    // A client made with a runtime counts as well.
    let publisher = Client::builder()
        .broker(broker.uri())
        .runtime(&runtime)
        .connect(TIMEOUT)
        .unwrap();
    assert_eq!(runtime.clients().unwrap(), DEVICES + 1);

    let connects: Vec<_> = devices
        .iter()
        .map(|device| {
            let device = device.clone();
            std::thread::spawn(move || device.connect(TIMEOUT))
        })
        .collect();
    for connect in connects {
        connect.join().unwrap().unwrap();
    }

    let (tx, rx) = mpsc::channel();
    let subscriptions: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, device)| {
            let tx = tx.clone();
            device
                .client()
                .subscribe(&format!("{id}/in/{i}"), Qos::AtLeastOnce, move |message| {
                    let _ = tx.send((i, message.payload.clone(), std::thread::current().id()));
                })
                .unwrap()
        })
        .collect();
    for i in 0..DEVICES {
        publisher
            .publish_wait(
                &format!("{id}/in/{i}"),
                format!("m{i}"),
                Qos::AtLeastOnce,
                false,
                TIMEOUT,
            )
            .unwrap();
    }
    let mut seen = [false; DEVICES];
    let mut threads = std::collections::HashSet::new();
    for _ in 0..DEVICES {
        let (i, payload, thread) = rx.recv_timeout(TIMEOUT).expect("a message for every device");
        assert_eq!(payload, format!("m{i}").into_bytes());
        assert!(!seen[i], "device {i} got its message twice");
        seen[i] = true;
        threads.insert(thread);
    }
    assert!(
        threads.len() <= runtime.threads() as usize,
        "{} callback threads for a runtime of {}",
        threads.len(),
        runtime.threads()
    );

    drop(subscriptions);
    drop(devices);
    drop(publisher);
    wait_until("the runtime to count no clients", TIMEOUT, || {
        runtime.clients().unwrap() == 0
    });
}

#[test]
fn runtime_dropped_before_its_devices() {
    let broker = Broker::start();
    let runtime = Runtime::new(1).unwrap();
    let id = device_id("rt-early");
    let devices: Vec<Device> = (0..3)
        .map(|i| {
            Device::builder(format!("{id}-{i}"))
                .broker(broker.uri())
                .runtime(&runtime)
                .connect(TIMEOUT)
                .unwrap()
        })
        .collect();
    let copy = runtime.clone();
    drop(runtime);
    assert_eq!(copy.clients().unwrap(), 3, "a clone still sees the runtime");
    drop(copy);

    let (tx, rx) = mpsc::channel();
    let _subscription = devices[0]
        .client()
        .subscribe(&format!("{id}/x"), Qos::AtLeastOnce, move |message| {
            let _ = tx.send(message.payload.clone());
        })
        .unwrap();
    devices[1]
        .client()
        .publish_wait(&format!("{id}/x"), "hello", Qos::AtLeastOnce, false, TIMEOUT)
        .unwrap();
    assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), b"hello".to_vec());
    drop(devices);
}

#[test]
fn runtime_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Runtime>();
    let runtime = Runtime::new(1).unwrap();
    let other = runtime.clone();
    std::thread::spawn(move || other.clients().unwrap()).join().unwrap();
    assert!(format!("{runtime:?}").contains("threads: 1"));
}
