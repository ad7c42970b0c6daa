//! Slow ambient effects: a drifting two-colour gradient, aurora curtains and ocean swell.

use super::common::{NoiseRow, by_speed, cos01, hsv_fast, phase, smooth};
use super::params::{HUE2, INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues};
use crate::color::{Rgb, hsv};

/// `hue2` of aurora: the far end of its palette, which starts at green (120°).
const AURORA_HUE2: ParamSpec = ParamSpec::new(ParamId::Hue2, 0.0, 359.0, 280.0, 10.0, "°");
/// Where the aurora palette starts, degrees.
const AURORA_GREEN: f32 = 120.0;
const AURORA_SALT: u64 = 0xA0_70_4A;
/// Palette entries between green and hue2, per frame.
const AURORA_STEPS: usize = 32;
/// `length` of ocean: the wavelength of the main swell.
const OCEAN_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 4.0, 30.0, 16.0, 1.0, "px");

/// Gradient: the zone colour at the first pixel blending to the `hue2` colour at the last, drifting.
pub struct Gradient;

impl Gradient {
    /// Drift in zone lengths per second: 0.01 (speed 1) to 0.4 (speed 100).
    pub fn drift(p: &ParamValues) -> f64 {
        by_speed(p, 0.01, 0.4)
    }
}

impl Effect for Gradient {
    fn name(&self) -> &'static str {
        "gradient"
    }
    fn describe(&self) -> &'static str {
        "a gradient from the zone colour (first pixel) to the hue2 colour (last pixel) that drifts \
         along the zone and back (a palette replaces the two colours); reads speed (0.01 to 0.4 zone \
         lengths/s), intensity (level), hue2 (default 240°), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, HUE2]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        let p = ctx.params;
        let level = p.intensity01();
        let from = ctx.color.scale(level);
        let to = hsv(HUE2.clamp(p.get(ParamId::Hue2)), 1.0, level);
        // Position along a there-and-back ramp of period 2 zone lengths.
        let shift = 2.0 * phase(ctx.t * Gradient::drift(p) / 2.0);
        let span = if n > 1 { 1.0 / (n - 1) as f32 } else { 0.0 };
        for (i, px) in out.iter_mut().enumerate() {
            let x = i as f32 * span + shift;
            let f = if x <= 1.0 {
                x
            } else if x <= 2.0 {
                2.0 - x
            } else {
                x - 2.0
            };
            *px = match ctx.palette {
                Some(pal) => pal.at01(f).scale(level),
                None => from.lerp(to, f),
            };
        }
    }
}

/// Aurora: slow curtains of light, green through to the `hue2` colour, drifting along the zone.
pub struct Aurora;

impl Aurora {
    /// Noise steps per second: 0.05 (speed 1) to 1 (speed 100).
    pub fn rate(p: &ParamValues) -> f64 {
        by_speed(p, 0.05, 1.0)
    }
}

impl Effect for Aurora {
    fn name(&self) -> &'static str {
        "aurora"
    }
    fn describe(&self) -> &'static str {
        "northern lights: slow drifting curtains, green through to the hue2 colour, with dark gaps \
         (ignores the zone colour; a palette replaces green → hue2); reads speed, intensity (level), \
         hue2 (default 280°), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, AURORA_HUE2]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let p = ctx.params;
        let y = ctx.t.max(0.0) * Aurora::rate(p);
        let mut curtains = NoiseRow::with_offset(ctx.seed, y, 0.5 * y);
        let mut hues = NoiseRow::new(ctx.seed ^ AURORA_SALT, 0.7 * y);
        let far = AURORA_HUE2.clamp(p.get(ParamId::Hue2));
        // The palette for this frame, green → hue2, on the stack: one lookup per pixel instead of HSV.
        let mut palette = [Rgb::BLACK; AURORA_STEPS + 1];
        for (k, c) in palette.iter_mut().enumerate() {
            let f = k as f32 / AURORA_STEPS as f32;
            *c = hsv(
                AURORA_GREEN + (far - AURORA_GREEN) * f,
                1.0,
                p.intensity01(),
            );
        }
        for (i, px) in out.iter_mut().enumerate() {
            let x = i as f32;
            let light = smooth((curtains.at(x / 6.0) - 0.35) * 2.5);
            let h = hues.at(x / 12.0);
            let hue = (h * AURORA_STEPS as f32 + 0.5) as usize;
            *px = match ctx.palette {
                Some(pal) => pal.at01(h).scale(light * p.intensity01()),
                None => palette[hue.min(AURORA_STEPS)].scale(light),
            };
        }
    }
}

/// Ocean: blue-to-teal swell with two crossing waves and white foam on the highest crests.
pub struct Ocean;

impl Ocean {
    /// Wave travel in pixels per second: 1 (speed 1) to 20 (speed 100).
    pub fn px_per_sec(p: &ParamValues) -> f64 {
        by_speed(p, 1.0, 20.0)
    }
}

impl Effect for Ocean {
    fn name(&self) -> &'static str {
        "ocean"
    }
    fn describe(&self) -> &'static str {
        "ocean swell: deep blue troughs, teal crests and white foam where two crossing waves meet \
         (ignores the zone colour; a palette colours troughs → crests); reads speed (1 to 20 px/s), \
         intensity (level), length (wavelength 4–30 px), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, OCEAN_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let p = ctx.params;
        let wl = OCEAN_LENGTH.clamp(p.get(ParamId::Length));
        let travel = ctx.t * Ocean::px_per_sec(p) / wl as f64;
        let (a, b) = (phase(travel), phase(travel * 1.1));
        let k = 1.0 / wl;
        let level = p.intensity01();
        for (i, px) in out.iter_mut().enumerate() {
            let x = i as f32 * k;
            let swell = 0.6 * cos01(x - a) + 0.4 * cos01(1.8 * x + b);
            let foam = ((swell - 0.85) * 6.0).clamp(0.0, 1.0);
            let lit = (0.25 + 0.75 * swell) * level;
            *px = match ctx.palette {
                Some(pal) => pal.at01(swell).lerp(Rgb::WHITE, 0.7 * foam).scale(lit),
                None => hsv_fast(215.0 - 35.0 * swell, 1.0 - 0.7 * foam, lit),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::testing::{C, seeded};

    /// Frames of this file's random effects are drawn with seed 3.
    fn ctx(t: f64, p: &ParamValues) -> EffectCtx<'_> {
        seeded(t, p, 3)
    }

    #[test]
    fn gradient_endpoints_are_the_two_colours_then_drift() {
        let mut p = ParamValues::defaults(Gradient.params());
        p.set(ParamId::Speed, 1.0); // 0.01 zone lengths per second
        let blue = Rgb::new(0, 0, 255);
        let mut out = [Rgb::BLACK; 11];
        Gradient.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out[0], C);
        assert_eq!(out[10], blue);
        assert_eq!(out[5], C.lerp(blue, 0.5));
        // After one zone length of drift the ramp has turned round: the ends have swapped.
        Gradient.render(&ctx(100.0, &p), &mut out);
        assert_eq!(out[0], blue);
        assert_eq!(out[10], C);
        p.set(ParamId::Hue2, 120.0);
        Gradient.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out[10], Rgb::new(0, 255, 0));
        let mut one = [Rgb::BLACK; 1];
        Gradient.render(&ctx(0.0, &p), &mut one);
        assert_eq!(one[0], C, "a one-pixel zone shows the zone colour");
    }

    #[test]
    fn aurora_stays_in_its_palette_and_moves() {
        let mut p = ParamValues::defaults(Aurora.params());
        p.set(ParamId::Hue2, 120.0); // palette collapses to pure green
        let mut out = [Rgb::BLACK; 40];
        let mut brightest = 0u8;
        for k in 0..100 {
            Aurora.render(&ctx(k as f64 * 0.5, &p), &mut out);
            for c in out {
                assert!(c.r == 0 && c.b == 0, "{c:?}");
                brightest = brightest.max(c.g);
            }
        }
        assert_eq!(brightest, 255);
        assert!(out.iter().any(|c| c.g < 30), "curtains have dark gaps");
        p.set(ParamId::Intensity, 0.0);
        Aurora.render(&ctx(5.0, &p), &mut out);
        assert_eq!(out, [Rgb::BLACK; 40]);
    }

    #[test]
    fn ocean_is_blue_with_foam_on_crests() {
        let p = ParamValues::defaults(Ocean.params());
        let mut out = [Rgb::BLACK; 32];
        Ocean.render(&ctx(0.0, &p), &mut out);
        // Both waves crest at pixel 0 at t = 0: hue 180°, 70 % foam (saturation 0.37), full level.
        assert_eq!(out[0], hsv(180.0, 0.37, 1.0));
        assert!(out[0].r > 100 && out[0].g == 255 && out[0].b == 255);
        for k in 0..50 {
            Ocean.render(&ctx(k as f64 * 0.21, &p), &mut out);
            assert!(
                out.iter().all(|c| c.b >= c.g && c.b >= c.r && c.b >= 63),
                "{out:?}"
            );
        }
    }
}
