//! The `pio` driver: the Raspberry Pi 5's kernel WS2812 driver (`dtoverlay=ws2812-pio`, RP1's PIO block),
//! reached by writing `/dev/ledsN`. No root and no C: the device node is all it needs.
//!
//! What the kernel driver (raspberrypi/linux `drivers/misc/ws2812-pio-rp1.c`) expects, read from its
//! source:
//! - a write of exactly `num_leds × 4` bytes at offset 0 (a shorter write is shown only after 50 ms, a
//!   longer one fails); each LED is a little-endian `u32` whose bytes are R, G, B, W. It sends G, R, B
//!   (then W with `rgbw`) — always GRB order, 800 kHz. Our bytes are already in the strip's wire
//!   order, so [`pack`] puts wire byte 0 where the driver reads G, byte 1 at R, byte 2 at B, byte 3 at W.
//!   An RGB strip leaves W at 0; an RGBW strip (a colour order with W: 4 wire bytes a pixel) fills it,
//!   and the preflight insists on `rgbw` in its overlay line so that the kernel sends it.
//! - the file position moves on with each `write`, so every frame is a `pwrite` at offset 0.
//! - a one-byte write at offset 0 sets its brightness; every value then goes through
//!   `gamma[value × brightness / 255]` with a fixed γ ≈ 2.22 table, except 0. Kernels with
//!   raspberrypi/linux PR #7110 (Oct 2025) pass values through untouched when brightness is 0;
//!   older ones show black. So we do not rely on it: unless the overlay itself says `brightness=0`,
//!   we set brightness 255 and send every byte through [`inverse_lut`], which undoes the kernel's
//!   curve, so our own gamma and power limit are applied once, exactly as on the other drivers.
//! - `write` returns at once and the transfer runs in a kernel worker; [`PioOutput`] keeps the wire
//!   time and waits it out before the next frame's write (or on flush), so frames never overtake the
//!   wire and the thread that shows frames does not wake a second time per frame.
//!
//! The overlay's LED count lives in the device tree (`/proc/device-tree/ws2812_pio@<gpio>/rpi,num-leds`);
//! the preflight compares it with the strip ([`Overlay`]).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::{Driver, Layout};

/// Bytes the kernel driver takes per LED, RGB or RGBW alike (`PIXEL_BYTES`).
pub const PIXEL_BYTES: usize = 4;

/// Packs one frame of wire bytes (`bpp` per pixel, wire order) into the driver's `R G B W` words, each
/// byte mapped through `lut`, so that the driver's G R B (W) output equals the wire bytes.
pub fn pack(wire: &[u8], bpp: usize, lut: &[u8; 256], out: &mut [u8]) {
    for (px, o) in wire
        .chunks_exact(bpp)
        .zip(out.chunks_exact_mut(PIXEL_BYTES))
    {
        o[0] = lut[px[1] as usize];
        o[1] = lut[px[0] as usize];
        o[2] = lut[px[2] as usize];
        o[3] = px.get(3).map_or(0, |&w| lut[w as usize]);
    }
}

/// The kernel's gamma table: `255 × (i / 255)^(1 / 0.45)`, rounded down (the driver's comment gives the
/// formula; the test checks it against values of its table).
pub fn kernel_gamma(i: u8) -> u8 {
    (255.0 * libm::pow(i as f64 / 255.0, 1.0 / 0.45) + 1e-9).floor() as u8
}

/// What the kernel sends for `value` at `brightness` (with a kernel that has no pass-through, or
/// brightness > 0).
pub fn kernel_output(brightness: u8, value: u8) -> u8 {
    if value == 0 {
        return 0;
    }
    kernel_gamma(((value as u32 * brightness as u32) / 255) as u8)
}

/// For each wanted output byte, the input that makes the kernel send the nearest value at `brightness`;
/// `None` (pass-through, `brightness=0` on a kernel with PR #7110) is the identity.
pub fn inverse_lut(brightness: Option<u8>) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (want, slot) in lut.iter_mut().enumerate() {
        *slot = match brightness {
            None => want as u8,
            Some(b) => (0..=255u8)
                .min_by_key(|&x| (kernel_output(b, x) as i32 - want as i32).abs())
                .unwrap_or(0),
        };
    }
    lut
}

/// One `ws2812-pio` overlay instance as the device tree describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlay {
    pub gpio: u32,
    pub num_leds: u32,
    pub rgbw: bool,
    /// `rpi,brightness` (255 when absent); 0 asks for pass-through.
    pub brightness: u32,
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at * 4..at * 4 + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl Overlay {
    /// Reads every `ws2812_pio@…` node under the device-tree root (`/proc/device-tree`).
    pub fn probe(root: &Path) -> Vec<Overlay> {
        let Ok(entries) = std::fs::read_dir(root) else {
            return Vec::new();
        };
        let mut found: Vec<Overlay> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("ws2812_pio"))
            .filter_map(|e| Overlay::read(&e.path()))
            .collect();
        found.sort_by_key(|o| o.gpio);
        found
    }

    /// One node: `leds-gpios` = <phandle gpio flags>, `rpi,num-leds`, `rpi,rgbw`, `rpi,brightness`.
    pub fn read(node: &Path) -> Option<Overlay> {
        let prop = |name: &str| std::fs::read(node.join(name)).ok();
        Some(Overlay {
            gpio: be_u32(&prop("leds-gpios")?, 1)?,
            num_leds: be_u32(&prop("rpi,num-leds")?, 0)?,
            rgbw: node.join("rpi,rgbw").exists(),
            brightness: prop("rpi,brightness")
                .and_then(|b| be_u32(&b, 0))
                .unwrap_or(255),
        })
    }

    /// The `config.txt` line that makes this strip's overlay.
    pub fn config_line(gpio: u8, leds: usize, rgbw: bool) -> String {
        format!(
            "dtoverlay=ws2812-pio,gpio={gpio},num_leds={leds}{}",
            if rgbw { ",rgbw" } else { "" }
        )
    }
}

/// One PIO strip: its device, layout index, wire time and buffers (allocated once).
struct PioStrip {
    index: usize,
    id: String,
    file: File,
    bpp: usize,
    wire_time: Duration,
    lut: [u8; 256],
    buf: Vec<u8>,
}

/// Every `driver = "pio"` strip of a layout.
pub struct PioOutput {
    strips: Vec<PioStrip>,
    /// When the kernel has finished sending the last frame.
    free_at: Option<Instant>,
}

impl PioOutput {
    /// Opens each strip's device and sets the kernel's brightness (255, or 0 when the overlay asks for
    /// pass-through); `overlays` come from [`Overlay::probe`] (the preflight checked they match).
    pub fn open(layout: &Layout, overlays: &[Overlay]) -> Result<PioOutput, OutputError> {
        let mut strips = Vec::new();
        for (index, s) in layout.strips.iter().enumerate() {
            if s.driver != Driver::Pio {
                continue;
            }
            let path = s.device.as_deref().unwrap_or(Path::new("/dev/leds0"));
            let fail = |e: std::io::Error| {
                OutputError::Open(format!("strip \"{}\": {}: {e}", s.id, path.display()))
            };
            let file = OpenOptions::new().write(true).open(path).map_err(fail)?;
            let passthrough = overlays
                .iter()
                .any(|o| o.gpio == s.gpio as u32 && o.brightness == 0);
            file.write_at(&[if passthrough { 0 } else { 255 }], 0)
                .map_err(fail)?;
            strips.push(PioStrip {
                index,
                id: s.id.clone(),
                file,
                bpp: s.bytes_per_pixel(),
                wire_time: s.wire_time(),
                lut: inverse_lut((!passthrough).then_some(255)),
                buf: vec![0; s.len * PIXEL_BYTES],
            });
        }
        Ok(PioOutput {
            strips,
            free_at: None,
        })
    }
}

impl OutputDevice for PioOutput {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        self.flush();
        let mut busy = Duration::ZERO;
        for s in &mut self.strips {
            if !frame.dirty[s.index] {
                continue;
            }
            pack(&frame.strips[s.index], s.bpp, &s.lut, &mut s.buf);
            let write = |e: String| OutputError::Write {
                strip: s.id.clone(),
                reason: e,
            };
            let n = s
                .file
                .write_at(&s.buf, 0)
                .map_err(|e| write(e.to_string()))?;
            if n != s.buf.len() {
                return Err(write(format!(
                    "the driver took {n} of {} bytes: the overlay's num_leds differs from the strip",
                    s.buf.len()
                )));
            }
            busy = busy.max(s.wire_time);
        }
        // The kernel sends in the background; the next frame (or `flush`) waits for the wire.
        self.free_at = Some(Instant::now() + busy);
        Ok(())
    }

    fn flush(&mut self) {
        super::wait_for_wire(self.free_at);
    }
}

#[cfg(test)]
mod tests;
