//! The `B/health` payload: frame statistics from the render loop, the bridge's own counters, and a few
//! readings of the process and the board (memory, CPU temperature) taken from `/proc` and `/sys`.

use std::time::Instant;

use serde_json::{Value, json};

use crate::engine::stats::FrameStats;

/// Counters the bridge keeps itself.
#[derive(Clone, Debug, Default)]
pub struct BridgeCounters {
    pub commands_handled: u64,
    pub commands_rejected: u64,
    pub reconnects: u64,
    /// State updates replaced by newer ones before they could be sent (outbox overload).
    pub superseded: u64,
    /// Error and event messages dropped from a full outbox.
    pub dropped: u64,
    /// Rejected commands counted but not reported one by one (rate limit).
    pub rejections_unreported: u64,
}

/// Resident memory of this process in KiB (Linux), if readable.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The SoC temperature in °C (Raspberry Pi: thermal zone 0), if the board has one.
pub fn cpu_temp_c() -> Option<f64> {
    let t = std::fs::read_to_string("/sys/class/thermal/thermal_zone0/temp").ok()?;
    Some((t.trim().parse::<f64>().ok()? / 100.0).round() / 10.0)
}

/// Builds the health JSON.
pub fn health_json(stats: &FrameStats, counters: &BridgeCounters, started: Instant) -> Value {
    json!({
        // `null` (Home Assistant: unknown) until the rate has been measured over a full window.
        "fps": stats.fps.map(|f| (f * 10.0).round() / 10.0),
        "frames": stats.frames,
        "late_frames": stats.late,
        "frame_time_p50_ms": stats.p50_us as f64 / 1000.0,
        "frame_time_p99_ms": stats.p99_us as f64 / 1000.0,
        "commands_handled": counters.commands_handled,
        "commands_rejected": counters.commands_rejected,
        "mqtt_reconnects": counters.reconnects,
        "mqtt_state_superseded": counters.superseded,
        "mqtt_messages_dropped": counters.dropped,
        "rejections_unreported": counters.rejections_unreported,
        "output_errors": stats.output_errors,
        "current_ma": stats.current_ma.round(),
        "uptime_s": started.elapsed().as_secs(),
        "memory_kib": rss_kib(),
        "cpu_temp_c": cpu_temp_c(),
        "version": env!("CARGO_PKG_VERSION"),
        "realtime": stats.realtime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_has_every_field() {
        let h = health_json(
            &FrameStats::default(),
            &BridgeCounters::default(),
            Instant::now(),
        );
        for k in [
            "fps",
            "late_frames",
            "frame_time_p50_ms",
            "frame_time_p99_ms",
            "commands_handled",
            "commands_rejected",
            "mqtt_reconnects",
            "mqtt_state_superseded",
            "mqtt_messages_dropped",
            "rejections_unreported",
            "uptime_s",
            "memory_kib",
            "cpu_temp_c",
            "current_ma",
            "version",
        ] {
            assert!(h.as_object().unwrap().contains_key(k), "missing {k}");
        }
        // Not measured yet: null, not a made-up zero.
        assert_eq!(h["fps"], Value::Null);
        assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(h["commands_handled"], 0);
        // Linux (the only target) always has /proc/self/status.
        let rss = rss_kib().expect("VmRSS in /proc/self/status");
        assert!(rss > 0);
        assert!(h["memory_kib"].as_u64().is_some_and(|k| k > 0), "{h}");
    }

    #[test]
    fn fps_is_null_until_measured_then_rounded() {
        let c = BridgeCounters::default();
        let mut s = FrameStats::default();
        assert_eq!(health_json(&s, &c, Instant::now())["fps"], Value::Null);
        s.fps = Some(59.96);
        assert_eq!(health_json(&s, &c, Instant::now())["fps"], json!(60.0));
    }
}
