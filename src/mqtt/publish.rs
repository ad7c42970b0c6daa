//! What the bridge publishes: retained state (only when a payload changed), discovery, health, the
//! one-line overload report, and the removal of entities (and their retained state) that the
//! configuration no longer has. Everything goes through the [`Outbox`].

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::light::StateJson;
use super::outbox::Outbox;
use super::{MqttBridge, device, discovery, health, inbound, scenes};
use crate::effects::{PARAM_COUNT, ParamId, ParamValues};
use crate::engine::{Command, Event, Snapshot, ZoneState};

/// Events [`MqttBridge::on_events`] takes in one turn before the bridge looks at its other work.
const DRAIN_AT_MOST: usize = 256;
/// Outbox losses are reported at most this often.
const OVERLOAD_EVERY: Duration = Duration::from_secs(30);

/// States announced on the event bus and not yet published: the latest of each zone, of the master
/// and of the device.
pub(super) struct Pending {
    zones: Vec<Option<Box<ZoneState>>>,
    master: Option<Event>,
    device: Option<Event>,
}

impl Pending {
    pub(super) fn new(zones: usize) -> Self {
        Pending {
            zones: vec![None; zones],
            master: None,
            device: None,
        }
    }
}

/// What was last published: each retained topic's payload, and each zone's parameter values, so that
/// a zone event whose parameters did not change (a brightness or colour command) formats and looks up
/// none of them. Cleared together whenever everything must go out again.
#[derive(Default)]
pub(super) struct Published {
    payloads: HashMap<String, Vec<u8>>,
    params: Vec<Option<ParamValues>>,
}

impl Published {
    pub(super) fn clear(&mut self) {
        self.payloads.clear();
        self.params.clear();
    }

    /// Which of zone `z`'s parameters differ from those last published (remembering the new values).
    /// Only an optimisation: `publish_state` still compares each payload it is given.
    fn params_changed(&mut self, z: usize, values: &ParamValues) -> [bool; PARAM_COUNT] {
        if self.params.len() <= z {
            self.params.resize(z + 1, None);
        }
        let last = self.params[z].replace(*values);
        std::array::from_fn(|i| last.is_none_or(|l| l.0[i].to_bits() != values.0[i].to_bits()))
    }
}

/// A retained discovery message of an entity we no longer have.
#[derive(Clone, Debug)]
pub(super) struct Stale {
    topic: String,
    /// Its `state_topic`, when that is one of ours no current entity uses.
    state_topic: Option<String>,
}

impl MqttBridge {
    /// Publishes `payload` retained on `topic` unless it is what the topic already carries. A payload
    /// that did not change costs no allocation (the state of every zone parameter is checked on each
    /// zone event).
    pub(super) fn publish_state(&mut self, out: &Outbox, topic: &str, payload: &[u8]) {
        if self.connected.is_none() {
            return;
        }
        match self.published.payloads.get_mut(topic) {
            Some(last) if last.as_slice() == payload => return,
            Some(last) => {
                last.clear();
                last.extend_from_slice(payload);
            }
            None => {
                self.published
                    .payloads
                    .insert(topic.to_string(), payload.to_vec());
            }
        }
        out.state(topic, payload);
    }

    /// Publishes a light's state on `topic` (through the reused buffer `scratch`).
    pub(super) fn publish_light(&mut self, out: &Outbox, topic: &str, state: &StateJson<'_>) {
        let mut buf = std::mem::take(&mut self.scratch);
        state.write_to(&mut buf);
        self.publish_state(out, topic, &buf);
        self.scratch = buf;
    }

    /// Every discovery message, each serialised as soon as it is built (see `discovery::each`).
    pub(super) fn publish_discovery(&mut self, out: &Outbox) {
        let (config, topics) = (Arc::clone(&self.config), Arc::clone(&self.topics));
        let mut messages = Vec::new();
        discovery::each(&config, &topics, &mut |mut d| {
            self.realtime.patch_discovery(&mut d, &topics);
            messages.push((d.topic, d.payload.to_string()));
        });
        for (topic, payload) in messages {
            self.publish_state(out, &topic, payload.as_bytes());
        }
    }

    pub(super) async fn publish_all_state(&mut self, out: &Outbox) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let asked = inbound::deliver(&self.engine, Command::Snapshot(tx), None).await;
        match (asked, rx.await) {
            (Ok(()), Ok(s)) => self.publish_snapshot(out, &s),
            _ => tracing::warn!("no snapshot to publish: the render loop does not answer"),
        }
    }

    fn publish_snapshot(&mut self, out: &Outbox, s: &Snapshot) {
        for (z, st) in s.zones.iter().enumerate() {
            self.publish_zone(out, z, st);
        }
        let any_on = s.zones.iter().any(|z| z.on);
        self.group.on_master(s.master, any_on);
        let topics = Arc::clone(&self.topics);
        self.publish_light(
            out,
            &topics.all_state,
            &StateJson::master(&s.master, any_on),
        );
        let dev = device::device_json(&s.device, s.preset, &topics.zone_ids).to_string();
        self.publish_state(out, &topics.device_state, dev.as_bytes());
        self.publish_library(out, &s.device);
        self.publish_realtime(out);
    }

    /// The scene and playlist selects follow the library (published only when their options changed).
    fn publish_library(&mut self, out: &Outbox, s: &crate::engine::DeviceState) {
        for d in scenes::library_entities(&self.config, &self.topics, s) {
            self.publish_state(out, &d.topic, d.payload.to_string().as_bytes());
        }
    }

    /// A zone's light state and its parameters' states (each only when it changed).
    pub(super) fn publish_zone(&mut self, out: &Outbox, z: usize, st: &ZoneState) {
        let topics = Arc::clone(&self.topics);
        let config = Arc::clone(&self.config);
        let mut state = self.realtime.zone_state(z, st);
        scenes::add_palette(&mut state, st, &config.library.palettes);
        self.publish_light(out, topics.zone_state(z), &state);
        self.group.on_zone(z, st);
        self.publish_group(out);
        let params = st.current_params();
        if self.connected.is_none() {
            return;
        }
        let changed = self.published.params_changed(z, params);
        let mut buf = std::mem::take(&mut self.scratch);
        for p in ParamId::ALL.into_iter().filter(|&p| changed[p as usize]) {
            buf.clear();
            // Writing a number into a Vec cannot fail.
            let _ = write!(buf, "{}", params.get(p));
            self.publish_state(out, topics.param_state(z, p), &buf);
        }
        self.scratch = buf;
    }

    pub(super) async fn publish_health(&mut self, out: &Outbox) {
        if self.connected.is_none() {
            return;
        }
        self.last_health = Some(Instant::now());
        let (tx, rx) = tokio::sync::oneshot::channel();
        if inbound::deliver(&self.engine, Command::Stats(tx), None)
            .await
            .is_err()
        {
            return;
        }
        if let Ok(stats) = rx.await {
            self.counters.superseded = out.dropped.superseded();
            self.counters.dropped = out.dropped.transient();
            let mut h = health::health_json(&stats, &self.counters, self.started);
            h["task_restarts"] = json!(self.restarts.snapshot());
            // Health changes every time (uptime): no need to compare.
            out.state(&self.topics.health, h.to_string());
        }
    }

    /// Handles `first` and every event already waiting behind it on the bus (up to [`DRAIN_AT_MOST`]),
    /// publishing each zone's state, the master's and the device's once, at their latest, however
    /// often they changed meanwhile: under a burst of commands the bridge serialises one state per
    /// topic per turn instead of one per command. Other events (inputs, rejections, realtime) flush
    /// the held states first, so every topic still sees its updates in order. A lag met while
    /// draining is returned for the caller to recover from.
    pub(super) fn on_events(
        &mut self,
        out: &Outbox,
        first: Event,
        events: &mut broadcast::Receiver<Event>,
    ) -> Result<(), RecvError> {
        let mut next = first;
        let mut taken = 1;
        let result = loop {
            match next {
                Event::Zone { zone, state } => match self.pending.zones.get_mut(zone) {
                    Some(slot) => *slot = Some(state),
                    None => tracing::warn!(zone, "state of an unknown zone"),
                },
                ev @ Event::Master { .. } => self.pending.master = Some(ev),
                ev @ Event::Device { .. } => self.pending.device = Some(ev),
                ev => {
                    self.flush_pending(out);
                    self.on_event(out, ev);
                }
            }
            if taken >= DRAIN_AT_MOST {
                break Ok(());
            }
            taken += 1;
            next = match events.try_recv() {
                Ok(ev) => ev,
                Err(TryRecvError::Empty) => break Ok(()),
                Err(TryRecvError::Lagged(n)) => break Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => break Err(RecvError::Closed),
            };
        };
        self.flush_pending(out);
        result
    }

    /// Publishes the states [`MqttBridge::on_events`] held back.
    fn flush_pending(&mut self, out: &Outbox) {
        for z in 0..self.pending.zones.len() {
            if let Some(state) = self.pending.zones[z].take() {
                self.publish_zone(out, z, &state);
            }
        }
        for ev in [self.pending.master.take(), self.pending.device.take()]
            .into_iter()
            .flatten()
        {
            self.on_event(out, ev);
        }
    }

    fn on_event(&mut self, out: &Outbox, ev: Event) {
        match ev {
            Event::Zone { zone, state } => self.publish_zone(out, zone, &state),
            Event::Master { state, any_on } => {
                self.group.on_master(state, any_on);
                self.publish_group(out);
                let topics = Arc::clone(&self.topics);
                self.publish_light(out, &topics.all_state, &StateJson::master(&state, any_on));
            }
            Event::Device { state, preset } => {
                let topics = Arc::clone(&self.topics);
                let dev = device::device_json(&state, preset, &topics.zone_ids).to_string();
                self.publish_state(out, &topics.device_state, dev.as_bytes());
                self.publish_library(out, &state);
            }
            Event::Rejected(reason) => {
                let topic = self.topics.device_set.clone();
                self.reject(out, &topic, &reason, &[]);
            }
            Event::Input { event, zone } => {
                if self.connected.is_some() {
                    let zone = zone.and_then(|z| self.topics.zone_ids.get(z));
                    let json = super::event::event_json(&event, zone.map(String::as_str));
                    out.transient(&self.topics.event, json.to_string());
                }
            }
            Event::FirstFrame => {}
            Event::Realtime(s) => self.on_realtime(out, *s),
        }
    }

    /// Says once on `B/error` (and in the log) that the outbox had to give up state updates or
    /// messages since the last report.
    pub(super) fn report_overload(&mut self, out: &Outbox, now: Instant) {
        let (superseded, dropped) = (out.dropped.superseded(), out.dropped.transient());
        let (s0, d0, at) = self.overload_reported;
        if (superseded, dropped) == (s0, d0)
            || at.is_some_and(|t| now.duration_since(t) < OVERLOAD_EVERY)
        {
            return;
        }
        self.overload_reported = (superseded, dropped, Some(now));
        let (s, d) = (superseded - s0, dropped - d0);
        let reason = format!(
            "overloaded: {s} state updates were replaced by newer ones before they could be sent, and \
             {d} error/event messages were dropped; the latest state of every topic is published"
        );
        tracing::warn!(
            superseded = s,
            dropped = d,
            "MQTT outgoing queue overloaded"
        );
        let msg =
            json!({"topic": self.topics.base, "reason": reason, "superseded": s, "dropped": d});
        out.transient(&self.topics.error, msg.to_string());
    }

    /// Notes a retained discovery message under our device that no current entity has.
    pub(super) fn note_stale(&mut self, topic: &str, payload: &[u8]) {
        if payload.is_empty() || self.discovery_topics.contains(topic) {
            return;
        }
        let state_topic = serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| v["state_topic"].as_str().map(str::to_string))
            .filter(|t| t.starts_with(&format!("{}/", self.topics.base)))
            .filter(|t| !self.topics.is_current_state(t));
        self.stale.push(Stale {
            topic: topic.to_string(),
            state_topic,
        });
    }

    /// Our subscriptions are confirmed: the retained configs follow at once, and any other daemon has
    /// had its chance to answer our greeting by the end of the grace period.
    pub(super) fn schedule_cleanup(&mut self, now: Instant) {
        if std::mem::take(&mut self.cleanup_armed) {
            self.cleanup_at = Some(now + super::CLEANUP_GRACE);
        }
    }

    /// Removes the entities noted as stale (empty retained config) and clears their retained state
    /// (the light state and each parameter state of a removed zone), unless a second daemon with our
    /// `device_id` may be the one that publishes them.
    pub(super) fn remove_stale(&mut self, out: &Outbox, now: Instant) {
        let stale = std::mem::take(&mut self.stale);
        if stale.is_empty() {
            return;
        }
        if self.presence.duplicate_suspected(now) {
            tracing::warn!(
                entities = stale.len(),
                "not removing entities that look stale: another Diuna with this device_id may own them"
            );
            return;
        }
        for s in stale {
            tracing::info!(topic = %s.topic, "removing the discovery entry of an entity no longer configured");
            out.state(&s.topic, Vec::new());
            if let Some(t) = s.state_topic {
                out.state(&t, Vec::new());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_parameters_that_changed_are_formatted_again_until_everything_is_cleared() {
        let mut published = Published::default();
        let mut v = ParamValues([1.0, 0.5, 10.0, 0.2, 120.0]);
        assert_eq!(published.params_changed(2, &v), [true; PARAM_COUNT]);
        assert_eq!(published.params_changed(2, &v), [false; PARAM_COUNT]);
        v.0[ParamId::Speed as usize] = 1.5;
        assert_eq!(
            published.params_changed(2, &v),
            [true, false, false, false, false]
        );
        assert_eq!(
            published.params_changed(0, &v),
            [true; PARAM_COUNT],
            "each zone has its own"
        );
        published.clear();
        assert_eq!(published.params_changed(2, &v), [true; PARAM_COUNT]);
    }
}
