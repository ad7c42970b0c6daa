//! Command latency through a real broker: MQTT publish → the frame on the simulated strip's wire, over
//! ≥ 500 commands, with the daemon idle and with every other zone animating.
//! Run: `cargo bench --bench latency` (needs mosquitto). Prints p50/p99/max in milliseconds.

#[path = "../tests/it/support.rs"]
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::{Broker, Capture, Daemon, TestClient};

const COMMANDS: usize = 600;

fn config(port: u16, animated: bool) -> String {
    let effect = if animated { "effect = \"rainbow\"" } else { "" };
    format!(
        r#"
device_id = "bench"
fps = 60
[render]
fade_in = "0s"
transition = "0s"
[mqtt]
host = "127.0.0.1"
port = {port}
[state]
path = "{{dir}}/state.json"
[[strips]]
id = "a"
gpio = 18
dma = 10
color_order = "RGB"
gamma = 1.0
capture = "{{dir}}/a.jsonl"
[[zones]]
id = "target"
strip = "a"
pixels = 10
color = [0, 0, 0]
brightness = 255
[[strips]]
id = "b"
gpio = 19
dma = 11
gamma = 1.0
[[zones]]
id = "busy"
strip = "b"
pixels = 290
color = [255, 0, 0]
{effect}
"#
    )
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn run(animated: bool) -> Vec<f64> {
    let broker = Broker::start();
    let d = Daemon::start(&config(broker.port, animated));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "bench", &["diuna/bench/availability"]);
    c.wait_topic("diuna/bench/availability", |m| m.text() == "online");
    let mut lat = Vec::with_capacity(COMMANDS);
    for i in 0..COMMANDS + 20 {
        // A colour the target zone has not shown last: r cycles 1..=250, g marks the round.
        let r = (i % 250) as u8 + 1;
        let g = (i / 250) as u8 + 1;
        let sent = now_us();
        c.publish(
            "diuna/bench/target/set",
            format!(r#"{{"color":{{"r":{r},"g":{g},"b":0}}}}"#),
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let t = loop {
            cap.poll();
            if let Some(f) = cap
                .frames
                .iter()
                .rev()
                .take(8)
                .find(|f| f.pixel(0) == [r, g, 0])
            {
                break f.t_us;
            }
            assert!(
                Instant::now() < deadline,
                "command {i} never reached the strip"
            );
            std::thread::sleep(Duration::from_micros(200));
        };
        // Let that frame (and any frame of the busy strip) latch before the next command, so each
        // sample measures the command path, not a queue behind the previous command's wire time.
        // A pseudo-random extra 0–16.7 ms puts commands at every phase of the 60 FPS schedule.
        std::thread::sleep(
            Duration::from_millis(12) + Duration::from_micros((i as u64 * 7919) % 16_667),
        );
        if i >= 20 {
            // The first 20 warm up the connection.
            lat.push(t.saturating_sub(sent) as f64 / 1000.0);
        }
    }
    lat
}

/// Input → LED: a modulator detent on the simulated knob (edit mode, hue target) → the changed frame.
fn run_input() -> Vec<f64> {
    use std::io::{BufRead, BufReader, Write};
    let broker = Broker::start();
    let toml = config(broker.port, false).replacen(
        "[[strips]]",
        "[input]\nsim_socket = \"{dir}/input.sock\"\nkeyboard = \"none\"\nacceleration = false\n[[strips]]",
        1,
    );
    let d = Daemon::start(&toml.replace("color = [0, 0, 0]", "color = [255, 0, 0]"));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let path = d.path("input.sock");
    let sock = support::wait_for(Duration::from_secs(10), "input socket", || {
        std::os::unix::net::UnixStream::connect(&path).ok()
    });
    let mut w = sock.try_clone().unwrap();
    let mut r = BufReader::new(sock);
    let mut send = |line: &str| {
        writeln!(w, "{line}").unwrap();
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap();
    };
    send("press 1"); // edit mode; the indicator overlay animates the selected zone
    send("press 1"); // …and off again, so frames change only with the knob
    let mut lat = Vec::with_capacity(COMMANDS);
    let hue = |p: [u8; 3]| diuna::color::Rgb::new(p[0], p[1], p[2]).to_hsv().0;
    let mut last =
        hue(support::wait_for(Duration::from_secs(5), "first frame", || cap.last("a")).pixel(0));
    for i in 0..COMMANDS + 20 {
        // Edit mode on, one detent, edit mode off: the hue moves 10° each round.
        send("press 1");
        let sent = now_us();
        send("turn modulator 1");
        let deadline = Instant::now() + Duration::from_secs(5);
        let t = loop {
            cap.poll();
            // The first frame after `sent` whose hue moved (the indicator only scales the colour).
            let moved = |f: &&support::CapturedFrame| {
                let d = (hue(f.pixel(0)) - last).rem_euclid(360.0);
                f.t_us >= sent && (5.0..=15.0).contains(&d)
            };
            let recent = cap.frames.len().saturating_sub(32);
            if let Some(f) = cap.frames[recent..].iter().find(moved).cloned() {
                last = hue(f.pixel(0));
                break f.t_us;
            }
            assert!(
                Instant::now() < deadline,
                "input {i} never reached the strip"
            );
            std::thread::sleep(Duration::from_micros(200));
        };
        send("press 1");
        std::thread::sleep(
            Duration::from_millis(12) + Duration::from_micros((i as u64 * 7919) % 16_667),
        );
        if i >= 20 {
            lat.push(t.saturating_sub(sent) as f64 / 1000.0);
        }
    }
    lat
}

fn report(name: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| {
        v[((v.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(v.len() - 1)]
    };
    println!(
        "{name:<10} n={} p50={:.2} ms p99={:.2} ms max={:.2} ms mean={:.2} ms",
        v.len(),
        p(0.5),
        p(0.99),
        v[v.len() - 1],
        v.iter().sum::<f64>() / v.len() as f64
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "command latency: MQTT publish → frame start on the simulated wire (Mosquitto on loopback)"
    );
    report("idle", run(false));
    report("animating", run(true));
    println!("input latency: simulated modulator detent → frame start on the simulated wire");
    report("input", run_input());
}
