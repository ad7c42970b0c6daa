//! Colour maths: RGB, HSV, colour temperature, named presets and interpolation.
//!
//! Everything here is pure and allocation-free so the compositor and effects can call it per pixel.
//! Hue is in degrees (0–360), saturation and value are 0–1, kelvin is mapped to RGB with Tanner Helland's
//! fit of the black-body curve. Colours are RGB throughout; on an RGBW strip the output pipeline moves
//! the white share of each colour onto the W LED (`output/pipeline.rs`), so a kelvin colour lights it.

/// One 24-bit pixel in logical (R, G, B) order. `repr(C)`: three bytes, no padding (see [`bytes_mut`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Rgb {
    pub r: u8,
    pub g: u8,
    pub b: u8,
}

impl Rgb {
    pub const BLACK: Rgb = Rgb::new(0, 0, 0);
    pub const WHITE: Rgb = Rgb::new(255, 255, 255);

    pub const fn new(r: u8, g: u8, b: u8) -> Self {
        Rgb { r, g, b }
    }

    /// Scales every channel by `f` (0–1), rounding.
    #[inline]
    pub fn scale(self, f: f32) -> Rgb {
        let f = f.clamp(0.0, 1.0);
        Rgb::new(
            (self.r as f32 * f + 0.5) as u8,
            (self.g as f32 * f + 0.5) as u8,
            (self.b as f32 * f + 0.5) as u8,
        )
    }

    /// Scales every channel by `num / 255` exactly in integers (used for brightness).
    #[inline]
    pub fn scale8(self, num: u8) -> Rgb {
        Rgb::new(
            scale8(self.r, num),
            scale8(self.g, num),
            scale8(self.b, num),
        )
    }

    /// Linear interpolation from `self` (t = 0) to `to` (t = 1).
    #[inline]
    pub fn lerp(self, to: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let l = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t + 0.5) as u8;
        Rgb::new(l(self.r, to.r), l(self.g, to.g), l(self.b, to.b))
    }
}

const _: () = assert!(std::mem::size_of::<Rgb>() == 3 && std::mem::align_of::<Rgb>() == 1);

/// The bytes of `px`, three per pixel (R, G, B), so that a per-channel loop (brightness) runs on SIMD
/// lanes instead of one 3-byte struct at a time.
#[inline]
pub fn bytes_mut(px: &mut [Rgb]) -> &mut [u8] {
    // SAFETY: `Rgb` is `repr(C)` with three `u8` fields: size 3, alignment 1, no padding, and every
    // bit pattern is a valid `Rgb` (asserted above). The slice covers exactly the `3 × len` bytes of
    // `px`, and borrows `px` mutably for as long as it lives.
    unsafe { std::slice::from_raw_parts_mut(px.as_mut_ptr().cast::<u8>(), px.len() * 3) }
}

/// Scales every channel of `px` by `num / 255`, exactly as [`Rgb::scale8`] does pixel by pixel.
#[inline]
pub fn scale8_all(px: &mut [Rgb], num: u8) {
    for b in bytes_mut(px) {
        *b = scale8(*b, num);
    }
}

/// One channel scaled by `num / 255` exactly in integers (brightness; also a white level).
#[inline]
pub fn scale8(v: u8, num: u8) -> u8 {
    ((v as u16 * num as u16 + 127) / 255) as u8
}

/// One channel interpolated from `a` (t = 0) to `b` (t = 1), rounding, like [`Rgb::lerp`].
#[inline]
pub fn lerp8(a: u8, b: u8, t: f32) -> u8 {
    let t = t.clamp(0.0, 1.0);
    (a as f32 + (b as f32 - a as f32) * t + 0.5) as u8
}

impl Rgb {
    /// Channel-wise saturating add (used to layer sparks over a background).
    #[inline]
    pub fn saturating_add(self, o: Rgb) -> Rgb {
        Rgb::new(
            self.r.saturating_add(o.r),
            self.g.saturating_add(o.g),
            self.b.saturating_add(o.b),
        )
    }

    /// Sum of the three channels, the basis of the current estimate.
    #[inline]
    pub fn channel_sum(self) -> u32 {
        self.r as u32 + self.g as u32 + self.b as u32
    }

    /// Converts to hue (degrees), saturation and value (0–1).
    pub fn to_hsv(self) -> (f32, f32, f32) {
        let (r, g, b) = (
            self.r as f32 / 255.0,
            self.g as f32 / 255.0,
            self.b as f32 / 255.0,
        );
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let d = max - min;
        let h = if d == 0.0 {
            0.0
        } else if max == r {
            60.0 * ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            60.0 * ((b - r) / d + 2.0)
        } else {
            60.0 * ((r - g) / d + 4.0)
        };
        let s = if max == 0.0 { 0.0 } else { d / max };
        (h, s, max)
    }
}

/// HSV → RGB. `h` in degrees (any value, wrapped), `s` and `v` in 0–1.
#[inline]
pub fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    hsv_wrapped(h.rem_euclid(360.0), s, v)
}

/// HSV → RGB for a hue already wrapped into 0–360° (360 itself reads as 0).
#[inline]
pub(crate) fn hsv_wrapped(h: f32, s: f32, v: f32) -> Rgb {
    let s = s.clamp(0.0, 1.0);
    let v = v.clamp(0.0, 1.0);
    let c = v * s;
    let sector = h / 60.0;
    let k = sector as u32;
    // `sector % 2.0`, exactly: subtract the even integer at or below it (no `fmod` call).
    let x = c * (1.0 - (sector - (k & !1) as f32 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match k {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let q = |f: f32| ((f + m) * 255.0 + 0.5) as u8;
    Rgb::new(q(r), q(g), q(b))
}

/// Full-saturation, full-value colour wheel (the original's hue wheel).
#[inline]
pub fn wheel(h: f32) -> Rgb {
    hsv(h, 1.0, 1.0)
}

/// Colour temperature (kelvin, 1000–40000) → RGB, Tanner Helland's approximation.
pub fn kelvin_to_rgb(kelvin: u32) -> Rgb {
    let [r, g, b] = kelvin_to_rgb_f32(kelvin as f32);
    let q = |v: f32| v.round() as u8;
    Rgb::new(q(r), q(g), q(b))
}

/// [`kelvin_to_rgb`] without rounding (channels 0.0–255.0), for smooth colour-temperature ramps.
pub fn kelvin_to_rgb_f32(kelvin: f32) -> [f32; 3] {
    let t = kelvin.clamp(1000.0, 40000.0) / 100.0;
    let clamp = |v: f32| v.clamp(0.0, 255.0);
    let r = if t <= 66.0 {
        255.0
    } else {
        329.698_73 * libm::powf(t - 60.0, -0.133_204_76)
    };
    let g = if t <= 66.0 {
        99.470_8 * libm::logf(t) - 161.119_57
    } else {
        288.122_16 * libm::powf(t - 60.0, -0.075_514_846)
    };
    let b = if t >= 66.0 {
        255.0
    } else if t <= 19.0 {
        0.0
    } else {
        138.517_73 * libm::logf(t - 10.0) - 305.044_8
    };
    [clamp(r), clamp(g), clamp(b)]
}

/// CIE 1931 xy (at full brightness) → RGB through sRGB primaries, normalised so the largest channel is 255.
pub fn xy_to_rgb(x: f32, y: f32) -> Rgb {
    let y = y.max(1e-4);
    let (cx, cy, cz) = (x / y, 1.0, (1.0 - x - y) / y);
    let r = 3.240_97 * cx - 1.537_383 * cy - 0.498_611 * cz;
    let g = -0.969_244 * cx + 1.875_968 * cy + 0.041_555 * cz;
    let b = 0.055_63 * cx - 0.203_977 * cy + 1.056_972 * cz;
    let gamma = |c: f32| {
        let c = c.max(0.0);
        if c <= 0.003_130_8 {
            12.92 * c
        } else {
            1.055 * libm::powf(c, 1.0 / 2.4) - 0.055
        }
    };
    let (r, g, b) = (gamma(r), gamma(g), gamma(b));
    let max = r.max(g).max(b).max(1e-6);
    let q = |c: f32| (c / max * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgb::new(q(r), q(g), q(b))
}

/// The default colour presets, in the modulator's cycling order (the local control surface, `engine/control.rs`).
pub const DEFAULT_PRESETS: [(&str, Rgb); 20] = [
    ("red", Rgb::new(255, 0, 0)),
    ("orange", Rgb::new(255, 128, 0)),
    ("amber", Rgb::new(255, 191, 0)),
    ("yellow", Rgb::new(255, 255, 0)),
    ("lime", Rgb::new(128, 255, 0)),
    ("green", Rgb::new(0, 255, 0)),
    ("mint", Rgb::new(170, 255, 195)),
    ("cyan", Rgb::new(0, 255, 255)),
    ("sky_blue", Rgb::new(135, 206, 235)),
    ("ocean", Rgb::new(0, 128, 255)),
    ("blue", Rgb::new(0, 0, 255)),
    ("indigo", Rgb::new(75, 0, 130)),
    ("violet", Rgb::new(180, 0, 255)),
    ("purple", Rgb::new(128, 0, 255)),
    ("magenta", Rgb::new(255, 0, 255)),
    ("hot_pink", Rgb::new(255, 0, 128)),
    ("pink", Rgb::new(255, 128, 192)),
    ("warm_white", Rgb::new(255, 200, 150)),
    ("white", Rgb::new(255, 255, 255)),
    ("cool_white", Rgb::new(200, 220, 255)),
];

/// Looks up a default preset by (lower-case) name.
pub fn preset(name: &str) -> Option<Rgb> {
    DEFAULT_PRESETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, c)| c)
}

/// Index of the preset nearest to `c` (Euclidean distance in RGB).
pub fn nearest_preset(c: Rgb) -> usize {
    let d = |p: Rgb| {
        let dr = p.r as i32 - c.r as i32;
        let dg = p.g as i32 - c.g as i32;
        let db = p.b as i32 - c.b as i32;
        dr * dr + dg * dg + db * db
    };
    DEFAULT_PRESETS
        .iter()
        .enumerate()
        .min_by_key(|(_, (_, p))| d(*p))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_primaries_and_wrap() {
        let cases = [
            (0.0, Rgb::new(255, 0, 0)),
            (60.0, Rgb::new(255, 255, 0)),
            (120.0, Rgb::new(0, 255, 0)),
            (180.0, Rgb::new(0, 255, 255)),
            (240.0, Rgb::new(0, 0, 255)),
            (300.0, Rgb::new(255, 0, 255)),
            (360.0, Rgb::new(255, 0, 0)),
            (-120.0, Rgb::new(0, 0, 255)),
            (30.0, Rgb::new(255, 128, 0)),
        ];
        for (h, want) in cases {
            assert_eq!(wheel(h), want, "hue {h}");
        }
        assert_eq!(hsv(0.0, 0.0, 1.0), Rgb::WHITE);
        assert_eq!(hsv(200.0, 1.0, 0.0), Rgb::BLACK);
    }

    #[test]
    fn rgb_to_hsv_round_trips() {
        for h in (0..360).step_by(15) {
            let c = hsv(h as f32, 0.8, 1.0);
            let (h2, s2, v2) = c.to_hsv();
            assert!((h2 - h as f32).abs() < 1.5, "{h} -> {h2}");
            assert!((s2 - 0.8).abs() < 0.01);
            assert!((v2 - 1.0).abs() < 0.01);
        }
    }

    #[test]
    fn kelvin_known_values() {
        // Reference points of the Helland fit.
        assert_eq!(kelvin_to_rgb(6600), Rgb::new(255, 255, 255));
        let warm = kelvin_to_rgb(2700);
        assert_eq!(warm.r, 255);
        assert!((165..=175).contains(&warm.g), "{warm:?}");
        assert!((80..=95).contains(&warm.b), "{warm:?}");
        let cool = kelvin_to_rgb(10000);
        assert!(cool.b == 255 && cool.r < 210, "{cool:?}");
        assert_eq!(kelvin_to_rgb(1000), Rgb::new(255, 68, 0));
    }

    #[test]
    fn xy_white_and_red() {
        let w = xy_to_rgb(0.3127, 0.3290);
        assert!(w.r > 250 && w.g > 250 && w.b > 250, "{w:?}");
        let r = xy_to_rgb(0.64, 0.33);
        assert_eq!(r.r, 255);
        assert!(r.g < 10 && r.b < 10, "{r:?}");
    }

    #[test]
    fn scaling_a_whole_zone_equals_scaling_each_pixel() {
        let px: Vec<Rgb> = (0..300u32)
            .map(|i| Rgb::new(i as u8, (i * 7) as u8, (255 - i % 256) as u8))
            .collect();
        for num in [0, 1, 127, 128, 141, 254, 255] {
            let mut all = px.clone();
            scale8_all(&mut all, num);
            let each: Vec<Rgb> = px.iter().map(|p| p.scale8(num)).collect();
            assert_eq!(all, each, "{num}");
        }
        let mut one = [Rgb::new(1, 2, 3)];
        assert_eq!(bytes_mut(&mut one), &[1, 2, 3]);
    }

    #[test]
    fn scaling_and_lerp() {
        assert_eq!(Rgb::new(255, 128, 0).scale8(128), Rgb::new(128, 64, 0));
        assert_eq!(Rgb::new(200, 100, 50).scale8(255), Rgb::new(200, 100, 50));
        assert_eq!(Rgb::new(200, 100, 50).scale8(0), Rgb::BLACK);
        assert_eq!(Rgb::new(200, 100, 50).scale(0.5), Rgb::new(100, 50, 25));
        assert_eq!(
            Rgb::BLACK.lerp(Rgb::new(200, 100, 0), 0.5),
            Rgb::new(100, 50, 0)
        );
        assert_eq!(Rgb::BLACK.lerp(Rgb::WHITE, 2.0), Rgb::WHITE);
        assert_eq!(
            (scale8(200, 128), scale8(200, 255), scale8(200, 0)),
            (100, 200, 0)
        );
        assert_eq!(
            (lerp8(0, 200, 0.5), lerp8(10, 20, -1.0), lerp8(10, 20, 9.0)),
            (100, 10, 20)
        );
    }

    #[test]
    fn presets_by_name_and_nearest() {
        assert_eq!(preset("warm_white"), Some(Rgb::new(255, 200, 150)));
        assert_eq!(preset("COOL_WHITE"), Some(Rgb::new(200, 220, 255)));
        assert_eq!(preset("nope"), None);
        assert_eq!(
            DEFAULT_PRESETS[nearest_preset(Rgb::new(250, 5, 5))].0,
            "red"
        );
        assert_eq!(DEFAULT_PRESETS.len(), 20);
    }
}
