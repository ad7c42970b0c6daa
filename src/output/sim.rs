//! The simulated strip back-end: the wire's timing, an optional capture file and the terminal preview.
//!
//! Each shown frame occupies the simulated wire as long as the real driver would keep the output thread
//! busy (`layout::timing`: an ideal wire of 30 µs per RGB pixel + reset, or with `emulate = "spi" |
//! "pio" | "ws281x"` that driver's own figure), so frame-rate limits and backpressure behave as on a Pi. With `capture = "path"` every shown
//! frame is appended as one JSON line `{"t_us", "strip", "rgb"}` (wire bytes in wire order, hex) — the
//! black-box view tests and benchmarks use.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::preview::Preview;
use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::{FrameTiming, Layout};

struct SimStrip {
    id: String,
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

/// A frame picked up within this of the wire going free was queued behind the previous one.
const BACK_TO_BACK: Duration = Duration::from_millis(1);

impl SimOutput {
    /// Opens capture files (append). `preview` draws the strips in the terminal.
    pub fn new(layout: &Layout, preview: bool) -> Result<SimOutput, OutputError> {
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
                capture,
            }));
        }
        let max_len = layout.strips.iter().map(|s| s.len).max().unwrap_or(0);
        Ok(SimOutput {
            changed: vec![false; strips.len()],
            strips,
            timing: FrameTiming::new(layout),
            line: String::with_capacity(64 + max_len * 6),
            preview: preview.then(|| Preview::new(layout)),
            free_at: None,
            anchor: (Instant::now(), SystemTime::now()),
        })
    }
}

impl OutputDevice for SimOutput {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        // A frame that was waiting for the wire starts the moment the previous one has latched, not
        // when this thread woke up (sleeps overshoot by tens of µs; back to back that would add up).
        let now = Instant::now();
        let began = match self.free_at {
            Some(free) if now.saturating_duration_since(free) < BACK_TO_BACK => free,
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
                self.line.clear();
                self.line.push_str("{\"t_us\":");
                let _ = write!(self.line, "{t_us}");
                self.line.push_str(",\"strip\":\"");
                self.line.push_str(&strip.id);
                self.line.push_str("\",\"rgb\":\"");
                for b in &frame.strips[i] {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.line.push(HEX[(b >> 4) as usize] as char);
                    self.line.push(HEX[(b & 15) as usize] as char);
                }
                self.line.push_str("\"}\n");
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
        // The simulated wire is busy as long as the emulated drivers would be.
        let free = began + self.timing.frame_time(&self.changed);
        self.free_at = Some(free);
        if let Some(rest) = free.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
        Ok(())
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
