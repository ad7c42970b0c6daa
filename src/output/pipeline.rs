//! The per-strip colour pipeline at the output edge: gamma → power limit → colour order → wire bytes.
//!
//! Brightness (zone × master) has already been applied by the compositor. The simulator and the real
//! driver both get their bytes from [`StripPipeline::encode`], so what the simulator captures is exactly
//! what the wire would carry. The limiter scales the whole strip by one factor, which keeps every hue.

use crate::color::Rgb;
use crate::layout::{ColorOrder, StripSpec};

/// A 256-entry gamma lookup table, plus the same curve in 8.8 fixed point for inputs with a
/// fractional part (long fades: see [`GammaTable::apply_fine`]).
#[derive(Clone)]
pub struct GammaTable(pub [u8; 256], [u16; 256]);

impl GammaTable {
    pub fn new(gamma: f32) -> Self {
        let mut t = [0u8; 256];
        let mut fine = [0u16; 256];
        for (i, (v, f)) in t.iter_mut().zip(fine.iter_mut()).enumerate() {
            let y = (i as f32 / 255.0).powf(gamma) * 255.0;
            *v = (y + 0.5) as u8;
            *f = (y * 256.0 + 0.5) as u16;
        }
        GammaTable(t, fine)
    }

    /// Gamma of `v + frac/256` for one channel: the curve interpolated between `v` and `v + 1`, then
    /// rounded. Equal to the table when `frac` is 0; monotonic and continuous in between, so a slow
    /// fade moves the output by at most one level at a time.
    #[inline]
    pub fn apply_fine(&self, v: u8, frac: u8) -> u8 {
        if frac == 0 || v == 255 {
            return self.0[v as usize];
        }
        let (a, b) = (self.1[v as usize] as u32, self.1[v as usize + 1] as u32);
        let y = a + ((b - a) * frac as u32 + 128) / 256;
        ((y + 128) >> 8).min(255) as u8
    }

    /// The largest output step between two neighbouring inputs (how fast a fade can move the output).
    pub fn max_step(&self) -> u8 {
        self.0
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(1)
            .max(1)
    }

    #[inline]
    pub fn apply(&self, c: Rgb) -> Rgb {
        Rgb::new(
            self.0[c.r as usize],
            self.0[c.g as usize],
            self.0[c.b as usize],
        )
    }
}

/// Estimated current of a set of (post-gamma) pixels, in mA: full channel = `ma_per_channel`.
pub fn estimate_ma(channel_sum: u64, ma_per_channel: f32) -> f32 {
    channel_sum as f32 / 255.0 * ma_per_channel
}

/// What one encode did, for health and the "estimated current" sensor.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EncodeReport {
    /// Current the frame would draw without limiting.
    pub requested_ma: f32,
    /// Scale applied by the limiter (1.0 = none).
    pub scale: f32,
}

/// The output stages of one strip.
#[derive(Clone)]
pub struct StripPipeline {
    gamma: GammaTable,
    order: ColorOrder,
    max_current_ma: u32,
    ma_per_channel: f32,
}

impl StripPipeline {
    /// The largest output step of one input step (see [`GammaTable::max_step`]).
    pub fn max_step(&self) -> u8 {
        self.gamma.max_step()
    }

    pub fn new(spec: &StripSpec) -> Self {
        StripPipeline {
            gamma: GammaTable::new(spec.gamma),
            order: spec.color_order,
            max_current_ma: spec.max_current_ma,
            ma_per_channel: spec.ma_per_channel,
        }
    }

    /// Encodes logical pixels into wire bytes (`out.len() == 3 * pixels.len()`).
    pub fn encode(&self, pixels: &[Rgb], out: &mut [u8]) -> EncodeReport {
        self.encode_fine(pixels, &[], out)
    }

    /// Like [`StripPipeline::encode`], with the fractional part (1/256 steps) of each channel of the
    /// first `frac.len()` pixels (a fade in progress), so gamma is applied to the exact value.
    pub fn encode_fine(&self, pixels: &[Rgb], frac: &[[u8; 3]], out: &mut [u8]) -> EncodeReport {
        debug_assert_eq!(out.len(), pixels.len() * 3);
        let mut sum = 0u64;
        for (i, (p, w)) in pixels.iter().zip(out.chunks_exact_mut(3)).enumerate() {
            let g = match frac.get(i) {
                Some(&[fr, fg, fb]) if fr | fg | fb != 0 => Rgb::new(
                    self.gamma.apply_fine(p.r, fr),
                    self.gamma.apply_fine(p.g, fg),
                    self.gamma.apply_fine(p.b, fb),
                ),
                _ => self.gamma.apply(*p),
            };
            sum += g.channel_sum() as u64;
            w.copy_from_slice(&[g.r, g.g, g.b]);
        }
        let requested_ma = estimate_ma(sum, self.ma_per_channel);
        let mut scale = 1.0;
        if self.max_current_ma > 0 && requested_ma > self.max_current_ma as f32 {
            scale = self.max_current_ma as f32 / requested_ma;
            // Fixed-point factor, rounded down so the budget is never exceeded.
            let k = (scale * 65536.0) as u32;
            for b in out.iter_mut() {
                *b = ((*b as u32 * k) >> 16) as u8;
            }
        }
        for w in out.chunks_exact_mut(3) {
            let o = self.order.to_wire(w[0], w[1], w[2]);
            w.copy_from_slice(&o);
        }
        EncodeReport {
            requested_ma,
            scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(order: &str, gamma: f32, max_ma: u32) -> StripSpec {
        StripSpec {
            id: "s".into(),
            color_order: ColorOrder::parse(order).unwrap(),
            gamma,
            max_current_ma: max_ma,
            ..StripSpec::default()
        }
    }

    #[test]
    fn gamma_table_known_values() {
        let g = GammaTable::new(2.2);
        assert_eq!(g.0[0], 0);
        assert_eq!(g.0[255], 255);
        assert_eq!(g.0[128], 56); // (128/255)^2.2 * 255 = 55.98
        assert_eq!(g.0[64], 12);
        let id = GammaTable::new(1.0);
        assert!((0..=255).all(|i| id.0[i] == i as u8));
        assert!(g.0.windows(2).all(|w| w[0] <= w[1]), "monotonic");
    }

    #[test]
    fn fine_gamma_is_continuous_between_table_entries() {
        for gamma in [1.0, 2.2, 2.8] {
            let g = GammaTable::new(gamma);
            let mut prev = g.apply_fine(0, 0);
            for v in 0..=255u8 {
                assert_eq!(g.apply_fine(v, 0), g.0[v as usize]);
                for f in 0..=255u8 {
                    let y = g.apply_fine(v, f);
                    assert!(
                        y >= prev && y - prev <= 1,
                        "γ {gamma}: {v}+{f}/256 → {y} after {prev}"
                    );
                    prev = y;
                }
            }
        }
        assert_eq!(
            GammaTable::new(1.0).apply_fine(10, 200),
            11,
            "rounds to nearest"
        );
        assert_eq!(GammaTable::new(2.2).max_step(), 3);
    }

    #[test]
    fn colour_order_on_the_wire() {
        let px = [Rgb::new(10, 20, 30)];
        let mut out = [0u8; 3];
        StripPipeline::new(&spec("GRB", 1.0, 0)).encode(&px, &mut out);
        assert_eq!(out, [20, 10, 30]);
        StripPipeline::new(&spec("BRG", 1.0, 0)).encode(&px, &mut out);
        assert_eq!(out, [30, 10, 20]);
    }

    #[test]
    fn limiter_scales_whole_strip_and_keeps_hue() {
        // 10 white pixels at 60 mA each = 600 mA against a 300 mA budget.
        let px = [Rgb::WHITE; 10];
        let mut out = [0u8; 30];
        let rep = StripPipeline::new(&spec("RGB", 1.0, 300)).encode(&px, &mut out);
        assert!((rep.requested_ma - 600.0).abs() < 0.01);
        assert!((rep.scale - 0.5).abs() < 1e-6);
        let sum: u64 = out.iter().map(|&b| b as u64).sum();
        assert!(estimate_ma(sum, 20.0) <= 300.0);
        assert!(out.iter().all(|&b| b == 127));

        // Hue kept: an orange stays 2:1.
        let px = [Rgb::new(200, 100, 0); 20];
        let mut out = [0u8; 60];
        StripPipeline::new(&spec("RGB", 1.0, 100)).encode(&px, &mut out);
        let ratio = out[0] as f32 / out[1] as f32;
        assert!((ratio - 2.0).abs() < 0.1, "{:?}", &out[..3]);
        assert_eq!(out[2], 0);

        // Under budget: untouched.
        let px = [Rgb::new(10, 10, 10); 3];
        let mut out = [0u8; 9];
        let rep = StripPipeline::new(&spec("RGB", 1.0, 1000)).encode(&px, &mut out);
        assert_eq!(rep.scale, 1.0);
        assert_eq!(out, [10; 9]);
    }
}
