//! The physical layout: strips (one GPIO data line each) and the zones laid out on them.
//!
//! Zones on a strip follow each other in config order from pixel 0, so the strip length is the sum of its
//! zones and gaps or overlaps cannot be expressed. This module owns the one mapping from a zone's logical
//! pixel to a physical index on its strip (honouring `reversed`); `timing` owns each driver's wire time.

pub mod timing;

use std::path::PathBuf;
use std::time::Duration;

pub use timing::{FrameTiming, PIXEL_WIRE_TIME};

/// Which back-end drives a strip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Driver {
    /// Simulated strip: wire timing, capture file, terminal preview.
    #[default]
    Sim,
    /// The rpi_ws281x C library through `rs_ws281x` (PWM, PCM or SPI; cargo feature `hardware`).
    Ws281x,
    /// Pure-Rust SPI: each WS281x bit becomes four SPI bits on `/dev/spidevB.C` (any Pi, Pi 5 included).
    Spi,
    /// The Pi 5's kernel driver (`dtoverlay=ws2812-pio`) behind `/dev/ledsN`.
    Pio,
}

impl Driver {
    /// The spelling in the config file.
    pub fn parse(s: &str) -> Option<Driver> {
        match s {
            "sim" => Some(Driver::Sim),
            "ws281x" => Some(Driver::Ws281x),
            "spi" => Some(Driver::Spi),
            "pio" => Some(Driver::Pio),
            _ => None,
        }
    }

    /// The config spelling, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Sim => "sim",
            Driver::Ws281x => "ws281x",
            Driver::Spi => "spi",
            Driver::Pio => "pio",
        }
    }
}

/// The LED chip family, which fixes the default latch (reset) time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedType {
    Ws2811,
    Ws2812,
    Ws2813,
    Sk6812,
}

impl LedType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ws2811" => Some(Self::Ws2811),
            "ws2812" | "ws2812b" => Some(Self::Ws2812),
            "ws2813" => Some(Self::Ws2813),
            "sk6812" => Some(Self::Sk6812),
            _ => None,
        }
    }

    /// Latch time the chip needs between frames (newer chips need 280 µs).
    pub fn default_reset(self) -> Duration {
        match self {
            LedType::Ws2811 => Duration::from_micros(50),
            LedType::Sk6812 => Duration::from_micros(80),
            LedType::Ws2812 | LedType::Ws2813 => Duration::from_micros(280),
        }
    }
}

/// Order in which a strip expects the three colour bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorOrder {
    Rgb,
    Rbg,
    Grb,
    Gbr,
    Brg,
    Bgr,
}

impl ColorOrder {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "RGB" => Some(Self::Rgb),
            "RBG" => Some(Self::Rbg),
            "GRB" => Some(Self::Grb),
            "GBR" => Some(Self::Gbr),
            "BRG" => Some(Self::Brg),
            "BGR" => Some(Self::Bgr),
            _ => None,
        }
    }

    /// Arranges logical (r, g, b) into wire order.
    #[inline]
    pub fn to_wire(self, r: u8, g: u8, b: u8) -> [u8; 3] {
        match self {
            ColorOrder::Rgb => [r, g, b],
            ColorOrder::Rbg => [r, b, g],
            ColorOrder::Grb => [g, r, b],
            ColorOrder::Gbr => [g, b, r],
            ColorOrder::Brg => [b, r, g],
            ColorOrder::Bgr => [b, g, r],
        }
    }

    /// Inverse of [`ColorOrder::to_wire`]: wire bytes back to logical (r, g, b).
    #[inline]
    pub fn from_wire(self, w: [u8; 3]) -> [u8; 3] {
        match self {
            ColorOrder::Rgb => [w[0], w[1], w[2]],
            ColorOrder::Rbg => [w[0], w[2], w[1]],
            ColorOrder::Grb => [w[1], w[0], w[2]],
            ColorOrder::Gbr => [w[2], w[0], w[1]],
            ColorOrder::Brg => [w[1], w[2], w[0]],
            ColorOrder::Bgr => [w[2], w[1], w[0]],
        }
    }
}

/// One output chain, validated.
#[derive(Clone, Debug)]
pub struct StripSpec {
    pub id: String,
    pub driver: Driver,
    /// Sim only: the driver whose wire timing the simulator stands in for (`None`: an ideal wire).
    pub emulate: Option<Driver>,
    /// `spi`: the spidev node (default from `gpio`); `pio`: the `/dev/ledsN` node.
    pub device: Option<PathBuf>,
    pub gpio: u8,
    /// The ws281x controller's DMA channel (one for all ws281x strips; validated in `config`).
    pub dma: u8,
    pub led_type: LedType,
    pub color_order: ColorOrder,
    pub frequency: u32,
    pub invert: bool,
    pub gamma: f32,
    /// Power budget in mA; 0 = unlimited.
    pub max_current_ma: u32,
    pub ma_per_channel: f32,
    pub reset: Duration,
    /// Sim only: append every shown frame to this file.
    pub capture: Option<PathBuf>,
    /// Pixel count: the sum of its zones.
    pub len: usize,
}

impl Default for StripSpec {
    /// A simulated 0-pixel WS2812 strip on GPIO 18 (tests fill in what they need).
    fn default() -> Self {
        StripSpec {
            id: String::new(),
            driver: Driver::Sim,
            emulate: None,
            device: None,
            gpio: 18,
            dma: 10,
            led_type: LedType::Ws2812,
            color_order: ColorOrder::Grb,
            frequency: 800_000,
            invert: false,
            gamma: 2.2,
            max_current_ma: 0,
            ma_per_channel: 20.0,
            reset: LedType::Ws2812.default_reset(),
            capture: None,
            len: 0,
        }
    }
}

impl StripSpec {
    /// The driver whose timing this strip has: its own, or the one a simulated strip stands in for.
    pub fn timing_driver(&self) -> Option<Driver> {
        match self.driver {
            Driver::Sim => self.emulate,
            d => Some(d),
        }
    }

    /// Wire bytes per pixel (3 for RGB strips).
    pub fn bytes_per_pixel(&self) -> usize {
        3
    }

    /// Time one frame occupies the wire, latch included, if this strip were alone on its driver.
    pub fn wire_time(&self) -> Duration {
        timing::strip_time(self, self.len)
    }

    /// The physical frame-rate limit of this strip alone.
    pub fn max_fps(&self) -> f64 {
        1.0 / self.wire_time().as_secs_f64()
    }
}

/// One zone, validated, with its place on the strip.
#[derive(Clone, Debug)]
pub struct ZoneSpec {
    pub id: String,
    pub name: String,
    pub strip: usize,
    pub start: usize,
    pub len: usize,
    pub reversed: bool,
}

impl ZoneSpec {
    /// Physical index on the strip of logical pixel `i` of this zone.
    #[inline]
    pub fn physical(&self, i: usize) -> usize {
        if self.reversed {
            self.start + self.len - 1 - i
        } else {
            self.start + i
        }
    }
}

/// Strips and zones together.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub strips: Vec<StripSpec>,
    pub zones: Vec<ZoneSpec>,
}

impl Layout {
    pub fn zone_index(&self, id: &str) -> Option<usize> {
        self.zones.iter().position(|z| z.id == id)
    }

    pub fn total_pixels(&self) -> usize {
        self.strips.iter().map(|s| s.len).sum()
    }

    /// How long showing a frame keeps the output thread busy when the `dirty` strips changed.
    pub fn frame_time(&self, dirty: &[bool]) -> Duration {
        FrameTiming::new(self).frame_time(dirty)
    }

    /// The physical frame-rate limit: every strip changed, each driver's real wire time.
    pub fn max_fps(&self) -> f64 {
        let all = vec![true; self.strips.len()];
        1.0 / self.frame_time(&all).as_secs_f64().max(1e-9)
    }

    /// Human-readable zone map, as `--check-config` prints it.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (si, s) in self.strips.iter().enumerate() {
            out.push_str(&format!(
                "strip {:<10} driver={}{} gpio={} {:?} {:?} pixels={} wire={}µs max_fps={:.0}\n",
                s.id,
                s.driver.name(),
                match (s.driver, s.emulate, &s.device) {
                    (Driver::Sim, Some(e), _) => format!(" emulate={}", e.name()),
                    (Driver::Ws281x, ..) => format!(" dma={}", s.dma),
                    (_, _, Some(d)) => format!(" device={}", d.display()),
                    _ => String::new(),
                },
                s.gpio,
                s.led_type,
                s.color_order,
                s.len,
                s.wire_time().as_micros(),
                s.max_fps()
            ));
            for z in self.zones.iter().filter(|z| z.strip == si) {
                out.push_str(&format!(
                    "  zone {:<12} {:<20} pixels {:>4}..{:<4} ({:>3}){}\n",
                    z.id,
                    format!("\"{}\"", z.name),
                    z.start,
                    z.start + z.len - 1,
                    z.len,
                    if z.reversed { " reversed" } else { "" }
                ));
            }
        }
        if self.strips.len() > 1 {
            let all = vec![true; self.strips.len()];
            out.push_str(&format!(
                "frame (all strips) {}µs max_fps={:.0}\n",
                self.frame_time(&all).as_micros(),
                self.max_fps()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(start: usize, len: usize, reversed: bool) -> ZoneSpec {
        ZoneSpec {
            id: "z".into(),
            name: "Z".into(),
            strip: 0,
            start,
            len,
            reversed,
        }
    }

    #[test]
    fn forward_and_reversed_mapping() {
        let z = zone(10, 5, false);
        assert_eq!(
            (0..5).map(|i| z.physical(i)).collect::<Vec<_>>(),
            [10, 11, 12, 13, 14]
        );
        let r = zone(10, 5, true);
        assert_eq!(
            (0..5).map(|i| r.physical(i)).collect::<Vec<_>>(),
            [14, 13, 12, 11, 10]
        );
    }

    #[test]
    fn colour_order_round_trips() {
        let all = ["RGB", "RBG", "GRB", "GBR", "BRG", "BGR"];
        for name in all {
            let o = ColorOrder::parse(name).unwrap();
            let w = o.to_wire(1, 2, 3);
            assert_eq!(o.from_wire(w), [1, 2, 3], "{name}");
            // The wire bytes spell the order's name.
            let letters: String = w
                .iter()
                .map(|b| match b {
                    1 => 'R',
                    2 => 'G',
                    _ => 'B',
                })
                .collect();
            assert_eq!(letters, name);
        }
        assert_eq!(ColorOrder::parse("grb"), Some(ColorOrder::Grb));
        assert_eq!(ColorOrder::parse("RGBW"), None);
    }

    #[test]
    fn wire_time_and_limit() {
        let s = StripSpec {
            id: "s".into(),
            len: 300,
            ..StripSpec::default()
        };
        assert_eq!(s.wire_time(), Duration::from_micros(9000 + 280));
        assert!((s.max_fps() - 107.76).abs() < 0.01);
    }
}
