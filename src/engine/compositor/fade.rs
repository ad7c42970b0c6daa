//! Fades of the transition overlay, smooth at 8-bit depth and paced by how fast the output can move.
//!
//! A fade computes each channel exactly (in 1/256 steps, integer maths) and keeps that fraction next to
//! the 8-bit value (an RGBW zone's white plane too); the output pipeline applies gamma to the exact value (`GammaTable::apply_fine`),
//! so an hour-long fade moves each output channel by at most one level between frames instead of
//! stepping in visible jumps. Its frame interval ([`Fade::step_interval`]) is the time the output
//! needs to move by one level at the fade's fastest: a fade of seconds runs at the full frame rate,
//! a 24-hour fade would need a frame about once a minute (the render loop still draws one every
//! `render.refresh`, 5 s by default, for the periodic resend), and progress is always computed from the
//! fade's start instant, so it never drifts however rarely it is drawn.

use std::time::{Duration, Instant};

use crate::color::Rgb;
use crate::engine::settings::Easing;
use crate::engine::sunrise;

/// What a fade draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum FadeKind {
    /// A cross-fade from the snapshot to the zone's base layer.
    Cross,
    /// The sunrise curve (`engine/sunrise.rs`) towards this colour temperature.
    Sunrise { kelvin: u32 },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Fade {
    pub start: Instant,
    pub duration: Duration,
    pub kind: FadeKind,
}

/// The steepest the sunrise curve moves a channel, relative to a linear 0 → full ramp.
const SUNRISE_SLOPE: f64 = 2.5;

impl Fade {
    pub fn new(start: Instant, duration: Duration) -> Fade {
        Fade {
            start,
            duration,
            kind: FadeKind::Cross,
        }
    }

    /// Linear progress 0–1 at `now`, from the start instant (no accumulated error).
    pub fn progress(&self, now: Instant) -> f32 {
        let d = self.duration.as_secs_f64();
        if d <= 0.0 {
            return 1.0;
        }
        (now.saturating_duration_since(self.start).as_secs_f64() / d).min(1.0) as f32
    }

    pub fn active(&self, now: Instant) -> bool {
        self.progress(now) < 1.0
    }

    /// The longest frame interval at which no channel moves by more than one output level between
    /// frames: a full-range change (255 levels) times the strip's largest gamma step `max_step`
    /// times the fade's steepest slope, spread over its duration.
    pub fn step_interval(&self, max_step: u8, easing: Easing) -> Duration {
        let slope = match (self.kind, easing) {
            (FadeKind::Sunrise { .. }, _) => SUNRISE_SLOPE,
            (FadeKind::Cross, Easing::InOut) => 1.5,
            (FadeKind::Cross, Easing::Linear) => 1.0,
        };
        self.duration
            .div_f64(255.0 * max_step.max(1) as f64 * slope)
    }
}

/// Splits an exact channel value (0–255) into its 8-bit floor and the fraction in 1/256 steps.
#[inline]
fn split(v: f32) -> (u8, u8) {
    let v = v.clamp(0.0, 255.0);
    let whole = v as u8; // floor for v ≥ 0
    (whole, ((v - whole as f32) * 256.0) as u8)
}

/// Eased progress `k` (0–1) as a weight in 1/65536 steps, so that a blend is integer maths per
/// channel: fine enough that one step moves a channel by at most 1/256 of a level.
#[inline]
fn weight(k: f32) -> i32 {
    (k.clamp(0.0, 1.0) * 65536.0) as i32
}

/// `a + (b − a)·w/65536`, split like [`split`]: the 8-bit floor and the fraction in 1/256 steps.
#[inline]
fn mix(a: u8, b: u8, w: i32) -> (u8, u8) {
    let v = ((a as i32) << 8) + (((b as i32 - a as i32) * w) >> 8);
    let v = v.clamp(0, 255 << 8);
    ((v >> 8) as u8, v as u8)
}

/// Blends `from` → `to` at eased progress `k`, writing the 8-bit part to `out` and the fraction to
/// `frac`.
pub(super) fn blend(from: &[Rgb], to: &[Rgb], k: f32, out: &mut [Rgb], frac: &mut [[u8; 3]]) {
    let w = weight(k);
    for (((o, f), a), b) in out.iter_mut().zip(frac.iter_mut()).zip(from).zip(to) {
        let (r, fr) = mix(a.r, b.r, w);
        let (g, fg) = mix(a.g, b.g, w);
        let (bl, fb) = mix(a.b, b.b, w);
        *o = Rgb::new(r, g, bl);
        *f = [fr, fg, fb];
    }
}

/// [`blend`] for one level per pixel (an RGBW zone's white plane).
pub(super) fn blend_levels(from: &[u8], to: &[u8], k: f32, out: &mut [u8], frac: &mut [u8]) {
    let w = weight(k);
    for (((o, f), &a), &b) in out.iter_mut().zip(frac.iter_mut()).zip(from).zip(to) {
        (*o, *f) = mix(a, b, w);
    }
}

/// Fills the zone with the sunrise colour at progress `p` for a zone at `level` (zone × master).
pub(super) fn sunrise(p: f32, kelvin: u32, level: u8, out: &mut [Rgb], frac: &mut [[u8; 3]]) {
    let c = sunrise::color_at(p, kelvin, level).map(split);
    out.fill(Rgb::new(c[0].0, c[1].0, c[2].0));
    frac.fill([c[0].1, c[1].1, c[2].1]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::pipeline::GammaTable;

    /// Renders a fade at its own pace through gamma 2.2 and returns the output levels per frame.
    fn run(fade: Fade, frame: impl Fn(f32, &mut [Rgb], &mut [[u8; 3]])) -> Vec<[u8; 3]> {
        let g = GammaTable::new(2.2);
        let every = fade.step_interval(g.max_step(), Easing::InOut);
        let mut out = vec![];
        let mut t = fade.start;
        loop {
            let p = fade.progress(t);
            let (mut px, mut fr) = ([Rgb::BLACK], [[0u8; 3]]);
            frame(p, &mut px, &mut fr);
            out.push([
                g.apply_fine(px[0].r, fr[0][0]),
                g.apply_fine(px[0].g, fr[0][1]),
                g.apply_fine(px[0].b, fr[0][2]),
            ]);
            if p >= 1.0 {
                return out;
            }
            t += every;
        }
    }

    fn max_step(levels: &[[u8; 3]]) -> u8 {
        levels
            .windows(2)
            .flat_map(|w| (0..3).map(move |c| w[0][c].abs_diff(w[1][c])))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn an_hour_long_fade_never_steps_more_than_one_level_and_draws_few_frames() {
        let start = Instant::now();
        let fade = Fade::new(start, Duration::from_secs(3600));
        let (from, to) = ([Rgb::BLACK], [Rgb::new(255, 180, 40)]);
        let levels = run(fade, |p, out, frac| {
            blend(&from, &to, Easing::InOut.apply(p), out, frac)
        });
        assert_eq!(levels.first(), Some(&[0, 0, 0]));
        let g = GammaTable::new(2.2).apply(to[0]);
        assert_eq!(
            levels.last(),
            Some(&[g.r, g.g, g.b]),
            "ends on the target (after gamma)"
        );
        assert_eq!(max_step(&levels), 1, "no step larger than one level");
        // 255 levels × gamma step 3 × slope 1.5: about 1150 frames for an hour, not 216 000.
        assert!(levels.len() < 1200, "{} frames", levels.len());
        // 24 hours: the same number of frames, about 75 s apart.
        let day = Fade::new(start, Duration::from_secs(86_400));
        let every = day.step_interval(3, Easing::InOut);
        assert!(every > Duration::from_secs(70), "{every:?}");
        assert_eq!(
            day.progress(start + Duration::from_secs(43_200)),
            0.5,
            "no drift at 12 h"
        );
    }

    #[test]
    fn the_integer_blend_is_the_exact_blend_to_within_a_256th_of_a_level_and_exact_at_both_ends() {
        let fine = |(whole, frac): (u8, u8)| whole as i32 * 256 + frac as i32;
        for a in (0..=255u8).step_by(5) {
            for b in (0..=255u8).step_by(3) {
                assert_eq!(mix(a, b, weight(0.0)), (a, 0));
                assert_eq!(mix(a, b, weight(1.0)), (b, 0));
                for k in [0.001, 0.1, 1.0 / 3.0, 0.5, 0.9, 0.9999] {
                    let exact = split(a as f32 + (b as f32 - a as f32) * k);
                    let int = mix(a, b, weight(k));
                    assert!(
                        (fine(exact) - fine(int)).abs() <= 1,
                        "{a} → {b} at {k}: {exact:?} vs {int:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_half_hour_sunrise_is_smooth_too() {
        let fade = Fade {
            start: Instant::now(),
            duration: Duration::from_secs(1800),
            kind: FadeKind::Sunrise { kelvin: 5000 },
        };
        let levels = run(fade, |p, out, frac| sunrise(p, 5000, 255, out, frac));
        assert_eq!(levels.first(), Some(&[0, 0, 0]));
        assert_eq!(max_step(&levels), 1);
        let last = levels.last().unwrap();
        assert!(last[0] == 255 && last[2] > 150, "ends at 5000 K: {last:?}");
    }

    #[test]
    fn short_fades_are_unchanged_at_whole_levels() {
        let mut out = [Rgb::BLACK; 1];
        let mut frac = [[0u8; 3]; 1];
        blend(
            &[Rgb::new(0, 100, 200)],
            &[Rgb::new(200, 100, 0)],
            0.5,
            &mut out,
            &mut frac,
        );
        assert_eq!(out[0], Rgb::new(100, 100, 100));
        assert_eq!(frac[0], [0, 0, 0]);
        blend(
            &[Rgb::BLACK],
            &[Rgb::new(1, 0, 0)],
            0.25,
            &mut out,
            &mut frac,
        );
        assert_eq!((out[0], frac[0]), (Rgb::BLACK, [64, 0, 0]));
    }
}
