//! The MQTT bridge: maps the engine's commands and events onto the topics of homeassistant/README.md and makes every
//! zone a Home Assistant light.
//!
//! Two tasks: the bridge loop (this file: connection events, engine events, housekeeping), which also
//! drives rumqttc's event loop (`connection.rs` says how, safely), and the sender that feeds rumqttc
//! from a coalescing outbox when it cannot take a message at once (`outbox.rs`, which also explains
//! the QoS choices). Incoming messages are parsed into typed engine commands in `inbound.rs` and
//! nowhere else; bad input is answered on `B/error` and in the log, escaped and rate-limited
//! (`report.rs`), and never reaches the engine. Outgoing state is published
//! retained, only when its payload changed (`publish.rs`); the bridge takes what the engine announced
//! before it reads the next command, and publishes each state once per turn, at its latest, so a burst of
//! commands cannot outrun its own state updates. While commands stream in (closer together than
//! 40 ms), the bridge leaves the bus alone between them and takes what it holds once the next command
//! is passed on, or 40 ms after the last (`hold.rs`): one wake-up per command instead of two. A lone
//! command's state goes out at its frame. On every (re)connection: subscribe, `online`, discovery,
//! then every current state. `presence.rs` finds a second daemon with our `device_id`.
//!
//! The bridge beats its supervisor [`Heartbeat`] only while the connection shows progress both ways:
//! something arrives from the broker at least every keep-alive (rumqttc's PINGRESP if nothing else), and
//! the outbox never waits long for rumqttc to take a message. A client wedged inside rumqttc (the
//! failure of issue 11: queue full, packet-id collision) fails one of the two, the heartbeat stops, and
//! the supervisor restarts the bridge with a fresh client.

pub mod connection;
pub mod device;
pub mod discovery;
pub mod event;
pub mod group;
pub mod health;
mod hold;
pub mod identity;
mod inbound;
pub mod light;
mod mdns;
pub mod outbox;
pub mod presence;
mod publish;
pub mod realtime;
pub mod report;
pub mod scenes;
pub mod tls;
pub mod topics;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::v5::Event as MqttEvent;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Packet;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::engine::{EngineHandle, Event};
use crate::kernel_timer::Ticker;
use crate::supervisor::{Heartbeat, Restarts, Supervisor};
use connection::{Notes, Notification, Settings};
use health::BridgeCounters;
use hold::Hold;
use outbox::{Item, Outbox};
use presence::{Presence, Sign};
use report::{Limiter, Outage};
use topics::Topics;

/// Payloads larger than this are rejected unread (homeassistant/README.md §6).
pub const MAX_PAYLOAD: usize = 16 * 1024;
/// How often `B/health` is published.
const HEALTH_EVERY: Duration = Duration::from_secs(30);
/// Housekeeping period: probe, heartbeat, summaries. Slow enough not to wake an idle daemon often.
const TICK: Duration = Duration::from_secs(5);
/// How long the supervisor lets the bridge go without a heartbeat before restarting it.
pub const STALL_LIMIT: Duration = Duration::from_secs(60);
/// The outbox may wait this long for rumqttc to take one message before the connection counts as
/// wedged.
const OUTGOING_STALL: Duration = Duration::from_secs(20);
/// After our subscriptions are confirmed (the retained discovery configs follow at once), how long to
/// wait for another daemon to answer our greeting before removing entities that look stale.
const CLEANUP_GRACE: Duration = Duration::from_secs(3);

/// The bridge's configuration and state; consumed by [`MqttBridge::run`].
pub struct MqttBridge {
    config: Arc<Config>,
    settings: Settings,
    /// Shared so that a topic can be borrowed while the bridge publishes on it.
    topics: Arc<Topics>,
    engine: EngineHandle,
    counters: BridgeCounters,
    /// Last payload published per retained topic (publish only on change).
    published: publish::Published,
    /// A buffer reused for each state payload.
    scratch: Vec<u8>,
    /// Topics of our current discovery messages (anything else retained under our device is stale).
    discovery_topics: HashSet<String>,
    /// Retained discovery messages of entities we no longer have, with the state topics they used.
    stale: Vec<publish::Stale>,
    /// The cleanup waits for the connection's SUBACK, then for [`CLEANUP_GRACE`].
    cleanup_armed: bool,
    cleanup_at: Option<Instant>,
    connected: Option<Instant>,
    /// When the broker last sent us anything (liveness of the incoming side).
    last_incoming: Instant,
    started: Instant,
    last_health: Option<Instant>,
    restarts: Restarts,
    heartbeat: Heartbeat,
    /// Where the outbox's sender task runs, so that shutdown waits for it too.
    tracker: TaskTracker,
    presence: Presence,
    rejections: Limiter,
    outage: Outage,
    /// Outbox losses already reported, and when.
    overload_reported: (u64, u64, Option<Instant>),
    realtime: realtime::RealtimeView,
    group: group::GroupView,
    /// Announced but not yet published (see [`MqttBridge::on_events`]).
    pending: publish::Pending,
}

/// Why the bridge stopped (the supervisor restarts it).
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("the render loop has stopped")]
    EngineGone,
}

impl MqttBridge {
    /// The bridge for `config`, with its `settings` already resolved; its helper tasks will run on
    /// `sup`'s tracker, and it beats `heartbeat` while the connection shows progress.
    pub fn new(
        config: &Config,
        settings: Settings,
        engine: EngineHandle,
        sup: &Supervisor,
        heartbeat: Heartbeat,
    ) -> Self {
        let topics = Topics::new(
            &config.mqtt.base_topic,
            &config.device_id,
            &config.mqtt.discovery_prefix,
            &config.layout,
        );
        let mut discovery_topics = HashSet::new();
        discovery::each(config, &topics, &mut |d| {
            discovery_topics.insert(d.topic);
        });
        discovery_topics.extend(scenes::library_topics(&topics));
        let presence = Presence::new(identity::instance_token(), &settings.client_id);
        MqttBridge {
            config: Arc::new(config.clone()),
            settings,
            topics: Arc::new(topics),
            engine,
            counters: BridgeCounters::default(),
            published: publish::Published::default(),
            scratch: Vec::new(),
            discovery_topics,
            stale: Vec::new(),
            cleanup_armed: false,
            cleanup_at: None,
            connected: None,
            last_incoming: Instant::now(),
            started: Instant::now(),
            last_health: None,
            restarts: sup.restarts.clone(),
            heartbeat,
            tracker: sup.tracker.clone(),
            presence,
            rejections: report::rejection_limiter(),
            outage: Outage::default(),
            overload_reported: (0, 0, None),
            realtime: realtime::RealtimeView::new(config),
            group: group::GroupView::new(config),
            pending: publish::Pending::new(config.layout.zones.len()),
        }
    }

    /// Runs until `stop` is cancelled, then publishes `offline` and disconnects.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), MqttError> {
        let mqtt = &self.settings.mqtt;
        tracing::info!(host = %mqtt.host, port = mqtt.port, client_id = %self.settings.client_id, base = %self.topics.base, "MQTT connecting");
        let (client, mut notes) = connection::start(&self.settings, &self.topics.availability);
        let out = Outbox::start(client, &self.tracker);
        let mut events = self.engine.subscribe();
        // A kernel timer: tokio's would wake the thread three times per tick (`kernel_timer.rs`).
        let mut tick = Ticker::every(TICK);
        let far = Duration::from_secs(86400 * 365);
        let rediscover = tokio::time::sleep(far);
        tokio::pin!(rediscover);
        // While commands stream in, the state updates they cause are taken once the next command
        // is passed on, or when the stream ends, not as each frame announces them (`hold.rs`).
        let mut hold = Hold::new();
        let result = loop {
            // Biased, in this order: what the render loop announced goes out before the next command
            // comes in, so a burst of commands cannot run ahead of its own state updates; the timers
            // (housekeeping and its heartbeat among them) come before the connection too, so a flood
            // of commands cannot starve them. Events come only from commands, inputs and timers, and
            // the timers fire seldom, so neither can starve the connection.
            tokio::select! {
                biased;
                _ = stop.cancelled() => break Ok(()),
                ev = events.recv(), if !hold.is_held() => {
                    let taken = ev.and_then(|ev| self.on_events(&out, ev, &mut events));
                    if self.after_events(&out, taken, &mut events).await.is_err() {
                        break Err(MqttError::EngineGone);
                    }
                }
                _ = hold.ended() => {}
                _ = tick.tick() => self.housekeeping(&out).await,
                _ = until(self.cleanup_at) => {
                    self.cleanup_at = None;
                    self.remove_stale(&out, Instant::now());
                }
                _ = &mut rediscover => {
                    rediscover.as_mut().reset(tokio::time::Instant::now() + far);
                    if self.connected.is_some() {
                        tracing::info!("Home Assistant restarted: re-publishing discovery and state");
                        // Home Assistant forgot everything: send it all again, not only what changed.
                        self.published.clear();
                        self.publish_discovery(&out);
                        self.publish_all_state(&out).await;
                    }
                }
                note = notes.recv() => {
                    let command = matches!(&note, Notification::Event(MqttEvent::Incoming(Packet::Publish(_))));
                    let ha_online = self.on_note(&out, note, &stop).await;
                    if command {
                        // The states held since the last command go out once this one is on its
                        // way to the LEDs (its latency first), and before the command after it.
                        if hold.is_held() {
                            let taken = self.take_events(&out, &mut events);
                            if self.after_events(&out, taken, &mut events).await.is_err() {
                                break Err(MqttError::EngineGone);
                            }
                        }
                        hold.on_command(Instant::now());
                    }
                    if ha_online {
                        // Home Assistant came online: re-announce after a short random delay.
                        let jitter = Duration::from_millis(500 + (std::process::id() as u64 * 7919) % 1500);
                        rediscover.as_mut().reset(tokio::time::Instant::now() + jitter);
                    }
                },
            }
        };
        self.goodbye(&out, &mut notes).await;
        // The connection goes first: a message the sender still waits to hand to rumqttc then fails
        // at once instead of waiting for an event loop nobody polls.
        drop(notes);
        out.close().await;
        result
    }

    /// Handles what is waiting on the bus, if anything (the events a held turn left there).
    fn take_events(
        &mut self,
        out: &Outbox,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<(), RecvError> {
        match events.try_recv() {
            Ok(ev) => self.on_events(out, ev, events),
            Err(TryRecvError::Empty) => Ok(()),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
        }
    }

    /// Recovers from a lag met while taking events; `Err` when the engine is gone.
    async fn after_events(
        &mut self,
        out: &Outbox,
        taken: Result<(), RecvError>,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<(), RecvError> {
        match taken {
            Ok(()) => Ok(()),
            Err(RecvError::Lagged(n)) => {
                // The receiver now points at the oldest event still on the bus, a full bus
                // behind: skip that backlog (the snapshot below is newer than all of it) instead
                // of working through it and lagging again.
                *events = events.resubscribe();
                tracing::debug!(
                    missed = n,
                    "MQTT bridge fell behind the event bus; republishing changed state"
                );
                self.publish_all_state(out).await;
                Ok(())
            }
            Err(RecvError::Closed) => Err(RecvError::Closed),
        }
    }

    /// Handles one notification of the connection; true when Home Assistant announced it is online.
    async fn on_note(
        &mut self,
        out: &Outbox,
        note: Notification,
        stop: &CancellationToken,
    ) -> bool {
        if let Notification::Event(MqttEvent::Incoming(_)) = &note {
            self.last_incoming = Instant::now();
        }
        match note {
            Notification::Event(MqttEvent::Incoming(Packet::SubAck(_))) => {
                self.schedule_cleanup(Instant::now());
                false
            }
            Notification::Event(MqttEvent::Incoming(Packet::ConnAck(ack))) => {
                self.on_connect(out, ack.session_present).await;
                false
            }
            Notification::Event(MqttEvent::Incoming(Packet::Publish(p))) => {
                self.on_publish(out, &p, stop).await
            }
            Notification::Event(_) => false,
            Notification::Error { error, taken_over } => {
                self.on_connection_error(out, &error, taken_over);
                false
            }
        }
    }

    async fn on_connect(&mut self, out: &Outbox, session_present: bool) {
        let now = Instant::now();
        if let Some(down) = self.outage.recovered(now) {
            self.counters.reconnects += 1;
            tracing::info!(attempts = down.attempts, down_for = ?down.duration, session_present, "MQTT connected again");
        } else {
            tracing::info!(session_present, "MQTT connected");
        }
        self.connected = Some(now);
        self.stale.clear();
        self.cleanup_armed = true;
        self.cleanup_at = None;
        out.connected(true);
        let mut filters = self.topics.filters();
        filters.extend(self.group_filter());
        out.control(Item::Subscribe(filters));
        out.control(Item::Publish {
            topic: self.topics.availability.clone(),
            payload: b"online".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
        });
        out.control(self.instance_item(self.presence.announce(true)));
        // The broker may keep retained state from before, but it may be stale: publish all of it.
        self.published.clear();
        self.publish_discovery(out);
        self.publish_all_state(out).await;
        self.publish_health(out).await;
    }

    fn on_connection_error(
        &mut self,
        out: &Outbox,
        e: &rumqttc::v5::ConnectionError,
        taken_over: bool,
    ) {
        let now = Instant::now();
        if self.connected.take().is_some() {
            out.connected(false);
        }
        if taken_over {
            self.duplicate(out, Sign::SessionTakenOver, now);
        }
        if self.outage.failed(&e.to_string(), now) {
            tracing::warn!(error = %report::escape(&e.to_string(), report::REASON_CHARS), "MQTT connection lost or refused; retrying with backoff");
        }
    }

    /// A sign of a second daemon with our `device_id`: one clear error per episode.
    fn duplicate(&mut self, out: &Outbox, sign: Sign, now: Instant) {
        let msg =
            presence::duplicate_message(&sign, &self.config.device_id, &self.settings.client_id);
        if self.presence.suspect(sign, now) {
            tracing::error!("{msg}");
            if self.connected.is_some() {
                let json = serde_json::json!({"topic": self.topics.instance, "reason": msg});
                out.transient(&self.topics.error, json.to_string());
            }
        }
    }

    fn instance_item(&self, payload: String) -> Item {
        Item::Publish {
            topic: self.topics.instance.clone(),
            payload: payload.into_bytes(),
            qos: QoS::AtMostOnce,
            retain: false,
        }
    }

    /// Whether the connection shows progress both ways (or is honestly down and being retried).
    fn healthy(&self, out: &Outbox, now: Instant) -> bool {
        if self.connected.is_none() {
            return true;
        }
        let progress = Progress {
            keep_alive: self.settings.mqtt.keep_alive,
            since_incoming: now.duration_since(self.last_incoming),
            outbox_stuck: out.stuck_for(),
        };
        let (incoming, outgoing) = progress.both_ways();
        if !(incoming && outgoing) {
            tracing::warn!(
                incoming,
                outgoing,
                "MQTT connection makes no progress; it may be wedged"
            );
        }
        incoming && outgoing
    }

    /// Periodic work: the heartbeat, health, summaries.
    async fn housekeeping(&mut self, out: &Outbox) {
        let now = Instant::now();
        if self.healthy(out, now) {
            self.heartbeat.beat();
        }
        if self.connected.is_some() {
            if self
                .last_health
                .is_none_or(|t| now.duration_since(t) >= HEALTH_EVERY)
            {
                self.publish_health(out).await;
            }
            self.report_overload(out, now);
            self.report_suppressed(out, now);
        }
        if let Some(s) = self.outage.summary(now) {
            tracing::warn!(attempts = s.attempts, down_for = ?s.duration, last_error = %report::escape(&s.last_error, report::REASON_CHARS), "MQTT still disconnected; retrying");
        }
    }

    /// Publishes `offline` (waiting for the broker's PUBACK, so it lands before a successor's `online`),
    /// disconnects and waits (bounded) for both to leave.
    async fn goodbye(&mut self, out: &Outbox, notes: &mut Notes) {
        if self.connected.is_none() {
            return;
        }
        out.control(Item::Publish {
            topic: self.topics.availability.clone(),
            payload: b"offline".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
        });
        let acked = wait_for(notes, Duration::from_millis(500), |n| {
            matches!(
                n,
                Notification::Event(MqttEvent::Incoming(Packet::PubAck(_)))
            )
        })
        .await;
        out.control(Item::Disconnect);
        let gone = wait_for(notes, Duration::from_millis(400), |n| {
            matches!(
                n,
                Notification::Event(MqttEvent::Outgoing(rumqttc::Outgoing::Disconnect))
            )
        })
        .await;
        if acked && gone {
            tracing::info!("MQTT offline published, disconnected");
        } else {
            tracing::warn!(acked, gone, "MQTT goodbye timed out");
        }
    }
}

/// What a live connection shows: something from the broker at least every keep-alive (rumqttc pings
/// then, and the broker answers), and an outbox that is never kept waiting long.
struct Progress {
    keep_alive: Duration,
    since_incoming: Duration,
    outbox_stuck: Duration,
}

impl Progress {
    /// (incoming side alive, outgoing side alive).
    fn both_ways(&self) -> (bool, bool) {
        let keep_alive = self.keep_alive.max(Duration::from_secs(5));
        let quiet_limit = keep_alive * 2 + Duration::from_secs(10);
        (
            self.since_incoming < quiet_limit,
            self.outbox_stuck < OUTGOING_STALL,
        )
    }
}

/// Resolves at `at`; never when `None`.
async fn until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// Waits up to `limit` for a notification matching `f` (or a connection error); false on timeout.
async fn wait_for(notes: &mut Notes, limit: Duration, f: impl Fn(&Notification) -> bool) -> bool {
    let wait = async {
        loop {
            let n = notes.recv().await;
            if f(&n) || matches!(n, Notification::Error { .. }) {
                return true;
            }
        }
    };
    tokio::time::timeout(limit, wait).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_alive_only_while_both_directions_make_progress() {
        let s = Duration::from_secs;
        let cases = [
            // keep-alive, since the broker last sent anything, outbox waiting → (in, out)
            (s(30), s(29), s(0), (true, true)),
            (s(30), s(69), s(19), (true, true)),
            (s(30), s(70), s(0), (false, true)),
            (s(30), s(1), s(20), (true, false)),
            (s(1), s(19), s(0), (true, true)), // keep-alive is at least 5 s
        ];
        for (keep_alive, since_incoming, outbox_stuck, want) in cases {
            let p = Progress {
                keep_alive,
                since_incoming,
                outbox_stuck,
            };
            assert_eq!(
                p.both_ways(),
                want,
                "{keep_alive:?} {since_incoming:?} {outbox_stuck:?}"
            );
        }
    }
}
