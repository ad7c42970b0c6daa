//! The per-strip colour pipeline at the output edge, from composed pixels to wire bytes.
//!
//! **The order, for every strip (this is the one place it is defined):**
//! brightness (zone × master, in the compositor) → gamma → white extraction (RGBW strips) → power limit
//! → colour order.
//!
//! - *Gamma* maps perceptual values to PWM duty, and an LED's light is linear in its duty. During a fade
//!   the compositor hands over each channel's fractional part (1/256 of a level, see
//!   `engine/compositor/fade.rs`) and gamma is applied to the exact value ([`GammaTable::apply_fine`]),
//!   so a long fade moves each duty by at most one step at a time; the explicit white level of an
//!   RGBW strip goes through the same curve.
//! - *White extraction* therefore runs after gamma: light adds linearly in duty, so moving the white
//!   share of R, G and B onto the W LED keeps the colour only there. Before gamma it would not: with
//!   gamma 2.2, (200, 200, 100) split into (100, 100, 0) + W 100 becomes duty (33, 33, 0) + W 33, which
//!   emits (66, 66, 33) instead of (149, 149, 33) — less than half the light. The W LED is modelled as a white of
//!   `white_kelvin` whose full duty matches a full RGB channel (the usual RGBW approximation).
//! - *Power limit* runs after extraction so it counts the current the W LED really draws (every
//!   channel, W included, is `ma_per_channel` at full duty), and scales the whole strip by one factor,
//!   which keeps every hue.
//! - *Colour order* is last. Because the limiter's factor is the same for every byte, it commutes with
//!   the order's permutation, so the code writes each pixel in wire order at once and scales the bytes
//!   afterwards: the same bytes as scaling first, one pass fewer.
//!
//! The simulator and the real drivers all get their bytes from [`StripPipeline::encode_fine`] (a strip's
//! [`Planes`]: pixels, fractions, white plane), so a capture shows exactly what the wire would carry.
//! Each combination of colour order, white mode and plane set runs its own monomorphised loop, so an RGB
//! strip with no fade running pays for neither fractions nor white. Nothing here allocates per frame.

use crate::color::{Rgb, kelvin_to_rgb};
use crate::layout::{ColorOrder, StripSpec, WhiteMode};

/// A 256-entry gamma lookup table, plus the same curve in 8.8 fixed point for inputs with a
/// fractional part (long fades: see [`GammaTable::apply_fine`]).
#[derive(Clone)]
pub struct GammaTable(pub [u8; 256], [u16; 256]);

impl GammaTable {
    pub fn new(gamma: f32) -> Self {
        let mut t = [0u8; 256];
        let mut fine = [0u16; 256];
        for (i, (v, f)) in t.iter_mut().zip(fine.iter_mut()).enumerate() {
            let y = libm::powf(i as f32 / 255.0, gamma) * 255.0;
            *v = (y + 0.5) as u8;
            *f = (y * 256.0 + 0.5) as u16;
        }
        GammaTable(t, fine)
    }

    /// Gamma of `v + frac/256` for one channel: the curve interpolated between `v` and `v + 1`, then
    /// rounded. Equal to the table when `frac` is 0; monotonic and continuous in between, so a slow
    /// fade moves the output by at most one level at a time.
    #[inline]
    pub fn apply_fine(&self, v: u8, frac: u8) -> u8 {
        if frac == 0 || v == 255 {
            return self.0[v as usize];
        }
        let (a, b) = (self.1[v as usize] as u32, self.1[v as usize + 1] as u32);
        let y = a + ((b - a) * frac as u32 + 128) / 256;
        ((y + 128) >> 8).min(255) as u8
    }

    /// The largest output step between two neighbouring inputs (how fast a fade can move the output).
    pub fn max_step(&self) -> u8 {
        self.0
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(1)
            .max(1)
    }

    #[inline]
    pub fn apply(&self, c: Rgb) -> Rgb {
        Rgb::new(
            self.0[c.r as usize],
            self.0[c.g as usize],
            self.0[c.b as usize],
        )
    }
}

/// Estimated current of a set of (post-gamma) pixels, in mA: full channel = `ma_per_channel`.
pub fn estimate_ma(channel_sum: u64, ma_per_channel: f32) -> f32 {
    channel_sum as f32 / 255.0 * ma_per_channel
}

/// The colour of a strip's white LED in duty terms (after the strip's gamma): what W at 255 adds to R,
/// G and B. The largest channel is 255.
pub fn white_point(spec: &StripSpec) -> [u8; 3] {
    let c = GammaTable::new(spec.gamma).apply(kelvin_to_rgb(spec.white_kelvin));
    [c.r, c.g, c.b]
}

/// What one encode did, for health and the "estimated current" sensor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EncodeReport {
    /// Current the frame would draw without limiting.
    pub requested_ma: f32,
    /// Scale applied by the limiter (1.0 = none).
    pub scale: f32,
}

/// Splits a (post-gamma) colour between R, G, B and the W LED of an RGBW strip.
#[derive(Clone)]
pub struct WhiteExtractor {
    mode: WhiteMode,
    /// Per channel: the most W (0–255) a duty `v` of that channel can stand for, ⌊v·255 / white⌋.
    share: [[u8; 256]; 3],
    /// Per channel: the duty that W level `x` replaces, round(x · white / 255).
    replaces: [[u8; 256]; 3],
}

impl WhiteExtractor {
    /// `white` is the W LED's colour in duty terms ([`white_point`]); (255, 255, 255) makes accurate
    /// extraction exactly W = min(R, G, B).
    pub fn new(mode: WhiteMode, white: [u8; 3]) -> Self {
        let mut share = [[0u8; 256]; 3];
        let mut replaces = [[0u8; 256]; 3];
        for ch in 0..3 {
            let wp = white[ch] as u32;
            for v in 0..256u32 {
                // A channel the W LED does not emit never limits how much W a colour holds.
                share[ch][v as usize] = (v * 255).checked_div(wp).unwrap_or(255).min(255) as u8;
                replaces[ch][v as usize] = ((v * wp + 127) / 255) as u8;
            }
        }
        WhiteExtractor {
            mode,
            share,
            replaces,
        }
    }

    /// Splits duty (r, g, b) plus an explicit white duty `w` into `[r, g, b, w]`.
    #[inline]
    pub fn split(&self, r: u8, g: u8, b: u8, w: u8) -> [u8; 4] {
        match self.mode {
            WhiteMode::None => self.split_as::<NONE>(r, g, b, w),
            WhiteMode::Accurate => self.split_as::<ACCURATE>(r, g, b, w),
            WhiteMode::Brighter => self.split_as::<BRIGHTER>(r, g, b, w),
        }
    }

    /// [`WhiteExtractor::split`] with the mode fixed at compile time (the per-pixel loop's version).
    #[inline(always)]
    fn split_as<const MODE: u8>(&self, r: u8, g: u8, b: u8, w: u8) -> [u8; 4] {
        let common = || {
            self.share[0][r as usize]
                .min(self.share[1][g as usize])
                .min(self.share[2][b as usize])
        };
        match MODE {
            ACCURATE => {
                // Never more W than fits beside the explicit white, so what leaves RGB all arrives.
                let x = common().min(255 - w);
                [
                    r.saturating_sub(self.replaces[0][x as usize]),
                    g.saturating_sub(self.replaces[1][x as usize]),
                    b.saturating_sub(self.replaces[2][x as usize]),
                    w + x,
                ]
            }
            BRIGHTER => [r, g, b, w.saturating_add(common())],
            _ => [r, g, b, 0],
        }
    }
}

/// [`WhiteMode`]s as const-generic arguments.
const NONE: u8 = 0;
const ACCURATE: u8 = 1;
const BRIGHTER: u8 = 2;

/// The output stages of one strip.
#[derive(Clone)]
pub struct StripPipeline {
    gamma: GammaTable,
    order: ColorOrder,
    /// RGBW strips only.
    white: Option<WhiteExtractor>,
    max_current_ma: u32,
    ma_per_channel: f32,
}

impl StripPipeline {
    /// The largest output step of one input step (see [`GammaTable::max_step`]).
    pub fn max_step(&self) -> u8 {
        self.gamma.max_step()
    }

    pub fn new(spec: &StripSpec) -> Self {
        StripPipeline {
            gamma: GammaTable::new(spec.gamma),
            order: spec.color_order,
            white: spec
                .color_order
                .has_white()
                .then(|| WhiteExtractor::new(spec.white, white_point(spec))),
            max_current_ma: spec.max_current_ma,
            ma_per_channel: spec.ma_per_channel,
        }
    }

    /// Encodes composed pixels (whole levels, no explicit white) into wire bytes:
    /// `out.len() == bytes_per_pixel × pixels.len()`.
    pub fn encode(&self, pixels: &[Rgb], out: &mut [u8]) -> EncodeReport {
        self.encode_fine(
            &Planes {
                pixels,
                ..Planes::default()
            },
            out,
        )
    }

    /// Encodes a strip's planes into wire bytes: `out.len() == bytes_per_pixel × pixels.len()`. Gamma
    /// is applied to the exact value where a fraction is given, then (RGBW strips) the white share
    /// moves to the W LED, then the limiter and colour order run. No allocation.
    pub fn encode_fine(&self, planes: &Planes, out: &mut [u8]) -> EncodeReport {
        debug_assert_eq!(out.len(), planes.pixels.len() * self.order.channels());
        let sum = match &self.white {
            None => self.encode_rgb(planes, out),
            Some(x) => self.encode_rgbw(x, planes, out),
        };
        let requested_ma = estimate_ma(sum, self.ma_per_channel);
        let mut scale = 1.0;
        if self.max_current_ma > 0 && requested_ma > self.max_current_ma as f32 {
            scale = self.max_current_ma as f32 / requested_ma;
            // Fixed-point scale, rounding down so the estimate stays within budget.
            let k = (scale * 65536.0) as u32;
            for b in out.iter_mut() {
                *b = ((*b as u32 * k) >> 16) as u8;
            }
        }
        EncodeReport {
            requested_ma,
            scale,
        }
    }

    /// Gamma and colour order for 3-byte pixels; returns the channel sum.
    fn encode_rgb(&self, planes: &Planes, out: &mut [u8]) -> u64 {
        let g = &self.gamma;
        if planes.fine() {
            let src = planes
                .pixels
                .iter()
                .zip(planes.frac)
                .map(|(p, f)| g.fine_rgb(*p, *f));
            encode_rgb_ordered(self.order, src, out)
        } else {
            let t = &g.0;
            let src = planes
                .pixels
                .iter()
                .map(|p| [t[p.r as usize], t[p.g as usize], t[p.b as usize]]);
            encode_rgb_ordered(self.order, src, out)
        }
    }

    /// Gamma (of the explicit white too), white extraction and colour order for 4-byte pixels;
    /// returns the channel sum (W included).
    fn encode_rgbw(&self, x: &WhiteExtractor, planes: &Planes, out: &mut [u8]) -> u64 {
        let g = &self.gamma;
        let t = &g.0;
        let n = planes.pixels.len();
        if planes.fine() {
            let (white, white_frac) = (planes.white, planes.white_frac);
            let src = planes
                .pixels
                .iter()
                .zip(planes.frac)
                .enumerate()
                .map(|(i, (p, f))| {
                    let [r, gr, b] = g.fine_rgb(*p, *f);
                    let w = white.get(i).copied().unwrap_or(0);
                    [
                        r,
                        gr,
                        b,
                        g.apply_fine(w, white_frac.get(i).copied().unwrap_or(0)),
                    ]
                });
            encode_rgbw_mode(x, self.order, src, out)
        } else if planes.white.len() == n {
            let src = planes.pixels.iter().zip(planes.white).map(|(p, &w)| {
                [
                    t[p.r as usize],
                    t[p.g as usize],
                    t[p.b as usize],
                    t[w as usize],
                ]
            });
            encode_rgbw_mode(x, self.order, src, out)
        } else {
            let src = planes
                .pixels
                .iter()
                .map(|p| [t[p.r as usize], t[p.g as usize], t[p.b as usize], 0]);
            encode_rgbw_mode(x, self.order, src, out)
        }
    }
}

/// One strip's composed frame as the pipeline takes it. `frac`, `white` and `white_frac` are either
/// one entry per pixel or empty (none): the compositor passes fractions only while a fade runs on the
/// strip, and a white plane only on a strip that lights a white LED.
#[derive(Clone, Copy, Debug, Default)]
pub struct Planes<'a> {
    /// Composed pixels, brightness applied.
    pub pixels: &'a [Rgb],
    /// Fractional part (1/256 of a level) of each channel of `pixels` during a fade.
    pub frac: &'a [[u8; 3]],
    /// Explicit white level of each pixel (RGBW strips), brightness applied.
    pub white: &'a [u8],
    /// Fractional part of each `white` level during a fade.
    pub white_frac: &'a [u8],
}

impl Planes<'_> {
    /// Whether fractions are given (a fade is running): the exact-gamma path.
    #[inline]
    fn fine(&self) -> bool {
        !self.frac.is_empty() && self.frac.len() == self.pixels.len()
    }
}

impl GammaTable {
    /// [`GammaTable::apply_fine`] on each channel of a pixel.
    #[inline]
    fn fine_rgb(&self, p: Rgb, f: [u8; 3]) -> [u8; 3] {
        [
            self.apply_fine(p.r, f[0]),
            self.apply_fine(p.g, f[1]),
            self.apply_fine(p.b, f[2]),
        ]
    }
}

/// Writes post-gamma `[r, g, b]` duties in `order`, monomorphised per order so the per-pixel loop has
/// fixed byte positions; returns the channel sum.
#[inline]
fn encode_rgb_ordered(
    order: ColorOrder,
    src: impl Iterator<Item = [u8; 3]>,
    out: &mut [u8],
) -> u64 {
    match order.positions() {
        [0, 1, 2, _] => encode_rgb::<0, 1, 2>(src, out),
        [0, 2, 1, _] => encode_rgb::<0, 2, 1>(src, out),
        [1, 0, 2, _] => encode_rgb::<1, 0, 2>(src, out),
        [1, 2, 0, _] => encode_rgb::<1, 2, 0>(src, out),
        [2, 0, 1, _] => encode_rgb::<2, 0, 1>(src, out),
        _ => encode_rgb::<2, 1, 0>(src, out),
    }
}

/// One RGB order.
#[inline(always)]
fn encode_rgb<const R: usize, const G: usize, const B: usize>(
    src: impl Iterator<Item = [u8; 3]>,
    out: &mut [u8],
) -> u64 {
    for ([r, g, b], w) in src.zip(out.chunks_exact_mut(3)) {
        w[R] = r;
        w[G] = g;
        w[B] = b;
    }
    byte_sum(out)
}

/// The sum of every byte (every channel of every pixel, in any order): a second pass that runs on SIMD
/// lanes costs less than three additions in the per-pixel loop.
#[inline]
fn byte_sum(bytes: &[u8]) -> u64 {
    bytes
        .chunks(1 << 16)
        .map(|c| c.iter().map(|&b| b as u32).sum::<u32>() as u64)
        .sum()
}

/// Picks the white mode once per strip, so the per-pixel loop has no mode branch.
#[inline]
fn encode_rgbw_mode(
    x: &WhiteExtractor,
    order: ColorOrder,
    src: impl Iterator<Item = [u8; 4]>,
    out: &mut [u8],
) -> u64 {
    match x.mode {
        WhiteMode::None => encode_rgbw::<NONE>(x, order, src, out),
        WhiteMode::Accurate => encode_rgbw::<ACCURATE>(x, order, src, out),
        WhiteMode::Brighter => encode_rgbw::<BRIGHTER>(x, order, src, out),
    }
}

/// White extraction and colour order for post-gamma `[r, g, b, explicit w]` duties, one 4-byte store
/// a pixel; returns the channel sum (W included).
#[inline(always)]
fn encode_rgbw<const MODE: u8>(
    x: &WhiteExtractor,
    order: ColorOrder,
    src: impl Iterator<Item = [u8; 4]>,
    out: &mut [u8],
) -> u64 {
    // Each channel's bit shift in the pixel's little-endian wire word.
    let shift = order.positions().map(|p| (p as u32 & 3) * 8);
    let mut sum = 0u64;
    for ([r, g, b, w], dst) in src.zip(out.chunks_exact_mut(4)) {
        let px = x.split_as::<MODE>(r, g, b, w);
        let word = (px[0] as u32) << shift[0]
            | (px[1] as u32) << shift[1]
            | (px[2] as u32) << shift[2]
            | (px[3] as u32) << shift[3];
        dst.copy_from_slice(&word.to_le_bytes());
        sum += px[0] as u64 + px[1] as u64 + px[2] as u64 + px[3] as u64;
    }
    sum
}

#[cfg(test)]
mod tests;
