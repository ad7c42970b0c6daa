//! Diuna: WS281x LED zones on a Raspberry Pi as Home Assistant lights over MQTT.
//!
//! The binary (`src/main.rs`) only parses arguments and calls [`app::run`]; everything else lives in this
//! library so integration tests and benchmarks can drive it. See `ARCHITECTURE.md` for the map.

pub mod app;
pub mod color;
pub mod config;
pub mod effects;
pub mod engine;
pub mod input;
pub mod kernel_timer;
pub mod layout;
pub mod mqtt;
pub mod output;
pub mod palette;
pub mod persist;
pub mod realtime;
pub mod stream;
pub mod supervisor;
pub mod systemd;
pub mod unit;
