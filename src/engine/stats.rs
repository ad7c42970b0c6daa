//! Frame statistics for `B/health`: frames, late frames, a fixed-bucket histogram of frame times, and
//! the frame rate.
//!
//! Recording is allocation-free (an array of counters) so it can sit on the per-frame path. The frame
//! rate is frames over a window of at least [`MIN_FPS_WINDOW`]: a shorter one says nothing (the first
//! health message comes a millisecond after the first frame, and one frame over a millisecond is not
//! 759 FPS). Until a full window has passed the rate is unknown; a summary asked for before the current
//! window is full repeats the previous window's rate.

use std::time::{Duration, Instant};

/// The shortest window the frame rate is measured over.
pub const MIN_FPS_WINDOW: Duration = Duration::from_secs(5);

/// Histogram buckets of 10 µs up to 40 ms; the last bucket collects everything slower.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 4000;

/// Frame counters since the last reset.
#[derive(Clone, Debug, Default)]
pub struct FrameStats {
    /// Frames since the last summary.
    pub frames: u64,
    pub late: u64,
    /// The time since the last summary.
    pub window: Duration,
    /// Frames per second over the last full window (≥ [`MIN_FPS_WINDOW`]); `None` before the first.
    pub fps: Option<f64>,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Estimated current of the last frame over all strips (mA, before limiting).
    pub current_ma: f32,
    /// Failed strip writes since start.
    pub output_errors: u64,
    /// Realtime input counters since start, when `[realtime]` is enabled.
    pub realtime: Option<super::stream_frame::StreamHealth>,
}

/// The recorder owned by the render loop.
pub struct StatsRecorder {
    hist: Box<[u32; BUCKETS]>,
    frames: u64,
    late: u64,
    max_us: u64,
    since: Instant,
    rate: RateWindow,
}

/// Frames counted over the current frame-rate window, and the rate of the last full one.
struct RateWindow {
    since: Instant,
    frames: u64,
    last: Option<f64>,
}

impl RateWindow {
    /// The rate of the last full window, closing the current one if it is full at `now`.
    fn rate(&mut self, now: Instant) -> Option<f64> {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed >= MIN_FPS_WINDOW {
            self.last = Some(self.frames as f64 / elapsed.as_secs_f64());
            self.since = now;
            self.frames = 0;
        }
        self.last
    }
}

impl StatsRecorder {
    /// A recorder whose first windows start at `start`.
    pub fn new(start: Instant) -> Self {
        StatsRecorder {
            hist: Box::new([0; BUCKETS]),
            frames: 0,
            late: 0,
            max_us: 0,
            since: start,
            rate: RateWindow {
                since: start,
                frames: 0,
                last: None,
            },
        }
    }

    /// Records the time one frame took to compose.
    #[inline]
    pub fn record(&mut self, took: Duration, late: bool) {
        let us = took.as_micros() as u64;
        let b = ((us / BUCKET_US) as usize).min(BUCKETS - 1);
        self.hist[b] += 1;
        self.frames += 1;
        self.rate.frames += 1;
        self.late += late as u64;
        self.max_us = self.max_us.max(us);
    }

    /// Summarises the frames since the last summary and resets (the frame-rate window only once it is
    /// full).
    pub fn take(&mut self, now: Instant) -> FrameStats {
        let window = now.saturating_duration_since(self.since);
        self.since = now;
        let pct = |q: f64| -> u64 {
            let want = ((self.frames as f64) * q).ceil() as u64;
            let mut seen = 0u64;
            for (i, &n) in self.hist.iter().enumerate() {
                seen += n as u64;
                if seen >= want.max(1) {
                    return (i as u64 + 1) * BUCKET_US;
                }
            }
            0
        };
        let s = FrameStats {
            frames: self.frames,
            late: self.late,
            window,
            fps: self.rate.rate(now),
            p50_us: if self.frames > 0 { pct(0.5) } else { 0 },
            p99_us: if self.frames > 0 { pct(0.99) } else { 0 },
            max_us: self.max_us,
            ..Default::default()
        };
        self.hist.fill(0);
        (self.frames, self.late, self.max_us) = (0, 0, 0);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_from_histogram() {
        let t0 = Instant::now();
        let mut r = StatsRecorder::new(t0);
        for i in 0..100 {
            r.record(
                Duration::from_micros(if i < 99 { 15 } else { 5000 }),
                i == 99,
            );
        }
        let s = r.take(t0 + Duration::from_secs(2));
        assert_eq!(s.frames, 100);
        assert_eq!(s.window, Duration::from_secs(2));
        assert_eq!(s.late, 1);
        assert_eq!(s.p50_us, 20);
        assert_eq!(s.p99_us, 20);
        assert_eq!(s.max_us, 5000);
        assert_eq!(r.take(t0 + Duration::from_secs(3)).frames, 0, "take resets");
    }

    #[test]
    fn frame_rate_only_over_a_full_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut r = StatsRecorder::new(t0);
        // One frame, then a summary 1.3 ms later (the first health message): no rate yet, not 759.
        r.record(Duration::from_micros(100), false);
        assert_eq!(r.take(at(1)).fps, None);
        // Still short of the window at 4.9 s.
        for _ in 0..293 {
            r.record(Duration::from_micros(100), false);
        }
        assert_eq!(r.take(at(4_900)).fps, None);
        // 300 frames over 5 s.
        for _ in 0..6 {
            r.record(Duration::from_micros(100), false);
        }
        let s = r.take(at(5_000));
        assert_eq!(s.fps, Some(60.0));
        assert_eq!(
            s.frames, 6,
            "the other counters cover the time since the last summary"
        );
        // A summary right after (a reconnect) repeats the last full window's rate.
        r.record(Duration::from_micros(100), false);
        assert_eq!(r.take(at(5_010)).fps, Some(60.0));
        // Idle: 1 frame over the next 10 s is 0.1 FPS, measured, not extrapolated.
        assert_eq!(r.take(at(15_000)).fps, Some(0.1));
    }
}
