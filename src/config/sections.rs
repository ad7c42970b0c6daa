//! Validation of the config's sections, one builder each: render settings, device id, MQTT, shutdown,
//! first-boot zone state, strips and zones into a [`Layout`], and the input surface into an
//! [`InputConfig`]. Each pushes one message per problem, naming the key.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use super::raw::{self, RawConfig};
use super::strips::{build_strip, check_drivers};
use super::{
    DEFAULT_COLOR, MqttConfig, PasswordSource, ShutdownLeds, ZoneInit, duration, host_slug, is_slug,
};
use crate::color::Rgb;
use crate::effects;
use crate::engine::{Easing, RenderConfig};
use crate::input::{self, EncoderPins, EncoderSource, InputConfig, KeyboardSource};
use crate::layout::{Layout, StripSpec, ZoneSpec};

/// `fps` and `[render]`.
pub(super) fn build_render(raw: &RawConfig, errs: &mut Vec<String>) -> RenderConfig {
    let r = &raw.render;
    let mut dur = |key: &str, v: &Option<String>, default_ms: u64| {
        duration(key, v, Duration::from_millis(default_ms), errs)
    };
    let (refresh, transition) = (
        dur("render.refresh", &r.refresh, 5000),
        dur("render.transition", &r.transition, 500),
    );
    let (fade_in, fade_out) = (
        dur("render.fade_in", &r.fade_in, 1500),
        dur("render.fade_out", &r.fade_out, 600),
    );
    let easing = match r.easing.as_deref().unwrap_or("in_out") {
        "linear" => Easing::Linear,
        "in_out" | "inout" | "ease_in_out" => Easing::InOut,
        other => {
            errs.push(format!(
                "render.easing: \"{other}\" is not one of \"linear\", \"in_out\""
            ));
            Easing::InOut
        }
    };
    let fps = raw.fps.unwrap_or(60);
    if fps == 0 || fps > 1000 {
        errs.push(format!("fps: {fps} is out of range 1–1000"));
    }
    RenderConfig {
        fps,
        refresh,
        transition,
        fade_in,
        fade_out,
        easing,
    }
}

/// `device_id`, or the host name as a slug.
pub(super) fn build_device_id(id: Option<&str>, errs: &mut Vec<String>) -> String {
    match id {
        Some(id) => {
            if !is_slug(id) {
                errs.push(format!(
                    "device_id: \"{id}\" must be a lower-case slug (a-z, 0-9, _ and -)"
                ));
            }
            id.to_string()
        }
        None => host_slug(),
    }
}

/// `log_level`: a level, or `target=level` directives joined by commas (what `RUST_LOG` takes).
pub(super) fn check_log_level(level: Option<&str>, errs: &mut Vec<String>) {
    let Some(level) = level else { return };
    // A bare word is a target to tracing ("infoo" would enable everything under a target of that
    // name and silence the rest): here it must be a level.
    let bare_words_are_levels = level.split(',').filter(|d| !d.contains('=')).all(|d| {
        d.trim()
            .parse::<tracing::level_filters::LevelFilter>()
            .is_ok()
    });
    let parses = level.parse::<tracing_subscriber::filter::Targets>().is_ok();
    if !(bare_words_are_levels && parses) {
        errs.push(format!(
            "log_level: \"{level}\" is not a level (error, warn, info, debug, trace) nor a list of \
             target=level directives such as \"info,rumqttc=warn\""
        ));
    }
}

/// `fps` against what the strips' drivers can carry.
pub(super) fn check_wire_limit(render: &RenderConfig, layout: &Layout, errs: &mut Vec<String>) {
    if layout.strips.is_empty() {
        return;
    }
    let limit = layout.max_fps();
    if render.fps as f64 > limit {
        errs.push(format!(
            "fps: {} is above the wire limit of these strips and drivers ({limit:.0} FPS): lower fps, or split long strips",
            render.fps
        ));
    }
}

/// Each zone's first-boot colour, brightness, power and effect.
pub(super) fn build_zone_init(zones: &[raw::RawZone], errs: &mut Vec<String>) -> Vec<ZoneInit> {
    let mut effect = |i: usize, name: &str| {
        let found = effects::find(name);
        if found.is_none() {
            errs.push(format!("zones[{i}].effect: unknown effect \"{name}\""));
        }
        found
    };
    zones
        .iter()
        .enumerate()
        .map(|(i, z)| ZoneInit {
            color: z
                .color
                .map(|[r, g, b]| Rgb::new(r, g, b))
                .unwrap_or(DEFAULT_COLOR),
            brightness: z.brightness.unwrap_or(128),
            on: z.on.unwrap_or(true),
            effect: z.effect.as_deref().and_then(|name| effect(i, name)),
        })
        .collect()
}

/// `[mqtt]`.
pub(super) fn build_mqtt(raw: &raw::RawMqtt, errs: &mut Vec<String>) -> MqttConfig {
    let keep_alive = duration(
        "mqtt.keep_alive",
        &raw.keep_alive,
        Duration::from_secs(30),
        errs,
    );
    let reconnect_max = duration(
        "mqtt.reconnect_max",
        &raw.reconnect_max,
        Duration::from_secs(30),
        errs,
    );
    let base_topic = raw.base_topic.clone().unwrap_or_else(|| "diuna".into());
    if base_topic.is_empty() || base_topic.contains(['#', '+']) {
        errs.push(format!(
            "mqtt.base_topic: \"{base_topic}\" must be non-empty and free of # and +"
        ));
    }
    if raw.tls_cert.is_some() != raw.tls_key.is_some() {
        errs.push("mqtt.tls_cert / mqtt.tls_key: a client certificate needs both".into());
    }
    let names_tls = raw.tls_ca.is_some() || raw.tls_cert.is_some() || raw.tls_key.is_some();
    if names_tls && !cfg!(feature = "tls") {
        // Refused rather than ignored: ignoring it would send the password in the clear.
        errs.push(
            "mqtt.tls_ca / tls_cert / tls_key: this diuna was built without TLS (cargo feature \
             `tls`, on by default); use a build with it or remove them"
                .into(),
        );
    }
    MqttConfig {
        enabled: raw.enabled.unwrap_or(true),
        host: raw.host.clone().unwrap_or_else(|| "localhost".into()),
        port: raw.port.unwrap_or(1883),
        discovery_prefix: raw
            .discovery_prefix
            .clone()
            .unwrap_or_else(|| "homeassistant".into()),
        client_id: raw.client_id.clone(),
        username: raw.username.clone(),
        password: password_source(raw, errs),
        tls_ca: raw.tls_ca.as_ref().map(PathBuf::from),
        tls_cert: raw.tls_cert.as_ref().map(PathBuf::from),
        tls_key: raw.tls_key.as_ref().map(PathBuf::from),
        keep_alive,
        reconnect_max,
        base_topic,
    }
}

/// Where the MQTT password comes from: at most one of `password`, `password_file`, `password_env`.
fn password_source(raw: &raw::RawMqtt, errs: &mut Vec<String>) -> PasswordSource {
    match (&raw.password, &raw.password_file, &raw.password_env) {
        (None, None, None) => PasswordSource::None,
        (Some(p), None, None) => PasswordSource::Inline(p.clone()),
        (None, Some(f), None) => PasswordSource::File(f.into()),
        (None, None, Some(e)) => PasswordSource::Env(e.clone()),
        _ => {
            errs.push("mqtt: set only one of password, password_file, password_env".into());
            PasswordSource::None
        }
    }
}

/// `[shutdown] leds`.
pub(super) fn build_shutdown_leds(leds: Option<&str>, errs: &mut Vec<String>) -> ShutdownLeds {
    match leds.unwrap_or("off") {
        "off" => ShutdownLeds::Off,
        "keep" => ShutdownLeds::Keep,
        other => {
            errs.push(format!(
                "shutdown.leds: \"{other}\" is not \"off\" or \"keep\""
            ));
            ShutdownLeds::Off
        }
    }
}

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

/// `[[strips]]` and `[[zones]]`: the strips, and the zones laid out on them in file order.
pub(super) fn build_layout(raw: &RawConfig, errs: &mut Vec<String>) -> Layout {
    let mut strips = build_strips(&raw.strips, errs);
    let zones = build_zones(&raw.zones, &mut strips, errs);
    for (i, s) in strips.iter().enumerate() {
        if s.len == 0 {
            errs.push(format!("strips[{i}]: strip \"{}\" has no zones", s.id));
        }
    }
    Layout { strips, zones }
}

/// Each `[[strips]]` entry, with unique ids and the rules between drivers; lengths come from the zones.
fn build_strips(raw: &[raw::RawStrip], errs: &mut Vec<String>) -> Vec<StripSpec> {
    let mut strips = Vec::new();
    let mut ids = HashSet::new();
    if raw.is_empty() {
        errs.push("strips: at least one [[strips]] entry is needed".into());
    }
    for (i, s) in raw.iter().enumerate() {
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
    strips
}

/// Each `[[zones]]` entry, placed after the previous zone of its strip (which grows by its pixels).
fn build_zones(
    raw: &[raw::RawZone],
    strips: &mut [StripSpec],
    errs: &mut Vec<String>,
) -> Vec<ZoneSpec> {
    let mut zones: Vec<ZoneSpec> = Vec::new();
    let mut zone_ids = HashSet::new();
    if raw.is_empty() {
        errs.push("zones: at least one [[zones]] entry is needed".into());
    }
    for (i, z) in raw.iter().enumerate() {
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
            let prev = zones.iter().rev().find(|p| p.strip == si);
            check_start(
                &key,
                want,
                start,
                prev.map(|p| p.id.as_str()),
                &z.strip,
                errs,
            );
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
    zones
}

/// A zone's optional `start` must be where it lands: right after `prev`, the strip's previous zone.
fn check_start(
    key: &str,
    want: i64,
    start: usize,
    prev: Option<&str>,
    strip: &str,
    errs: &mut Vec<String>,
) {
    let end = start as i64 - 1;
    if want < start as i64 {
        errs.push(format!(
            "{key}.start: pixel {want} overlaps zone \"{}\" (which ends at pixel {end})",
            prev.unwrap_or("?"),
        ));
    } else if want > start as i64 {
        errs.push(format!(
            "{key}.start: pixel {want} leaves a gap after pixel {end} on strip \"{strip}\"; zones must be contiguous",
        ));
    }
}
