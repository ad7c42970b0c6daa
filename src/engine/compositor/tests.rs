//! Compositor tests: layout on two strips, reversal, brightness, overlays and change detection.

use super::*;
use crate::config::Config;
use crate::engine::ColorMode;

const TOML: &str = r#"
[[strips]]
id = "a"
gpio = 18
dma = 10
color_order = "RGB"
gamma = 1.0
[[strips]]
id = "b"
gpio = 19
dma = 11
color_order = "GRB"
gamma = 1.0
[[zones]]
id = "left"
strip = "a"
pixels = 3
[[zones]]
id = "right"
strip = "a"
pixels = 2
reversed = true
[[zones]]
id = "shelf"
strip = "b"
pixels = 4
"#;

fn setup() -> (Layout, Compositor, Vec<ZoneState>, Instant) {
    let cfg = Config::from_toml(TOML).unwrap();
    let now = Instant::now();
    let c = Compositor::new(&cfg.layout, Easing::Linear, now);
    let zones = vec![
        ZoneState::new(Rgb::new(255, 0, 0), 255, true, None),
        ZoneState::new(Rgb::new(0, 255, 0), 255, true, None),
        ZoneState::new(Rgb::new(0, 0, 255), 255, true, None),
    ];
    (cfg.layout, c, zones, now)
}

#[test]
fn zones_land_on_their_strips() {
    let (layout, mut c, zones, now) = setup();
    c.render(now, now, &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[..3], [Rgb::new(255, 0, 0); 3]);
    assert_eq!(c.strip_pixels(0)[3..], [Rgb::new(0, 255, 0); 2]);
    assert_eq!(c.strip_pixels(1), [Rgb::new(0, 0, 255); 4]);
    let mut f = OutFrame::new(&layout);
    assert!(c.encode(&mut f, false));
    // Strip b is GRB on the wire.
    assert_eq!(f.strips[1][..3], [0, 0, 255]);
    assert_eq!(f.strips[0][..3], [255, 0, 0]);
}

#[test]
fn reversed_zone_runs_backwards() {
    let (_, mut c, mut zones, now) = setup();
    // A snake at t=0 lights only logical pixel 0 brightest: on a reversed zone that is the last physical one.
    let snake = effects::find("snake").unwrap();
    zones[1].effect = Some(snake);
    zones[1].params[snake].set(effects::ParamId::Length, 1.0);
    c.render(now, now, &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[4], Rgb::new(0, 255, 0));
    assert_eq!(c.strip_pixels(0)[3], Rgb::BLACK);
}

#[test]
fn brightness_is_zone_times_master() {
    let (_, mut c, mut zones, now) = setup();
    zones[0].brightness = 128;
    c.render(
        now,
        now,
        &zones,
        &MasterState {
            brightness: 128,
            ..Default::default()
        },
    );
    // 128 * 128 / 255 = 64 → 255 * 64 / 255 = 64
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(64, 0, 0));
    zones[0].on = false;
    c.render(now, now, &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::BLACK);
}

#[test]
fn transition_cross_fades_then_releases() {
    let (layout, mut c, mut zones, now) = setup();
    c.render(now, now, &zones, &MasterState::default());
    c.begin_transition(0, Duration::from_secs(1), now);
    zones[0].color = Rgb::new(0, 0, 255);
    let t = now + Duration::from_millis(500);
    c.render(t, t, &zones, &MasterState::default());
    // Half way: 127.5 each, carried as 127 + 128/256 and rounded only on the wire (gamma 1 here).
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(127, 0, 127));
    let mut f = OutFrame::new(&layout);
    c.encode(&mut f, true);
    assert_eq!(f.strips[0][..3], [128, 0, 128]);
    assert!(c.overlays_active(now + Duration::from_millis(500)));
    // A one-second fade runs at the full frame rate.
    let full = Duration::from_millis(16);
    assert_eq!(c.pace(now + Duration::from_millis(500), full), Some(full));
    let t = now + Duration::from_millis(1001);
    c.render(t, t, &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(0, 0, 255));
    assert!(!c.overlays_active(now + Duration::from_millis(1001)));
    assert_eq!(
        c.pace(now + Duration::from_millis(1001), full),
        None,
        "idle again"
    );
    // An hour-long fade asks for a frame every few seconds (255 levels × gamma step 1 × 1).
    c.begin_transition(0, Duration::from_secs(3600), t);
    let every = c.pace(t, full).unwrap();
    assert_eq!(every, Duration::from_secs(3600).div_f64(255.0));
}

#[test]
fn flash_blinks_and_restores() {
    let (_, mut c, zones, now) = setup();
    c.flash(2, Duration::from_secs(2), now);
    let at = |ms| now + Duration::from_millis(ms);
    c.render(at(100), at(100), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(1)[0], Rgb::new(0, 0, 255));
    c.render(at(600), at(600), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(1)[0], Rgb::BLACK);
    c.render(at(2100), at(2100), &zones, &MasterState::default());
    assert_eq!(
        c.strip_pixels(1)[0],
        Rgb::new(0, 0, 255),
        "restored after the flash"
    );
}

#[test]
fn unchanged_strips_are_not_dirty_unless_forced() {
    let (layout, mut c, mut zones, now) = setup();
    let mut f = OutFrame::new(&layout);
    c.render(now, now, &zones, &MasterState::default());
    assert!(c.encode(&mut f, false));
    c.render(now, now, &zones, &MasterState::default());
    assert!(!c.encode(&mut f, false));
    assert!(c.encode(&mut f, true), "refresh forces a resend");
    zones[2].color = Rgb::WHITE;
    c.render(now, now, &zones, &MasterState::default());
    assert!(c.encode(&mut f, false));
    assert_eq!(f.dirty, [false, true]);
}

#[test]
fn blackout_darkens_without_touching_state() {
    let (_, mut c, zones, now) = setup();
    c.blackout = true;
    c.render(now, now, &zones, &MasterState::default());
    assert!(c.strip_pixels(0).iter().all(|p| *p == Rgb::BLACK));
    assert!(zones[0].on);
}

#[test]
fn indicator_pulses_blinks_and_releases_exactly() {
    let (_, mut c, mut zones, now) = setup();
    let at = |ms| now + Duration::from_millis(ms);
    c.render(now, now, &zones, &MasterState::default());
    let before: Vec<Rgb> = c.strip_pixels(0).to_vec();
    // Static zone: 15 % at the start of the pulse, 100 % half-way.
    c.set_indicator(Some(0), now);
    c.render(now, now, &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(255, 0, 0).scale(0.15));
    c.render(at(250), at(250), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(255, 0, 0));
    assert!(c.overlays_active(at(250)));
    // Off zone: blue blink every 0.25 s.
    zones[0].on = false;
    c.render(at(1000), at(1000), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::new(0, 0, 160));
    c.render(at(1130), at(1130), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0)[0], Rgb::BLACK);
    // Leaving edit mode restores the zone exactly.
    zones[0].on = true;
    c.set_indicator(None, at(1200));
    c.render(at(1200), at(1200), &zones, &MasterState::default());
    assert_eq!(c.strip_pixels(0), &before[..]);
    assert!(!c.overlays_active(at(1200)));
}

const RGBW_TOML: &str = r#"
[[strips]]
id = "rgb"
gpio = 18
dma = 10
color_order = "RGB"
gamma = 1.0
[[strips]]
id = "w"
gpio = 19
dma = 11
led_type = "sk6812"
color_order = "GRBW"
gamma = 1.0
white_kelvin = 6600
[[zones]]
id = "plain"
strip = "rgb"
pixels = 2
[[zones]]
id = "fwd"
strip = "w"
pixels = 2
[[zones]]
id = "back"
strip = "w"
pixels = 3
reversed = true
"#;

fn rgbw_setup() -> (Layout, Compositor, Vec<ZoneState>, Instant) {
    let cfg = Config::from_toml(RGBW_TOML).unwrap();
    let now = Instant::now();
    let c = Compositor::new(&cfg.layout, Easing::Linear, now);
    let mut zones: Vec<ZoneState> = (0..3)
        .map(|_| ZoneState::new(Rgb::new(10, 20, 30), 255, true, None))
        .collect();
    zones[1].color_mode = ColorMode::Rgbw { w: 200 };
    zones[2].color = Rgb::BLACK;
    zones[2].color_mode = ColorMode::Rgbw { w: 100 };
    (cfg.layout, c, zones, now)
}

#[test]
fn white_plane_carries_explicit_white_to_the_wire() {
    let (layout, mut c, mut zones, now) = rgbw_setup();
    zones[1].brightness = 128;
    c.render(now, now, &zones, &MasterState::default());
    assert!(
        c.strip_white(0).is_empty(),
        "RGB strips have no white plane"
    );
    assert_eq!(c.strip_white(1), [100, 100, 100, 100, 100]);
    let mut f = OutFrame::new(&layout);
    assert_eq!((f.strips[0].len(), f.strips[1].len()), (6, 20));
    c.encode(&mut f, true);
    // GRBW, accurate, white LED = (255, 255, 255): (5, 10, 15) at brightness 128 → W 5 moved out of RGB,
    // plus the explicit 100.
    assert_eq!(f.strips[1][..4], [5, 0, 10, 105]);
    assert_eq!(f.strips[1][8..12], [0, 0, 0, 100]);
}

#[test]
fn white_plane_fades_flashes_and_reverses() {
    let (_, mut c, mut zones, now) = rgbw_setup();
    c.render(now, now, &zones, &MasterState::default());
    c.begin_transition(1, Duration::from_secs(1), now);
    zones[1].color_mode = ColorMode::Rgb;
    let at = |ms| now + Duration::from_millis(ms);
    c.render(at(500), at(500), &zones, &MasterState::default());
    assert_eq!(c.strip_white(1)[..2], [100, 100], "half-way from 200 to 0");
    c.render(at(1001), at(1001), &zones, &MasterState::default());
    assert_eq!(c.strip_white(1)[..2], [0, 0]);
    c.flash(2, Duration::from_secs(2), at(1001));
    c.render(at(1600), at(1600), &zones, &MasterState::default());
    assert_eq!(c.strip_white(1)[2..], [0, 0, 0], "dark half of the flash");
    c.render(at(3100), at(3100), &zones, &MasterState::default());
    assert_eq!(c.strip_white(1)[2..], [100, 100, 100]);
    // Reversed: a snake's head (logical 0) is the last physical pixel, in both planes.
    let snake = effects::find("snake").unwrap();
    zones[2].effect = Some(snake);
    zones[2].params[snake].set(effects::ParamId::Length, 1.0);
    c.render(at(4000), at(4000), &zones, &MasterState::default());
    // An effect draws RGB: the explicit white is folded into its colour (the white LED's colour).
    assert_eq!(c.strip_white(1)[2..], [0, 0, 0]);
    assert_eq!(c.strip_pixels(1)[4], Rgb::new(100, 100, 100));
    assert_eq!(c.strip_pixels(1)[2], Rgb::BLACK);
}

#[test]
fn indicator_pulses_the_white_plane() {
    let (_, mut c, zones, now) = rgbw_setup();
    c.set_indicator(Some(1), now);
    c.render(now, now, &zones, &MasterState::default());
    assert_eq!(c.strip_white(1)[0], 30, "15 % of 200");
    c.render(
        now + Duration::from_millis(250),
        now + Duration::from_millis(250),
        &zones,
        &MasterState::default(),
    );
    assert_eq!(c.strip_white(1)[0], 200);
}

/// Fades one zone from off to (255, 140, 30) — with an explicit white in `mode`, when given — over an
/// hour on the first strip of `toml`, drawn at the pace the compositor asks for. Asserts that no wire
/// byte moves by more than one level per frame, calls `each` after every frame, and returns the
/// compositor, the wire bytes of the frame drawn after the fade, and how many frames it took.
fn hour_long_fade(
    toml: &str,
    mode: Option<ColorMode>,
    mut each: impl FnMut(&Compositor),
) -> (Compositor, Vec<u8>, usize) {
    let cfg = Config::from_toml(toml).unwrap();
    let now = Instant::now();
    let mut c = Compositor::new(&cfg.layout, Easing::InOut, now);
    let mut zones = vec![ZoneState::new(Rgb::new(255, 140, 30), 255, false, None)];
    if let Some(mode) = mode {
        zones[0].color_mode = mode;
    }
    let master = MasterState::default();
    c.render(now, now, &zones, &master);
    zones[0].on = true;
    c.begin_transition(0, Duration::from_secs(3600), now);
    let full = Duration::from_millis(16);
    let mut f = OutFrame::new(&cfg.layout);
    let mut prev: Option<Vec<u8>> = None;
    let (mut t, mut frames) = (now, 0);
    while let Some(every) = c.pace(t, full) {
        c.render(t, t, &zones, &master);
        c.encode(&mut f, true);
        each(&c);
        if let Some(p) = &prev {
            let step = p.iter().zip(&f.strips[0]).map(|(a, b)| a.abs_diff(*b));
            assert!(
                step.max() <= Some(1),
                "frame {frames}: {p:?} → {:?}",
                f.strips[0]
            );
        }
        prev = Some(f.strips[0].clone());
        frames += 1;
        t += every;
    }
    c.render(t, t, &zones, &master);
    c.encode(&mut f, true);
    let last = f.strips[0].clone();
    (c, last, frames)
}

/// The whole path — compositor fade, fractional levels, gamma 2.2, wire bytes — over an hour-long fade
/// drawn at the pace the compositor asks for: no wire byte moves by more than one level per frame.
#[test]
fn an_hour_long_fade_on_the_wire_moves_one_level_at_a_time() {
    let (_, last, frames) = hour_long_fade(
        "[[strips]]\nid=\"a\"\ncolor_order=\"RGB\"\ngamma=2.2\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=4\n",
        None,
        |_| {},
    );
    assert_eq!(
        last[..3],
        [255, 68, 2],
        "ends on (255, 140, 30) after gamma 2.2"
    );
    assert!(
        (1000..1200).contains(&frames),
        "{frames} frames for an hour"
    );
}

/// The same whole path on an RGBW strip: the explicit white plane fades with its fractions, white
/// extraction runs after the exact gamma, and no wire byte (W included) jumps.
#[test]
fn an_hour_long_rgbw_fade_moves_one_level_at_a_time_on_all_four_bytes() {
    let mut fine_w = false;
    let (c, last, _) = hour_long_fade(
        "[[strips]]\nid=\"a\"\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\nwhite_kelvin=6600\n\
         [[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=2\n",
        Some(ColorMode::Rgbw { w: 180 }),
        |c| fine_w |= c.strips[0].white_frac.iter().any(|&x| x != 0),
    );
    assert!(fine_w, "the white plane carried fractions");
    // (255, 140, 30) after gamma 2.2 is (255, 68, 2); accurate extraction moves 2 of each onto W,
    // which also carries the explicit 180 (gamma: 119).
    assert_eq!(last[..4], [66, 253, 0, 121]);
    assert!(c.strips[0].white_frac.iter().all(|&x| x == 0));
    assert!(!c.strips[0].fine, "the fade is over: plain path");
}
