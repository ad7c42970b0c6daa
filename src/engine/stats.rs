//! Frame statistics for `B/health`: frames, late frames and a fixed-bucket histogram of frame times.
//!
//! Recording is allocation-free (an array of counters) so it can sit on the per-frame path.

use std::time::Duration;

/// Histogram buckets of 10 µs up to 40 ms; the last bucket collects everything slower.
const BUCKET_US: u64 = 10;
const BUCKETS: usize = 4000;

/// Frame counters since the last reset.
#[derive(Clone, Debug, Default)]
pub struct FrameStats {
    pub frames: u64,
    pub late: u64,
    pub window: Duration,
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

impl FrameStats {
    pub fn fps(&self) -> f64 {
        if self.window.is_zero() {
            0.0
        } else {
            self.frames as f64 / self.window.as_secs_f64()
        }
    }
}

/// The recorder owned by the render loop.
pub struct StatsRecorder {
    hist: Box<[u32; BUCKETS]>,
    frames: u64,
    late: u64,
    max_us: u64,
}

impl Default for StatsRecorder {
    fn default() -> Self {
        StatsRecorder {
            hist: Box::new([0; BUCKETS]),
            frames: 0,
            late: 0,
            max_us: 0,
        }
    }
}

impl StatsRecorder {
    /// Records the time one frame took to compose.
    #[inline]
    pub fn record(&mut self, took: Duration, late: bool) {
        let us = took.as_micros() as u64;
        let b = ((us / BUCKET_US) as usize).min(BUCKETS - 1);
        self.hist[b] += 1;
        self.frames += 1;
        self.late += late as u64;
        self.max_us = self.max_us.max(us);
    }

    /// Summarises and resets.
    pub fn take(&mut self, window: Duration) -> FrameStats {
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
        let mut r = StatsRecorder::default();
        for i in 0..100 {
            r.record(
                Duration::from_micros(if i < 99 { 15 } else { 5000 }),
                i == 99,
            );
        }
        let s = r.take(Duration::from_secs(2));
        assert_eq!(s.frames, 100);
        assert_eq!(s.late, 1);
        assert_eq!(s.p50_us, 20);
        assert_eq!(s.p99_us, 20);
        assert_eq!(s.max_us, 5000);
        assert_eq!(s.fps(), 50.0);
        assert_eq!(r.take(Duration::from_secs(1)).frames, 0, "take resets");
    }
}
