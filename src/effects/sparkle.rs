//! Random point effects: twinkle, sparkle and matrix rain.
//!
//! Randomness comes only from [`hash01`] of the zone seed, the pixel or drop number and a time bucket or
//! cycle number, so every frame is a pure function of time.

use super::common::{by_speed, smooth, tri01};
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues, hash, hash01};
use crate::color::Rgb;

/// `density` of twinkle: the share of twinkle cycles in which a pixel lights.
const TWINKLE_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 0.0, 100.0, 40.0, 5.0, "%");
/// `intensity` of sparkle: the level of the zone-colour background under the sparks.
const SPARKLE_INTENSITY: ParamSpec = ParamSpec::new(ParamId::Intensity, 0.0, 100.0, 25.0, 5.0, "%");
/// `density` of sparkle: the chance that a pixel flashes at each flash.
const SPARKLE_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 0.0, 100.0, 10.0, 5.0, "%");
/// `density` of matrix: drops per 8 pixels of zone (at least one drop).
const MATRIX_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 0.0, 100.0, 30.0, 5.0, "%");
/// `length` of matrix: the trail of each drop.
const MATRIX_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 2.0, 30.0, 8.0, 1.0, "px");

/// Twinkle: pixels fade in and out of the zone colour, each on its own hashed period and phase.
pub struct Twinkle;

impl Twinkle {
    /// Mean twinkle period: 6 s (speed 1) to 0.6 s (speed 100).
    pub fn base_period(p: &ParamValues) -> f64 {
        by_speed(p, 6.0, 0.6)
    }

    /// Pixel `i`'s own period (0.6–1.4 × `base`) and phase offset (cycles), from one hash.
    pub fn clock(seed: u64, i: usize, base: f64) -> (f64, f64) {
        let h = hash(seed, i as u64, 0);
        let period = base * (0.6 + 0.8 * (h & 0xFFFF) as f64 / 65535.0);
        (period, (h >> 16) as f64 / 65536.0)
    }
}

impl Effect for Twinkle {
    fn name(&self) -> &'static str {
        "twinkle"
    }
    fn describe(&self) -> &'static str {
        "pixels softly fade in and out of the zone colour at random, each on its own clock; \
         each twinkle a random colour of the palette when one is set; reads speed (6 s to 0.6 s per \
         twinkle), intensity (level), density (share lit, default 40 %), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, TWINKLE_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let base = Twinkle::base_period(ctx.params);
        let density = ctx.params.density01();
        let level = ctx.params.intensity01();
        let t = ctx.t.max(0.0);
        for (i, px) in out.iter_mut().enumerate() {
            let (period, offset) = Twinkle::clock(ctx.seed, i, base);
            let x = t / period + offset;
            let cycle = x as u64; // x ≥ 0: truncation is floor
            let on = density > 0.0 && hash01(ctx.seed, i as u64, cycle + 1) <= density;
            *px = if on {
                // With a palette, each twinkle takes a colour of it at random.
                let color = match ctx.palette {
                    Some(p) => p.at(hash(ctx.seed ^ 0x7A1E, i as u64, cycle) as u8),
                    None => ctx.color,
                };
                color.scale(level * smooth(tri01((x - cycle as f64) as f32)))
            } else {
                Rgb::BLACK
            };
        }
    }
}

/// Sparkle: random pixels flash white and fade over a dim zone-colour background.
pub struct Sparkle;

impl Sparkle {
    /// Flashes per second: 2 (speed 1) to 30 (speed 100).
    pub fn rate(p: &ParamValues) -> f64 {
        by_speed(p, 2.0, 30.0)
    }
}

impl Effect for Sparkle {
    fn name(&self) -> &'static str {
        "sparkle"
    }
    fn describe(&self) -> &'static str {
        "random pixels flash white and fade over the zone colour; reads speed (2 to 30 flashes/s), \
         intensity (background level, default 25 %), density (chance a pixel flashes, default 10 %)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, SPARKLE_INTENSITY, SPARKLE_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let x = ctx.t.max(0.0) * Sparkle::rate(ctx.params);
        let bucket = x.floor();
        let fade = 1.0 - (x - bucket) as f32;
        let bucket = bucket as u64;
        let density = ctx.params.density01();
        let bg = ctx.color.scale(ctx.params.intensity01());
        let spark = bg.lerp(Rgb::WHITE, fade * fade);
        for (i, px) in out.iter_mut().enumerate() {
            let on = density > 0.0 && hash01(ctx.seed, i as u64, bucket) <= density;
            *px = if on { spark } else { bg };
        }
    }
}

/// Matrix: digital rain, drops with white-tipped heads and zone-colour trails running along the zone.
pub struct Matrix;

impl Matrix {
    /// Number of drops on a zone of `n` pixels.
    pub fn drops(n: usize, density01: f32) -> usize {
        ((n as f32 * density01 / 8.0).ceil() as usize).max(1)
    }

    /// Drop `j`'s start pixel and head position at time `t` (the head may be past the zone, i.e. resting).
    /// Each drop has its own speed (0.6–1.4 × `px_per_sec`), a lap with a rest of up to one lap, and a
    /// new start pixel in the first half of the zone every lap.
    pub fn head(seed: u64, j: usize, t: f64, n: usize, len: f32, px_per_sec: f64) -> (f32, f32) {
        let j = j as u64;
        let v = px_per_sec * (0.6 + 0.8 * hash01(seed, j, 0) as f64);
        let lap = (n as f64 + len as f64) * (1.0 + hash01(seed, j, 1) as f64);
        let x = t.max(0.0) * v / lap + hash01(seed, j, 2) as f64;
        let cycle = x.floor();
        let start = (hash01(seed, j, cycle as u64 + 3) * n as f32 * 0.5).floor();
        (start, start + ((x - cycle) * lap) as f32)
    }
}

fn brighter(a: Rgb, b: Rgb) -> Rgb {
    Rgb::new(a.r.max(b.r), a.g.max(b.g), a.b.max(b.b))
}

impl Effect for Matrix {
    fn name(&self) -> &'static str {
        "matrix"
    }
    fn describe(&self) -> &'static str {
        "digital rain: drops with white-tipped heads and zone-colour trails run from the first pixel \
         towards the last; reads speed (3 to 60 px/s), intensity (level), density (drops per 8 px), \
         length (trail 2–30 px), palette (drops spread over its colours)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, MATRIX_DENSITY, MATRIX_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        out.fill(Rgb::BLACK);
        let n = out.len();
        let len = MATRIX_LENGTH.clamp(ctx.params.get(ParamId::Length));
        let level = ctx.params.intensity01();
        let v = by_speed(ctx.params, 3.0, 60.0);
        let drops = Matrix::drops(n, ctx.params.density01());
        for j in 0..drops {
            // With a palette, drops are spread over its colours.
            let color = match ctx.palette {
                Some(p) => p.wrap(j as f32 / drops as f32),
                None => ctx.color,
            };
            let hot = color.lerp(Rgb::WHITE, 0.6).scale(level);
            let (start, head) = Matrix::head(ctx.seed, j, ctx.t, n, len, v);
            let (start, head) = (start as usize, head as usize);
            for d in 0..len as usize {
                let Some(p) = head.checked_sub(d).filter(|p| *p >= start) else {
                    break;
                };
                if p < n {
                    let c = if d == 0 {
                        hot
                    } else {
                        color.scale(level * (1.0 - d as f32 / len))
                    };
                    out[p] = brighter(out[p], c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::testing::{C, seeded};

    /// Frames of this file's random effects are drawn with seed 5.
    fn ctx(t: f64, p: &ParamValues) -> EffectCtx<'_> {
        seeded(t, p, 5)
    }

    #[test]
    fn twinkle_peaks_at_mid_cycle_in_the_zone_colour() {
        let mut p = ParamValues::defaults(Twinkle.params());
        p.set(ParamId::Density, 100.0);
        let base = Twinkle::base_period(&p);
        let mut out = [Rgb::BLACK; 8];
        for i in 0..8 {
            let (period, offset) = Twinkle::clock(5, i, base);
            // Middle of cycle 1 of pixel i.
            Twinkle.render(&ctx((1.5 - offset) * period, &p), &mut out);
            assert_eq!(out[i], C, "pixel {i}");
            // Start of cycle 2: dark.
            Twinkle.render(&ctx((2.0 - offset) * period + 1e-6, &p), &mut out);
            assert!(out[i].channel_sum() < 3, "pixel {i}: {:?}", out[i]);
        }
        // Every lit pixel is a dimmed zone colour; density 0 lights nothing.
        Twinkle.render(&ctx(3.7, &p), &mut out);
        assert!(
            out.iter()
                .all(|c| c.b == 0 && (c.r as i32 - 2 * c.g as i32).abs() <= 1)
        );
        p.set(ParamId::Density, 0.0);
        Twinkle.render(&ctx(3.7, &p), &mut out);
        assert_eq!(out, [Rgb::BLACK; 8]);
    }

    #[test]
    fn sparkle_flashes_white_over_the_background() {
        let mut p = ParamValues::defaults(Sparkle.params());
        p.set(ParamId::Speed, 1.0); // 2 flashes per second
        let bg = C.scale(0.25);
        let mut out = [Rgb::BLACK; 6];
        p.set(ParamId::Density, 0.0);
        Sparkle.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out, [bg; 6]);
        p.set(ParamId::Density, 100.0);
        Sparkle.render(&ctx(0.0, &p), &mut out);
        assert_eq!(
            out,
            [Rgb::WHITE; 6],
            "every pixel flashes at the start of a flash"
        );
        Sparkle.render(&ctx(0.25, &p), &mut out);
        assert_eq!(
            out,
            [bg.lerp(Rgb::WHITE, 0.25); 6],
            "halfway: (1 - 0.5)² of the way to white"
        );
    }

    #[test]
    fn matrix_drop_has_a_hot_head_and_a_fading_trail() {
        let mut p = ParamValues::defaults(Matrix.params());
        p.set(ParamId::Density, 1.0); // one drop on 20 px
        p.set(ParamId::Speed, 1.0); // 3 px/s base
        assert_eq!(Matrix::drops(20, 0.01), 1);
        assert_eq!(Matrix::drops(80, 1.0), 10);
        let mut out = [Rgb::BLACK; 20];
        let mut checked = 0;
        for k in 0..400 {
            let t = k as f64 * 0.1;
            let (start, head) = Matrix::head(5, 0, t, 20, 8.0, 3.0);
            let h = head as usize;
            if !(3..20).contains(&h) || head - start < 3.0 {
                continue;
            }
            Matrix.render(&ctx(t, &p), &mut out);
            assert_eq!(out[h], C.lerp(Rgb::WHITE, 0.6), "t {t}");
            assert_eq!(out[h - 1], C.scale(1.0 - 1.0 / 8.0));
            assert!(out[h + 1..].iter().all(|c| *c == Rgb::BLACK));
            checked += 1;
        }
        assert!(
            checked > 10,
            "the drop was on the zone only {checked} times"
        );
    }
}
