//! The simulated strip back-end: the wire's timing, an optional capture file and the terminal preview.
//!
//! Each shown frame occupies the simulated wire as long as the real driver would keep it busy
//! (`layout::timing`: an ideal wire of 30 µs per RGB pixel or 40 µs per RGBW pixel + reset, or with
//! `emulate = "spi" | "pio" | "ws281x"` that driver's own figure), so frame-rate limits and
//! backpressure behave as on a Pi. It keeps that time without sleeping through it: `show` returns once
//! the frame has started, and only a frame that comes while the wire is still busy waits (so the thread
//! showing frames wakes once per frame). A strip emulating `spi`, whose writes last the wire time, runs
//! on the output thread like the real one ([`Placement`](super::Placement)), and so does a strip with a
//! capture file. With `capture = "path"` every shown frame is appended as one JSON line — the
//! black-box view tests and benchmarks use:
//!
//! - an RGB strip: `{"t_us", "strip", "rgb"}`, 3 bytes a pixel;
//! - an RGBW strip: `{"t_us", "strip", "rgbw"}`, 4 bytes a pixel (W where the colour order puts it).
//!
//! Either way the value is the frame's wire bytes in wire order, as lower-case hex (`"ff0000…"`), and
//! `t_us` is when the frame began on the wire (µs since the Unix epoch). An RGBW frame has its own key so
//! that a reader expecting 3 bytes a pixel fails loudly instead of misreading it.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::preview::{Preview, Screen};
use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::{FrameTiming, Layout};

struct SimStrip {
    id: String,
    /// The capture key: `rgb` or `rgbw` (see the module docs).
    field: &'static str,
    capture: Option<BufWriter<File>>,
}

/// All simulated strips of a layout (strips with another driver are skipped).
pub struct SimOutput {
    strips: Vec<Option<SimStrip>>,
    /// The wire-time model, and which simulated strips changed in the frame being shown.
    timing: FrameTiming,
    changed: Vec<bool>,
    line: String,
    preview: Option<Preview>,
    /// When the simulated wire finished (or finishes) latching the last frame.
    free_at: Option<Instant>,
    /// One instant and the wall-clock time it corresponds to.
    anchor: (Instant, SystemTime),
}

impl SimOutput {
    /// Opens capture files (append). `preview` is the screen to draw the strips on.
    pub fn new(layout: &Layout, preview: Option<Arc<Screen>>) -> Result<SimOutput, OutputError> {
        let mut strips = Vec::new();
        for s in &layout.strips {
            if s.driver != crate::layout::Driver::Sim {
                strips.push(None);
                continue;
            }
            let capture = match &s.capture {
                Some(path) => Some(BufWriter::new(
                    OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| {
                            OutputError::Open(format!("capture file {}: {e}", path.display()))
                        })?,
                )),
                None => None,
            };
            strips.push(Some(SimStrip {
                id: s.id.clone(),
                field: if s.color_order.has_white() {
                    "rgbw"
                } else {
                    "rgb"
                },
                capture,
            }));
        }
        let max_len = layout.strips.iter().map(|s| s.len).max().unwrap_or(0);
        Ok(SimOutput {
            changed: vec![false; strips.len()],
            strips,
            timing: FrameTiming::new(layout),
            line: String::with_capacity(64 + max_len * 8),
            preview: preview.map(|screen| Preview::new(layout, screen)),
            free_at: None,
            anchor: (Instant::now(), SystemTime::now()),
        })
    }
}

impl OutputDevice for SimOutput {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        // A frame that comes while the wire is still busy waits for it (the only sleep: when frames
        // come faster than the wire) and starts the moment the previous one has latched, exactly, not
        // when this thread woke up (sleeps overshoot by tens of µs; back to back that would add up).
        let now = Instant::now();
        let began = match self.free_at {
            Some(free) if free > now => {
                std::thread::sleep(free - now);
                free
            }
            _ => now,
        };
        // Wall-clock time from one fixed anchor, so intervals between captured frames are exact.
        let (anchor, anchor_wall) = self.anchor;
        let t_us = (anchor_wall + began.saturating_duration_since(anchor))
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        for (i, strip) in self.strips.iter_mut().enumerate() {
            self.changed[i] = strip.is_some() && frame.dirty[i];
            let Some(strip) = strip else { continue };
            if !frame.dirty[i] {
                continue;
            }
            if let Some(w) = strip.capture.as_mut() {
                capture_line(
                    &mut self.line,
                    t_us,
                    strip.id.as_str(),
                    strip.field,
                    &frame.strips[i],
                );
                let res = w.write_all(self.line.as_bytes()).and_then(|_| w.flush());
                res.map_err(|e| OutputError::Write {
                    strip: strip.id.clone(),
                    reason: format!("capture: {e}"),
                })?;
            }
        }
        if let Some(p) = self.preview.as_mut() {
            p.update(frame);
        }
        // The simulated wire is busy as long as the emulated drivers would be; the next frame (or
        // `flush`) waits for it, this one returns now.
        self.free_at = Some(began + self.timing.frame_time(&self.changed));
        Ok(())
    }

    fn flush(&mut self) {
        super::wait_for_wire(self.free_at);
    }

    fn pending(&self) -> Option<Duration> {
        self.preview.as_ref().and_then(Preview::pending)
    }

    fn tick(&mut self) {
        if let Some(p) = self.preview.as_mut() {
            p.redraw();
        }
    }
}

/// One capture line (see the module docs) into `line`: `{"t_us":…,"strip":"…","rgb":"…"}` and a newline.
fn capture_line(line: &mut String, t_us: u128, id: &str, field: &str, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    line.clear();
    line.push_str("{\"t_us\":");
    let _ = write!(line, "{t_us}");
    line.push_str(",\"strip\":\"");
    line.push_str(id);
    line.push_str("\",\"");
    line.push_str(field);
    line.push_str("\":\"");
    for b in bytes {
        line.push(HEX[(b >> 4) as usize] as char);
        line.push(HEX[(b & 15) as usize] as char);
    }
    line.push_str("\"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn capture_keys_rgb_and_rgbw_frames_by_channels() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
        let cfg = Config::from_toml(&format!(
            "[[strips]]\nid=\"a\"\ngpio=18\ncapture=\"{}\"\n\
             [[strips]]\nid=\"b\"\ngpio=19\ndma=11\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\ncapture=\"{}\"\n\
             [[zones]]\nid=\"x\"\nstrip=\"a\"\npixels=2\n[[zones]]\nid=\"y\"\nstrip=\"b\"\npixels=2\n",
            a.display(),
            b.display()
        ))
        .unwrap();
        let mut sim = SimOutput::new(&cfg.layout, None).unwrap();
        let mut frame = OutFrame::new(&cfg.layout);
        frame.strips[0].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        frame.strips[1].copy_from_slice(&[1, 2, 3, 0xff, 5, 6, 7, 8]);
        frame.dirty.fill(true);
        sim.show(&frame).unwrap();
        let line = |p: &std::path::Path| -> serde_json::Value {
            serde_json::from_str(std::fs::read_to_string(p).unwrap().trim()).unwrap()
        };
        let (a, b) = (line(&a), line(&b));
        assert_eq!(a["strip"], "a");
        assert_eq!(a["rgb"], "010203040506", "RGB captures are unchanged");
        assert!(a.get("rgbw").is_none());
        assert_eq!(b["strip"], "b");
        assert_eq!(
            b["rgbw"], "010203ff05060708",
            "4 bytes a pixel, in wire order"
        );
        assert!(b.get("rgb").is_none());
        assert!(b["t_us"].as_u64().unwrap() > 1_600_000_000_000_000);
    }

    /// A frame shown while the wire is busy starts exactly when the previous one has latched (the
    /// thread showing frames need not sleep through a frame that nothing follows), and `flush` waits for it.
    /// The strip is long (3,000 pixels, 90 ms on the wire) so that the frames come while the wire is
    /// busy however loaded the machine: a thread preempted for longer than a short wire time between
    /// two calls would find the wire free, and rightly start later.
    #[test]
    fn a_frame_waits_for_the_wire_only_when_it_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.jsonl");
        let cfg = Config::from_toml(&format!(
            "fps=10\n[[strips]]\nid=\"a\"\ngpio=18\nled_type=\"ws2812\"\ncapture=\"{}\"\n\
             [[zones]]\nid=\"x\"\nstrip=\"a\"\npixels=3000\n",
            a.display()
        ))
        .unwrap();
        let wire = cfg.layout.strips[0].wire_time();
        let mut sim = SimOutput::new(&cfg.layout, None).unwrap();
        let mut frame = OutFrame::new(&cfg.layout);
        frame.dirty.fill(true);
        for _ in 0..3 {
            sim.show(&frame).unwrap();
        }
        sim.flush();
        let done = Instant::now();
        let t: Vec<u64> = std::fs::read_to_string(&a)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["t_us"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(t.len(), 3);
        for w in t.windows(2) {
            assert_eq!(
                w[1] - w[0],
                wire.as_micros() as u64,
                "back to back frames start one wire time apart"
            );
        }
        assert!(
            done >= sim.free_at.unwrap(),
            "flush returns after the latch"
        );
    }
}
