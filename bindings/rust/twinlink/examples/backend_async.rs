//! An async backend on tokio: sets the desired LED state of several devices at once and awaits
//! each device's report that it got there, with one task per device and no thread per wait
//! (the futures and streams of `twinlink` are completed by the library's callbacks).
//!
//! Run the local cloud and a device (the `sensor` example follows its LED), then this backend:
//!
//! ```text
//! twinlink serve --broker mqtt://127.0.0.1:1883 --db cloud.db
//! cargo run --example sensor -- --broker mqtt://127.0.0.1:1883 --device sensor-42
//! cargo run --example backend_async -- --broker mqtt://127.0.0.1:1883 --led on sensor-42 sensor-43
//! ```
//!
//! It prints, per device, how long the round trip took (desire accepted by the cloud, then the
//! device's report seen in the shadow's change stream), or why it did not converge (a device
//! that is offline times out).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use twinlink::Client;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What the backend runs with (its command line).
pub struct Options {
    pub broker: String,
    /// The devices to drive.
    pub devices: Vec<String>,
    /// The LED state to ask for: "on" or "off".
    pub led: String,
    /// How long a device has to report the new state.
    pub deadline: Duration,
}

/// How one device did: the time from the desire to its report, or what went wrong.
pub type Outcome = Result<Duration, String>;

/// Drives every device concurrently; returns one outcome per device, in order.
pub async fn run(options: &Options) -> Result<Vec<Outcome>, twinlink::Error> {
    let client = Client::builder()
        .broker(&options.broker)
        .client_id(format!("backend-async-{}", std::process::id()))
        .build()?;
    client.connect_async(TIMEOUT).await?;
    let tasks = options.devices.iter().map(|device| {
        let client = client.clone();
        let device = device.clone();
        let led = options.led.clone();
        let deadline = options.deadline;
        tokio::spawn(async move { converge(&client, &device, &led, deadline).await })
    });
    let outcomes = futures::future::join_all(tasks).await;
    Ok(outcomes
        .into_iter()
        .map(|joined| joined.unwrap_or_else(|e| Err(format!("task failed: {e}"))))
        .collect())
}

/// Asks `device` for `led` and waits up to `deadline` for its report.
async fn converge(client: &Client, device: &str, led: &str, deadline: Duration) -> Outcome {
    // Binding the shadow waits for the broker's SUBACK (milliseconds), once per device.
    let shadow = client.shadow(device).map_err(|e| e.to_string())?;
    // Watch before asking, so that a fast device's report is not missed.
    let mut changes = shadow.changes().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let accepted = shadow
        .desire_async(&json!({ "led": led }), TIMEOUT)
        .await
        .map_err(|e| format!("desire: {e}"))?;
    println!("{device}: desired led={led} (version {})", accepted["version"]);
    // Already there (the device reported it earlier)?
    let document = shadow.get_async(TIMEOUT).await.map_err(|e| format!("get: {e}"))?;
    if reported_led(&document) == Some(led) {
        return Ok(start.elapsed());
    }
    let report = async {
        while let Some(document) = changes.next().await {
            if reported_led(&document) == Some(led) {
                return Ok(start.elapsed());
            }
        }
        Err("the shadow was closed".to_string())
    };
    match tokio::time::timeout(deadline, report).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no report of led={led} within {deadline:?}")),
    }
}

fn reported_led(document: &Value) -> Option<&str> {
    document["state"]["reported"]["led"].as_str()
}

fn parse_args() -> Options {
    let mut options = Options {
        broker: "mqtt://127.0.0.1:1883".into(),
        devices: Vec::new(),
        led: "on".into(),
        deadline: Duration::from_secs(30),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--broker" => options.broker = args.next().unwrap_or_else(|| usage()),
            "--led" => options.led = args.next().unwrap_or_else(|| usage()),
            "--deadline-s" => {
                let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage());
                options.deadline = Duration::from_secs(seconds);
            }
            flag if flag.starts_with('-') => usage(),
            device => options.devices.push(device.into()),
        }
    }
    if options.devices.is_empty() {
        usage();
    }
    options
}

fn usage() -> ! {
    eprintln!("usage: backend_async [--broker URI] [--led on|off] [--deadline-s N] DEVICE...");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let options = parse_args();
    match run(&options).await {
        Ok(outcomes) => {
            let mut failed = false;
            for (device, outcome) in options.devices.iter().zip(outcomes) {
                match outcome {
                    Ok(elapsed) => println!("{device}: reported led={} after {elapsed:?}", options.led),
                    Err(reason) => {
                        failed = true;
                        println!("{device}: {reason}");
                    }
                }
            }
            std::process::exit(i32::from(failed));
        }
        Err(error) => {
            eprintln!("backend_async: {error}");
            std::process::exit(1);
        }
    }
}
