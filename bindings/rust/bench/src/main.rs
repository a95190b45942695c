//! The Rust binding's benchmark, run by `make bench`. In one run, on a mosquitto of its own on
//! loopback (and `twinlink serve` for the shadow round trips):
//!
//! - datapoints acknowledged end to end (every batch's PUBACK: `Delivery::Broker`, `flush()`
//!   returned and `stats().acked_points` equal to the points recorded) through the `twinlink`
//!   crate (`record()`, `record_many()`; JSON and CBOR), and the same through raw twinlink-sys
//!   calls (the C ABI figure), with the same options;
//! - rumqttc, one QoS 1 message per point (a bounded count), and rumqttc with points batched by
//!   hand (5000 points per serde_json message, QoS 1);
//! - shadow report round trips (p50/p99) through the crate (`report`, `report_async`) and raw
//!   `tl_shadow_report`.
//!
//! Each datapoint scenario runs `--reps` times, interleaved, and the median is reported; the
//! figures also go to build/bench/rust.json. With two or more cores the broker and `twinlink
//! serve` run on core 0 and the benchmark on core 1.
//!
//! ```text
//! twinlink-bench [--points N] [--message-points N] [--round-trips N] [--reps N]
//! ```

use std::ffi::{c_char, CStr, CString};
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::ptr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Serialize;
use serde_json::json;
use twinlink::{Backpressure, Delivery, Device, Encoding};
use twinlink_sys as sys;

const SERIES: [&str; 4] = ["temp", "humidity", "vibration", "current"];
const BATCH_BY_HAND: usize = 5000;
const RECORD_MANY_CHUNK: usize = 10_000;
const FLUSH_TIMEOUT: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(10);

/// The values recorded, computed once before any timing (a device has its reading already; the
/// benchmark measures what recording it costs), and the same for every client.
fn value_of(i: usize) -> f64 {
    const SIZE: usize = 4096;
    static VALUES: OnceLock<Vec<f64>> = OnceLock::new();
    let values = VALUES.get_or_init(|| {
        (0..SIZE)
            .map(|i| 20.0 + (i as f64 * 0.01).sin() * 5.0 + (i % 7) as f64 * 0.125)
            .collect()
    });
    values[i % SIZE]
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Options {
    points: usize,
    message_points: usize,
    round_trips: usize,
    reps: usize,
}

fn parse_args() -> Options {
    let mut options = Options {
        points: 2_000_000,
        message_points: 20_000,
        round_trips: 1000,
        reps: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || -> usize {
            args.next()
                .and_then(|v| v.replace('_', "").parse().ok())
                .filter(|&v| v > 0)
                .unwrap_or_else(|| usage(&format!("{flag} takes a positive number")))
        };
        match flag.as_str() {
            "--points" => options.points = value(),
            "--message-points" => options.message_points = value(),
            "--round-trips" => options.round_trips = value(),
            "--reps" => options.reps = value(),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    options
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("twinlink-bench: {problem}");
    }
    eprintln!("usage: twinlink-bench [--points N] [--message-points N] [--round-trips N] [--reps N]");
    std::process::exit(2)
}

// ---- processes: mosquitto and twinlink serve on loopback, killed on drop --------------------

/// `taskset -c CORE` in front of the helpers when the benchmark pins itself.
struct Pinning {
    helpers: Vec<String>,
}

fn pin() -> Pinning {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if cores < 2 || !taskset {
        println!("bench: {cores} core(s), not pinned");
        return Pinning { helpers: Vec::new() };
    }
    // Before any thread exists, so every later thread inherits core 1.
    let status = Command::new("taskset")
        .args(["-a", "-cp", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("taskset");
    assert!(status.success(), "taskset failed");
    println!("bench: broker and twinlink serve pinned to core 0, the benchmark to core 1");
    Pinning {
        helpers: vec!["taskset".into(), "-c".into(), "0".into()],
    }
}

impl Pinning {
    fn command(&self, program: &Path) -> Command {
        match self.helpers.split_first() {
            Some((taskset, args)) => {
                let mut command = Command::new(taskset);
                command.args(args).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

struct Process {
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn wait_for_log(what: &str, child: &mut Child, log: &Path, ready: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if ready(&text) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}):\n{text}");
        }
        assert!(Instant::now() < deadline, "{what} did not get ready:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_broker(pinning: &Pinning, dir: &Path) -> (Process, u16) {
    let mosquitto = std::env::var("TWINLINK_MOSQUITTO").unwrap_or_else(|_| "/usr/sbin/mosquitto".into());
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.join("mosquitto.log");
    let mut config = String::from("per_listener_settings false\nallow_anonymous true\npersistence false\n");
    if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    {
        config.push_str("user root\n");
    }
    config.push_str(&format!(
        "log_dest file {}\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
         max_inflight_messages 0\nmax_queued_messages 1000000\nset_tcp_nodelay true\nlistener {port} 127.0.0.1\n",
        log.display()
    ));
    let config_path = dir.join("mosquitto.conf");
    fs::write(&config_path, config).unwrap();
    let mut child = pinning
        .command(Path::new(&mosquitto))
        .arg("-c")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{mosquitto}: {e} (scripts/bootstrap installs mosquitto)"));
    wait_for_log("mosquitto", &mut child, &log, |text| {
        text.contains(" running") && TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    (Process { child }, port)
}

fn twinlink_cli() -> PathBuf {
    std::env::var_os("TWINLINK_CLI").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../build/tools/twinlink/twinlink"),
        PathBuf::from,
    )
}

fn start_cloud(pinning: &Pinning, dir: &Path, uri: &str) -> Process {
    let log_path = dir.join("serve.log");
    let log = fs::File::create(&log_path).unwrap();
    let cli = twinlink_cli();
    let mut child = pinning
        .command(&cli)
        .args(["serve", "--broker", uri, "--db"])
        .arg(dir.join("cloud.db"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (make build, or set TWINLINK_CLI)", cli.display()));
    wait_for_log("twinlink serve", &mut child, &log_path, |text| {
        text.contains("twinlink serve: ready")
    });
    Process { child }
}

/// How long a datapoint run took: until every point was acknowledged, and until the last one
/// was recorded (the binding's own cost is in this one).
#[derive(Clone, Copy)]
struct Timing {
    elapsed: Duration,
    recorded: Duration,
}

impl Timing {
    fn of(elapsed: Duration) -> Timing {
        Timing {
            elapsed,
            recorded: elapsed,
        }
    }
}

// ---- datapoints through the crate -----------------------------------------------------------

/// The options of the C ABI benchmark of scripts/bench: a backlog that holds the whole run,
/// recording blocks rather than drops, 32 batches in flight, delivered at the broker's PUBACK.
fn crate_device(uri: &str, id: &str, encoding: Encoding) -> Device {
    Device::builder(id)
        .broker(uri)
        .encoding(encoding)
        .delivery(Delivery::Broker)
        .backlog(256 << 20, 1_000_000)
        .backpressure(Backpressure::Block, Duration::from_secs(60))
        .sending(32, 0.0)
        .connect(TIMEOUT)
        .expect("connect")
}

fn crate_record(uri: &str, id: &str, encoding: Encoding, n: usize) -> Timing {
    let device = crate_device(uri, id, encoding);
    let points = device.datapoints().unwrap();
    let start = Instant::now();
    for i in 0..n {
        points.record(SERIES[i % SERIES.len()], value_of(i)).unwrap();
    }
    let recorded = start.elapsed();
    points.flush(FLUSH_TIMEOUT).unwrap();
    let elapsed = start.elapsed();
    let stats = points.stats().unwrap();
    assert_eq!(
        stats.acked_points, n as u64,
        "not every point was acknowledged: {stats:?}"
    );
    device.disconnect(Duration::from_secs(2)).unwrap();
    Timing { elapsed, recorded }
}

fn chunks() -> Vec<Vec<f64>> {
    (0..SERIES.len())
        .map(|s| (0..RECORD_MANY_CHUNK).map(|i| value_of(i + s)).collect())
        .collect()
}

fn crate_record_many(uri: &str, id: &str, encoding: Encoding, n: usize) -> Timing {
    let device = crate_device(uri, id, encoding);
    let points = device.datapoints().unwrap();
    let chunks = chunks();
    let start = Instant::now();
    for c in 0..n / RECORD_MANY_CHUNK {
        let s = c % SERIES.len();
        points.record_many(SERIES[s], &chunks[s][..], None).unwrap();
    }
    let recorded = start.elapsed();
    points.flush(FLUSH_TIMEOUT).unwrap();
    let elapsed = start.elapsed();
    let stats = points.stats().unwrap();
    assert_eq!(
        stats.acked_points,
        (n / RECORD_MANY_CHUNK * RECORD_MANY_CHUNK) as u64,
        "{stats:?}"
    );
    device.disconnect(Duration::from_secs(2)).unwrap();
    Timing { elapsed, recorded }
}

// ---- datapoints through raw twinlink-sys calls ----------------------------------------------

fn check(status: sys::tl_status) {
    if status != sys::TL_OK {
        // SAFETY: never NULL.
        let message = unsafe { CStr::from_ptr(sys::tl_last_error()) };
        panic!("C ABI call failed ({status}): {}", message.to_string_lossy());
    }
}

struct RawDevice(*mut sys::tl_device);

impl Drop for RawDevice {
    fn drop(&mut self) {
        // SAFETY: ours, freed once.
        unsafe {
            sys::tl_device_disconnect(self.0, 2000);
            sys::tl_device_free(self.0);
        }
    }
}

/// The same device as `crate_device`, made with C calls only. `encoding` None: no datapoint
/// options (for the shadow round trips).
fn raw_device(uri: &str, id: &str, encoding: Option<sys::tl_encoding>) -> RawDevice {
    let uri = CString::new(uri).unwrap();
    let id = CString::new(id).unwrap();
    // SAFETY: every handle is checked and freed; strings outlive the calls.
    unsafe {
        let mut client = ptr::null_mut();
        check(sys::tl_client_options_new(&mut client));
        check(sys::tl_client_options_add_broker(client, uri.as_ptr()));
        let mut device_options = ptr::null_mut();
        check(sys::tl_device_options_new(&mut device_options));
        check(sys::tl_device_options_set_client(device_options, client));
        sys::tl_client_options_free(client);
        if let Some(encoding) = encoding {
            let mut dp = ptr::null_mut();
            check(sys::tl_datapoint_options_new(&mut dp));
            check(sys::tl_datapoint_options_set_encoding(dp, encoding));
            check(sys::tl_datapoint_options_set_backlog(dp, 256 << 20, 1_000_000));
            check(sys::tl_datapoint_options_set_backpressure(
                dp,
                sys::TL_BACKPRESSURE_BLOCK,
                60_000,
            ));
            check(sys::tl_datapoint_options_set_sending(dp, 32, 0.0));
            check(sys::tl_datapoint_options_set_delivery(
                dp,
                sys::TL_DELIVERY_BROKER,
                10_000,
                64,
                ptr::null(),
            ));
            check(sys::tl_device_options_set_datapoints(device_options, dp));
            sys::tl_datapoint_options_free(dp);
        }
        let mut device = ptr::null_mut();
        check(sys::tl_device_new(&mut device, id.as_ptr(), device_options));
        sys::tl_device_options_free(device_options);
        let device = RawDevice(device);
        check(sys::tl_device_connect(device.0, 10_000));
        device
    }
}

fn raw_encoding(encoding: Encoding) -> sys::tl_encoding {
    match encoding {
        Encoding::Json => sys::TL_ENCODING_JSON,
        _ => sys::TL_ENCODING_CBOR,
    }
}

fn raw_acked(dp: *mut sys::tl_datapoints) -> u64 {
    let mut stats = sys::tl_datapoint_stats {
        struct_size: std::mem::size_of::<sys::tl_datapoint_stats>(),
        ..Default::default()
    };
    // SAFETY: valid pipeline; struct_size set.
    check(unsafe { sys::tl_datapoints_get_stats(dp, &mut stats) });
    stats.acked_points
}

fn raw_record(uri: &str, id: &str, encoding: Encoding, n: usize) -> Timing {
    let device = raw_device(uri, id, Some(raw_encoding(encoding)));
    let names: Vec<CString> = SERIES.iter().map(|s| CString::new(*s).unwrap()).collect();
    let mut dp = ptr::null_mut();
    // SAFETY: valid device and pipeline; names outlive the calls.
    unsafe {
        check(sys::tl_device_datapoints(device.0, &mut dp));
        let start = Instant::now();
        for i in 0..n {
            check(sys::tl_datapoints_record_double(
                dp,
                names[i % SERIES.len()].as_ptr(),
                value_of(i),
                sys::TL_NOW,
            ));
        }
        let recorded = start.elapsed();
        check(sys::tl_datapoints_flush(dp, 300_000));
        let elapsed = start.elapsed();
        assert_eq!(raw_acked(dp), n as u64, "not every point was acknowledged");
        Timing { elapsed, recorded }
    }
}

fn raw_record_many(uri: &str, id: &str, encoding: Encoding, n: usize) -> Timing {
    let device = raw_device(uri, id, Some(raw_encoding(encoding)));
    let names: Vec<CString> = SERIES.iter().map(|s| CString::new(*s).unwrap()).collect();
    let chunks = chunks();
    let mut dp = ptr::null_mut();
    // SAFETY: valid device and pipeline; names and chunks outlive the calls.
    unsafe {
        check(sys::tl_device_datapoints(device.0, &mut dp));
        let start = Instant::now();
        for c in 0..n / RECORD_MANY_CHUNK {
            let s = c % SERIES.len();
            check(sys::tl_datapoints_record_many_double(
                dp,
                names[s].as_ptr(),
                chunks[s].as_ptr(),
                ptr::null(),
                RECORD_MANY_CHUNK,
            ));
        }
        let recorded = start.elapsed();
        check(sys::tl_datapoints_flush(dp, 300_000));
        let elapsed = start.elapsed();
        assert_eq!(raw_acked(dp), (n / RECORD_MANY_CHUNK * RECORD_MANY_CHUNK) as u64);
        Timing { elapsed, recorded }
    }
}

// ---- rumqttc ---------------------------------------------------------------------------------

#[derive(Serialize)]
struct Point {
    n: &'static str,
    t: i64,
    v: f64,
}

fn rumqttc_options(port: u16, id: &str) -> MqttOptions {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(60));
    options.set_max_packet_size(16 << 20, 16 << 20);
    // As many in flight as the Paho baseline of scripts/bench keeps.
    options.set_inflight(1000);
    options
}

/// Publishes `messages` (made by `make(i)` inside the timing) with QoS 1 and waits for every
/// PUBACK.
fn rumqttc_run(port: u16, id: &str, messages: usize, make: impl Fn(usize) -> Vec<u8> + Send + 'static) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (client, mut events) = AsyncClient::new(rumqttc_options(port, id), 1000);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => break,
                Ok(_) => {}
                Err(e) => panic!("rumqttc connect: {e}"),
            }
        }
        let start = Instant::now();
        let publisher = tokio::spawn(async move {
            for i in 0..messages {
                client
                    .publish("bench/rumqttc/dp", QoS::AtLeastOnce, false, make(i))
                    .await
                    .unwrap();
            }
            client
        });
        let mut acked = 0;
        while acked < messages {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("rumqttc: {e}"),
            }
        }
        let elapsed = start.elapsed();
        let client = publisher.await.unwrap();
        let _ = client.disconnect().await;
        elapsed
    })
}

fn rumqttc_per_message(port: u16, n: usize) -> Timing {
    Timing::of(rumqttc_run(port, "bench-rumqttc-each", n, |i| {
        serde_json::to_vec(&Point {
            n: SERIES[i % SERIES.len()],
            t: now_ms(),
            v: value_of(i),
        })
        .unwrap()
    }))
}

fn rumqttc_batched(port: u16, n: usize) -> Timing {
    Timing::of(rumqttc_run(port, "bench-rumqttc-batch", n / BATCH_BY_HAND, |m| {
        let batch: Vec<Point> = (m * BATCH_BY_HAND..(m + 1) * BATCH_BY_HAND)
            .map(|i| Point {
                n: SERIES[i % SERIES.len()],
                t: now_ms(),
                v: value_of(i),
            })
            .collect();
        serde_json::to_vec(&batch).unwrap()
    }))
}

// ---- shadow round trips ----------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

struct RoundTrips {
    name: &'static str,
    samples: Vec<Duration>,
}

fn shadow_round_trips(uri: &str, n: usize) -> Vec<RoundTrips> {
    let device = Device::builder("bench-rs-shadow-crate")
        .broker(uri)
        .connect(TIMEOUT)
        .unwrap();
    let shadow = device.shadow().unwrap();
    let raw = raw_device(uri, "bench-rs-shadow-raw", None);
    let mut raw_shadow = ptr::null_mut();
    // SAFETY: valid device.
    check(unsafe { sys::tl_device_shadow(raw.0, ptr::null(), &mut raw_shadow) });
    let raw_report = |i: usize| {
        let json = CString::new(format!(r#"{{"temp":{i},"seq":{i}}}"#)).unwrap();
        let mut accepted: *mut c_char = ptr::null_mut();
        // SAFETY: valid shadow and C string; accepted is ours to free.
        unsafe {
            check(sys::tl_shadow_report(raw_shadow, json.as_ptr(), 10_000, &mut accepted));
            sys::tl_free(accepted.cast());
        }
    };
    let mut results = vec![
        RoundTrips {
            name: "C ABI, tl_shadow_report",
            samples: Vec::with_capacity(n),
        },
        RoundTrips {
            name: "crate, Shadow::report",
            samples: Vec::with_capacity(n),
        },
        RoundTrips {
            name: "crate, Shadow::report_async (block_on)",
            samples: Vec::with_capacity(n),
        },
    ];
    // Warm up, then interleave the three so that drift of the machine hits them alike.
    for i in 0..20 {
        raw_report(i);
        shadow.report(&json!({"temp": i, "seq": i}), TIMEOUT).unwrap();
    }
    for i in 0..n {
        let start = Instant::now();
        raw_report(i);
        results[0].samples.push(start.elapsed());

        let start = Instant::now();
        shadow.report(&json!({"temp": i, "seq": i}), TIMEOUT).unwrap();
        results[1].samples.push(start.elapsed());

        let start = Instant::now();
        futures::executor::block_on(shadow.report_async(&json!({"temp": i, "seq": i}), TIMEOUT)).unwrap();
        results[2].samples.push(start.elapsed());
    }
    for result in &mut results {
        result.samples.sort();
    }
    results
}

fn threads() -> usize {
    fs::read_dir("/proc/self/task").map_or(0, |tasks| tasks.count())
}

/// `n` shadow reports in flight at once: awaited as `report_async` futures on one thread, and as
/// blocking `report` calls on a thread each. Returns (elapsed, threads added while they ran)
/// for each.
fn concurrent_reports(uri: &str, n: usize) -> [(Duration, usize); 2] {
    let device = Device::builder("bench-rs-concurrent")
        .broker(uri)
        .connect(TIMEOUT)
        .unwrap();
    let shadow = device.shadow().unwrap();
    shadow.report(&json!({"warm": true}), TIMEOUT).unwrap();
    futures::executor::block_on(shadow.report_async(&json!({"warm": 1}), TIMEOUT)).unwrap();

    let before = threads();
    let start = Instant::now();
    let reports: Vec<_> = (0..n)
        .map(|i| shadow.report_async(&json!({ "n": i }), TIMEOUT))
        .collect();
    let peak = threads();
    for result in futures::executor::block_on(futures::future::join_all(reports)) {
        result.unwrap();
    }
    let futures = (start.elapsed(), peak.saturating_sub(before));

    let peak = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for i in 0..n {
            let shadow = &shadow;
            let peak = &peak;
            scope.spawn(move || {
                peak.fetch_max(threads(), std::sync::atomic::Ordering::Relaxed);
                shadow.report(&json!({ "n": i }), TIMEOUT).unwrap();
            });
        }
    });
    let threaded = (start.elapsed(), peak.into_inner().saturating_sub(before));
    [futures, threaded]
}

// ---- the run ---------------------------------------------------------------------------------

fn median(samples: impl Iterator<Item = Duration>) -> Duration {
    let mut samples: Vec<Duration> = samples.collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let options = parse_args();
    let pinning = pin();
    let dir = TempDir(std::env::temp_dir().join(format!("twinlink-rust-bench-{}", std::process::id())));
    fs::create_dir_all(&dir.0).unwrap();
    let (_broker, port) = start_broker(&pinning, &dir.0);
    let uri = format!("mqtt://127.0.0.1:{port}");
    println!(
        "bench: libtwinlink {}, {} points per datapoint run ({} by rumqttc one message per point), \
         median of {} runs",
        twinlink::library_version(),
        options.points,
        options.message_points,
        options.reps
    );

    type Scenario = (&'static str, usize, Box<dyn Fn(&str, usize) -> Timing>);
    let n = options.points;
    let m = options.message_points;
    let scenarios: Vec<Scenario> = vec![
        (
            "rumqttc, one QoS 1 message per point",
            m,
            Box::new(move |_, _| rumqttc_per_message(port, m)),
        ),
        (
            "rumqttc, 5000 points per serde_json message by hand",
            n,
            Box::new(move |_, _| rumqttc_batched(port, n)),
        ),
        (
            "C ABI, tl_datapoints_record_double, JSON",
            n,
            Box::new(move |id, _| raw_record(&uri_of(port), id, Encoding::Json, n)),
        ),
        (
            "crate, record(), JSON",
            n,
            Box::new(move |id, _| crate_record(&uri_of(port), id, Encoding::Json, n)),
        ),
        (
            "C ABI, tl_datapoints_record_double, CBOR",
            n,
            Box::new(move |id, _| raw_record(&uri_of(port), id, Encoding::Cbor, n)),
        ),
        (
            "crate, record(), CBOR",
            n,
            Box::new(move |id, _| crate_record(&uri_of(port), id, Encoding::Cbor, n)),
        ),
        (
            "C ABI, tl_datapoints_record_many_double (10000), JSON",
            n,
            Box::new(move |id, _| raw_record_many(&uri_of(port), id, Encoding::Json, n)),
        ),
        (
            "crate, record_many(&[f64; 10000]), JSON",
            n,
            Box::new(move |id, _| crate_record_many(&uri_of(port), id, Encoding::Json, n)),
        ),
        (
            "C ABI, tl_datapoints_record_many_double (10000), CBOR",
            n,
            Box::new(move |id, _| raw_record_many(&uri_of(port), id, Encoding::Cbor, n)),
        ),
        (
            "crate, record_many(&[f64; 10000]), CBOR",
            n,
            Box::new(move |id, _| crate_record_many(&uri_of(port), id, Encoding::Cbor, n)),
        ),
    ];
    let mut samples: Vec<Vec<Timing>> = vec![Vec::new(); scenarios.len()];
    for rep in 0..options.reps {
        // Every other run goes through the list backwards, so that no scenario always follows
        // the same one (each crate row runs after its C ABI row as often as before it).
        let mut order: Vec<usize> = (0..scenarios.len()).collect();
        if rep % 2 == 1 {
            order.reverse();
        }
        for index in order {
            let (name, points, run) = &scenarios[index];
            let id = format!("bench-rs-{index}-{rep}");
            let timing = run(&id, *points);
            println!(
                "  run {}/{}: {name}: {:.0} points/s",
                rep + 1,
                options.reps,
                *points as f64 / timing.elapsed.as_secs_f64()
            );
            samples[index].push(timing);
        }
    }
    let rates: Vec<f64> = scenarios
        .iter()
        .zip(&samples)
        .map(|((_, points, _), s)| *points as f64 / median(s.iter().map(|t| t.elapsed)).as_secs_f64())
        .collect();
    let record_ns: Vec<f64> = scenarios
        .iter()
        .zip(&samples)
        .map(|((_, points, _), s)| median(s.iter().map(|t| t.recorded)).as_secs_f64() * 1e9 / *points as f64)
        .collect();

    println!();
    println!("Datapoints acknowledged end to end (PUBACK of every message or batch), QoS 1, 4 series:");
    println!();
    println!(
        "| scenario | points/s | vs rumqttc per message | vs rumqttc hand-batched | vs C ABI | ns/point recording |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (index, ((name, _, _), rate)) in scenarios.iter().zip(&rates).enumerate() {
        // The crate's rows follow their C ABI row.
        let vs_c = if name.starts_with("crate") {
            format!("{:.0} %", rate / rates[index - 1] * 100.0)
        } else {
            String::new()
        };
        let record = if index >= 2 {
            format!("{:.0}", record_ns[index])
        } else {
            String::new()
        };
        let vs_batched = if index >= 1 {
            format!("{:.1}x", rate / rates[1])
        } else {
            String::new()
        };
        println!(
            "| {name} | {} | {:.0}x | {vs_batched} | {vs_c} | {record} |",
            thousands(*rate),
            rate / rates[0],
        );
    }

    let _cloud = start_cloud(&pinning, &dir.0, &uri);
    let round_trips = shadow_round_trips(&uri, options.round_trips);
    println!();
    println!(
        "Shadow report round trips through twinlink serve (report sent -> update/accepted received), \
         {} each, interleaved:",
        options.round_trips
    );
    println!();
    println!("| path | p50 | p99 | p50 vs C ABI |");
    println!("|---|---:|---:|---:|");
    let c_p50 = percentile(&round_trips[0].samples, 0.5);
    for r in &round_trips {
        let p50 = percentile(&r.samples, 0.5);
        println!(
            "| {} | {:.3} ms | {:.3} ms | {:+.0} µs |",
            r.name,
            p50,
            percentile(&r.samples, 0.99),
            (p50 - c_p50) * 1e3
        );
    }

    let n = options.round_trips;
    let [futures, threaded] = concurrent_reports(&uri, n);
    println!();
    println!("{n} shadow reports in flight at once:");
    println!();
    println!("| how | time | threads added |");
    println!("|---|---:|---:|");
    println!(
        "| `report_async` futures, joined on one thread | {:.3} s | {} |",
        futures.0.as_secs_f64(),
        futures.1
    );
    println!(
        "| blocking `report`, a thread each | {:.3} s | {} (peak) |",
        threaded.0.as_secs_f64(),
        threaded.1
    );

    let datapoints: Vec<_> = scenarios
        .iter()
        .enumerate()
        .map(|(index, (name, points, _))| {
            json!({
                "scenario": name,
                "points": points,
                "points_per_second": rates[index].round(),
                "vs_rumqttc_per_message": rates[index] / rates[0],
                "vs_rumqttc_hand_batched": rates[index] / rates[1],
                "record_ns_per_point": record_ns[index],
            })
        })
        .collect();
    let shadow: Vec<_> = round_trips
        .iter()
        .map(|r| json!({"path": r.name, "p50_ms": percentile(&r.samples, 0.5), "p99_ms": percentile(&r.samples, 0.99)}))
        .collect();
    let results = json!({
        "library_version": twinlink::library_version(),
        "reps": options.reps,
        "datapoints": datapoints,
        "shadow_round_trips": shadow,
        "concurrent_reports": {
            "reports": n,
            "futures_seconds": futures.0.as_secs_f64(),
            "futures_threads_added": futures.1,
            "threads_seconds": threaded.0.as_secs_f64(),
            "threads_peak_added": threaded.1,
        },
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../build/bench/rust.json");
    match fs::create_dir_all(out.parent().unwrap())
        .and_then(|_| fs::write(&out, serde_json::to_string_pretty(&results).unwrap()))
    {
        Ok(()) => println!("\nbench: wrote build/bench/rust.json"),
        Err(e) => eprintln!("bench: could not write {}: {e}", out.display()),
    }
}

fn uri_of(port: u16) -> String {
    format!("mqtt://127.0.0.1:{port}")
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
