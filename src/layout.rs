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

/// Which rpi_ws281x channel a pin is on (SPI and PCM pins run as channel 0). The config's driver rules
/// and the `ws281x` driver both need it.
pub fn ws281x_channel(gpio: u8) -> usize {
    if matches!(gpio, 13 | 19) { 1 } else { 0 }
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

/// Order of a pixel's colour bytes on the wire: a permutation of R, G and B (3 bytes per pixel), or of
/// R, G, B and W for RGBW strips (4 bytes per pixel). SK6812 RGBW strips send W last (`GRBW` is the usual
/// one; rpi_ws281x's `SK6812_STRIP_*` layouts all end in W); any position is accepted for other chips.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColorOrder {
    /// Wire position of R, G, B and W (W's is unused when `channels == 3`).
    pos: [u8; 4],
    channels: u8,
}

impl ColorOrder {
    pub const RGB: ColorOrder = ColorOrder::new([0, 1, 2, 3], 3);
    pub const GRB: ColorOrder = ColorOrder::new([1, 0, 2, 3], 3);
    pub const BRG: ColorOrder = ColorOrder::new([1, 2, 0, 3], 3);
    pub const RGBW: ColorOrder = ColorOrder::new([0, 1, 2, 3], 4);
    pub const GRBW: ColorOrder = ColorOrder::new([1, 0, 2, 3], 4);

    const fn new(pos: [u8; 4], channels: u8) -> Self {
        ColorOrder { pos, channels }
    }

    /// Parses an order such as `GRB` or `GRBW` (any case): each of R, G, B once, optionally W once.
    pub fn parse(s: &str) -> Option<Self> {
        let letters = s.as_bytes();
        let channels = letters.len();
        if !(3..=4).contains(&channels) {
            return None;
        }
        let mut pos = [u8::MAX; 4];
        for (i, c) in letters.iter().enumerate() {
            let ch = match c.to_ascii_uppercase() {
                b'R' => 0,
                b'G' => 1,
                b'B' => 2,
                b'W' => 3,
                _ => return None,
            };
            if pos[ch] != u8::MAX {
                return None;
            }
            pos[ch] = i as u8;
        }
        match channels {
            3 if pos[3] == u8::MAX => pos[3] = 3,
            4 => {}
            _ => return None,
        }
        Some(ColorOrder::new(pos, channels as u8))
    }

    /// Bytes per pixel on the wire: 3, or 4 with a white channel.
    #[inline]
    pub const fn channels(self) -> usize {
        self.channels as usize
    }

    /// Whether the order has a W byte (an RGBW strip).
    #[inline]
    pub const fn has_white(self) -> bool {
        self.channels == 4
    }

    /// Wire position of R, G, B and W.
    #[inline]
    pub fn positions(self) -> [usize; 4] {
        self.pos.map(usize::from)
    }

    /// Arranges logical `[r, g, b, w]` into wire order; only the first [`ColorOrder::channels`] bytes
    /// are meaningful.
    #[inline]
    pub fn to_wire(self, px: [u8; 4]) -> [u8; 4] {
        let mut w = [0; 4];
        for (ch, &v) in px.iter().enumerate().take(self.channels()) {
            w[self.pos[ch] as usize] = v;
        }
        w
    }

    /// Inverse of [`ColorOrder::to_wire`]: one pixel's wire bytes back to logical `[r, g, b, w]` (w = 0
    /// without a W byte). `wire` must hold at least [`ColorOrder::channels`] bytes.
    #[inline]
    pub fn from_wire(self, wire: &[u8]) -> [u8; 4] {
        let mut px = [0; 4];
        for (ch, v) in px.iter_mut().enumerate().take(self.channels()) {
            *v = wire[self.pos[ch] as usize];
        }
        px
    }
}

impl std::fmt::Display for ColorOrder {
    /// The order's name, in wire order (`GRB`, `GRBW`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut name = ['?'; 4];
        for (ch, letter) in ['R', 'G', 'B', 'W']
            .into_iter()
            .enumerate()
            .take(self.channels())
        {
            name[self.pos[ch] as usize] = letter;
        }
        name[..self.channels()]
            .iter()
            .try_for_each(|c| write!(f, "{c}"))
    }
}

impl std::fmt::Debug for ColorOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// How an RGBW strip's white LED is used (`white` in the config; see `output/pipeline.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhiteMode {
    /// W stays 0: the strip shows RGB only.
    None,
    /// The white share of each colour moves from R, G and B to the W LED: same colour, less current.
    Accurate,
    /// The white share is added on the W LED and R, G and B are kept: brighter, paler.
    Brighter,
}

impl WhiteMode {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "accurate" => Some(Self::Accurate),
            "brighter" => Some(Self::Brighter),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WhiteMode::None => "none",
            WhiteMode::Accurate => "accurate",
            WhiteMode::Brighter => "brighter",
        }
    }
}

/// Default colour temperature of an RGBW strip's white LED: "neutral white" SK6812 (warm white ones
/// are about 3000 K, cool white about 6500 K).
pub const DEFAULT_WHITE_KELVIN: u32 = 4000;

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
    /// RGBW strips: how the white LED is used ([`WhiteMode::None`] on RGB strips).
    pub white: WhiteMode,
    /// RGBW strips: colour temperature of the white LED, in kelvin.
    pub white_kelvin: u32,
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
            color_order: ColorOrder::GRB,
            white: WhiteMode::None,
            white_kelvin: DEFAULT_WHITE_KELVIN,
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

    /// Wire bytes per pixel: the colour order's channel count, 3 (RGB) or 4 (RGBW). Every driver,
    /// wire-time function and frame buffer sizes by this.
    #[inline]
    pub fn bytes_per_pixel(&self) -> usize {
        self.color_order.channels()
    }

    /// Whether the strip lights a white LED (an RGBW strip whose white mode is not `none`). Only then do
    /// its zones take an explicit white level and offer `rgbw` and `white` to Home Assistant.
    #[inline]
    pub fn uses_white(&self) -> bool {
        self.color_order.has_white() && self.white != WhiteMode::None
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

    /// How long showing a frame keeps the output busy when the `dirty` strips changed.
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
                "strip {:<10} driver={}{} gpio={} {:?} {} channels={}{} pixels={} wire={}µs max_fps={:.0}\n",
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
                s.bytes_per_pixel(),
                if s.color_order.has_white() {
                    format!(" white={}@{}K", s.white.name(), s.white_kelvin)
                } else {
                    String::new()
                },
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

    /// Every permutation of `letters`.
    fn permutations(letters: &str) -> Vec<String> {
        if letters.len() <= 1 {
            return vec![letters.to_string()];
        }
        let mut out = Vec::new();
        for (i, c) in letters.char_indices() {
            let rest = format!("{}{}", &letters[..i], &letters[i + 1..]);
            out.extend(permutations(&rest).into_iter().map(|p| format!("{c}{p}")));
        }
        out
    }

    #[test]
    fn colour_order_round_trips() {
        let all: Vec<String> = permutations("RGB")
            .into_iter()
            .chain(permutations("RGBW"))
            .collect();
        assert_eq!(all.len(), 6 + 24);
        for name in &all {
            let o = ColorOrder::parse(name).unwrap();
            assert_eq!(o.channels(), name.len(), "{name}");
            assert_eq!(o.has_white(), name.len() == 4, "{name}");
            assert_eq!(o.to_string(), *name);
            let w = o.to_wire([1, 2, 3, 4]);
            let want_w = if o.has_white() { 4 } else { 0 };
            assert_eq!(o.from_wire(&w), [1, 2, 3, want_w], "{name}");
            // The wire bytes spell the order's name.
            let letters: String = w[..o.channels()]
                .iter()
                .map(|b| ['R', 'G', 'B', 'W'][*b as usize - 1])
                .collect();
            assert_eq!(letters, *name);
        }
        assert_eq!(ColorOrder::parse("grb"), Some(ColorOrder::GRB));
        assert_eq!(ColorOrder::parse("grbw"), Some(ColorOrder::GRBW));
        // SK6812 RGBW: W is the fourth byte.
        assert_eq!(ColorOrder::GRBW.to_wire([10, 20, 30, 40]), [20, 10, 30, 40]);
        for bad in ["RGBX", "RGBWW", "RRGB", "RGW", "RG", "", "WRGBW", "RGBB"] {
            assert_eq!(ColorOrder::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn white_modes_parse() {
        assert_eq!(WhiteMode::parse("Accurate"), Some(WhiteMode::Accurate));
        assert_eq!(WhiteMode::parse("brighter"), Some(WhiteMode::Brighter));
        assert_eq!(WhiteMode::parse("none"), Some(WhiteMode::None));
        assert_eq!(WhiteMode::parse("max"), None);
        for m in [WhiteMode::None, WhiteMode::Accurate, WhiteMode::Brighter] {
            assert_eq!(WhiteMode::parse(m.name()), Some(m));
        }
    }

    #[test]
    fn wire_time_and_limit() {
        let mut s = StripSpec {
            id: "s".into(),
            len: 300,
            ..StripSpec::default()
        };
        assert_eq!(s.wire_time(), Duration::from_micros(9000 + 280));
        assert!((s.max_fps() - 107.76).abs() < 0.01);
        assert!(!s.uses_white());
        // RGBW: 32 bits per pixel, 40 µs.
        s.led_type = LedType::Sk6812;
        s.reset = LedType::Sk6812.default_reset();
        s.color_order = ColorOrder::GRBW;
        assert_eq!(s.bytes_per_pixel(), 4);
        assert_eq!(s.wire_time(), Duration::from_micros(12_000 + 80));
        assert!(!s.uses_white(), "white = none leaves W dark");
        s.white = WhiteMode::Accurate;
        assert!(s.uses_white());
    }
}
