//! Test harness: a real Mosquitto on a free port, the real `diuna` binary on a temporary config, an MQTT
//! test client and a reader for the simulated strips' capture files. Everything waits on events with a
//! bounded timeout; nothing sleeps and hopes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A Mosquitto broker owned by one test.
pub struct Broker {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

fn mosquitto_bin() -> PathBuf {
    for p in [
        "/usr/sbin/mosquitto",
        "/usr/bin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!(
        "mosquitto is not installed: apt-get install -y mosquitto (integration tests need a real broker)"
    );
}

impl Broker {
    pub fn start() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, free_port())
    }

    fn start_in(dir: tempfile::TempDir, port: u16) -> Broker {
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_packet_size 1048576\nset_tcp_nodelay true\n"
        );
        Self::start_conf(dir, port, &conf)
    }

    /// Starts a broker with a full configuration text; `port` must be one of its listeners (the one
    /// waited for).
    pub fn start_conf(dir: tempfile::TempDir, port: u16, conf_text: &str) -> Broker {
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, conf_text).unwrap();
        let child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        wait_for(Duration::from_secs(10), "mosquitto to listen", || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Broker { port, child, dir }
    }

    /// Stops the broker and starts a fresh one on the same port (retained messages are lost, as after a
    /// broker restart without persistence).
    pub fn restart(mut self) -> Broker {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.port;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        std::mem::forget(self);
        Self::start_in(dir, port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received MQTT message.
#[derive(Clone, Debug)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Msg {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// A test MQTT client that records everything it receives.
pub struct TestClient {
    pub client: Client,
    rx: Receiver<Msg>,
    pub seen: Vec<Msg>,
}

impl TestClient {
    pub fn connect(port: u16, id: &str, subscribe: &[&str]) -> TestClient {
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut conn) = Client::new(opts, 1000);
        let mut net = rumqttc::NetworkOptions::new();
        net.set_tcp_nodelay(true);
        conn.eventloop.set_network_options(net);
        for t in subscribe {
            client.subscribe(*t, QoS::AtLeastOnce).unwrap();
        }
        let (tx, rx) = channel();
        let (ready_tx, ready_rx) = channel();
        std::thread::spawn(move || {
            let mut acks = 0;
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let m = Msg {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        };
                        if tx.send(m).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        acks += 1;
                        let _ = ready_tx.send(acks);
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = ready_tx.send(0);
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        let want = subscribe.len();
        wait_for(
            Duration::from_secs(10),
            "test client subscriptions",
            || match ready_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(n) if n >= want => Some(()),
                _ => None,
            },
        );
        TestClient {
            client,
            rx,
            seen: Vec::new(),
        }
    }

    pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .unwrap();
    }

    pub fn publish_retained(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, true, payload)
            .unwrap();
    }

    /// Waits for a message matching `f` (also among those already seen when `from_seen`).
    pub fn wait_msg(&mut self, timeout: Duration, what: &str, f: impl Fn(&Msg) -> bool) -> Msg {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => {
                    self.seen.push(m.clone());
                    if f(&m) {
                        return m;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "timed out after {timeout:?} waiting for {what}; seen {} messages, last: {:?}",
                    self.seen.len(),
                    self.seen
                        .iter()
                        .rev()
                        .take(5)
                        .map(|m| (&m.topic, m.text()))
                        .collect::<Vec<_>>()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("test client disconnected waiting for {what}")
                }
            }
        }
    }

    /// Waits for a message on `topic` satisfying `f`.
    pub fn wait_topic(&mut self, topic: &str, f: impl Fn(&Msg) -> bool) -> Msg {
        let t = topic.to_string();
        self.wait_msg(Duration::from_secs(10), topic, move |m| {
            m.topic == t && f(m)
        })
    }

    /// Everything that arrives within `quiet` of the previous message.
    pub fn drain(&mut self, quiet: Duration) -> Vec<Msg> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.recv_timeout(quiet) {
            self.seen.push(m.clone());
            out.push(m);
        }
        out
    }
}

/// One line of a capture file (`rgb`: 3 wire bytes a pixel; `rgbw`: 4, on an RGBW strip).
#[derive(Clone, Debug)]
pub struct CapturedFrame {
    pub t_us: u64,
    pub strip: String,
    pub wire: Vec<u8>,
    /// Wire bytes per pixel: 3, or 4 for an `rgbw` line.
    pub channels: usize,
}

impl CapturedFrame {
    /// Wire bytes of pixel `i` (in wire order).
    pub fn pixel(&self, i: usize) -> [u8; 3] {
        [self.wire[i * 3], self.wire[i * 3 + 1], self.wire[i * 3 + 2]]
    }
}

/// Reads a capture file incrementally.
pub struct Capture {
    path: PathBuf,
    offset: u64,
    pub frames: Vec<CapturedFrame>,
}

impl Capture {
    pub fn new(path: &Path) -> Capture {
        Capture {
            path: path.into(),
            offset: 0,
            frames: Vec::new(),
        }
    }

    /// Reads what has been appended since the last call; returns how many frames were new.
    pub fn poll(&mut self) -> usize {
        use std::io::{Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return 0;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return 0;
        }
        let mut reader = BufReader::new(f);
        let mut n = 0;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if !line.ends_with('\n') {
                break; // partial line: read again later
            }
            self.offset += line.len() as u64;
            let v: serde_json::Value = serde_json::from_str(&line).expect("capture line is JSON");
            let (hex, channels) = match (v["rgb"].as_str(), v["rgbw"].as_str()) {
                (Some(hex), _) => (hex, 3),
                (None, hex) => (hex.expect("rgb or rgbw"), 4),
            };
            let wire = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
                .collect();
            self.frames.push(CapturedFrame {
                t_us: v["t_us"].as_u64().expect("t_us"),
                strip: v["strip"].as_str().unwrap().into(),
                wire,
                channels,
            });
            n += 1;
            line.clear();
        }
        n
    }

    /// Waits for a frame of `strip` satisfying `f` among the frames not read yet, returning it.
    pub fn wait_frame(
        &mut self,
        strip: &str,
        what: &str,
        f: impl Fn(&CapturedFrame) -> bool,
    ) -> CapturedFrame {
        let mut checked = self.frames.len();
        wait_for(Duration::from_secs(10), what, || {
            self.poll();
            let hit = self.frames[checked..]
                .iter()
                .find(|fr| fr.strip == strip && f(fr))
                .cloned();
            checked = self.frames.len();
            hit
        })
    }

    pub fn last(&mut self, strip: &str) -> Option<CapturedFrame> {
        self.poll();
        self.frames.iter().rev().find(|f| f.strip == strip).cloned()
    }
}

/// The daemon under test.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Daemon {
    /// Writes `toml` to a temp dir (`{dir}` in it becomes that dir) and starts `diuna --config`.
    pub fn start(toml: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, toml)
    }

    pub fn start_in(dir: tempfile::TempDir, toml: &str) -> Daemon {
        Self::start_with(dir, toml, &[])
    }

    /// Like [`Daemon::start_in`] with extra environment variables.
    pub fn start_with(dir: tempfile::TempDir, toml: &str, env: &[(&str, &str)]) -> Daemon {
        let config = dir.path().join("diuna.toml");
        std::fs::write(
            &config,
            toml.replace("{dir}", &dir.path().display().to_string()),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_diuna"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info,diuna=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start diuna");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        Daemon {
            child,
            dir,
            config,
            stderr,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn log(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for the process to exit, returning its status and how long that took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let status = wait_for(timeout, "diuna to exit", || {
            self.child.try_wait().ok().flatten()
        });
        (status, start.elapsed())
    }

    /// SIGTERM, then wait for exit.
    pub fn stop(mut self) -> (ExitStatus, Duration, tempfile::TempDir) {
        self.signal("TERM");
        let (s, d) = self.wait_exit(Duration::from_secs(10));
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (s, d, dir)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
