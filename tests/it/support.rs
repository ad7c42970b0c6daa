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

/// A Mosquitto broker owned by one test, with Mosquitto's default settings (nothing tuned: see
/// [`Broker::start`]).
pub struct Broker {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
    conf: String,
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

/// The smallest configuration Mosquitto 2 needs to listen on a port: everything else is its default.
fn stock_conf(port: u16) -> String {
    format!("listener {port} 127.0.0.1\nallow_anonymous true\n")
}

impl Broker {
    /// Mosquitto as users run it: default socket options (Nagle on), no packet size limit, no
    /// persistence. Never tune it so that a test passes.
    pub fn start() -> Broker {
        let port = free_port();
        Self::start_conf(tempfile::tempdir().unwrap(), port, &stock_conf(port))
    }

    /// As Debian's package ships it: persistence on (in the broker's own temporary directory).
    pub fn start_persistent() -> Broker {
        let dir = tempfile::tempdir().unwrap();
        // Mosquitto started as root drops to its own user before it writes its database.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = free_port();
        let conf = format!(
            "{}persistence true\npersistence_location {}/\n",
            stock_conf(port),
            dir.path().display()
        );
        Self::start_conf(dir, port, &conf)
    }

    /// For comparison only (the benches): `set_tcp_nodelay true`, the one tuning that hides the
    /// delayed-ACK interaction described in `src/mqtt/outbox.rs`.
    pub fn start_tuned() -> Broker {
        let port = free_port();
        let conf = format!("{}set_tcp_nodelay true\n", stock_conf(port));
        Self::start_conf(tempfile::tempdir().unwrap(), port, &conf)
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
        Broker {
            port,
            child,
            dir,
            conf: conf_text.into(),
        }
    }

    /// Stops the broker the way a service manager does (SIGTERM: a persistent broker saves its
    /// database) and waits until it has exited.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let exited = wait_for(Duration::from_secs(10), "mosquitto to exit", || {
            self.child.try_wait().ok().flatten()
        });
        assert!(exited.success() || exited.code().is_none(), "{exited:?}");
    }

    /// Stops the broker (SIGTERM) and starts it again on the same port with the same configuration:
    /// without persistence its retained messages and sessions are gone, with it they are restored.
    pub fn restart(mut self) -> Broker {
        self.stop();
        let (port, conf) = (self.port, self.conf.clone());
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        Self::start_conf(dir, port, &conf)
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
        // The client's own socket, not the broker: with Nagle on here, a QoS 0 publisher's next
        // command waits for the broker's delayed ACK of the last one (up to 40 ms), and the latency
        // benches would measure this client instead of Diuna (docs/PERFORMANCE.md, twelfth session).
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

    /// Publishes at the given QoS (the benches compare QoS 0 and QoS 1 publishers).
    pub fn publish_qos(&self, topic: &str, payload: impl Into<Vec<u8>>, qos: QoS) {
        self.client.publish(topic, qos, false, payload).unwrap();
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

    /// The last message already seen on `topic`, or else the next one to arrive.
    pub fn seen_or_wait(&mut self, topic: &str) -> Msg {
        match self.seen.iter().rev().find(|m| m.topic == topic) {
            Some(m) => m.clone(),
            None => self.wait_topic(topic, |_| true),
        }
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
        // `DIUNA_BIN` measures another build (the benches compare before and after a change).
        let bin = std::env::var_os("DIUNA_BIN").unwrap_or(env!("CARGO_BIN_EXE_diuna").into());
        let mut child = Command::new(bin)
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

    /// Waits until the log (read from the daemon's stderr on a thread of its own, so it can lag
    /// behind what the daemon did) contains `needle`; returns the log.
    pub fn wait_log(&self, needle: &str) -> String {
        wait_for(Duration::from_secs(10), needle, || {
            let log = self.log();
            log.contains(needle).then_some(log)
        })
    }

    /// The log without terminal colours (SGR sequences `ESC [ … m`; any other escape stays), so that
    /// `key=value` fields can be matched.
    pub fn plain_log(&self) -> String {
        let log = self.log();
        let mut out = String::with_capacity(log.len());
        let mut rest = log.as_str();
        while let Some(i) = rest.find("\u{1b}[") {
            out.push_str(&rest[..i]);
            let tail = &rest[i + 2..];
            let end = tail.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            match end {
                Some(e) if tail[e..].starts_with('m') => rest = &tail[e + 1..],
                _ => {
                    out.push_str("\u{1b}[");
                    rest = tail;
                }
            }
        }
        out.push_str(rest);
        out
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
        // A failed test shows what the daemon said, so a failure seen once (in CI, say) can be read.
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(DUMPED_LOG_LINES)..];
            eprintln!(
                "--- the daemon's log, last {} of {} lines ---\n{}\n--- end of the daemon's log ---",
                tail.len(),
                lines.len(),
                tail.join("\n")
            );
        }
    }
}

/// How much of a daemon's log a failed test prints.
const DUMPED_LOG_LINES: usize = 80;

/// Publishes with paho-mqtt (`tests/it/paho_client.py`), a client the tests did not write; `args` are
/// the script's options (`--qos 1`, `--retain`, `--size N`, `--message M`, `--count N`). Returns once the
/// broker has every message.
pub fn paho_publish(port: u16, topic: &str, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/paho_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(topic)
        .args(args)
        .output()
        .expect("python3 (with paho-mqtt: apt-get install python3-paho-mqtt) runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("published"),
        "paho publisher failed ({}); is python3-paho-mqtt installed?\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An MQTT 3.1.1 client written by hand, for floods faster than any library sends them.
pub mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let mut byte = (n % 128) as u8;
            n /= 128;
            if n > 0 {
                byte |= 0x80;
            }
            out.push(byte);
            if n == 0 {
                return;
            }
        }
    }

    /// Appends an MQTT string (two-byte length, then the bytes).
    pub fn string(s: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }

    /// A packet: its first byte `header`, the remaining length, then `body`.
    pub fn packet(header: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![header];
        remaining_length(body.len(), &mut p);
        p.extend_from_slice(body);
        p
    }

    /// A CONNECT packet (MQTT 3.1.1, clean session) with `keep_alive` seconds (0: none).
    pub fn connect(client_id: &str, keep_alive: u16) -> Vec<u8> {
        let mut body = Vec::new();
        string(b"MQTT", &mut body);
        body.extend_from_slice(&[4, 0x02]);
        body.extend_from_slice(&keep_alive.to_be_bytes());
        string(client_id.as_bytes(), &mut body);
        packet(0x10, &body)
    }

    /// A QoS 0 PUBLISH packet.
    pub fn publish(topic: &str, payload: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(topic.len() + payload.len() + 2);
        string(topic.as_bytes(), &mut body);
        body.extend_from_slice(payload);
        packet(0x30, &body)
    }

    /// Connects (clean session), writes every packet of `packets` in one go, disconnects; returns how
    /// long the writing took.
    pub fn burst(port: u16, client_id: &str, packets: &[u8]) -> Duration {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the broker");
        s.write_all(&connect(client_id, 60)).unwrap();
        let mut connack = [0u8; 4];
        s.read_exact(&mut connack).unwrap();
        assert_eq!(connack, [0x20, 2, 0, 0], "CONNACK accepted");
        let t0 = Instant::now();
        s.write_all(packets).unwrap();
        let took = t0.elapsed();
        s.write_all(&[0xe0, 0]).unwrap();
        s.flush().unwrap();
        took
    }
}
