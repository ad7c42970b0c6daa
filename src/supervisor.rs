//! Supervision of the long-running async tasks: each is registered with a name and a policy, its
//! failures (errors and panics) are logged with their reason, and it is restarted with a capped
//! exponential backoff — or, for a task the device cannot work without, the daemon is asked to shut down
//! cleanly and exit non-zero so that systemd restarts it. Restart counts are exposed for `B/health`.
//!
//! For tests, `DIUNA_FAIL_ONCE=<task>` makes that task fail on its first start (a fault injection point).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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

    /// Runs `make()` as task `name` until `stop` is cancelled, applying `policy` to failures.
    pub fn spawn<F, Fut, E>(
        &self,
        name: &'static str,
        policy: Policy,
        stop: CancellationToken,
        make: F,
    ) where
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
                    Some("injected failure (DIUNA_FAIL_ONCE)".to_string())
                } else {
                    match tokio::spawn(make(stop.clone())).await {
                        Ok(Ok(())) if stop.is_cancelled() => return,
                        Ok(Ok(())) => Some("stopped unexpectedly".to_string()),
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(join) if join.is_panic() => Some(format!("panicked: {join}")),
                        Err(join) => Some(format!("aborted: {join}")),
                    }
                };
                let reason = reason.unwrap_or_default();
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
        });
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
