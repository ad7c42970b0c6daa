//! The real WS281x back-end on a Raspberry Pi, through `rs_ws281x` (cargo feature `hardware`).
//!
//! All `ws281x` strips share one controller (the C library drives PWM0 and PWM1 from one DMA engine,
//! using the first strip's `dma`). Colour order (and white extraction) is done by our pipeline, so the
//! library is told each strip is plain RGB (`WS2811_STRIP_RGB`) or plain RGBW (`SK6812_STRIP_RGBW`, 4
//! bytes a pixel, W last) and gets the wire bytes as they are. It runs only on the output thread.

use rs_ws281x::{ChannelBuilder, Controller, ControllerBuilder, StripType, WS2811Error};

use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::{Driver, Layout};

/// The controller and which of our strips sits on which of its channels.
pub struct Ws281xOutput {
    controller: Controller,
    /// (our strip index, controller channel)
    channels: Vec<(usize, usize)>,
    ids: Vec<String>,
}

// SAFETY: the controller holds raw pointers into memory the C library mapped; it is created on the
// main thread, moved once to the output thread and only ever used there (never shared).
unsafe impl Send for Ws281xOutput {}

/// Which PWM channel a pin belongs to (SPI and PCM pins run on channel 0).
fn channel_of(gpio: u8) -> usize {
    match gpio {
        13 | 19 => 1,
        _ => 0,
    }
}

/// The library's layout for `channels` wire bytes a pixel, all in the order our pipeline wrote them.
fn strip_type(channels: usize) -> StripType {
    if channels == 4 {
        StripType::Sk6812Rgbw
    } else {
        StripType::Ws2811Rgb
    }
}

/// One pixel's wire bytes (3 or 4) as the library's raw colour. `WS2811_STRIP_RGB` and
/// `SK6812_STRIP_RGBW` send bits 16..23, 8..15, 0..7 and then (RGBW) 24..31, and the raw colour is the
/// little-endian `u32`, so the bytes are `[w2, w1, w0, w3]`.
#[inline]
fn raw_led(wire: &[u8]) -> [u8; 4] {
    [wire[2], wire[1], wire[0], wire.get(3).copied().unwrap_or(0)]
}

/// A start-up error with what to do about it.
fn explain(e: WS2811Error) -> String {
    let hint = match e {
        WS2811Error::Mmap | WS2811Error::MapRegisters | WS2811Error::MemLock => {
            "cannot map /dev/mem: run as root (the systemd unit does) or check that /dev/mem exists"
        }
        WS2811Error::HwNotSupported => "this does not look like a supported Raspberry Pi",
        WS2811Error::PwmSetup => {
            "PWM is busy: disable the on-board audio (dtparam=audio=off in /boot/firmware/config.txt) and reboot"
        }
        WS2811Error::SpiSetup | WS2811Error::SpiTransfer => {
            "SPI is not available: enable it (dtparam=spi=on) and check /dev/spidev0.0"
        }
        WS2811Error::IllegalGpio => {
            "this pin cannot drive WS281x: use 18/12 (PWM0), 13/19 (PWM1), 10 (SPI) or 21 (PCM)"
        }
        WS2811Error::Dma => {
            "DMA channel unavailable: use dma = 10 (5 is used by the SD card on some models)"
        }
        _ => "see the rpi_ws281x documentation",
    };
    format!("{e}: {hint}")
}

impl Ws281xOutput {
    pub fn open(layout: &Layout) -> Result<Ws281xOutput, OutputError> {
        let problems = super::preflight::check(layout, &super::preflight::System::probe());
        if !problems.is_empty() {
            return Err(OutputError::Open(problems.join("; ")));
        }
        let hw: Vec<usize> = (0..layout.strips.len())
            .filter(|&i| layout.strips[i].driver == Driver::Ws281x)
            .collect();
        let first = &layout.strips[hw[0]];
        let mut builder = ControllerBuilder::new();
        builder.freq(first.frequency).dma(first.dma as i32);
        let mut channels = Vec::new();
        for &i in &hw {
            let s = &layout.strips[i];
            let ch = channel_of(s.gpio);
            if channels.iter().any(|&(_, c)| c == ch) {
                return Err(OutputError::Open(format!(
                    "strips[{i}].gpio: pin {} is on the same PWM channel as another strip; use one of 18/12 and one of 13/19",
                    s.gpio
                )));
            }
            builder.channel(
                ch,
                ChannelBuilder::new()
                    .pin(s.gpio as i32)
                    .count(s.len as i32)
                    .strip_type(strip_type(s.channels()))
                    .invert(s.invert)
                    .brightness(255)
                    .build(),
            );
            channels.push((i, ch));
        }
        let controller = builder.build().map_err(|e| OutputError::Open(explain(e)))?;
        Ok(Ws281xOutput {
            controller,
            channels,
            ids: layout.strips.iter().map(|s| s.id.clone()).collect(),
        })
    }
}

impl OutputDevice for Ws281xOutput {
    fn show(&mut self, frame: &OutFrame) -> Result<(), OutputError> {
        let mut any = false;
        for &(strip, ch) in &self.channels {
            if !frame.dirty[strip] {
                continue;
            }
            any = true;
            let leds = self.controller.leds_mut(ch);
            let wire = &frame.strips[strip];
            if wire.len() == leds.len() * 4 {
                for (led, w) in leds.iter_mut().zip(wire.chunks_exact(4)) {
                    *led = raw_led(w);
                }
            } else {
                for (led, w) in leds.iter_mut().zip(wire.chunks_exact(3)) {
                    *led = raw_led(w);
                }
            }
        }
        if !any {
            return Ok(());
        }
        let strip = self
            .channels
            .first()
            .map(|&(s, _)| self.ids[s].clone())
            .unwrap_or_default();
        self.controller
            .render()
            .and_then(|_| self.controller.wait())
            .map_err(|e| OutputError::Write {
                strip,
                reason: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::raw::c_uint;

    /// What the library sends for one raw colour under `t`: its bytes in shift order R, G, B (, W).
    fn sent(t: StripType, raw: [u8; 4]) -> Vec<u8> {
        let t: c_uint = t.into();
        let v = u32::from_le_bytes(raw);
        let mut shifts = vec![(t >> 16) & 0xff, (t >> 8) & 0xff, t & 0xff];
        if t & 0xf000_0000 != 0 {
            shifts.push((t >> 24) & 0xff);
        }
        shifts.iter().map(|s| (v >> s) as u8).collect()
    }

    #[test]
    fn wire_bytes_reach_the_wire_unchanged() {
        assert_eq!(sent(strip_type(3), raw_led(&[1, 2, 3])), [1, 2, 3]);
        assert_eq!(sent(strip_type(4), raw_led(&[1, 2, 3, 4])), [1, 2, 3, 4]);
    }
}
