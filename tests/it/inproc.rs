//! The in-process harness, in the style of mini-redis's `start_server`: the daemon's own
//! [`App`](diuna::app::App) started on a runtime of its own inside the test, with the simulated strips
//! wrapped in an output [`Tap`] so every frame arrives on a channel the moment it goes to the wire.
//! Tests wait on those frames (and on the render loop's events) instead of polling a capture file.
//!
//! Use it where the process boundary does not matter; signals, exit codes, the log output and SIGHUP
//! need the real binary ([`crate::support::Daemon`]). Frames carry the same `t_us` clock as a capture
//! file (µs since the Unix epoch), so timing is asserted on the frames' own timestamps, never on how
//! long the test waited.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use diuna::app::{App, AppError, RunOptions};
use diuna::config::Config;
use diuna::engine::{EngineHandle, Event};
use diuna::output::tap::{Tap, TappedFrame};
use tokio_util::sync::CancellationToken;

use crate::support::CapturedFrame;

/// How long a wait for a frame may take before the test fails.
pub const FRAME_WAIT: Duration = Duration::from_secs(10);

/// A daemon running inside the test process.
pub struct InProc {
    pub dir: tempfile::TempDir,
    pub engine: EngineHandle,
    frames: Receiver<TappedFrame>,
    /// Every strip frame received so far (one entry a changed strip, as in a capture file).
    pub seen: Vec<CapturedFrame>,
    strips: Vec<(String, usize)>,
    anchor: (Instant, SystemTime),
    shutdown: CancellationToken,
    run: Option<std::thread::JoinHandle<Result<(), AppError>>>,
}

/// Starts the daemon on `toml` (`{dir}` becomes a fresh temporary directory) and returns once its
/// first frame is out.
pub fn start_app(toml: &str) -> InProc {
    let dir = tempfile::tempdir().unwrap();
    let text = toml.replace("{dir}", &dir.path().display().to_string());
    let mut config = Config::from_toml(&text).expect("test config is valid");
    // Frames come through the tap, not a capture file: without one the output runs on the render
    // thread (`output::Placement::Inline`), as on a Pi with ws281x or pio strips, so these tests
    // cover that placement and the daemon-process tests (which capture) the output thread.
    for strip in &mut config.layout.strips {
        strip.capture = None;
    }
    let strips = config
        .layout
        .strips
        .iter()
        .map(|s| (s.id.clone(), s.bytes_per_pixel()))
        .collect();
    let (frame_tx, frames) = std::sync::mpsc::channel();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let run = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async move {
            let layout = config.layout.clone();
            let open: diuna::output::DeviceFactory = Box::new(move || {
                let sim = diuna::output::sim::SimOutput::new(&layout, None)?;
                Ok(Box::new(Tap::new(Box::new(sim), frame_tx)) as _)
            });
            let opts = RunOptions::default();
            let app = match App::start_with_output(config, opts, stop, open).await {
                Ok(app) => app,
                Err(e) => {
                    let _ = ready_tx.send(None);
                    return Err(e);
                }
            };
            let _ = ready_tx.send(Some(app.engine().clone()));
            app.run().await
        })
    });
    let engine = ready
        .recv_timeout(FRAME_WAIT)
        .ok()
        .flatten()
        .expect("the daemon starts in process");
    InProc {
        dir,
        engine,
        frames,
        seen: Vec::new(),
        strips,
        anchor: (Instant::now(), SystemTime::now()),
        shutdown,
        run: Some(run),
    }
}

impl InProc {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The render loop's events from now on.
    pub fn events(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.engine.subscribe()
    }

    /// Moves a tapped frame into [`InProc::seen`], one entry per changed strip; returns how many.
    fn take(&mut self, f: TappedFrame) -> usize {
        let (anchor, wall) = self.anchor;
        let t = match f.at.checked_duration_since(anchor) {
            Some(d) => wall + d,
            None => wall - anchor.duration_since(f.at),
        };
        let t_us = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros() as u64;
        let before = self.seen.len();
        for (i, wire) in f.strips.into_iter().enumerate() {
            if f.dirty[i] {
                let (strip, channels) = self.strips[i].clone();
                self.seen.push(CapturedFrame {
                    t_us,
                    strip,
                    wire,
                    channels,
                });
            }
        }
        self.seen.len() - before
    }

    /// Takes every frame already delivered, without waiting.
    pub fn poll(&mut self) -> usize {
        let mut n = 0;
        while let Ok(f) = self.frames.try_recv() {
            n += self.take(f);
        }
        n
    }

    /// Waits for the next frame of `strip` satisfying `f` (frames already in [`InProc::seen`] do not
    /// count) and returns it.
    pub fn wait_frame(
        &mut self,
        strip: &str,
        what: &str,
        f: impl Fn(&CapturedFrame) -> bool,
    ) -> CapturedFrame {
        let deadline = Instant::now() + FRAME_WAIT;
        loop {
            let from = self.seen.len();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.frames.recv_timeout(left) {
                Ok(fr) => {
                    self.take(fr);
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("timed out after {FRAME_WAIT:?} waiting for {what}")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("the output stopped: {what}"),
            }
            if let Some(hit) = self.seen[from..]
                .iter()
                .find(|fr| fr.strip == strip && f(fr))
            {
                return hit.clone();
            }
        }
    }

    /// Waits until `n` more frames of `strip` went out and returns them.
    pub fn frames(&mut self, strip: &str, n: usize) -> Vec<CapturedFrame> {
        let from = self.seen.len();
        let mut got = 0;
        while got < n {
            self.wait_frame(strip, &format!("{n} frames of {strip}"), |_| true);
            got += 1;
        }
        self.seen[from..]
            .iter()
            .filter(|f| f.strip == strip)
            .cloned()
            .collect()
    }

    /// The render loop has handled every command sent before this call.
    pub fn settle(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.engine
            .send(diuna::engine::Command::Ping(tx))
            .expect("the render loop takes commands");
        rx.blocking_recv().expect("the render loop answers");
    }

    /// Stops the daemon as SIGTERM would (fade-out, offline, state flushed) and returns how it ended.
    pub fn stop(mut self) -> Result<(), AppError> {
        self.shutdown.cancel();
        let run = self.run.take().expect("running");
        run.join().expect("the app thread did not panic")
    }
}

impl Drop for InProc {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(run) = self.run.take() {
            let _ = run.join();
        }
    }
}
