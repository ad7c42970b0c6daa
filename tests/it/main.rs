//! The integration suite: one binary that boots the real `diuna` against a real Mosquitto on a free
//! port and watches the LEDs through the simulated strips' capture files.

mod support;

mod effects;
mod input;
mod lifecycle;
mod mqtt;
mod persistence;
mod rgbw;
mod security;
