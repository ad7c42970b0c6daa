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

pub use realtime::SyncConfig;

use sections::{
    build_device_id, build_input, build_layout, build_mqtt, build_render, build_shutdown_leds,
    build_zone_init, check_log_level, check_wire_limit,
};

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::color::Rgb;
use crate::engine::RenderConfig;
use crate::engine::stream_config::RealtimeConfig;
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
        Config::load_with_env(path, std::env::vars())
    }

    /// Reads `path` with `vars` as the environment: every key outside the `[[…]]` arrays can be
    /// overridden (`DIUNA_FPS`, `DIUNA_MQTT__HOST`, `DIUNA_INPUT__KEYBOARD`).
    pub fn load_with_env(
        path: &Path,
        vars: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
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
                    .source(Some(env_overrides(vars))),
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

    /// Validates every field, collecting all errors; one builder per section.
    pub fn from_raw(raw: RawConfig) -> Result<Config, ConfigError> {
        let mut errs = Vec::new();
        let render = build_render(&raw, &mut errs);
        let device_id = build_device_id(raw.device_id.as_deref(), &mut errs);
        check_log_level(raw.log_level.as_deref(), &mut errs);
        let layout = build_layout(&raw, &mut errs);
        check_wire_limit(&render, &layout, &mut errs);
        let zone_init = build_zone_init(&raw.zones, &mut errs);
        let mqtt = build_mqtt(&raw.mqtt, &mut errs);
        let state_debounce = duration(
            "state.debounce",
            &raw.state.debounce,
            Duration::from_millis(500),
            &mut errs,
        );
        let shutdown_leds = build_shutdown_leds(raw.shutdown.leds.as_deref(), &mut errs);
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
        let library = library::build(library::RawLibrary::of(&raw), &layout, &mut errs);
        if !errs.is_empty() {
            return Err(ConfigError::Invalid(errs));
        }
        Ok(Config {
            device_name: raw.name.unwrap_or_else(|| format!("Diuna {device_id}")),
            device_id,
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
                .unwrap_or(DEFAULT_COLOR),
            layout,
            zone_init,
            input,
            realtime,
            sync,
            library,
        })
    }
}

/// The first-boot colour of a zone (and of the lamp) when the file gives none: a warm white.
const DEFAULT_COLOR: Rgb = Rgb::new(255, 200, 150);

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
    const SECTIONS: [&str; 11] = [
        "render__",
        "input__",
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
