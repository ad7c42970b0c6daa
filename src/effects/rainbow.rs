//! Hue-wheel effects: a rainbow scrolling along the zone, the whole zone cycling the wheel, and plasma.
//!
//! All three start from the zone colour's hue and read `intensity` as saturation (0 % is white).

use super::common::{HueRow, by_speed, cos01, hsv_fast, phase};
use super::params::{DENSITY, INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec};
use crate::color::{Rgb, hsv};

/// `density` of rainbow: how many rainbows fit on the zone; 20 % is exactly one.
const RAINBOW_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 0.0, 100.0, 20.0, 5.0, "%");
/// `density` of plasma: how many colour blobs fit on the zone.
const PLASMA_DENSITY: ParamSpec = DENSITY;

/// Rainbow: the full hue wheel spread along the zone, scrolling towards its end.
pub struct Rainbow;

impl Rainbow {
    /// Rainbows across the zone: 0.25 at density 0 to 4 at density 100 (1 at 20 %).
    pub fn repeats(density01: f32) -> f32 {
        0.25 + 3.75 * density01
    }

    /// Seconds for the pattern to scroll one rainbow: 10 s (speed 1) to 0.5 s (speed 100).
    pub fn period(p: &super::ParamValues) -> f64 {
        by_speed(p, 10.0, 0.5)
    }
}

impl Effect for Rainbow {
    fn name(&self) -> &'static str {
        "rainbow"
    }
    fn describe(&self) -> &'static str {
        "the hue wheel (or the palette) spread along the zone, scrolling; reads speed (10 s to 0.5 s \
         per rainbow), intensity (saturation), density (0.25 to 4 rainbows, 20 % = one), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, RAINBOW_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        if n == 0 {
            return;
        }
        let p = ctx.params;
        let step = 360.0 * Rainbow::repeats(p.density01()) / n as f32;
        let base = ctx.color.to_hsv().0 - 360.0 * phase(ctx.t / Rainbow::period(p));
        let sat = p.intensity01();
        match ctx.palette {
            Some(pal) => {
                for (i, px) in out.iter_mut().enumerate() {
                    let h = base + step * i as f32;
                    *px = Rgb::WHITE.lerp(pal.wrap(h / 360.0), sat);
                }
            }
            None => {
                let mut row = HueRow::new(base, step, sat);
                out.fill_with(|| row.next());
            }
        }
    }
}

/// Rainbow cycle: the whole zone in one hue, turning round the wheel from the zone colour's hue.
pub struct RainbowCycle;

impl RainbowCycle {
    /// Hue at time `t`: one turn per 30 s (speed 1) to 1 s (speed 100), from `start`.
    pub fn hue(t: f64, p: &super::ParamValues, start: f32) -> f32 {
        start + 360.0 * phase(t / by_speed(p, 30.0, 1.0))
    }
}

impl Effect for RainbowCycle {
    fn name(&self) -> &'static str {
        "rainbow_cycle"
    }
    fn describe(&self) -> &'static str {
        "whole zone turns round the hue wheel (or the palette) from the zone colour's hue, 30 s \
         (speed 1) to 1 s per turn; reads speed, intensity (saturation), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let h = RainbowCycle::hue(ctx.t, ctx.params, ctx.color.to_hsv().0);
        let sat = ctx.params.intensity01();
        out.fill(match ctx.palette {
            Some(p) => Rgb::WHITE.lerp(p.wrap(h / 360.0), sat),
            None => hsv(h, sat, 1.0),
        });
    }
}

/// Plasma: three interfering waves of different length and speed set hue and brightness per pixel.
pub struct Plasma;

impl Plasma {
    /// Wavelength of the first wave in pixels: 40 (density 0) to 4 (density 100).
    pub fn wavelength(density01: f32) -> f32 {
        40.0 - 36.0 * density01
    }
}

impl Effect for Plasma {
    fn name(&self) -> &'static str {
        "plasma"
    }
    fn describe(&self) -> &'static str {
        "slowly churning colour blobs from three interfering waves, hue around the zone colour's; \
         reads speed, intensity (saturation), density (blob size, 40 to 4 px), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, PLASMA_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let p = ctx.params;
        let rate = ctx.t * by_speed(p, 0.02, 0.5);
        // Wave phases at this instant (cycles); each wave drifts at its own rate and direction.
        let (a, b, c) = (phase(rate), phase(-rate * 0.73), phase(rate * 0.41));
        let k = 1.0 / Plasma::wavelength(p.density01());
        let base = ctx.color.to_hsv().0;
        let sat = p.intensity01();
        for (i, px) in out.iter_mut().enumerate() {
            let x = i as f32 * k;
            let hue_wave = cos01(x - a) + cos01(x * 0.63 - b);
            let level = 0.3 + 0.7 * cos01(x * 0.29 - c);
            *px = match ctx.palette {
                Some(pal) => Rgb::WHITE.lerp(pal.wrap(0.5 * hue_wave), sat).scale(level),
                None => hsv_fast(base + 180.0 * hue_wave, sat, level),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::wheel;
    use crate::effects::ParamValues;

    /// Red, so that the wheel's start is easy to see.
    fn ctx(t: f64, p: &ParamValues) -> EffectCtx<'_> {
        EffectCtx {
            color: Rgb::new(255, 0, 0),
            ..crate::effects::testing::ctx(t, p)
        }
    }

    #[test]
    fn rainbow_spreads_one_wheel_and_scrolls_forward() {
        let mut p = ParamValues::defaults(Rainbow.params());
        p.set(ParamId::Speed, 1.0); // 10 s per rainbow
        let mut out = [Rgb::BLACK; 4];
        Rainbow.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out, [wheel(0.0), wheel(90.0), wheel(180.0), wheel(270.0)]);
        // A quarter period later the pattern has moved one pixel (a quarter of the zone) forward.
        Rainbow.render(&ctx(2.5, &p), &mut out);
        assert_eq!(out[1], wheel(0.0));
        assert_eq!(out[0], wheel(270.0));
        p.set(ParamId::Intensity, 0.0);
        Rainbow.render(&ctx(2.5, &p), &mut out);
        assert_eq!(out, [Rgb::WHITE; 4]);
    }

    #[test]
    fn rainbow_cycle_turns_from_the_zone_hue() {
        let mut p = ParamValues::defaults(RainbowCycle.params());
        p.set(ParamId::Speed, 1.0); // 30 s per turn
        let mut out = [Rgb::BLACK; 3];
        RainbowCycle.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out, [Rgb::new(255, 0, 0); 3]);
        RainbowCycle.render(&ctx(7.5, &p), &mut out);
        assert_eq!(out, [wheel(90.0); 3]);
        p.set(ParamId::Speed, 100.0); // 1 s per turn
        RainbowCycle.render(&ctx(0.5, &p), &mut out);
        assert_eq!(out, [wheel(180.0); 3]);
    }

    #[test]
    fn plasma_starts_at_the_zone_hue_and_varies_along_the_zone() {
        let p = ParamValues::defaults(Plasma.params());
        let mut out = [Rgb::BLACK; 30];
        Plasma.render(&ctx(0.0, &p), &mut out);
        // All three waves peak at pixel 0 at t = 0: hue base + 360, full level.
        assert_eq!(out[0], Rgb::new(255, 0, 0));
        let distinct = out.iter().filter(|c| **c != out[0]).count();
        assert!(distinct > 20, "only {distinct} pixels differ");
        assert!(
            out.iter().all(|c| c.channel_sum() >= 76),
            "level floor is 30 %"
        );
    }
}
