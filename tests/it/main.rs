//! The integration suite: one binary that boots the real `diuna` against a real Mosquitto on a free
//! port and watches the LEDs through the simulated strips' capture files.

mod inproc;
mod support;
mod testconfig;
mod testconfig_check;

mod drivers;
mod effects;
mod input;
mod library;
mod lifecycle;
mod logging;
mod mqtt;
mod persistence;
mod realtime;
mod realtime_flood;
mod realtime_mapping;
mod realtime_sacn;
mod rgbw;
mod robust;
mod scenes;
mod security;
mod sync;
