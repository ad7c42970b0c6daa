//! Topic names, built once, and the parser that turns an incoming topic into a typed [`Inbound`].
//!
//! With `B = <base_topic>/<device_id>`: `B/<zone>/set`, `B/all/set`, `B/set`, `B/<zone>/<param>/set` in;
//! `B/<zone>/state`, `B/all/state`, `B/state`, `B/<zone>/<param>/state`, `B/availability`, `B/health`,
//! `B/event`, `B/error` out; `B/instance` both ways (presence, see `presence.rs`); `<prefix>/status` is
//! Home Assistant's birth message.

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Filter;

use crate::effects::{PARAM_COUNT, ParamId};
use crate::layout::Layout;

/// What an incoming topic addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    ZoneSet(usize),
    AllSet,
    DeviceSet,
    ParamSet(usize, ParamId),
    HaStatus,
    /// A presence announcement of another daemon (we do not hear our own: "no local").
    Instance,
    /// A retained discovery config under our device (to find entities of removed zones).
    Discovery,
    /// `B/realtime/set`: the realtime override select.
    RealtimeSet,
}

/// Why a topic was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopicError {
    #[error("unknown zone \"{0}\"")]
    UnknownZone(String),
    #[error("unknown effect parameter \"{0}\"")]
    UnknownParam(String),
    #[error("not a command topic")]
    NotACommand,
}

/// Every topic string the bridge uses.
#[derive(Clone, Debug)]
pub struct Topics {
    pub base: String,
    pub prefix: String,
    pub device_id: String,
    pub zone_ids: Vec<String>,
    pub availability: String,
    pub health: String,
    pub event: String,
    pub error: String,
    pub instance: String,
    pub device_set: String,
    pub device_state: String,
    pub all_set: String,
    pub all_state: String,
    pub ha_status: String,
    /// `B/<zone>/state` and `B/<zone>/<param>/state`, built once: published on every change.
    zone_states: Vec<String>,
    param_states: Vec<[String; PARAM_COUNT]>,
}

impl Topics {
    pub fn new(base_topic: &str, device_id: &str, prefix: &str, layout: &Layout) -> Topics {
        let base = format!("{base_topic}/{device_id}");
        let zone_ids: Vec<String> = layout.zones.iter().map(|z| z.id.clone()).collect();
        Topics {
            zone_states: zone_ids
                .iter()
                .map(|z| format!("{base}/{z}/state"))
                .collect(),
            param_states: zone_ids
                .iter()
                .map(|z| ParamId::ALL.map(|p| format!("{base}/{z}/{}/state", p.name())))
                .collect(),
            availability: format!("{base}/availability"),
            health: format!("{base}/health"),
            event: format!("{base}/event"),
            error: format!("{base}/error"),
            instance: format!("{base}/instance"),
            device_set: format!("{base}/set"),
            device_state: format!("{base}/state"),
            all_set: format!("{base}/all/set"),
            all_state: format!("{base}/all/state"),
            ha_status: format!("{prefix}/status"),
            zone_ids,
            prefix: prefix.into(),
            device_id: device_id.into(),
            base,
        }
    }

    pub fn zone_set(&self, z: usize) -> String {
        format!("{}/{}/set", self.base, self.zone_ids[z])
    }

    pub fn zone_state(&self, z: usize) -> &str {
        &self.zone_states[z]
    }

    pub fn param_set(&self, z: usize, p: ParamId) -> String {
        format!("{}/{}/{}/set", self.base, self.zone_ids[z], p.name())
    }

    pub fn param_state(&self, z: usize, p: ParamId) -> &str {
        &self.param_states[z][p as usize]
    }

    /// Whether we publish on `topic` now (so a stale entity that used it must not clear it).
    pub fn is_current_state(&self, topic: &str) -> bool {
        [
            &self.availability,
            &self.health,
            &self.event,
            &self.error,
            &self.instance,
            &self.device_state,
            &self.all_state,
        ]
        .iter()
        .any(|t| t.as_str() == topic)
            || (0..self.zone_ids.len()).any(|z| {
                self.zone_state(z) == topic
                    || ParamId::ALL
                        .iter()
                        .any(|p| self.param_state(z, *p) == topic)
            })
    }

    /// `<prefix>/<component>/<device_id>/<object>/config`.
    pub fn discovery(&self, component: &str, object: &str) -> String {
        format!(
            "{}/{component}/{}/{object}/config",
            self.prefix, self.device_id
        )
    }

    /// What the bridge subscribes to, and whether our own publishes on it are to be left out (MQTT 5
    /// "no local"). Never its own state topics (no echo loops).
    pub fn subscriptions(&self) -> Vec<(String, bool)> {
        vec![
            (format!("{}/+/set", self.base), false),
            (format!("{}/+/+/set", self.base), false),
            (self.device_set.clone(), false),
            (self.ha_status.clone(), false),
            (self.instance.clone(), true),
            // Retained configs of our device, to find stale ones; not the echo of what we publish.
            (
                format!("{}/+/{}/+/config", self.prefix, self.device_id),
                true,
            ),
        ]
    }

    /// [`Topics::subscriptions`] as QoS 1 filters: the broker keeps QoS 1 commands for our persistent
    /// session while we are away.
    pub fn filters(&self) -> Vec<Filter> {
        self.subscriptions()
            .into_iter()
            .map(|(topic, no_local)| {
                let mut f = Filter::new(topic, QoS::AtLeastOnce);
                f.nolocal = no_local;
                f
            })
            .collect()
    }

    /// Parses an incoming topic.
    pub fn parse(&self, topic: &str) -> Result<Inbound, TopicError> {
        if topic == self.ha_status {
            return Ok(Inbound::HaStatus);
        }
        if topic == self.device_set {
            return Ok(Inbound::DeviceSet);
        }
        if topic == self.instance {
            return Ok(Inbound::Instance);
        }
        if let Some(rest) = topic.strip_prefix(&self.prefix)
            && rest.ends_with("/config")
            && rest.contains(&format!("/{}/", self.device_id))
        {
            return Ok(Inbound::Discovery);
        }
        let rest = topic
            .strip_prefix(&self.base)
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|r| r.strip_suffix("/set"))
            .ok_or(TopicError::NotACommand)?;
        let mut parts = rest.split('/');
        let (zone, param) = (parts.next().unwrap_or_default(), parts.next());
        if parts.next().is_some() {
            return Err(TopicError::NotACommand);
        }
        if zone == "all" && param.is_none() {
            return Ok(Inbound::AllSet);
        }
        if zone == "realtime" && param.is_none() {
            return Ok(Inbound::RealtimeSet);
        }
        let z = self
            .zone_ids
            .iter()
            .position(|id| id == zone)
            .ok_or_else(|| TopicError::UnknownZone(zone.chars().take(64).collect()))?;
        match param {
            None => Ok(Inbound::ZoneSet(z)),
            Some(p) => ParamId::parse(p)
                .map(|p| Inbound::ParamSet(z, p))
                .ok_or_else(|| TopicError::UnknownParam(p.chars().take(64).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn topics() -> Topics {
        let c = Config::from_toml(
            "[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\n",
        )
        .unwrap();
        Topics::new("diuna", "dev", "homeassistant", &c.layout)
    }

    #[test]
    fn parses_every_inbound_topic() {
        let t = topics();
        let cases = [
            ("diuna/dev/floor/set", Ok(Inbound::ZoneSet(0))),
            ("diuna/dev/all/set", Ok(Inbound::AllSet)),
            ("diuna/dev/set", Ok(Inbound::DeviceSet)),
            (
                "diuna/dev/floor/speed/set",
                Ok(Inbound::ParamSet(0, ParamId::Speed)),
            ),
            ("homeassistant/status", Ok(Inbound::HaStatus)),
            ("diuna/dev/instance", Ok(Inbound::Instance)),
            ("homeassistant/light/dev/old/config", Ok(Inbound::Discovery)),
            (
                "diuna/dev/attic/set",
                Err(TopicError::UnknownZone("attic".into())),
            ),
            (
                "diuna/dev/floor/warp/set",
                Err(TopicError::UnknownParam("warp".into())),
            ),
            ("diuna/dev/floor/state", Err(TopicError::NotACommand)),
            ("diuna/dev/a/b/c/set", Err(TopicError::NotACommand)),
            ("other/dev/floor/set", Err(TopicError::NotACommand)),
        ];
        for (topic, want) in cases {
            assert_eq!(t.parse(topic), want, "{topic}");
        }
    }

    #[test]
    fn knows_which_state_topics_are_current() {
        let t = topics();
        assert!(t.is_current_state("diuna/dev/floor/state"));
        assert!(t.is_current_state("diuna/dev/floor/speed/state"));
        assert!(t.is_current_state("diuna/dev/state"));
        assert!(!t.is_current_state("diuna/dev/attic/state"));
        assert!(!t.is_current_state("diuna/dev/attic/speed/state"));
        // The topics built once are each parameter's own (indexed by the enum's order).
        for p in ParamId::ALL {
            assert_eq!(
                t.param_state(0, p),
                format!("diuna/dev/{}/{}/state", t.zone_ids[0], p.name())
            );
        }
        assert_eq!(t.zone_state(0), "diuna/dev/floor/state");
    }

    #[test]
    fn never_subscribes_to_own_state() {
        for (s, _) in topics().subscriptions() {
            assert!(!s.ends_with("/state"), "{s}");
        }
        let filters = topics().filters();
        assert!(filters.iter().all(|f| f.qos == QoS::AtLeastOnce));
        let no_local: Vec<_> = filters
            .iter()
            .filter(|f| f.nolocal)
            .map(|f| &f.path)
            .collect();
        assert_eq!(
            no_local,
            ["diuna/dev/instance", "homeassistant/+/dev/+/config"]
        );
    }
}
