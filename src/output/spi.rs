//! The `spi` driver: WS281x over a Linux spidev node, in pure Rust (no C library, no root: membership of
//! the `spi` group is enough). It works on every Pi, the Pi 5 included (RP1's SPI controllers).
//!
//! Encoding: every data bit, most significant first, becomes four SPI bits — `0` → `1000`, `1` → `1110` —
//! so each SPI byte carries exactly two data bits and ends low. At the 3.3 MHz this driver asks for
//! ([`spi_clock_hz`]) a symbol is ~303 ns: T0H ≈ 0.30 µs, T0L ≈ 0.91 µs, T1H ≈ 0.91 µs, T1L ≈ 0.30 µs,
//! inside the WS2812B windows for the clocks the kernel really produces (it rounds the divider up:
//! 3.29 MHz on a Pi 3/4 with a pinned core clock, 3.23 MHz on RP1). Because a byte ends on a low
//! symbol, the idle bit some controllers insert between DMA bytes (rpi_ws281x #499, Pi 4) only
//! stretches a low phase. After the data the transfer carries `reset` worth of low bytes, so the
//! latch does not depend on the idle level of MOSI.
//!
//! A frame is one `SPI_IOC_MESSAGE` ioctl, which the kernel refuses above `spidev.bufsiz` (4096 bytes by
//! default): splitting it would put gaps mid-frame, so the preflight checks the size instead and names
//! the `cmdline.txt` fix. The wire bytes are opaque: 3 or 4 (RGBW) per pixel, already in wire order.
//!
//! The SPI clock of a Pi 0–4 comes from the VideoCore core clock, which must be pinned
//! (`core_freq=250` on a Pi 3 / Zero, `core_freq=500` + `core_freq_min=500` on a Pi 4); the Pi 5's RP1
//! has its own fixed clock. See deploy/RASPBERRY-PI.md.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::timing::{spi_clock_hz, spi_reset_bytes};
use crate::layout::{Driver, Layout};

/// SPI bytes for two data bits: the pair `b1 b0` → `[b1's 4 bits][b0's 4 bits]`.
const PAIR: [u8; 4] = [0b1000_1000, 0b1000_1110, 0b1110_1000, 0b1110_1110];

/// Encodes `wire` (data bytes in wire order) and then `reset_bytes` low bytes into `out`, which must hold
/// `wire.len() * 4 + reset_bytes` bytes; returns that length. Pure: the test decodes it back.
pub fn encode(wire: &[u8], reset_bytes: usize, out: &mut [u8]) -> usize {
    let data = wire.len() * 4;
    for (byte, spi) in wire.iter().zip(out.chunks_exact_mut(4)) {
        for (k, o) in spi.iter_mut().enumerate() {
            *o = PAIR[((byte >> (6 - 2 * k)) & 0b11) as usize];
        }
    }
    out[data..data + reset_bytes].fill(0);
    data + reset_bytes
}

/// `struct spi_ioc_transfer` from `<linux/spi/spidev.h>`.
#[repr(C)]
#[derive(Default)]
struct SpiIocTransfer {
    tx_buf: u64,
    rx_buf: u64,
    len: u32,
    speed_hz: u32,
    delay_usecs: u16,
    bits_per_word: u8,
    cs_change: u8,
    tx_nbits: u8,
    rx_nbits: u8,
    word_delay_usecs: u8,
    pad: u8,
}

/// `_IOW('k', nr, size)` in the generic Linux ioctl encoding (ARM, arm64, x86).
const fn iow(nr: u64, size: u64) -> u64 {
    (1 << 30) | (size << 16) | ((b'k' as u64) << 8) | nr
}
const SPI_IOC_MESSAGE_1: u64 = iow(0, std::mem::size_of::<SpiIocTransfer>() as u64);
const SPI_IOC_WR_MODE: u64 = iow(1, 1);
const SPI_IOC_WR_BITS_PER_WORD: u64 = iow(3, 1);
const SPI_IOC_WR_MAX_SPEED_HZ: u64 = iow(4, 4);

fn ioctl<T>(file: &File, request: u64, arg: *const T) -> std::io::Result<()> {
    // SAFETY: `request` is one of the spidev requests above and `arg` points at the value (or the
    // transfer, whose buffer outlives the call) of the size the request encodes.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// One SPI strip: its device, its layout index and its transfer buffer (allocated once).
struct SpiStrip {
    index: usize,
    id: String,
    file: File,
    speed_hz: u32,
    reset_bytes: usize,
    buf: Vec<u8>,
}

/// Every `driver = "spi"` strip of a layout, written one after another.
pub struct SpiOutput {
    strips: Vec<SpiStrip>,
}

impl SpiOutput {
    /// Opens and sets up every spi strip's device (mode 0, 8-bit words, [`spi_clock_hz`]).
    pub fn open(layout: &Layout) -> Result<SpiOutput, OutputError> {
        let mut strips = Vec::new();
        for (index, s) in layout.strips.iter().enumerate() {
            if s.driver != Driver::Spi {
                continue;
            }
            let path = s.device.as_deref().unwrap_or(Path::new("/dev/spidev0.0"));
            let fail = |what: &str, e: std::io::Error| {
                OutputError::Open(format!(
                    "strip \"{}\": {what} {}: {e}",
                    s.id,
                    path.display()
                ))
            };
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| fail("cannot open", e))?;
            let speed_hz = spi_clock_hz(s.frequency);
            ioctl(&file, SPI_IOC_WR_MODE, &0u8).map_err(|e| fail("SPI mode 0 on", e))?;
            ioctl(&file, SPI_IOC_WR_BITS_PER_WORD, &8u8).map_err(|e| fail("8-bit words on", e))?;
            ioctl(&file, SPI_IOC_WR_MAX_SPEED_HZ, &speed_hz).map_err(|e| fail("clock on", e))?;
            let reset_bytes = spi_reset_bytes(s.reset, s.frequency);
            let data = s.len * s.bytes_per_pixel() * 4;
            strips.push(SpiStrip {
                index,
                id: s.id.clone(),
                file,
                speed_hz,
                reset_bytes,
                buf: vec![0; data + reset_bytes],
            });
        }
        Ok(SpiOutput { strips })
    }
}

impl SpiStrip {
    /// Sends one frame; blocks for its wire time.
    fn send(&mut self, wire: &[u8]) -> Result<(), OutputError> {
        if wire.len() * 4 + self.reset_bytes != self.buf.len() {
            return Err(OutputError::Write {
                strip: self.id.clone(),
                reason: format!(
                    "{} wire bytes do not match the {}-byte SPI buffer sized at start",
                    wire.len(),
                    self.buf.len()
                ),
            });
        }
        let len = encode(wire, self.reset_bytes, &mut self.buf);
        let transfer = SpiIocTransfer {
            tx_buf: self.buf.as_ptr() as u64,
            len: len as u32,
            speed_hz: self.speed_hz,
            bits_per_word: 8,
            ..SpiIocTransfer::default()
        };
        ioctl(&self.file, SPI_IOC_MESSAGE_1, &transfer).map_err(|e| OutputError::Write {
            strip: self.id.clone(),
            reason: match e.raw_os_error() {
                Some(libc::EMSGSIZE) => format!(
                    "{len}-byte SPI transfer refused (EMSGSIZE): raise spidev.bufsiz in cmdline.txt"
                ),
                _ => format!("SPI transfer: {e}"),
            },
        })
    }
}

impl OutputDevice for SpiOutput {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        for s in &mut self.strips {
            if frame.dirty[s.index] {
                s.send(&frame.strips[s.index])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
