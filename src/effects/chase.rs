//! Chase effects: colour wipe, theater chase, running lights and police lights.
//!
//! Colour-driven ones light in the zone colour and read `intensity` as the level of that light.

use super::common::{by_speed, cos01, paint, phase};
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues};
use crate::color::Rgb;

/// `length` of theater chase: the spacing between lit pixels.
const THEATER_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 2.0, 10.0, 3.0, 1.0, "px");
/// `length` of running lights: the wavelength of the moving brightness wave.
const RUNNING_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 4.0, 30.0, 12.0, 1.0, "px");

/// Colour wipe: the zone colour fills the zone from its first pixel to its last, then black wipes it off.
pub struct ColorWipe;

impl ColorWipe {
    /// Seconds for one pass (fill or clear): 8 s (speed 1) to 0.4 s (speed 100).
    pub fn pass_secs(p: &ParamValues) -> f64 {
        by_speed(p, 8.0, 0.4)
    }
}

impl Effect for ColorWipe {
    fn name(&self) -> &'static str {
        "color_wipe"
    }
    fn describe(&self) -> &'static str {
        "the zone colour wipes on from the first pixel to the last, then black wipes it off; \
         reads speed (8 s to 0.4 s per pass), intensity (level)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        let passes = ctx.t / ColorWipe::pass_secs(ctx.params);
        let front = phase(passes) * n as f32;
        let lit = ctx.color.scale(ctx.params.intensity01());
        let (behind, ahead) = if (passes.floor() as u64) % 2 == 0 {
            (lit, Rgb::BLACK)
        } else {
            (Rgb::BLACK, lit)
        };
        // Pixel i is covered by `front - i` (clamped to 0–1): wholly behind the front, the leading
        // pixel blending, wholly ahead.
        let lead = (front.max(0.0) as usize).min(n);
        out[..lead].fill(behind);
        if let Some((px, rest)) = out[lead..].split_first_mut() {
            *px = ahead.lerp(behind, front - lead as f32);
            rest.fill(ahead);
        }
    }
}

/// Theater chase: every `length`-th pixel lit in the zone colour, the pattern stepping along the zone.
pub struct TheaterChase;

impl TheaterChase {
    /// Seconds per one-pixel step: 300 ms (speed 1) to 30 ms (speed 100).
    pub fn step_secs(p: &ParamValues) -> f64 {
        by_speed(p, 0.3, 0.03)
    }
}

impl Effect for TheaterChase {
    fn name(&self) -> &'static str {
        "theater_chase"
    }
    fn describe(&self) -> &'static str {
        "every length-th pixel lit in the zone colour, marching along like marquee lights; \
         reads speed (300 ms to 30 ms per step), intensity (level), length (spacing 2–10), palette \
         (colours along the zone)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, THEATER_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let gap = THEATER_LENGTH.clamp(ctx.params.get(ParamId::Length)) as usize;
        let step = (ctx.t.max(0.0) / TheaterChase::step_secs(ctx.params)) as u64;
        let on = (step % gap as u64) as usize;
        let level = ctx.params.intensity01();
        let inv_n = 1.0 / out.len().max(1) as f32;
        let lit = ctx.color.scale(level);
        out.fill(Rgb::BLACK);
        for i in (on..out.len()).step_by(gap.max(1)) {
            out[i] = match ctx.palette {
                Some(_) => paint(ctx, i as f32 * inv_n).scale(level),
                None => lit,
            };
        }
    }
}

/// Running lights: a smooth brightness wave of the zone colour travelling along the zone.
pub struct RunningLights;

impl RunningLights {
    /// Travel speed in pixels per second: 2 (speed 1) to 60 (speed 100).
    pub fn px_per_sec(p: &ParamValues) -> f64 {
        by_speed(p, 2.0, 60.0)
    }
}

impl Effect for RunningLights {
    fn name(&self) -> &'static str {
        "running_lights"
    }
    fn describe(&self) -> &'static str {
        "smooth waves of the zone colour travel along the zone; reads speed (2 to 60 px/s), \
         intensity (wave depth: 0 % steady, 100 % troughs black), length (wavelength 4–30 px), palette \
         (colours along the zone)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, RUNNING_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let wl = RUNNING_LENGTH.clamp(ctx.params.get(ParamId::Length));
        let shift = phase(ctx.t * RunningLights::px_per_sec(ctx.params) / wl as f64);
        let depth = ctx.params.intensity01();
        let k = 1.0 / wl;
        let inv_n = 1.0 / out.len().max(1) as f32;
        for (i, px) in out.iter_mut().enumerate() {
            let wave = cos01(i as f32 * k - shift);
            *px = paint(ctx, i as f32 * inv_n).scale(1.0 - depth * (1.0 - wave));
        }
    }
}

/// Police: the first half double-flashes red, then the second half double-flashes blue.
pub struct Police;

impl Police {
    /// Seconds for the whole red–blue cycle of eight slots: 1.6 s (speed 1) to 0.4 s (speed 100).
    pub fn cycle_secs(p: &ParamValues) -> f64 {
        by_speed(p, 1.6, 0.4)
    }
}

const POLICE_RED: Rgb = Rgb::new(255, 0, 0);
const POLICE_BLUE: Rgb = Rgb::new(0, 0, 255);

impl Effect for Police {
    fn name(&self) -> &'static str {
        "police"
    }
    fn describe(&self) -> &'static str {
        "emergency lights: first half of the zone double-flashes red, then the second half blue; \
         reads speed (1.6 s to 0.4 s per cycle), intensity (level)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let slot = (phase(ctx.t / Police::cycle_secs(ctx.params)) * 8.0) as u32;
        let level = ctx.params.intensity01();
        let half = out.len().div_ceil(2);
        let (first, second) = match slot {
            0 | 2 => (POLICE_RED.scale(level), Rgb::BLACK),
            4 | 6 => (Rgb::BLACK, POLICE_BLUE.scale(level)),
            _ => (Rgb::BLACK, Rgb::BLACK),
        };
        let (a, b) = out.split_at_mut(half);
        a.fill(first);
        b.fill(second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::testing::{C, ctx};

    #[test]
    fn color_wipe_fills_then_clears() {
        let mut p = ParamValues::defaults(ColorWipe.params());
        p.set(ParamId::Speed, 1.0); // 8 s per pass
        let mut out = [Rgb::BLACK; 10];
        ColorWipe.render(&ctx(4.0, &p), &mut out);
        assert_eq!(out[..5], [C; 5], "half wiped on");
        assert_eq!(out[5..], [Rgb::BLACK; 5]);
        ColorWipe.render(&ctx(4.4, &p), &mut out);
        assert_eq!(out[5], Rgb::BLACK.lerp(C, 0.5), "the leading pixel blends");
        ColorWipe.render(&ctx(12.0, &p), &mut out);
        assert_eq!(out[..5], [Rgb::BLACK; 5], "second pass clears");
        assert_eq!(out[5..], [C; 5]);
        p.set(ParamId::Intensity, 50.0);
        ColorWipe.render(&ctx(7.99, &p), &mut out);
        assert_eq!(out[0], Rgb::new(100, 50, 0));
    }

    /// The fill-based drawing equals the per-pixel definitions: a wipe's pixel `i` is
    /// `ahead.lerp(behind, front - i)`, a chase lights `i % gap == on`.
    #[test]
    fn wipe_and_chase_match_their_per_pixel_definitions() {
        for n in [0usize, 1, 2, 7, 125] {
            let mut out = vec![Rgb::BLACK; n];
            for k in 0..400 {
                let t = k as f64 * 0.0371;
                let mut p = ParamValues::defaults(ColorWipe.params());
                p.set(ParamId::Speed, 90.0);
                ColorWipe.render(&ctx(t, &p), &mut out);
                let passes = t / ColorWipe::pass_secs(&p);
                let front = phase(passes) * n as f32;
                let (behind, ahead) = if (passes.floor() as u64) % 2 == 0 {
                    (C, Rgb::BLACK)
                } else {
                    (Rgb::BLACK, C)
                };
                for (i, px) in out.iter().enumerate() {
                    assert_eq!(
                        *px,
                        ahead.lerp(behind, front - i as f32),
                        "wipe n={n} t={t} i={i}"
                    );
                }
                let mut p = ParamValues::defaults(TheaterChase.params());
                p.set(ParamId::Length, (2 + k % 9) as f32);
                TheaterChase.render(&ctx(t, &p), &mut out);
                let gap = 2 + k % 9;
                let on = (t / TheaterChase::step_secs(&p)) as usize % gap;
                for (i, px) in out.iter().enumerate() {
                    let want = if i % gap == on { C } else { Rgb::BLACK };
                    assert_eq!(*px, want, "chase n={n} t={t} i={i}");
                }
            }
        }
    }

    #[test]
    fn theater_chase_steps_every_third_pixel() {
        let mut p = ParamValues::defaults(TheaterChase.params());
        p.set(ParamId::Speed, 1.0); // 300 ms per step
        let mut out = [Rgb::BLACK; 7];
        let k = Rgb::BLACK;
        TheaterChase.render(&ctx(0.1, &p), &mut out);
        assert_eq!(out, [C, k, k, C, k, k, C]);
        TheaterChase.render(&ctx(0.4, &p), &mut out);
        assert_eq!(out, [k, C, k, k, C, k, k]);
        p.set(ParamId::Length, 4.0);
        TheaterChase.render(&ctx(0.95, &p), &mut out); // step 3
        assert_eq!(out, [k, k, k, C, k, k, k]);
    }

    #[test]
    fn running_lights_crest_moves_along() {
        let mut p = ParamValues::defaults(RunningLights.params());
        p.set(ParamId::Speed, 1.0); // 2 px/s, wavelength 12
        let mut out = [Rgb::BLACK; 24];
        RunningLights.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out[0], C);
        assert_eq!(out[12], C);
        assert_eq!(out[6], Rgb::BLACK);
        RunningLights.render(&ctx(1.5, &p), &mut out); // moved 3 px
        assert_eq!(out[3], C);
        assert_eq!(out[9], Rgb::BLACK);
        p.set(ParamId::Intensity, 0.0);
        RunningLights.render(&ctx(1.5, &p), &mut out);
        assert_eq!(out, [C; 24], "no depth, steady colour");
    }

    #[test]
    fn police_alternates_halves() {
        let mut p = ParamValues::defaults(Police.params());
        p.set(ParamId::Speed, 1.0); // 1.6 s cycle, 0.2 s slots
        let mut out = [Rgb::BLACK; 5];
        let (r, b, k) = (POLICE_RED, POLICE_BLUE, Rgb::BLACK);
        Police.render(&ctx(0.1, &p), &mut out);
        assert_eq!(out, [r, r, r, k, k]);
        Police.render(&ctx(0.3, &p), &mut out);
        assert_eq!(out, [k; 5]);
        Police.render(&ctx(0.5, &p), &mut out);
        assert_eq!(out, [r, r, r, k, k]);
        Police.render(&ctx(0.9, &p), &mut out);
        assert_eq!(out, [k, k, k, b, b]);
        Police.render(&ctx(1.5, &p), &mut out);
        assert_eq!(out, [k; 5]);
    }
}
