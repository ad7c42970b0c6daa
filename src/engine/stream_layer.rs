//! The realtime layer of the compositor: which zones show a DDP / E1.31 stream, and the hand-over.
//!
//! The layer sits at priority 25, above the base (static 10, effect 20) and below the edit-mode indicator
//! (30), transition (40) and flash (45): the knob's indicator, cross-fades and identify still show over a
//! stream, and brightness (zone × master, unless `brightness = false`), gamma, the power limit and colour
//! order run once, in the normal pipeline. With `gamma = "sender"` the stream's values are pre-inverted
//! through the strip's gamma table so the wire carries what the sender sent (gamma applied once, by
//! the sender); with `"strip"` they are treated like any colour.
//!
//! Per zone: `Idle` → (data) `Active` → (silence for `timeout`, or the source ended) fade back over
//! `fade_back` through the transition overlay to exactly the zone's own output → `Idle`. A user who
//! turns the zone off, or gives it a colour or effect, wins: `Suppressed` until the stream stops or the
//! user allows it again (effect `realtime`, or the override select). The zone's state is never changed
//! by a stream, so there is nothing to restore. Drawing allocates nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stream_config::{RealtimeConfig, StreamGamma};
use super::stream_frame::{
    Feed, FrameShape, Override, RealtimeStatus, StreamCounters, StreamFrame, channels_to_rgb,
};
use super::zone::ZoneState;
use crate::color::Rgb;
use crate::layout::Layout;
use crate::output::pipeline::GammaTable;

/// How often the FPS figure alone may re-announce the status.
const FPS_ANNOUNCE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ZoneFeed {
    Idle,
    Active { last: Instant },
    Suppressed { last: Instant },
}

/// What the user last set on a zone, to notice them taking it over.
type Watched = (bool, Rgb, Option<usize>);

fn watched(z: &ZoneState) -> Watched {
    (z.on, z.color, z.effect)
}

/// The realtime layer; inert until [`StreamLayer::attach`].
pub struct StreamLayer {
    cfg: Option<RealtimeConfig>,
    shape: FrameShape,
    zone_strip: Vec<usize>,
    /// Per strip, the inverse of its gamma table (for `gamma = "sender"`).
    inverse: Vec<[u8; 256]>,
    frame: Option<Box<StreamFrame>>,
    zones: Vec<ZoneFeed>,
    watch: Vec<Watched>,
    mode: Override,
    /// When the last frame arrived; `None` once the stream has been silent for `timeout` (then "ignore
    /// now" ends and the source is no longer shown).
    last_frame: Option<Instant>,
    pub counters: Option<Arc<StreamCounters>>,
    announced: RealtimeStatus,
    announced_at: Option<Instant>,
}

impl StreamLayer {
    pub fn new(layout: &Layout) -> Self {
        let n = layout.zones.len();
        StreamLayer {
            cfg: None,
            shape: FrameShape::new(layout),
            zone_strip: layout.zones.iter().map(|z| z.strip).collect(),
            inverse: layout
                .strips
                .iter()
                .map(|s| inverse_gamma(s.gamma))
                .collect(),
            frame: None,
            zones: vec![ZoneFeed::Idle; n],
            watch: vec![(false, Rgb::BLACK, None); n],
            mode: Override::Allow,
            last_frame: None,
            counters: None,
            announced: RealtimeStatus::idle(n),
            announced_at: None,
        }
    }

    /// Turns the layer on with its settings and the receiver's counters.
    pub fn attach(&mut self, cfg: RealtimeConfig, counters: Arc<StreamCounters>) {
        self.cfg = Some(cfg);
        self.counters = Some(counters);
    }

    /// Rebuilds the gamma inverses after a reload changed a strip's gamma.
    pub fn reload(&mut self, layout: &Layout) {
        self.inverse = layout
            .strips
            .iter()
            .map(|s| inverse_gamma(s.gamma))
            .collect();
    }

    fn timeout(&self) -> Duration {
        self.cfg.as_ref().map_or(Duration::MAX, |c| c.timeout)
    }

    pub fn fade_back(&self) -> Duration {
        self.cfg.as_ref().map_or(Duration::ZERO, |c| c.fade_back)
    }

    pub fn shows(&self, z: usize) -> bool {
        matches!(self.zones.get(z), Some(ZoneFeed::Active { .. }))
    }

    /// Takes a new frame. Returns the zones to fade back (their source ended).
    pub fn on_frame(
        &mut self,
        frame: Box<StreamFrame>,
        zones: &[ZoneState],
        now: Instant,
    ) -> Vec<usize> {
        let mut fade = Vec::new();
        if self.cfg.is_none() {
            frame.recycle();
            return fade;
        }
        self.last_frame = Some(now);
        let ignoring = self.mode != Override::Allow;
        for (z, feed) in frame.feed.iter().enumerate() {
            self.zones[z] = match (*feed, self.zones[z]) {
                (Feed::None, s) => s,
                (Feed::Data, _) if ignoring => ZoneFeed::Idle,
                (Feed::Data, ZoneFeed::Suppressed { .. }) => ZoneFeed::Suppressed { last: now },
                (Feed::Data, _) => {
                    self.watch[z] = watched(&zones[z]);
                    ZoneFeed::Active { last: now }
                }
                (Feed::Ended, ZoneFeed::Active { .. }) => {
                    fade.push(z);
                    ZoneFeed::Idle
                }
                (Feed::Ended, _) => ZoneFeed::Idle,
            };
        }
        if frame.feed.iter().all(|f| *f != Feed::Data) && frame.feed.contains(&Feed::Ended) {
            // Every source said goodbye: "ignore now" has nothing left to ignore.
            self.last_frame = None;
        }
        if let Some(old) = self.frame.replace(frame) {
            old.recycle();
        }
        fade
    }

    /// Hands back zones whose stream went silent; ends "ignore now" once the stream stopped. Returns the
    /// zones to fade back.
    pub fn expire(&mut self, now: Instant) -> Vec<usize> {
        let timeout = self.timeout();
        let mut fade = Vec::new();
        for (z, s) in self.zones.iter_mut().enumerate() {
            match *s {
                ZoneFeed::Active { last } if now.saturating_duration_since(last) >= timeout => {
                    fade.push(z);
                    *s = ZoneFeed::Idle;
                }
                ZoneFeed::Suppressed { last } if now.saturating_duration_since(last) >= timeout => {
                    *s = ZoneFeed::Idle;
                }
                _ => {}
            }
        }
        if self
            .last_frame
            .is_some_and(|t| now.saturating_duration_since(t) >= timeout)
        {
            self.last_frame = None;
        }
        if self.mode == Override::IgnoreNow && self.last_frame.is_none() {
            self.mode = Override::Allow;
        }
        fade
    }

    /// When [`StreamLayer::expire`] has something to do next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.timeout();
        let zones = self.zones.iter().filter_map(|s| match s {
            ZoneFeed::Active { last } | ZoneFeed::Suppressed { last } => Some(*last + timeout),
            ZoneFeed::Idle => None,
        });
        let stream = self.last_frame.map(|t| t + timeout);
        zones.chain(stream).min()
    }

    /// Notices the user taking an active zone over (off, a colour or an effect, from any source) and
    /// holds the stream off it. Returns the zones newly held off.
    pub fn reconcile(&mut self, zones: &[ZoneState]) -> Vec<usize> {
        let mut held = Vec::new();
        for (z, st) in zones.iter().enumerate() {
            let now = watched(st);
            if let ZoneFeed::Active { last } = self.zones[z] {
                let (on, color, effect) = self.watch[z];
                if (on && !now.0) || color != now.1 || effect != now.2 {
                    self.zones[z] = ZoneFeed::Suppressed { last };
                    held.push(z);
                }
            }
            self.watch[z] = now;
        }
        held
    }

    /// Holds the stream off zone `z` (an explicit command: off, colour or effect). Returns whether it
    /// was showing.
    pub fn suppress(&mut self, z: usize) -> bool {
        match self.zones[z] {
            ZoneFeed::Active { last } => {
                self.zones[z] = ZoneFeed::Suppressed { last };
                true
            }
            _ => false,
        }
    }

    /// Lets the stream back onto zone `z` (effect `realtime`).
    pub fn allow(&mut self, z: usize, zones: &[ZoneState]) {
        if let ZoneFeed::Suppressed { last } = self.zones[z] {
            self.zones[z] = ZoneFeed::Active { last };
            self.watch[z] = watched(&zones[z]);
        }
    }

    /// The override select. Ignoring hands every shown zone back (returned, to fade); allowing lets the
    /// stream back onto every zone the user had taken over.
    pub fn set_mode(&mut self, mode: Override, zones: &[ZoneState]) -> Vec<usize> {
        self.mode = mode;
        let mut fade = Vec::new();
        for (z, (feed, st)) in self.zones.iter_mut().zip(zones).enumerate() {
            match (mode, *feed) {
                (Override::Allow, ZoneFeed::Suppressed { last }) => {
                    *feed = ZoneFeed::Active { last };
                    self.watch[z] = watched(st);
                }
                (Override::IgnoreNow | Override::IgnoreUntilRestart, ZoneFeed::Active { .. }) => {
                    fade.push(z);
                    *feed = ZoneFeed::Idle;
                }
                (
                    Override::IgnoreNow | Override::IgnoreUntilRestart,
                    ZoneFeed::Suppressed { .. },
                ) => {
                    *feed = ZoneFeed::Idle;
                }
                _ => {}
            }
        }
        fade
    }

    /// Draws zone `z` over its base layer when the stream shows there; `level` is zone × master
    /// brightness. Returns whether it drew.
    pub fn draw(&self, z: usize, level: u8, out: &mut [Rgb], out_w: &mut [u8]) -> bool {
        let (Some(cfg), Some(frame)) = (&self.cfg, &self.frame) else {
            return false;
        };
        if !self.shows(z) {
            return false;
        }
        let level = if cfg.brightness { level } else { 255 };
        let inv = (cfg.gamma == StreamGamma::Sender).then(|| &self.inverse[self.zone_strip[z]]);
        let cpp = self.shape.cpp[z];
        let src = self.shape.zone(&frame.channels, z);
        // A zone with a white plane takes the stream's fourth channel on its white LED; any other
        // zone folds it into RGB (`channels_to_rgb`).
        let white = cpp == 4 && out_w.len() == out.len();
        if !white {
            out_w.fill(0);
        }
        for (i, (p, c)) in out.iter_mut().zip(src.chunks_exact(cpp)).enumerate() {
            let (mut rgb, mut w) = if white {
                (Rgb::new(c[0], c[1], c[2]), c[3])
            } else {
                (channels_to_rgb(c), 0)
            };
            if let Some(t) = inv {
                rgb = Rgb::new(t[rgb.r as usize], t[rgb.g as usize], t[rgb.b as usize]);
                w = t[w as usize];
            }
            *p = if level < 255 { rgb.scale8(level) } else { rgb };
            if white {
                out_w[i] = crate::color::scale8(w, level);
            }
        }
        true
    }

    /// The status as Home Assistant should see it now.
    pub fn status(&self) -> RealtimeStatus {
        let feeding: Vec<bool> = self.zones.iter().map(|s| *s != ZoneFeed::Idle).collect();
        // The source shows while a stream arrives, shown or ignored.
        let frame = self.frame.as_ref().filter(|_| self.last_frame.is_some());
        RealtimeStatus {
            active: (0..self.zones.len()).map(|z| self.shows(z)).collect(),
            feeding,
            mode: self.mode,
            source: frame.and_then(|f| f.source),
            fps: frame.map_or(0.0, |f| f.fps),
        }
    }

    /// The status, when it differs from the one announced last (FPS alone at most every 5 s). Checking
    /// allocates nothing (it runs every frame); only a change builds a new status.
    pub fn announce(&mut self, now: Instant) -> Option<RealtimeStatus> {
        let a = &self.announced;
        let zones_same = self.zones.iter().enumerate().all(|(z, s)| {
            a.active[z] == matches!(s, ZoneFeed::Active { .. })
                && a.feeding[z] == (*s != ZoneFeed::Idle)
        });
        let frame = self.frame.as_ref().filter(|_| self.last_frame.is_some());
        let (source, fps) = (frame.and_then(|f| f.source), frame.map_or(0.0, |f| f.fps));
        let same = zones_same && a.mode == self.mode && a.source == source;
        let fps_moved = (fps.round() - a.fps.round()).abs() >= 1.0;
        let fps_due = self
            .announced_at
            .is_none_or(|t| now.saturating_duration_since(t) >= FPS_ANNOUNCE);
        if same && !(fps_moved && fps_due) {
            return None;
        }
        let s = self.status();
        self.announced = s.clone();
        self.announced_at = Some(now);
        Some(s)
    }
}

/// For each wire value v, the input whose gamma-corrected value is nearest to v.
fn inverse_gamma(gamma: f32) -> [u8; 256] {
    let table = GammaTable::new(gamma).0;
    let mut inv = [0u8; 256];
    for (v, slot) in inv.iter_mut().enumerate() {
        let best = (0..=255usize)
            .min_by_key(|&x| ((table[x] as i32 - v as i32).abs(), x))
            .unwrap_or(v);
        *slot = best as u8;
    }
    inv
}

#[cfg(test)]
mod tests;
