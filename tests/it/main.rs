//! The integration suite: one binary that runs the daemon against a real Mosquitto on a free port —
//! as the real `diuna` process ([`support::Daemon`], LEDs read from the simulated strips' capture
//! files) or inside the test ([`inproc::start_app`], every frame delivered on a channel) — with every
//! config built by [`testconfig::TestConfig`].

mod inproc;
mod support;
mod testconfig;
mod testconfig_check;

mod connection;
mod drivers;
mod effects;
mod input;
mod library;
mod lifecycle;
mod logging;
mod mdns;
mod mqtt;
mod persistence;
mod realtime;
mod realtime_flood;
mod realtime_mapping;
mod realtime_sacn;
mod reload;
mod rgbw;
mod robust;
mod scenes;
mod security;
mod sync;
