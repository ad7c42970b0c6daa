//! Who holds the stream: E1.31 sources per universe (highest priority wins, sequence numbers checked per
//! source, released on stream-terminated or after the timeout of silence) and the single DDP sender.
//!
//! E1.31 sources are told apart by their CID, as the standard says. Among the live sources of a universe
//! the highest priority wins; at equal priority the one that came first keeps it (no flicker between
//! two senders). The table is bounded: a flood of made-up sources cannot grow memory, the excess is
//! refused and counted. DDP has no priorities: the first sender holds the stream until it is silent for
//! the timeout; packets from anyone else meanwhile are refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::e131::{self, E131Packet};

/// Most E1.31 (source, universe) pairs tracked at once.
pub const MAX_SOURCES: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Entry {
    cid: [u8; 16],
    universe: u16,
    priority: u8,
    sequence: u8,
    since: Instant,
    seen: Instant,
    addr: SocketAddr,
}

/// What to do with one E1.31 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its source holds the universe: apply the data.
    Take,
    OutOfSequence,
    /// Another source holds the universe (higher priority, or there first), or the table is full.
    OtherSource,
    /// Its source left; `last` says no other live source remains on the universe.
    Terminated {
        last: bool,
    },
}

/// The E1.31 source table.
#[derive(Debug)]
pub struct E131Sources {
    entries: Vec<Entry>,
    timeout: Duration,
}

impl E131Sources {
    pub fn new(timeout: Duration) -> Self {
        E131Sources {
            entries: Vec::with_capacity(MAX_SOURCES),
            timeout,
        }
    }

    /// Judges one packet and updates the table.
    pub fn judge(&mut self, p: &E131Packet, addr: SocketAddr, now: Instant) -> Verdict {
        let timeout = self.timeout;
        self.entries
            .retain(|e| now.saturating_duration_since(e.seen) < timeout);
        let found = self
            .entries
            .iter()
            .position(|e| e.cid == p.cid && e.universe == p.universe);
        let i = match found {
            Some(i) => {
                let e = &mut self.entries[i];
                if !e131::in_sequence(e.sequence, p.sequence) {
                    return Verdict::OutOfSequence;
                }
                e.sequence = p.sequence;
                e.priority = p.priority;
                e.seen = now;
                e.addr = addr;
                i
            }
            None if p.terminated => return Verdict::OtherSource,
            None if self.entries.len() >= MAX_SOURCES => return Verdict::OtherSource,
            None => {
                self.entries.push(Entry {
                    cid: p.cid,
                    universe: p.universe,
                    priority: p.priority,
                    sequence: p.sequence,
                    since: now,
                    seen: now,
                    addr,
                });
                self.entries.len() - 1
            }
        };
        if p.terminated {
            self.entries.swap_remove(i);
            let last = !self.entries.iter().any(|e| e.universe == p.universe);
            return Verdict::Terminated { last };
        }
        if self.winner(p.universe) == Some(i) {
            Verdict::Take
        } else {
            Verdict::OtherSource
        }
    }

    /// The entry holding `universe`: highest priority, then the earliest arrival.
    fn winner(&self, universe: u16) -> Option<usize> {
        let mut best: Option<(usize, &Entry)> = None;
        for (i, e) in self.entries.iter().enumerate() {
            let better = e.universe == universe
                && best.is_none_or(|(_, b)| {
                    e.priority > b.priority || (e.priority == b.priority && e.since < b.since)
                });
            if better {
                best = Some((i, e));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The address of the source holding `universe`, if any.
    pub fn holder(&self, universe: u16) -> Option<SocketAddr> {
        self.winner(universe).map(|i| self.entries[i].addr)
    }
}

/// The DDP sender holding the stream.
#[derive(Debug, Default)]
pub struct DdpHolder {
    held: Option<(SocketAddr, Instant)>,
}

impl DdpHolder {
    /// Whether a packet from `addr` may write; takes the stream when it is free or stale.
    pub fn admit(&mut self, addr: SocketAddr, now: Instant, timeout: Duration) -> bool {
        match self.held {
            Some((a, seen)) if a != addr && now.saturating_duration_since(seen) < timeout => false,
            _ => {
                self.held = Some((addr, now));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 5568))
    }

    fn pkt(cid: u8, priority: u8, sequence: u8, terminated: bool) -> E131Packet<'static> {
        E131Packet {
            cid: [cid; 16],
            priority,
            sequence,
            universe: 1,
            terminated,
            slots: &[],
            name: b"",
        }
    }

    #[test]
    fn highest_priority_wins_and_the_first_keeps_a_tie() {
        let mut s = E131Sources::new(Duration::from_secs(2));
        let t = Instant::now();
        assert_eq!(s.judge(&pkt(1, 100, 1, false), addr(1), t), Verdict::Take);
        assert_eq!(
            s.judge(&pkt(2, 100, 1, false), addr(2), t),
            Verdict::OtherSource,
            "tie: first keeps it"
        );
        assert_eq!(
            s.judge(&pkt(3, 150, 1, false), addr(3), t),
            Verdict::Take,
            "higher priority takes over"
        );
        assert_eq!(
            s.judge(&pkt(1, 100, 2, false), addr(1), t),
            Verdict::OtherSource
        );
        assert_eq!(s.holder(1), Some(addr(3)));
        // The winner terminates: the others remain, so it was not the last.
        assert_eq!(
            s.judge(&pkt(3, 150, 2, true), addr(3), t),
            Verdict::Terminated { last: false }
        );
        assert_eq!(
            s.judge(&pkt(1, 100, 3, false), addr(1), t),
            Verdict::Take,
            "back to the first"
        );
    }

    #[test]
    fn silence_releases_a_source() {
        let mut s = E131Sources::new(Duration::from_secs(2));
        let t = Instant::now();
        s.judge(&pkt(3, 200, 1, false), addr(3), t);
        assert_eq!(
            s.judge(&pkt(1, 10, 1, false), addr(1), t),
            Verdict::OtherSource
        );
        let later = t + Duration::from_millis(2500);
        assert_eq!(
            s.judge(&pkt(1, 10, 2, false), addr(1), later),
            Verdict::Take
        );
    }

    #[test]
    fn out_of_sequence_packets_are_dropped_per_source() {
        let mut s = E131Sources::new(Duration::from_secs(2));
        let t = Instant::now();
        assert_eq!(s.judge(&pkt(1, 100, 10, false), addr(1), t), Verdict::Take);
        assert_eq!(
            s.judge(&pkt(1, 100, 9, false), addr(1), t),
            Verdict::OutOfSequence
        );
        assert_eq!(
            s.judge(&pkt(1, 100, 10, false), addr(1), t),
            Verdict::OutOfSequence
        );
        assert_eq!(s.judge(&pkt(1, 100, 11, false), addr(1), t), Verdict::Take);
        assert_eq!(
            s.judge(&pkt(1, 100, 200, false), addr(1), t),
            Verdict::Take,
            "far back: restarted"
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let mut s = E131Sources::new(Duration::from_secs(2));
        let t = Instant::now();
        for i in 0..MAX_SOURCES {
            let mut p = pkt(0, 100, 1, false);
            p.cid[..8].copy_from_slice(&(i as u64).to_be_bytes());
            s.judge(&p, addr(1), t);
        }
        assert_eq!(
            s.judge(&pkt(0xEE, 200, 1, false), addr(9), t),
            Verdict::OtherSource
        );
        assert_eq!(s.entries.len(), MAX_SOURCES);
    }

    #[test]
    fn ddp_first_sender_holds_until_silent() {
        let mut h = DdpHolder::default();
        let t = Instant::now();
        let to = Duration::from_secs(2);
        assert!(h.admit(addr(1), t, to));
        assert!(!h.admit(addr(2), t + Duration::from_secs(1), to));
        assert!(h.admit(addr(1), t + Duration::from_secs(1), to));
        assert!(
            h.admit(addr(2), t + Duration::from_secs(4), to),
            "stale holder released"
        );
    }
}
