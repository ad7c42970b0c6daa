//! Wire time: how long each driver keeps a strip (and the output) busy per frame. It bounds the
//! frame rate (`fps` is checked against it) and the simulator holds its wire busy exactly this long, so a simulated
//! strip with `emulate = "spi" | "pio" | "ws281x"` runs at the rate the real driver would.
//!
//! Every figure is sized by the strip's bytes per pixel ([`StripSpec::bytes_per_pixel`]): 3 on an RGB
//! strip, 4 on an RGBW one (32 bits a pixel on the wire). The figures come from the drivers themselves:
//! - ideal wire (plain `sim`): 8 bits per byte at `frequency` (30 µs per RGB pixel, 40 µs per RGBW
//!   pixel at 800 kHz) + `reset`.
//! - `spi`: the bytes [`spi_frame_bytes`] really sends (four SPI bits per data bit: 12 bytes per RGB
//!   pixel, 16 per RGBW pixel; then `reset` as low bytes) at [`spi_clock_hz`].
//! - `pio`: the kernel's PIO program runs at a fixed 800 kHz and shifts 24 bits per LED, 32 with the
//!   overlay's `rgbw`; after the DMA it sleeps ≥ 50 µs, we wait `reset` (≥ 50 µs by validation).
//! - `ws281x`: rpi_ws281x 1.1.0 sizes its DMA/SPI buffer for 4 colours per LED whatever the strip type
//!   (`LED_COLOURS 4`, 3 symbols per bit at 3 × `frequency`: 40 µs per LED at 800 kHz, RGB or RGBW),
//!   plus 55 µs of reset, rounded as `PWM_BYTE_COUNT` does; it also refuses to start a render sooner
//!   than the previous one's protocol time (1.25 µs per bit of `count × 3` colours, `× 4` for an
//!   `SK6812_STRIP_*W` type) + 300 µs (`LED_RESET_WAIT_TIME`). One render drives every channel, so all
//!   ws281x strips share one period, sized by the longest.
//!
//! The output shows drivers one after another, so a frame costs the sum over drivers: SPI strips
//! are written one after another (sum), PIO writes return at once and run in parallel (max), the
//! ws281x controller is one render (its period).

use std::time::Duration;

use super::{Driver, Layout, StripSpec};

/// Wire time of one RGB pixel on an ideal 800 kHz line: 24 bits × 1.25 µs (an RGBW pixel: 32 bits, 40 µs).
pub const PIXEL_WIRE_TIME: Duration = Duration::from_micros(30);

/// SPI bits per WS281x data bit in the `spi` driver's encoding.
pub const SPI_BITS_PER_BIT: usize = 4;

/// The SPI clock the `spi` driver asks for: 4 SPI bits per data bit, 3.125 % above 4 × `frequency`
/// (3.3 MHz at 800 kHz). The kernel rounds the divider up (slower), and 3.3 MHz lands inside the
/// WS2812B timing windows for every Pi's SPI clock (see `output/spi.rs`).
pub fn spi_clock_hz(frequency: u32) -> u32 {
    (frequency as u64 * 33 / 8) as u32
}

/// Low bytes the `spi` driver appends so the line stays low for at least `reset`.
pub fn spi_reset_bytes(reset: Duration, frequency: u32) -> usize {
    let bits = reset.as_nanos() * spi_clock_hz(frequency) as u128;
    bits.div_ceil(8 * 1_000_000_000) as usize
}

/// Bytes of one `spi` transfer: the encoded data and the trailing reset.
pub fn spi_frame_bytes(pixels: usize, bytes_per_pixel: usize, reset: Duration, freq: u32) -> usize {
    pixels * bytes_per_pixel * 8 * SPI_BITS_PER_BIT / 8 + spi_reset_bytes(reset, freq)
}

/// Bytes rpi_ws281x sends per channel for `pixels` LEDs (`PCM_BYTE_COUNT`; `PWM_BYTE_COUNT` per channel).
pub fn ws281x_buffer_bytes(pixels: usize, frequency: u32) -> usize {
    let reset_symbols = 55 * (frequency as u64 * 3) / 1_000_000;
    let bits = pixels as u64 * 4 * 8 * 3 + reset_symbols;
    (((bits >> 3) & !7) + 4 + 4) as usize
}

fn bits_time(bits: u64, hz: u64) -> Duration {
    Duration::from_nanos(bits * 1_000_000_000 / hz.max(1))
}

/// rpi_ws281x's render period for a controller whose longest strip has `pixels` LEDs; `protocol_bits`
/// is the largest channel's `count × colours × 8`.
fn ws281x_period(pixels: usize, protocol_bits: usize, frequency: u32) -> Duration {
    let buffer = bits_time(
        ws281x_buffer_bytes(pixels, frequency) as u64 * 8,
        frequency as u64 * 3,
    );
    // `channel->count * array_size * 8 * 1.25` µs, truncated to whole µs as the C code does.
    let gap = Duration::from_micros((protocol_bits as u64 * 5) / 4 + 300);
    buffer.max(gap)
}

/// Wire time of `s` carrying `pixels` pixels, on its own.
pub(super) fn strip_time(s: &StripSpec, pixels: usize) -> Duration {
    let bits = (pixels * s.bytes_per_pixel() * 8) as u64;
    match s.timing_driver() {
        Some(Driver::Spi) => {
            let bytes = spi_frame_bytes(pixels, s.bytes_per_pixel(), s.reset, s.frequency);
            bits_time(bytes as u64 * 8, spi_clock_hz(s.frequency) as u64)
        }
        Some(Driver::Pio) => bits_time(bits, 800_000) + s.reset,
        Some(Driver::Ws281x) => ws281x_period(pixels, bits as usize, s.frequency),
        None | Some(Driver::Sim) => bits_time(bits, s.frequency as u64) + s.reset,
    }
}

/// How strips of one driver add up within a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Combine {
    /// Written at once (PIO, the ideal simulated wire): the longest counts.
    Parallel,
    /// Written one after another (SPI): the times add.
    Sequential,
    /// One render drives every strip (the ws281x controller): one period if any changed.
    Shared,
}

/// The strips of one driver (a simulated stand-in is a driver of its own).
#[derive(Debug)]
struct Group {
    combine: Combine,
    /// (strip index, its time within this group)
    members: Vec<(usize, Duration)>,
}

/// The frame-time model of a whole layout.
#[derive(Debug)]
pub struct FrameTiming {
    groups: Vec<Group>,
}

impl FrameTiming {
    pub fn new(layout: &Layout) -> FrameTiming {
        let mut keys: Vec<(bool, Option<Driver>)> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        for (i, s) in layout.strips.iter().enumerate() {
            let key = (s.driver == Driver::Sim, s.timing_driver());
            let g = match keys.iter().position(|k| *k == key) {
                Some(g) => g,
                None => {
                    keys.push(key);
                    groups.push(Group {
                        combine: match key.1 {
                            Some(Driver::Spi) => Combine::Sequential,
                            Some(Driver::Ws281x) => Combine::Shared,
                            _ => Combine::Parallel,
                        },
                        members: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            groups[g].members.push((i, strip_time(s, s.len)));
        }
        for g in groups.iter_mut().filter(|g| g.combine == Combine::Shared) {
            let idx: Vec<usize> = g.members.iter().map(|m| m.0).collect();
            let period = shared_period(layout, &idx);
            g.members.iter_mut().for_each(|m| m.1 = period);
        }
        FrameTiming { groups }
    }

    /// Time the output is busy when the `dirty` strips changed.
    pub fn frame_time(&self, dirty: &[bool]) -> Duration {
        self.groups
            .iter()
            .map(|g| {
                let mut changed = g
                    .members
                    .iter()
                    .filter(|(i, _)| dirty.get(*i).copied().unwrap_or(false))
                    .map(|m| m.1);
                match g.combine {
                    Combine::Parallel => changed.max().unwrap_or_default(),
                    Combine::Sequential => changed.sum(),
                    Combine::Shared => changed.next().unwrap_or_default(),
                }
            })
            .sum()
    }
}

/// The period of one ws281x controller driving the strips `idx`.
fn shared_period(layout: &Layout, idx: &[usize]) -> Duration {
    let strips = || idx.iter().map(|&i| &layout.strips[i]);
    let longest = strips().map(|s| s.len).max().unwrap_or(0);
    let protocol = strips()
        .map(|s| s.len * s.bytes_per_pixel() * 8)
        .max()
        .unwrap_or(0);
    let freq = strips().map(|s| s.frequency).max().unwrap_or(800_000);
    ws281x_period(longest, protocol, freq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{ColorOrder, LedType};

    fn strip(driver: Driver, emulate: Option<Driver>, len: usize) -> StripSpec {
        StripSpec {
            driver,
            emulate,
            len,
            ..StripSpec::default()
        }
    }

    #[test]
    fn ws281x_buffer_is_12_bytes_per_led_and_40_us_per_led() {
        // PCM_BYTE_COUNT(339, 800 kHz) = 4088 fits the default spidev.bufsiz 4096; 340 LEDs do not.
        assert_eq!(ws281x_buffer_bytes(339, 800_000), 4088);
        assert_eq!(ws281x_buffer_bytes(340, 800_000), 4104);
        // 300 LEDs: 3624 bytes at 2.4 MHz = 12.08 ms (40 µs per LED), longer than 300 × 30 µs + 300 µs.
        let s = strip(Driver::Ws281x, None, 300);
        assert_eq!(s.wire_time(), Duration::from_micros(12_080));
        // 10 LEDs: the 300 µs render gap dominates: 10 × 30 + 300.
        assert_eq!(
            strip(Driver::Ws281x, None, 10).wire_time(),
            Duration::from_micros(600)
        );
    }

    #[test]
    fn spi_and_pio_are_close_to_the_ideal_wire() {
        // SPI: 300 × 12 bytes + ⌈280 µs × 3.3 MHz / 8⌉ = 3600 + 116 bytes at 3.3 MHz.
        assert_eq!(spi_reset_bytes(Duration::from_micros(280), 800_000), 116);
        let spi = strip(Driver::Spi, None, 300).wire_time();
        assert_eq!(spi, bits_time(3716 * 8, 3_300_000));
        let pio = strip(Driver::Pio, None, 300).wire_time();
        assert_eq!(pio, Duration::from_micros(9000 + 280));
        // A simulated stand-in has the same time as the driver it emulates.
        assert_eq!(strip(Driver::Sim, Some(Driver::Spi), 300).wire_time(), spi);
        assert_eq!(strip(Driver::Sim, None, 300).wire_time(), pio);
    }

    #[test]
    fn rgbw_strips_take_32_bits_a_pixel_on_every_driver() {
        let rgbw = |driver, emulate, len| StripSpec {
            color_order: ColorOrder::GRBW,
            led_type: LedType::Sk6812,
            reset: LedType::Sk6812.default_reset(),
            ..strip(driver, emulate, len)
        };
        assert_eq!(rgbw(Driver::Sim, None, 1).bytes_per_pixel(), 4);
        // Ideal wire and pio (the overlay's `rgbw` shifts 32 bits): 300 × 40 µs + 80 µs.
        let ideal = Duration::from_micros(12_000 + 80);
        assert_eq!(rgbw(Driver::Sim, None, 300).wire_time(), ideal);
        assert_eq!(rgbw(Driver::Pio, None, 300).wire_time(), ideal);
        // spi: 16 bytes a pixel + ⌈80 µs × 3.3 MHz / 8⌉ = 4800 + 33 bytes at 3.3 MHz.
        assert_eq!(
            spi_frame_bytes(300, 4, Duration::from_micros(80), 800_000),
            4833
        );
        let spi = rgbw(Driver::Spi, None, 300).wire_time();
        assert_eq!(spi, bits_time(4833 * 8, 3_300_000));
        assert_eq!(rgbw(Driver::Sim, Some(Driver::Spi), 300).wire_time(), spi);
        // ws281x: the buffer holds 4 colours per LED either way, but the render gap counts 32 bits per
        // LED: 300 × 32 × 1.25 µs + 300 µs = 12.3 ms, above the 12.08 ms buffer.
        assert_eq!(
            rgbw(Driver::Ws281x, None, 300).wire_time(),
            Duration::from_micros(12_300)
        );
        assert_eq!(
            rgbw(Driver::Ws281x, None, 10).wire_time(),
            Duration::from_micros(10 * 40 + 300)
        );
        // A controller with an RGB and an RGBW strip: the RGBW one's protocol time sets the period.
        let layout = Layout {
            strips: vec![
                strip(Driver::Ws281x, None, 300),
                rgbw(Driver::Ws281x, None, 300),
            ],
            zones: Vec::new(),
        };
        assert_eq!(
            layout.frame_time(&[true, false]),
            Duration::from_micros(12_300)
        );
    }

    #[test]
    fn a_frame_adds_drivers_and_combines_strips_per_driver() {
        let layout = Layout {
            strips: vec![
                strip(Driver::Spi, None, 100),
                strip(Driver::Spi, None, 200),
                strip(Driver::Pio, None, 100),
                strip(Driver::Pio, None, 300),
                strip(Driver::Ws281x, None, 50),
                strip(Driver::Ws281x, None, 300),
            ],
            zones: Vec::new(),
        };
        let t = |dirty: [bool; 6]| layout.frame_time(&dirty);
        let spi = |n| strip(Driver::Spi, None, n).wire_time();
        let pio = |n| strip(Driver::Pio, None, n).wire_time();
        let ws = strip(Driver::Ws281x, None, 300).wire_time();
        assert_eq!(
            t([true, true, false, false, false, false]),
            spi(100) + spi(200)
        );
        assert_eq!(t([false, false, true, true, false, false]), pio(300));
        // The short ws281x strip alone still costs the controller's period (sized by the longest).
        assert_eq!(t([false, false, false, false, true, false]), ws);
        assert_eq!(t([true; 6]), spi(100) + spi(200) + pio(300) + ws);
        assert_eq!(t([false; 6]), Duration::ZERO);
    }
}
