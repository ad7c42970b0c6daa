//! Validation of `[realtime]` (DDP / E1.31 input) and `[sync]` (several devices in step). Each problem
//! is pushed as one message naming its key, like the rest of the config.

use std::net::IpAddr;
use std::time::Duration;

use super::raw::{RawRealtime, RawSync};
use super::{duration, is_slug};
use crate::engine::stream_config::{RealtimeConfig, StreamGamma, ZoneOrigin};
use crate::layout::Layout;

/// `[sync]`, validated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncConfig {
    /// The group this device belongs to, if any.
    pub group: Option<String>,
    /// How far ahead a group command is scheduled.
    pub lead: Duration,
}

impl SyncConfig {
    /// The group as `--check-config` prints it (empty when there is none).
    pub fn describe(&self, base_topic: &str) -> String {
        match &self.group {
            Some(g) => format!(
                "sync group \"{g}\": commands on {base_topic}/group/{g}/set, {:?} ahead; keep the clocks on NTP\n",
                self.lead
            ),
            None => String::new(),
        }
    }
}

pub(super) fn build_realtime(
    raw: &RawRealtime,
    layout: &Layout,
    errs: &mut Vec<String>,
) -> RealtimeConfig {
    let bind = match raw.bind.as_deref() {
        None => IpAddr::from([0, 0, 0, 0]),
        Some(s) => s.parse().unwrap_or_else(|_| {
            errs.push(format!(
                "realtime.bind: \"{s}\" is not an IP address (e.g. \"0.0.0.0\" for every interface)"
            ));
            IpAddr::from([0, 0, 0, 0])
        }),
    };
    let e131_universe = raw.e131_universe.unwrap_or(1);
    if !(1..=63999).contains(&e131_universe) {
        errs.push(format!(
            "realtime.e131_universe: {e131_universe} is outside 1–63999"
        ));
    }
    let e131_address = raw.e131_address.unwrap_or(1);
    if !(1..=512).contains(&e131_address) {
        errs.push(format!(
            "realtime.e131_address: {e131_address} is outside 1–512"
        ));
    }
    let gamma = match raw.gamma.as_deref().unwrap_or("sender") {
        "sender" => StreamGamma::Sender,
        "strip" => StreamGamma::Strip,
        other => {
            errs.push(format!(
                "realtime.gamma: \"{other}\" is not \"sender\" (the sender corrects) or \"strip\" (apply the strip's gamma)"
            ));
            StreamGamma::Sender
        }
    };
    let (ddp_port, e131_port) = (raw.ddp_port.unwrap_or(4048), raw.e131_port.unwrap_or(5568));
    if ddp_port != 0 && ddp_port == e131_port {
        errs.push(format!(
            "realtime.e131_port: {e131_port} is also the DDP port; give each protocol its own"
        ));
    }
    let cfg = RealtimeConfig {
        enabled: raw.enabled.unwrap_or(false),
        bind,
        ddp_port,
        e131_port,
        e131_universe,
        e131_address,
        multicast: raw.multicast.unwrap_or(true),
        timeout: duration(
            "realtime.timeout",
            &raw.timeout,
            Duration::from_millis(2500),
            errs,
        ),
        fade_back: duration(
            "realtime.fade_back",
            &raw.fade_back,
            Duration::from_secs(1),
            errs,
        ),
        brightness: raw.brightness.unwrap_or(true),
        gamma,
        zones: zone_origins(raw, layout, (e131_universe, e131_address), errs),
    };
    if cfg.enabled && cfg.timeout < Duration::from_millis(100) {
        errs.push("realtime.timeout: must be at least 100ms".into());
    }
    cfg
}

fn zone_origins(
    raw: &RawRealtime,
    layout: &Layout,
    (first_universe, first_address): (u16, u16),
    errs: &mut Vec<String>,
) -> Vec<Option<ZoneOrigin>> {
    let mut out = vec![None; layout.zones.len()];
    for (id, z) in raw.zones.iter().flatten() {
        let key = format!("realtime.zones.{id}");
        let Some(zi) = layout.zone_index(id) else {
            errs.push(format!("{key}: no zone \"{id}\""));
            continue;
        };
        out[zi] = match (z.start, z.universe, z.address) {
            (Some(p), None, None) => Some(ZoneOrigin::Pixel(p)),
            (None, Some(u), a) => {
                let address = a.unwrap_or(1);
                if !(first_universe..=63999).contains(&u) {
                    errs.push(format!(
                        "{key}.universe: {u} is outside {first_universe}–63999 (realtime.e131_universe is the first)"
                    ));
                }
                if !(1..=512).contains(&address) {
                    errs.push(format!("{key}.address: {address} is outside 1–512"));
                } else if u == first_universe && address < first_address {
                    errs.push(format!(
                        "{key}.address: {address} comes before realtime.e131_address ({first_address}) in the first universe"
                    ));
                }
                Some(ZoneOrigin::Universe {
                    universe: u,
                    address,
                })
            }
            _ => {
                errs.push(format!(
                    "{key}: give either start (a pixel index) or universe (with an optional address)"
                ));
                None
            }
        };
    }
    out
}

pub(super) fn build_sync(raw: &RawSync, device_id: &str, errs: &mut Vec<String>) -> SyncConfig {
    let group = raw.group.clone();
    if let Some(g) = &group {
        if !is_slug(g) {
            errs.push(format!(
                "sync.group: \"{g}\" must be a lower-case slug (a-z, 0-9, _ and -)"
            ));
        }
        if device_id == "group" {
            errs.push("device_id: \"group\" is reserved for the sync group's topics".into());
        }
    }
    let lead = duration("sync.lead", &raw.lead, Duration::from_millis(300), errs);
    if lead > Duration::from_secs(5) {
        errs.push("sync.lead: at most 5s".into());
    }
    SyncConfig { group, lead }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};
    use crate::engine::stream_config::{StreamGamma, ZoneOrigin};
    use std::time::Duration;

    const LAYOUT: &str = "[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\n";

    fn errors(text: &str) -> Vec<String> {
        match Config::from_toml(&format!("{text}\n{LAYOUT}")) {
            Err(ConfigError::Invalid(e)) => e,
            other => panic!("accepted or failed to load: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_off_and_standard() {
        let c = Config::from_toml(LAYOUT).unwrap();
        let r = &c.realtime;
        assert!(!r.enabled);
        assert_eq!(
            (r.ddp_port, r.e131_port, r.e131_universe, r.e131_address),
            (4048, 5568, 1, 1)
        );
        assert_eq!(
            (r.timeout, r.fade_back),
            (Duration::from_millis(2500), Duration::from_secs(1))
        );
        assert!(r.brightness && r.multicast && !r.per_zone());
        assert_eq!(r.gamma, StreamGamma::Sender);
        assert_eq!(c.sync.group, None);
        assert_eq!(c.sync.lead, Duration::from_millis(300));
    }

    #[test]
    fn zone_origins() {
        let c = Config::from_toml(&format!(
            "[realtime.zones.floor]\nuniverse = 4\naddress = 10\n{LAYOUT}"
        ))
        .unwrap();
        assert_eq!(
            c.realtime.zones,
            vec![Some(ZoneOrigin::Universe {
                universe: 4,
                address: 10
            })]
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[realtime]\nbind = \"everywhere\"", "realtime.bind"),
            ("[realtime]\ne131_universe = 0", "realtime.e131_universe"),
            ("[realtime]\ne131_address = 513", "realtime.e131_address"),
            (
                "[realtime]\nddp_port = 5000\ne131_port = 5000",
                "realtime.e131_port",
            ),
            ("[realtime]\ntimeout = \"soon\"", "realtime.timeout"),
            (
                "[realtime]\nenabled = true\ntimeout = \"10ms\"",
                "realtime.timeout",
            ),
            ("[realtime]\ngamma = \"linear\"", "realtime.gamma"),
            ("[realtime.zones.attic]\nstart = 0", "realtime.zones.attic"),
            (
                "[realtime.zones.floor]\nstart = 0\nuniverse = 2",
                "realtime.zones.floor",
            ),
            (
                "[realtime]\ne131_universe = 3\n[realtime.zones.floor]\nuniverse = 2",
                "realtime.zones.floor.universe",
            ),
            (
                "[realtime]\ne131_address = 9\n[realtime.zones.floor]\nuniverse = 1\naddress = 4",
                "realtime.zones.floor.address",
            ),
            ("[sync]\ngroup = \"Party Room\"", "sync.group"),
            ("[sync]\ngroup = \"a\"\nlead = \"9s\"", "sync.lead"),
            ("device_id = \"group\"\n[sync]\ngroup = \"a\"", "device_id"),
        ];
        for (text, key) in cases {
            let e = errors(text);
            assert!(e.iter().any(|m| m.starts_with(key)), "{text}: {e:?}");
        }
        let e = match Config::from_toml(
            "[[strips]]\nid=\"a\"\n[[zones]]\nid=\"realtime\"\nstrip=\"a\"\npixels=3\n",
        ) {
            Err(ConfigError::Invalid(e)) => e,
            other => panic!("{other:?}"),
        };
        assert!(
            e[0].contains("realtime"),
            "a zone may not take the realtime topic: {e:?}"
        );
    }
}
