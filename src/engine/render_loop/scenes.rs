//! The render loop's scene, playlist and wake-up commands: it owns the [`Library`] and the running
//! playlist next to the zones they change, so a recall is one atomic step like any other command.
//!
//! Refusals (an unknown scene, a full library, a read-only name) go out as [`Event::Rejected`] for
//! `B/error`; any manual change to a zone stops a running playlist.

use std::time::{Duration, Instant};

use super::RenderLoop;
use crate::engine::command::{Event, SceneCommand};
use crate::engine::control::DeviceCommand;
use crate::engine::playlist::{PlaylistRun, Step};
use crate::engine::scene::{Scene, SceneError};
use crate::engine::zone::LightCommand;

impl RenderLoop {
    /// A `B/set` carrying scene keys: the device part first, then each request in order.
    pub(super) fn library(&mut self, device: DeviceCommand, cmds: Vec<SceneCommand>, now: Instant) {
        if device != DeviceCommand::default() {
            self.device(&device, now);
        }
        for c in cmds {
            if let Err(e) = self.scene_command(c, now) {
                let _ = self.events.send(Event::Rejected(e.to_string()));
            }
        }
        self.sync_library();
    }

    fn scene_command(&mut self, c: SceneCommand, now: Instant) -> Result<(), SceneError> {
        match c {
            SceneCommand::Save(name) => {
                let name = match name {
                    Some(n) => n,
                    None if !self.library.pending_name.is_empty() => {
                        self.library.pending_name.clone()
                    }
                    None => return Err(SceneError::NoName),
                };
                let scene =
                    Scene::capture(&self.zones, &self.zone_ids, &self.master, &self.palettes);
                self.library.save_scene(&name, scene)?;
                self.library.current = Some(name);
            }
            SceneCommand::Recall { name, transition } => {
                self.library.scene(&name)?; // refused before anything changes
                self.stop_playlist();
                self.recall(&name, transition.map(f64::from), now)?;
            }
            SceneCommand::Next => {
                let name = self.library.next_scene()?;
                self.stop_playlist();
                self.recall(&name, None, now)?;
            }
            SceneCommand::Delete(name) => self.library.delete_scene(&name)?,
            SceneCommand::Rename { from, to } => self.library.rename_scene(&from, &to)?,
            SceneCommand::SetName(name) => self.library.pending_name = name,
            SceneCommand::PlaylistSave(name, p) => self.library.save_playlist(&name, p)?,
            SceneCommand::PlaylistDelete(name) => {
                self.library.delete_playlist(&name)?;
                if self.playlist.as_ref().is_some_and(|r| r.name == name) {
                    self.stop_playlist();
                }
            }
            SceneCommand::PlaylistStart(name) => self.start_playlist(&name, now)?,
            SceneCommand::PlaylistStop => self.stop_playlist(),
            SceneCommand::Sunrise(s) => {
                self.stop_playlist();
                self.sunrise(&s, now);
            }
            SceneCommand::Nightlight { zones, duration } => {
                self.stop_playlist();
                let off = LightCommand {
                    on: Some(false),
                    transition: Some(duration.as_secs_f32()),
                    ..Default::default()
                };
                let targets: Vec<usize> = zones
                    .unwrap_or_else(|| (0..self.zones.len()).collect())
                    .into_iter()
                    .filter(|&z| self.zones.get(z).is_some_and(|zone| zone.on))
                    .collect();
                for z in targets {
                    self.apply_zone(z, &off, now);
                }
            }
        }
        Ok(())
    }

    /// Recalls scene `name` with a cross-fade of `transition` seconds (default when `None`).
    pub(super) fn recall(
        &mut self,
        name: &str,
        transition: Option<f64>,
        now: Instant,
    ) -> Result<(), SceneError> {
        let scene = self.library.scene(name)?.clone();
        let r = scene.apply(
            &self.zone_ids,
            &mut self.zones,
            &mut self.master,
            &self.palettes,
        );
        if !r.missing.is_empty() {
            tracing::warn!(scene = name, missing = ?r.missing, "scene names zones that no longer exist; applied to the others");
        }
        for &z in &r.changed {
            if !self.has_white(z) {
                // Saved while the zone's strip had a white LED: its colour, as RGB.
                self.zones[z].drop_white();
            }
        }
        let fade = transition
            .map(|s| Duration::from_secs_f64(s.clamp(0.0, 86_400.0)))
            .unwrap_or(self.cfg.transition);
        let effect_now = self.clock.now(now);
        for &z in &r.restarted {
            self.compositor.restart_effect(z, effect_now);
        }
        for z in 0..self.zones.len() {
            // The master dimmer may have changed too: fade every zone.
            self.compositor.begin_transition(z, fade, now);
        }
        for &z in &r.changed {
            self.emit_zone(z);
        }
        self.emit_master();
        self.library.current = Some(name.to_string());
        self.need_frame = true;
        Ok(())
    }

    fn start_playlist(&mut self, name: &str, now: Instant) -> Result<(), SceneError> {
        let list = self.library.playlist(name)?.clone();
        if let Some(missing) = list.scenes().find(|s| self.library.scene(s).is_err()) {
            return Err(SceneError::Unknown(missing.to_string()));
        }
        let (run, first) = PlaylistRun::start(name, list, self.clock.now(now));
        self.playlist = Some(run);
        self.playlist_step(first, now);
        Ok(())
    }

    /// Stops the running playlist, if any (any manual change does).
    pub(super) fn stop_playlist(&mut self) {
        if let Some(run) = self.playlist.take() {
            tracing::info!(playlist = %run.name, "playlist stopped");
            self.sync_library();
        }
    }

    /// Advances the running playlist to effect time `now`.
    pub(super) fn tick_playlist(&mut self, now: Instant) {
        let effect_now = self.clock.now(now);
        // Bounded: a clock that jumped far ahead advances at most one round of entries per tick.
        for _ in 0..crate::engine::playlist::MAX_ENTRIES {
            let Some(step) = self.playlist.as_mut().and_then(|r| r.advance(effect_now)) else {
                return;
            };
            self.playlist_step(step, now);
        }
    }

    fn playlist_step(&mut self, step: Step, now: Instant) {
        let (scene, transition, done) = match step {
            Step::Recall(s, t) => (Some(s), t, false),
            Step::Finished(end) => (end, None, true),
        };
        if let Some(s) = scene
            && let Err(e) = self.recall(&s, transition, now)
        {
            tracing::warn!(error = %e, "playlist step skipped");
        }
        if done {
            self.stop_playlist();
        }
        self.sync_library();
    }

    /// How long the idle loop may sleep before the playlist needs it (real time).
    pub(super) fn playlist_wait(&self, now: Instant) -> Option<Duration> {
        let run = self.playlist.as_ref()?;
        if self.clock.paused() {
            return None;
        }
        let lag = now.saturating_duration_since(self.clock.now(now));
        Some((run.due() + lag).saturating_duration_since(now))
    }

    /// Copies the library's summary into the device state; announces it when it changed.
    pub(super) fn sync_library(&mut self) {
        let s = &mut self.control.state;
        let names = self.library.scene_names();
        let lists = self.library.playlist_names();
        let playing = self.playlist.as_ref().map(|r| r.name.clone());
        let changed = s.scenes != names
            || s.scene != self.library.current
            || s.scene_name != self.library.pending_name
            || s.playlists != lists
            || s.playlist != playing;
        if changed {
            s.scenes = names;
            s.scene = self.library.current.clone();
            s.scene_name = self.library.pending_name.clone();
            s.playlists = lists;
            s.playlist = playing;
            self.emit_device();
        }
    }
}

impl RenderLoop {
    /// Starts a sunrise: each zone is set to its end state (on, target brightness and colour
    /// temperature, static) and the compositor draws the curve from dark up to it.
    fn sunrise(&mut self, s: &crate::engine::sunrise::Sunrise, now: Instant) {
        use crate::engine::zone::{ColorSet, EffectChoice};
        let end = LightCommand {
            on: Some(true),
            brightness: Some(s.brightness),
            color: Some(ColorSet::Kelvin(s.kelvin)),
            effect: Some(EffectChoice::Static),
            ..Default::default()
        };
        let n = self.zones.len();
        let targets = s.zones.clone().unwrap_or_else(|| (0..n).collect());
        for z in targets.into_iter().filter(|&z| z < n) {
            self.zones[z].apply(&end);
            self.compositor.begin_sunrise(z, s, now);
            self.emit_zone(z);
        }
        self.need_frame = true;
    }
}
