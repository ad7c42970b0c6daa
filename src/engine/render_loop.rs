//! The render loop: the single owner of zone state, running on its own thread with deadline pacing.
//!
//! It sleeps in `recv_timeout` on the command queue until the next frame deadline — or, when nothing
//! animates and no overlay runs, until the next command or periodic refresh (an idle daemon does not
//! wake). Deadlines advance by exactly one interval (`next = previous + 1/fps`), so the rate never drifts;
//! a frame that misses its deadline is counted late and the schedule re-anchors instead of bursting.
//! Commands are applied as they arrive; while idle the changed frame goes out at once, while animating it
//! goes out at the next deadline — except a local input (knob, button, key), which is shown at once with
//! an extra frame between two deadlines, leaving the schedule untouched.

mod announce;
mod pacer;
mod stream;
mod sync;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, oneshot};

use self::pacer::{AfterCommands, Moment, Pacer};
use super::clock::Clock;
use super::command::{Command, EngineHandle, Event, SceneCommand, Target};
use super::compositor::Compositor;
use super::control::{Control, DeviceCommand, DeviceState};
use super::input_event::{Button, ButtonAction, InputEvent};
use super::master;
use super::playlist::PlaylistRun;
use super::queue::{Listen, QueueRx};
use super::scene::Library;
use super::settings::{LiveSettings, RenderConfig};
use super::stats::{FrameStats, StatsRecorder};
use super::sync::SyncState;
use super::zone::{EffectChoice, LightCommand, MasterState, ZoneState};
use crate::effects::{self, ParamId};
use crate::layout::Layout;
use crate::output::{DeviceFactory, Output, OutputError, Placement};
use crate::palette::Palettes;

mod scenes;

/// Flash length for the identify button.
const IDENTIFY: Duration = Duration::from_secs(2);

/// What the render loop starts from.
pub struct EngineInit {
    pub layout: Layout,
    pub render: RenderConfig,
    pub zones: Vec<ZoneState>,
    pub master: MasterState,
    pub control: Control,
    /// Built-in and user palettes (indexes in zone state point here).
    pub palettes: Palettes,
    /// Scenes and playlists (config-declared and restored).
    pub library: Library,
}

/// Why the render loop could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("output: {0}")]
    Output(#[from] OutputError),
    #[error("cannot start the render thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Starts the render loop, which opens the output device with `open` where `placement` says (on
/// itself, or on an output thread it starts). Returns the handle and the loop's join handle, or the
/// reason the device could not be opened.
pub fn spawn(
    init: EngineInit,
    open: DeviceFactory,
    placement: Placement,
    events: broadcast::Sender<Event>,
) -> Result<(EngineHandle, JoinHandle<()>), StartError> {
    let (handle, rx) = EngineHandle::new(events.clone());
    let first = events.clone();
    let on_first = Box::new(move || {
        let _ = first.send(Event::FirstFrame);
    });
    let (opened_tx, opened) = std::sync::mpsc::sync_channel::<Result<(), OutputError>>(1);
    let join = std::thread::Builder::new()
        .name("diuna-render".into())
        .spawn(move || {
            crate::realtime::promote_current_thread("render");
            let output = match Output::start(&init.layout, placement, open, on_first) {
                Ok(output) => output,
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            let _ = opened_tx.send(Ok(()));
            RenderLoop::new(init, output, events, rx).run()
        })?;
    opened
        .recv()
        .unwrap_or_else(|_| Err(OutputError::Open("the render thread ended".into())))?;
    Ok((handle, join))
}

struct RenderLoop {
    cfg: RenderConfig,
    compositor: Compositor,
    zones: Vec<ZoneState>,
    master: MasterState,
    control: Control,
    clock: Clock,
    events: broadcast::Sender<Event>,
    rx: QueueRx,
    output: Output,
    stats: StatsRecorder,
    /// Something changed that the strips do not show yet.
    need_frame: bool,
    /// The change came from a local input: show it without waiting for the next deadline.
    urgent: bool,
    shutdown: Option<(Instant, oneshot::Sender<()>)>,
    /// Which zones were on when the master last went off (brought back by the next master ON).
    master_saved_on: Option<Vec<bool>>,
    /// The master state last announced on the event bus, and whether any zone was on then.
    master_announced: Option<(MasterState, bool)>,
    palettes: Palettes,
    library: Library,
    playlist: Option<PlaylistRun>,
    zone_ids: Vec<String>,
    sync: SyncState,
}

impl RenderLoop {
    fn new(
        init: EngineInit,
        output: Output,
        events: broadcast::Sender<Event>,
        rx: QueueRx,
    ) -> Self {
        let now = Instant::now();
        let mut compositor = Compositor::new(&init.layout, init.render.easing, now);
        // Start-up fade-in from black.
        for z in 0..init.zones.len() {
            compositor.begin_transition(z, init.render.fade_in, now);
        }
        let mut init = init;
        master::init_from_zones(&mut init.master, &init.zones);
        compositor.set_palettes(init.palettes.clone());
        let edit = init.control.state.edit_mode;
        compositor.set_indicator(edit.then_some(init.control.state.selected_zone), now);
        let mut rl = RenderLoop {
            cfg: init.render,
            compositor,
            zones: init.zones,
            master: init.master,
            control: init.control,
            clock: Clock::default(),
            events,
            rx,
            output,
            stats: StatsRecorder::new(now),
            need_frame: true,
            urgent: false,
            shutdown: None,
            master_saved_on: None,
            master_announced: None,
            zone_ids: init.layout.zones.iter().map(|z| z.id.clone()).collect(),
            palettes: init.palettes,
            library: init.library,
            playlist: None,
            sync: SyncState::default(),
        };
        rl.sync_library();
        rl
    }

    /// The frame interval needed at `now`: the full rate while an effect runs (or an indicator,
    /// flash or quick fade), a lower one during a slow fade (at most `render.refresh`, which keeps
    /// its resend), `None` when nothing moves.
    fn pace(&self, now: Instant) -> Option<Duration> {
        let full = self.interval();
        if !self.clock.paused() && self.zones.iter().any(ZoneState::animates) {
            return Some(full);
        }
        let refresh = self.cfg.refresh.max(full);
        self.compositor.pace(now, full).map(|p| p.min(refresh))
    }

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.cfg.fps as f64)
    }

    /// What the pacer needs to know at `now`.
    fn moment(&self, now: Instant) -> Moment {
        Moment {
            now,
            pace: self.pace(now),
            full: self.interval(),
            refresh: self.cfg.refresh,
            need_frame: self.need_frame,
            idle_timer: self.playlist_wait(now),
            timer: self.stream_wait(now).min(self.sync_wait(now)),
        }
    }

    fn run(mut self) {
        let mut pacer = Pacer::new(Instant::now());
        loop {
            let now = Instant::now();
            self.stream_expire(now);
            self.sync_due(now);
            self.tick_playlist(now);
            let turn = pacer.plan(&self.moment(now), |t| self.sync_first(t));
            // At the full rate a command cannot be shown before the next deadline: only urgent ones
            // wake the loop before it (`queue.rs`); the rest are taken just before that frame.
            let full_rate = turn.animating && !turn.slow;
            let listen = if full_rate {
                Listen::Urgent
            } else {
                Listen::Any
            };
            self.rx.wait(turn.wait, listen);
            let Ok(took) = self.take_commands() else {
                break;
            };
            if took && (!full_rate || Instant::now() < pacer.next()) {
                let urgent = turn.animating && std::mem::take(&mut self.urgent);
                match turn.after_commands(urgent, self.need_frame) {
                    AfterCommands::Urgent => {
                        // The knob must feel instant: shown between two scheduled frames.
                        let now = Instant::now();
                        self.frame(now, false, false);
                        pacer.shown_between(now);
                        continue;
                    }
                    AfterCommands::Sleep => continue,
                    AfterCommands::Check => {}
                }
            }
            self.urgent = false;
            let now = Instant::now();
            let Some(due) = pacer.due(&turn, now, self.need_frame) else {
                continue;
            };
            self.frame(now, due.refresh, due.late);
            pacer.shown(&turn, now, |t| self.sync_align(t));
            if self.shutdown_complete(now) {
                break;
            }
        }
        tracing::debug!("render loop stopped");
    }

    /// Once the shutdown fade is over: waits for the last frame to latch, answers, and says stop.
    fn shutdown_complete(&mut self, now: Instant) -> bool {
        let Some((until, _)) = &self.shutdown else {
            return false;
        };
        if now < *until || self.compositor.transitions_active(now) {
            return false;
        }
        if let Some((_, done)) = self.shutdown.take() {
            self.output.drain();
            let _ = done.send(());
        }
        true
    }

    /// Handles every queued command; whether there was one (`Err` once every sender is gone).
    fn take_commands(&mut self) -> Result<bool, super::queue::Closed> {
        let mut took = false;
        while let Some(cmd) = self.rx.next()? {
            self.handle(cmd);
            took = true;
        }
        Ok(took)
    }

    /// Composes one frame and hands it to the output.
    fn frame(&mut self, now: Instant, force: bool, late: bool) {
        let t0 = Instant::now();
        self.compositor.sync_time = self.sync_effect_time(now);
        self.compositor
            .render(now, self.clock.now(now), &self.zones, &self.master);
        let Some(mut buf) = self.output.acquire() else {
            return;
        };
        let dirty = self.compositor.encode(&mut buf, force);
        self.stats.record(t0.elapsed(), late);
        if dirty {
            self.output.submit(buf);
        } else {
            // Nothing changed on any wire: hand the buffer straight back.
            self.output.recycle(buf);
        }
        self.need_frame = false;
    }

    fn transition_of(&self, cmd: &LightCommand) -> Duration {
        cmd.transition
            .map(|s| Duration::from_secs_f32(s.clamp(0.0, 86_400.0)))
            .unwrap_or(self.cfg.transition)
    }

    /// Whether zone `z`'s strip lights a white LED (else its RGBW and white colours become RGB).
    fn has_white(&self, z: usize) -> bool {
        let layout = self.compositor.layout();
        layout.strips[layout.zones[z].strip].uses_white()
    }

    fn apply_zone(&mut self, z: usize, cmd: &LightCommand, now: Instant) {
        let cmd = &if self.has_white(z) {
            *cmd
        } else {
            cmd.without_white()
        };
        let old_effect = self.zones[z].effect;
        // The preset select follows the selected zone's colour: announced when its preset changes.
        let old_preset =
            (z == self.control.state.selected_zone).then(|| self.control.preset_name(&self.zones));
        if self.zones[z].apply(cmd) {
            if self.zones[z].effect != old_effect && self.zones[z].effect.is_some() {
                self.compositor.restart_effect(z, self.clock.now(now));
            }
            let t = self.transition_of(cmd);
            self.compositor.begin_transition(z, t, now);
            self.emit_zone(z);
            if old_preset.is_some_and(|p| p != self.control.preset_name(&self.zones)) {
                self.emit_device();
            }
        }
        self.stream_user_command(z, cmd, now);
        if let Some(secs) = cmd.flash {
            self.compositor
                .flash(z, Duration::from_secs_f32(secs.clamp(0.0, 60.0)), now);
        }
        self.need_frame = true;
    }

    /// `B/all/set`: brightness scales every zone; the rest fans out (see `master.rs`).
    fn apply_master(&mut self, cmd: &LightCommand, now: Instant) {
        // The master offers rgbw and white only when some zone has a white LED (`mqtt/discovery.rs`).
        let any_white = (0..self.zones.len()).any(|z| self.has_white(z));
        let cmd = &master::for_device(cmd, any_white);
        let before = self.master.brightness;
        let plan = master::fan_out(
            cmd,
            &mut self.master,
            &self.zones,
            &mut self.master_saved_on,
        );
        for (z, c) in plan {
            self.apply_zone(z, &c, now);
        }
        if self.master.brightness != before {
            let t = self.transition_of(cmd);
            for z in 0..self.zones.len() {
                self.compositor.begin_transition(z, t, now);
            }
        }
        self.emit_master();
        self.need_frame = true;
    }

    fn handle(&mut self, cmd: Command) {
        let now = Instant::now();
        if self.shutdown.is_some() {
            self.handle_while_stopping(cmd);
            return;
        }
        match cmd {
            Command::Light(Target::Zone(z), cmd) if z < self.zones.len() => {
                self.stop_playlist();
                self.apply_zone(z, &cmd, now)
            }
            Command::Light(Target::Zone(_), _) => {}
            Command::Light(Target::All, cmd) => {
                self.stop_playlist();
                self.apply_master(&cmd, now)
            }
            Command::Scenes { device, scenes } => self.library(device, scenes, now),
            Command::Param { zone, param, value } if zone < self.zones.len() => {
                self.stop_playlist();
                self.set_param(zone, param, value);
            }
            Command::Param { .. } => {}
            Command::Device(cmd) => self.device(&cmd, now),
            Command::Stream(cmd) => self.on_stream(cmd, now),
            Command::Sync(cmd) => self.on_sync(cmd),
            Command::Input(ev) => {
                self.input(ev, now);
                self.urgent = true;
            }
            Command::Snapshot(tx) => {
                let _ = tx.send(self.snapshot());
            }
            Command::Ping(tx) => {
                let _ = tx.send(());
            }
            Command::Reload(live) => {
                let LiveSettings { render, layout } = *live;
                self.cfg = render;
                self.compositor.reload_output(&layout, self.cfg.easing);
                self.need_frame = true;
            }
            Command::Stats(tx) => {
                let _ = tx.send(self.stats(now));
            }
            Command::Shutdown { fade, done } => self.begin_shutdown(fade, done, now),
        }
        self.stream_reconcile(now);
    }

    /// Once shutting down, commands are no longer taken; queries are answered so nobody hangs.
    fn handle_while_stopping(&mut self, cmd: Command) {
        match cmd {
            Command::Snapshot(tx) => {
                let _ = tx.send(self.snapshot());
            }
            Command::Shutdown { done, .. } => {
                let _ = done.send(());
            }
            Command::Ping(tx) => {
                let _ = tx.send(());
            }
            _ => {}
        }
    }

    /// Frame statistics since the last request, with the current draw, output errors and realtime
    /// counters.
    fn stats(&mut self, now: Instant) -> FrameStats {
        let mut stats = self.stats.take(now);
        stats.current_ma = self.compositor.current_ma.iter().sum();
        stats.output_errors = self
            .output
            .counters
            .errors
            .load(std::sync::atomic::Ordering::Relaxed);
        stats.realtime = self
            .compositor
            .stream
            .counters
            .as_ref()
            .map(|c| c.snapshot());
        stats
    }

    /// Starts the fade-out (or keeps the LEDs as they are when `fade` is `None`); `done` is answered
    /// once the last frame has latched.
    fn begin_shutdown(&mut self, fade: Option<Duration>, done: oneshot::Sender<()>, now: Instant) {
        let until = match fade {
            Some(d) => {
                self.compositor.blackout = true;
                for z in 0..self.zones.len() {
                    self.compositor.begin_transition(z, d, now);
                }
                now + d
            }
            None => now,
        };
        self.shutdown = Some((until, done));
        self.need_frame = true;
    }

    fn set_param(&mut self, z: usize, param: ParamId, value: f32) {
        let zone = &mut self.zones[z];
        let e = zone.effect.unwrap_or(zone.last_effect);
        let spec = effects::param_spec(e, param).unwrap_or_else(|| param.global());
        let v = spec.clamp(value);
        if zone.params[e].get(param) != v {
            zone.params[e].set(param, v);
            self.emit_zone(z);
            self.need_frame = true;
        }
    }

    fn input(&mut self, ev: InputEvent, now: Instant) {
        let zone = Some(self.control.state.selected_zone).filter(|&z| z < self.zones.len());
        let _ = self.events.send(Event::Input { event: ev, zone });
        let before = (
            self.control.state.clone(),
            self.control.preset_name(&self.zones),
        );
        if ev == InputEvent::Button(Button::Effect, ButtonAction::LongPress) {
            // A long press of BTN4 recalls the next scene (its press has already toggled the effect).
            self.library(DeviceCommand::default(), vec![SceneCommand::Next], now);
        }
        let out = self.control.on_input(ev, &mut self.zones);
        if !out.changed.is_empty() {
            self.stop_playlist();
        }
        for &(z, fade) in &out.changed {
            self.compositor.begin_transition(z, fade, now);
        }
        for &z in &out.restarted {
            self.compositor.restart_effect(z, self.clock.now(now));
        }
        let mut changed: Vec<usize> = out.changed.iter().map(|&(z, _)| z).collect();
        changed.dedup();
        for z in changed {
            self.emit_zone(z);
        }
        if out.toggle_frame_step {
            self.clock.toggle(now);
        }
        self.clock.step(out.step, self.interval());
        self.after_control_change(before, now);
    }

    /// Keeps the indicator and frame-step flag in line with the control state; announces changes.
    fn after_control_change(&mut self, before: (DeviceState, &'static str), now: Instant) {
        self.control.state.frame_step = self.clock.paused();
        let sel = self
            .control
            .state
            .edit_mode
            .then_some(self.control.state.selected_zone);
        self.compositor.set_indicator(sel, now);
        if (
            self.control.state.clone(),
            self.control.preset_name(&self.zones),
        ) != before
        {
            self.emit_device();
        }
        self.need_frame = true;
    }

    fn device(&mut self, cmd: &DeviceCommand, now: Instant) {
        if cmd.identify {
            for z in 0..self.zones.len() {
                self.compositor.flash(z, IDENTIFY, now);
            }
        }
        let before = (
            self.control.state.clone(),
            self.control.preset_name(&self.zones),
        );
        for (z, fade) in self.control.apply(cmd, &mut self.zones) {
            self.stop_playlist();
            self.compositor.begin_transition(z, fade, now);
            self.emit_zone(z);
        }
        if cmd.frame_step.is_some_and(|on| on != self.clock.paused()) {
            self.clock.toggle(now);
        }
        if let Some(n) = cmd.step {
            self.clock.step(n, self.interval());
        }
        self.after_control_change(before, now);
    }
}

/// Effect choice by name, as the edges parse it ("off", "none", "solid" mean static).
pub fn parse_effect(name: &str) -> Option<EffectChoice> {
    match name {
        "off" | "none" | "solid" | "static" => Some(EffectChoice::Static),
        other => effects::find(other).map(EffectChoice::Effect),
    }
}
