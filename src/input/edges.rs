//! Putting an encoder's edges back in the order they happened before they reach the decoder.
//!
//! On a Pi each line's interrupts are read by a thread of its own (rppal), so an edge of line A can
//! reach the hub after a later edge of line B. Fed in arrival order, the Gray-code decoder would see a
//! step backwards and lose the detent. Every edge carries the kernel's timestamp, and the edges of one
//! line always arrive in order, so the sorter holds each edge back until no earlier edge can still
//! come: until the other line has reported an edge at least as late, or [`REORDER_WINDOW`] has passed
//! since the edge happened. It also drops an edge reported twice (the same line at the same time, or
//! older than that line's latest). Time is an argument, so all of it is tested with recorded sequences.

use std::time::{Duration, Instant};

use super::encoder::Line;

/// How long an edge may wait for an earlier edge of the other line. Interrupt threads are normally
/// woken within tens of microseconds; this covers a loaded Pi, and is far below what a hand on a knob
/// can notice.
pub const REORDER_WINDOW: Duration = Duration::from_millis(5);

/// Edges held at most; beyond it the oldest is released at once (a knob spun far beyond any detent
/// rate, or a line chattering).
const CAPACITY: usize = 32;

/// One edge of one encoder line: its new level and when the kernel saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub line: Line,
    pub high: bool,
    pub at: Instant,
}

/// The reordering stage in front of one encoder's decoder.
#[derive(Debug)]
pub struct EdgeSorter {
    /// Held edges, oldest first.
    pending: Vec<Edge>,
    /// Per line: time and level of the latest edge accepted.
    latest: [Option<(Instant, bool)>; 2],
}

impl Default for EdgeSorter {
    fn default() -> Self {
        EdgeSorter {
            pending: Vec::with_capacity(CAPACITY + 1),
            latest: [None; 2],
        }
    }
}

impl EdgeSorter {
    /// Takes an edge in arrival order; returns false if it was a duplicate and was dropped.
    pub fn push(&mut self, e: Edge) -> bool {
        let line = &mut self.latest[e.line.index()];
        if let Some((t, high)) = *line
            && (e.at < t || (e.at == t && e.high == high))
        {
            return false;
        }
        *line = Some((e.at, e.high));
        let pos = self.pending.partition_point(|p| p.at <= e.at);
        self.pending.insert(pos, e);
        true
    }

    /// The oldest held edge, if nothing earlier can still arrive at `now`.
    pub fn pop_ready(&mut self, now: Instant) -> Option<Edge> {
        let first = *self.pending.first()?;
        let other = self.latest[1 - first.line.index()];
        let overtaken = other.is_some_and(|(t, _)| t >= first.at);
        let waited = now >= first.at + REORDER_WINDOW;
        if overtaken || waited || self.pending.len() > CAPACITY {
            self.pending.remove(0);
            return Some(first);
        }
        None
    }

    /// When the oldest held edge becomes ready by waiting, if any is held.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.first().map(|e| e.at + REORDER_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::super::encoder::Quadrature;
    use super::*;

    const US: Duration = Duration::from_micros(1);

    /// An edge `t` µs after `t0`.
    fn edge(t0: Instant, line: char, level: u8, t: u64) -> Edge {
        Edge {
            line: if line == 'A' { Line::A } else { Line::B },
            high: level == 1,
            at: t0 + US * t as u32,
        }
    }

    /// Feeds edges arriving at the given times through the sorter into a decoder, as the hub does
    /// (releasing what is due before and after each arrival, and everything at the end).
    fn through_sorter(arrivals: &[(Instant, Edge)]) -> Vec<i32> {
        let (mut s, mut q, mut out) = (EdgeSorter::default(), Quadrature::default(), Vec::new());
        let mut drain = |s: &mut EdgeSorter, now: Instant| {
            while let Some(e) = s.pop_ready(now) {
                let d = q.edge(e.line, e.high);
                if d != 0 {
                    out.push(d);
                }
            }
        };
        for &(now, e) in arrivals {
            drain(&mut s, now);
            s.push(e);
            drain(&mut s, now);
        }
        let end = arrivals.last().map(|a| a.0).unwrap_or_else(Instant::now);
        drain(&mut s, end + Duration::from_secs(1));
        out
    }

    /// Decoder alone, in the given order.
    fn direct(edges: &[Edge]) -> Vec<i32> {
        let mut q = Quadrature::default();
        edges
            .iter()
            .map(|e| q.edge(e.line, e.high))
            .filter(|&d| d != 0)
            .collect()
    }

    /// One clockwise detent: A falls, B falls, A rises, B rises, 1 ms apart.
    fn cw(t0: Instant, start: u64) -> [Edge; 4] {
        [
            edge(t0, 'A', 0, start),
            edge(t0, 'B', 0, start + 1000),
            edge(t0, 'A', 1, start + 2000),
            edge(t0, 'B', 1, start + 3000),
        ]
    }

    #[test]
    fn in_order_edges_pass_unchanged() {
        let t0 = Instant::now();
        let e = cw(t0, 0);
        let arrivals: Vec<_> = e.iter().map(|e| (e.at + US * 50, *e)).collect();
        assert_eq!(through_sorter(&arrivals), [1]);
    }

    #[test]
    fn edges_reordered_across_the_lines_keep_the_detent() {
        let t0 = Instant::now();
        let [a0, b0, a1, b1] = cw(t0, 0);
        // B's thread runs first each time: every B edge arrives before the A edge that preceded it.
        let arrival = t0 + US * 3500;
        let arrivals = [(arrival, b0), (arrival, a0), (arrival, b1), (arrival, a1)];
        assert_eq!(
            direct(&arrivals.map(|a| a.1)),
            [-1],
            "in arrival order the decoder would turn the wrong way"
        );
        assert_eq!(through_sorter(&arrivals), [1]);
        // The same, counter-clockwise, with the last edge arriving 4 ms late.
        let ccw = [
            edge(t0, 'B', 0, 10_000),
            edge(t0, 'A', 0, 11_000),
            edge(t0, 'B', 1, 12_000),
            edge(t0, 'A', 1, 13_000),
        ];
        let at = |us: u64| t0 + US * us as u32;
        let arrivals = [
            (at(11_100), ccw[1]),
            (at(11_200), ccw[0]),
            (at(13_100), ccw[3]),
            (at(17_000), ccw[2]),
        ];
        assert_eq!(through_sorter(&arrivals), [-1]);
    }

    #[test]
    fn an_edge_reported_twice_counts_once() {
        let t0 = Instant::now();
        let [a0, b0, a1, b1] = cw(t0, 0);
        let late = |e: Edge| (e.at + US * 200, e);
        // Right after itself, and again after other edges.
        let arrivals = [
            late(a0),
            late(a0),
            late(b0),
            late(a0),
            late(a1),
            late(b0),
            late(b1),
            late(b1),
        ];
        assert_eq!(through_sorter(&arrivals), [1]);
        let mut s = EdgeSorter::default();
        assert!(s.push(a0));
        assert!(!s.push(a0), "same line, same time, same level");
    }

    #[test]
    fn a_lone_edge_waits_no_longer_than_the_window() {
        let t0 = Instant::now();
        let mut s = EdgeSorter::default();
        s.push(edge(t0, 'A', 0, 0));
        assert_eq!(s.deadline(), Some(t0 + REORDER_WINDOW));
        assert_eq!(s.pop_ready(t0 + REORDER_WINDOW - US), None);
        assert!(s.pop_ready(t0 + REORDER_WINDOW).is_some());
        assert_eq!(s.deadline(), None);
    }

    #[test]
    fn a_flood_is_released_not_hoarded() {
        let t0 = Instant::now();
        let mut s = EdgeSorter::default();
        // A chattering line A while B is silent: never more than CAPACITY edges are held.
        for i in 0..100u64 {
            s.push(edge(t0, 'A', (i % 2) as u8, i));
            while s.pop_ready(t0).is_some() {}
            assert!(s.pending.len() <= CAPACITY);
        }
    }

    /// xorshift64*: deterministic randomness for the property test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Random turns with contact bounce, delivered by two "threads" with random delays (each line in
    /// order, the lines skewed against each other by up to 4 ms) and random duplicates: the detents
    /// are exactly the intended ones.
    #[test]
    fn random_turns_with_bounce_skew_and_duplicates() {
        let t0 = Instant::now();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..300 {
            let mut t = 0u64;
            let mut edges = Vec::new();
            let mut want = Vec::new();
            for _ in 0..1 + rng.below(8) {
                let dir = if rng.below(2) == 0 { 1 } else { -1 };
                want.push(dir);
                let (first, second) = if dir == 1 { ('A', 'B') } else { ('B', 'A') };
                for (line, level) in [(first, 0), (second, 0), (first, 1), (second, 1)] {
                    t += 300 + rng.below(3000);
                    // Bounce: the line flips back and forth before settling.
                    for _ in 0..rng.below(3) {
                        edges.push(edge(t0, line, level, t));
                        t += 20 + rng.below(100);
                        edges.push(edge(t0, line, 1 - level, t));
                        t += 20 + rng.below(100);
                    }
                    edges.push(edge(t0, line, level, t));
                }
            }
            assert_eq!(direct(&edges), want, "round {round}: in order");
            // Two delivery threads: arrival = time + a per-line delay that never reorders a line.
            let mut arrivals = Vec::new();
            let mut last = [0u64; 2];
            for e in &edges {
                let i = e.line.index();
                let t_us = e.at.duration_since(t0).as_micros() as u64;
                let arrive = (t_us + 10 + rng.below(4000)).max(last[i]);
                last[i] = arrive;
                arrivals.push((arrive, *e));
                if rng.below(10) == 0 {
                    arrivals.push((arrive + rng.below(500), *e)); // reported twice
                }
            }
            arrivals.sort_by_key(|(arrive, _)| *arrive);
            let arrivals: Vec<_> = arrivals
                .into_iter()
                .map(|(arrive, e)| (t0 + US * arrive as u32, e))
                .collect();
            assert_eq!(through_sorter(&arrivals), want, "round {round}");
        }
    }
}
