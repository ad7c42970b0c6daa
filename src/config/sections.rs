//! Validation of the config's structured sections: strips and zones into a [`Layout`], and the input
//! surface into an [`InputConfig`]. Each pushes one message per problem, naming the key.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use super::raw::{self, RawConfig};
use super::strips::{build_strip, check_drivers};
use super::{duration, is_slug};
use crate::input::{self, EncoderPins, EncoderSource, InputConfig, KeyboardSource};
use crate::layout::{Layout, ZoneSpec};

pub(super) fn build_input(
    raw: &raw::RawInput,
    layout: &Layout,
    errs: &mut Vec<String>,
) -> InputConfig {
    let mut cfg = InputConfig::default();
    cfg.long_press = duration("input.long_press", &raw.long_press, cfg.long_press, errs);
    cfg.debounce = duration("input.debounce", &raw.debounce, cfg.debounce, errs);
    cfg.acceleration = raw.acceleration.unwrap_or(true);
    cfg.selector = encoder("selector", &raw.selector, errs);
    cfg.modulator = encoder("modulator", &raw.modulator, errs);
    cfg.buttons = raw.buttons.clone().unwrap_or_default();
    if cfg.buttons.len() > 4 {
        errs.push(format!(
            "input.buttons: {} pins given, at most 4 (BTN1..BTN4)",
            cfg.buttons.len()
        ));
    }
    // Every pin once: a message names both keys that claim it.
    let mut seen: HashMap<u8, String> = layout
        .strips
        .iter()
        .enumerate()
        .map(|(i, s)| (s.gpio, format!("strips[{i}].gpio")))
        .collect();
    for (key, pin) in cfg.pin_keys() {
        if pin > 27 {
            errs.push(format!("{key}: GPIO {pin} does not exist (BCM 0–27)"));
        } else if let Some(other) = seen.get(&pin) {
            errs.push(format!("{key}: GPIO {pin} is already used by {other}"));
        } else {
            seen.insert(pin, key);
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

/// `[input.selector]` / `[input.modulator]`: GPIO lines `a` and `b`, or a rotary-encoder `device`.
fn encoder(
    name: &str,
    raw: &Option<raw::RawEncoder>,
    errs: &mut Vec<String>,
) -> Option<EncoderPins> {
    let e = raw.as_ref()?;
    let source = match (e.a, e.b, &e.device) {
        (Some(a), Some(b), None) => EncoderSource::Gpio { a, b },
        (None, None, Some(d)) if d.starts_with('/') => EncoderSource::Evdev(d.into()),
        (None, None, Some(d)) => {
            errs.push(format!(
                "input.{name}.device: \"{d}\" is not a path (/dev/input/by-path/…-event)"
            ));
            return None;
        }
        (_, _, Some(_)) => {
            errs.push(format!(
                "input.{name}: give either a and b (GPIO pins) or device (a rotary-encoder input device), not both"
            ));
            return None;
        }
        _ => {
            errs.push(format!(
                "input.{name}: both a and b (GPIO pins of the encoder's lines) are needed, or device = \"/dev/input/…\""
            ));
            return None;
        }
    };
    Some(EncoderPins {
        source,
        button: e.button,
    })
}

pub(super) fn build_layout(raw: &RawConfig, errs: &mut Vec<String>) -> Layout {
    let mut strips = Vec::new();
    let mut ids = HashSet::new();
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
        strips.push(build_strip(i, s, errs));
    }
    check_drivers(&strips, errs);

    let mut zones: Vec<ZoneSpec> = Vec::new();
    let mut zone_ids = HashSet::new();
    if raw.zones.is_empty() {
        errs.push("zones: at least one [[zones]] entry is needed".into());
    }
    for (i, z) in raw.zones.iter().enumerate() {
        let key = format!("zones[{i}]");
        if !is_slug(&z.id) || z.id == "all" || z.id == "realtime" {
            errs.push(format!(
                "{key}.id: \"{}\" must be a lower-case slug (a-z, 0-9, _ and -) and not \"all\" or \"realtime\"",
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
