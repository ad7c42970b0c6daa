//! Who this daemon is on the broker: a client id that stays the same across restarts of one machine
//! (so the broker can keep our persistent session) but differs between two machines that were given the
//! same `device_id`, and a random token per run that tells two live daemons apart (see `presence.rs`).
//!
//! The machine part comes from `/etc/machine-id`, which systemd says must not be shown as it is: we use
//! a keyed hash of it (HMAC-SHA256 with a key of our own, like `sd_id128_get_machine_app_specific`).

use std::time::Duration;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Application key for hashing the machine id (any fixed value of our own).
const APP_KEY: &[u8] = b"diuna mqtt client id v1";

/// `diuna-<device_id>-<8 hex digits of the hashed machine id>`; without a machine id, the host name
/// stands in; without either, `diuna-<device_id>`.
pub fn default_client_id(device_id: &str) -> String {
    match machine_secret() {
        Some(secret) => format!("diuna-{device_id}-{}", short_hash(&secret)),
        None => format!("diuna-{device_id}"),
    }
}

/// A fresh random token for this run of the daemon (16 hex digits).
pub fn instance_token() -> String {
    let mut bytes = [0u8; 8];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        // No OS randomness: time and pid still differ between two daemons.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        bytes = (nanos ^ ((std::process::id() as u64) << 32)).to_be_bytes();
    }
    hex(&bytes)
}

/// A random duration in `[low, high]`.
pub fn random_between(low: Duration, high: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    let r = match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => u64::from_be_bytes(bytes),
        Err(_) => std::process::id() as u64 * 7919,
    };
    let span = high.saturating_sub(low).as_millis().max(1) as u64;
    low + Duration::from_millis(r % span)
}

/// The machine id, or the host name when there is none.
fn machine_secret() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .or_else(|| {
            let host = gethostname::gethostname().to_string_lossy().into_owned();
            (!host.is_empty()).then_some(host)
        })
}

fn short_hash(secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, APP_KEY);
    hex(&hmac::sign(&key, secret.as_bytes()).as_ref()[..4])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_stable_per_machine_and_hides_the_machine_id() {
        let a = default_client_id("livingroom");
        assert_eq!(a, default_client_id("livingroom"));
        assert!(a.starts_with("diuna-livingroom"), "{a}");
        if let Some(secret) = machine_secret() {
            assert!(
                !a.contains(&secret),
                "the machine id itself must not appear"
            );
            assert_eq!(a.len(), "diuna-livingroom-".len() + 8);
        }
        assert_ne!(short_hash("machine-a"), short_hash("machine-b"));
    }

    #[test]
    fn random_durations_stay_in_range() {
        let (lo, hi) = (Duration::from_secs(60), Duration::from_secs(300));
        for _ in 0..100 {
            let d = random_between(lo, hi);
            assert!(d >= lo && d <= hi, "{d:?}");
        }
    }

    #[test]
    fn tokens_differ_per_run() {
        let (a, b) = (instance_token(), instance_token());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
