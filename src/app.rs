//! Wiring: builds the render loop, the output device, the state writer and the MQTT bridge from a
//! [`Config`], supervises them until shutdown is requested, then stops them in a defined order.
//!
//! Shutdown order, each step bounded: the render loop stops taking commands and starts its fade-out;
//! the state writer flushes a final snapshot; the fade finishes; MQTT publishes `offline` and
//! disconnects; the threads are joined. It fits in the 5 s a stop may take. SIGHUP reloads what is safe
//! to change live (render settings, gamma and power limits, MQTT settings) and says why when it cannot.
//! New MQTT settings are checked in full (password and TLS files read) before the running connection
//! is touched; a bad one keeps the old connection, and a good one replaces it only after the old one
//! has said `offline` and left, so its goodbye can never land after the new `online`.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ShutdownLeds};
use crate::engine::{
    self, Command, Control, DeviceState, EngineHandle, EngineInit, Event, MasterState, ZoneState,
};
use crate::mqtt;
use crate::output::{OutputDevice, OutputError, sim::SimOutput};
use crate::persist::{self, Persister};
use crate::supervisor::{Heartbeat, Policy, Supervisor};
use crate::systemd;

/// Options from the command line that are not part of the config file.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Draw the simulated strips in the terminal.
    pub preview: bool,
    /// Where the config came from (re-read on SIGHUP).
    pub config_path: Option<PathBuf>,
}

/// Why the daemon stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("output: {0}")]
    Output(#[from] OutputError),
    #[error("cannot start a thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the render loop stopped unexpectedly")]
    RenderLoopDied,
    #[error("a critical task failed")]
    CriticalTask,
}

/// Time the render loop gets to fade out and latch its last frame.
const FADE_OUT_BUDGET: Duration = Duration::from_secs(3);
/// Time the state writer gets for its final flush.
const FLUSH_BUDGET: Duration = Duration::from_secs(1);
/// Time the MQTT task gets to say `offline` and disconnect.
const MQTT_BUDGET: Duration = Duration::from_secs(1);

/// Runs the daemon until `shutdown` is cancelled (the binary cancels it on SIGTERM/SIGINT).
pub async fn run(
    config: Config,
    opts: RunOptions,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let (events, _) = broadcast::channel::<Event>(1024);
    let mut zones: Vec<ZoneState> = config
        .zone_init
        .iter()
        .map(|z| ZoneState::new(z.color, z.brightness, z.on, z.effect))
        .collect();
    let mut master = MasterState::default();
    let mut device = DeviceState::default();
    let library = persist::library::boot(&config, &mut zones, &mut master, &mut device);
    let mut control = Control::new(config.lamp_zone, config.lamp_color);
    control.state = device;

    let output = open_device(&config, &opts)?;
    let init = EngineInit {
        layout: config.layout.clone(),
        render: config.render.clone(),
        zones,
        master,
        control,
        palettes: config.library.palettes.clone(),
        library,
    };
    let mut first_frame = events.subscribe();
    let (engine, render_join) = engine::spawn(init, output, events.clone())?;
    if config.sync.group.is_some() {
        let _ = engine.send(Command::Sync(engine::sync::SyncCommand::Enable));
    }
    tracing::info!(
        zones = config.layout.zones.len(),
        strips = config.layout.strips.len(),
        pixels = config.layout.total_pixels(),
        fps = config.render.fps,
        "diuna started"
    );

    let sup = Supervisor::new();
    let state_stop = CancellationToken::new();
    {
        let (path, debounce, layout, engine) = (
            config.state_path.clone(),
            config.state_debounce,
            config.layout.clone(),
            engine.clone(),
        );
        sup.spawn("state", Policy::Restart, state_stop.clone(), move |stop| {
            let p = Persister {
                path: path.clone(),
                debounce,
                layout: layout.clone(),
                engine: engine.clone(),
            };
            p.run(stop)
        });
    }
    let mut mqtt = Mqtt::start(&sup, &config, &engine);
    spawn_watchdog(&sup, &engine, shutdown.clone());
    crate::stream::receiver::spawn(&sup, &config, &engine, shutdown.clone());
    let input_stop = CancellationToken::new();
    let _gpio = spawn_inputs(&sup, &config, &engine, input_stop.clone(), shutdown.clone());

    // READY once the first frame is out (MQTT has been started by then).
    let ready = async {
        loop {
            match first_frame.recv().await {
                Ok(Event::FirstFrame) | Err(broadcast::error::RecvError::Closed) => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), ready).await;
    drop(first_frame);
    systemd::ready(&format!(
        "running: {} zones on {} strips",
        config.layout.zones.len(),
        config.layout.strips.len()
    ));

    // Run until asked to stop, a critical task fails, or the render loop dies.
    let render_done = tokio::task::spawn_blocking(move || render_join.join());
    tokio::pin!(render_done);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut current = config.clone();
    let failure = loop {
        tokio::select! {
            _ = shutdown.cancelled() => break None,
            _ = sup.fatal.cancelled() => break Some(AppError::CriticalTask),
            _ = &mut render_done => break Some(AppError::RenderLoopDied),
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                if let Some(path) = &opts.config_path
                    && let Some(next) = reload(path, &current, &engine)
                {
                    mqtt.reload(&sup, &next, &engine).await;
                    current = next;
                }
            }
        }
    };
    systemd::stopping();
    match &failure {
        Some(e) => tracing::error!(error = %e, "shutting down after a failure"),
        None => tracing::info!("shutting down"),
    }

    // 1. Stop taking commands, start the fade-out.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let fade = match current.shutdown_leds {
        ShutdownLeds::Off => Some(current.render.fade_out),
        ShutdownLeds::Keep => None,
    };
    let engine_alive = engine
        .send(Command::Shutdown {
            fade,
            done: done_tx,
        })
        .is_ok();
    input_stop.cancel();
    // 2. Flush the state while the render loop still answers.
    state_stop.cancel();
    // 3. Let the fade finish.
    if engine_alive
        && tokio::time::timeout(FADE_OUT_BUDGET, done_rx)
            .await
            .is_err()
    {
        tracing::warn!("fade-out did not finish in time");
    }
    // 4. MQTT: offline, disconnect.
    mqtt.stop.cancel();
    shutdown.cancel();
    sup.tracker.close();
    if tokio::time::timeout(FLUSH_BUDGET + MQTT_BUDGET, sup.tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("tasks did not stop in time");
    }
    // Nothing writes the state file any more: mark this stop as clean (see `persist/library.rs`).
    if failure.is_none() {
        let path = current.state_path.clone();
        let _ = tokio::task::spawn_blocking(move || persist::library::mark_clean(&path)).await;
    }
    // 5. Join the render loop and output thread.
    drop(engine);
    let _ = tokio::time::timeout(FADE_OUT_BUDGET, render_done).await;
    crate::input::keyboard::restore_terminal();
    tracing::info!("stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The running MQTT bridge: what it was started with, and how to stop it.
struct Mqtt {
    /// `None` when MQTT is disabled or its settings could not be resolved.
    settings: Option<mqtt::connection::Settings>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Mqtt {
    fn start(sup: &Supervisor, config: &Config, engine: &EngineHandle) -> Mqtt {
        let stop = CancellationToken::new();
        let settings = mqtt_settings(config);
        let task = settings
            .clone()
            .map(|s| spawn_mqtt(sup, config, s, engine, stop.clone()));
        Mqtt {
            settings,
            stop,
            task,
        }
    }

    /// SIGHUP: replaces the bridge when the `[mqtt]` settings changed and are valid; keeps it otherwise.
    async fn reload(&mut self, sup: &Supervisor, next: &Config, engine: &EngineHandle) {
        let settings = if next.mqtt.enabled {
            match mqtt::connection::Settings::resolve(&next.mqtt, &next.device_id) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "SIGHUP: [mqtt] settings not applied, keeping the running MQTT connection");
                    return;
                }
            }
        } else {
            None
        };
        if settings == self.settings {
            return;
        }
        tracing::info!("SIGHUP: [mqtt] settings changed; reconnecting");
        // The old bridge says `offline` and disconnects before the new one says `online`.
        self.stop.cancel();
        if let Some(task) = self.task.take()
            && tokio::time::timeout(MQTT_BUDGET, task).await.is_err()
        {
            tracing::warn!("the old MQTT connection did not close in time");
        }
        self.stop = CancellationToken::new();
        self.task = settings
            .clone()
            .map(|s| spawn_mqtt(sup, next, s, engine, self.stop.clone()));
        self.settings = settings;
    }
}

/// The MQTT settings of `config`, with their files read; `None` (and one error) when they are bad.
fn mqtt_settings(config: &Config) -> Option<mqtt::connection::Settings> {
    if !config.mqtt.enabled {
        return None;
    }
    mqtt::connection::Settings::resolve(&config.mqtt, &config.device_id)
        .map_err(|e| {
            tracing::error!(error = %e, "MQTT is off until this is fixed (then send SIGHUP or restart); the lights work locally");
        })
        .ok()
}

fn spawn_mqtt(
    sup: &Supervisor,
    config: &Config,
    settings: mqtt::connection::Settings,
    engine: &EngineHandle,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let (config, engine, restarts) = (config.clone(), engine.clone(), sup.restarts.clone());
    let heartbeat = Heartbeat::default();
    let watch = (heartbeat.clone(), mqtt::STALL_LIMIT);
    sup.spawn_watched("mqtt", Policy::Restart, stop, watch, move |stop| {
        let bridge = mqtt::MqttBridge::new(
            &config,
            settings.clone(),
            engine.clone(),
            restarts.clone(),
            heartbeat.clone(),
        );
        bridge.run(stop)
    })
}

/// Starts the input hub and every configured source. The returned value holds the GPIO pins.
fn spawn_inputs(
    sup: &Supervisor,
    config: &Config,
    engine: &EngineHandle,
    stop: CancellationToken,
    quit: CancellationToken,
) -> Option<Box<dyn std::any::Any + Send>> {
    use crate::input::{KeyboardSource, hub, keyboard, sim};
    let cfg = config.input.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(hub::RAW_QUEUE);
    #[cfg(feature = "hardware")]
    let keep: Option<Box<dyn std::any::Any + Send>> = match crate::input::gpio::start(
        &cfg,
        tx.clone(),
    ) {
        Ok(pins) => pins.map(|p| Box::new(p) as Box<dyn std::any::Any + Send>),
        Err(e) => {
            tracing::error!(error = %e, "GPIO inputs unavailable; continuing without the knobs and buttons");
            None
        }
    };
    #[cfg(not(feature = "hardware"))]
    let keep: Option<Box<dyn std::any::Any + Send>> = {
        if !cfg.pins().is_empty() {
            tracing::warn!(
                "input pins are configured but this build has no GPIO support (feature `hardware`)"
            );
        }
        None
    };
    for (knob, path) in cfg.encoder_devices() {
        if let Err(e) = crate::input::rotary::spawn(path, knob, tx.clone()) {
            tracing::error!(device = %path.display(), ?knob, error = %e, "cannot open the rotary encoder device");
        }
    }
    if keyboard::wants_terminal(&cfg.keyboard) {
        if let Err(e) = keyboard::spawn_terminal(cfg.keys.clone(), tx.clone(), stop.clone(), quit) {
            tracing::warn!(error = %e, "terminal keyboard unavailable");
        }
    } else if let KeyboardSource::Evdev(path) = &cfg.keyboard
        && let Err(e) = keyboard::spawn_evdev(path, cfg.keys.clone(), tx.clone())
    {
        tracing::error!(device = %path.display(), error = %e, "cannot open the keyboard device");
    }
    if let Some(path) = cfg.sim_socket.clone() {
        let (cfg, tx) = (cfg.clone(), tx.clone());
        sup.spawn("input-sim", Policy::Restart, stop.clone(), move |stop| {
            sim::run(path.clone(), cfg.clone(), tx.clone(), stop)
        });
    }
    drop(tx);
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let engine = engine.clone();
    // The hub fails only when the render loop is gone, so there is nothing to restart it for.
    sup.spawn("input", Policy::Critical, stop, move |stop| {
        let (rx, engine, cfg) = (rx.clone(), engine.clone(), cfg.clone());
        async move {
            let Some(r) = rx.lock().await.take() else {
                return Err(crate::engine::SendError::Stopped);
            };
            hub::run(cfg, engine, r, stop).await
        }
    });
    keep
}

/// Pings systemd's watchdog only while the render loop answers.
fn spawn_watchdog(sup: &Supervisor, engine: &EngineHandle, stop: CancellationToken) {
    let Some(period) = systemd::watchdog_period() else {
        return;
    };
    let engine = engine.clone();
    sup.spawn("watchdog", Policy::Restart, stop, move |stop| {
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

/// Re-reads the config on SIGHUP and applies what is safe; logs what it cannot.
fn reload(path: &std::path::Path, current: &Config, engine: &EngineHandle) -> Option<Config> {
    let mut next = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "SIGHUP: config not reloaded, keeping the running one");
            return None;
        }
    };
    if let Err(why) = same_shape(current, &next) {
        tracing::warn!(reason = %why, "SIGHUP: this change needs a restart (systemctl restart diuna); nothing reloaded");
        return None;
    }
    if engine
        .send(Command::Reload(Box::new((
            next.render.clone(),
            next.layout.clone(),
        ))))
        .is_err()
    {
        return None;
    }
    if format!("{:?}{:?}", current.realtime, current.sync)
        != format!("{:?}{:?}", next.realtime, next.sync)
    {
        tracing::warn!("SIGHUP: [realtime] and [sync] changes take effect at the next restart");
        next.realtime = current.realtime.clone();
        next.sync = current.sync.clone();
    }
    tracing::info!("SIGHUP: reloaded render settings, gamma and power limits");
    Some(next)
}

/// Whether `b` differs from `a` only in what can change live.
fn same_shape(a: &Config, b: &Config) -> Result<(), String> {
    if a.device_id != b.device_id {
        return Err("device_id changed".into());
    }
    if a.layout.zones.len() != b.layout.zones.len()
        || a.layout.strips.len() != b.layout.strips.len()
    {
        return Err("zones or strips were added or removed".into());
    }
    for (x, y) in a.layout.zones.iter().zip(&b.layout.zones) {
        if (
            x.id.as_str(),
            x.strip,
            x.start,
            x.len,
            x.reversed,
            x.name.as_str(),
        ) != (
            y.id.as_str(),
            y.strip,
            y.start,
            y.len,
            y.reversed,
            y.name.as_str(),
        ) {
            return Err(format!("zone \"{}\" changed", x.id));
        }
    }
    for (x, y) in a.layout.strips.iter().zip(&b.layout.strips) {
        if (
            x.id.as_str(),
            x.driver,
            x.gpio,
            x.dma,
            x.led_type,
            x.color_order,
            x.uses_white(),
            x.len,
            &x.capture,
        ) != (
            y.id.as_str(),
            y.driver,
            y.gpio,
            y.dma,
            y.led_type,
            y.color_order,
            y.uses_white(),
            y.len,
            &y.capture,
        ) {
            return Err(format!("strip \"{}\" hardware settings changed", x.id));
        }
        if (x.emulate, &x.device, x.frequency, x.invert, x.reset)
            != (y.emulate, &y.device, y.frequency, y.invert, y.reset)
        {
            return Err(format!("strip \"{}\" driver settings changed", x.id));
        }
    }
    if a.state_path != b.state_path || a.lamp_zone != b.lamp_zone {
        return Err("state path or lamp zone changed".into());
    }
    Ok(())
}

/// The output device for the configured strips: the real drivers (after the preflight) and the simulator.
fn open_device(config: &Config, opts: &RunOptions) -> Result<Box<dyn OutputDevice>, AppError> {
    let sim = SimOutput::new(&config.layout, opts.preview)?;
    let mut devices = crate::output::open_hardware(&config.layout)?;
    if devices.is_empty() {
        return Ok(Box::new(sim));
    }
    devices.push(Box::new(sim));
    Ok(Box::new(crate::output::Combined(devices)))
}
