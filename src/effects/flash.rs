//! Whole-zone flashing effects: strobe, blink and heartbeat, all in the zone colour.

use super::common::{by_speed, phase};
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues};
use crate::color::Rgb;

/// `density` of strobe: the share of each flash period that is lit (duty cycle).
const STROBE_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 5.0, 50.0, 15.0, 5.0, "%");
/// `density` of blink: the share of each blink period that is lit (duty cycle).
const BLINK_DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 10.0, 90.0, 50.0, 5.0, "%");
/// Heartbeat: the level between beats, as a share of full.
const HEARTBEAT_FLOOR: f32 = 0.1;
/// Heartbeat: decay time constant of each beat, seconds.
const HEARTBEAT_TAU: f64 = 0.1;

/// Whether a periodic on/off signal with `period` seconds and `duty` (0–1) is on at `t`.
fn on_at(t: f64, period: f64, duty: f32) -> bool {
    phase(t / period) < duty
}

/// Strobe: the whole zone flashes the zone colour in short bursts.
pub struct Strobe;

impl Strobe {
    /// Flashes per second: 1 (speed 1) to 15 (speed 100).
    pub fn hz(p: &ParamValues) -> f64 {
        by_speed(p, 1.0, 15.0)
    }
}

impl Effect for Strobe {
    fn name(&self) -> &'static str {
        "strobe"
    }
    fn describe(&self) -> &'static str {
        "the whole zone flashes the zone colour in short bursts; reads speed (1 to 15 flashes/s), \
         intensity (level), density (lit share of each flash, 5–50 %, default 15 %)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, STROBE_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let duty = STROBE_DENSITY.clamp(ctx.params.get(ParamId::Density)) / 100.0;
        let on = on_at(ctx.t, 1.0 / Strobe::hz(ctx.params), duty);
        out.fill(if on {
            ctx.color.scale(ctx.params.intensity01())
        } else {
            Rgb::BLACK
        });
    }
}

/// Blink: the whole zone switches between the zone colour and black.
pub struct Blink;

impl Blink {
    /// Seconds per on/off cycle: 2 s (speed 1) to 0.2 s (speed 100).
    pub fn period(p: &ParamValues) -> f64 {
        by_speed(p, 2.0, 0.2)
    }
}

impl Effect for Blink {
    fn name(&self) -> &'static str {
        "blink"
    }
    fn describe(&self) -> &'static str {
        "the whole zone blinks between the zone colour and black; reads speed (2 s to 0.2 s per blink), \
         intensity (level), density (lit share of each blink, 10–90 %, default 50 %)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY, BLINK_DENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let duty = BLINK_DENSITY.clamp(ctx.params.get(ParamId::Density)) / 100.0;
        let on = on_at(ctx.t, Blink::period(ctx.params), duty);
        out.fill(if on {
            ctx.color.scale(ctx.params.intensity01())
        } else {
            Rgb::BLACK
        });
    }
}

/// Heartbeat: the whole zone beats "lub-dub" in the zone colour, each beat decaying quickly.
pub struct Heartbeat;

impl Heartbeat {
    /// Seconds per beat: 40 bpm (speed 1) to 160 bpm (speed 100).
    pub fn beat_secs(p: &ParamValues) -> f64 {
        60.0 / by_speed(p, 40.0, 160.0)
    }

    /// Level 0–1 at `t` (before intensity): a full pulse at each beat, a 60 % one shortly after,
    /// each decaying with a 0.1 s time constant, over a 10 % floor.
    pub fn level(t: f64, p: &ParamValues) -> f32 {
        let beat = Heartbeat::beat_secs(p);
        let since = (t / beat).rem_euclid(1.0) * beat;
        let dub = (0.3 * beat).min(0.28);
        let mut pulse = libm::exp(-since / HEARTBEAT_TAU);
        if since >= dub {
            pulse += 0.6 * libm::exp(-(since - dub) / HEARTBEAT_TAU);
        }
        HEARTBEAT_FLOOR + (1.0 - HEARTBEAT_FLOOR) * (pulse as f32).min(1.0)
    }
}

impl Effect for Heartbeat {
    fn name(&self) -> &'static str {
        "heartbeat"
    }
    fn describe(&self) -> &'static str {
        "the whole zone beats lub-dub in the zone colour over a dim 10 % floor; \
         reads speed (40 to 160 beats per minute), intensity (level)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let level = Heartbeat::level(ctx.t, ctx.params) * ctx.params.intensity01();
        out.fill(ctx.color.scale(level));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::testing::{C, ctx};

    fn frame(e: &dyn Effect, t: f64, p: &ParamValues) -> [Rgb; 4] {
        let mut out = [Rgb::new(1, 2, 3); 4];
        e.render(&ctx(t, p), &mut out);
        out
    }

    #[test]
    fn strobe_is_on_only_at_the_start_of_each_flash() {
        let mut p = ParamValues::defaults(Strobe.params());
        p.set(ParamId::Speed, 1.0); // 1 Hz, 15 % duty
        assert_eq!(frame(&Strobe, 0.05, &p), [C; 4]);
        assert_eq!(frame(&Strobe, 0.2, &p), [Rgb::BLACK; 4]);
        assert_eq!(frame(&Strobe, 0.5, &p), [Rgb::BLACK; 4]);
        assert_eq!(frame(&Strobe, 1.1, &p), [C; 4]);
        p.set(ParamId::Speed, 100.0); // 15 Hz
        assert_eq!(frame(&Strobe, 1.0 / 15.0 + 0.005, &p), [C; 4]);
        assert_eq!(frame(&Strobe, 1.0 / 15.0 + 0.03, &p), [Rgb::BLACK; 4]);
    }

    #[test]
    fn blink_duty_cycle() {
        let mut p = ParamValues::defaults(Blink.params());
        p.set(ParamId::Speed, 1.0); // 2 s period, 50 % duty
        assert_eq!(frame(&Blink, 0.2, &p), [C; 4]);
        assert_eq!(frame(&Blink, 1.2, &p), [Rgb::BLACK; 4]);
        assert_eq!(frame(&Blink, 2.9, &p), [C; 4]);
        p.set(ParamId::Density, 90.0);
        p.set(ParamId::Intensity, 50.0);
        assert_eq!(frame(&Blink, 1.7, &p), [Rgb::new(100, 50, 0); 4]);
        assert_eq!(frame(&Blink, 1.9, &p), [Rgb::BLACK; 4]);
    }

    #[test]
    fn heartbeat_beats_twice_then_rests() {
        let mut p = ParamValues::defaults(Heartbeat.params());
        p.set(ParamId::Speed, 1.0); // 40 bpm: 1.5 s per beat, dub at 0.28 s
        assert_eq!(Heartbeat::level(0.0, &p), 1.0);
        assert_eq!(frame(&Heartbeat, 0.0, &p), [C; 4]);
        let before_dub = Heartbeat::level(0.27, &p);
        let dub = Heartbeat::level(0.281, &p);
        assert!(before_dub < 0.2 && dub > 0.6, "{before_dub} {dub}");
        assert!((Heartbeat::level(1.4, &p) - HEARTBEAT_FLOOR).abs() < 0.01);
        assert_eq!(frame(&Heartbeat, 1.4, &p), [C.scale(0.1); 4]);
        assert_eq!(Heartbeat::level(1.5, &p), 1.0, "next beat");
    }
}
