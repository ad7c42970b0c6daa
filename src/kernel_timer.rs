//! A timer kept by the kernel (a Linux `timerfd`), for a deadline that moves at every command and
//! for the MQTT bridge's housekeeping tick.
//!
//! Tokio's timer wheel files a deadline that lies past a 64 ms boundary (counted from its own start,
//! in whole milliseconds) one level up, and one past a 4,096 ms boundary two levels up, and wakes the
//! thread when that level's slot begins, to file it again lower down. A deadline moved forward at
//! every command is nearly always one of those, so it cost a wake-up of its own at every 64 ms
//! boundary: 16 a second while commands streamed in, a third as many as the commands themselves; a
//! 5 s tick cost three wake-ups instead of one (issue 16). The kernel's timer wakes the thread only
//! when it expires; moving it is one system call, made while the thread is awake anyway.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A timer the runtime polls like a socket, one-shot or periodic. Cancel-safe: dropping
/// [`KernelTimer::expired`] before it resolves leaves the timer as it was.
pub struct KernelTimer {
    fd: AsyncFd<OwnedFd>,
    armed: bool,
    periodic: bool,
}

impl KernelTimer {
    /// A disarmed timer. Fails only when the process is out of file descriptors. Must be called
    /// inside a tokio runtime with I/O enabled.
    pub fn new() -> io::Result<Self> {
        // SAFETY: a plain system call; a non-negative result is a new descriptor that we own.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else holds.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the `OwnedFd` stays open, the same descriptor, for as long as the `AsyncFd` owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(KernelTimer {
            fd,
            armed: false,
            periodic: false,
        })
    }

    /// A timer that expires every `period` from now on. Expiries missed while nobody waited count
    /// as one: the next wait resolves at once, the one after at the next period.
    pub fn every(period: Duration) -> io::Result<Self> {
        let mut t = KernelTimer::new()?;
        let period = period.max(Duration::from_nanos(1));
        t.set(period, period)?;
        (t.armed, t.periodic) = (true, true);
        Ok(t)
    }

    /// Sets the timer to expire once, `after` from now, replacing any earlier setting.
    pub fn arm(&mut self, after: Duration) -> io::Result<()> {
        // A zero setting would disarm the timer: the shortest one is a nanosecond.
        self.set(after.max(Duration::from_nanos(1)), Duration::ZERO)?;
        (self.armed, self.periodic) = (true, false);
        Ok(())
    }

    /// Stops the timer. Should the kernel refuse, an expiry left behind is ignored: only
    /// [`KernelTimer::arm`] makes [`KernelTimer::expired`] wait for one.
    pub fn disarm(&mut self) {
        let _ = self.set(Duration::ZERO, Duration::ZERO);
        self.armed = false;
    }

    /// Whether the timer is set and has not been seen to expire.
    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// Resolves once the timer expires (a one-shot one is then disarmed); never while disarmed.
    /// Should the descriptor ever fail, it resolves once and is disarmed, so what waits on it is
    /// neither held forever nor woken in a loop.
    pub async fn expired(&mut self) {
        if !self.armed {
            return std::future::pending().await;
        }
        let failed = loop {
            let Ok(mut ready) = self.fd.readable().await else {
                break true;
            };
            let mut count = [0u8; 8];
            match ready.try_io(|fd| {
                // SAFETY: reads at most 8 bytes into an 8-byte buffer from a descriptor we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            }) {
                // Readiness left from a setting since replaced: wait again.
                Err(_would_block) => continue,
                Ok(read) => break read.is_err(),
            }
        };
        if failed {
            tracing::warn!("a kernel timer failed; it is disarmed");
        }
        self.armed = self.periodic && !failed;
    }

    /// First expiry `after` from now (zero: disarmed), then every `period` (zero: once).
    fn set(&self, after: Duration, period: Duration) -> io::Result<()> {
        let spec = |d: Duration| libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        let value = libc::itimerspec {
            it_interval: spec(period),
            it_value: spec(after),
        };
        // SAFETY: `value` is a valid setting; the old one is not asked for.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &value, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A periodic tick: the kernel's timer, or tokio's should the kernel refuse or fail one. The first
/// tick comes one period from now.
pub struct Ticker {
    period: Duration,
    source: Source,
}

enum Source {
    Kernel(KernelTimer),
    Tokio(tokio::time::Interval),
}

impl Ticker {
    /// Ticks every `period`.
    pub fn every(period: Duration) -> Self {
        let source = match KernelTimer::every(period) {
            Ok(t) => Source::Kernel(t),
            Err(e) => {
                tracing::warn!(error = %e, "no kernel timer; ticking with tokio's (more wake-ups)");
                tokio_interval(period)
            }
        };
        Ticker { period, source }
    }

    /// Resolves at the next tick. Cancel-safe.
    pub async fn tick(&mut self) {
        match &mut self.source {
            Source::Kernel(t) => {
                t.expired().await;
                if !t.is_armed() {
                    // It failed (and said so): tokio's timer from here on.
                    self.source = tokio_interval(self.period);
                }
            }
            Source::Tokio(i) => {
                i.tick().await;
            }
        }
    }
}

/// Tokio's interval, first tick one `period` from now, like the kernel's.
fn tokio_interval(period: Duration) -> Source {
    let start = tokio::time::Instant::now() + period;
    let mut i = tokio::time::interval_at(start, period);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    Source::Tokio(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Whether `t` expires within `ms` milliseconds.
    async fn fires_within(t: &mut KernelTimer, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), t.expired())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_disarmed_timer_never_expires() {
        let mut t = KernelTimer::new().unwrap();
        assert!(!t.is_armed());
        assert!(!fires_within(&mut t, 30).await, "a disarmed timer expired");
    }

    #[tokio::test]
    async fn an_armed_timer_expires_once_after_its_delay() {
        let mut t = KernelTimer::new().unwrap();
        let start = Instant::now();
        t.arm(Duration::from_millis(20)).unwrap();
        assert!(t.is_armed());
        assert!(fires_within(&mut t, 5000).await, "the timer never expired");
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "it expired early"
        );
        assert!(!t.is_armed());
        assert!(!fires_within(&mut t, 30).await, "one setting expired twice");
    }

    #[tokio::test]
    async fn arming_again_moves_the_deadline_even_after_an_unread_expiry() {
        let mut t = KernelTimer::new().unwrap();
        t.arm(Duration::from_millis(1)).unwrap();
        // Let it expire without reading it, then move it far out: the old expiry must not count.
        std::thread::sleep(Duration::from_millis(10));
        t.arm(Duration::from_secs(60)).unwrap();
        assert!(
            !fires_within(&mut t, 50).await,
            "an expiry from the replaced setting fired"
        );
        assert!(t.is_armed());
    }

    #[tokio::test]
    async fn a_disarmed_timer_does_not_fire_its_old_setting() {
        let mut t = KernelTimer::new().unwrap();
        t.arm(Duration::from_millis(5)).unwrap();
        t.disarm();
        assert!(!t.is_armed());
        assert!(!fires_within(&mut t, 30).await, "a disarmed timer expired");
    }

    #[tokio::test]
    async fn a_periodic_timer_expires_every_period_and_stays_armed() {
        let mut t = KernelTimer::every(Duration::from_millis(10)).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(
                fires_within(&mut t, 5000).await,
                "the periodic timer stopped"
            );
            assert!(t.is_armed());
        }
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "three periods took less than 30 ms"
        );
    }

    #[tokio::test]
    async fn expiries_missed_while_nobody_waits_count_as_one() {
        // Ticks at 100, 200, 300 ms pass unread; the one after them is due at 400 ms.
        let mut t = KernelTimer::every(Duration::from_millis(100)).unwrap();
        std::thread::sleep(Duration::from_millis(350));
        assert!(
            fires_within(&mut t, 5000).await,
            "the missed ticks were lost"
        );
        let next = Instant::now();
        t.expired().await;
        assert!(
            next.elapsed() >= Duration::from_millis(10),
            "missed ticks were delivered one by one"
        );
    }

    #[tokio::test]
    async fn a_ticker_ticks_once_per_period_from_one_period_on() {
        let mut tick = Ticker::every(Duration::from_millis(20));
        let start = Instant::now();
        for n in 1..=3 {
            tokio::time::timeout(Duration::from_secs(5), tick.tick())
                .await
                .expect("the ticker stopped");
            assert!(
                start.elapsed() >= Duration::from_millis(20 * n),
                "tick {n} came early"
            );
        }
        assert!(
            matches!(tick.source, Source::Kernel(_)),
            "the kernel's timer was not used"
        );
    }

    #[tokio::test]
    async fn a_dropped_wait_leaves_the_timer_armed() {
        let mut t = KernelTimer::new().unwrap();
        t.arm(Duration::from_millis(300)).unwrap();
        assert!(!fires_within(&mut t, 5).await);
        assert!(t.is_armed(), "cancelling the wait disarmed the timer");
        assert!(
            fires_within(&mut t, 5000).await,
            "the timer never expired after a cancelled wait"
        );
    }
}
