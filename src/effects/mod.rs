//! The effect library: every effect is a pure function of time, zone geometry, parameters and zone colour.
//!
//! An effect is a unit struct implementing [`Effect`]; [`REGISTRY`] lists them all in one place (the
//! order is the order Home Assistant shows). Effects never read the clock, never allocate and never do
//! I/O: the compositor passes the elapsed time in, and random effects derive their randomness from
//! [`hash`] of a seed, the pixel and a time bucket, so any frame can be recomputed exactly.
//! Effects render at full zone brightness; the compositor applies zone × master brightness afterwards.

pub mod params;

mod ambient;
mod chase;
mod common;
mod fire;
mod flash;
mod originals;
mod rainbow;
mod sparkle;
#[cfg(test)]
pub(crate) mod testing;
mod trails;

pub use params::{PARAM_COUNT, ParamId, ParamSpec, ParamValues};

use crate::color::Rgb;
use crate::palette::Palette;

/// What an effect may read to draw one frame.
#[derive(Clone, Copy, Debug)]
pub struct EffectCtx<'a> {
    /// Seconds since the effect started on this zone.
    pub t: f64,
    /// The zone's colour (full brightness).
    pub color: Rgb,
    pub params: &'a ParamValues,
    /// Per-zone seed for random effects.
    pub seed: u64,
    /// The zone's palette; effects that take one draw from it instead of the zone colour (`None` = the
    /// zone colour, the default).
    pub palette: Option<&'a Palette>,
}

/// One effect.
pub trait Effect: Sync {
    /// Stable name used in MQTT, the state file and Home Assistant's effect list.
    fn name(&self) -> &'static str;
    /// One line: what it looks like and which parameters it reads.
    fn describe(&self) -> &'static str;
    /// The parameters it reads, with its own ranges and defaults.
    fn params(&self) -> &'static [ParamSpec];
    /// Draws the frame at `ctx.t` into `out` (one entry per zone pixel, logical order).
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]);
}

/// Every effect, in the order shown to users.
pub static REGISTRY: &[&dyn Effect] = &[
    &originals::Breathe,
    &originals::ColorFade,
    &originals::Snake,
    &originals::ColorSnake,
    &rainbow::Rainbow,
    &rainbow::RainbowCycle,
    &chase::ColorWipe,
    &chase::TheaterChase,
    &chase::RunningLights,
    &trails::Scanner,
    &trails::Comet,
    &trails::Meteor,
    &sparkle::Twinkle,
    &sparkle::Sparkle,
    &sparkle::Matrix,
    &flash::Strobe,
    &flash::Blink,
    &flash::Heartbeat,
    &chase::Police,
    &fire::Fire,
    &fire::Candle,
    &ambient::Gradient,
    &ambient::Aurora,
    &ambient::Ocean,
    &rainbow::Plasma,
];

/// The effects that draw from the zone's palette when one is set (the others ignore it).
pub const PALETTE_EFFECTS: &[&str] = &[
    "color_fade",
    "rainbow",
    "rainbow_cycle",
    "theater_chase",
    "running_lights",
    "comet",
    "meteor",
    "twinkle",
    "matrix",
    "fire",
    "gradient",
    "aurora",
    "ocean",
    "plasma",
];

/// Number of registered effects (sizes the per-zone parameter memory).
pub fn count() -> usize {
    REGISTRY.len()
}

/// Index of the effect called `name`.
pub fn find(name: &str) -> Option<usize> {
    REGISTRY.iter().position(|e| e.name() == name)
}

/// The declaration of parameter `id` for effect `effect`, if it reads it.
pub fn param_spec(effect: usize, id: ParamId) -> Option<ParamSpec> {
    REGISTRY
        .get(effect)?
        .params()
        .iter()
        .copied()
        .find(|p| p.id == id)
}

/// A 32-bit hash of a seed and two coordinates (SplitMix64 finaliser): the effects' source of randomness.
#[inline]
pub fn hash(seed: u64, a: u64, b: u64) -> u32 {
    let mut z =
        seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u32
}

/// [`hash`] mapped to 0–1.
#[inline]
pub fn hash01(seed: u64, a: u64, b: u64) -> f32 {
    hash(seed, a, b) as f32 / u32::MAX as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Properties every effect must have: deterministic, changes over time, fills every pixel.
    #[test]
    fn every_effect_is_deterministic_and_animated() {
        let mut names = std::collections::HashSet::new();
        for e in REGISTRY {
            assert!(names.insert(e.name()), "duplicate effect name {}", e.name());
            assert!(!e.describe().is_empty());
            let p = ParamValues::defaults(e.params());
            let mut seen_change = false;
            let mut first = vec![Rgb::BLACK; 60];
            let mut a = vec![Rgb::BLACK; 60];
            let mut b = vec![Rgb::BLACK; 60];
            for step in 0..200 {
                let ctx = EffectCtx {
                    t: step as f64 * 0.05,
                    color: Rgb::new(255, 120, 20),
                    params: &p,
                    seed: 7,
                    palette: None,
                };
                e.render(&ctx, &mut a);
                e.render(&ctx, &mut b);
                assert_eq!(a, b, "{} is not deterministic", e.name());
                if step == 0 {
                    first.copy_from_slice(&a);
                } else if a != first {
                    seen_change = true;
                }
            }
            assert!(seen_change, "{} never changes over 10 s", e.name());
            // One-pixel zones must not panic.
            let ctx = EffectCtx {
                t: 1.234,
                color: Rgb::WHITE,
                params: &p,
                seed: 1,
                palette: None,
            };
            e.render(&ctx, &mut [Rgb::BLACK; 1]);
        }
    }

    /// A palette changes what the palette effects draw, and nothing else; no palette is the old look.
    #[test]
    fn palette_effects_draw_from_the_palette() {
        let palettes = crate::palette::Palettes::default();
        let ocean = palettes.get(palettes.find("ocean").unwrap());
        for e in REGISTRY {
            let p = ParamValues::defaults(e.params());
            let frame = |t: f64, palette| {
                let mut out = vec![Rgb::BLACK; 40];
                let ctx = EffectCtx {
                    t,
                    color: Rgb::new(255, 120, 20),
                    params: &p,
                    seed: 7,
                    palette,
                };
                e.render(&ctx, &mut out);
                out
            };
            let differs =
                (0..40).any(|k| frame(k as f64 * 0.37, None) != frame(k as f64 * 0.37, ocean));
            assert_eq!(
                differs,
                PALETTE_EFFECTS.contains(&e.name()),
                "{}: palette changes the output = {differs}",
                e.name()
            );
        }
        assert!(PALETTE_EFFECTS.len() >= 10);
        assert!(PALETTE_EFFECTS.iter().all(|n| find(n).is_some()));
    }

    #[test]
    fn hash_is_spread() {
        let ones: u32 = (0..1000).map(|i| hash(1, i, 0) & 1).sum();
        assert!((400..600).contains(&ones));
        assert_ne!(hash(1, 2, 3), hash(1, 3, 2));
    }
}
