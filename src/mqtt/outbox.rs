//! Everything the bridge publishes goes through the outbox: a sender task that owns the order of what
//! is still to be sent and hands it to rumqttc as fast as the connection takes it.
//!
//! While the sender holds nothing (connected, nothing queued or on its way to it), a state or
//! transient message skips it and goes to rumqttc's queue at once, if that has room: the common case,
//! one task hop and one queue entry fewer per state update. Order is kept: the bridge counts every
//! message it gives the sender, and the sender counts itself in while it holds anything (`Busy`).
//!
//! It can never wedge: it awaits room in rumqttc's request queue in a task of its own (never in the
//! bridge, which polls rumqttc's event loop), and while it waits, newer state *replaces* older state
//! of the same retained topic (only the latest payload of a retained topic matters), so its memory is
//! bounded by the number of topics. Messages
//! that are not state (`B/error`, `B/event`) wait in a bounded queue that drops its oldest when full.
//! Both kinds of loss are counted ([`Dropped`]), and the bridge reports them once on `B/error`.
//! Commands are never dropped here: they do not pass through the outbox at all.
//!
//! # Quality of service, and why it decides latency on a stock broker
//!
//! State, discovery, health and errors are published at **QoS 0**; only availability (and the last
//! will) uses QoS 1. The reason is TCP, not MQTT. Mosquitto leaves Nagle's algorithm on by default
//! (`set_tcp_nodelay false`): it holds a small segment while an earlier one to the same peer is not yet
//! acknowledged. Linux delays the ACK of a segment it received by up to 40 ms when it has nothing to
//! send back. With QoS 1 state, every command made the broker send us a PUBACK for our state publish;
//! we send nothing after a PUBACK, so its ACK waited ~40 ms, and the broker held the *next* command
//! behind it: commands 20 ms apart were shown in pairs, 40 ms late (issue 11). At QoS 0 the broker
//! sends us nothing per command except the command itself, and our state publish carries the ACK for it
//! at once. Discovery asks Home Assistant to publish commands at QoS 1 (`qos: 1`), so every command from
//! Home Assistant is answered by rumqttc's immediate PUBACK even when it changes nothing (and so
//! publishes no state). A QoS 0 publisher whose command changes nothing still leaves that segment's ACK
//! to the 40 ms timer; see docs/PERFORMANCE.md for what that costs the *next* command.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::Filter;
use rumqttc::v5::{AsyncClient, ClientError, Request};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// Messages that are not state kept while the connection is slow; the oldest go first.
pub const TRANSIENT_MAX: usize = 256;

/// One thing to hand to rumqttc.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
    },
    Subscribe(Vec<Filter>),
    Disconnect,
}

/// What the bridge tells the sender.
#[derive(Debug)]
enum Msg {
    /// Latest payload of a retained topic (QoS 0).
    State(String, Vec<u8>),
    /// A message that is not state (QoS 0, not retained): errors, events.
    Transient(String, Vec<u8>),
    /// Subscriptions, availability, disconnect: sent before anything else, never dropped.
    Control(Item),
    /// Connected: start sending. Disconnected: forget what is queued (all of it is re-published on
    /// the next connection).
    Connected(bool),
}

/// Counts of what the outbox had to give up (since start).
#[derive(Clone, Debug, Default)]
pub struct Dropped {
    superseded: Arc<AtomicU64>,
    transient: Arc<AtomicU64>,
}

impl Dropped {
    /// State updates replaced by a newer one of the same topic before they could be sent.
    pub fn superseded(&self) -> u64 {
        self.superseded.load(Ordering::Relaxed)
    }
    /// Errors and events dropped because their queue was full.
    pub fn transient(&self) -> u64 {
        self.transient.load(Ordering::Relaxed)
    }
}

/// The pending messages, in the order they will go: control first, then state (each dirty topic once,
/// with its latest payload, in the order it first became dirty), then the rest.
#[derive(Debug, Default)]
pub struct Queue {
    control: VecDeque<Item>,
    state: HashMap<String, Vec<u8>>,
    order: VecDeque<String>,
    transient: VecDeque<(String, Vec<u8>)>,
    dropped: Dropped,
}

impl Queue {
    pub fn state(&mut self, topic: String, payload: Vec<u8>) {
        match self.state.get_mut(&topic) {
            Some(old) => {
                *old = payload;
                self.dropped.superseded.fetch_add(1, Ordering::Relaxed);
            }
            None => {
                self.order.push_back(topic.clone());
                self.state.insert(topic, payload);
            }
        }
    }

    pub fn transient(&mut self, topic: String, payload: Vec<u8>) {
        if self.transient.len() >= TRANSIENT_MAX {
            self.transient.pop_front();
            self.dropped.transient.fetch_add(1, Ordering::Relaxed);
        }
        self.transient.push_back((topic, payload));
    }

    pub fn control(&mut self, item: Item) {
        self.control.push_back(item);
    }

    pub fn is_empty(&self) -> bool {
        self.control.is_empty() && self.order.is_empty() && self.transient.is_empty()
    }

    pub fn clear(&mut self) {
        self.control.clear();
        self.state.clear();
        self.order.clear();
        self.transient.clear();
    }

    pub fn pop(&mut self) -> Option<Item> {
        if let Some(c) = self.control.pop_front() {
            return Some(c);
        }
        if let Some(topic) = self.order.pop_front() {
            let payload = self.state.remove(&topic).unwrap_or_default();
            return Some(publish(topic, payload, QoS::AtMostOnce, true));
        }
        let (topic, payload) = self.transient.pop_front()?;
        Some(publish(topic, payload, QoS::AtMostOnce, false))
    }
}

fn publish(topic: String, payload: Vec<u8>, qos: QoS, retain: bool) -> Item {
    Item::Publish {
        topic,
        payload,
        qos,
        retain,
    }
}

/// Since when the sender has been waiting for rumqttc to take an item (ms since `base`), or `IDLE`.
#[derive(Clone, Debug)]
struct Waiting {
    base: std::time::Instant,
    since_ms: Arc<AtomicU64>,
}

impl Waiting {
    const IDLE: u64 = u64::MAX;

    fn set(&self, waiting: bool) {
        let v = match waiting {
            true => self.base.elapsed().as_millis() as u64,
            false => Self::IDLE,
        };
        self.since_ms.store(v, Ordering::Relaxed);
    }

    fn for_how_long(&self) -> std::time::Duration {
        match self.since_ms.load(Ordering::Relaxed) {
            Self::IDLE => std::time::Duration::ZERO,
            ms => self
                .base
                .elapsed()
                .saturating_sub(std::time::Duration::from_millis(ms)),
        }
    }
}

/// Messages on their way to the sender, plus one while the sender holds anything (something queued
/// or being handed over, or the connection down). Zero: nothing can be overtaken, so a message may
/// go to rumqttc directly.
#[derive(Clone, Debug)]
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn idle(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
    fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::AcqRel);
    }
    fn sub(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::AcqRel);
    }
}

/// The bridge's side of the outbox. Dropping it ends the sender task (its queue closes, which it
/// watches first); [`Outbox::close`] also waits for that.
pub struct Outbox {
    tx: mpsc::UnboundedSender<Msg>,
    client: AsyncClient,
    busy: Busy,
    pub dropped: Dropped,
    waiting: Waiting,
    task: JoinHandle<()>,
}

impl Outbox {
    /// Ends the sender task, giving up what it still holds, and waits until it has.
    pub async fn close(self) {
        let Outbox { tx, task, .. } = self;
        drop(tx);
        let _ = task.await;
    }

    /// Starts the sender task for `client` on `tracker`.
    pub fn start(client: AsyncClient, tracker: &TaskTracker) -> Outbox {
        // Unbounded, yet small: the sender takes every message off it at once (it never waits for
        // the network while a message is waiting here), and the queue it fills is bounded.
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Queue::default();
        let dropped = queue.dropped.clone();
        let waiting = Waiting {
            base: std::time::Instant::now(),
            since_ms: Arc::new(AtomicU64::new(Waiting::IDLE)),
        };
        // The sender starts disconnected, so holding.
        let busy = Busy(Arc::new(AtomicUsize::new(1)));
        let sender = Sender {
            rx,
            queue,
            waiting: waiting.clone(),
            busy: busy.clone(),
        };
        let task = tracker.spawn(send(client.clone(), sender));
        Outbox {
            tx,
            client,
            busy,
            dropped,
            waiting,
            task,
        }
    }

    /// How long the sender has been waiting for rumqttc to take one item (zero when it is not): the
    /// outgoing side's proof of progress. A connection that accepts nothing for long is wedged.
    pub fn stuck_for(&self) -> std::time::Duration {
        self.waiting.for_how_long()
    }

    pub fn state(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        if let Some((topic, payload)) = self.direct(topic, payload.into(), true) {
            self.to_sender(Msg::State(topic, payload));
        }
    }

    pub fn transient(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        if let Some((topic, payload)) = self.direct(topic, payload.into(), false) {
            self.to_sender(Msg::Transient(topic, payload));
        }
    }

    pub fn control(&self, item: Item) {
        self.to_sender(Msg::Control(item));
    }

    pub fn connected(&self, up: bool) {
        self.to_sender(Msg::Connected(up));
    }

    fn to_sender(&self, msg: Msg) {
        self.busy.add(1);
        if self.tx.send(msg).is_err() {
            // The sender is gone (shutdown): nothing will take this message, or count it out.
            self.busy.sub(1);
        }
    }

    /// Hands a QoS 0 message straight to rumqttc when the sender holds nothing; gives it back when
    /// it must go through the sender instead (rumqttc's queue full, or the sender busy).
    fn direct(&self, topic: &str, payload: Vec<u8>, retain: bool) -> Option<(String, Vec<u8>)> {
        if !self.busy.idle() {
            return Some((topic.into(), payload));
        }
        match self
            .client
            .try_publish(topic, QoS::AtMostOnce, retain, payload)
        {
            Ok(()) => None,
            Err(
                ClientError::TryRequest(Request::Publish(p))
                | ClientError::Request(Request::Publish(p)),
            ) => Some((topic.into(), p.payload.to_vec())),
            // Not what try_publish returns; the sender would fail the same way, so say so here.
            Err(e) => {
                tracing::debug!(error = %e, "MQTT request not queued");
                None
            }
        }
    }
}

/// The sender task's side: what it was given, and its books.
struct Sender {
    rx: mpsc::UnboundedReceiver<Msg>,
    queue: Queue,
    waiting: Waiting,
    busy: Busy,
}

type Sending = Pin<Box<dyn Future<Output = Result<(), ClientError>> + Send>>;

/// The sender task: takes messages at once, hands one item at a time to rumqttc while connected.
async fn send(client: AsyncClient, sender: Sender) {
    let Sender {
        mut rx,
        mut queue,
        waiting,
        busy,
    } = sender;
    let mut connected = false;
    let mut sending: Option<Sending> = None;
    // Whether this task counts itself in `busy` (it starts disconnected: yes), and how many messages
    // it took that it has not counted out yet.
    let mut holding = true;
    let mut taken = 0;
    loop {
        if sending.is_none() && connected {
            // Everything rumqttc has room for goes at once (one scheduling round, not one per item);
            // the first item that must wait is awaited below, and the rest stay here to be coalesced.
            while let Some(item) = queue.pop() {
                let mut f = hand_over(client.clone(), item);
                match std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await {
                    Poll::Ready(Err(e)) => tracing::debug!(error = %e, "MQTT request not queued"),
                    Poll::Ready(Ok(())) => {}
                    Poll::Pending => {
                        sending = Some(f);
                        break;
                    }
                }
            }
            waiting.set(sending.is_some());
        }
        // Count in before counting the messages out, so `busy` never reads zero while this task
        // still holds one of them.
        let holds = !connected || sending.is_some() || !queue.is_empty();
        if holds && !holding {
            busy.add(1);
        }
        busy.sub(std::mem::take(&mut taken));
        if !holds && holding {
            busy.sub(1);
        }
        holding = holds;
        tokio::select! {
            biased;
            msg = rx.recv() => match msg.inspect(|_| taken += 1) {
                None => return,
                Some(Msg::State(t, p)) => queue.state(t, p),
                Some(Msg::Transient(t, p)) => queue.transient(t, p),
                Some(Msg::Control(item)) => queue.control(item),
                Some(Msg::Connected(up)) => {
                    connected = up;
                    if !up {
                        queue.clear();
                        sending = None;
                        waiting.set(false);
                    }
                }
            },
            done = async {
                match sending.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            }, if sending.is_some() => {
                sending = None;
                waiting.set(false);
                if let Err(e) = done {
                    // rumqttc's event loop is gone: the bridge sees that too and stops.
                    tracing::debug!(error = %e, "MQTT request not queued");
                }
            }
        }
    }
}

/// Awaits room in rumqttc's request queue for one item (never in the bridge, which polls the event loop).
fn hand_over(client: AsyncClient, item: Item) -> Sending {
    Box::pin(async move {
        match item {
            Item::Publish {
                topic,
                payload,
                qos,
                retain,
            } => client.publish(topic, qos, retain, payload).await,
            Item::Subscribe(filters) => client.subscribe_many(filters).await,
            Item::Disconnect => client.disconnect().await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic_of(item: Option<Item>) -> Option<(String, Vec<u8>)> {
        match item? {
            Item::Publish { topic, payload, .. } => Some((topic, payload)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn newer_state_replaces_older_state_of_the_same_topic_and_is_counted() {
        let mut q = Queue::default();
        for i in 0..1000 {
            q.state(format!("b/z{}/state", i % 3), format!("{i}").into_bytes());
        }
        assert_eq!(q.dropped.superseded(), 997);
        let sent: Vec<_> = std::iter::from_fn(|| topic_of(q.pop())).collect();
        assert_eq!(
            sent,
            vec![
                ("b/z0/state".into(), b"999".to_vec()),
                ("b/z1/state".into(), b"997".to_vec()),
                ("b/z2/state".into(), b"998".to_vec()),
            ],
            "each topic once, latest payload, first-dirtied first"
        );
    }

    #[test]
    fn control_goes_first_and_transient_messages_drop_their_oldest() {
        let mut q = Queue::default();
        for i in 0..TRANSIENT_MAX + 10 {
            q.transient("b/error".into(), format!("{i}").into_bytes());
        }
        q.state("b/z/state".into(), b"s".to_vec());
        q.control(Item::Disconnect);
        assert_eq!(q.dropped.transient(), 10);
        assert_eq!(q.pop(), Some(Item::Disconnect));
        assert_eq!(topic_of(q.pop()).unwrap().0, "b/z/state");
        assert_eq!(
            topic_of(q.pop()).unwrap().1,
            b"10".to_vec(),
            "oldest dropped"
        );
        q.clear();
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn the_outbox_is_stuck_only_while_an_item_waits() {
        let w = Waiting {
            base: std::time::Instant::now() - std::time::Duration::from_secs(60),
            since_ms: Arc::new(AtomicU64::new(Waiting::IDLE)),
        };
        assert_eq!(w.for_how_long(), std::time::Duration::ZERO);
        w.since_ms.store(30_000, Ordering::Relaxed); // waiting since 30 s after `base`
        let stuck = w.for_how_long();
        assert!(stuck >= std::time::Duration::from_secs(30), "{stuck:?}");
        w.set(false);
        assert_eq!(w.for_how_long(), std::time::Duration::ZERO);
    }

    #[test]
    fn state_and_transient_messages_go_at_qos_0_and_state_is_retained() {
        let mut q = Queue::default();
        q.state("s".into(), vec![1]);
        q.transient("e".into(), vec![2]);
        let flags = |i: Option<Item>| match i {
            Some(Item::Publish { qos, retain, .. }) => (qos, retain),
            other => panic!("{other:?}"),
        };
        assert_eq!(flags(q.pop()), (QoS::AtMostOnce, true));
        assert_eq!(flags(q.pop()), (QoS::AtMostOnce, false));
    }

    /// The topics and payloads rumqttc has been given so far.
    fn taken(rx: &flume::Receiver<Request>) -> Vec<(String, String)> {
        rx.try_iter()
            .map(|r| match r {
                Request::Publish(p) => (
                    String::from_utf8_lossy(&p.topic).into_owned(),
                    String::from_utf8_lossy(&p.payload).into_owned(),
                ),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    /// Lets the sender task run until it has nothing left to do.
    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(t, p)| (t.to_string(), p.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn state_skips_an_idle_sender_and_never_overtakes_what_the_sender_holds() {
        let (tx, rx) = flume::bounded(2);
        let tracker = TaskTracker::new();
        let out = Outbox::start(AsyncClient::from_senders(tx), &tracker);

        // Disconnected: held by the sender, sent once connected.
        out.state("b/a", "1");
        settle().await;
        assert!(taken(&rx).is_empty());
        out.connected(true);
        settle().await;
        assert_eq!(taken(&rx), pairs(&[("b/a", "1")]));

        // Idle: straight to rumqttc, before the sender task has run at all.
        out.state("b/c", "2");
        out.transient("b/error", "e");
        assert_eq!(taken(&rx), pairs(&[("b/c", "2"), ("b/error", "e")]));

        // rumqttc's queue full: the sender takes over, and what follows waits behind it.
        out.state("b/c", "3");
        out.state("b/d", "4");
        out.state("b/e", "5");
        assert_eq!(taken(&rx), pairs(&[("b/c", "3"), ("b/d", "4")]));
        // rumqttc has room again, but the sender still holds b/e.
        out.state("b/f", "6");
        assert!(taken(&rx).is_empty());
        settle().await;
        assert_eq!(taken(&rx), pairs(&[("b/e", "5"), ("b/f", "6")]));
        settle().await;
        assert!(out.busy.idle(), "nothing held: direct again");

        // Disconnected again: nothing goes straight out.
        out.connected(false);
        out.state("b/g", "7");
        settle().await;
        assert!(taken(&rx).is_empty());
        out.close().await;
    }
}
