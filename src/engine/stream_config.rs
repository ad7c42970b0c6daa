//! The `[realtime]` settings that realtime input (`src/stream/`) and the realtime layer
//! (`stream_layer.rs`) both use: ports and addresses, hand-back timing, brightness and gamma, and where
//! each zone sits in the realtime pixel space. `config/realtime.rs` validates the file into them.

use std::net::IpAddr;
use std::time::Duration;

/// How the stream's values relate to the strip's gamma.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamGamma {
    /// The sender already corrected its values (WLED's default for realtime, Hyperion, LedFx): they
    /// reach the wire as sent, so gamma is applied exactly once — by the sender.
    Sender,
    /// The values are plain colour values: the strip's gamma is applied as to any colour.
    Strip,
}

/// Where one zone sits in the realtime pixel space, when the user maps zones one by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneOrigin {
    /// Logical pixel 0 of the zone is realtime pixel `n` (a DDP pixel index).
    Pixel(u32),
    /// The zone's first channel is this E1.31 universe and DMX address (1–512).
    Universe { universe: u16, address: u16 },
}

/// `[realtime]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RealtimeConfig {
    pub enabled: bool,
    pub bind: IpAddr,
    /// 0 = no DDP.
    pub ddp_port: u16,
    /// 0 = no E1.31.
    pub e131_port: u16,
    /// First universe of the realtime pixel space.
    pub e131_universe: u16,
    /// DMX address (1–512) of the first channel in the first universe.
    pub e131_address: u16,
    /// Join the multicast groups (239.255.hi.lo) of the mapped universes.
    pub multicast: bool,
    /// Silence after which a zone hands back to its own light.
    pub timeout: Duration,
    /// How long that hand-back fades.
    pub fade_back: Duration,
    /// Zone × master brightness scale the stream (so Home Assistant's dimmers work).
    pub brightness: bool,
    pub gamma: StreamGamma,
    /// Per zone (indexed like the layout): `None` everywhere = every zone in wire order; otherwise only
    /// the zones given are mapped.
    pub zones: Vec<Option<ZoneOrigin>>,
}

impl RealtimeConfig {
    /// Whether any zone is mapped one by one (else: the whole device in wire order).
    pub fn per_zone(&self) -> bool {
        self.zones.iter().any(Option::is_some)
    }
}
