//! When the bridge holds the engine's state updates back: while commands stream in.
//!
//! Commands closer together than [`STREAM_GAP`] are a stream. While one runs, the bridge does not
//! listen to the event bus between commands; what the engine announced goes out once the next command
//! is passed on, or `STREAM_GAP` after the last: one wake-up of the runtime per command instead of two
//! (one for the command, one for its state at the next frame). A lone command's state goes out at its
//! frame. The deadline moves at every command, so it is a [`KernelTimer`], not tokio's (its module
//! says why); should the kernel refuse one, nothing is held and every state goes out at its frame.

use std::time::{Duration, Instant};

use crate::kernel_timer::KernelTimer;

/// Commands closer together than this are a stream: while one runs, the engine's state updates wait
/// for the next command (or this long after the last) instead of waking the bridge at each frame.
pub const STREAM_GAP: Duration = Duration::from_millis(40);

/// Whether state updates are held, and until when.
pub struct Hold {
    timer: Option<KernelTimer>,
    last_command: Option<Instant>,
}

impl Hold {
    /// Nothing held yet. Must be made inside the runtime (the timer registers with its reactor).
    pub fn new() -> Self {
        let timer = KernelTimer::new()
            .inspect_err(|e| {
                tracing::warn!(error = %e, "no timer for command streams; each state goes out at its frame");
            })
            .ok();
        Hold {
            timer,
            last_command: None,
        }
    }

    /// Whether the engine's state updates are being held back (a stream runs).
    pub fn is_held(&self) -> bool {
        self.timer.as_ref().is_some_and(KernelTimer::is_armed)
    }

    /// Resolves when the stream ends (`STREAM_GAP` after its last command); never while nothing is
    /// held. Cancel-safe.
    pub async fn ended(&mut self) {
        match &mut self.timer {
            Some(t) => t.expired().await,
            None => std::future::pending().await,
        }
    }

    /// A command was passed on at `now` (what was held has been taken): hold the updates if it
    /// belongs to a stream, else let them go out at their frames.
    pub fn on_command(&mut self, now: Instant) {
        let streaming = self.last_command.is_some_and(|t| now < t + STREAM_GAP);
        self.last_command = Some(now);
        let Some(timer) = &mut self.timer else {
            return;
        };
        if !streaming {
            timer.disarm();
        } else if let Err(e) = timer.arm(STREAM_GAP) {
            tracing::warn!(error = %e, "the command-stream timer failed; each state goes out at its frame");
            self.timer = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lone_command_holds_nothing_and_a_second_within_the_gap_does() {
        let mut hold = Hold::new();
        let t0 = Instant::now();
        hold.on_command(t0);
        assert!(!hold.is_held(), "a lone command held its state");
        hold.on_command(t0 + STREAM_GAP / 2);
        assert!(hold.is_held(), "a stream's second command held nothing");
        hold.on_command(t0 + STREAM_GAP * 3);
        assert!(!hold.is_held(), "a command after a pause was held");
    }

    #[tokio::test]
    async fn a_stream_ends_a_gap_after_its_last_command() {
        let mut hold = Hold::new();
        let t0 = Instant::now();
        hold.on_command(t0);
        hold.on_command(t0);
        let armed = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), hold.ended())
            .await
            .expect("the stream never ended");
        assert!(armed.elapsed() >= STREAM_GAP, "it ended before the gap");
        assert!(!hold.is_held());
    }
}
