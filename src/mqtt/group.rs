//! The sync group in MQTT: `<base_topic>/group/<name>/set` commands applied by every member on the same
//! frame, one Home Assistant light for the whole group, and its state.
//!
//! A group command is a JSON-schema light command (to every zone, like `B/all/set`) plus `"at"`: Unix
//! seconds at which to apply it. Home Assistant's group light sends no `at`; every member that reads
//! such a command stamps it (`at` = now + `[sync] lead`, default 300 ms) and publishes the stamped copy
//! to the same topic, applying only stamped copies. All members receive the same stamped copies and
//! hold each until the first frame at or after its `at`, so they change on the same frame; a duplicate
//! stamp re-applies the same state on the same frame everywhere, which changes nothing. A stamp more
//! than 10 s away from this device's clock is rejected: the clocks are not synchronised (NTP/chrony).

use std::time::{SystemTime, UNIX_EPOCH};

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Filter, Publish};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::MqttBridge;
use super::light::{
    self, CommandError, FLASH_LONG, FLASH_SHORT, MAX_KELVIN, MIN_KELVIN, StateJson,
};
use super::outbox::{Item, Outbox};
use crate::config::Config;
use crate::engine::sync::{SyncCommand, instant_at};
use crate::engine::{Command, MasterState, Target, ZoneState};

/// How far an `at` may be from this device's clock.
const MAX_SKEW_S: f64 = 10.0;

/// What a group message asks for.
#[derive(Debug, PartialEq)]
pub enum GroupMessage {
    /// No `at` yet: publish this stamped payload to the group topic.
    Stamp(String),
    /// Apply at Unix time `at`.
    Apply {
        at: f64,
        cmd: crate::engine::LightCommand,
    },
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Parses a group command, validating the light part all-or-nothing.
pub fn parse(payload: &[u8], lead_s: f64, now: f64) -> Result<GroupMessage, CommandError> {
    let mut m = light::parse_object(payload)?;
    let at = m.remove("at");
    let cmd = light::parse_command(Value::Object(m.clone()).to_string().as_bytes())?;
    match at {
        None => {
            m.insert(
                "at".into(),
                json!(((now + lead_s) * 1000.0).round() / 1000.0),
            );
            Ok(GroupMessage::Stamp(Value::Object(m).to_string()))
        }
        Some(v) => {
            let at = v.as_f64().ok_or_else(|| CommandError::Field {
                field: "at",
                reason: format!("expected Unix seconds, got {v}"),
            })?;
            if (at - now).abs() > MAX_SKEW_S {
                return Err(CommandError::Field {
                    field: "at",
                    reason: format!(
                        "{at} is {:.1} s from this device's clock; are the members' clocks synchronised (NTP/chrony)?",
                        at - now
                    ),
                });
            }
            Ok(GroupMessage::Apply { at, cmd })
        }
    }
}

/// What the bridge keeps for the group light's state.
#[derive(Debug, Default)]
pub struct GroupView {
    set: Option<String>,
    state: Option<String>,
    zone0: Option<ZoneState>,
    master: MasterState,
    any_on: bool,
}

impl GroupView {
    pub fn new(config: &Config) -> Self {
        let topic = |end: &str| {
            config
                .sync
                .group
                .as_ref()
                .map(|g| format!("{}/group/{g}/{end}", config.mqtt.base_topic))
        };
        GroupView {
            set: topic("set"),
            state: topic("state"),
            ..Default::default()
        }
    }

    pub fn is_set_topic(&self, topic: &str) -> bool {
        self.set.as_deref() == Some(topic)
    }

    pub fn on_zone(&mut self, z: usize, st: &ZoneState) {
        if z == 0 && self.state.is_some() {
            self.zone0 = Some(st.clone());
        }
    }

    pub fn on_master(&mut self, master: MasterState, any_on: bool) {
        self.master = master;
        self.any_on = any_on;
    }

    /// The group light's state: the first zone's colour and effect, the master's brightness.
    fn state_json(&self) -> Option<StateJson<'static>> {
        let mut v = StateJson::of(self.zone0.as_ref()?);
        v.state = if self.any_on { "ON" } else { "OFF" };
        v.brightness = self.master.brightness.max(1);
        Some(v)
    }
}

/// The group's light (identical from every member, so Home Assistant sees one entity).
pub fn discovery(config: &Config, prefix: &str) -> Option<super::discovery::Discovery> {
    let g = config.sync.group.as_ref()?;
    let base = format!("{}/group/{g}", config.mqtt.base_topic);
    Some(super::discovery::Discovery {
        topic: format!("{prefix}/light/diuna_group_{g}/light/config"),
        payload: json!({
            "name": null,
            "unique_id": format!("diuna_group_{g}"),
            "schema": "json",
            "command_topic": format!("{base}/set"),
            "state_topic": format!("{base}/state"),
            "qos": 1,
            "brightness": true,
            "brightness_scale": 255,
            "supported_color_modes": ["hs", "rgb", "color_temp"],
            "color_temp_kelvin": true,
            "min_kelvin": MIN_KELVIN,
            "max_kelvin": MAX_KELVIN,
            "effect": true,
            "effect_list": light::effect_list(),
            "flash_time_short": FLASH_SHORT,
            "flash_time_long": FLASH_LONG,
            "device": {
                "identifiers": [format!("diuna_group_{g}")],
                "name": format!("Diuna group {g}"),
                "manufacturer": "Diuna",
                "model": "Diuna sync group",
            },
            "origin": {"name": "diuna", "sw_version": env!("CARGO_PKG_VERSION")},
        }),
    })
}

impl MqttBridge {
    /// The group's command topic, to subscribe to on every connection (not "no local": a member
    /// applies the stamped copies it publishes itself).
    pub(super) fn group_filter(&self) -> Option<Filter> {
        self.group
            .set
            .as_ref()
            .map(|t| Filter::new(t, QoS::AtLeastOnce))
    }

    /// A message on the group's command topic.
    pub(super) async fn on_group(
        &mut self,
        out: &Outbox,
        topic: &str,
        p: &Publish,
        stop: &CancellationToken,
    ) {
        if p.retain || p.payload.is_empty() || p.payload.len() > super::MAX_PAYLOAD {
            return;
        }
        let lead = self.config.sync.lead.as_secs_f64();
        match parse(&p.payload, lead, now_unix()) {
            Ok(GroupMessage::Stamp(stamped)) => out.control(Item::Publish {
                topic: topic.to_string(),
                payload: stamped.into_bytes(),
                qos: QoS::AtLeastOnce,
                retain: false,
            }),
            Ok(GroupMessage::Apply { at, cmd }) => {
                let cmd = Command::Sync(SyncCommand::At {
                    at: instant_at(at),
                    cmd: Box::new(Command::Light(Target::All, cmd)),
                });
                if super::inbound::deliver(&self.engine, cmd, Some(stop))
                    .await
                    .is_ok()
                {
                    self.counters.commands_handled += 1;
                }
            }
            Err(e) => self.reject(out, topic, &e.to_string(), &p.payload),
        }
    }

    /// Publishes the group light's state (retained; every member publishes the same).
    pub(super) fn publish_group(&mut self, out: &Outbox) {
        // Without a sync group there is no group light: nothing to build.
        if let (Some(topic), Some(v)) = (&self.group.state, self.group.state_json()) {
            let topic = topic.clone();
            self.publish_light(out, &topic, &v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstamped_commands_are_stamped_and_stamped_ones_applied() {
        let now = 1_800_000_000.0;
        match parse(br#"{"state":"ON","color":{"r":1,"g":2,"b":3}}"#, 0.3, now).unwrap() {
            GroupMessage::Stamp(s) => {
                let v: Value = serde_json::from_str(&s).unwrap();
                assert_eq!(v["at"], json!(now + 0.3));
                assert_eq!(v["state"], "ON");
                match parse(s.as_bytes(), 0.3, now).unwrap() {
                    GroupMessage::Apply { at, cmd } => {
                        assert_eq!(at, now + 0.3);
                        assert_eq!(cmd.on, Some(true));
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_group_commands_are_rejected_whole() {
        let now = 1_800_000_000.0;
        assert!(parse(br#"{"brightness":999}"#, 0.3, now).is_err());
        assert!(parse(br#"{"state":"ON","at":"soon"}"#, 0.3, now).is_err());
        let far = format!(r#"{{"state":"ON","at":{}}}"#, now + 60.0);
        let e = parse(far.as_bytes(), 0.3, now).unwrap_err().to_string();
        assert!(e.contains("NTP"), "{e}");
    }

    #[test]
    fn one_group_light_outside_the_member_device() {
        let c = Config::from_toml(
            "device_id=\"dev\"\n[sync]\ngroup=\"party\"\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=3\n",
        )
        .unwrap();
        let d = discovery(&c, "homeassistant").unwrap();
        assert_eq!(
            d.topic,
            "homeassistant/light/diuna_group_party/light/config"
        );
        assert_eq!(d.payload["command_topic"], "diuna/group/party/set");
        assert_eq!(d.payload["unique_id"], "diuna_group_party");
        assert!(d.payload.get("availability_topic").is_none());
        assert!(GroupView::new(&c).is_set_topic("diuna/group/party/set"));
    }
}
