//! The async backend example (examples/backend_async.rs), run against a test broker,
//! `twinlink serve` and simulated devices that report back the LED state they are asked for.

mod common;

#[allow(dead_code)]
#[path = "../examples/backend_async.rs"]
mod backend;

use std::time::Duration;

use serde_json::json;
use twinlink::Device;

use common::{device_id, Broker, Cloud, TIMEOUT};

#[test]
fn the_async_backend_drives_devices_and_awaits_their_reports() {
    let broker = Broker::start();
    let _cloud = Cloud::start(&broker);
    // Three devices that follow their LED; a fourth id that nothing answers for.
    let mut devices = Vec::new();
    let mut handlers = Vec::new();
    let ids: Vec<String> = (0..3).map(|_| device_id("backend-led")).collect();
    for id in &ids {
        let device = Device::builder(id).broker(broker.uri()).connect(TIMEOUT).unwrap();
        let shadow = device.shadow().unwrap();
        shadow.report(&json!({"led": "off"}), TIMEOUT).unwrap();
        let reporter = shadow.clone();
        handlers.push(
            shadow
                .on_delta_at("/led", move |led, _| {
                    reporter.report(&json!({ "led": led }), TIMEOUT).unwrap();
                })
                .unwrap(),
        );
        devices.push(device);
    }
    let offline = device_id("backend-offline");
    let mut all = ids.clone();
    all.push(offline);

    let options = backend::Options {
        broker: broker.uri(),
        devices: all,
        led: "on".into(),
        deadline: Duration::from_secs(5),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let outcomes = runtime.block_on(backend::run(&options)).unwrap();
    assert_eq!(outcomes.len(), 4);
    for (id, outcome) in ids.iter().zip(&outcomes) {
        assert!(outcome.is_ok(), "{id}: {outcome:?}");
    }
    let reason = outcomes[3].as_ref().unwrap_err();
    assert!(reason.contains("no report of led=on"), "{reason}");
    for device in &devices {
        let reported = device.shadow().unwrap().state().unwrap()["state"]["reported"]["led"].clone();
        assert_eq!(reported, "on");
    }
}
