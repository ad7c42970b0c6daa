//! The render loop's typed interface: commands in, events out.
//!
//! Every other task (MQTT, input, the app) talks to the render loop only through [`Command`]s sent on
//! an [`EngineHandle`] and [`Event`]s received from the broadcast bus. Topic strings, key codes and GPIO
//! pins never reach this far: the edges translate them into these types.

use std::sync::mpsc::TrySendError;
use std::time::Duration;

use tokio::sync::{broadcast, oneshot};

use super::control::{DeviceCommand, DeviceState};
use super::input_event::InputEvent;
use super::playlist::Playlist;
use super::queue::{self, QueueRx, QueueTx};
use super::scene::LibrarySnapshot;
use super::settings::LiveSettings;
use super::stats::FrameStats;
use super::stream_frame::{RealtimeStatus, StreamCommand};
use super::sunrise::Sunrise;
use super::sync::SyncCommand;
use super::zone::{LightCommand, MasterState, ZoneState};
use crate::effects::ParamId;

/// Which zones a light command addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Zone(usize),
    /// `B/all/set`: the master light.
    All,
}

/// A request to the render loop.
#[derive(Debug)]
pub enum Command {
    Light(Target, LightCommand),
    /// Set one effect parameter of a zone's current (or last) effect; already range-checked.
    Param {
        zone: usize,
        param: ParamId,
        value: f32,
    },
    /// A device command (`B/set`).
    Device(DeviceCommand),
    /// A `B/set` with scene, playlist, sunrise or nightlight keys: the device part first, then these.
    Scenes {
        device: DeviceCommand,
        scenes: Vec<SceneCommand>,
    },
    /// A local input (encoder, button, key).
    Input(InputEvent),
    /// A copy of every zone and the master.
    Snapshot(oneshot::Sender<Snapshot>),
    /// Frame statistics since the last request.
    Stats(oneshot::Sender<FrameStats>),
    /// Liveness check (the systemd watchdog): answered at once by a live render loop.
    Ping(oneshot::Sender<()>),
    /// Apply reloaded settings that are safe to change live (SIGHUP): render settings and the strips'
    /// gamma and power limits (the layout itself must be unchanged).
    Reload(Box<LiveSettings>),
    /// Realtime input (DDP / E1.31) and its Home Assistant controls.
    Stream(StreamCommand),
    /// A sync group: wall-clock anchoring, commands held for their moment.
    Sync(SyncCommand),
    /// Fade out (or keep, when `fade` is `None`), then stop; answers once the last frame is on the wire.
    Shutdown {
        fade: Option<Duration>,
        done: oneshot::Sender<()>,
    },
}

impl Command {
    /// Whether the render loop takes it at once even while it sleeps until the next frame at the full
    /// rate (`queue.rs`): a local input (shown between two frames), a realtime frame (its buffer goes
    /// back to the receiver's pool) and the shutdown. Everything else waits for the frame it will be
    /// shown in.
    pub fn is_urgent(&self) -> bool {
        matches!(
            self,
            Command::Input(_) | Command::Stream(_) | Command::Shutdown { .. }
        )
    }
}

/// All user-visible state.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub zones: Vec<ZoneState>,
    pub master: MasterState,
    pub device: DeviceState,
    /// Preset nearest the selected zone's colour.
    pub preset: &'static str,
    /// Saved scenes and playlists, zone palettes and the clean-shutdown marker (for the state file).
    pub library: LibrarySnapshot,
}

/// What the render loop tells the rest of the daemon.
#[derive(Clone, Debug)]
pub enum Event {
    /// A zone's state changed (from any source).
    Zone { zone: usize, state: Box<ZoneState> },
    /// The master changed.
    Master { state: MasterState, any_on: bool },
    /// The control surface's state changed.
    Device {
        state: Box<DeviceState>,
        preset: &'static str,
    },
    /// A local input, with the zone selected when it happened (published on `B/event`).
    Input {
        event: InputEvent,
        zone: Option<usize>,
    },
    /// The first frame has gone out (READY for systemd).
    FirstFrame,
    /// Realtime input started, stopped, moved or was overridden.
    Realtime(Box<RealtimeStatus>),
    /// A command the render loop refused (an unknown scene, a full library, …), for `B/error`.
    Rejected(String),
}

/// One scene, playlist or wake-up request from `B/set` (names already checked for form).
#[derive(Clone, Debug, PartialEq)]
pub enum SceneCommand {
    /// Save the current state; `None` = under the name set with `SetName`.
    Save(Option<String>),
    Recall {
        name: String,
        /// Seconds; `None` = the configured default.
        transition: Option<f32>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
    /// The name Home Assistant's "scene name" text holds.
    SetName(String),
    /// Recall the scene after the current one (the knob).
    Next,
    PlaylistStart(String),
    PlaylistStop,
    PlaylistSave(String, Playlist),
    PlaylistDelete(String),
    Sunrise(Sunrise),
    /// Fade the zones (all that are on when `None`) to off over `duration`.
    Nightlight {
        zones: Option<Vec<usize>>,
        duration: Duration,
    },
}

/// Why a command could not be delivered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("the render loop is busy (command queue full)")]
    Full,
    #[error("the render loop has stopped")]
    Stopped,
}

/// A command [`EngineHandle::offer`] could not deliver.
#[derive(Debug)]
pub enum Offer {
    /// The queue is full; here is the command back.
    Full(Command),
    Stopped,
}

/// A cheap, cloneable handle to the render loop.
#[derive(Clone)]
pub struct EngineHandle {
    tx: QueueTx,
    events: broadcast::Sender<Event>,
}

/// Capacity of the command queue: generous for bursts, bounded so a flood cannot eat memory.
pub const COMMAND_QUEUE: usize = 1024;

impl EngineHandle {
    pub fn new(events: broadcast::Sender<Event>) -> (Self, QueueRx) {
        let (tx, rx) = queue::channel(COMMAND_QUEUE);
        (EngineHandle { tx, events }, rx)
    }

    /// Sends without blocking (safe from async code).
    pub fn send(&self, cmd: Command) -> Result<(), SendError> {
        self.tx.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Full,
            TrySendError::Disconnected(_) => SendError::Stopped,
        })
    }

    /// Like [`EngineHandle::send`], but a full queue hands the command back, so that a caller can wait
    /// and retry instead of dropping it (the MQTT bridge applies backpressure to the broker this way).
    pub fn offer(&self, cmd: Command) -> Result<(), Offer> {
        self.tx.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(cmd) => Offer::Full(cmd),
            TrySendError::Disconnected(_) => Offer::Stopped,
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Asks for a snapshot of all state.
    pub async fn snapshot(&self) -> Result<Snapshot, SendError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Snapshot(tx))?;
        rx.await.map_err(|_| SendError::Stopped)
    }

    /// Whether the render loop answers within `timeout`.
    pub async fn ping(&self, timeout: std::time::Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Ping(tx)).is_ok()
            && matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())))
    }

    /// Asks for frame statistics.
    pub async fn stats(&self) -> Result<FrameStats, SendError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Stats(tx))?;
        rx.await.map_err(|_| SendError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    /// Every slot of the event bus holds one `Event` (`app::EVENT_BUS`): the large, rare variants are
    /// boxed so that the bus stays a few kilobytes.
    #[test]
    fn an_event_is_small() {
        let size = std::mem::size_of::<super::Event>();
        eprintln!("Event: {size} bytes");
        assert!(size <= 48, "Event is {size} bytes");
    }
}
