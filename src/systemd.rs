//! systemd integration through `sd-notify`: READY and STOPPING, status text, and the watchdog period.
//! Every call is a no-op when not started by systemd (no `NOTIFY_SOCKET`).

use std::time::Duration;

use sd_notify::NotifyState;

fn notify(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// The service is up (first frame out, MQTT started).
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// The service is shutting down.
pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// One watchdog keep-alive.
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

/// `WatchdogSec` when the unit has one.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}
