//! Quadrature decoding for a detented rotary encoder, driven by edges of its two lines.
//!
//! The decoder follows the Gray-code sequence of the (A, B) pair: every valid quarter step moves a
//! counter by ±1, an invalid jump (both lines changed, i.e. a missed edge) moves it by 0, and a detent is
//! reported only when the encoder comes back to its rest state (both lines high, with pull-ups) having
//! moved at least half a cycle in one direction. Contact bounce toggles one line back and forth, which
//! adds and removes the same quarter step, so bounce can neither lose nor invent a detent; the same
//! level reported twice changes nothing. The decoder needs the edges in the order they happened:
//! `edges.rs` restores that order from the kernel's timestamps before they get here.

use std::time::{Duration, Instant};

/// Rest state of a detented encoder with pull-ups: both lines high.
const REST: u8 = 0b11;

/// Quarter-step direction for (previous AB, current AB): +1 clockwise, −1 counter-clockwise, 0 otherwise.
const STEP: [i8; 16] = {
    let mut t = [0i8; 16];
    // Clockwise Gray sequence: 11 → 01 → 00 → 10 → 11 (A leads B low).
    let cw = [(0b11, 0b01), (0b01, 0b00), (0b00, 0b10), (0b10, 0b11)];
    let mut i = 0;
    while i < 4 {
        let (a, b) = cw[i];
        t[(a << 2) | b] = 1;
        t[(b << 2) | a] = -1;
        i += 1;
    }
    t
};

/// Which line changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    A,
    B,
}

impl Line {
    /// 0 for A, 1 for B.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Decoder state for one encoder.
#[derive(Clone, Debug)]
pub struct Quadrature {
    ab: u8,
    acc: i8,
}

impl Default for Quadrature {
    fn default() -> Self {
        Quadrature { ab: REST, acc: 0 }
    }
}

impl Quadrature {
    /// Feeds one edge (`high` = the line's new level). Returns +1 / −1 when a detent completed.
    pub fn edge(&mut self, line: Line, high: bool) -> i32 {
        let bit = match line {
            Line::A => 0b10,
            Line::B => 0b01,
        };
        let ab = if high { self.ab | bit } else { self.ab & !bit };
        if ab == self.ab {
            return 0; // a repeated level (bounce seen as two equal edges)
        }
        self.acc = self
            .acc
            .saturating_add(STEP[((self.ab << 2) | ab) as usize]);
        self.ab = ab;
        if ab == REST {
            let detent = match self.acc {
                a if a >= 2 => 1,
                a if a <= -2 => -1,
                _ => 0,
            };
            self.acc = 0;
            return detent;
        }
        0
    }
}

/// Optional acceleration: detents closer together than `FAST` count more.
#[derive(Clone, Debug, Default)]
pub struct Acceleration {
    last: Option<Instant>,
}

const FAST: Duration = Duration::from_millis(40);
const QUICK: Duration = Duration::from_millis(80);

impl Acceleration {
    /// Scales a detent (±1) turned at `now`.
    pub fn apply(&mut self, detent: i32, now: Instant) -> i32 {
        let gap = self.last.map(|t| now.saturating_duration_since(t));
        self.last = Some(now);
        match gap {
            Some(g) if g < FAST => detent * 4,
            Some(g) if g < QUICK => detent * 2,
            _ => detent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays `(line, level)` edges and sums the detents.
    fn replay(edges: &[(char, u8)]) -> Vec<i32> {
        let mut q = Quadrature::default();
        edges
            .iter()
            .map(|&(l, v)| q.edge(if l == 'A' { Line::A } else { Line::B }, v == 1))
            .filter(|&d| d != 0)
            .collect()
    }

    const CW: [(char, u8); 4] = [('A', 0), ('B', 0), ('A', 1), ('B', 1)];
    const CCW: [(char, u8); 4] = [('B', 0), ('A', 0), ('B', 1), ('A', 1)];

    #[test]
    fn clean_detents_both_ways() {
        assert_eq!(replay(&CW), [1]);
        assert_eq!(replay(&CCW), [-1]);
        let three: Vec<_> = CW.iter().chain(&CW).chain(&CW).copied().collect();
        assert_eq!(replay(&three), [1, 1, 1]);
    }

    #[test]
    fn bounce_neither_loses_nor_invents_detents() {
        // Recorded-style sequence: A bounces on its falling edge, B bounces on its rising edge.
        let bouncy = [
            ('A', 0),
            ('A', 1),
            ('A', 0),
            ('A', 1),
            ('A', 0), // A chatters, settles low
            ('B', 0),
            ('A', 1),
            ('B', 1),
            ('B', 0),
            ('B', 1), // B chatters, settles high
        ];
        assert_eq!(replay(&bouncy), [1]);
        // Bounce while resting: no detent.
        let rest_chatter = [('A', 0), ('A', 1), ('B', 0), ('B', 1), ('A', 0), ('A', 1)];
        assert_eq!(replay(&rest_chatter), Vec::<i32>::new());
        // A half turn that goes back: nothing.
        let back = [('A', 0), ('B', 0), ('B', 1), ('A', 1)];
        assert_eq!(replay(&back), Vec::<i32>::new());
        // Repeated identical levels (edge reported twice) change nothing.
        let dup = [
            ('A', 0),
            ('A', 0),
            ('B', 0),
            ('B', 0),
            ('A', 1),
            ('B', 1),
            ('B', 1),
        ];
        assert_eq!(replay(&dup), [1]);
    }

    #[test]
    fn false_start_then_full_turn_and_reversal() {
        // A starts a step and retreats (a false start), then a full clockwise detent, then one back.
        let false_start = [('A', 0), ('A', 1), ('A', 0), ('B', 0), ('A', 1), ('B', 1)];
        assert_eq!(replay(&false_start), [1]);
        let there_and_back = [
            ('A', 0),
            ('B', 0),
            ('A', 1),
            ('B', 1),
            ('B', 0),
            ('A', 0),
            ('B', 1),
            ('A', 1),
        ];
        assert_eq!(replay(&there_and_back), [1, -1]);
    }

    #[test]
    fn acceleration_when_turned_fast() {
        let mut a = Acceleration::default();
        let t0 = Instant::now();
        assert_eq!(a.apply(1, t0), 1);
        assert_eq!(a.apply(1, t0 + Duration::from_millis(200)), 1);
        assert_eq!(a.apply(1, t0 + Duration::from_millis(260)), 2);
        assert_eq!(a.apply(-1, t0 + Duration::from_millis(280)), -4);
    }
}
