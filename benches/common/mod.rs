//! What the latency benches share (`benches/latency.rs`, `benches/perf.rs`): the latency layout, and
//! the publish → frame measurement loop through a real broker.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{Capture, TestClient};

/// Commands sent before measuring, to warm up the connection.
pub const WARMUP: usize = 20;

/// Wall-clock µs, comparable with the capture's `t_us`.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// A 10-pixel static target zone on captured strip `a`, and a 290-pixel zone on strip `b` that runs
/// `rainbow` when `animated`.
pub fn latency_config(port: u16, animated: bool) -> String {
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

/// Publishes `commands` colour commands (after [`WARMUP`]) to the target zone and returns each one's
/// latency in ms: the capture's frame start minus the time just before `publish`. `log` is shown when a
/// command never reaches the strip.
pub fn publish_latency(
    c: &TestClient,
    cap: &mut Capture,
    commands: usize,
    log: impl Fn() -> String,
) -> Vec<f64> {
    let mut lat = Vec::with_capacity(commands);
    for i in 0..commands + WARMUP {
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
                "command {i} never reached the strip; daemon log:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_micros(200));
        };
        // Let that frame (and any frame of the busy strip) latch before the next command, so each
        // sample measures the command path, not a queue behind the previous command's wire time; a
        // pseudo-random extra 0–16.7 ms puts commands at every phase of the 60 FPS schedule.
        std::thread::sleep(
            Duration::from_millis(12) + Duration::from_micros((i as u64 * 7919) % 16_667),
        );
        if i >= WARMUP {
            lat.push(t.saturating_sub(sent) as f64 / 1000.0);
        }
        if cap.frames.len() > 4096 {
            cap.frames.drain(..4000);
        }
    }
    lat
}
