//! Supervision of the long-running async tasks: each is registered with a name and a policy, its
//! failures (errors and panics) are logged with their reason, and it is restarted with a capped
//! exponential backoff — or, for a task the device cannot work without, the daemon is asked to shut down
//! cleanly and exit non-zero so that systemd restarts it. Restart counts are exposed for `B/health`.
//!
//! A task that can hang without failing (the MQTT bridge: a wedged client still "runs") is spawned
//! *watched*: it holds a [`Heartbeat`] and beats while it is healthy; when it stays silent longer than its
//! limit the supervisor aborts it and restarts it like a failed task.
//!
//! For tests, `DIUNA_FAIL_ONCE=<task>` makes that task fail on its first start (a fault injection point).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Proof of progress from a watched task: it calls [`Heartbeat::beat`] whenever it has shown that it
/// works (for the MQTT bridge: its own probe came back through the broker, or it is honestly
/// disconnected and retrying).
#[derive(Clone, Debug)]
pub struct Heartbeat {
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            base: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Heartbeat {
    pub fn beat(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Time since the last beat.
    pub fn silence(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.base.elapsed().saturating_sub(last)
    }

    /// Resolves once the task has been silent for `limit`.
    async fn stalled(&self, limit: Duration) {
        loop {
            let silent = self.silence();
            if silent >= limit {
                return;
            }
            tokio::time::sleep(limit - silent).await;
        }
    }
}

/// What happens when a task fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Restart with backoff (1 s doubling to 30 s).
    Restart,
    /// Shut the daemon down with a non-zero exit.
    Critical,
}

/// Restart counts per task, shared with health reporting.
#[derive(Clone, Debug, Default)]
pub struct Restarts(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Restarts {
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn bump(&self, name: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(name).or_default() += 1;
        }
    }

    fn register(&self, name: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            m.entry(name).or_default();
        }
    }
}

/// Spawns and watches tasks.
#[derive(Clone)]
pub struct Supervisor {
    pub tracker: TaskTracker,
    pub restarts: Restarts,
    /// Cancelled when a critical task fails: the app shuts down and exits non-zero.
    pub fatal: CancellationToken,
}

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Supervisor {
            tracker: TaskTracker::new(),
            restarts: Restarts::default(),
            fatal: CancellationToken::new(),
        }
    }

    /// Runs `make()` as task `name` until `stop` is cancelled, applying `policy` to failures. The
    /// returned handle finishes when the task has stopped for good (after `stop`, or a critical failure).
    pub fn spawn<F, Fut, E>(
        &self,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        make: F,
    ) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.spawn_inner(name, policy, stop, None, make)
    }

    /// Like [`Supervisor::spawn`], and also restarts the task when `heartbeat` stays silent for `limit`
    /// (a task that hangs instead of failing). Each (re)start counts as a beat.
    pub fn spawn_watched<F, Fut, E>(
        &self,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        watch: (Heartbeat, Duration),
        make: F,
    ) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.spawn_inner(name, policy, stop, Some(watch), make)
    }

    fn spawn_inner<F, Fut, E>(
        &self,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        watch: Option<(Heartbeat, Duration)>,
        make: F,
    ) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let restarts = self.restarts.clone();
        let fatal = self.fatal.clone();
        restarts.register(name);
        let mut inject = std::env::var("DIUNA_FAIL_ONCE").is_ok_and(|v| v == name);
        self.tracker.spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                let reason = if std::mem::take(&mut inject) {
                    "injected failure (DIUNA_FAIL_ONCE)".to_string()
                } else {
                    match run_once(make(stop.clone()), &stop, watch.as_ref()).await {
                        None => return,
                        Some(reason) => reason,
                    }
                };
                restarts.bump(name);
                if policy == Policy::Critical {
                    tracing::error!(task = name, reason = %reason, "critical task failed; shutting down");
                    fatal.cancel();
                    return;
                }
                tracing::error!(task = name, reason = %reason, retry_in = ?backoff, "task failed; restarting");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        })
    }
}

/// Runs one incarnation of a task; `None` when it ended because it was asked to stop, otherwise why it
/// failed (an error, a panic, or silence on its heartbeat, after which it is aborted).
async fn run_once<Fut, E>(
    task: Fut,
    stop: &CancellationToken,
    watch: Option<&(Heartbeat, Duration)>,
) -> Option<String>
where
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let mut task = tokio::spawn(task);
    let stalled = async {
        match watch {
            Some((heartbeat, limit)) => {
                heartbeat.beat();
                heartbeat.stalled(*limit).await;
                *limit
            }
            None => std::future::pending().await,
        }
    };
    let outcome = tokio::select! {
        joined = &mut task => joined,
        limit = stalled => {
            task.abort();
            return Some(format!("no sign of progress for {limit:?} (stalled); aborted"));
        }
    };
    match outcome {
        Ok(Ok(())) if stop.is_cancelled() => None,
        Ok(Ok(())) => Some("stopped unexpectedly".to_string()),
        Ok(Err(e)) => Some(e.to_string()),
        Err(join) if join.is_panic() => Some(format!("panicked: {join}")),
        Err(join) => Some(format!("aborted: {join}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn failing_task_is_restarted_and_counted() {
        let sup = Supervisor::new();
        let stop = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        sup.spawn("flaky", Policy::Restart, stop.clone(), move |stop| {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    return Err("boom");
                }
                stop.cancelled().await;
                Ok(())
            }
        });
        while runs.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(sup.restarts.snapshot()["flaky"], 2);
        stop.cancel();
        sup.tracker.close();
        sup.tracker.wait().await;
        assert!(!sup.fatal.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_watched_task_is_aborted_and_restarted() {
        let sup = Supervisor::new();
        let stop = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let heartbeat = Heartbeat::default();
        let (s, hb) = (starts.clone(), heartbeat.clone());
        let limit = Duration::from_secs(30);
        sup.spawn_watched(
            "hangs",
            Policy::Restart,
            stop.clone(),
            (heartbeat, limit),
            move |stop| {
                let (s, hb) = (s.clone(), hb.clone());
                async move {
                    // The first incarnation hangs (never beats); the second beats every 5 s.
                    let hangs = s.fetch_add(1, Ordering::SeqCst) == 0;
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => return Ok::<(), String>(()),
                            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        }
                        if !hangs {
                            hb.beat();
                        }
                    }
                }
            },
        );
        while starts.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(sup.restarts.snapshot()["hangs"], 1);
        // The healthy second incarnation beats and is left alone.
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        stop.cancel();
        sup.tracker.close();
        sup.tracker.wait().await;
    }

    #[tokio::test]
    async fn critical_failure_requests_shutdown() {
        let sup = Supervisor::new();
        sup.spawn(
            "core",
            Policy::Critical,
            CancellationToken::new(),
            |_| async { Err::<(), _>("dead") },
        );
        tokio::time::timeout(Duration::from_secs(5), sup.fatal.cancelled())
            .await
            .unwrap();
        assert_eq!(sup.restarts.snapshot()["core"], 1);
    }

    #[tokio::test]
    async fn panics_are_caught() {
        let sup = Supervisor::new();
        sup.spawn(
            "panicky",
            Policy::Critical,
            CancellationToken::new(),
            |_| async {
                if std::hint::black_box(true) {
                    panic!("oops");
                }
                Ok::<(), String>(())
            },
        );
        tokio::time::timeout(Duration::from_secs(5), sup.fatal.cancelled())
            .await
            .unwrap();
    }
}
