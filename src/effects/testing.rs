//! What the effects' unit tests share: one way to build the context an effect draws a frame from.

use super::{EffectCtx, ParamValues};
use crate::color::Rgb;

/// The zone colour most effect tests draw in (every channel different, none at 0 or 255 but R).
pub const C: Rgb = Rgb::new(200, 100, 0);

/// The context of a frame at `t` seconds with parameters `p`: colour [`C`], seed 0, no palette.
/// A test that needs another colour says so: `EffectCtx { color, ..ctx(t, p) }`.
pub fn ctx(t: f64, p: &ParamValues) -> EffectCtx<'_> {
    seeded(t, p, 0)
}

/// [`ctx`] with the zone's random seed.
pub fn seeded(t: f64, p: &ParamValues, seed: u64) -> EffectCtx<'_> {
    EffectCtx {
        t,
        color: C,
        params: p,
        seed,
        palette: None,
    }
}
