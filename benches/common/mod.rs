//! What the latency benches share (`benches/latency.rs`, `benches/perf.rs`): the latency layout, and
//! the publish → frame measurement at a fixed command rate through a real broker.
//!
//! Commands are colours for a 10-pixel static zone on the captured strip `a`; command `i` carries the
//! colour that encodes `i + 1`, so every frame of the capture says which command it shows. Latency of
//! command `i` is the start of the first frame that shows command `i` *or a later one* (at 200 commands/s
//! and 60 FPS a frame can only show the latest) minus the wall-clock time just before `publish`.
#![allow(dead_code)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::QoS;

use crate::support::{Capture, CapturedFrame, TestClient};
use crate::testconfig::TestConfig;

pub mod daemon;
pub mod floor_client;
pub mod floor_stack;

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
    latency_builder(port, animated).build()
}

/// [`latency_config`] still to be changed (the input bench adds the simulated knob).
pub fn latency_builder(port: u16, animated: bool) -> TestConfig {
    let busy: &[&str] = if animated {
        &["effect = \"rainbow\""]
    } else {
        &[]
    };
    TestConfig::new("bench")
        .top("fps = 60")
        .mqtt(port)
        .strip("a")
        .zone("target", "a", 10, [0, 0, 0])
        .strip_keys("b", &["gpio = 19", "gamma = 1.0"])
        .zone_with("busy", "b", 290, [255, 0, 0], busy)
}

/// How one run sends its commands.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Commands per second (the schedule is absolute: no drift, no catch-up bursts).
    pub rate: f64,
    /// Measured commands (after [`WARMUP`]).
    pub commands: usize,
    /// The publisher's QoS (Home Assistant with our discovery publishes at 1; `mosquitto_pub` at 0).
    pub qos: QoS,
    /// After every command, send it once more (a command that changes nothing), half a period later;
    /// only the changing commands are measured.
    pub repeat: bool,
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Per measured command, ms (sorted).
    pub latency: Vec<f64>,
    /// Measured commands that appeared in at least one frame (the rest were superseded by a later one
    /// before the next frame).
    pub shown: usize,
}

/// One frame interval at 60 FPS plus 2 ms: a command not visible by then left a frame period showing
/// an older command than the latest.
pub const FRAME_PLUS_2_MS: f64 = 1000.0 / 60.0 + 2.0;

impl Outcome {
    pub fn pct(&self, q: f64) -> f64 {
        let v = &self.latency;
        v[((v.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(v.len() - 1)]
    }

    pub fn max(&self) -> f64 {
        self.latency.last().copied().unwrap_or(f64::NAN)
    }

    /// Commands not visible within one frame + 2 ms.
    pub fn late(&self) -> usize {
        self.latency
            .iter()
            .filter(|&&v| v > FRAME_PLUS_2_MS)
            .count()
    }

    pub fn summary(&self) -> String {
        format!(
            "p50 {:.2} p99 {:.2} max {:.2} ms, n={}, shown {}, late {}",
            self.pct(0.5),
            self.pct(0.99),
            self.max(),
            self.latency.len(),
            self.shown,
            self.late()
        )
    }
}

/// The colour of command `i`: `i + 1` in 24 bits, never black.
fn colour(i: usize) -> [u8; 3] {
    let k = i as u32 + 1;
    [(k >> 16) as u8, (k >> 8) as u8, k as u8]
}

fn index(rgb: [u8; 3]) -> Option<usize> {
    let k = (rgb[0] as usize) << 16 | (rgb[1] as usize) << 8 | rgb[2] as usize;
    k.checked_sub(1)
}

fn payload(i: usize) -> String {
    let [r, g, b] = colour(i);
    format!(r#"{{"color":{{"r":{r},"g":{g},"b":{b}}}}}"#)
}

/// Sends the commands of `pace` to the target zone on an absolute schedule and returns when each was
/// sent (wall-clock µs), by command index. At rates of 1 command/s and below, a pseudo-random extra
/// 0–16.7 ms puts commands at every phase of the 60 FPS schedule.
pub fn send(c: &TestClient, pace: Pace) -> Vec<u64> {
    let total = pace.commands + WARMUP;
    let period = Duration::from_secs_f64(1.0 / pace.rate);
    let jitter = |i: usize| match pace.rate <= 1.0 {
        true => Duration::from_micros((i as u64 * 7919) % 16_667),
        false => Duration::ZERO,
    };
    let t0 = Instant::now() + Duration::from_millis(50);
    let mut sent = Vec::with_capacity(total);
    for i in 0..total {
        sleep_until(t0 + period * i as u32 + jitter(i));
        sent.push(now_us());
        c.publish_qos("diuna/bench/target/set", payload(i), pace.qos);
        if pace.repeat {
            sleep_until(t0 + period * i as u32 + period / 2);
            c.publish_qos("diuna/bench/target/set", payload(i), pace.qos);
        }
    }
    sent
}

fn sleep_until(t: Instant) {
    if let Some(w) = t.checked_duration_since(Instant::now()) {
        std::thread::sleep(w);
    }
}

/// Reads the capture until the last command is on the wire (bounded), and measures every command.
pub fn measure(cap: &mut Capture, sent: &[u64], log: impl Fn() -> String) -> Outcome {
    let last = sent.len() - 1;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cap
        .frames
        .iter()
        .rev()
        .take(4)
        .any(|f| index(f.pixel(0)) == Some(last))
    {
        assert!(
            Instant::now() < deadline,
            "the last command never reached the strip; daemon log:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(5));
        cap.poll();
    }
    analyse(&cap.frames, sent)
}

/// Latency and "shown" of every command after the warm-up, from the frames of strip `a`.
pub fn analyse(frames: &[CapturedFrame], sent: &[u64]) -> Outcome {
    let shows: Vec<(u64, usize)> = frames
        .iter()
        .filter(|f| f.strip == "a")
        .filter_map(|f| Some((f.t_us, index(f.pixel(0))?)))
        .filter(|(_, i)| *i < sent.len())
        .collect();
    let mut out = Outcome::default();
    let mut from = 0;
    for (i, &t) in sent.iter().enumerate().skip(WARMUP) {
        while from < shows.len() && shows[from].0 < t {
            from += 1;
        }
        let Some(&(at, _)) = shows[from..].iter().find(|(_, k)| *k >= i) else {
            continue;
        };
        out.latency.push(at.saturating_sub(t) as f64 / 1000.0);
        out.shown += shows[from..].iter().any(|(_, k)| *k == i) as usize;
    }
    out.latency.sort_by(|a, b| a.total_cmp(b));
    out
}
