//! Pipeline tests: gamma, colour order, the power limiter and white extraction on RGBW strips.

use super::*;
use crate::layout::LedType;

fn spec(order: &str, gamma: f32, max_ma: u32) -> StripSpec {
    let color_order = ColorOrder::parse(order).unwrap();
    StripSpec {
        id: "s".into(),
        color_order,
        white: if color_order.has_white() {
            WhiteMode::Accurate
        } else {
            WhiteMode::None
        },
        gamma,
        max_current_ma: max_ma,
        ..StripSpec::default()
    }
}

/// An RGBW strip with gamma 1 (duty = value) and a white LED of `kelvin`.
fn rgbw(order: &str, mode: WhiteMode, kelvin: u32, max_ma: u32) -> StripPipeline {
    let mut s = spec(order, 1.0, max_ma);
    s.led_type = LedType::Sk6812;
    s.white = mode;
    s.white_kelvin = kelvin;
    StripPipeline::new(&s)
}

/// Encodes one pixel (with explicit white `w`) and returns its wire bytes.
fn one(p: &StripPipeline, c: Rgb, w: u8) -> [u8; 4] {
    let mut out = [0u8; 4];
    let planes = Planes {
        pixels: &[c],
        white: &[w],
        ..Planes::default()
    };
    p.encode_fine(&planes, &mut out);
    out
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
fn fractions_reach_gamma_on_rgb_and_rgbw_strips_alike() {
    // Each channel with a fraction goes through apply_fine; a zero fraction is the plain table.
    let g = GammaTable::new(2.2);
    let px = [Rgb::new(200, 10, 100), Rgb::new(5, 5, 5)];
    let frac = [[128, 200, 0], [0, 0, 0]];
    let want = |p: Rgb, f: [u8; 3]| {
        [
            g.apply_fine(p.r, f[0]),
            g.apply_fine(p.g, f[1]),
            g.apply_fine(p.b, f[2]),
        ]
    };
    let planes = Planes {
        pixels: &px,
        frac: &frac,
        ..Planes::default()
    };
    let mut out = [0u8; 6];
    StripPipeline::new(&spec("RGB", 2.2, 0)).encode_fine(&planes, &mut out);
    assert_eq!(out[..3], want(px[0], frac[0]));
    assert_eq!(out[3..], want(px[1], frac[1]), "zero fraction = the table");
    assert_eq!(
        (g.0[200], out[0]),
        (149, 150),
        "the fraction moved the output"
    );
    // RGBW with white = none: the same RGB bytes, W dark; the explicit white takes its fraction.
    let mut s = spec("RGBW", 2.2, 0);
    s.led_type = LedType::Sk6812;
    s.white = WhiteMode::None;
    let mut out4 = [0u8; 8];
    StripPipeline::new(&s).encode_fine(&planes, &mut out4);
    assert_eq!(
        (&out4[..3], &out4[4..7], out4[3]),
        (&out[..3], &out[3..], 0)
    );
    s.white = WhiteMode::Accurate;
    s.white_kelvin = 6600;
    let planes = Planes {
        pixels: &[Rgb::BLACK],
        frac: &[[0; 3]],
        white: &[200],
        white_frac: &[128],
    };
    StripPipeline::new(&s).encode_fine(&planes, &mut out4[..4]);
    assert_eq!(
        out4[..4],
        [0, 0, 0, 150],
        "W of 200.5 after gamma, not the table's 149"
    );
}

#[test]
fn colour_order_on_the_wire() {
    let px = [Rgb::new(10, 20, 30)];
    let mut out = [0u8; 3];
    for (order, want) in [
        ("RGB", [10, 20, 30]),
        ("RBG", [10, 30, 20]),
        ("GRB", [20, 10, 30]),
        ("GBR", [20, 30, 10]),
        ("BRG", [30, 10, 20]),
        ("BGR", [30, 20, 10]),
    ] {
        StripPipeline::new(&spec(order, 1.0, 0)).encode(&px, &mut out);
        assert_eq!(out, want, "{order}");
    }
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

    // Hue kept: an orange stays 2:1, whatever the colour order.
    let px = [Rgb::new(200, 100, 0); 20];
    let mut out = [0u8; 60];
    StripPipeline::new(&spec("BGR", 1.0, 100)).encode(&px, &mut out);
    let ratio = out[2] as f32 / out[1] as f32;
    assert!((ratio - 2.0).abs() < 0.1, "{:?}", &out[..3]);
    assert_eq!(out[0], 0);

    // Under budget: untouched.
    let px = [Rgb::new(10, 10, 10); 3];
    let mut out = [0u8; 9];
    let rep = StripPipeline::new(&spec("RGB", 1.0, 1000)).encode(&px, &mut out);
    assert_eq!(rep.scale, 1.0);
    assert_eq!(out, [10; 9]);
}

#[test]
fn white_extraction_modes() {
    // A white LED of 6600 K is (255, 255, 255): accurate extraction is exactly W = min(R, G, B).
    let c = Rgb::new(200, 120, 50);
    let accurate = rgbw("RGBW", WhiteMode::Accurate, 6600, 0);
    assert_eq!(one(&accurate, c, 0), [150, 70, 0, 50]);
    assert_eq!(one(&accurate, Rgb::WHITE, 0), [0, 0, 0, 255]);
    assert_eq!(one(&accurate, Rgb::new(255, 0, 0), 0), [255, 0, 0, 0]);
    let brighter = rgbw("RGBW", WhiteMode::Brighter, 6600, 0);
    assert_eq!(one(&brighter, c, 0), [200, 120, 50, 50]);
    assert_eq!(one(&brighter, Rgb::WHITE, 0), [255; 4]);
    let none = rgbw("RGBW", WhiteMode::None, 6600, 0);
    assert_eq!(one(&none, c, 0), [200, 120, 50, 0]);
    assert_eq!(
        one(&none, Rgb::WHITE, 77),
        [255, 255, 255, 0],
        "W stays dark"
    );
}

#[test]
fn extraction_runs_after_gamma() {
    // Gamma 2.2: (200, 200, 100) is duty (149, 149, 33); the white share is taken from the duty.
    let mut s = spec("RGBW", 2.2, 0);
    s.led_type = LedType::Sk6812;
    s.white_kelvin = 6600;
    let p = StripPipeline::new(&s);
    assert_eq!(one(&p, Rgb::new(200, 200, 100), 0), [116, 116, 0, 33]);
}

#[test]
fn accurate_extraction_keeps_the_light_for_any_white_point() {
    // With a 3000 K white LED the extracted W plus the remaining RGB add up to the requested duty
    // (within rounding), and a colour with no white share stays on RGB.
    let p = rgbw("RGBW", WhiteMode::Accurate, 3000, 0);
    let mut wp = spec("RGBW", 1.0, 0);
    wp.white_kelvin = 3000;
    let [wr, wg, wb] = white_point(&wp);
    for c in [
        Rgb::new(255, 200, 150),
        Rgb::new(90, 200, 255),
        Rgb::new(10, 10, 10),
        Rgb::new(255, 0, 128),
    ] {
        let [r, g, b, w] = one(&p, c, 0);
        let light = |rest: u8, share: u8| rest as i32 + (w as i32 * share as i32 + 127) / 255;
        assert!(
            (light(r, wr) - c.r as i32).abs() <= 1,
            "{c:?} → {r},{g},{b},{w}"
        );
        assert!(
            (light(g, wg) - c.g as i32).abs() <= 1,
            "{c:?} → {r},{g},{b},{w}"
        );
        assert!(
            (light(b, wb) - c.b as i32).abs() <= 1,
            "{c:?} → {r},{g},{b},{w}"
        );
    }
    assert_eq!(one(&p, Rgb::new(255, 0, 128), 0)[3], 0);
}

#[test]
fn kelvin_uses_the_white_channel() {
    let p = rgbw("RGBW", WhiteMode::Accurate, 4000, 0);
    // The white LED's own temperature is (almost) all W.
    let [r, g, b, w] = one(&p, kelvin_to_rgb(4000), 0);
    assert!(w >= 250 && r <= 2 && g <= 2 && b <= 2, "{r},{g},{b},{w}");
    // Warmer than the LED: W plus a warm tint from red and green, no blue.
    let [r, g, b, w] = one(&p, kelvin_to_rgb(2700), 0);
    assert!(w > 100, "W carries most of it: {r},{g},{b},{w}");
    assert!(r > g && b == 0, "the rest is a warm tint: {r},{g},{b},{w}");
    // Cooler than the LED: W plus blue.
    let [r, _, b, w] = one(&p, kelvin_to_rgb(6500), 0);
    assert!(w > 200 && b > r, "{r},{b},{w}");
}

#[test]
fn explicit_white_adds_to_the_extracted_share() {
    let p = rgbw("RGBW", WhiteMode::Accurate, 6600, 0);
    assert_eq!(one(&p, Rgb::BLACK, 200), [0, 0, 0, 200]);
    assert_eq!(one(&p, Rgb::new(100, 50, 0), 200), [100, 50, 0, 200]);
    // W is full: only what still fits leaves RGB.
    assert_eq!(one(&p, Rgb::new(100, 100, 100), 200), [45, 45, 45, 255]);
    let b = rgbw("RGBW", WhiteMode::Brighter, 6600, 0);
    assert_eq!(one(&b, Rgb::new(100, 100, 100), 200), [100, 100, 100, 255]);
}

#[test]
fn rgbw_bytes_follow_the_colour_order() {
    let c = Rgb::new(30, 20, 10);
    let none = |order| rgbw(order, WhiteMode::None, 6600, 0);
    let acc = |order| rgbw(order, WhiteMode::Accurate, 6600, 0);
    assert_eq!(one(&acc("RGBW"), c, 0), [20, 10, 0, 10]);
    assert_eq!(one(&acc("GRBW"), c, 0), [10, 20, 0, 10]);
    assert_eq!(one(&acc("BRGW"), c, 0), [0, 20, 10, 10]);
    assert_eq!(one(&acc("WRGB"), c, 0), [10, 20, 10, 0]);
    assert_eq!(one(&none("GRBW"), c, 0), [20, 30, 10, 0]);
    // Several pixels, no explicit white plane.
    let mut out = [0u8; 8];
    acc("GRBW").encode(&[Rgb::new(1, 2, 3), Rgb::new(9, 9, 9)], &mut out);
    assert_eq!(out, [1, 0, 2, 1, 0, 0, 0, 9]);
}

#[test]
fn limiter_counts_the_white_channel() {
    // Brighter white: all four channels full = 80 mA a pixel; 10 pixels against 400 mA.
    let p = rgbw("GRBW", WhiteMode::Brighter, 6600, 400);
    let mut out = [0u8; 40];
    let rep = p.encode(&[Rgb::WHITE; 10], &mut out);
    assert!((rep.requested_ma - 800.0).abs() < 0.01, "{rep:?}");
    assert!((rep.scale - 0.5).abs() < 1e-6);
    assert!(out.iter().all(|&b| b == 127), "W scaled with the rest");
    let sum: u64 = out.iter().map(|&b| b as u64).sum();
    assert!(estimate_ma(sum, 20.0) <= 400.0);
    // Accurate white moves 3 channels' current onto one: a third of the current, under budget.
    let p = rgbw("GRBW", WhiteMode::Accurate, 6600, 400);
    let rep = p.encode(&[Rgb::WHITE; 10], &mut out);
    assert!((rep.requested_ma - 200.0).abs() < 0.01, "{rep:?}");
    assert_eq!(rep.scale, 1.0);
    // An explicit white level counts too.
    let p = rgbw("GRBW", WhiteMode::Accurate, 6600, 0);
    let planes = Planes {
        pixels: &[Rgb::BLACK; 10],
        white: &[255; 10],
        ..Planes::default()
    };
    let rep = p.encode_fine(&planes, &mut out);
    assert!((rep.requested_ma - 200.0).abs() < 0.01, "{rep:?}");
}
