//! The examples, run against a test broker and `twinlink serve`.

mod common;

#[allow(dead_code)]
#[path = "../examples/sensor.rs"]
mod sensor;

use std::time::Duration;

use serde_json::json;
use twinlink::Client;

use common::{device_id, wait_until, Broker, Cloud, TIMEOUT};

#[test]
fn the_sensor_records_readings_and_follows_its_shadow() {
    let broker = Broker::start();
    let cloud = Cloud::start(&broker);
    let id = device_id("sensor");

    // A backend asks for a change before the sensor starts: the sensor gets it as the pending
    // delta, and a mistyped one after it is ignored.
    let backend = Client::builder().broker(broker.uri()).connect(TIMEOUT).unwrap();
    let shadow = backend.shadow(&id).unwrap();
    shadow
        .desire(&json!({"led": "on", "interval_ms": 10}), TIMEOUT)
        .unwrap();

    let confirmed = sensor::run(&sensor::Options {
        broker: broker.uri(),
        device: id.clone(),
        readings: 20,
        interval: Duration::from_millis(10),
    })
    .unwrap();
    assert_eq!(confirmed, 40, "20 readings of two series");
    assert_eq!(cloud.stored_points(&id, "temp").len(), 20);
    assert_eq!(cloud.stored_points(&id, "humidity").len(), 20);
    wait_until("the LED to be reported on", TIMEOUT, || {
        let reported = &shadow.get(TIMEOUT).unwrap()["state"]["reported"];
        reported["led"] == "on" && reported["interval_ms"] == 10 && reported["model"] == "th-1"
    });
}
