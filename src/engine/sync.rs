//! Several devices in step (a `[sync] group`): effect time and frame deadlines anchored to wall-clock
//! time, and commands scheduled for a wall-clock moment.
//!
//! Effects are pure functions of time, so two devices whose effect clocks read the same draw the same
//! frame. In a group, effect time is the wall-clock seconds since [`ORIGIN`] (minus any frame-step
//! pause), and frame deadlines fall on a grid of `1/fps` counted from that origin too: every member
//! renders at the same instants and draws the same effect time, as closely as NTP/chrony keeps their
//! clocks (a millisecond or two on a LAN). A frame drawn off the grid (late, or on demand) draws the
//! effect time of the nearest grid point, so it still matches the other members' picture. A group command carries an `at` a few hundred ms ahead; each
//! member holds it until the first grid frame at or after `at`, so all apply it on the same frame.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::command::Command;

/// Effect time zero in a group: 2023-11-14 22:13:20 UTC (Unix 1.7e9 s). Any fixed instant would do;
/// a recent one keeps the seconds small.
pub const ORIGIN_UNIX_S: f64 = 1_700_000_000.0;

/// Most commands waiting for their moment (a flood cannot grow memory).
pub const MAX_SCHEDULED: usize = 64;

/// What the render loop is asked about the group.
#[derive(Debug)]
pub enum SyncCommand {
    /// This device is in a group: anchor effects and deadlines to wall-clock time.
    Enable,
    /// Apply `cmd` on the first frame at or after `at`.
    At { at: Instant, cmd: Box<Command> },
}

/// Seconds since the Unix epoch at `t` (read against the wall clock now).
pub fn unix_secs(t: Instant) -> f64 {
    let now_wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let now = Instant::now();
    if t >= now {
        now_wall + (t - now).as_secs_f64()
    } else {
        now_wall - (now - t).as_secs_f64()
    }
}

/// The instant at which the wall clock reads `unix` seconds (now, if that is not representable).
pub fn instant_at(unix: f64) -> Instant {
    let now = Instant::now();
    let ahead = unix - unix_secs(now);
    if ahead >= 0.0 {
        now + Duration::from_secs_f64(ahead.min(86_400.0))
    } else {
        now.checked_sub(Duration::from_secs_f64((-ahead).min(86_400.0)))
            .unwrap_or(now)
    }
}

/// The group's effect time at `t`.
pub fn effect_secs(t: Instant) -> f64 {
    unix_secs(t) - ORIGIN_UNIX_S
}

/// The first grid instant (multiples of `interval` since [`ORIGIN_UNIX_S`]) at or after `t`.
pub fn align(t: Instant, interval: Duration) -> Instant {
    let i = interval.as_secs_f64();
    let w = effect_secs(t);
    let k = (w / i).ceil();
    t + Duration::from_secs_f64((k * i - w).clamp(0.0, i))
}

/// The group state the render loop keeps.
#[derive(Debug, Default)]
pub struct SyncState {
    pub enabled: bool,
    scheduled: Vec<(Instant, Command)>,
}

impl SyncState {
    /// Holds `cmd` until `at`; false when too many are waiting.
    pub fn schedule(&mut self, at: Instant, cmd: Command) -> bool {
        if self.scheduled.len() >= MAX_SCHEDULED {
            return false;
        }
        self.scheduled.push((at, cmd));
        self.scheduled.sort_by_key(|(t, _)| *t);
        true
    }

    /// The earliest moment a held command is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.scheduled.first().map(|(t, _)| *t)
    }

    /// Takes the commands due at `now`, in time order.
    pub fn take_due(&mut self, now: Instant) -> Vec<Command> {
        let n = self.scheduled.iter().take_while(|(t, _)| *t <= now).count();
        self.scheduled.drain(..n).map(|(_, c)| c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_round_trips() {
        let now = Instant::now();
        let later = now + Duration::from_millis(300);
        let back = instant_at(unix_secs(later));
        let err = if back > later {
            back - later
        } else {
            later - back
        };
        assert!(err < Duration::from_millis(5), "{err:?}");
    }

    #[test]
    fn grid_points_are_multiples_of_the_interval_from_the_origin() {
        let interval = Duration::from_micros(16_667);
        let t = align(Instant::now(), interval);
        let phase = effect_secs(t) / interval.as_secs_f64();
        assert!((phase - phase.round()).abs() < 0.02, "{phase}");
        let t2 = align(t + Duration::from_millis(1), interval);
        let step = t2 - t;
        assert!(
            step > Duration::from_millis(15) && step < Duration::from_millis(18),
            "{step:?}"
        );
    }

    #[test]
    fn scheduled_commands_come_out_in_time_order_and_are_bounded() {
        let mut s = SyncState::default();
        let t = Instant::now();
        assert!(s.schedule(
            t + Duration::from_millis(20),
            Command::Ping(tokio::sync::oneshot::channel().0)
        ));
        assert!(s.schedule(
            t + Duration::from_millis(10),
            Command::Stats(tokio::sync::oneshot::channel().0)
        ));
        assert_eq!(s.next_due(), Some(t + Duration::from_millis(10)));
        assert!(s.take_due(t).is_empty());
        let due = s.take_due(t + Duration::from_millis(15));
        assert!(matches!(due.as_slice(), [Command::Stats(_)]));
        for _ in 0..MAX_SCHEDULED + 5 {
            s.schedule(t, Command::Ping(tokio::sync::oneshot::channel().0));
        }
        assert_eq!(s.take_due(t + Duration::from_secs(1)).len(), MAX_SCHEDULED);
    }
}
