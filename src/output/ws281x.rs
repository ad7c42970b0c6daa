//! The real WS281x back-end on a Raspberry Pi, through `rs_ws281x` (cargo feature `hardware`).
//!
//! All `ws281x` strips share one controller: the C library drives PWM0 and PWM1 from one DMA engine
//! (the config makes every ws281x strip agree on `dma` and `frequency`, keeps SPI/PCM strips alone and
//! one strip per PWM channel). Colour order (and white extraction) is done by our pipeline, so the
//! library is told each strip is plain RGB (`WS2811_STRIP_RGB`) or, for a colour order with W (4 bytes
//! a pixel), plain RGBW (`SK6812_STRIP_RGBW`, W last) and gets the wire bytes as they are. It is opened
//! and used on one thread only (its controller holds raw pointers into memory the C library mapped, so
//! it is not `Send`, and need not be). `render` returns once the DMA has started, so unless another
//! strip's writes wait, that thread is the render thread ([`Placement`](super::Placement)).

use rs_ws281x::{ChannelBuilder, Controller, ControllerBuilder, StripType, WS2811Error};

use super::{OutFrame, OutputDevice, OutputError};
use crate::layout::{Driver, Layout, ws281x_channel};

/// The controller and which of our strips sits on which of its channels.
pub struct Ws281xOutput {
    controller: Controller,
    /// (our strip index, controller channel)
    channels: Vec<(usize, usize)>,
    ids: Vec<String>,
}

/// The library's layout for `bytes_per_pixel` wire bytes a pixel, all in the order our pipeline wrote
/// them.
fn strip_type(bytes_per_pixel: usize) -> StripType {
    if bytes_per_pixel == 4 {
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
        WS2811Error::HwNotSupported => {
            "rpi_ws281x does not know this board revision: use driver = \"spi\" on GPIO 10"
        }
        WS2811Error::PwmSetup => {
            "PWM is busy: add dtparam=audio=off to /boot/firmware/config.txt, put `blacklist snd_bcm2835` \
             in /etc/modprobe.d/snd-blacklist.conf and reboot"
        }
        WS2811Error::SpiSetup | WS2811Error::SpiTransfer => {
            "SPI is not available: enable it (dtparam=spi=on) and check /dev/spidev0.0"
        }
        WS2811Error::IllegalGpio => {
            "this pin cannot drive WS281x: use 18/12 (PWM0), 13/19 (PWM1), 10 (SPI) or 21 (PCM)"
        }
        WS2811Error::Dma => "DMA channel unavailable: use dma = 10 on every ws281x strip",
        _ => "see the rpi_ws281x documentation",
    };
    format!("{e}: {hint}")
}

impl Ws281xOutput {
    /// Opens the controller for the layout's ws281x strips (the preflight has run).
    pub fn open(layout: &Layout) -> Result<Ws281xOutput, OutputError> {
        let hw: Vec<usize> = (0..layout.strips.len())
            .filter(|&i| layout.strips[i].driver == Driver::Ws281x)
            .collect();
        let Some(first) = hw.first().map(|&i| &layout.strips[i]) else {
            return Err(OutputError::Open("no ws281x strip".into()));
        };
        let mut builder = ControllerBuilder::new();
        builder.freq(first.frequency).dma(first.dma as i32);
        let mut channels: Vec<(usize, usize)> = Vec::new();
        for &i in &hw {
            let s = &layout.strips[i];
            let ch = ws281x_channel(s.gpio);
            // The config refuses these; checked again because the library would hand back a null
            // channel-1 buffer in SPI/PCM mode, and leds_mut would build a slice from it.
            let alone = matches!(s.gpio, 10 | 21)
                || channels
                    .iter()
                    .any(|&(j, _)| matches!(layout.strips[j].gpio, 10 | 21));
            if channels.iter().any(|&(_, c)| c == ch) || (alone && !channels.is_empty()) {
                return Err(OutputError::Open(format!(
                    "strips[{i}].gpio: pin {} cannot share the ws281x controller with strips {:?}",
                    s.gpio,
                    channels.iter().map(|c| c.0).collect::<Vec<_>>()
                )));
            }
            builder.channel(
                ch,
                ChannelBuilder::new()
                    .pin(s.gpio as i32)
                    .count(s.len as i32)
                    .strip_type(strip_type(s.bytes_per_pixel()))
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
            let wire = &frame.strips[strip];
            let leds = self.controller.leds_mut(ch);
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
        // The strip's name is copied only when there is an error to report: nothing allocates per frame.
        let first = self.channels.first().map(|&(s, _)| s);
        // `render` starts the DMA transfer and returns: the wire runs while this thread sleeps on its
        // queue. Waiting for the end of the transfer right after it (`ws2811_wait`, a 10 µs `usleep`
        // poll for the whole wire time) would wake the thread hundreds of times per frame; the wait
        // comes before the next frame instead, where it returns at once unless frames come back to
        // back (`render` rewrites the DMA buffer before it waits itself), and in `flush`.
        self.controller
            .wait()
            .and_then(|_| self.controller.render())
            .map_err(|e| OutputError::Write {
                strip: first.map(|s| self.ids[s].clone()).unwrap_or_default(),
                reason: e.to_string(),
            })
    }

    fn flush(&mut self) {
        if let Err(e) = self.controller.wait() {
            tracing::warn!(error = %e, "waiting for the last ws281x frame failed");
        }
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
