//! The realtime receiver: one supervised task owning the DDP and E1.31 sockets.
//!
//! Each datagram is parsed and validated at this edge, judged (who holds the stream), and written into
//! a staging copy of every zone's channels. A finished frame (DDP push; E1.31 once every live universe
//! has arrived, or one repeats) is copied into a free pre-allocated [`StreamFrame`] and sent to the
//! render loop with a non-blocking `try_send`; the render loop hands the previous one back. When no
//! buffer is free the render loop is behind: the frame is dropped and counted, and the next one carries
//! the same staging data, so nothing is lost but a stale picture. Nothing here allocates per packet,
//! blocks the render loop, or grows with the packet rate or the number of senders.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{Receiver as Pool, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::ddp;
use super::e131::{self, E131Error};
use super::mapping::Mapping;
use super::sources::{DdpHolder, E131Sources, Verdict};
use crate::engine::stream_config::RealtimeConfig;
use crate::engine::stream_frame::{
    Feed, Protocol, Source, StreamCommand, StreamCounters, StreamFrame,
};
use crate::engine::{Command, EngineHandle, SendError};
use crate::layout::Layout;

/// Frame buffers: one shown by the render loop, the rest in flight.
pub const POOL: usize = 4;
/// Largest datagram read; anything longer is truncated and then fails validation.
const DATAGRAM: usize = 2048;
/// Most universes joined / tracked for frame completion.
const MAX_UNIVERSES: usize = 256;

/// Why the receiver stopped (the supervisor restarts it with backoff).
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot listen for {protocol} on {addr}: {source}")]
    Bind {
        protocol: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the render loop has stopped")]
    EngineGone,
}

/// The receiver's state; consumed by [`run`].
struct Receiver {
    cfg: RealtimeConfig,
    mapping: Mapping,
    engine: EngineHandle,
    counters: Arc<StreamCounters>,
    staging: Vec<u8>,
    touched: Vec<bool>,
    /// Scratch: the zones a terminated universe reaches.
    ended: Vec<bool>,
    feed: Vec<Feed>,
    pool: Pool<Box<StreamFrame>>,
    home: SyncSender<Box<StreamFrame>>,
    ddp: DdpHolder,
    e131: E131Sources,
    /// The protocol holding the stream, and when it last wrote.
    holder: Option<(Protocol, Instant)>,
    source: Option<Source>,
    /// Mapped universes, with whether each arrived since the last frame and when it last had data.
    universes: Vec<u16>,
    pending: Vec<bool>,
    live: Vec<Option<Instant>>,
    fps_window: (Instant, u32),
    fps: f32,
}

/// Starts the supervised receiver task when `[realtime]` is enabled.
pub fn spawn(
    sup: &crate::supervisor::Supervisor,
    realtime: &RealtimeConfig,
    layout: &Layout,
    engine: &EngineHandle,
    stop: CancellationToken,
) {
    if !realtime.enabled {
        return;
    }
    let (cfg, layout, engine) = (realtime.clone(), layout.clone(), engine.clone());
    sup.spawn("realtime", stop, move |stop| {
        run(cfg.clone(), layout.clone(), engine.clone(), stop)
    });
}

/// Runs the receiver until `stop`; attaches the render loop's realtime layer first.
pub async fn run(
    cfg: RealtimeConfig,
    layout: Layout,
    engine: EngineHandle,
    stop: CancellationToken,
) -> Result<(), StreamError> {
    let ddp_sock = bind(&cfg, cfg.ddp_port, "DDP").await?;
    let e131_sock = bind(&cfg, cfg.e131_port, "E1.31").await?;
    let mut rx = Receiver::new(cfg, &layout, engine);
    if let Some(s) = &e131_sock {
        rx.join_groups(s);
    }
    rx.engine
        .send(Command::Stream(StreamCommand::Attach {
            config: Box::new(rx.cfg.clone()),
            counters: rx.counters.clone(),
        }))
        .map_err(|_| StreamError::EngineGone)?;
    tracing::info!(ddp = rx.cfg.ddp_port, e131 = rx.cfg.e131_port, bind = %rx.cfg.bind, "realtime input listening");
    let (mut dbuf, mut ebuf) = ([0u8; DATAGRAM], [0u8; DATAGRAM]);
    let mut failing = false;
    loop {
        let res = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            r = recv(ddp_sock.as_ref(), &mut dbuf) => r.map(|(n, a)| rx.on_ddp(&dbuf[..n], a, Instant::now())),
            r = recv(e131_sock.as_ref(), &mut ebuf) => r.map(|(n, a)| rx.on_e131(&ebuf[..n], a, Instant::now())),
        };
        match res {
            Ok(Ok(())) => failing = false,
            Ok(Err(e)) => return Err(e),
            Err(e) if !failing => {
                // ICMP errors and the like: log once per change of state, keep listening.
                tracing::warn!(error = %e, "realtime socket error; still listening");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

async fn bind(
    cfg: &RealtimeConfig,
    port: u16,
    protocol: &'static str,
) -> Result<Option<UdpSocket>, StreamError> {
    if port == 0 {
        return Ok(None);
    }
    let addr = SocketAddr::new(cfg.bind, port);
    UdpSocket::bind(addr)
        .await
        .map(Some)
        .map_err(|source| StreamError::Bind {
            protocol,
            addr,
            source,
        })
}

async fn recv(sock: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Receiver {
    fn new(cfg: RealtimeConfig, layout: &Layout, engine: EngineHandle) -> Self {
        let mapping = Mapping::new(layout, &cfg);
        let (home, pool) = sync_channel(POOL);
        for _ in 0..POOL {
            let _ = home.try_send(StreamFrame::new(&mapping.shape, Some(home.clone())));
        }
        let universes = mapping.universes(MAX_UNIVERSES);
        let zones = layout.zones.len();
        Receiver {
            staging: vec![0; mapping.shape.total],
            touched: vec![false; zones],
            ended: vec![false; zones],
            feed: vec![Feed::None; zones],
            pending: vec![false; universes.len()],
            live: vec![None; universes.len()],
            universes,
            e131: E131Sources::new(cfg.timeout),
            ddp: DdpHolder::default(),
            holder: None,
            source: None,
            counters: Arc::new(StreamCounters::default()),
            fps_window: (Instant::now(), 0),
            fps: 0.0,
            cfg,
            mapping,
            engine,
            pool,
            home,
        }
    }

    fn join_groups(&self, sock: &UdpSocket) {
        if !self.cfg.multicast || !self.cfg.bind.is_unspecified() {
            return;
        }
        for &u in &self.universes {
            if let Err(e) = sock.join_multicast_v4(e131::multicast_group(u), Ipv4Addr::UNSPECIFIED)
            {
                tracing::warn!(universe = u, error = %e, "cannot join the universe's multicast group; unicast still works");
            }
        }
    }

    fn count(&self, c: impl Fn(&StreamCounters) -> &AtomicU64) {
        StreamCounters::bump(c(&self.counters));
    }

    /// Whether `protocol` may write now (one protocol holds the stream until silent for the timeout).
    fn protocol_admits(&mut self, protocol: Protocol, now: Instant) -> bool {
        match self.holder {
            Some((p, t))
                if p != protocol && now.saturating_duration_since(t) < self.cfg.timeout =>
            {
                false
            }
            _ => {
                self.holder = Some((protocol, now));
                true
            }
        }
    }

    fn on_ddp(&mut self, buf: &[u8], addr: SocketAddr, now: Instant) -> Result<(), StreamError> {
        self.count(|c| &c.packets);
        let p = match ddp::parse(buf) {
            Ok(p) => p,
            Err(ddp::DdpError::NotData | ddp::DdpError::Destination(_)) => {
                self.count(|c| &c.unsupported);
                return Ok(());
            }
            Err(_) => {
                self.count(|c| &c.malformed);
                return Ok(());
            }
        };
        if !self.ddp.admit(addr, now, self.cfg.timeout) || !self.protocol_admits(Protocol::Ddp, now)
        {
            self.count(|c| &c.other_source);
            return Ok(());
        }
        self.source = Some(Source {
            protocol: Protocol::Ddp,
            addr,
        });
        if !p.data.is_empty()
            && !self.mapping.write(
                p.offset as u64,
                p.data,
                &mut self.staging,
                &mut self.touched,
            )
        {
            self.count(|c| &c.unmapped);
        }
        if p.push {
            self.commit(now)?;
        }
        Ok(())
    }

    fn on_e131(&mut self, buf: &[u8], addr: SocketAddr, now: Instant) -> Result<(), StreamError> {
        self.count(|c| &c.packets);
        let p = match e131::parse(buf) {
            Ok(p) => p,
            Err(E131Error::NotData | E131Error::Preview | E131Error::StartCode(_)) => {
                self.count(|c| &c.unsupported);
                return Ok(());
            }
            Err(_) => {
                self.count(|c| &c.malformed);
                return Ok(());
            }
        };
        let Some(ui) = self.universes.iter().position(|&u| u == p.universe) else {
            self.count(|c| &c.unmapped);
            return Ok(());
        };
        match self.e131.judge(&p, addr, now) {
            Verdict::OutOfSequence => self.count(|c| &c.out_of_sequence),
            Verdict::OtherSource => self.count(|c| &c.other_source),
            Verdict::Terminated { last: true } => self.end_universe(ui, now)?,
            Verdict::Terminated { last: false } => {}
            Verdict::Take if !self.protocol_admits(Protocol::E131, now) => {
                self.count(|c| &c.other_source)
            }
            Verdict::Take => {
                self.source = Some(Source {
                    protocol: Protocol::E131,
                    addr,
                });
                self.take_universe(ui, p.slots, now)?;
            }
        }
        Ok(())
    }

    /// Writes the data of mapped universe `ui`, completing frames as universes arrive.
    fn take_universe(&mut self, ui: usize, slots: &[u8], now: Instant) -> Result<(), StreamError> {
        if self.pending[ui] {
            // The universe repeats before the others came: the previous frame is complete.
            self.commit(now)?;
        }
        let universe = self.universes[ui];
        self.mapping
            .write_universe(universe, slots, &mut self.staging, &mut self.touched);
        self.pending[ui] = true;
        self.live[ui] = Some(now);
        if self.frame_complete(ui, now) {
            self.commit(now)?;
        }
        Ok(())
    }

    /// The last source of mapped universe `ui` left: the zones it fed end now.
    fn end_universe(&mut self, ui: usize, now: Instant) -> Result<(), StreamError> {
        self.live[ui] = None;
        self.pending[ui] = false;
        self.ended.fill(false);
        self.mapping
            .reach_universe(self.universes[ui], &mut self.ended);
        for (f, e) in self.feed.iter_mut().zip(&self.ended) {
            if *e {
                *f = Feed::Ended;
            }
        }
        self.commit(now)
    }

    /// The frame is complete when universe `ui` (just arrived) is the highest live one (senders send
    /// universes in ascending order), or every live universe has arrived since the last frame.
    fn frame_complete(&self, ui: usize, now: Instant) -> bool {
        let live = |l: &Option<Instant>| {
            l.is_some_and(|t| now.saturating_duration_since(t) < self.cfg.timeout)
        };
        let highest = self.live.iter().rposition(live) == Some(ui);
        highest
            || self
                .live
                .iter()
                .zip(&self.pending)
                .all(|(l, p)| *p || !live(l))
    }

    /// Hands the staging picture to the render loop, or drops and counts it when no buffer is free.
    fn commit(&mut self, now: Instant) -> Result<(), StreamError> {
        for (f, t) in self.feed.iter_mut().zip(self.touched.iter_mut()) {
            if std::mem::take(t) && *f == Feed::None {
                *f = Feed::Data;
            }
        }
        self.pending.fill(false);
        self.tick_fps(now);
        let Ok(mut frame) = self.pool.try_recv() else {
            self.count(|c| &c.frames_dropped);
            self.feed.fill(Feed::None);
            return Ok(());
        };
        frame.channels.copy_from_slice(&self.staging);
        frame.feed.copy_from_slice(&self.feed);
        frame.source = self.source;
        frame.fps = self.fps;
        self.feed.fill(Feed::None);
        match self
            .engine
            .send(Command::Stream(StreamCommand::Frame(frame)))
        {
            Ok(()) => self.count(|c| &c.frames),
            Err(SendError::Full) => {
                // The command queue is full and took the buffer with it: replace it (rare, bounded).
                self.count(|c| &c.frames_dropped);
                let _ = self.home.try_send(StreamFrame::new(
                    &self.mapping.shape,
                    Some(self.home.clone()),
                ));
            }
            Err(SendError::Stopped) => return Err(StreamError::EngineGone),
        }
        Ok(())
    }

    fn tick_fps(&mut self, now: Instant) {
        let (since, n) = &mut self.fps_window;
        *n += 1;
        let elapsed = now.saturating_duration_since(*since);
        if elapsed >= Duration::from_secs(1) {
            self.fps = *n as f32 / elapsed.as_secs_f32();
            *since = now;
            *n = 0;
        }
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
