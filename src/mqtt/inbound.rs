//! Incoming messages: topic → typed [`Inbound`] → validated engine [`Command`], or a rejection on
//! `B/error` and in the log (escaped, rate-limited: see `report.rs`).
//!
//! A command is never dropped for being one too many: when the render loop's queue is full, the bridge
//! waits for room ([`deliver`]), which stops it reading from rumqttc, which stops rumqttc reading the
//! socket, so the broker holds the rest (TCP backpressure) instead of Diuna dropping commands' effects.

use std::time::{Duration, Instant};

use rumqttc::v5::mqttbytes::v5::Publish;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::light::{self, CommandError};
use super::outbox::Outbox;
use super::presence::{Heard, Sign};
use super::topics::Inbound;
use super::{MAX_PAYLOAD, MqttBridge, realtime, report, scenes};
use crate::effects::ParamId;
use crate::engine::command::Offer;
use crate::engine::{Command, EngineHandle, LightCommand, SendError, Target};

/// Longest wait for room in the render loop's queue before a command is rejected as "busy".
const ENGINE_PATIENCE: Duration = Duration::from_secs(2);

/// Sends `cmd` to the render loop, waiting while its queue is full (up to [`ENGINE_PATIENCE`], or
/// until `stop`).
pub(super) async fn deliver(
    engine: &EngineHandle,
    mut cmd: Command,
    stop: Option<&CancellationToken>,
) -> Result<(), SendError> {
    let deadline = Instant::now() + ENGINE_PATIENCE;
    let mut pause = Duration::from_millis(1);
    loop {
        match engine.offer(cmd) {
            Ok(()) => return Ok(()),
            Err(Offer::Stopped) => return Err(SendError::Stopped),
            Err(Offer::Full(back)) => {
                if Instant::now() >= deadline || stop.is_some_and(|s| s.is_cancelled()) {
                    return Err(SendError::Full);
                }
                cmd = back;
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(8));
            }
        }
    }
}

impl MqttBridge {
    /// Handles one incoming message; returns true when Home Assistant announced it is online.
    pub(super) async fn on_publish(
        &mut self,
        out: &Outbox,
        p: &Publish,
        stop: &CancellationToken,
    ) -> bool {
        let topic = String::from_utf8_lossy(&p.topic);
        if self.group.is_set_topic(&topic) {
            self.on_group(out, &topic, p, stop).await;
            return false;
        }
        let inbound = match self.topics.parse(&topic) {
            Ok(i) => i,
            Err(e) => {
                self.reject(out, &topic, &e.to_string(), &p.payload);
                return false;
            }
        };
        match inbound {
            // A retained `online` comes from the broker's store when we subscribe, not from a restart.
            Inbound::HaStatus => return !p.retain && p.payload.as_ref() == b"online",
            Inbound::Discovery => {
                if p.retain {
                    self.note_stale(&topic, &p.payload);
                }
                return false;
            }
            Inbound::Instance => {
                self.on_instance(out, &p.payload);
                return false;
            }
            _ => {}
        }
        if p.retain {
            // A stale retained command must never switch lights by itself after a restart.
            tracing::info!(topic = %report::escape(&topic, report::TOPIC_CHARS), "ignoring a retained command");
            return false;
        }
        match self.parse_command(inbound, &p.payload) {
            Ok(cmd) => match deliver(&self.engine, cmd, Some(stop)).await {
                Ok(()) => self.counters.commands_handled += 1,
                Err(SendError::Full) => {
                    self.reject(out, &topic, "the device is busy; try again", &p.payload)
                }
                Err(SendError::Stopped) => {}
            },
            Err(reason) => self.reject(out, &topic, &reason, &p.payload),
        }
        false
    }

    fn parse_command(&self, inbound: Inbound, payload: &[u8]) -> Result<Command, String> {
        if payload.is_empty() {
            return Err(
                "empty payload: nothing to do (clearing a retained command sends one)".into(),
            );
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(format!(
                "payload of {} bytes is over the {MAX_PAYLOAD} byte limit",
                payload.len()
            ));
        }
        let cmd: Result<Command, CommandError> = match inbound {
            Inbound::ZoneSet(z) => realtime::zone_command(payload, z, self.config.realtime.enabled)
                .unwrap_or_else(|| {
                    self.light_command(payload)
                        .map(|c| Command::Light(Target::Zone(z), c))
                }),
            Inbound::RealtimeSet => realtime::parse_override(payload),
            Inbound::AllSet => self
                .light_command(payload)
                .map(|c| Command::Light(Target::All, c)),
            Inbound::ParamSet(zone, param) => {
                parse_param(payload, param).map(|value| Command::Param { zone, param, value })
            }
            Inbound::DeviceSet => scenes::parse_set(
                payload,
                &self.topics.zone_ids,
                self.config.lamp_zone.is_some(),
                &self.config.library,
            ),
            Inbound::HaStatus | Inbound::Discovery | Inbound::Instance => {
                return Err("not a command topic".into());
            }
        };
        cmd.map_err(|e| e.to_string())
    }

    /// A JSON light command with its optional `palette` key.
    fn light_command(&self, payload: &[u8]) -> Result<LightCommand, CommandError> {
        light::parse_command(payload)
            .and_then(|c| scenes::with_palette(c, payload, &self.config.library.palettes))
    }

    /// A presence announcement of another daemon with our `device_id`: a duplicate.
    fn on_instance(&mut self, out: &Outbox, payload: &[u8]) {
        if let Heard::Other { who, greeted } = self.presence.heard(payload) {
            if greeted {
                out.control(self.instance_item(self.presence.announce(false)));
            }
            self.duplicate(out, Sign::Announced(who), Instant::now());
        }
    }

    /// Reports a rejected command on `B/error` and in the log, both escaped; over the rate limit it is
    /// only counted, and reported later in one summary.
    pub(super) fn reject(&mut self, out: &Outbox, topic: &str, reason: &str, payload: &[u8]) {
        self.counters.commands_rejected += 1;
        if self.rejections.admit(Instant::now()) == report::Admit::Suppress {
            self.counters.rejections_unreported += 1;
            return;
        }
        let topic = report::escape(topic, report::TOPIC_CHARS);
        let reason = report::escape(reason, report::REASON_CHARS);
        let excerpt = report::excerpt(payload);
        tracing::warn!(topic = %topic, reason = %reason, excerpt = %excerpt, "rejected MQTT command");
        if self.connected.is_some() {
            let msg = json!({"topic": topic, "reason": reason, "excerpt": excerpt});
            out.transient(&self.topics.error, msg.to_string());
        }
    }

    /// The count of rejections not reported one by one, once their window is over.
    pub(super) fn report_suppressed(&mut self, out: &Outbox, now: Instant) {
        let Some((n, over)) = self.rejections.summary(now) else {
            return;
        };
        let reason = format!(
            "{n} more commands were rejected in the last {} s and not reported one by one \
             (at most {} per {} s are)",
            over.as_secs(),
            report::REJECTION_BURST,
            report::REJECTION_WINDOW.as_secs()
        );
        tracing::warn!(unreported = n, "{reason}");
        let msg = json!({"topic": self.topics.base, "reason": reason, "unreported": n});
        out.transient(&self.topics.error, msg.to_string());
    }
}

/// A parameter value: a plain number (what a Home Assistant `number` entity sends), checked against the
/// widest declared range.
fn parse_param(payload: &[u8], p: ParamId) -> Result<f32, CommandError> {
    let text = std::str::from_utf8(payload).map_err(|e| CommandError::NotJson(e.to_string()))?;
    let v: f64 = match serde_json::from_str::<Value>(text.trim()) {
        Ok(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        _ => {
            return Err(CommandError::Field {
                field: "value",
                reason: format!("expected a plain number for {}", p.name()),
            });
        }
    };
    let spec = p.global();
    if !spec.accepts(v as f32) {
        return Err(CommandError::Field {
            field: "value",
            reason: format!(
                "{} must be between {} and {}, got {v}",
                p.name(),
                spec.min,
                spec.max
            ),
        });
    }
    Ok(v as f32)
}
