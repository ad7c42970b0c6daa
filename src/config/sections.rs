//! Validation of the config's structured sections: strips and zones into a [`Layout`], and the input
//! surface into an [`InputConfig`]. Each pushes one message per problem, naming the key.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::raw::{self, RawConfig};
use super::{duration, is_slug};
use crate::input::{self, EncoderPins, InputConfig, KeyboardSource};
use crate::layout::{
    ColorOrder, DEFAULT_WHITE_KELVIN, Driver, Layout, LedType, StripSpec, WhiteMode, ZoneSpec,
};

pub(super) fn build_input(
    raw: &raw::RawInput,
    layout: &Layout,
    errs: &mut Vec<String>,
) -> InputConfig {
    let mut cfg = InputConfig::default();
    cfg.long_press = duration("input.long_press", &raw.long_press, cfg.long_press, errs);
    cfg.debounce = duration("input.debounce", &raw.debounce, cfg.debounce, errs);
    cfg.acceleration = raw.acceleration.unwrap_or(true);
    let enc = |e: &Option<raw::RawEncoder>| {
        e.as_ref().map(|e| EncoderPins {
            a: e.a,
            b: e.b,
            button: e.button,
        })
    };
    cfg.selector = enc(&raw.selector);
    cfg.modulator = enc(&raw.modulator);
    cfg.buttons = raw.buttons.clone().unwrap_or_default();
    if cfg.buttons.len() > 4 {
        errs.push(format!(
            "input.buttons: {} pins given, at most 4 (BTN1..BTN4)",
            cfg.buttons.len()
        ));
    }
    let mut seen = HashSet::new();
    for s in &layout.strips {
        seen.insert(s.gpio);
    }
    for pin in cfg.pins() {
        if pin > 27 {
            errs.push(format!("input: GPIO {pin} does not exist (BCM 0–27)"));
        } else if !seen.insert(pin) {
            errs.push(format!(
                "input: GPIO {pin} is used twice (by a strip or another input)"
            ));
        }
    }
    cfg.keyboard = match raw.keyboard.as_deref().unwrap_or("auto") {
        "auto" => KeyboardSource::Auto,
        "terminal" => KeyboardSource::Terminal,
        "none" => KeyboardSource::None,
        path if path.starts_with('/') => KeyboardSource::Evdev(path.into()),
        other => {
            errs.push(format!(
                "input.keyboard: \"{other}\" is not \"auto\", \"terminal\", \"none\" or a /dev/input path"
            ));
            KeyboardSource::None
        }
    };
    cfg.sim_socket = raw.sim_socket.as_ref().map(PathBuf::from);
    for (key, action) in raw.keys.iter().flatten() {
        match input::parse_action(action) {
            Some(a) => {
                cfg.keys.insert(key.to_ascii_lowercase(), a);
            }
            None => errs.push(format!("input.keys.{key}: unknown action \"{action}\"")),
        }
    }
    cfg
}

/// `color_order`: a permutation of RGB, or of RGBW on an LED type that has a white LED (SK6812).
fn strip_color_order(
    key: &str,
    s: &raw::RawStrip,
    led_type: LedType,
    errs: &mut Vec<String>,
) -> ColorOrder {
    let text = s.color_order.as_deref().unwrap_or("GRB");
    let Some(order) = ColorOrder::parse(text) else {
        errs.push(format!(
            "{key}.color_order: \"{text}\" is not a colour order: write R, G and B once each in wire \
             order (RGB, GRB, BRG, …), plus W for an RGBW strip (GRBW, RGBW, …)"
        ));
        return ColorOrder::GRB;
    };
    if order.has_white() && led_type != LedType::Sk6812 {
        errs.push(format!(
            "{key}.color_order: \"{text}\" has a white channel but led_type \"{}\" has three colour \
             channels; use led_type = \"sk6812\" for an RGBW strip, or an order without W",
            s.led_type.as_deref().unwrap_or("ws2812")
        ));
        return ColorOrder::GRB;
    }
    order
}

/// `white` and `white_kelvin`: only for RGBW strips; white defaults to accurate there.
fn strip_white(
    key: &str,
    s: &raw::RawStrip,
    order: ColorOrder,
    errs: &mut Vec<String>,
) -> (WhiteMode, u32) {
    if !order.has_white() {
        for (name, set) in [
            ("white", s.white.is_some()),
            ("white_kelvin", s.white_kelvin.is_some()),
        ] {
            if set {
                errs.push(format!(
                    "{key}.{name}: only RGBW strips have a white channel; give color_order a W \
                     (e.g. \"GRBW\") or remove {name}"
                ));
            }
        }
        return (WhiteMode::None, DEFAULT_WHITE_KELVIN);
    }
    let text = s.white.as_deref().unwrap_or("accurate");
    let mode = WhiteMode::parse(text).unwrap_or_else(|| {
        errs.push(format!(
            "{key}.white: \"{text}\" is not one of \"none\", \"accurate\", \"brighter\""
        ));
        WhiteMode::Accurate
    });
    let kelvin = s.white_kelvin.unwrap_or(DEFAULT_WHITE_KELVIN);
    if !(2000..=10_000).contains(&kelvin) {
        errs.push(format!(
            "{key}.white_kelvin: {kelvin} is out of range 2000–10000 (a warm white LED is about \
             3000, a neutral one 4000, a cool one 6500)"
        ));
    }
    (mode, kelvin.clamp(2000, 10_000))
}

pub(super) fn build_layout(raw: &RawConfig, errs: &mut Vec<String>) -> Layout {
    let mut strips = Vec::new();
    let mut ids = HashSet::new();
    let mut dmas = HashSet::new();
    let mut pins = HashSet::new();
    if raw.strips.is_empty() {
        errs.push("strips: at least one [[strips]] entry is needed".into());
    }
    for (i, s) in raw.strips.iter().enumerate() {
        let key = format!("strips[{i}]");
        if !is_slug(&s.id) {
            errs.push(format!("{key}.id: \"{}\" must be a lower-case slug", s.id));
        }
        if !ids.insert(s.id.clone()) {
            errs.push(format!("{key}.id: duplicate strip id \"{}\"", s.id));
        }
        let driver = match s.driver.as_deref().unwrap_or("sim") {
            "sim" => Driver::Sim,
            "ws281x" => Driver::Ws281x,
            other => {
                errs.push(format!(
                    "{key}.driver: \"{other}\" is not \"sim\" or \"ws281x\""
                ));
                Driver::Sim
            }
        };
        let gpio = s.gpio.unwrap_or(18);
        if ![10, 12, 13, 18, 19, 21].contains(&gpio) {
            errs.push(format!(
                "{key}.gpio: {gpio} cannot drive WS281x; use 18 or 12 (PWM0), 13 or 19 (PWM1), 10 (SPI), 21 (PCM)"
            ));
        }
        if !pins.insert(gpio) {
            errs.push(format!("{key}.gpio: pin {gpio} is used by another strip"));
        }
        let dma = s.dma.unwrap_or(10);
        if dma > 14 {
            errs.push(format!("{key}.dma: {dma} is out of range 0–14"));
        }
        if !dmas.insert(dma) {
            errs.push(format!(
                "{key}.dma: DMA channel {dma} is used by another strip"
            ));
        }
        let led_type =
            LedType::parse(s.led_type.as_deref().unwrap_or("ws2812")).unwrap_or_else(|| {
                errs.push(format!(
                    "{key}.led_type: \"{}\" is not one of ws2811, ws2812, ws2813, sk6812 (an SK6812 \
                     RGBW strip is led_type = \"sk6812\" with a colour order such as \"GRBW\")",
                    s.led_type.as_deref().unwrap_or_default()
                ));
                LedType::Ws2812
            });
        let color_order = strip_color_order(&key, s, led_type, errs);
        let (white, white_kelvin) = strip_white(&key, s, color_order, errs);
        let gamma = s.gamma.unwrap_or(2.2);
        if !(0.5..=4.0).contains(&gamma) {
            errs.push(format!("{key}.gamma: {gamma} is out of range 0.5–4.0"));
        }
        let ma_per_channel = s.ma_per_channel.unwrap_or(20.0);
        if !(0.0..=100.0).contains(&ma_per_channel) {
            errs.push(format!(
                "{key}.ma_per_channel: {ma_per_channel} is out of range 0–100"
            ));
        }
        let frequency = s.frequency.unwrap_or(800_000);
        if !(400_000..=1_000_000).contains(&frequency) {
            errs.push(format!(
                "{key}.frequency: {frequency} Hz is out of range 400000–1000000"
            ));
        }
        let reset = match &s.reset {
            None => led_type.default_reset(),
            Some(t) => match humantime::parse_duration(t) {
                Ok(d) if d >= Duration::from_micros(50) => d,
                Ok(_) => {
                    errs.push(format!(
                        "{key}.reset: \"{t}\" is below the 50µs minimum latch time"
                    ));
                    led_type.default_reset()
                }
                Err(e) => {
                    errs.push(format!("{key}.reset: \"{t}\" is not a duration ({e})"));
                    led_type.default_reset()
                }
            },
        };
        if s.capture.is_some() && driver != Driver::Sim {
            errs.push(format!(
                "{key}.capture: only simulated strips (driver = \"sim\") capture frames"
            ));
        }
        strips.push(StripSpec {
            id: s.id.clone(),
            driver,
            gpio,
            dma,
            led_type,
            color_order,
            white,
            white_kelvin,
            frequency,
            invert: s.invert.unwrap_or(false),
            gamma,
            max_current_ma: s.max_current_ma.unwrap_or(0),
            ma_per_channel,
            reset,
            capture: s.capture.as_ref().map(PathBuf::from),
            len: 0,
        });
    }

    let mut zones: Vec<ZoneSpec> = Vec::new();
    let mut zone_ids = HashSet::new();
    if raw.zones.is_empty() {
        errs.push("zones: at least one [[zones]] entry is needed".into());
    }
    for (i, z) in raw.zones.iter().enumerate() {
        let key = format!("zones[{i}]");
        if !is_slug(&z.id) || z.id == "all" {
            errs.push(format!(
                "{key}.id: \"{}\" must be a lower-case slug (a-z, 0-9, _ and -) and not \"all\"",
                z.id
            ));
        }
        if !zone_ids.insert(z.id.clone()) {
            errs.push(format!("{key}.id: duplicate zone id \"{}\"", z.id));
        }
        if z.pixels <= 0 || z.pixels > 4096 {
            errs.push(format!(
                "{key}.pixels: {} must be between 1 and 4096",
                z.pixels
            ));
            continue;
        }
        let Some(si) = strips.iter().position(|s| s.id == z.strip) else {
            errs.push(format!("{key}.strip: no strip \"{}\"", z.strip));
            continue;
        };
        let start = strips[si].len;
        if let Some(want) = z.start {
            let prev = zones
                .iter()
                .rev()
                .find(|p| p.strip == si)
                .map(|p| p.id.as_str());
            if want < start as i64 {
                errs.push(format!(
                    "{key}.start: pixel {want} overlaps zone \"{}\" (which ends at pixel {})",
                    prev.unwrap_or("?"),
                    start as i64 - 1
                ));
            } else if want > start as i64 {
                errs.push(format!(
                    "{key}.start: pixel {want} leaves a gap after pixel {} on strip \"{}\"; zones must be contiguous",
                    start as i64 - 1,
                    z.strip
                ));
            }
        }
        strips[si].len += z.pixels as usize;
        zones.push(ZoneSpec {
            id: z.id.clone(),
            name: z.name.clone().unwrap_or_else(|| z.id.clone()),
            strip: si,
            start,
            len: z.pixels as usize,
            reversed: z.reversed.unwrap_or(false),
        });
    }
    for (i, s) in strips.iter().enumerate() {
        if s.len == 0 {
            errs.push(format!("strips[{i}]: strip \"{}\" has no zones", s.id));
        }
    }
    Layout { strips, zones }
}
