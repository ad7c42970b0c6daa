//! Moving lights with tails: the scanner (Larson) eye, the comet and the meteor.
//!
//! Positions are smooth functions of time (sub-pixel), tails are measured in pixels behind the head,
//! and all three draw in the zone colour at `intensity` level.

use super::common::{by_speed, paint, phase, tri01};
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues, hash01};
use crate::color::Rgb;

/// `length` of scanner: the trail behind the eye.
const SCANNER_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 1.0, 30.0, 4.0, 1.0, "px");
/// `length` of comet: its tail.
const COMET_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 2.0, 30.0, 10.0, 1.0, "px");
/// `length` of meteor: its tail.
const METEOR_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 2.0, 30.0, 12.0, 1.0, "px");
/// Meteor: `intensity` is how much the tail sparkles (its pixels decay at random).
const METEOR_INTENSITY: ParamSpec = ParamSpec::new(ParamId::Intensity, 0.0, 100.0, 60.0, 5.0, "%");
/// How often the meteor's tail re-rolls its random decay, per second.
const METEOR_SPARKLE_HZ: f64 = 25.0;

/// Travel speed of comet and meteor in pixels per second: 4 (speed 1) to 120 (speed 100).
pub fn px_per_sec(p: &ParamValues) -> f64 {
    by_speed(p, 4.0, 120.0)
}

/// Scanner (Larson / Cylon): an eye in the zone colour sweeps end to end and back, trailing a fading tail.
pub struct Scanner;

impl Scanner {
    /// Seconds for a sweep there and back: 6 s (speed 1) to 0.6 s (speed 100).
    pub fn period(p: &ParamValues) -> f64 {
        by_speed(p, 6.0, 0.6)
    }

    /// Eye position (pixels from the first) and whether it is moving towards the end.
    pub fn eye(t: f64, p: &ParamValues, n: usize) -> (f32, bool) {
        let u = phase(t / Scanner::period(p));
        (tri01(u) * n.saturating_sub(1) as f32, u < 0.5)
    }
}

impl Effect for Scanner {
    fn name(&self) -> &'static str {
        "scanner"
    }
    fn describe(&self) -> &'static str {
        "Larson scanner: an eye in the zone colour sweeps to the end and back with a fading trail; \
         reads speed (6 s to 0.6 s per sweep), intensity (level), length (trail 1–30 px)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, SCANNER_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let (eye, forward) = Scanner::eye(ctx.t, ctx.params, out.len());
        let inv_len = 1.0 / SCANNER_LENGTH.clamp(ctx.params.get(ParamId::Length));
        let lit = ctx.color.scale(ctx.params.intensity01());
        for (i, px) in out.iter_mut().enumerate() {
            // Distance behind the eye (positive) or ahead of it (negative).
            let d = if forward {
                eye - i as f32
            } else {
                i as f32 - eye
            };
            let level = if d >= 0.0 { 1.0 - d * inv_len } else { 1.0 + d };
            *px = lit.scale(level);
        }
    }
}

/// Comet: a head in the zone colour circles the zone with a long, quadratically fading tail.
pub struct Comet;

impl Effect for Comet {
    fn name(&self) -> &'static str {
        "comet"
    }
    fn describe(&self) -> &'static str {
        "a comet in the zone colour (or the palette along the zone) circles the zone with a smoothly \
         fading tail; reads speed (4 to 120 px/s), intensity (level), length (tail 2–30 px), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, COMET_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        if n == 0 {
            return;
        }
        let head = (ctx.t * px_per_sec(ctx.params)).rem_euclid(n as f64) as f32;
        let inv_len = 1.0 / COMET_LENGTH.clamp(ctx.params.get(ParamId::Length));
        let level = ctx.params.intensity01();
        let inv_n = 1.0 / n as f32;
        for (i, px) in out.iter_mut().enumerate() {
            let lit = paint(ctx, i as f32 * inv_n).scale(level);
            let mut d = head - i as f32;
            if d < 0.0 {
                d += n as f32;
            }
            let level = (1.0 - d * inv_len).max(0.0);
            *px = lit.scale(level * level);
        }
    }
}

/// Meteor: a white-hot head in the zone colour crosses the zone, its tail decaying in random sparkles.
pub struct Meteor;

impl Meteor {
    /// Head position in pixels: runs from 0 to zone + tail length so the tail leaves before it re-enters.
    pub fn head(t: f64, p: &ParamValues, n: usize, len: f32) -> f32 {
        (t * px_per_sec(p)).rem_euclid(n as f64 + len as f64) as f32
    }
}

impl Effect for Meteor {
    fn name(&self) -> &'static str {
        "meteor"
    }
    fn describe(&self) -> &'static str {
        "a meteor with a white-hot head in the zone colour crosses the zone, its tail decaying in \
         random sparkles (a palette colours it by position); reads speed (4 to 120 px/s), intensity \
         (sparkle 0–100 %, default 60), length (tail 2–30 px), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, METEOR_INTENSITY, METEOR_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let len = METEOR_LENGTH.clamp(ctx.params.get(ParamId::Length));
        let head = Meteor::head(ctx.t, ctx.params, out.len(), len);
        let sparkle = ctx.params.intensity01();
        let bucket = (ctx.t.max(0.0) * METEOR_SPARKLE_HZ) as u64;
        let inv_len = 1.0 / len;
        let inv_n = 1.0 / out.len().max(1) as f32;
        for (i, px) in out.iter_mut().enumerate() {
            let color = paint(ctx, i as f32 * inv_n);
            let hot = color.lerp(Rgb::WHITE, 0.5);
            let d = head - i as f32;
            *px = if !(0.0..len).contains(&d) {
                Rgb::BLACK
            } else if d < 1.0 {
                hot
            } else {
                let decay = 1.0 - sparkle * hash01(ctx.seed, i as u64, bucket);
                color.scale((1.0 - d * inv_len) * decay)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::testing::{C, seeded};

    /// Frames of this file's random effects are drawn with seed 9.
    fn ctx(t: f64, p: &ParamValues) -> EffectCtx<'_> {
        seeded(t, p, 9)
    }

    #[test]
    fn scanner_sweeps_there_and_back_with_a_trail() {
        let mut p = ParamValues::defaults(Scanner.params());
        p.set(ParamId::Speed, 1.0); // 6 s per sweep
        let mut out = [Rgb::BLACK; 11];
        Scanner.render(&ctx(1.5, &p), &mut out); // a quarter: eye mid-zone, going forward
        assert_eq!(Scanner::eye(1.5, &p, 11), (5.0, true));
        assert_eq!(out[5], C);
        assert_eq!(out[4], C.scale(0.75));
        assert_eq!(out[2], C.scale(0.25));
        assert_eq!(out[1], Rgb::BLACK, "trail is 4 px");
        assert_eq!(out[6], Rgb::BLACK, "nothing ahead of the eye");
        Scanner.render(&ctx(3.0, &p), &mut out);
        assert_eq!(out[10], C, "at the far end at half period");
        Scanner.render(&ctx(4.5, &p), &mut out); // coming back: trail on the other side
        assert_eq!(out[5], C);
        assert_eq!(out[6], C.scale(0.75));
        assert_eq!(out[4], Rgb::BLACK);
    }

    #[test]
    fn comet_head_position_and_wrapping_tail() {
        let mut p = ParamValues::defaults(Comet.params());
        p.set(ParamId::Speed, 1.0); // 4 px/s, tail 10
        let mut out = [Rgb::BLACK; 20];
        Comet.render(&ctx(1.25, &p), &mut out); // head at pixel 5
        assert_eq!(out[5], C);
        assert_eq!(out[4], C.scale(0.81));
        assert_eq!(out[6], Rgb::BLACK);
        assert_eq!(out[15], Rgb::BLACK, "tail ends 10 px behind");
        Comet.render(&ctx(5.25, &p), &mut out); // 21 px → head at 1, tail wraps
        assert_eq!(out[1], C);
        assert_eq!(out[19], C.scale(0.64));
    }

    #[test]
    fn meteor_has_hot_head_and_dark_sky_ahead() {
        let mut p = ParamValues::defaults(Meteor.params());
        p.set(ParamId::Speed, 1.0); // 4 px/s, tail 12
        let mut out = [Rgb::BLACK; 30];
        Meteor.render(&ctx(2.5, &p), &mut out); // head at 10
        assert_eq!(Meteor::head(2.5, &p, 30, 12.0), 10.0);
        assert_eq!(out[10], C.lerp(Rgb::WHITE, 0.5));
        assert!(out[11..].iter().all(|c| *c == Rgb::BLACK));
        assert!(
            out[..10]
                .iter()
                .all(|c| c.r <= C.r && c.g <= C.g && c.b == 0)
        );
        p.set(ParamId::Intensity, 0.0); // no sparkle: a smooth linear tail
        Meteor.render(&ctx(2.5, &p), &mut out);
        assert_eq!(out[7], C.scale(0.75));
        // Lap is zone + tail = 42 px: at 10.5 s (42 px) the head is back at 0, the tail gone.
        Meteor.render(&ctx(10.5, &p), &mut out);
        assert_eq!(out[0], C.lerp(Rgb::WHITE, 0.5));
        assert!(out[1..].iter().all(|c| *c == Rgb::BLACK));
    }
}
