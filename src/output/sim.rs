//! The simulated strip back-end: the wire's timing, an optional capture file and the terminal preview.
//!
//! Each shown frame occupies the simulated wire for `pixels × 30 µs + reset`, exactly as a real chain
//! would, so frame-rate limits and backpressure behave as on a Pi. With `capture = "path"` every shown
//! frame is appended as one JSON line `{"t_us", "strip", "rgb"}` (wire bytes in wire order, hex) — the
//! black-box view tests and benchmarks use.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::preview::Preview;
use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::Layout;

struct SimStrip {
    id: String,
    wire_time: Duration,
    capture: Option<BufWriter<File>>,
}

/// All simulated strips of a layout (strips with another driver are skipped).
pub struct SimOutput {
    strips: Vec<Option<SimStrip>>,
    line: String,
    preview: Option<Preview>,
}

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
                wire_time: s.wire_time(),
                capture,
            }));
        }
        let max_len = layout.strips.iter().map(|s| s.len).max().unwrap_or(0);
        Ok(SimOutput {
            strips,
            line: String::with_capacity(64 + max_len * 6),
            preview: preview.then(|| Preview::new(layout)),
        })
    }
}

impl OutputDevice for SimOutput {
    fn show(&mut self, frame: &OutFrame, start: SystemTime) -> Result<(), OutputError> {
        let began = Instant::now();
        let t_us = start
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let mut busy = Duration::ZERO;
        for (i, strip) in self.strips.iter_mut().enumerate() {
            let Some(strip) = strip else { continue };
            if !frame.dirty[i] {
                continue;
            }
            busy = busy.max(strip.wire_time);
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
        // The simulated wire is busy until the longest changed strip has latched.
        if let Some(rest) = busy.checked_sub(began.elapsed()) {
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
