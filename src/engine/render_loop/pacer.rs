//! The render loop's frame pacing as a pure state machine: given the time and what the loop knows
//! (how fast something on the strips moves, whether a change waits to be shown, its own timers), it
//! says how long to sleep on the command queue, whether a frame is due, and where the next deadline
//! lies. It never reads the clock, so every rule is unit-tested with made-up instants:
//!
//! - while something moves, deadlines advance by exactly one interval (`next = previous + interval`),
//!   so the rate never drifts; a frame drawn more than half an interval after its deadline is *late*,
//!   and after a stall the schedule re-anchors (`next = now + interval`) instead of bursting;
//! - waking from idle (or the pace getting faster) the next possible frame is now — in a sync group
//!   the next grid point (the `first` alignment the loop passes in);
//! - a local input while animating is shown at once, between two deadlines, without moving them;
//! - during a slow fade (a pace below the full rate) a change is shown at once, not at the distant
//!   next deadline;
//! - when nothing moves the loop sleeps until a change, the periodic `render.refresh` resend, or one
//!   of its timers (playlist, realtime hand-over, held group commands).

use std::time::{Duration, Instant};

/// What the render loop tells the pacer at the top of a turn.
#[derive(Clone, Copy, Debug)]
pub(super) struct Moment {
    pub now: Instant,
    /// The frame interval something on the strips needs now; `None` when nothing moves.
    pub pace: Option<Duration>,
    /// The full rate's interval, 1/fps.
    pub full: Duration,
    /// `render.refresh`: the last frame is resent this long after it went out.
    pub refresh: Duration,
    /// A change is waiting to be shown.
    pub need_frame: bool,
    /// While idle, also wake for this (the running playlist's next entry).
    pub idle_timer: Option<Duration>,
    /// Always wake for this (realtime hand-over, held group commands); `Duration::MAX` when none.
    pub timer: Duration,
}

/// The pacer's decisions for one turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Turn {
    /// How long to wait on the command queue.
    pub wait: Duration,
    pub animating: bool,
    /// Animating below the full rate (a slow fade).
    pub slow: bool,
    pub interval: Duration,
    refresh: Duration,
}

/// What to do after commands arrived during the wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterCommands {
    /// Show the change now, between two deadlines (a local input while animating).
    Urgent,
    /// Go back to sleep: the next deadline shows it, or nothing needs showing.
    Sleep,
    /// See whether a frame is due.
    Check,
}

/// A frame that is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Due {
    /// The refresh period has passed: resend even if nothing changed.
    pub refresh: bool,
    /// Drawn more than half an interval after its deadline.
    pub late: bool,
}

/// The pacing state: the next deadline, when a frame last went out, and whether the last turn moved.
#[derive(Clone, Debug)]
pub(super) struct Pacer {
    next: Instant,
    last_out: Instant,
    was_animating: bool,
}

impl Turn {
    /// After commands: `urgent` is whether one of them was a local input.
    pub fn after_commands(&self, urgent: bool, need_frame: bool) -> AfterCommands {
        if self.animating && urgent && need_frame {
            AfterCommands::Urgent
        } else if (self.animating && !self.slow) || !need_frame {
            AfterCommands::Sleep
        } else {
            AfterCommands::Check
        }
    }
}

impl Pacer {
    pub fn new(now: Instant) -> Pacer {
        Pacer {
            next: now,
            last_out: now,
            was_animating: false,
        }
    }

    /// The next deadline (meaningful while animating).
    pub fn next(&self) -> Instant {
        self.next
    }

    /// Plans a turn: re-anchors the deadline when waking from idle or speeding up (at `first(now)`),
    /// and says how long to wait.
    pub fn plan(&mut self, m: &Moment, first: impl FnOnce(Instant) -> Instant) -> Turn {
        let animating = m.pace.is_some();
        let interval = m.pace.unwrap_or(m.full);
        if animating && ((!self.was_animating && self.next < m.now) || self.next > m.now + interval)
        {
            self.next = first(m.now);
        }
        self.was_animating = animating;
        let slow = interval > m.full;
        let wait = if animating && !(slow && m.need_frame) {
            self.next.saturating_duration_since(m.now)
        } else if m.need_frame {
            Duration::ZERO
        } else {
            let refresh = (self.last_out + m.refresh).saturating_duration_since(m.now);
            m.idle_timer.map_or(refresh, |w| w.min(refresh))
        };
        Turn {
            wait: wait.min(m.timer),
            animating,
            slow,
            interval,
            refresh: m.refresh,
        }
    }

    /// Whether a frame is due at `now` (after the wait), and how.
    pub fn due(&self, turn: &Turn, now: Instant, need_frame: bool) -> Option<Due> {
        if turn.animating && now < self.next && !(turn.slow && need_frame) {
            return None;
        }
        Some(Due {
            refresh: now >= self.last_out + turn.refresh,
            late: turn.animating && now > self.next + turn.interval / 2,
        })
    }

    /// A due frame went out at `now`: the deadline advances by one interval (re-anchored after a
    /// stall, then put on the grid by `align`), or sits one interval ahead when idle.
    pub fn shown(&mut self, turn: &Turn, now: Instant, align: impl FnOnce(Instant) -> Instant) {
        self.last_out = now;
        if turn.animating {
            self.next += turn.interval;
            if self.next <= now {
                self.next = now + turn.interval;
            }
            self.next = align(self.next);
        } else {
            self.next = now + turn.interval;
        }
    }

    /// An urgent frame went out at `now`, between deadlines: the schedule stays.
    pub fn shown_between(&mut self, now: Instant) {
        self.last_out = now;
    }
}

#[cfg(test)]
mod tests;
