//! The MQTT bridge: maps the engine's commands and events onto the topics of SPEC §6 and makes every
//! zone a Home Assistant light.
//!
//! One task runs the bridge loop; a second only polls rumqttc (see `connection.rs`). Incoming messages
//! are parsed into typed engine commands here and nowhere else; bad input is answered on `B/error` and in
//! the log, and never reaches the engine. Outgoing state is published retained, only when its payload
//! changed, with `try_publish` so a slow broker can never block this loop, let alone the render loop.
//! On every (re)connection: subscribe, `online`, discovery, then every current state.

pub mod connection;
pub mod device;
pub mod discovery;
pub mod health;
pub mod light;
pub mod scenes;
pub mod topics;

use std::collections::HashMap;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event as MqttEvent, Packet, Publish, QoS};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::effects::ParamId;
use crate::engine::{Command, EngineHandle, Event, SendError, Snapshot, Target, ZoneState};
use crate::supervisor::Restarts;
use connection::Notification;
use health::BridgeCounters;
use light::CommandError;
use topics::{Inbound, Topics};

/// Payloads larger than this are rejected unread (SPEC §6).
pub const MAX_PAYLOAD: usize = 16 * 1024;
/// How often `B/health` is published.
const HEALTH_EVERY: Duration = Duration::from_secs(30);

/// The bridge's configuration and state; consumed by [`MqttBridge::run`].
pub struct MqttBridge {
    config: Config,
    topics: Topics,
    engine: EngineHandle,
    counters: BridgeCounters,
    /// Last payload published per retained topic (publish only on change).
    published: HashMap<String, String>,
    /// Topics of our current discovery messages (anything else retained under our device is stale).
    discovery_topics: HashSet<String>,
    connected: bool,
    started: Instant,
    restarts: Restarts,
}

/// Why the bridge stopped (the supervisor restarts it).
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error(transparent)]
    Setup(#[from] connection::SetupError),
    #[error("the MQTT event loop ended")]
    EventLoopEnded,
    #[error("the render loop has stopped")]
    EngineGone,
}

impl MqttBridge {
    pub fn new(config: &Config, engine: EngineHandle, restarts: Restarts) -> Self {
        let topics = Topics::new(
            &config.mqtt.base_topic,
            &config.device_id,
            &config.mqtt.discovery_prefix,
            &config.layout,
        );
        let discovery_topics = discovery::all(config, &topics)
            .into_iter()
            .map(|d| d.topic)
            .chain(scenes::library_topics(&topics))
            .collect();
        MqttBridge {
            config: config.clone(),
            topics,
            engine,
            counters: BridgeCounters::default(),
            published: HashMap::new(),
            discovery_topics,
            connected: false,
            started: Instant::now(),
            restarts,
        }
    }

    /// Runs until `stop` is cancelled, then publishes `offline` and disconnects.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), MqttError> {
        let opts = connection::options(&self.config.mqtt, &self.topics.availability)?;
        tracing::info!(host = %self.config.mqtt.host, port = self.config.mqtt.port, base = %self.topics.base, "MQTT connecting");
        let (client, mut notes) = connection::start(opts, self.config.mqtt.reconnect_max);
        let mut events = self.engine.subscribe();
        let mut health = tokio::time::interval(HEALTH_EVERY);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let far = Duration::from_secs(86400 * 365);
        let rediscover = tokio::time::sleep(far);
        tokio::pin!(rediscover);
        let mut last_error: Option<String> = None;
        let result = loop {
            tokio::select! {
                _ = stop.cancelled() => break Ok(()),
                note = notes.recv() => match note {
                    Some(Notification::Event(MqttEvent::Incoming(Packet::ConnAck(_)))) => {
                        if last_error.take().is_some() {
                            self.counters.reconnects += 1;
                        }
                        tracing::info!("MQTT connected");
                        self.connected = true;
                        self.on_connect(&client).await;
                    }
                    Some(Notification::Event(MqttEvent::Incoming(Packet::Publish(p)))) => {
                        if self.on_publish(&client, &p) {
                            // Home Assistant came online: re-announce after a short random delay.
                            let jitter = Duration::from_millis(500 + (std::process::id() as u64 * 7919) % 1500);
                            rediscover.as_mut().reset(tokio::time::Instant::now() + jitter);
                        }
                    }
                    Some(Notification::Event(_)) => {}
                    Some(Notification::Error(e)) => {
                        self.connected = false;
                        let text = e.to_string();
                        if last_error.as_deref() != Some(text.as_str()) {
                            tracing::warn!(error = %text, "MQTT connection lost or refused; retrying with backoff");
                            last_error = Some(text);
                        }
                    }
                    None => break Err(MqttError::EventLoopEnded),
                },
                ev = events.recv() => match ev {
                    Ok(ev) => self.on_event(&client, ev),
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "MQTT bridge fell behind the event bus; republishing all state");
                        self.publish_all_state(&client).await;
                    }
                    Err(RecvError::Closed) => break Err(MqttError::EngineGone),
                },
                _ = health.tick() => self.publish_health(&client).await,
                _ = &mut rediscover => {
                    rediscover.as_mut().reset(tokio::time::Instant::now() + far);
                    if self.connected {
                        tracing::info!("Home Assistant restarted: re-publishing discovery and state");
                        // Home Assistant forgot everything: send it all again, not only what changed.
                        self.published.clear();
                        self.publish_discovery(&client);
                        self.publish_all_state(&client).await;
                    }
                }
            }
        };
        self.goodbye(&client, &mut notes).await;
        result
    }

    /// Publishes `offline`, disconnects and waits (bounded) for both to leave.
    async fn goodbye(
        &mut self,
        client: &AsyncClient,
        notes: &mut tokio::sync::mpsc::Receiver<Notification>,
    ) {
        if !self.connected {
            return;
        }
        let _ = client.try_publish(&self.topics.availability, QoS::AtLeastOnce, true, "offline");
        let _ = client.try_disconnect();
        let wait = async {
            while let Some(n) = notes.recv().await {
                match n {
                    Notification::Event(MqttEvent::Outgoing(rumqttc::Outgoing::Disconnect))
                    | Notification::Error(_) => {
                        break;
                    }
                    _ => {}
                }
            }
        };
        if tokio::time::timeout(Duration::from_millis(900), wait)
            .await
            .is_err()
        {
            tracing::warn!("MQTT disconnect timed out");
        } else {
            tracing::info!("MQTT offline published, disconnected");
        }
    }

    async fn on_connect(&mut self, client: &AsyncClient) {
        for t in self.topics.subscriptions() {
            if let Err(e) = client.try_subscribe(&t, QoS::AtLeastOnce) {
                tracing::error!(topic = %t, error = %e, "cannot queue subscription");
            }
        }
        // A clean session: nothing we published before survives in our cache's sense.
        self.published.clear();
        self.publish(
            client,
            &self.topics.availability.clone(),
            "online".into(),
            true,
        );
        self.publish_discovery(client);
        self.publish_all_state(client).await;
        self.publish_health(client).await;
    }

    fn publish_discovery(&mut self, client: &AsyncClient) {
        for d in discovery::all(&self.config, &self.topics) {
            self.publish(client, &d.topic, d.payload.to_string(), true);
        }
    }

    async fn publish_all_state(&mut self, client: &AsyncClient) {
        match self.engine.snapshot().await {
            Ok(s) => self.publish_snapshot(client, &s),
            Err(e) => tracing::warn!(error = %e, "no snapshot to publish"),
        }
    }

    fn publish_snapshot(&mut self, client: &AsyncClient, s: &Snapshot) {
        for (z, st) in s.zones.iter().enumerate() {
            self.publish_zone(client, z, st);
        }
        let any_on = s.zones.iter().any(|z| z.on);
        let all = light::master_json(&s.master, any_on).to_string();
        self.publish(client, &self.topics.all_state.clone(), all, true);
        let dev = device::device_json(&s.device, s.preset, &self.topics.zone_ids).to_string();
        self.publish(client, &self.topics.device_state.clone(), dev, true);
        self.publish_library(client, &s.device);
    }

    /// The scene and playlist selects follow the library (published only when their options changed).
    fn publish_library(&mut self, client: &AsyncClient, s: &crate::engine::DeviceState) {
        for d in scenes::library_entities(&self.config, &self.topics, s) {
            self.publish(client, &d.topic, d.payload.to_string(), true);
        }
    }

    fn publish_zone(&mut self, client: &AsyncClient, z: usize, st: &ZoneState) {
        let topic = self.topics.zone_state(z);
        let mut state = light::state_json(st);
        scenes::add_palette(&mut state, st, &self.config.library.palettes);
        self.publish(client, &topic, state.to_string(), true);
        let params = st.current_params();
        for p in ParamId::ALL {
            let topic = self.topics.param_state(z, p);
            self.publish(client, &topic, format!("{}", params.get(p)), true);
        }
    }

    async fn publish_health(&mut self, client: &AsyncClient) {
        if !self.connected {
            return;
        }
        if let Ok(stats) = self.engine.stats().await {
            let mut h = health::health_json(&stats, &self.counters, self.started);
            h["task_restarts"] = json!(self.restarts.snapshot());
            let h = h.to_string();
            let _ = client.try_publish(&self.topics.health, QoS::AtMostOnce, true, h);
        }
    }

    /// Publishes `payload` unless it is what this topic already carries (retained topics only).
    fn publish(&mut self, client: &AsyncClient, topic: &str, payload: String, retain: bool) {
        if retain && self.published.get(topic) == Some(&payload) {
            return;
        }
        if !self.connected {
            return;
        }
        match client.try_publish(topic, QoS::AtLeastOnce, retain, payload.clone()) {
            Ok(()) => {
                if retain {
                    self.published.insert(topic.to_string(), payload);
                }
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "MQTT publish dropped (queue full); it is re-sent on reconnect")
            }
        }
    }

    fn on_event(&mut self, client: &AsyncClient, ev: Event) {
        match ev {
            Event::Zone { zone, state } => self.publish_zone(client, zone, &state),
            Event::Master { state, any_on } => {
                let all = light::master_json(&state, any_on).to_string();
                self.publish(client, &self.topics.all_state.clone(), all, true);
            }
            Event::Device { state, preset } => {
                let dev = device::device_json(&state, preset, &self.topics.zone_ids).to_string();
                self.publish(client, &self.topics.device_state.clone(), dev, true);
                self.publish_library(client, &state);
            }
            Event::Rejected(reason) => {
                let topic = self.topics.device_set.clone();
                self.reject(client, &topic, &reason, &[]);
            }
            Event::Input(json) => {
                if self.connected {
                    let _ = client.try_publish(&self.topics.event, QoS::AtMostOnce, false, json);
                }
            }
            Event::FirstFrame => {}
        }
    }

    /// Handles one incoming message; returns true when Home Assistant announced it is online.
    fn on_publish(&mut self, client: &AsyncClient, p: &Publish) -> bool {
        let inbound = match self.topics.parse(&p.topic) {
            Ok(i) => i,
            Err(e) => {
                self.reject(client, &p.topic, &e.to_string(), &p.payload);
                return false;
            }
        };
        match inbound {
            Inbound::HaStatus => return p.payload.as_ref() == b"online",
            Inbound::Discovery => {
                // A retained entity of ours that the config no longer has: remove it from Home Assistant.
                if p.retain
                    && !p.payload.is_empty()
                    && !self.discovery_topics.contains(p.topic.as_str())
                {
                    tracing::info!(topic = %p.topic, "removing the discovery entry of an entity no longer configured");
                    let _ = client.try_publish(p.topic.clone(), QoS::AtLeastOnce, true, Vec::new());
                }
                return false;
            }
            _ => {}
        }
        if p.payload.is_empty() {
            // Clearing a retained command (`mosquitto_pub -r -n`) is housekeeping, not a command.
            tracing::debug!(topic = %p.topic, "ignoring an empty command");
            return false;
        }
        if p.retain {
            // A stale retained command must never switch lights by itself after a restart.
            tracing::info!(topic = %p.topic, "ignoring a retained command");
            return false;
        }
        if p.payload.len() > MAX_PAYLOAD {
            let reason = format!(
                "payload of {} bytes is over the {} byte limit",
                p.payload.len(),
                MAX_PAYLOAD
            );
            self.reject(client, &p.topic, &reason, &[]);
            return false;
        }
        let cmd: Result<Command, CommandError> = match inbound {
            Inbound::ZoneSet(z) => light::parse_command(&p.payload)
                .and_then(|c| scenes::with_palette(c, &p.payload, &self.config.library.palettes))
                .map(|c| Command::Light(Target::Zone(z), c)),
            Inbound::AllSet => light::parse_command(&p.payload)
                .and_then(|c| scenes::with_palette(c, &p.payload, &self.config.library.palettes))
                .map(|c| Command::Light(Target::All, c)),
            Inbound::ParamSet(z, param) => {
                parse_param(&p.payload, param).map(|value| Command::Param {
                    zone: z,
                    param,
                    value,
                })
            }
            Inbound::DeviceSet => scenes::parse_set(
                &p.payload,
                &self.topics.zone_ids,
                self.config.lamp_zone.is_some(),
                &self.config.library,
            ),
            Inbound::HaStatus | Inbound::Discovery => return false,
        };
        match cmd {
            Ok(cmd) => match self.engine.send(cmd) {
                Ok(()) => self.counters.commands_handled += 1,
                Err(SendError::Full) => self.reject(
                    client,
                    &p.topic,
                    "the device is busy; try again",
                    &p.payload,
                ),
                Err(SendError::Stopped) => {}
            },
            Err(e) => self.reject(client, &p.topic, &e.to_string(), &p.payload),
        }
        false
    }

    /// Reports a rejected command on `B/error` and in the log.
    fn reject(&mut self, client: &AsyncClient, topic: &str, reason: &str, payload: &[u8]) {
        self.counters.commands_rejected += 1;
        let excerpt: String =
            String::from_utf8_lossy(&payload[..payload.len().min(64)]).into_owned();
        tracing::warn!(topic, reason, excerpt = %excerpt, "rejected MQTT command");
        if self.connected {
            let msg = json!({"topic": topic, "reason": reason, "excerpt": excerpt}).to_string();
            let _ = client.try_publish(&self.topics.error, QoS::AtMostOnce, false, msg);
        }
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
