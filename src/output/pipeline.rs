//! The per-strip colour pipeline at the output edge, from composed pixels to wire bytes.
//!
//! **The order, for every strip (this is the one place it is defined):**
//! brightness (zone × master, in the compositor) → gamma → white extraction (RGBW strips) → power limit
//! → colour order.
//!
//! - *Gamma* maps perceptual values to PWM duty, and an LED's light is linear in its duty.
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
//! The simulator and the real drivers all get their bytes from [`StripPipeline::encode`], so a capture
//! shows exactly what the wire would carry. Nothing here allocates per frame.

use crate::color::{Rgb, kelvin_to_rgb};
use crate::layout::{ColorOrder, StripSpec, WhiteMode};

/// A 256-entry gamma lookup table.
#[derive(Clone)]
pub struct GammaTable(pub [u8; 256]);

impl GammaTable {
    pub fn new(gamma: f32) -> Self {
        let mut t = [0u8; 256];
        for (i, v) in t.iter_mut().enumerate() {
            *v = ((i as f32 / 255.0).powf(gamma) * 255.0 + 0.5) as u8;
        }
        GammaTable(t)
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

    /// Encodes logical pixels into wire bytes: `out.len() == channels × pixels.len()`. `white` is each
    /// pixel's explicit white level (same scale as `pixels`, brightness applied), or empty (any other
    /// length) for none; it is used only on RGBW strips.
    pub fn encode(&self, pixels: &[Rgb], white: &[u8], out: &mut [u8]) -> EncodeReport {
        debug_assert_eq!(out.len(), pixels.len() * self.order.channels());
        let sum = match &self.white {
            None => self.encode_rgb(pixels, out),
            Some(x) => encode_rgbw(&self.gamma.0, x, self.order, pixels, white, out),
        };
        let requested_ma = estimate_ma(sum, self.ma_per_channel);
        let mut scale = 1.0;
        if self.max_current_ma > 0 && requested_ma > self.max_current_ma as f32 {
            scale = self.max_current_ma as f32 / requested_ma;
            // Fixed-point factor, rounded down so the budget is never exceeded.
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
    fn encode_rgb(&self, pixels: &[Rgb], out: &mut [u8]) -> u64 {
        let g = &self.gamma.0;
        match self.order.positions() {
            [0, 1, 2, _] => encode_rgb::<0, 1, 2>(g, pixels, out),
            [0, 2, 1, _] => encode_rgb::<0, 2, 1>(g, pixels, out),
            [1, 0, 2, _] => encode_rgb::<1, 0, 2>(g, pixels, out),
            [1, 2, 0, _] => encode_rgb::<1, 2, 0>(g, pixels, out),
            [2, 0, 1, _] => encode_rgb::<2, 0, 1>(g, pixels, out),
            _ => encode_rgb::<2, 1, 0>(g, pixels, out),
        }
    }
}

/// One RGB order, monomorphised so the per-pixel loop has fixed byte positions.
#[inline]
fn encode_rgb<const R: usize, const G: usize, const B: usize>(
    gamma: &[u8; 256],
    pixels: &[Rgb],
    out: &mut [u8],
) -> u64 {
    let mut sum = 0u32;
    for (p, w) in pixels.iter().zip(out.chunks_exact_mut(3)) {
        let (r, g, b) = (
            gamma[p.r as usize],
            gamma[p.g as usize],
            gamma[p.b as usize],
        );
        sum += r as u32 + g as u32 + b as u32;
        w[R] = r;
        w[G] = g;
        w[B] = b;
    }
    sum as u64
}

/// Gamma, white extraction and colour order for 4-byte pixels; returns the channel sum (W included).
fn encode_rgbw(
    gamma: &[u8; 256],
    extract: &WhiteExtractor,
    order: ColorOrder,
    pixels: &[Rgb],
    white: &[u8],
    out: &mut [u8],
) -> u64 {
    let f = match extract.mode {
        WhiteMode::None => encode_rgbw_as::<NONE>,
        WhiteMode::Accurate => encode_rgbw_as::<ACCURATE>,
        WhiteMode::Brighter => encode_rgbw_as::<BRIGHTER>,
    };
    f(gamma, extract, order, pixels, white, out)
}

/// [`encode_rgbw`] for one white mode, so the per-pixel loop has no mode branch.
fn encode_rgbw_as<const MODE: u8>(
    gamma: &[u8; 256],
    extract: &WhiteExtractor,
    order: ColorOrder,
    pixels: &[Rgb],
    white: &[u8],
    out: &mut [u8],
) -> u64 {
    // Each channel's bit shift in the pixel's little-endian wire word: one 4-byte store a pixel.
    let shift = order.positions().map(|p| (p as u32 & 3) * 8);
    let pixel = |p: &Rgb, w: u8, dst: &mut [u8]| {
        let px = extract.split_as::<MODE>(
            gamma[p.r as usize],
            gamma[p.g as usize],
            gamma[p.b as usize],
            gamma[w as usize],
        );
        let word = (px[0] as u32) << shift[0]
            | (px[1] as u32) << shift[1]
            | (px[2] as u32) << shift[2]
            | (px[3] as u32) << shift[3];
        dst.copy_from_slice(&word.to_le_bytes());
        px[0] as u32 + px[1] as u32 + px[2] as u32 + px[3] as u32
    };
    let mut sum = 0u32;
    let wire = out.chunks_exact_mut(4);
    if white.len() == pixels.len() {
        for ((p, &w), dst) in pixels.iter().zip(white).zip(wire) {
            sum += pixel(p, w, dst);
        }
    } else {
        for (p, dst) in pixels.iter().zip(wire) {
            sum += pixel(p, 0, dst);
        }
    }
    sum as u64
}

#[cfg(test)]
mod tests;
