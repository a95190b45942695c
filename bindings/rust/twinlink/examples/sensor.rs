//! A sensor device: reports its state to its shadow, follows the desired state (its LED and its
//! reading interval, as a typed delta), and streams temperature and humidity readings as
//! datapoints.
//!
//! Run the local cloud and this device, then change the LED from another terminal:
//!
//! ```text
//! twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db
//! cargo run --example sensor -- --broker mqtt://127.0.0.1:1883 --device sensor-42
//! twinlink shadow desire sensor-42 '{"led": "on"}' --broker mqtt://127.0.0.1:1883
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use twinlink::{Device, Shadow};

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the sensor runs with (its command line).
pub struct Options {
    pub broker: String,
    pub device: String,
    /// How many readings of each series to record before stopping.
    pub readings: u32,
    /// Time between readings, until the shadow says otherwise.
    pub interval: Duration,
}

/// The part of the desired state the sensor follows. A delta holds only what differs, hence the
/// `Option`s; an unknown key is ignored, a value of the wrong type makes the whole delta an
/// error (reported, not a panic).
#[derive(Debug, Deserialize)]
struct Settings {
    led: Option<Led>,
    interval_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Led {
    On,
    Off,
}

/// Runs the sensor until it has recorded `options.readings` readings; returns the number of
/// points the cloud confirmed.
pub fn run(options: &Options) -> Result<u64, twinlink::Error> {
    let device = Device::builder(&options.device)
        .broker(&options.broker)
        .batch_limits(1000, 64 * 1024, Duration::from_millis(200))
        .on_connection(|event| match &event.reason {
            Some(reason) => println!("connection: {:?} ({reason})", event.state),
            None => println!("connection: {:?}", event.state),
        })
        .connect(TIMEOUT)?;

    let shadow = device.shadow()?;
    let interval_ms = Arc::new(AtomicU64::new(options.interval.as_millis() as u64));
    let accepted = shadow.report(
        &json!({
            "firmware": env!("CARGO_PKG_VERSION"),
            "model": "th-1",
            "led": Led::Off,
            "interval_ms": interval_ms.load(Ordering::Relaxed),
        }),
        TIMEOUT,
    )?;
    println!("reported state, shadow version {}", accepted["version"]);

    // The pending delta (a change made while the sensor was offline) comes first, then every
    // new one. Reporting from inside the closure is the usual pattern.
    let reporter: Shadow = shadow.clone();
    let interval = interval_ms.clone();
    let _settings = shadow.on_delta_as(move |delta: twinlink::Result<Settings>, version| {
        let settings = match delta {
            Ok(settings) => settings,
            Err(error) => {
                eprintln!("ignoring the delta of version {version}: {error}");
                return;
            }
        };
        let mut report = serde_json::Map::new();
        if let Some(led) = settings.led {
            println!("LED is now {led:?} (shadow version {version})");
            report.insert("led".into(), json!(led));
        }
        if let Some(ms) = settings.interval_ms.filter(|ms| (10..=60_000).contains(ms)) {
            println!("reading every {ms} ms (shadow version {version})");
            interval.store(ms, Ordering::Relaxed);
            report.insert("interval_ms".into(), json!(ms));
        }
        if !report.is_empty() {
            if let Err(error) = reporter.report(&report, TIMEOUT) {
                eprintln!("report failed: {error}");
            }
        }
    })?;

    let points = device.datapoints()?;
    let started = Instant::now();
    for n in 0..options.readings {
        let t = started.elapsed().as_secs_f64();
        let temperature = 21.0 + 2.0 * (t / 10.0).sin() + f64::from(n % 7) * 0.01;
        points.record("temp", (temperature * 100.0).round() / 100.0)?;
        points.record("humidity", 40.0 + f64::from(n % 50) / 10.0)?;
        std::thread::sleep(Duration::from_millis(interval_ms.load(Ordering::Relaxed)));
    }
    points.flush(TIMEOUT)?;
    let stats = points.stats()?;
    println!(
        "sent {} points in {} batches ({} confirmed), {} MQTT messages in all",
        stats.acked_points,
        stats.acked_batches,
        stats.confirmed_points,
        device.client().stats()?.messages_out
    );
    device.disconnect(TIMEOUT)?;
    Ok(stats.confirmed_points)
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        broker: "mqtt://127.0.0.1:1883".into(),
        device: "sensor-42".into(),
        readings: 300,
        interval: Duration::from_millis(100),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--broker" => options.broker = value()?,
            "--device" => options.device = value()?,
            "--readings" => options.readings = value()?.parse().map_err(|e| format!("--readings: {e}"))?,
            "--interval-ms" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("--interval-ms: {e}"))?;
                options.interval = Duration::from_millis(ms);
            }
            "--help" | "-h" => {
                return Err("usage: sensor [--broker URI] [--device ID] [--readings N] [--interval-ms MS]".into())
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(options)
}

#[allow(dead_code)] // the tests include this file for run()
fn main() -> std::process::ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) if message.starts_with("usage:") => {
            println!("{message}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sensor: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
