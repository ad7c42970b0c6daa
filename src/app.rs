//! Wiring: builds the render loop, the output device and the network edge from a [`Config`], runs them
//! until shutdown is requested, then stops them in a defined order.
//!
//! Shutdown order (each step bounded): stop taking commands and fade out (render loop), publish
//! `offline` and disconnect (MQTT), then join the threads. The whole sequence fits in the 5 s systemd
//! gives a unit by default.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ShutdownLeds};
use crate::engine::{self, Command, Control, EngineInit, Event, MasterState, ZoneState};
use crate::mqtt;
use crate::output::{OutputDevice, OutputError, sim::SimOutput};

/// Options from the command line that are not part of the config file.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Draw the simulated strips in the terminal.
    pub preview: bool,
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
}

/// Time the render loop gets to fade out and latch its last frame.
const FADE_OUT_BUDGET: Duration = Duration::from_secs(3);
/// Time the MQTT task gets to say `offline` and disconnect.
const MQTT_BUDGET: Duration = Duration::from_secs(1);

/// Runs the daemon until `shutdown` is cancelled (the binary cancels it on SIGTERM/SIGINT).
pub async fn run(
    config: Config,
    opts: RunOptions,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let (events, _) = broadcast::channel::<Event>(1024);
    let zones: Vec<ZoneState> = config
        .zone_init
        .iter()
        .map(|z| ZoneState::new(z.color, z.brightness, z.on, z.effect))
        .collect();
    let device = open_device(&config, opts)?;
    let init = EngineInit {
        layout: config.layout.clone(),
        render: config.render.clone(),
        zones,
        master: MasterState::default(),
        control: Control::new(config.lamp_zone, config.lamp_color),
    };
    let (engine, render_join) = engine::spawn(init, device, events.clone())?;
    tracing::info!(
        zones = config.layout.zones.len(),
        strips = config.layout.strips.len(),
        pixels = config.layout.total_pixels(),
        fps = config.render.fps,
        "diuna started"
    );

    let tasks = TaskTracker::new();
    let mqtt_stop = CancellationToken::new();
    if config.mqtt.enabled {
        let mqtt = mqtt::MqttBridge::new(&config, engine.clone());
        let stop = mqtt_stop.clone();
        tasks.spawn(async move { mqtt.run(stop).await });
    }
    tasks.close();

    // Run until asked to stop, or until the render loop dies (then exit non-zero so systemd restarts us).
    let render_done = tokio::task::spawn_blocking(move || render_join.join());
    tokio::pin!(render_done);
    let died = tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = &mut render_done => true,
    };
    if died {
        tracing::error!("render loop stopped unexpectedly; shutting down");
    } else {
        tracing::info!("shutting down");
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let fade = match config.shutdown_leds {
            ShutdownLeds::Off => Some(config.render.fade_out),
            ShutdownLeds::Keep => None,
        };
        if engine
            .send(Command::Shutdown {
                fade,
                done: done_tx,
            })
            .is_ok()
            && tokio::time::timeout(FADE_OUT_BUDGET, done_rx)
                .await
                .is_err()
        {
            tracing::warn!("fade-out did not finish in time");
        }
    }
    mqtt_stop.cancel();
    if tokio::time::timeout(MQTT_BUDGET, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("MQTT did not disconnect in time");
    }
    drop(engine);
    if !died {
        let _ = tokio::time::timeout(FADE_OUT_BUDGET, render_done).await;
    }
    tracing::info!("stopped");
    if died {
        Err(AppError::RenderLoopDied)
    } else {
        Ok(())
    }
}

/// The output device for the configured strips.
fn open_device(config: &Config, opts: RunOptions) -> Result<Box<dyn OutputDevice>, AppError> {
    let sim = SimOutput::new(&config.layout, opts.preview)?;
    #[cfg(feature = "hardware")]
    {
        if config
            .layout
            .strips
            .iter()
            .any(|s| s.driver == crate::layout::Driver::Ws281x)
        {
            let hw = crate::output::ws281x::Ws281xOutput::open(&config.layout)?;
            return Ok(Box::new(crate::output::Combined(vec![
                Box::new(hw),
                Box::new(sim),
            ])));
        }
    }
    #[cfg(not(feature = "hardware"))]
    if let Some(s) = config
        .layout
        .strips
        .iter()
        .find(|s| s.driver == crate::layout::Driver::Ws281x)
    {
        return Err(AppError::Output(OutputError::Open(format!(
            "strip \"{}\" uses driver \"ws281x\" but this build has no hardware support; \
             rebuild with `cargo build --release --features hardware` or set driver = \"sim\"",
            s.id
        ))));
    }
    Ok(Box::new(sim))
}
