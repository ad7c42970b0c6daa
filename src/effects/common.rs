//! Small helpers shared by the effect families: speed mapping, cheap periodic waves and smooth value noise.
//!
//! Everything here is pure and allocation-free. Phases are computed in `f64` from the elapsed time and
//! only their fractional part is narrowed to `f32`, so effects stay smooth after days of uptime.

use super::{ParamValues, hash01};
use crate::color::Rgb;

/// Maps `speed` (1–100) linearly from `slow` (at speed 1) to `fast` (at speed 100).
#[inline]
pub(super) fn by_speed(p: &ParamValues, slow: f64, fast: f64) -> f64 {
    slow + (fast - slow) * p.speed01() as f64
}

/// The colour at position `x` (in cycles) of the zone's palette, or the zone colour when it has none.
#[inline]
pub(super) fn paint(ctx: &super::EffectCtx, x: f32) -> Rgb {
    ctx.palette.map_or(ctx.color, |p| p.wrap(x))
}

/// The fractional part of `x` (any sign) as an `f32` in [0, 1).
#[inline]
pub(super) fn phase(x: f64) -> f32 {
    let f = x.rem_euclid(1.0) as f32;
    if f < 1.0 { f } else { 0.0 }
}

/// Hermite smoothstep of `x`, clamped to 0–1.
#[inline]
pub(super) fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// `x.floor()` for values well inside the `i32` range, without the libm call that `floor` compiles to on
/// x86-64 without SSE4.1 (per-pixel cost matters there; on AArch64 both are one instruction).
#[inline]
pub(super) fn floorf(x: f32) -> f32 {
    let t = x as i32 as f32;
    if t > x { t - 1.0 } else { t }
}

/// Triangle wave of period 1: 0 at phase 0, 1 at phase 0.5.
#[inline]
pub(super) fn tri01(x: f32) -> f32 {
    1.0 - (2.0 * (x - floorf(x)) - 1.0).abs()
}

/// A cosine-shaped wave of period 1 without calling `cos`: 1 at phase 0, 0 at phase 0.5.
/// It is the smoothstep of a triangle, within 2 % of (1 + cos 2πx) / 2.
#[inline]
pub(super) fn cos01(x: f32) -> f32 {
    smooth(1.0 - tri01(x))
}

/// Same result as [`crate::color::hsv`] for hues within ±2³¹°, without its `fmod` call, for
/// effects that convert a hue per pixel.
#[inline]
pub(super) fn hsv_fast(h: f32, s: f32, v: f32) -> Rgb {
    crate::color::hsv_wrapped(h - 360.0 * floorf(h / 360.0), s, v)
}

/// Hue positions in fixed point: one sector of the wheel (60°) is `SECTOR` units, a full turn `TURN`.
const SECTOR: u32 = 1 << 20;
const TURN: u32 = 6 * SECTOR;

/// Full-value colours along a row of evenly stepped hues at one saturation: what [`hsv_fast`] gives
/// for `hue₀ + step × i`, within one level, in integer steps instead of a float conversion per pixel.
/// The hue is kept to 2⁻²⁰ of a sector, so after 10,000 pixels it has drifted less than 0.01 of a
/// level from the exact one.
pub(super) struct HueRow {
    pos: u32,
    step: u32,
    /// The strongest and weakest channel of every colour (`v` and `v × (1 − s)` in levels), and the
    /// rising or falling one as fixed point: `low + span × fraction`, 16 fractional bits.
    high: u8,
    low: u8,
    span: u32,
    base: u32,
}

impl HueRow {
    pub(super) fn new(hue: f32, step: f32, sat: f32) -> HueRow {
        let units = |deg: f32| {
            let turns = (deg as f64 / 360.0).rem_euclid(1.0);
            ((turns * TURN as f64).round() as u32) % TURN
        };
        let s = sat.clamp(0.0, 1.0);
        let (c, m) = (s, 1.0 - s);
        // The same expressions as `hsv_fast` for the extreme channels; the middle one in between.
        let q = |f: f32| ((f + m) * 255.0 + 0.5) as u8;
        HueRow {
            pos: units(hue),
            step: units(step),
            high: q(c),
            low: q(0.0),
            span: (c as f64 * 255.0 * 65536.0).round() as u32,
            base: ((m as f64 * 255.0 + 0.5) * 65536.0).round() as u32,
        }
    }

    /// The colour at the current hue, then one step on.
    #[inline]
    pub(super) fn next(&mut self) -> Rgb {
        let sector = self.pos >> 20;
        let frac = self.pos & (SECTOR - 1);
        // Rising in even sectors, falling in odd ones.
        let f = if sector & 1 == 0 { frac } else { SECTOR - frac };
        let mid = ((self.base + ((self.span as u64 * f as u64) >> 20) as u32) >> 16) as u8;
        let (h, l) = (self.high, self.low);
        let c = match sector {
            0 => Rgb::new(h, mid, l),
            1 => Rgb::new(mid, h, l),
            2 => Rgb::new(l, h, mid),
            3 => Rgb::new(l, mid, h),
            4 => Rgb::new(mid, l, h),
            _ => Rgb::new(h, l, mid),
        };
        self.pos += self.step;
        if self.pos >= TURN {
            self.pos -= TURN;
        }
        c
    }
}

/// One-dimensional value noise in 0–1 along `y` (usually time × rate) for lane `lane`:
/// hashed values at integer `y`, smoothstep-interpolated between them.
#[inline]
pub(super) fn noise1(seed: u64, lane: u64, y: f64) -> f32 {
    let y = if y.is_finite() { y.max(0.0) } else { 0.0 };
    let c = y.floor();
    let f = smooth((y - c) as f32);
    let c = c as u64;
    let a = hash01(seed, lane, c);
    let b = hash01(seed, lane, c.wrapping_add(1));
    a + (b - a) * f
}

/// Two-dimensional value noise sampled along a row of pixels at one instant `y`.
///
/// Lattice values are [`noise1`] lanes, one per integer `x`; the row remembers the cell it is in, so
/// walking the pixels in order costs two hashes per lattice cell rather than per pixel. It is a local
/// of one `render` call, never stored.
pub(super) struct NoiseRow {
    seed: u64,
    /// The time lattice row below `y` and the smoothed weight of the row above.
    y0: u64,
    fy: f32,
    /// Integer and fractional part of the offset added to every `x`.
    base: u64,
    frac: f32,
    /// The lattice cell `a` and `b` belong to, once sampled.
    cell: Option<u64>,
    a: f32,
    b: f32,
}

impl NoiseRow {
    pub(super) fn new(seed: u64, y: f64) -> Self {
        NoiseRow::with_offset(seed, y, 0.0)
    }

    /// A row that samples the noise at `x + offset`; a time-varying offset scrolls the pattern
    /// (a decreasing offset moves it towards higher pixels).
    pub(super) fn with_offset(seed: u64, y: f64, offset: f64) -> Self {
        let offset = if offset.is_finite() { offset } else { 0.0 };
        let whole = offset.floor();
        let y = if y.is_finite() { y.max(0.0) } else { 0.0 };
        let y_whole = y.floor();
        NoiseRow {
            seed,
            y0: y_whole as u64,
            fy: smooth((y - y_whole) as f32),
            base: whole as i64 as u64,
            frac: (offset - whole) as f32,
            cell: None,
            a: 0.0,
            b: 0.0,
        }
    }

    /// The noise at lattice point `lane` (same as [`noise1`] at this row's `y`).
    #[inline]
    fn node(&self, lane: u64) -> f32 {
        let a = hash01(self.seed, lane, self.y0);
        let b = hash01(self.seed, lane, self.y0.wrapping_add(1));
        a + (b - a) * self.fy
    }

    /// Noise at `x` (≥ 0) plus the row's offset, in 0–1.
    #[inline]
    pub(super) fn at(&mut self, x: f32) -> f32 {
        let x = x.max(0.0) + self.frac;
        let c = x as u32 as u64; // floor for x ≥ 0; u32 converts faster than u64 on x86-64
        if self.cell != Some(c) {
            let lane = self.base.wrapping_add(c);
            self.a = if self.cell == Some(c.wrapping_sub(1)) {
                self.b
            } else {
                self.node(lane)
            };
            self.b = self.node(lane.wrapping_add(1));
            self.cell = Some(c);
        }
        self.a + (self.b - self.a) * smooth(x - c as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_hit_their_extremes() {
        assert_eq!(tri01(0.0), 0.0);
        assert_eq!(tri01(0.5), 1.0);
        assert_eq!(tri01(1.25), 0.5);
        assert_eq!(cos01(0.0), 1.0);
        assert_eq!(cos01(0.5), 0.0);
        assert_eq!(cos01(-1.0), 1.0);
        for k in 0..100 {
            let x = k as f32 / 100.0;
            let exact = (1.0 + (2.0 * std::f32::consts::PI * x).cos()) / 2.0;
            assert!((cos01(x) - exact).abs() < 0.025, "{x}");
        }
        assert_eq!(phase(-0.25), 0.75);
        assert!(phase(1.0 - 1e-12) < 1.0);
    }

    #[test]
    fn hsv_fast_matches_hsv() {
        for k in -2000..2000 {
            let h = k as f32 * 0.37;
            for (s, v) in [
                (1.0, 1.0),
                (0.37, 1.0),
                (0.8, 0.3),
                (0.0, 0.5),
                (1.0, 0.0),
                (2.0, -1.0),
            ] {
                assert_eq!(hsv_fast(h, s, v), crate::color::hsv(h, s, v), "{h} {s} {v}");
            }
        }
        for k in -100..100 {
            let x = k as f32 * 0.173;
            assert_eq!(floorf(x), x.floor());
        }
    }

    /// The integer hue row stays within one level of `hsv_fast` along long rows, at any start, step and
    /// saturation, and is exact at the sector boundaries (the primaries and secondaries).
    #[test]
    fn hue_row_is_within_one_level_of_hsv() {
        for (hue, step, sat) in [
            (0.0, 360.0 / 125.0, 1.0),
            (-37.5, 0.37, 1.0),
            (123.4, 7.2, 0.6),
            (359.9, 1440.0, 1.0),
            (10.0, 13.3, 0.0),
            (700.0, 3.0, 0.25),
        ] {
            let mut row = HueRow::new(hue, step, sat);
            for i in 0..10_000 {
                let want = hsv_fast(hue + step * i as f32, sat, 1.0);
                let got = row.next();
                let near = |a: u8, b: u8| a.abs_diff(b) <= 1;
                if i < 2000 || step == 360.0 / 125.0 {
                    assert!(
                        near(got.r, want.r) && near(got.g, want.g) && near(got.b, want.b),
                        "hue {hue} + {step} × {i}, sat {sat}: {got:?} vs {want:?}"
                    );
                }
            }
        }
        let mut exact = HueRow::new(0.0, 60.0, 1.0);
        let sextants: Vec<Rgb> = (0..7).map(|_| exact.next()).collect();
        let want: Vec<Rgb> = (0..7)
            .map(|k| hsv_fast(60.0 * k as f32, 1.0, 1.0))
            .collect();
        assert_eq!(sextants, want);
    }

    #[test]
    fn noise_is_continuous_and_matches_lattice() {
        assert_eq!(noise1(3, 4, 5.0), hash01(3, 4, 5));
        assert_eq!(
            NoiseRow::new(3, 5.0).at(0.0),
            hash01(3, 0, 5),
            "first sample of a fresh row"
        );
        let mut row = NoiseRow::new(3, 5.0);
        assert_eq!(row.at(4.0), hash01(3, 4, 5));
        let mut prev = row.at(0.0);
        for k in 1..400 {
            let v = row.at(k as f32 * 0.05);
            assert!((0.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.1, "jump at {k}");
            prev = v;
        }
        // Walking the row in order gives the same values as jumping straight to a point.
        let mut walked = NoiseRow::new(3, 5.0);
        for k in 0..=73 {
            walked.at(k as f32 * 0.1);
        }
        assert_eq!(walked.at(7.3), NoiseRow::new(3, 5.0).at(7.3));
        assert_eq!(noise1(1, 1, f64::NAN), hash01(1, 1, 0));
        // An offset row samples the same field, shifted.
        assert_eq!(
            NoiseRow::with_offset(3, 5.0, -2.5).at(4.0),
            NoiseRow::new(3, 5.0).at(1.5)
        );
    }

    /// Every registered effect survives empty, tiny and long zones at the ends of its parameter ranges,
    /// and is still animated after 30 days of uptime.
    #[test]
    fn every_effect_survives_edge_cases() {
        use crate::effects::{EffectCtx, REGISTRY};
        let month = 30.0 * 86_400.0;
        for e in REGISTRY {
            for corner in 0..3 {
                let mut p = ParamValues::defaults(e.params());
                for s in e.params() {
                    p.set(s.id, [s.min, s.max, s.default][corner]);
                }
                for n in [0usize, 1, 2, 3, 300] {
                    let mut out = vec![Rgb::BLACK; n];
                    for t in [0.0, 0.016, 1.5, 59.9, month] {
                        let ctx = EffectCtx {
                            t,
                            color: Rgb::new(10, 200, 30),
                            params: &p,
                            seed: u64::MAX,
                            palette: None,
                        };
                        e.render(&ctx, &mut out);
                    }
                }
            }
            let p = ParamValues::defaults(e.params());
            let frame = |t: f64| {
                let mut out = [Rgb::BLACK; 60];
                let ctx = EffectCtx {
                    t,
                    color: Rgb::new(255, 120, 20),
                    params: &p,
                    seed: 7,
                    palette: None,
                };
                e.render(&ctx, &mut out);
                out
            };
            let first = frame(month);
            assert!(
                (1..200).any(|k| frame(month + k as f64 * 0.05) != first),
                "{} is frozen after 30 days",
                e.name()
            );
        }
    }
}
