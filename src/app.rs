//! Wiring: builds the render loop, the output device, the state writer and the MQTT bridge from a
//! [`Config`], supervises them until shutdown is requested, then stops them in a defined order.
//!
//! Three phases, each its own function: [`App::start`] (restore state, start the render loop — which
//! opens the output device itself, or starts the output thread to open it — then every task, and
//! READY to systemd after the first frame), [`App::run`] (until the stop token, a critical task
//! failing or the render loop dying; SIGHUP reloads on the way, `app/reload.rs`) and the stop.
//!
//! Shutdown order, each step bounded, the whole within [`STOP_BUDGET`]: the render loop stops taking
//! commands and starts its fade-out; the state writer flushes a final snapshot; the fade finishes;
//! MQTT publishes `offline` and disconnects; every task on the tracker is joined (the MQTT poll and
//! outbox tasks, inputs and their connections included); the clean-stop marker is written; the render
//! loop (and the output thread, if any) is joined. With the runtime's own grace in `main.rs`
//! ([`RUNTIME_GRACE`]) it stays under the unit's `TimeoutStopSec` (a test in this file reads
//! `deploy/diuna.service`).

mod preview;
mod reload;
mod tasks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ShutdownLeds};
use crate::engine::{
    self, Command, Control, DeviceState, EngineHandle, EngineInit, Event, MasterState, StartError,
    ZoneState,
};
use crate::output::Placement;
use crate::output::preview::Screen;
use crate::persist;
use crate::supervisor::Supervisor;
use crate::systemd;
use reload::Mqtt;

/// Options from the command line that are not part of the config file.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Draw the simulated strips, the control status and the key legend on this screen (the
    /// terminal: `Screen::stdout()`).
    pub preview: Option<Arc<Screen>>,
    /// Where the config came from (re-read on SIGHUP).
    pub config_path: Option<PathBuf>,
}

/// Why the daemon stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Start(#[from] StartError),
    #[error("the render loop stopped unexpectedly")]
    RenderLoopDied,
    #[error("a critical task failed")]
    CriticalTask,
}

/// Slots of the event bus (every slot is allocated up front: 256 × ≈ 80 bytes). The render loop
/// announces one or two events per command and the bridge takes every waiting event before it reads
/// the next command; a subscriber that still falls a full bus behind lags and recovers: the bridge
/// skips the backlog and republishes from a snapshot, the state writer saves, the preview redraws.
pub const EVENT_BUS: usize = 256;

/// The whole stop, from the stop token to the joined render loop.
pub const STOP_BUDGET: Duration = Duration::from_secs(5);
/// What `main` then gives tasks still stuck in blocking calls before the process exits.
pub const RUNTIME_GRACE: Duration = Duration::from_secs(1);
/// Time the render loop gets to fade out and latch its last frame.
const FADE_OUT_BUDGET: Duration = Duration::from_secs(3);
/// Time the tasks get to stop: the state writer's final flush, MQTT's `offline` and disconnect.
const TASKS_BUDGET: Duration = Duration::from_secs(2);
/// How long start-up waits for the first frame before telling systemd it is ready anyway.
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(5);

/// Runs the daemon until `shutdown` is cancelled (the binary cancels it on SIGTERM/SIGINT).
pub async fn run(
    config: Config,
    opts: RunOptions,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    App::start(config, opts, shutdown).await?.run().await
}

/// A started daemon.
pub struct App {
    /// The running configuration (replaced by a SIGHUP that changed it).
    config: Config,
    opts: RunOptions,
    shutdown: CancellationToken,
    engine: EngineHandle,
    /// Taken by [`App::run`], which waits on it.
    render_join: Option<std::thread::JoinHandle<()>>,
    sup: Supervisor,
    state_stop: CancellationToken,
    input_stop: CancellationToken,
    mqtt: Mqtt,
    /// Holds the GPIO input pins (released when dropped).
    _gpio: Option<Box<dyn std::any::Any + Send>>,
    /// SIGHUP, caught from the start of [`App::start`] on: one that arrives while the daemon is still
    /// starting waits for [`App::run`] instead of killing the process (its default action).
    hangup: Option<tokio::signal::unix::Signal>,
}

impl App {
    /// Restores the state, starts the render loop, its output and every task; returns once
    /// the first frame is out (READY to systemd), or after [`FIRST_FRAME_WAIT`].
    pub async fn start(
        config: Config,
        opts: RunOptions,
        shutdown: CancellationToken,
    ) -> Result<App, AppError> {
        let (layout, preview) = (config.layout.clone(), opts.preview.clone());
        let open = Box::new(move || crate::output::open(&layout, preview));
        Self::start_with_output(config, opts, shutdown, open).await
    }

    /// [`App::start`] with the output device opened by `open` (an in-process test wraps the
    /// simulator in an [`output::tap::Tap`](crate::output::tap::Tap) to receive every frame).
    pub async fn start_with_output(
        config: Config,
        opts: RunOptions,
        shutdown: CancellationToken,
        open: crate::output::DeviceFactory,
    ) -> Result<App, AppError> {
        let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let (events, _) = broadcast::channel::<Event>(EVENT_BUS);
        let mut first_frame = events.subscribe();
        let placement = Placement::for_layout(&config.layout, opts.preview.is_some());
        let (engine, render_join) = engine::spawn(engine_init(&config), open, placement, events)?;
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
        let (state_stop, input_stop) = (CancellationToken::new(), CancellationToken::new());
        tasks::spawn_state(&sup, &config, &engine, state_stop.clone());
        let mqtt = Mqtt::start(&sup, &config, &engine);
        tasks::spawn_watchdog(&sup, &engine, shutdown.clone());
        let rt = &config.realtime;
        crate::stream::receiver::spawn(&sup, rt, &config.layout, &engine, shutdown.clone());
        let gpio =
            tasks::spawn_inputs(&sup, &config, &engine, input_stop.clone(), shutdown.clone());
        if let Some(screen) = opts.preview.clone() {
            preview::spawn_status(&sup, &config, &engine, screen, input_stop.clone());
        }
        wait_first_frame(&mut first_frame).await;
        systemd::ready(&format!(
            "running: {} zones on {} strips",
            config.layout.zones.len(),
            config.layout.strips.len()
        ));
        Ok(App {
            config,
            opts,
            shutdown,
            engine,
            render_join: Some(render_join),
            sup,
            state_stop,
            input_stop,
            mqtt,
            _gpio: gpio,
            hangup,
        })
    }

    /// The render loop's handle: commands in, events out (an in-process test drives and watches the
    /// daemon through it).
    pub fn engine(&self) -> &EngineHandle {
        &self.engine
    }

    /// Runs until the stop token is cancelled, a critical task fails or the render loop dies, reloading
    /// on SIGHUP; then stops everything in order.
    pub async fn run(mut self) -> Result<(), AppError> {
        let render_join = self.render_join.take();
        let render_done = tokio::task::spawn_blocking(move || render_join.map(|j| j.join()));
        tokio::pin!(render_done);
        let mut hangup = self.hangup.take();
        let failure = loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => break None,
                _ = self.sup.fatal.cancelled() => break Some(AppError::CriticalTask),
                _ = &mut render_done => break Some(AppError::RenderLoopDied),
                Some(()) = recv_hangup(&mut hangup) => self.reload().await,
            }
        };
        self.stop(failure, render_done).await
    }

    /// SIGHUP: re-reads the config file and applies what may change live.
    async fn reload(&mut self) {
        let Some(path) = &self.opts.config_path else {
            return;
        };
        if let Some(next) = reload::reload(path, &self.config, &self.engine) {
            self.mqtt.reload(&self.sup, &next, &self.engine).await;
            self.config = next;
        }
    }

    /// The ordered stop (see the module doc); returns `failure`.
    async fn stop(
        self,
        failure: Option<AppError>,
        render_done: impl Future,
    ) -> Result<(), AppError> {
        let deadline = Instant::now() + STOP_BUDGET;
        systemd::stopping();
        match &failure {
            Some(e) => tracing::error!(error = %e, "shutting down after a failure"),
            None => tracing::info!("shutting down"),
        }
        // 1. Stop taking commands, start the fade-out; stop the inputs; 2. flush the state while
        // the render loop still answers.
        let faded = self.begin_fade_out();
        self.input_stop.cancel();
        self.state_stop.cancel();
        // 3. Let the fade finish.
        let fade_by = deadline.min(Instant::now() + FADE_OUT_BUDGET);
        if let Some(done) = faded
            && tokio::time::timeout_at(fade_by, done).await.is_err()
        {
            tracing::warn!("fade-out did not finish in time");
        }
        // 4. MQTT: offline, disconnect; every task joined.
        self.mqtt.stop.cancel();
        self.shutdown.cancel();
        self.sup.tracker.close();
        let tasks_by = deadline.min(Instant::now() + TASKS_BUDGET);
        if tokio::time::timeout_at(tasks_by, self.sup.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("tasks did not stop in time");
        }
        // Nothing writes the state file any more: mark this stop as clean (see `persist/library.rs`).
        if failure.is_none() {
            let path = self.config.state_path.clone();
            let mark = tokio::task::spawn_blocking(move || persist::library::mark_clean(&path));
            let _ = tokio::time::timeout_at(deadline, mark).await;
        }
        // 5. Join the render loop (which joins the output thread, if any).
        drop(self.engine);
        let _ = tokio::time::timeout_at(deadline, render_done).await;
        crate::input::keyboard::restore_terminal();
        tracing::info!("stopped");
        failure.map_or(Ok(()), Err)
    }

    /// Asks the render loop to fade out (or keep the LEDs, `[shutdown] leds = "keep"`) and stop; the
    /// receiver answers once the last frame has latched (`None` when the render loop is gone).
    fn begin_fade_out(&self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let (done, faded) = tokio::sync::oneshot::channel();
        let fade = match self.config.shutdown_leds {
            ShutdownLeds::Off => Some(self.config.render.fade_out),
            ShutdownLeds::Keep => None,
        };
        self.engine
            .send(Command::Shutdown { fade, done })
            .ok()
            .map(|()| faded)
    }
}

/// What the render loop starts from: the config's first-boot state, then the state file over it.
fn engine_init(config: &Config) -> EngineInit {
    let mut zones: Vec<ZoneState> = config
        .zone_init
        .iter()
        .map(|z| ZoneState::new(z.color, z.brightness, z.on, z.effect))
        .collect();
    let mut master = MasterState::default();
    let mut device = DeviceState::default();
    let library = persist::library::boot(config, &mut zones, &mut master, &mut device);
    let mut control = Control::new(config.lamp_zone, config.lamp_color);
    control.state = device;
    EngineInit {
        layout: config.layout.clone(),
        render: config.render.clone(),
        zones,
        master,
        control,
        palettes: config.library.palettes.clone(),
        library,
    }
}

/// Waits for the first frame to be out (the render loop's `FirstFrame`), at most [`FIRST_FRAME_WAIT`].
async fn wait_first_frame(events: &mut broadcast::Receiver<Event>) {
    let first = async {
        loop {
            match events.recv().await {
                Ok(Event::FirstFrame) | Err(broadcast::error::RecvError::Closed) => break,
                _ => {}
            }
        }
    };
    let _ = tokio::time::timeout(FIRST_FRAME_WAIT, first).await;
}

/// The next SIGHUP; never, when its handler could not be installed.
async fn recv_hangup(hangup: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangup.as_mut() {
        Some(h) => h.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_fits_in_the_units_timeout_stop_sec() {
        let unit = include_str!("../deploy/diuna.service");
        let secs: u64 = unit
            .lines()
            .find_map(|l| l.strip_prefix("TimeoutStopSec="))
            .and_then(|v| v.trim().parse().ok())
            .expect("TimeoutStopSec= in deploy/diuna.service");
        assert!(FADE_OUT_BUDGET + TASKS_BUDGET <= STOP_BUDGET);
        assert!(
            STOP_BUDGET + RUNTIME_GRACE < Duration::from_secs(secs),
            "{STOP_BUDGET:?} + {RUNTIME_GRACE:?} must stay under TimeoutStopSec={secs}"
        );
    }
}
