//! What the tests run against, on loopback and started by the tests: a mosquitto on a free port
//! and the reference cloud `twinlink serve` of the C++ build (TWINLINK_CLI, or the repository's
//! build/tools/twinlink/twinlink). Every wait is bounded; processes are killed on drop.
#![allow(dead_code)]

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "twinlink-rust-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Polls `condition` until it holds, for `timeout` at most.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn stop(child: &mut Child) {
    // SIGTERM first so that the process can shut down cleanly, then SIGKILL.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

pub struct Broker {
    pub port: u16,
    child: Child,
    _dir: TempDir,
}

impl Broker {
    pub fn start() -> Broker {
        let mosquitto = std::env::var("TWINLINK_MOSQUITTO").unwrap_or_else(|_| "/usr/sbin/mosquitto".into());
        assert!(
            Path::new(&mosquitto).exists(),
            "{mosquitto} not found (scripts/bootstrap installs mosquitto)"
        );
        let dir = TempDir::new("broker");
        for _attempt in 0..20 {
            let port = free_port();
            let log = dir.0.join("mosquitto.log");
            let mut config = String::from("per_listener_settings false\nallow_anonymous true\npersistence false\n");
            // SAFETY: geteuid has no preconditions.
            if unsafe { geteuid() } == 0 {
                // As root, mosquitto would switch to a user that may not write the log here.
                config.push_str("user root\n");
            }
            config.push_str(&format!(
                "log_dest file {}\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
                 max_inflight_messages 0\nmax_queued_messages 1000000\nlistener {port} 127.0.0.1\n",
                log.display()
            ));
            let config_path = dir.0.join("mosquitto.conf");
            fs::write(&config_path, config).unwrap();
            let mut child = Command::new(&mosquitto)
                .arg("-c")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start mosquitto");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = fs::read_to_string(&log).unwrap_or_default();
                if let Ok(Some(_)) = child.try_wait() {
                    assert!(text.contains("Address already in use"), "mosquitto exited:\n{text}");
                    break;
                }
                if text.contains(" running") && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Broker { port, child, _dir: dir };
                }
                if Instant::now() > deadline {
                    stop(&mut child);
                    panic!("mosquitto did not get ready:\n{text}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("mosquitto did not start on a free port");
    }

    pub fn uri(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

extern "C" {
    fn geteuid() -> u32;
}

pub fn twinlink_cli() -> PathBuf {
    let cli = match std::env::var_os("TWINLINK_CLI") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../build/tools/twinlink/twinlink"),
    };
    assert!(
        cli.exists(),
        "{} is missing: run `make build` first, or set TWINLINK_CLI to a built `twinlink`",
        cli.display()
    );
    cli
}

/// `twinlink serve` on a broker, with its SQLite database in a temporary directory.
pub struct Cloud {
    pub db: PathBuf,
    child: Child,
    _dir: TempDir,
}

impl Cloud {
    pub fn start(broker: &Broker) -> Cloud {
        let dir = TempDir::new("cloud");
        let db = dir.0.join("cloud.db");
        let log_path = dir.0.join("serve.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut child = Command::new(twinlink_cli())
            .args(["serve", "--broker", &broker.uri(), "--db"])
            .arg(&db)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start twinlink serve");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("twinlink serve: ready") {
                return Cloud { db, child, _dir: dir };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("twinlink serve exited ({status}):\n{text}");
            }
            if Instant::now() > deadline {
                stop(&mut child);
                panic!("twinlink serve did not get ready:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The lines `twinlink dp query DEVICE SERIES` prints, one per stored point.
    pub fn stored_points(&self, device: &str, series: &str) -> Vec<String> {
        let output = Command::new(twinlink_cli())
            .args(["dp", "query", device, series, "--db"])
            .arg(&self.db)
            .output()
            .unwrap();
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("no datapoints") || stderr.contains("has no series"),
                "twinlink dp query failed: {stderr}"
            );
            return Vec::new();
        }
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A device id no other test uses.
pub fn device_id(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "rs-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
