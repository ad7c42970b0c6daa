//! Configuration: load one TOML file (plus `DIUNA_…` environment overrides) and validate it into a typed
//! [`Config`] that every actor receives its part of.
//!
//! Loading is two-stage: [`raw::RawConfig`] mirrors the file; [`Config::from_raw`] checks every field and
//! collects *all* problems, each naming its key, so a user fixes a file in one pass.

pub mod raw;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::color::Rgb;
use crate::effects;
use crate::input::{self, EncoderPins, InputConfig, KeyboardSource};
use crate::layout::{ColorOrder, Driver, Layout, LedType, StripSpec, ZoneSpec};
use raw::RawConfig;

/// Every problem found in a configuration, one line each, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Load {
        path: String,
        #[source]
        source: config::ConfigError,
    },
    #[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// How transitions ease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Easing {
    Linear,
    InOut,
}

impl Easing {
    /// Maps linear progress 0–1 to eased progress 0–1.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Easing::Linear => x,
            Easing::InOut => x * x * (3.0 - 2.0 * x),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RenderConfig {
    pub fps: u32,
    pub refresh: Duration,
    pub transition: Duration,
    pub fade_in: Duration,
    pub fade_out: Duration,
    pub easing: Easing,
}

#[derive(Clone, Debug)]
pub struct MqttConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub base_topic: String,
    pub discovery_prefix: String,
    pub client_id: String,
    pub username: Option<String>,
    /// Where the password comes from; read at connect time and never logged.
    pub password: PasswordSource,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub keep_alive: Duration,
    pub reconnect_max: Duration,
}

#[derive(Clone, Debug)]
pub enum PasswordSource {
    None,
    Inline(String),
    File(PathBuf),
    Env(String),
}

/// First-boot state of one zone (used when the state file has nothing for it).
#[derive(Clone, Debug)]
pub struct ZoneInit {
    pub color: Rgb,
    pub brightness: u8,
    pub on: bool,
    pub effect: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownLeds {
    Off,
    Keep,
}

/// The validated runtime configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub device_id: String,
    pub device_name: String,
    pub suggested_area: Option<String>,
    pub log_level: Option<String>,
    pub render: RenderConfig,
    pub mqtt: MqttConfig,
    pub state_path: PathBuf,
    pub state_debounce: Duration,
    pub shutdown_leds: ShutdownLeds,
    pub lamp_zone: Option<usize>,
    pub lamp_color: Rgb,
    pub layout: Layout,
    pub zone_init: Vec<ZoneInit>,
    pub input: InputConfig,
}

impl Config {
    /// Reads `path` and the `DIUNA_…` environment (`DIUNA_MQTT__HOST=x` sets `mqtt.host`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let load_err = |source| ConfigError::Load {
            path: path.display().to_string(),
            source,
        };
        let raw: RawConfig = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix("DIUNA")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .source(Some(env_overrides(std::env::vars()))),
            )
            .build()
            .map_err(load_err)?
            .try_deserialize()
            .map_err(load_err)?;
        Config::from_raw(raw)
    }

    /// Parses TOML text directly (tests, benches).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|source| ConfigError::Load {
                path: "<string>".into(),
                source,
            })?;
        Config::from_raw(raw)
    }

    /// Validates every field, collecting all errors.
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut errs = Vec::new();
        let mut dur = |key: &str, v: &Option<String>, default: &str| -> Duration {
            let text = v.as_deref().unwrap_or(default);
            humantime::parse_duration(text).unwrap_or_else(|e| {
                errs.push(format!(
                    "{key}: \"{text}\" is not a duration ({e}); write e.g. \"500ms\" or \"2s\""
                ));
                humantime::parse_duration(default).unwrap_or_default()
            })
        };
        let render = RenderConfig {
            fps: raw.fps.unwrap_or(60),
            refresh: dur("render.refresh", &raw.render.refresh, "5s"),
            transition: dur("render.transition", &raw.render.transition, "500ms"),
            fade_in: dur("render.fade_in", &raw.render.fade_in, "1500ms"),
            fade_out: dur("render.fade_out", &raw.render.fade_out, "600ms"),
            easing: Easing::Linear,
        };
        let keep_alive = dur("mqtt.keep_alive", &raw.mqtt.keep_alive, "30s");
        let reconnect_max = dur("mqtt.reconnect_max", &raw.mqtt.reconnect_max, "30s");
        let state_debounce = dur("state.debounce", &raw.state.debounce, "500ms");
        let mut render = render;
        render.easing = match raw.render.easing.as_deref().unwrap_or("in_out") {
            "linear" => Easing::Linear,
            "in_out" | "inout" | "ease_in_out" => Easing::InOut,
            other => {
                errs.push(format!(
                    "render.easing: \"{other}\" is not one of \"linear\", \"in_out\""
                ));
                Easing::InOut
            }
        };
        if render.fps == 0 || render.fps > 1000 {
            errs.push(format!("fps: {} is out of range 1–1000", render.fps));
        }

        let device_id = match &raw.device_id {
            Some(id) if is_slug(id) => id.clone(),
            Some(id) => {
                errs.push(format!(
                    "device_id: \"{id}\" must be a lower-case slug (a-z, 0-9, _ and -)"
                ));
                id.clone()
            }
            None => host_slug(),
        };
        let device_name = raw
            .name
            .clone()
            .unwrap_or_else(|| format!("Diuna {device_id}"));

        let layout = build_layout(&raw, &mut errs);
        if !layout.strips.is_empty() {
            let limit = layout.max_fps();
            if render.fps as f64 > limit {
                errs.push(format!(
                    "fps: {} is above the wire limit of the longest strip ({:.0} FPS)",
                    render.fps, limit
                ));
            }
        }
        let zone_init = raw
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| ZoneInit {
                color: z
                    .color
                    .map(|[r, g, b]| Rgb::new(r, g, b))
                    .unwrap_or(Rgb::new(255, 200, 150)),
                brightness: z.brightness.unwrap_or(128),
                on: z.on.unwrap_or(true),
                effect: z.effect.as_deref().and_then(|name| {
                    let found = effects::find(name);
                    if found.is_none() {
                        errs.push(format!("zones[{i}].effect: unknown effect \"{name}\""));
                    }
                    found
                }),
            })
            .collect();

        let mqtt = &raw.mqtt;
        let base_topic = mqtt.base_topic.clone().unwrap_or_else(|| "diuna".into());
        if base_topic.is_empty() || base_topic.contains(['#', '+']) {
            errs.push(format!(
                "mqtt.base_topic: \"{base_topic}\" must be non-empty and free of # and +"
            ));
        }
        let password = match (&mqtt.password, &mqtt.password_file, &mqtt.password_env) {
            (None, None, None) => PasswordSource::None,
            (Some(p), None, None) => PasswordSource::Inline(p.clone()),
            (None, Some(f), None) => PasswordSource::File(f.into()),
            (None, None, Some(e)) => PasswordSource::Env(e.clone()),
            _ => {
                errs.push("mqtt: set only one of password, password_file, password_env".into());
                PasswordSource::None
            }
        };
        if mqtt.tls_cert.is_some() != mqtt.tls_key.is_some() {
            errs.push("mqtt.tls_cert / mqtt.tls_key: a client certificate needs both".into());
        }
        let mqtt = MqttConfig {
            enabled: mqtt.enabled.unwrap_or(true),
            host: mqtt.host.clone().unwrap_or_else(|| "localhost".into()),
            port: mqtt.port.unwrap_or(1883),
            discovery_prefix: mqtt
                .discovery_prefix
                .clone()
                .unwrap_or_else(|| "homeassistant".into()),
            client_id: mqtt
                .client_id
                .clone()
                .unwrap_or_else(|| format!("diuna-{device_id}")),
            username: mqtt.username.clone(),
            password,
            tls_ca: mqtt.tls_ca.as_ref().map(PathBuf::from),
            tls_cert: mqtt.tls_cert.as_ref().map(PathBuf::from),
            tls_key: mqtt.tls_key.as_ref().map(PathBuf::from),
            keep_alive,
            reconnect_max,
            base_topic,
        };
        let shutdown_leds = match raw.shutdown.leds.as_deref().unwrap_or("off") {
            "off" => ShutdownLeds::Off,
            "keep" => ShutdownLeds::Keep,
            other => {
                errs.push(format!(
                    "shutdown.leds: \"{other}\" is not \"off\" or \"keep\""
                ));
                ShutdownLeds::Off
            }
        };
        let lamp_zone = raw.lamp.zone.as_deref().and_then(|id| {
            let found = layout.zone_index(id);
            if found.is_none() {
                errs.push(format!("lamp.zone: no zone \"{id}\""));
            }
            found
        });

        let input = build_input(&raw.input, &layout, &mut errs);
        if !errs.is_empty() {
            return Err(ConfigError::Invalid(errs));
        }
        Ok(Config {
            device_id,
            device_name,
            suggested_area: raw.suggested_area,
            log_level: raw.log_level,
            render,
            mqtt,
            state_path: raw
                .state
                .path
                .map(PathBuf::from)
                .unwrap_or_else(|| "/var/lib/diuna/state.json".into()),
            state_debounce,
            shutdown_leds,
            lamp_zone,
            lamp_color: raw
                .lamp
                .color
                .map(|[r, g, b]| Rgb::new(r, g, b))
                .unwrap_or(Rgb::new(255, 200, 150)),
            layout,
            zone_init,
            input,
        })
    }
}

/// The `DIUNA_…` variables that address config keys (`DIUNA_FPS`, `DIUNA_MQTT__HOST`). Others that
/// merely share the prefix (`DIUNA_MQTT_PASSWORD` for `password_env`, test hooks) are left alone
/// instead of failing the load as unknown keys.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> config::Map<String, String> {
    const SCALARS: [&str; 5] = ["device_id", "name", "suggested_area", "fps", "log_level"];
    const SECTIONS: [&str; 5] = ["render__", "mqtt__", "state__", "shutdown__", "lamp__"];
    vars.filter(|(k, _)| {
        k.strip_prefix("DIUNA_").is_some_and(|rest| {
            let rest = rest.to_ascii_lowercase();
            SCALARS.contains(&rest.as_str()) || SECTIONS.iter().any(|s| rest.starts_with(s))
        })
    })
    .collect()
}

/// A lower-case slug: what topics and unique ids are made of.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The host name as a slug, the default `device_id`.
pub fn host_slug() -> String {
    let host = gethostname::gethostname()
        .to_string_lossy()
        .to_ascii_lowercase();
    let slug: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if slug.is_empty() {
        "diuna".into()
    } else {
        slug
    }
}

fn build_input(raw: &raw::RawInput, layout: &Layout, errs: &mut Vec<String>) -> InputConfig {
    let mut cfg = InputConfig::default();
    let dur = |key: &str, v: &Option<String>, default: Duration, errs: &mut Vec<String>| match v {
        None => default,
        Some(t) => humantime::parse_duration(t).unwrap_or_else(|e| {
            errs.push(format!("{key}: \"{t}\" is not a duration ({e})"));
            default
        }),
    };
    cfg.long_press = dur("input.long_press", &raw.long_press, cfg.long_press, errs);
    cfg.debounce = dur("input.debounce", &raw.debounce, cfg.debounce, errs);
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

fn build_layout(raw: &RawConfig, errs: &mut Vec<String>) -> Layout {
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
                    "{key}.led_type: \"{}\" is not one of ws2811, ws2812, ws2813, sk6812",
                    s.led_type.as_deref().unwrap_or_default()
                ));
                LedType::Ws2812
            });
        let color_order = ColorOrder::parse(s.color_order.as_deref().unwrap_or("GRB"))
            .unwrap_or_else(|| {
                errs.push(format!(
                    "{key}.color_order: \"{}\" is not one of RGB, RBG, GRB, GBR, BRG, BGR",
                    s.color_order.as_deref().unwrap_or_default()
                ));
                ColorOrder::Grb
            });
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

#[cfg(test)]
mod tests;
