//! The types realtime input (DDP, E1.31) and the render loop share: the shape of a realtime frame, the
//! pre-allocated frame buffer that travels between them, the receiver's counters, the override and the
//! status announced to Home Assistant.
//!
//! They live in the engine (the lower layer) so `src/stream/` can depend on the engine and not the other
//! way round. A [`StreamFrame`] is allocated once and recycled: the receiver fills one, sends it in a
//! `Command::Stream`, the render loop keeps it as the current picture and hands the previous one back
//! through [`StreamFrame::recycle`]. Nothing on that path allocates.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;

use serde::Serialize;

use super::stream_config::RealtimeConfig;
use crate::color::Rgb;
use crate::layout::{Layout, StripSpec};

/// Channels one pixel of `strip` takes in a realtime stream: 3 (RGB) or 4 (RGBW), as on its wire.
pub fn channels_per_pixel(strip: &StripSpec) -> usize {
    strip.bytes_per_pixel()
}

/// One pixel's channels as an RGB colour. RGB is taken as is; a fourth (white) channel is added to all
/// three (used for zones without a white plane; `StreamLayer::draw` puts it on the white LED otherwise).
#[inline]
pub fn channels_to_rgb(c: &[u8]) -> Rgb {
    match c {
        [r, g, b] => Rgb::new(*r, *g, *b),
        [r, g, b, w, ..] => Rgb::new(
            r.saturating_add(*w),
            g.saturating_add(*w),
            b.saturating_add(*w),
        ),
        _ => Rgb::BLACK,
    }
}

/// Where each zone's channels sit in a frame buffer: zone-major, `cpp` channels per pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameShape {
    pub base: Vec<usize>,
    pub cpp: Vec<usize>,
    pub len: Vec<usize>,
    pub total: usize,
}

impl FrameShape {
    pub fn new(layout: &Layout) -> Self {
        let (mut base, mut cpp, mut len, mut total) = (vec![], vec![], vec![], 0);
        for z in &layout.zones {
            let c = channels_per_pixel(&layout.strips[z.strip]);
            base.push(total);
            cpp.push(c);
            len.push(z.len);
            total += z.len * c;
        }
        FrameShape {
            base,
            cpp,
            len,
            total,
        }
    }

    /// The channels of zone `z`.
    pub fn zone<'a>(&self, channels: &'a [u8], z: usize) -> &'a [u8] {
        &channels[self.base[z]..self.base[z] + self.len[z] * self.cpp[z]]
    }
}

/// The protocol a stream arrives by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Ddp,
    E131,
}

impl Protocol {
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Ddp => "DDP",
            Protocol::E131 => "E1.31",
        }
    }
}

/// Who is sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub protocol: Protocol,
    pub addr: SocketAddr,
}

/// What a frame says about one zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Feed {
    /// No data for this zone since the previous frame.
    #[default]
    None,
    /// New data for this zone.
    Data,
    /// The source feeding this zone has ended its stream (E1.31 stream-terminated): hand back now.
    Ended,
}

/// One realtime picture for every zone, plus what changed since the previous one.
pub struct StreamFrame {
    /// Every zone's channels, laid out by [`FrameShape`]; zones without data keep their last values.
    pub channels: Vec<u8>,
    pub feed: Vec<Feed>,
    pub source: Option<Source>,
    /// Frames per second the receiver is committing.
    pub fps: f32,
    home: Option<SyncSender<Box<StreamFrame>>>,
}

impl StreamFrame {
    /// A buffer for `shape` that goes back to `home` when the render loop is done with it.
    pub fn new(shape: &FrameShape, home: Option<SyncSender<Box<StreamFrame>>>) -> Box<Self> {
        Box::new(StreamFrame {
            channels: vec![0; shape.total],
            feed: vec![Feed::None; shape.len.len()],
            source: None,
            fps: 0.0,
            home,
        })
    }

    /// Returns the buffer to the receiver's pool (dropped when the receiver is gone).
    pub fn recycle(self: Box<Self>) {
        if let Some(home) = self.home.clone() {
            let _ = home.try_send(self);
        }
    }
}

impl std::fmt::Debug for StreamFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamFrame")
            .field("source", &self.source)
            .field("fps", &self.fps)
            .finish_non_exhaustive()
    }
}

/// What realtime input asks of the render loop.
#[derive(Debug)]
pub enum StreamCommand {
    /// The receiver is running: turn the layer on with these settings, and read these counters.
    Attach {
        config: Box<RealtimeConfig>,
        counters: Arc<StreamCounters>,
    },
    /// A new picture (recycled after use).
    Frame(Box<StreamFrame>),
    /// The "realtime override" select.
    Override(Override),
    /// Effect `realtime` on a zone: apply the rest of the light command, then let the stream back on.
    Allow {
        zone: usize,
        cmd: crate::engine::zone::LightCommand,
    },
}

/// What the receiver has counted since start (lock-free; read for `B/health`).
#[derive(Debug, Default)]
pub struct StreamCounters {
    pub packets: AtomicU64,
    pub frames: AtomicU64,
    /// Frames not handed to the render loop because it still held every buffer.
    pub frames_dropped: AtomicU64,
    /// Datagrams that are not valid DDP / E1.31 (truncated, wrong identifiers, lengths past the end).
    pub malformed: AtomicU64,
    /// Valid packets that carry no pixels for us (sync, discovery, query, preview, other start codes).
    pub unsupported: AtomicU64,
    /// E1.31 packets out of sequence (§6.7.2).
    pub out_of_sequence: AtomicU64,
    /// Packets from a source that does not hold the stream (lower priority, another sender, too many).
    pub other_source: AtomicU64,
    /// Valid packets whose data falls outside every mapped zone.
    pub unmapped: AtomicU64,
}

/// A copy of the counters for `B/health`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamHealth {
    pub packets: u64,
    pub frames: u64,
    pub frames_dropped: u64,
    pub malformed: u64,
    pub unsupported: u64,
    pub out_of_sequence: u64,
    pub other_source: u64,
    pub unmapped: u64,
}

impl StreamCounters {
    pub fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StreamHealth {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StreamHealth {
            packets: r(&self.packets),
            frames: r(&self.frames),
            frames_dropped: r(&self.frames_dropped),
            malformed: r(&self.malformed),
            unsupported: r(&self.unsupported),
            out_of_sequence: r(&self.out_of_sequence),
            other_source: r(&self.other_source),
            unmapped: r(&self.unmapped),
        }
    }
}

/// The "realtime override" select.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Override {
    /// Streams are shown.
    #[default]
    Allow,
    /// Every stream is ignored until the daemon restarts (or `Allow` is chosen).
    IgnoreUntilRestart,
    /// The current stream is ignored; when it stops, this falls back to `Allow`.
    IgnoreNow,
}

impl Override {
    pub const ALL: [Override; 3] = [
        Override::Allow,
        Override::IgnoreUntilRestart,
        Override::IgnoreNow,
    ];

    /// The option text Home Assistant shows and sends.
    pub fn name(self) -> &'static str {
        match self {
            Override::Allow => "allow",
            Override::IgnoreUntilRestart => "ignore until restart",
            Override::IgnoreNow => "ignore now",
        }
    }

    pub fn parse(s: &str) -> Option<Override> {
        Override::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// What Home Assistant is told about realtime input (`B/realtime/state`).
#[derive(Clone, Debug, PartialEq)]
pub struct RealtimeStatus {
    /// Zones showing the stream now.
    pub active: Vec<bool>,
    /// Zones a stream is feeding, shown or held off by the user.
    pub feeding: Vec<bool>,
    pub mode: Override,
    pub source: Option<Source>,
    pub fps: f32,
}

impl RealtimeStatus {
    pub fn idle(zones: usize) -> Self {
        RealtimeStatus {
            active: vec![false; zones],
            feeding: vec![false; zones],
            mode: Override::Allow,
            source: None,
            fps: 0.0,
        }
    }

    pub fn any_active(&self) -> bool {
        self.active.iter().any(|&a| a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_names_round_trip() {
        for o in Override::ALL {
            assert_eq!(Override::parse(o.name()), Some(o));
        }
        assert_eq!(Override::parse("Ignore Now"), Some(Override::IgnoreNow));
        assert_eq!(Override::parse("sometimes"), None);
    }

    #[test]
    fn four_channels_fold_white_in() {
        assert_eq!(channels_to_rgb(&[1, 2, 3]), Rgb::new(1, 2, 3));
        assert_eq!(channels_to_rgb(&[1, 2, 250, 10]), Rgb::new(11, 12, 255));
    }

    #[test]
    fn recycled_frames_go_home_without_blocking() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let shape = FrameShape {
            base: vec![0],
            cpp: vec![3],
            len: vec![2],
            total: 6,
        };
        StreamFrame::new(&shape, Some(tx.clone())).recycle();
        StreamFrame::new(&shape, Some(tx)).recycle(); // pool full: dropped, no block
        assert_eq!(rx.try_recv().map(|f| f.channels.len()).ok(), Some(6));
        assert!(rx.try_recv().is_err());
    }
}
