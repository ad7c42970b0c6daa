//! The render loop's side of realtime input: taking frames, the hand-over timers and the user winning
//! over a stream. The layer itself (`engine/stream_layer.rs`) holds the per-zone state; this file only
//! connects it to zone state, transitions and the event bus.

use std::time::{Duration, Instant};

use super::RenderLoop;
use crate::engine::command::Event;
use crate::engine::stream_frame::StreamCommand;
use crate::engine::zone::LightCommand;

impl RenderLoop {
    pub(super) fn on_stream(&mut self, cmd: StreamCommand, now: Instant) {
        match cmd {
            StreamCommand::Attach { config, counters } => {
                self.compositor.stream.attach(*config, counters);
            }
            StreamCommand::Frame(frame) => {
                let fade = self.compositor.stream.on_frame(frame, &self.zones, now);
                self.fade_back(&fade, now);
                self.need_frame = true;
            }
            StreamCommand::Override(mode) => {
                let fade = self.compositor.stream.set_mode(mode, &self.zones);
                self.fade_back(&fade, now);
                self.need_frame = true;
            }
            StreamCommand::Allow { zone, cmd } if zone < self.zones.len() => {
                self.apply_zone(zone, &cmd, now);
                self.compositor.stream.allow(zone, &self.zones);
                self.need_frame = true;
            }
            StreamCommand::Allow { .. } => {}
        }
        self.announce_stream(now);
    }

    /// Zones whose stream went silent fade back to their own light.
    pub(super) fn stream_expire(&mut self, now: Instant) {
        let fade = self.compositor.stream.expire(now);
        if !fade.is_empty() {
            self.fade_back(&fade, now);
            self.need_frame = true;
        }
        self.announce_stream(now);
    }

    /// How long the loop may sleep before a hand-over timer is due.
    pub(super) fn stream_wait(&self, now: Instant) -> Duration {
        self.compositor
            .stream
            .next_deadline()
            .map_or(Duration::MAX, |d| d.saturating_duration_since(now))
    }

    /// A light command that turns a streamed zone off, or gives it a colour or an effect, wins over the
    /// stream (a brightness change only dims it).
    pub(super) fn stream_user_command(&mut self, z: usize, cmd: &LightCommand, now: Instant) {
        let takes_over = cmd.on == Some(false) || cmd.color.is_some() || cmd.effect.is_some();
        if takes_over && self.compositor.stream.suppress(z) {
            let t = self.transition_of(cmd);
            self.compositor.begin_transition(z, t, now);
            self.announce_stream(now);
        }
    }

    /// The same for changes from the knob, buttons and device commands, noticed by their effect.
    pub(super) fn stream_reconcile(&mut self, now: Instant) {
        let held = self.compositor.stream.reconcile(&self.zones);
        if !held.is_empty() {
            self.need_frame = true;
            self.announce_stream(now);
        }
    }

    fn fade_back(&mut self, zones: &[usize], now: Instant) {
        let d = self.compositor.stream.fade_back();
        for &z in zones {
            self.compositor.begin_transition(z, d, now);
        }
    }

    fn announce_stream(&mut self, now: Instant) {
        if let Some(s) = self.compositor.stream.announce(now) {
            let _ = self.events.send(Event::Realtime(Box::new(s)));
        }
    }
}
