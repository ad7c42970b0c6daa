//! The configuration file as written: plain serde structs that mirror the TOML, nothing validated yet.
//!
//! `Config::from_raw` (in `config/mod.rs`) turns this into the typed runtime configuration and reports every
//! bad field by its key. Unknown keys are errors here, so a typo never silently disables a setting.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub device_id: Option<String>,
    pub name: Option<String>,
    pub suggested_area: Option<String>,
    pub fps: Option<u32>,
    pub log_level: Option<String>,
    #[serde(default)]
    pub render: RawRender,
    #[serde(default)]
    pub mqtt: RawMqtt,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub shutdown: RawShutdown,
    #[serde(default)]
    pub lamp: RawLamp,
    #[serde(default)]
    pub input: RawInput,
    #[serde(default)]
    pub strips: Vec<RawStrip>,
    #[serde(default)]
    pub zones: Vec<RawZone>,
    #[serde(default)]
    pub realtime: RawRealtime,
    #[serde(default)]
    pub sync: RawSync,
    // Palettes, scenes, playlists, wake-up and power-on (`config/library.rs`).
    #[serde(default)]
    pub palettes: Vec<super::library::RawPalette>,
    #[serde(default)]
    pub scenes: Vec<super::library::RawScene>,
    #[serde(default)]
    pub playlists: Vec<super::library::RawPlaylist>,
    #[serde(default)]
    pub sunrise: super::library::RawSunrise,
    #[serde(default)]
    pub nightlight: super::library::RawNightlight,
    #[serde(default)]
    pub power_on: super::library::RawPowerOn,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRender {
    pub refresh: Option<String>,
    pub transition: Option<String>,
    pub fade_in: Option<String>,
    pub fade_out: Option<String>,
    pub easing: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    pub enabled: Option<bool>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub base_topic: Option<String>,
    pub discovery_prefix: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub password_env: Option<String>,
    pub tls_ca: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub keep_alive: Option<String>,
    pub reconnect_max: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub path: Option<String>,
    pub debounce: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShutdown {
    pub leds: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLamp {
    pub zone: Option<String>,
    pub color: Option<[u8; 3]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrip {
    pub id: String,
    pub driver: Option<String>,
    pub gpio: Option<u8>,
    pub dma: Option<u8>,
    pub led_type: Option<String>,
    pub color_order: Option<String>,
    /// RGBW strips: "none", "accurate" or "brighter".
    pub white: Option<String>,
    /// RGBW strips: colour temperature of the white LED (kelvin).
    pub white_kelvin: Option<u32>,
    pub frequency: Option<u32>,
    pub invert: Option<bool>,
    pub gamma: Option<f32>,
    pub max_current_ma: Option<u32>,
    pub ma_per_channel: Option<f32>,
    pub reset: Option<String>,
    pub capture: Option<String>,
    /// Sim only: "ws281x", "spi" or "pio", whose wire timing the simulated strip imitates.
    pub emulate: Option<String>,
    /// `spi`: the spidev node (default from `gpio`); `pio`: the `/dev/ledsN` node (required).
    pub device: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub id: String,
    pub name: Option<String>,
    pub strip: String,
    pub pixels: i64,
    /// Optional explicit first pixel; must equal the end of the previous zone on the strip.
    pub start: Option<i64>,
    pub reversed: Option<bool>,
    pub color: Option<[u8; 3]>,
    pub brightness: Option<u8>,
    pub on: Option<bool>,
    pub effect: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub selector: Option<RawEncoder>,
    pub modulator: Option<RawEncoder>,
    /// GPIO pins (BCM) of BTN1..BTN4.
    pub buttons: Option<Vec<u8>>,
    pub long_press: Option<String>,
    pub debounce: Option<String>,
    pub acceleration: Option<bool>,
    /// "auto" (the terminal when interactive), "terminal", "none", or an evdev device path.
    pub keyboard: Option<String>,
    /// Unix socket for the simulated input source (tests, scripts).
    pub sim_socket: Option<String>,
    /// Key name → action overrides, e.g. `e = "edit_mode"`.
    pub keys: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEncoder {
    /// GPIO pins (BCM) of the A and B lines...
    pub a: Option<u8>,
    pub b: Option<u8>,
    /// ...or the input device of the kernel's rotary-encoder overlay.
    pub device: Option<String>,
    pub button: Option<u8>,
}

/// `[realtime]`: DDP / E1.31 input (validated in `config/realtime.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRealtime {
    pub enabled: Option<bool>,
    pub bind: Option<String>,
    pub ddp_port: Option<u16>,
    pub e131_port: Option<u16>,
    pub e131_universe: Option<u16>,
    pub e131_address: Option<u16>,
    pub multicast: Option<bool>,
    pub timeout: Option<String>,
    pub fade_back: Option<String>,
    pub brightness: Option<bool>,
    pub gamma: Option<String>,
    /// Per-zone mapping overrides, keyed by zone id.
    pub zones: Option<std::collections::BTreeMap<String, RawRealtimeZone>>,
}

/// `[realtime.zones.<id>]`: where one zone sits in the realtime pixel space.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRealtimeZone {
    /// First realtime pixel (DDP pixel index) of the zone's logical pixel 0.
    pub start: Option<u32>,
    /// Or: the E1.31 universe and DMX address of its first channel.
    pub universe: Option<u16>,
    pub address: Option<u16>,
}

/// `[sync]`: several devices in step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    pub group: Option<String>,
    pub lead: Option<String>,
}
