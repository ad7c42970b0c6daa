//! Realtime input in Home Assistant: the `binary_sensor` "Realtime active", the `sensor` "Realtime
//! source" (address, protocol, FPS as attributes), the `select` "Realtime override", the `realtime`
//! effect on streamed zones, and their topics `B/realtime/set` (in) and `B/realtime/state` (out).
//!
//! While a stream shows on a zone its light reports `"state":"ON","effect":"realtime"` (the zone's own
//! state is untouched underneath and comes back when the stream stops). `realtime` is in a zone's
//! effect list while a stream feeds it (discovery is re-published when that changes); choosing it lets
//! the stream back onto a zone the user had taken over. Only entities and payloads live here; the
//! bridge loop calls in with a few lines.

use serde_json::{Value, json};

use super::MqttBridge;
use super::discovery::Discovery;
use super::light::{self, CommandError, StateJson};
use super::outbox::Outbox;
use super::topics::Topics;
use crate::config::Config;
use crate::engine::stream_frame::{Override, RealtimeStatus, StreamCommand};
use crate::engine::{Command, ZoneState};

/// The effect name a streamed zone reports and accepts.
pub const EFFECT: &str = "realtime";

/// What the bridge remembers to render realtime state.
#[derive(Debug)]
pub struct RealtimeView {
    enabled: bool,
    status: RealtimeStatus,
    /// Each zone's last known state, to re-publish it when the stream starts or stops.
    zones: Vec<Option<ZoneState>>,
}

impl RealtimeView {
    pub fn new(config: &Config) -> Self {
        let n = config.layout.zones.len();
        RealtimeView {
            enabled: config.realtime.enabled,
            status: RealtimeStatus::idle(n),
            zones: vec![None; n],
        }
    }

    /// A zone's light state, showing the stream when it shows there.
    pub fn zone_state(&mut self, z: usize, st: &ZoneState) -> StateJson<'static> {
        let mut v = StateJson::of(st);
        if self.enabled {
            self.zones[z] = Some(st.clone());
            if self.status.active.get(z).copied().unwrap_or(false) {
                v.state = "ON";
                v.effect = EFFECT;
            }
        }
        v
    }

    /// Adds `realtime` to the effect list of `d` when it is the light of a zone a stream feeds.
    pub fn patch_discovery(&self, d: &mut Discovery, t: &Topics) {
        for (z, _) in self.status.feeding.iter().enumerate().filter(|(_, f)| **f) {
            if d.topic == t.discovery("light", &t.zone_ids[z])
                && let Some(effects) = d.payload["effect_list"].as_array_mut()
            {
                effects.push(json!(EFFECT));
            }
        }
    }
}

/// `B/realtime/state`.
pub fn state_topic(t: &Topics) -> String {
    format!("{}/realtime/state", t.base)
}

/// The JSON on `B/realtime/state`.
pub fn status_json(s: &RealtimeStatus, zone_ids: &[String]) -> Value {
    let zones: Vec<&str> = zone_ids
        .iter()
        .zip(&s.active)
        .filter(|(_, a)| **a)
        .map(|(id, _)| id.as_str())
        .collect();
    let source = s.source.map(|src| {
        format!(
            "{} ({}, {:.0} fps)",
            src.addr.ip(),
            src.protocol.label(),
            s.fps
        )
    });
    json!({
        "active": s.any_active(),
        "override": s.mode.name(),
        "source": source.unwrap_or_else(|| "none".into()),
        "address": s.source.map(|src| src.addr.to_string()),
        "protocol": s.source.map(|src| src.protocol),
        "fps": (s.fps * 10.0).round() / 10.0,
        "zones": zones,
    })
}

/// Parses the override select's command (its option text).
pub fn parse_override(payload: &[u8]) -> Result<Command, CommandError> {
    let text = std::str::from_utf8(payload).map_err(|e| CommandError::NotJson(e.to_string()))?;
    let text = text.trim().trim_matches('"');
    Override::parse(text)
        .map(|o| Command::Stream(StreamCommand::Override(o)))
        .ok_or_else(|| CommandError::Field {
            field: "realtime",
            reason: format!(
                "expected one of {:?}, got \"{}\"",
                Override::ALL.map(Override::name),
                text.chars().take(64).collect::<String>()
            ),
        })
}

/// A zone light command choosing effect `realtime`: the rest of the command applies, then the stream
/// is let back onto the zone. `None` when the command does not choose it.
pub fn zone_command(
    payload: &[u8],
    z: usize,
    enabled: bool,
) -> Option<Result<Command, CommandError>> {
    if !enabled {
        return None;
    }
    let mut m = light::parse_object(payload).ok()?;
    if m.get("effect").and_then(Value::as_str) != Some(EFFECT) {
        return None;
    }
    m.remove("effect");
    let rest = Value::Object(m).to_string();
    Some(
        light::parse_command(rest.as_bytes())
            .map(|cmd| Command::Stream(StreamCommand::Allow { zone: z, cmd })),
    )
}

/// The realtime entities (when `[realtime]` is enabled), through discovery's `push(component, object,
/// payload)`.
pub fn discovery(config: &Config, t: &Topics, push: &mut dyn FnMut(&str, &str, Value)) {
    if !config.realtime.enabled {
        return;
    }
    let state = state_topic(t);
    push(
        "binary_sensor",
        "realtime_active",
        json!({
            "name": "Realtime active",
            "state_topic": state,
            "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "running",
        }),
    );
    push(
        "sensor",
        "realtime_source",
        json!({
            "name": "Realtime source",
            "state_topic": state,
            "value_template": "{{ value_json.source }}",
            "json_attributes_topic": state,
            "json_attributes_template": "{{ {'address': value_json.address, 'protocol': value_json.protocol, 'fps': value_json.fps, 'zones': value_json.zones} | tojson }}",
            "icon": "mdi:led-strip-variant",
        }),
    );
    push(
        "select",
        "realtime_override",
        json!({
            "name": "Realtime override",
            "command_topic": format!("{}/realtime/set", t.base),
            "state_topic": state,
            "value_template": "{{ value_json.override }}",
            "options": Override::ALL.map(Override::name),
            "entity_category": "config",
        }),
    );
}

impl MqttBridge {
    /// A new realtime status: publish it, and re-publish what it changes (zone states, effect lists).
    pub(super) fn on_realtime(&mut self, out: &Outbox, s: RealtimeStatus) {
        let old = std::mem::replace(&mut self.realtime.status, s);
        if old.feeding != self.realtime.status.feeding {
            self.publish_discovery(out);
        }
        let changed: Vec<usize> = (0..old.active.len())
            .filter(|&z| old.active[z] != self.realtime.status.active[z])
            .collect();
        for z in changed {
            if let Some(st) = self.realtime.zones[z].clone() {
                self.publish_zone(out, z, &st);
            }
        }
        self.publish_realtime(out);
    }

    /// Publishes `B/realtime/state` (retained) when enabled.
    pub(super) fn publish_realtime(&mut self, out: &Outbox) {
        if !self.realtime.enabled {
            return;
        }
        let payload = status_json(&self.realtime.status, &self.topics.zone_ids).to_string();
        let topic = state_topic(&self.topics);
        self.publish_state(out, &topic, payload.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::color::Rgb;
    use crate::engine::stream_frame::{Protocol, Source};

    fn config() -> Config {
        Config::from_toml(
            "device_id=\"dev\"\n[realtime]\nenabled=true\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nstrip=\"a\"\npixels=3\n[[zones]]\nid=\"desk\"\nstrip=\"a\"\npixels=3\n",
        )
        .unwrap()
    }

    #[test]
    fn streamed_zone_reports_realtime_and_its_own_state_otherwise() {
        let c = config();
        let mut v = RealtimeView::new(&c);
        let st = ZoneState::new(Rgb::new(1, 2, 3), 100, false, None);
        assert_eq!(v.zone_state(0, &st).state, "OFF");
        v.status.active[0] = true;
        let s = v.zone_state(0, &st).to_value();
        assert_eq!(
            (s["state"].as_str(), s["effect"].as_str()),
            (Some("ON"), Some("realtime"))
        );
        assert_eq!(v.zone_state(1, &st).effect, "off");
    }

    #[test]
    fn effect_list_has_realtime_only_while_fed() {
        let c = config();
        let t = Topics::new("diuna", "dev", "homeassistant", &c.layout);
        let mut v = RealtimeView::new(&c);
        let has = |v: &RealtimeView| {
            let mut all = super::super::discovery::all(&c, &t);
            all.iter_mut().for_each(|d| v.patch_discovery(d, &t));
            all.iter()
                .filter(|d| d.topic.contains("/light/"))
                .map(|d| {
                    d.payload["effect_list"]
                        .as_array()
                        .is_some_and(|l| l.contains(&json!("realtime")))
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(has(&v), vec![false, false, false]);
        v.status.feeding[1] = true;
        assert_eq!(has(&v), vec![false, true, false], "floor, desk, all");
    }

    #[test]
    fn status_and_commands() {
        let c = config();
        let mut s = RealtimeStatus::idle(2);
        let j = status_json(&s, &["floor".into(), "desk".into()]);
        assert_eq!(
            (j["active"].as_bool(), j["source"].as_str()),
            (Some(false), Some("none"))
        );
        s.active[1] = true;
        s.source = Some(Source {
            protocol: Protocol::E131,
            addr: SocketAddr::from(([192, 168, 1, 9], 5568)),
        });
        s.fps = 59.96;
        let j = status_json(&s, &["floor".into(), "desk".into()]);
        assert_eq!(j["source"], "192.168.1.9 (E1.31, 60 fps)");
        assert_eq!(j["protocol"], "e131");
        assert_eq!(j["zones"], json!(["desk"]));
        assert!(matches!(
            parse_override(b"ignore now"),
            Ok(Command::Stream(StreamCommand::Override(
                Override::IgnoreNow
            )))
        ));
        assert!(parse_override(b"later").is_err());
        assert!(zone_command(br#"{"effect":"rainbow"}"#, 0, true).is_none());
        assert!(zone_command(br#"{"effect":"realtime"}"#, 0, false).is_none());
        let allow = zone_command(
            br#"{"state":"ON","effect":"realtime"}"#,
            1,
            c.realtime.enabled,
        );
        match allow {
            Some(Ok(Command::Stream(StreamCommand::Allow { zone: 1, cmd }))) => {
                assert_eq!(cmd.on, Some(true))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            zone_command(br#"{"effect":"realtime","brightness":300}"#, 0, true),
            Some(Err(_))
        ));
    }
}
