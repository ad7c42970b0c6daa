//! Configuration: load one TOML file (plus `DIUNA_…` environment overrides) and validate it into a typed
//! [`Config`] that every actor receives its part of.
//!
//! Loading is two-stage: [`raw::RawConfig`] mirrors the file; [`Config::from_raw`] checks every field and
//! collects *all* problems, each naming its key, so a user fixes a file in one pass.

pub mod library;
pub mod raw;
mod realtime;
mod sections;
pub mod strips;

pub use realtime::{RealtimeConfig, StreamGamma, SyncConfig, ZoneOrigin};

use sections::{build_input, build_layout};

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::color::Rgb;
use crate::effects;
use crate::input::InputConfig;
use crate::layout::Layout;
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

/// The `[mqtt]` section. Compared by value on SIGHUP; its `Debug` never shows the password.
#[derive(Clone, Debug, PartialEq)]
pub struct MqttConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub base_topic: String,
    pub discovery_prefix: String,
    /// `mqtt.client_id` when set; otherwise the bridge derives one that is stable per machine.
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// Where the password comes from; read at connect time and never logged.
    pub password: PasswordSource,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub keep_alive: Duration,
    pub reconnect_max: Duration,
}

#[derive(Clone, PartialEq)]
pub enum PasswordSource {
    None,
    Inline(String),
    File(PathBuf),
    Env(String),
}

impl std::fmt::Debug for PasswordSource {
    /// Names where the password comes from, never the password itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::None => f.write_str("None"),
            PasswordSource::Inline(_) => f.write_str("Inline(<redacted>)"),
            PasswordSource::File(p) => f.debug_tuple("File").field(p).finish(),
            PasswordSource::Env(v) => f.debug_tuple("Env").field(v).finish(),
        }
    }
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
    pub realtime: RealtimeConfig,
    pub sync: SyncConfig,
    /// Palettes, scenes, playlists, wake-up and power-on (`config/library.rs`).
    pub library: library::LibraryConfig,
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
        let mut dur = |key: &str, v: &Option<String>, default_ms: u64| {
            duration(key, v, Duration::from_millis(default_ms), &mut errs)
        };
        let render = RenderConfig {
            fps: raw.fps.unwrap_or(60),
            refresh: dur("render.refresh", &raw.render.refresh, 5000),
            transition: dur("render.transition", &raw.render.transition, 500),
            fade_in: dur("render.fade_in", &raw.render.fade_in, 1500),
            fade_out: dur("render.fade_out", &raw.render.fade_out, 600),
            easing: Easing::Linear,
        };
        let keep_alive = dur("mqtt.keep_alive", &raw.mqtt.keep_alive, 30_000);
        let reconnect_max = dur("mqtt.reconnect_max", &raw.mqtt.reconnect_max, 30_000);
        let state_debounce = dur("state.debounce", &raw.state.debounce, 500);
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
                    "fps: {} is above the wire limit of these strips and drivers ({:.0} FPS): lower fps, or split long strips",
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
            client_id: mqtt.client_id.clone(),
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
        let realtime = realtime::build_realtime(&raw.realtime, &layout, &mut errs);
        let sync = realtime::build_sync(&raw.sync, &device_id, &mut errs);
        let library = library::build(
            library::RawLibrary {
                palettes: &raw.palettes,
                scenes: &raw.scenes,
                playlists: &raw.playlists,
                sunrise: &raw.sunrise,
                nightlight: &raw.nightlight,
                power_on: &raw.power_on,
            },
            &layout,
            &mut errs,
        );
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
            realtime,
            sync,
            library,
        })
    }
}

/// A duration written the human way (`"500ms"`, `"2s"`), or `default` when absent; a bad one is
/// reported under `key` and replaced by `default`.
pub(crate) fn duration(
    key: &str,
    v: &Option<String>,
    default: Duration,
    errs: &mut Vec<String>,
) -> Duration {
    match v {
        None => default,
        Some(t) => humantime::parse_duration(t).unwrap_or_else(|e| {
            errs.push(format!(
                "{key}: \"{t}\" is not a duration ({e}); write e.g. \"500ms\" or \"2s\""
            ));
            default
        }),
    }
}

/// The `DIUNA_…` variables that address config keys (`DIUNA_FPS`, `DIUNA_MQTT__HOST`). Others that
/// merely share the prefix (`DIUNA_MQTT_PASSWORD` for `password_env`, test hooks) are left alone
/// instead of failing the load as unknown keys.
pub fn env_overrides(vars: impl Iterator<Item = (String, String)>) -> config::Map<String, String> {
    const SCALARS: [&str; 5] = ["device_id", "name", "suggested_area", "fps", "log_level"];
    const SECTIONS: [&str; 10] = [
        "render__",
        "mqtt__",
        "state__",
        "shutdown__",
        "lamp__",
        "realtime__",
        "sync__",
        "sunrise__",
        "nightlight__",
        "power_on__",
    ];
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

#[cfg(test)]
mod tests;
