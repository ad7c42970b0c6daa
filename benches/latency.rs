//! Command latency through a real broker: MQTT publish → the frame on the simulated strip's wire, over
//! ≥ 500 commands, with the daemon idle and with every other zone animating.
//! Run: `cargo bench --bench latency` (needs mosquitto). Prints p50/p99/max in milliseconds.

#[path = "../tests/it/support.rs"]
mod support;

mod common;

use std::time::{Duration, Instant};

use common::{latency_config, now_us, publish_latency};
use support::{Broker, Capture, Daemon, TestClient};

const COMMANDS: usize = 600;

fn run(animated: bool) -> Vec<f64> {
    let broker = Broker::start();
    let d = Daemon::start(&latency_config(broker.port, animated));
    let mut cap = Capture::new(&d.path("a.jsonl"));
    let mut c = TestClient::connect(broker.port, "bench", &["diuna/bench/availability"]);
    c.wait_topic("diuna/bench/availability", |m| m.text() == "online");
    publish_latency(&c, &mut cap, COMMANDS, || d.log())
}

/// Input → LED: a modulator detent on the simulated knob (edit mode, hue target) → the changed frame.
fn run_input() -> Vec<f64> {
    use std::io::{BufRead, BufReader, Write};
    let broker = Broker::start();
    let toml = latency_config(broker.port, false).replacen(
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
