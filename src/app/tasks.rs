//! Starting the supervised tasks: the state writer, the watchdog pinger and the input surface (the
//! hub, and every configured source: GPIO pins, rotary-encoder and keypad devices, the terminal, the
//! simulated-input socket). Every one runs on the supervisor's tracker and ends on its stop token, so
//! the shutdown in `app.rs` joins everything started here.

use std::any::Any;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engine::EngineHandle;
use crate::input::hub::{self, Raw};
use crate::input::{InputConfig, KeyboardSource, keyboard, rotary, sim};
use crate::persist::Persister;
use crate::supervisor::Supervisor;
use crate::systemd;

/// The debounced state writer (restarted when it fails).
pub(super) fn spawn_state(
    sup: &Supervisor,
    config: &Config,
    engine: &EngineHandle,
    stop: CancellationToken,
) {
    let persister = Persister {
        path: config.state_path.clone(),
        debounce: config.state_debounce,
        layout: config.layout.clone(),
        engine: engine.clone(),
    };
    sup.spawn("state", stop, move |stop| persister.clone().run(stop));
}

/// Pings systemd's watchdog only while the render loop answers.
pub(super) fn spawn_watchdog(sup: &Supervisor, engine: &EngineHandle, stop: CancellationToken) {
    let Some(period) = systemd::watchdog_period() else {
        return;
    };
    let engine = engine.clone();
    sup.spawn("watchdog", stop, move |stop| {
        let engine = engine.clone();
        async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return Ok::<(), String>(()),
                    _ = tick.tick() => {
                        if engine.ping(Duration::from_secs(1)).await {
                            systemd::watchdog();
                        } else {
                            tracing::error!("render loop does not answer; withholding the watchdog ping");
                        }
                    }
                }
            }
        }
    });
}

/// Starts the input hub and every configured source; `quit` is cancelled by the terminal's `q`. The
/// returned value holds the GPIO pins.
pub(super) fn spawn_inputs(
    sup: &Supervisor,
    config: &Config,
    engine: &EngineHandle,
    stop: CancellationToken,
    quit: CancellationToken,
) -> Option<Box<dyn Any + Send>> {
    let cfg = &config.input;
    let (tx, rx) = mpsc::channel(hub::RAW_QUEUE);
    let gpio = start_gpio(cfg, &tx);
    start_devices(sup, cfg, &tx, &stop);
    start_keyboard(sup, cfg, &tx, &stop, quit);
    if let Some(path) = cfg.sim_socket.clone() {
        let (cfg, tx) = (cfg.clone(), tx.clone());
        sup.spawn("input-sim", stop.clone(), move |stop| {
            sim::run(path.clone(), cfg.clone(), tx.clone(), stop)
        });
    }
    drop(tx);
    // The hub owns the receiver, so it runs once; it fails only when the render loop is gone.
    let hub = hub::run(cfg.clone(), engine.clone(), rx, stop.clone());
    sup.spawn_critical("input", stop, hub);
    gpio
}

/// GPIO knobs and buttons (feature `hardware`); their interrupt callbacks send on `tx`.
#[cfg(feature = "hardware")]
fn start_gpio(cfg: &InputConfig, tx: &mpsc::Sender<Raw>) -> Option<Box<dyn Any + Send>> {
    match crate::input::gpio::start(cfg, tx.clone()) {
        Ok(pins) => pins.map(|p| Box::new(p) as Box<dyn Any + Send>),
        Err(e) => {
            tracing::error!(error = %e, "GPIO inputs unavailable; continuing without the knobs and buttons");
            None
        }
    }
}

/// Without the `hardware` feature there are no GPIO inputs; configured pins get a warning.
#[cfg(not(feature = "hardware"))]
fn start_gpio(cfg: &InputConfig, _tx: &mpsc::Sender<Raw>) -> Option<Box<dyn Any + Send>> {
    if !cfg.pins().is_empty() {
        tracing::warn!(
            "input pins are configured but this build has no GPIO support (feature `hardware`)"
        );
    }
    None
}

/// Knobs read from the kernel's rotary-encoder devices, one task each.
fn start_devices(
    sup: &Supervisor,
    cfg: &InputConfig,
    tx: &mpsc::Sender<Raw>,
    stop: &CancellationToken,
) {
    for (knob, path) in cfg.encoder_devices() {
        match rotary::reader(path, knob, tx.clone(), stop.clone()) {
            Ok(task) => drop(sup.tracker.spawn(task)),
            Err(e) => {
                tracing::error!(device = %path.display(), ?knob, error = %e, "cannot open the rotary encoder device");
            }
        }
    }
}

/// The terminal's keys (or, when it cannot have them, one line saying why) or a keypad device.
fn start_keyboard(
    sup: &Supervisor,
    cfg: &InputConfig,
    tx: &mpsc::Sender<Raw>,
    stop: &CancellationToken,
    quit: CancellationToken,
) {
    let keys = cfg.keys.clone();
    if let KeyboardSource::Evdev(path) = &cfg.keyboard {
        match keyboard::evdev(path, keys, tx.clone(), stop.clone()) {
            Ok(task) => drop(sup.tracker.spawn(task)),
            Err(e) => {
                tracing::error!(device = %path.display(), error = %e, "cannot open the keyboard device")
            }
        }
        return;
    }
    match keyboard::terminal_keys(&cfg.keyboard) {
        Ok(()) => match keyboard::terminal(keys, tx.clone(), stop.clone(), quit) {
            Ok(task) => drop(sup.tracker.spawn(task)),
            Err(e) => tracing::warn!(error = %e, "terminal keyboard unavailable"),
        },
        Err(why) if cfg.keyboard == KeyboardSource::Auto => {
            tracing::info!(reason = why, "keys are off")
        }
        Err(_) => {}
    }
}
