//! Reporting rejected commands safely: text from outside (topics, payload excerpts, reasons that quote
//! them) is escaped and capped before it reaches `B/error` or the log, and a flood of rejections is
//! reported one by one only up to a rate, then once as a count.
//!
//! The same file keeps the reconnect story short: one warning when the connection is lost, a summary
//! every few minutes while it stays down, one line when it is back.
//!
//! Escaping matters because a payload with a newline and an ANSI escape would otherwise forge a log line
//! or repaint a terminal; capping matters because a reason may quote a 309-digit number.

use std::time::{Duration, Instant};

/// Payload bytes quoted in an excerpt.
pub const EXCERPT_BYTES: usize = 64;
/// Longest reason, in characters, before it is cut with `…`.
pub const REASON_CHARS: usize = 160;
/// Longest topic quoted, in characters.
pub const TOPIC_CHARS: usize = 128;

/// `text` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`, …) and a backslash doubled,
/// cut to `max` characters (escapes count as written) with `…` when cut.
pub fn escape(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 4);
    let mut count = 0;
    for c in text.chars() {
        let piece: String = match c {
            '\\' => "\\\\".into(),
            c if c.is_control() => c.escape_default().collect(),
            c => c.into(),
        };
        count += piece.chars().count();
        if count > max {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
    }
    out
}

/// The first [`EXCERPT_BYTES`] of a payload, as escaped text.
pub fn excerpt(payload: &[u8]) -> String {
    let head = &payload[..payload.len().min(EXCERPT_BYTES)];
    escape(&String::from_utf8_lossy(head), EXCERPT_BYTES * 4)
}

/// Whether one more report fits in the current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    Report,
    /// Over the rate: counted, reported later as part of a summary.
    Suppress,
}

/// At most `burst` reports per `window`; the rest are counted and handed out once by [`Limiter::summary`].
#[derive(Clone, Debug)]
pub struct Limiter {
    burst: u32,
    window: Duration,
    started: Option<Instant>,
    reported: u32,
    suppressed: u64,
}

impl Limiter {
    pub fn new(burst: u32, window: Duration) -> Limiter {
        Limiter {
            burst,
            window,
            started: None,
            reported: 0,
            suppressed: 0,
        }
    }

    pub fn admit(&mut self, now: Instant) -> Admit {
        match self.started {
            Some(t) if now.duration_since(t) < self.window => {}
            _ if self.suppressed > 0 => {} // the window stays open until its summary is taken
            _ => {
                self.started = Some(now);
                self.reported = 0;
            }
        }
        if self.reported < self.burst {
            self.reported += 1;
            Admit::Report
        } else {
            self.suppressed += 1;
            Admit::Suppress
        }
    }

    /// Once the window in which reports were suppressed is over: how many, and over how long. Resets.
    pub fn summary(&mut self, now: Instant) -> Option<(u64, Duration)> {
        let started = self.started?;
        let open = now.duration_since(started);
        if self.suppressed == 0 || open < self.window {
            return None;
        }
        let n = std::mem::take(&mut self.suppressed);
        self.started = None;
        Some((n, open))
    }
}

/// Rejections reported one by one: at most this many per window, then a count.
pub const REJECTION_BURST: u32 = 20;
pub const REJECTION_WINDOW: Duration = Duration::from_secs(10);
/// How often a continuing outage is summarised in the log.
pub const OUTAGE_SUMMARY_EVERY: Duration = Duration::from_secs(300);

pub fn rejection_limiter() -> Limiter {
    Limiter::new(REJECTION_BURST, REJECTION_WINDOW)
}

/// A stretch of time without a connection.
#[derive(Clone, Debug, Default)]
pub struct Outage {
    since: Option<Instant>,
    summarised: Option<Instant>,
    attempts: u64,
    last_error: String,
}

/// How an outage went, for a log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutageReport {
    pub attempts: u64,
    pub duration: Duration,
    pub last_error: String,
}

impl Outage {
    /// Records a failed or lost connection; true when it starts an outage (warn once, then).
    pub fn failed(&mut self, error: &str, now: Instant) -> bool {
        self.attempts += 1;
        self.last_error = error.to_string();
        if self.since.is_some() {
            return false;
        }
        self.since = Some(now);
        self.summarised = Some(now);
        true
    }

    /// Every [`OUTAGE_SUMMARY_EVERY`] while the outage lasts: attempts so far and the last error.
    pub fn summary(&mut self, now: Instant) -> Option<OutageReport> {
        let since = self.since?;
        if self
            .summarised
            .is_some_and(|t| now.duration_since(t) < OUTAGE_SUMMARY_EVERY)
        {
            return None;
        }
        self.summarised = Some(now);
        Some(self.report(since, now))
    }

    /// Connected: how the outage went, if there was one.
    pub fn recovered(&mut self, now: Instant) -> Option<OutageReport> {
        let since = self.since.take()?;
        let r = self.report(since, now);
        *self = Outage::default();
        Some(r)
    }

    fn report(&self, since: Instant, now: Instant) -> OutageReport {
        OutageReport {
            attempts: self.attempts,
            duration: now.duration_since(since),
            last_error: self.last_error.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_text_is_capped() {
        let forged = "x\n2026-01-01T00:00:00Z  INFO diuna: forged\u{1b}[31mred\r\t\\";
        let e = escape(forged, 200);
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(e.contains("\\n2026") && e.contains("\\u{1b}[31m") && e.contains("\\r\\t\\\\"));
        let long = "9".repeat(309);
        let e = escape(&long, REASON_CHARS);
        assert_eq!(e.chars().count(), REASON_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(escape("short", 10), "short");
        assert_eq!(escape("a\nb", 3), "a\\n…", "an escape is never split");
    }

    #[test]
    fn excerpts_quote_at_most_64_bytes_and_survive_bad_utf8() {
        let e = excerpt(&[b'a'; 1000]);
        assert_eq!(e.len(), EXCERPT_BYTES);
        let e = excerpt(&[0xff, 0x1b, b'[', b'2', b'J']);
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }

    #[test]
    fn a_flood_is_reported_up_to_the_burst_then_once_as_a_count() {
        let t0 = Instant::now();
        let mut l = Limiter::new(3, Duration::from_secs(10));
        let ms = |n| t0 + Duration::from_millis(n);
        let admitted: Vec<_> = (0..1000).map(|i| l.admit(ms(i))).collect();
        assert_eq!(admitted.iter().filter(|a| **a == Admit::Report).count(), 3);
        assert_eq!(l.summary(ms(5_000)), None, "not before the window ends");
        assert_eq!(l.summary(ms(10_000)), Some((997, Duration::from_secs(10))));
        assert_eq!(l.summary(ms(20_000)), None, "reported once");
        assert_eq!(l.admit(ms(20_001)), Admit::Report, "a new window");
    }

    #[test]
    fn an_outage_warns_once_then_summarises_every_few_minutes() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut o = Outage::default();
        assert_eq!(o.recovered(s(0)), None, "no outage yet");
        assert!(o.failed("refused", s(0)));
        assert!(!o.failed("refused", s(1)), "one warning per outage");
        assert_eq!(o.summary(s(60)), None);
        for i in 2..100 {
            o.failed("timeout", s(i));
        }
        let r = o.summary(s(300)).expect("a summary after five minutes");
        assert_eq!((r.attempts, r.last_error.as_str()), (100, "timeout"));
        assert_eq!(o.summary(s(301)), None);
        let back = o.recovered(s(400)).unwrap();
        assert_eq!(back.duration, Duration::from_secs(400));
        assert!(o.failed("again", s(500)), "a new outage warns again");
    }
}
