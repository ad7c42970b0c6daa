//! A debounced push button (active-low with a pull-up): press, long press and release from raw edges.
//!
//! After an accepted change the button ignores further edges for the debounce time, so contact chatter
//! yields exactly one press and one release. A press held for `long_press` yields a long press once;
//! [`Button::deadline`] tells the caller when to call [`Button::poll`] for it. Time is an argument, so
//! the logic is tested with recorded edge sequences.

use std::time::{Duration, Instant};

use crate::engine::ButtonAction;

/// Default debounce lockout.
pub const DEBOUNCE: Duration = Duration::from_millis(25);

#[derive(Clone, Debug)]
pub struct Button {
    pressed: bool,
    /// The line's latest raw level (low = pressed), applied once the lockout ends if it still differs.
    raw_low: bool,
    last_change: Option<Instant>,
    pressed_at: Option<Instant>,
    long_sent: bool,
    debounce: Duration,
    long_press: Duration,
}

impl Button {
    pub fn new(debounce: Duration, long_press: Duration) -> Self {
        Button {
            pressed: false,
            raw_low: false,
            last_change: None,
            pressed_at: None,
            long_sent: false,
            debounce,
            long_press,
        }
    }

    /// Feeds one raw edge: `low` is the line's new level being low (pressed, active-low).
    pub fn edge(&mut self, low: bool, now: Instant) -> Option<ButtonAction> {
        self.raw_low = low;
        if low == self.pressed {
            return None;
        }
        if self
            .last_change
            .is_some_and(|t| now.saturating_duration_since(t) < self.debounce)
        {
            return None; // inside the lockout: settled by `poll` when it ends
        }
        self.change(low, now)
    }

    fn change(&mut self, low: bool, now: Instant) -> Option<ButtonAction> {
        self.last_change = Some(now);
        self.pressed = low;
        if low {
            self.pressed_at = Some(now);
            self.long_sent = false;
            Some(ButtonAction::Press)
        } else {
            self.pressed_at = None;
            Some(ButtonAction::Release)
        }
    }

    fn settle_due(&self) -> Option<Instant> {
        (self.raw_low != self.pressed)
            .then(|| self.last_change.map(|t| t + self.debounce))
            .flatten()
    }

    fn long_due(&self) -> Option<Instant> {
        self.pressed_at
            .filter(|_| !self.long_sent)
            .map(|t| t + self.long_press)
    }

    /// When [`Button::poll`] should run next: a level to settle after the lockout, or a long press.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.settle_due(), self.long_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Applies a level that changed during the lockout, or reports a due long press.
    pub fn poll(&mut self, now: Instant) -> Option<ButtonAction> {
        if let Some(due) = self.settle_due()
            && now >= due
        {
            return self.change(self.raw_low, now);
        }
        if let Some(due) = self.long_due()
            && now >= due
        {
            self.long_sent = true;
            return Some(ButtonAction::LongPress);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// Replays (ms, low) edges, collecting the actions.
    fn replay(edges: &[(u64, bool)]) -> Vec<(u64, ButtonAction)> {
        let t0 = Instant::now();
        let mut b = Button::new(DEBOUNCE, Duration::from_secs(1));
        let mut out = Vec::new();
        for &(t, low) in edges {
            if let Some(d) = b.deadline()
                && d <= ms(t0, t)
                && let Some(a) = b.poll(d)
            {
                out.push((d.duration_since(t0).as_millis() as u64, a));
            }
            if let Some(a) = b.edge(low, ms(t0, t)) {
                out.push((t, a));
            }
        }
        out
    }

    #[test]
    fn chatter_gives_one_press_and_one_release() {
        let edges = [
            (0, true),
            (2, false),
            (3, true),
            (5, false),
            (6, true),
            (300, false),
            (301, true),
            (303, false),
        ];
        assert_eq!(
            replay(&edges),
            [(0, ButtonAction::Press), (300, ButtonAction::Release)]
        );
    }

    #[test]
    fn long_press_once_then_release() {
        let edges = [(0, true), (1500, false), (3000, true)];
        assert_eq!(
            replay(&edges),
            [
                (0, ButtonAction::Press),
                (1000, ButtonAction::LongPress),
                (1500, ButtonAction::Release),
                (3000, ButtonAction::Press)
            ]
        );
    }

    #[test]
    fn a_release_inside_the_lockout_is_not_lost() {
        // Pressed, then released 10 ms later, and nothing more: the release is applied when the lockout ends.
        let t0 = Instant::now();
        let mut b = Button::new(DEBOUNCE, Duration::from_secs(1));
        assert_eq!(b.edge(true, t0), Some(ButtonAction::Press));
        assert_eq!(b.edge(false, ms(t0, 10)), None);
        assert_eq!(b.deadline(), Some(ms(t0, 25)));
        assert_eq!(b.poll(ms(t0, 25)), Some(ButtonAction::Release));
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn short_press_has_no_long_press() {
        let t0 = Instant::now();
        let mut b = Button::new(DEBOUNCE, Duration::from_secs(1));
        b.edge(true, t0);
        b.edge(false, ms(t0, 400));
        assert_eq!(b.deadline(), None);
        assert_eq!(b.poll(ms(t0, 5000)), None);
    }
}
