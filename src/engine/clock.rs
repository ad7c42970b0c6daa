//! The effect clock: real time, except in frame-step mode, where it stands still and moves only when
//! stepped one frame forward or back. Effects read this clock; transitions, flashes and the indicator
//! keep real time so the device still responds while an effect is paused for inspection.

use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// How far the effect clock is behind real time (the total time spent paused).
    behind: Duration,
    /// The effect time the clock stands at while paused.
    paused_at: Option<Instant>,
}

impl Clock {
    /// Effect time at real time `real`.
    pub fn now(&self, real: Instant) -> Instant {
        self.paused_at
            .unwrap_or_else(|| real.checked_sub(self.behind).unwrap_or(real))
    }

    pub fn paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Pauses or resumes; resuming continues from the paused effect time.
    pub fn toggle(&mut self, real: Instant) {
        match self.paused_at.take() {
            Some(at) => self.behind = real.saturating_duration_since(at),
            None => self.paused_at = Some(self.now(real)),
        }
    }

    /// Moves a paused clock by `frames` × `interval` (no-op while running).
    pub fn step(&mut self, frames: i32, interval: Duration) {
        if let Some(at) = self.paused_at.as_mut() {
            let d = interval * frames.unsigned_abs();
            *at = if frames >= 0 {
                *at + d
            } else {
                at.checked_sub(d).unwrap_or(*at)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_step_and_resume() {
        let t0 = Instant::now();
        let ms = |n| Duration::from_millis(n);
        let mut c = Clock::default();
        assert_eq!(c.now(t0 + ms(100)), t0 + ms(100));
        c.toggle(t0 + ms(100));
        assert!(c.paused());
        assert_eq!(
            c.now(t0 + ms(900)),
            t0 + ms(100),
            "stands still while paused"
        );
        c.step(2, ms(10));
        c.step(-1, ms(10));
        assert_eq!(c.now(t0 + ms(950)), t0 + ms(110));
        c.toggle(t0 + ms(1000));
        assert_eq!(c.now(t0 + ms(1000)), t0 + ms(110), "resumes where it stood");
        assert_eq!(c.now(t0 + ms(1050)), t0 + ms(160));
    }
}
