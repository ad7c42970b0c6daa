//! Supervision of the long-running async tasks: each is registered with a name, its failures (errors
//! and panics) are logged with their reason, and it is restarted with a capped exponential backoff
//! ([`Supervisor::spawn`]) — or, for a task the device cannot work without, run once and, should it
//! fail, the daemon is asked to shut down cleanly and exit non-zero so that systemd restarts it
//! ([`Supervisor::spawn_critical`]). Restart counts are exposed for `B/health`. Every task runs on the
//! [`TaskTracker`], so shutdown can wait for all of them.
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

    /// Runs `make()` as task `name` until `stop` is cancelled, restarting it with backoff (1 s doubling
    /// to 30 s) when it fails. The returned handle finishes when the task has stopped for good.
    pub fn spawn<F, Fut, E>(
        &self,
        name: &'static str,
        stop: CancellationToken,
        make: F,
    ) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.spawn_inner(name, stop, None, make)
    }

    /// Runs `task` once as the critical task `name`, until `stop` is cancelled; ending any other way
    /// (an error, a panic, or returning before `stop`) shuts the daemon down: the app stops cleanly
    /// and exits non-zero. For a task the device cannot work without, which owns what it was given
    /// (a channel's receiver) and so is never made twice.
    pub fn spawn_critical<Fut, E>(
        &self,
        name: &'static str,
        stop: CancellationToken,
        task: Fut,
    ) -> JoinHandle<()>
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let (restarts, fatal) = (self.restarts.clone(), self.fatal.clone());
        restarts.register(name);
        let inject = fail_once(name);
        // Boxed where it is made: tokio moves a task's future by value through several calls before
        // it lands in the task, and each move of an unboxed bridge future is another stack copy (the
        // main thread's stack peaked at 124 KiB resident, 100 with the boxes; docs/PERFORMANCE.md).
        self.tracker.spawn(Box::pin(async move {
            let failure = match inject {
                true => Some(INJECTED.to_string()),
                false => run_once(task, &stop, None).await,
            };
            if let Some(reason) = failure {
                restarts.bump(name);
                tracing::error!(task = name, reason = %reason, "critical task failed; shutting down");
                fatal.cancel();
            }
        }))
    }

    /// Like [`Supervisor::spawn`], and also restarts the task when `heartbeat` stays silent for `limit`
    /// (a task that hangs instead of failing). Each (re)start counts as a beat.
    pub fn spawn_watched<F, Fut, E>(
        &self,
        name: &'static str,
        stop: CancellationToken,
        watch: (Heartbeat, Duration),
        make: F,
    ) -> JoinHandle<()>
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.spawn_inner(name, stop, Some(watch), make)
    }

    fn spawn_inner<F, Fut, E>(
        &self,
        name: &'static str,
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
        restarts.register(name);
        let mut inject = fail_once(name);
        // Boxed where it is made, as in `spawn_critical`.
        self.tracker.spawn(Box::pin(async move {
            let mut backoff = FIRST_BACKOFF;
            loop {
                let reason = if std::mem::take(&mut inject) {
                    INJECTED.to_string()
                } else {
                    match run_once(make(stop.clone()), &stop, watch.as_ref()).await {
                        None => return,
                        Some(reason) => reason,
                    }
                };
                restarts.bump(name);
                tracing::error!(task = name, reason = %reason, retry_in = ?backoff, "task failed; restarting");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }))
    }
}

const INJECTED: &str = "injected failure (DIUNA_FAIL_ONCE)";

/// Whether the fault-injection point asks task `name` to fail on its first start.
fn fail_once(name: &str) -> bool {
    std::env::var("DIUNA_FAIL_ONCE").is_ok_and(|v| v == name)
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
        sup.spawn("flaky", stop.clone(), move |stop| {
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
        sup.spawn_watched("hangs", stop.clone(), (heartbeat, limit), move |stop| {
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
        });
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
        sup.spawn_critical("core", CancellationToken::new(), async {
            Err::<(), _>("dead")
        });
        tokio::time::timeout(Duration::from_secs(5), sup.fatal.cancelled())
            .await
            .unwrap();
        assert_eq!(sup.restarts.snapshot()["core"], 1);
    }

    #[tokio::test]
    async fn a_critical_task_asked_to_stop_is_not_a_failure_but_one_that_quits_is() {
        let sup = Supervisor::new();
        let stop = CancellationToken::new();
        let s = stop.clone();
        let done = sup.spawn_critical("once", stop.clone(), async move {
            s.cancelled().await;
            Ok::<(), String>(())
        });
        stop.cancel();
        done.await.unwrap();
        assert!(!sup.fatal.is_cancelled());
        assert_eq!(sup.restarts.snapshot()["once"], 0);
        let quits = sup.spawn_critical("quits", CancellationToken::new(), async {
            Ok::<(), String>(())
        });
        quits.await.unwrap();
        assert!(sup.fatal.is_cancelled(), "ending unasked is a failure");
    }

    #[tokio::test]
    async fn panics_are_caught() {
        let sup = Supervisor::new();
        sup.spawn_critical("panicky", CancellationToken::new(), async {
            if std::hint::black_box(true) {
                panic!("oops");
            }
            Ok::<(), String>(())
        });
        tokio::time::timeout(Duration::from_secs(5), sup.fatal.cancelled())
            .await
            .unwrap();
    }
}
