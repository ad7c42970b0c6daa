//! Flame effects: fire (noise-driven heat through a black–red–yellow palette) and candle flicker.
//!
//! Both are stateless: heat and flicker are smooth value noise over pixel and time (see
//! [`NoiseRow`]), not a simulated heat array, so any frame can be recomputed from its time alone.

use super::common::{NoiseRow, by_speed, noise1, smooth};
use super::params::{INTENSITY, SPEED};
use super::{Effect, EffectCtx, ParamId, ParamSpec, ParamValues};
use crate::color::Rgb;

/// `intensity` of candle: how deep the flicker goes.
const CANDLE_INTENSITY: ParamSpec = ParamSpec::new(ParamId::Intensity, 0.0, 100.0, 60.0, 5.0, "%");
/// Seed salts so the effects' noise fields are independent of each other.
const FIRE_FINE_SALT: u64 = 0x5EED_F1AE;
const CANDLE_SALT: u64 = 0xCA4D_1E00;

/// Fire palette: heat 0–1 → black, red, orange, yellow with a hint of blue at the very top.
/// Green never exceeds red and blue stays ≤ 38. A 256-entry table, so a pixel costs one lookup.
pub fn heat_color(heat: f32) -> Rgb {
    let h = heat.clamp(0.0, 1.0); // NaN stays NaN and indexes entry 0
    HEAT_PALETTE[(h * 255.0 + 0.5) as usize]
}

/// [`heat_color`] at heat `i / 255`, built at compile time.
static HEAT_PALETTE: [Rgb; 256] = heat_palette();

const fn heat_palette() -> [Rgb; 256] {
    const fn unit(f: f32) -> f32 {
        if f < 0.0 {
            0.0
        } else if f > 1.0 {
            1.0
        } else {
            f
        }
    }
    const fn q(f: f32) -> u8 {
        (f * 255.0 + 0.5) as u8
    }
    let mut out = [Rgb::BLACK; 256];
    let mut i = 0;
    while i < 256 {
        let h = i as f32 / 255.0 * 2.5;
        out[i] = Rgb::new(q(unit(h)), q(unit(h - 0.9) * 0.75), q(unit(h - 2.0) * 0.3));
        i += 1;
    }
    out
}

/// Fire: flickering flames, hottest at the zone's first pixel, rising towards its end.
pub struct Fire;

impl Fire {
    /// Noise cells per second (how fast the flames change): 2 (speed 1) to 20 (speed 100).
    pub fn rate(p: &ParamValues) -> f64 {
        by_speed(p, 2.0, 20.0)
    }
}

impl Effect for Fire {
    fn name(&self) -> &'static str {
        "fire"
    }
    fn describe(&self) -> &'static str {
        "flickering flames rising from the zone's first pixel in a black–red–yellow fire palette \
         (ignores the zone colour; a palette replaces the fire colours, heat 0 → its start, full → \
         its end); reads speed (flicker rate), intensity (heat), palette"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let y = ctx.t.max(0.0) * Fire::rate(ctx.params);
        // The coarse field rises at 0.6 cells per noise step; the fine one churns faster in place.
        let mut coarse = NoiseRow::with_offset(ctx.seed, y, -0.6 * y);
        let mut fine = NoiseRow::new(ctx.seed ^ FIRE_FINE_SALT, y * 2.3);
        let heat_scale = 0.35 + 0.65 * ctx.params.intensity01();
        let cooling = 0.75 / out.len().max(1) as f32;
        for (i, px) in out.iter_mut().enumerate() {
            let x = i as f32;
            let noise = 0.65 * coarse.at(x * 0.25) + 0.35 * fine.at(x * 0.6);
            let flame = smooth((noise - 0.2) * 1.8);
            let heat = flame * (1.0 - cooling * x) * heat_scale;
            *px = match ctx.palette {
                Some(p) => p.at01(heat),
                None => heat_color(heat),
            };
        }
    }
}

/// Candle: the zone colour flickers like a candle flame, mostly together with slight per-pixel variation.
pub struct Candle;

impl Candle {
    /// Noise steps per second: 2 (speed 1) to 16 (speed 100).
    pub fn rate(p: &ParamValues) -> f64 {
        by_speed(p, 2.0, 16.0)
    }
}

impl Effect for Candle {
    fn name(&self) -> &'static str {
        "candle"
    }
    fn describe(&self) -> &'static str {
        "the zone colour flickers like a candle flame, mostly in unison; reads speed (flicker rate), \
         intensity (flicker depth, default 60 %: 0 % is steady)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        &[SPEED, CANDLE_INTENSITY]
    }
    fn render(&self, ctx: &EffectCtx, out: &mut [Rgb]) {
        let y = ctx.t.max(0.0) * Candle::rate(ctx.params);
        let seed = ctx.seed ^ CANDLE_SALT;
        let shared = 0.6 * noise1(seed, 0, y) + 0.4 * noise1(seed, 1, y * 2.7);
        let mut local = NoiseRow::new(seed.rotate_left(17), y * 1.5);
        let depth = ctx.params.intensity01();
        for (i, px) in out.iter_mut().enumerate() {
            let dip = 0.75 * (1.0 - shared) + 0.25 * (1.0 - local.at(i as f32 * 0.5));
            *px = ctx.color.scale(1.0 - depth * dip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(t: f64, color: Rgb, p: &ParamValues) -> EffectCtx<'_> {
        EffectCtx {
            color,
            seed: 42,
            ..crate::effects::testing::ctx(t, p)
        }
    }

    #[test]
    fn heat_palette_endpoints() {
        assert_eq!(heat_color(0.0), Rgb::BLACK);
        assert_eq!(heat_color(0.2), Rgb::new(128, 0, 0));
        assert_eq!(heat_color(1.0), Rgb::new(255, 191, 38));
        assert_eq!(heat_color(f32::NAN), Rgb::BLACK);
    }

    #[test]
    fn fire_is_red_dominant_and_hottest_at_the_base() {
        let p = ParamValues::defaults(Fire.params());
        let mut out = [Rgb::BLACK; 30];
        let (mut base, mut tip, mut max_r) = (0u32, 0u32, 0u8);
        for k in 0..200 {
            // Zone colour is ignored: pass blue to prove it.
            Fire.render(&ctx(k as f64 * 0.037, Rgb::new(0, 0, 255), &p), &mut out);
            for c in out {
                assert!(c.g <= c.r && c.b <= 38, "{c:?}");
                max_r = max_r.max(c.r);
            }
            base += out[..5].iter().map(|c| c.channel_sum()).sum::<u32>();
            tip += out[25..].iter().map(|c| c.channel_sum()).sum::<u32>();
        }
        assert!(max_r == 255, "flames reach full red");
        assert!(base > tip * 3 / 2, "base {base} tip {tip}");
    }

    #[test]
    fn candle_flickers_within_the_zone_colour() {
        let c = Rgb::new(255, 150, 40);
        let mut p = ParamValues::defaults(Candle.params());
        let mut out = [Rgb::BLACK; 10];
        p.set(ParamId::Intensity, 0.0);
        Candle.render(&ctx(3.3, c, &p), &mut out);
        assert_eq!(out, [c; 10], "no depth, steady");
        p.set(ParamId::Intensity, 100.0);
        let (mut lo, mut hi) = (255u8, 0u8);
        for k in 0..100 {
            Candle.render(&ctx(k as f64 * 0.1, c, &p), &mut out);
            for px in out {
                assert!(px.r <= c.r && px.g <= c.g && px.b <= c.b);
            }
            lo = lo.min(out[0].r);
            hi = hi.max(out[0].r);
        }
        assert!(hi - lo > 60, "flicker range {lo}..{hi}");
    }
}
