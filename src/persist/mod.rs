//! Persistence: restores state at boot and is the single writer of the state file afterwards.
//!
//! The writer listens to the event bus; after a change it waits `state.debounce` (~0.5 s) without
//! listening (a stream of changes does not wake it at each one), then, if more changes came meanwhile,
//! another debounce, but never more than [`MAX_DELAY`] in all; then it takes one consistent snapshot
//! from the render loop and writes it atomically off the async threads. Being the only writer, it
//! cannot lose an update to a race; a final flush runs on shutdown. A missing, corrupt or unusable
//! file (a FIFO, a huge file) never stops or hangs the daemon, and restored values are validated like
//! commands.

pub mod file;
pub mod library;
pub mod load;
pub mod restore;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::engine::{DeviceState, EngineHandle, Event, MasterState, ZoneState};
use crate::layout::Layout;
use file::StateFile;
use load::LoadError;

/// Longest a change waits to be written while changes keep arriving (e.g. a knob being turned).
pub const MAX_DELAY: Duration = Duration::from_secs(2);

/// A failure of the writer task (it is restarted by the supervisor).
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("the render loop has stopped")]
    EngineGone,
}

/// Restores what the state file holds onto the config defaults and returns what was read (the
/// library's sections are restored by `library::boot`). Never fails: problems are logged.
pub fn restore(
    path: &std::path::Path,
    layout: &Layout,
    zones: &mut [ZoneState],
    master: &mut MasterState,
    device: &mut DeviceState,
) -> Option<load::SavedState> {
    match load::load(path, layout) {
        Ok(f) => {
            let restored = f.restore(layout, zones, master, device);
            tracing::info!(path = %path.display(), zones = restored, clean_shutdown = f.library.clean_shutdown, "state restored");
            return Some(f);
        }
        Err(LoadError::Missing) => {
            tracing::info!(path = %path.display(), "no state file yet: starting from the config")
        }
        Err(e @ LoadError::Corrupt { .. }) => {
            tracing::error!(error = %e, "state file corrupt: starting from the config")
        }
        Err(e @ LoadError::Unusable { .. }) => {
            tracing::error!(error = %e, "state file unusable: starting from the config")
        }
        Err(e) => tracing::error!(error = %e, "state file unreadable: starting from the config"),
    }
    None
}

/// The state file writer.
#[derive(Clone)]
pub struct Persister {
    pub path: PathBuf,
    pub debounce: Duration,
    pub layout: Layout,
    pub engine: EngineHandle,
}

impl Persister {
    /// Writes after changes until `stop`, then flushes once more.
    pub async fn run(self, stop: CancellationToken) -> Result<(), PersistError> {
        let mut events = self.engine.subscribe();
        let mut first_change: Option<Instant> = None;
        let mut last_change = Instant::now();
        let mut failing = false;
        loop {
            let due =
                first_change.map(|first| (last_change + self.debounce).min(first + MAX_DELAY));
            tokio::select! {
                _ = stop.cancelled() => break,
                // Once a change is pending, the bus is read again only when the write is due: a
                // stream of changes does not wake the writer at each one.
                ev = events.recv(), if first_change.is_none() => match ev {
                    Ok(Event::Zone { .. } | Event::Master { .. } | Event::Device { .. }) | Err(RecvError::Lagged(_)) => {
                        last_change = Instant::now();
                        first_change.get_or_insert(last_change);
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => return Err(PersistError::EngineGone),
                },
                _ = tokio::time::sleep_until(due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))), if due.is_some() => {
                    // Changes made since the first (counted as made now) put the write off by
                    // another debounce, never past MAX_DELAY from the first.
                    let now = Instant::now();
                    if changed_since(&mut events)? && !failing
                        && first_change.is_some_and(|first| now < first + MAX_DELAY)
                    {
                        last_change = now;
                        continue;
                    }
                    match self.write().await {
                        Ok(()) => {
                            if failing {
                                tracing::info!(path = %self.path.display(), "state file writable again");
                            }
                            failing = false;
                            first_change = None;
                        }
                        Err(e) => {
                            if !failing {
                                tracing::error!(path = %self.path.display(), error = %e, "cannot write the state file; retrying");
                            }
                            failing = true;
                            // Retry after a pause rather than in a tight loop.
                            last_change = Instant::now() + Duration::from_secs(5);
                            first_change = Some(last_change);
                        }
                    }
                }
            }
        }
        if first_change.is_some() || !self.path.exists() {
            match self.write().await {
                Ok(()) => tracing::info!(path = %self.path.display(), "state flushed"),
                Err(e) => {
                    tracing::error!(path = %self.path.display(), error = %e, "final state flush failed")
                }
            }
        }
        Ok(())
    }

    async fn write(&self) -> std::io::Result<()> {
        let snap = self
            .engine
            .snapshot()
            .await
            .map_err(std::io::Error::other)?;
        let state = StateFile::from_snapshot(&snap, &self.layout);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || file::save(&path, &state))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Takes every event waiting on the bus; true when one of them changed what the state file holds (a
/// lag counts: what was missed may have).
fn changed_since(events: &mut broadcast::Receiver<Event>) -> Result<bool, PersistError> {
    let mut changed = false;
    loop {
        match events.try_recv() {
            Ok(Event::Zone { .. } | Event::Master { .. } | Event::Device { .. })
            | Err(TryRecvError::Lagged(_)) => changed = true,
            Ok(_) => {}
            Err(TryRecvError::Empty) => return Ok(changed),
            Err(TryRecvError::Closed) => return Err(PersistError::EngineGone),
        }
    }
}

#[cfg(test)]
mod tests;
