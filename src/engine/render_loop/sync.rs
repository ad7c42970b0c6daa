//! The render loop's side of a sync group: wall-clock effect time, grid-aligned deadlines and commands
//! held until their moment (`engine/sync.rs` has the clock arithmetic).

use std::time::{Duration, Instant};

use super::RenderLoop;
use crate::engine::sync::{self, SyncCommand};

impl RenderLoop {
    pub(super) fn on_sync(&mut self, cmd: SyncCommand) {
        match cmd {
            SyncCommand::Enable => self.sync.enabled = true,
            SyncCommand::At { at, cmd } => {
                let at = if self.sync.enabled {
                    sync::align(at, self.interval())
                } else {
                    at
                };
                if !self.sync.schedule(at, *cmd) {
                    tracing::warn!("too many group commands waiting; one dropped");
                }
            }
        }
    }

    /// Applies the held commands whose moment has come.
    pub(super) fn sync_due(&mut self, now: Instant) {
        if self.sync.next_due().is_some_and(|t| t <= now) {
            for cmd in self.sync.take_due(now) {
                self.handle(cmd);
            }
        }
    }

    /// How long the loop may sleep before a held command is due.
    pub(super) fn sync_wait(&self, now: Instant) -> Duration {
        self.sync
            .next_due()
            .map_or(Duration::MAX, |t| t.saturating_duration_since(now))
    }

    /// The first deadline when waking from idle: now, or in a group the next grid point.
    pub(super) fn sync_first(&self, now: Instant) -> Instant {
        if self.sync.enabled {
            sync::align(now, self.interval())
        } else {
            now
        }
    }

    /// In a group, moves a deadline onto the wall-clock grid (the nearest grid point); else unchanged.
    pub(super) fn sync_align(&self, t: Instant) -> Instant {
        if !self.sync.enabled {
            return t;
        }
        let half = self.interval() / 2;
        sync::align(t.checked_sub(half).unwrap_or(t), self.interval())
    }

    /// The effect time the compositor should draw in a group: the wall-clock time of the grid point
    /// nearest `now` (so a frame rendered a little late still draws the same picture as the other
    /// members), less any frame-step pause.
    pub(super) fn sync_effect_time(&self, now: Instant) -> Option<f64> {
        self.sync
            .enabled
            .then(|| sync::effect_secs(self.clock.now(self.sync_align(now))))
    }
}
