//! The four effects of the original Python system, with the exact look they had there (docs/EFFECTS.md).

use std::f64::consts::PI;

use super::common::hsv_fast;
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec};
use crate::color::{Rgb, wheel};

/// Snake step time: 100 ms at speed 1 down to 10 ms at speed 100, linear.
pub fn snake_step_secs(speed: f32) -> f64 {
    let s = ((speed.clamp(1.0, 100.0) - 1.0) / 99.0) as f64;
    0.100 - 0.090 * s
}

/// Where a snake of a zone of `n` (> 0) pixels is at `ctx.t`: the steps it has taken, its head's
/// pixel, and its length (`length` clamped, at most `n`).
fn snake_at(ctx: &EffectCtx, length: &ParamSpec, n: usize) -> (u64, usize, usize) {
    let steps = (ctx.t / snake_step_secs(ctx.params.get(ParamId::Speed))) as u64;
    let head = (steps % n as u64) as usize;
    let len = (length.clamp(ctx.params.get(ParamId::Length)) as usize).min(n);
    (steps, head, len)
}

/// Breathing: the whole zone swells between 15 % and 100 % of its colour.
pub struct Breathe;

impl Breathe {
    /// Level 0–1 at time `t` (before intensity).
    pub fn level(t: f64, speed: f32) -> f64 {
        let period = (8.0 - 0.072 * speed as f64).max(0.8);
        let p = (libm::sin(2.0 * PI * t / period - PI / 2.0) + 1.0) / 2.0;
        0.15 + 0.85 * p
    }
}

impl Effect for Breathe {
    fn name(&self) -> &'static str {
        "breathe"
    }
    fn describe(&self) -> &'static str {
        "whole zone breathes 15→100 % of its colour; period 8 s (speed 1) to 0.8 s; reads speed, intensity"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let level =
            Breathe::level(ctx.t, ctx.params.get(ParamId::Speed)) as f32 * ctx.params.intensity01();
        out.fill(ctx.color.scale(level));
    }
}

/// Colour fade: the whole zone sweeps the hue wheel once per period.
pub struct ColorFade;

impl ColorFade {
    pub fn hue(t: f64, speed: f32) -> f32 {
        let period = (20.0 - 0.18 * speed as f64).max(2.0);
        ((t / period).fract() * 360.0) as f32
    }
}

impl Effect for ColorFade {
    fn name(&self) -> &'static str {
        "color_fade"
    }
    fn describe(&self) -> &'static str {
        "whole zone sweeps the full hue wheel (or the palette) once per period, 20 s (speed 1) to 2 s; \
         reads speed, palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let hue = ColorFade::hue(ctx.t, ctx.params.get(ParamId::Speed));
        out.fill(match ctx.palette {
            Some(p) => p.wrap(hue / 360.0),
            None => wheel(hue),
        });
    }
}

/// Snake: a head in the zone colour runs along the zone with a fading tail.
pub struct Snake;

const SNAKE_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 1.0, 10.0, 5.0, 1.0, "px");
const COLOR_SNAKE_LENGTH: ParamSpec = ParamSpec::new(ParamId::Length, 3.0, 15.0, 7.0, 1.0, "px");

impl Effect for Snake {
    fn name(&self) -> &'static str {
        "snake"
    }
    fn describe(&self) -> &'static str {
        "a head in the zone colour runs along the zone, tail fading linearly; reads speed, length (1–10)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, SNAKE_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        out.fill(Rgb::BLACK);
        if n == 0 {
            return;
        }
        let (_, head, len) = snake_at(ctx, &SNAKE_LENGTH, n);
        for i in 0..len {
            let level = 1.0 - i as f32 / len as f32;
            out[(head + n - i) % n] = ctx.color.scale(level);
        }
    }
}

/// Colour snake: like snake, but the body is a drifting rainbow.
pub struct ColorSnake;

impl Effect for ColorSnake {
    fn name(&self) -> &'static str {
        "color_snake"
    }
    fn describe(&self) -> &'static str {
        "a rainbow snake (25° per segment, drifting 1° per step) runs along the zone; reads speed, length (3–15)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, COLOR_SNAKE_LENGTH]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let n = out.len();
        out.fill(Rgb::BLACK);
        if n == 0 {
            return;
        }
        let (steps, head, len) = snake_at(ctx, &COLOR_SNAKE_LENGTH, n);
        let base = ctx.color.to_hsv().0 + (steps % 360) as f32;
        for i in 0..len {
            // `wheel` without its `fmod` (the same colour: `common::hsv_fast`).
            out[(head + n - i) % n] = hsv_fast(base + 25.0 * i as f32, 1.0, 1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::ParamValues;
    use crate::effects::testing::ctx;

    #[test]
    fn breathe_follows_the_spec_formula() {
        let mut p = ParamValues::defaults(Breathe.params());
        p.set(ParamId::Speed, 50.0); // T = 8 - 3.6 = 4.4 s
        let mut out = [Rgb::BLACK; 3];
        Breathe.render(&ctx(0.0, &p), &mut out);
        assert_eq!(
            out[0],
            Rgb::new(200, 100, 0).scale(0.15),
            "starts at its minimum"
        );
        Breathe.render(&ctx(2.2, &p), &mut out);
        assert_eq!(out[2], Rgb::new(200, 100, 0), "peak at T/2");
        Breathe.render(&ctx(1.1, &p), &mut out);
        assert_eq!(out[1], Rgb::new(200, 100, 0).scale(0.575), "halfway at T/4");
        p.set(ParamId::Intensity, 50.0);
        Breathe.render(&ctx(2.2, &p), &mut out);
        assert_eq!(out[0], Rgb::new(100, 50, 0));
        // Period floor of 0.8 s at speed 100.
        assert!((Breathe::level(0.4, 100.0) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn color_fade_follows_the_spec_formula() {
        // speed 50 → T = 11 s; t = 2.75 s is a quarter turn.
        assert!((ColorFade::hue(2.75, 50.0) - 90.0).abs() < 1e-3);
        assert!((ColorFade::hue(11.0, 50.0)).abs() < 1e-3);
        // speed 100 → T = 2 s.
        assert!((ColorFade::hue(1.0, 100.0) - 180.0).abs() < 1e-3);
        let p = ParamValues::defaults(ColorFade.params());
        let mut out = [Rgb::BLACK; 2];
        ColorFade.render(&ctx(0.0, &p), &mut out);
        assert_eq!(out, [Rgb::new(255, 0, 0); 2]);
    }

    #[test]
    fn snake_head_tail_and_wrap() {
        assert!((snake_step_secs(1.0) - 0.1).abs() < 1e-12);
        assert!((snake_step_secs(100.0) - 0.01).abs() < 1e-12);
        let mut p = ParamValues::defaults(Snake.params());
        p.set(ParamId::Speed, 100.0); // 10 ms per step
        p.set(ParamId::Length, 4.0);
        let mut out = [Rgb::BLACK; 10];
        // t = 0.125 s → 12 steps → head at 12 mod 10 = 2, tail wraps to 9.
        Snake.render(&ctx(0.125, &p), &mut out);
        let c = Rgb::new(200, 100, 0);
        assert_eq!(out[2], c);
        assert_eq!(out[1], c.scale(0.75));
        assert_eq!(out[0], c.scale(0.5));
        assert_eq!(out[9], c.scale(0.25));
        assert_eq!(out[3..9], [Rgb::BLACK; 6]);
    }

    #[test]
    fn color_snake_rainbow_segments() {
        let mut p = ParamValues::defaults(ColorSnake.params());
        p.set(ParamId::Speed, 1.0); // 100 ms per step
        let mut out = [Rgb::BLACK; 20];
        let red = EffectCtx {
            t: 0.35, // 3 steps: head 3, base hue 0 + 3
            color: Rgb::new(255, 0, 0),
            params: &p,
            seed: 0,
            palette: None,
        };
        ColorSnake.render(&red, &mut out);
        assert_eq!(out[3], wheel(3.0));
        assert_eq!(out[2], wheel(28.0));
        assert_eq!(out[0], wheel(78.0));
        assert_eq!(out[17], wheel(153.0), "7th segment of the default length");
        assert_eq!(out[16], Rgb::BLACK);
    }
}
