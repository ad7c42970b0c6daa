//! The realtime pixel space and how it lands on zones.
//!
//! A stream addresses one flat space of channels: DDP by byte offset, E1.31 by universe and DMX address
//! from `e131_universe` / `e131_address` on, 510 channels (170 RGB pixels) per universe (512 = 128
//! pixels when every strip has 4 channels per pixel), so pixels never straddle universes. By default
//! the space is the device's pixels in wire order: strip after strip, each strip's physical pixels from
//! 0, so a sender's model of the strip matches the wire (a `reversed` zone is reversed here too). With
//! `[realtime.zones.<id>]` each listed zone is a window of its own (`start` pixel, or `universe` and
//! `address`), in the zone's logical order; zones not listed keep their own light. Two zones may share
//! a window (mirroring). Data outside every window is ignored. Writing allocates nothing.

use crate::engine::stream_config::{RealtimeConfig, ZoneOrigin};
use crate::engine::stream_frame::{FrameShape, channels_per_pixel};
use crate::layout::Layout;

const MAX_SLOTS: usize = super::e131::MAX_SLOTS;

/// Channels one universe carries in the pixel space.
pub fn universe_channels(layout: &Layout) -> usize {
    let mut cpps = layout.strips.iter().map(channels_per_pixel);
    match cpps.next() {
        Some(c) if cpps.all(|d| d == c) => 512 - 512 % c,
        _ => 510,
    }
}

/// The realtime settings as `--check-config` prints them (empty when realtime input is off).
pub fn describe(rt: &RealtimeConfig, layout: &Layout) -> String {
    let mut out = String::new();
    if rt.enabled {
        let m = Mapping::new(layout, rt);
        let pixels: usize = m.windows.iter().map(|w| w.pixels).sum();
        let universes = m.universes(MAX_UNIVERSES_SHOWN);
        out.push_str(&format!(
            "realtime on {}: DDP port {}, E1.31 port {} universes {:?} from address {}, {} pixels mapped ({}), timeout {:?}, fade back {:?}\n",
            rt.bind,
            rt.ddp_port,
            rt.e131_port,
            universes,
            rt.e131_address,
            pixels,
            if rt.per_zone() { "per zone" } else { "wire order" },
            rt.timeout,
            rt.fade_back,
        ));
    }
    out
}

const MAX_UNIVERSES_SHOWN: usize = 64;

/// One zone's place in the space.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Window {
    zone: usize,
    /// First channel of the window in the space.
    start: u64,
    pixels: usize,
    cpp: usize,
    /// Space order runs against the zone's logical order.
    reversed: bool,
    /// Where the zone's channels start in a frame buffer.
    base: usize,
}

impl Window {
    fn end(&self) -> u64 {
        self.start + (self.pixels * self.cpp) as u64
    }
}

/// The realtime pixel space of one device.
#[derive(Clone, Debug)]
pub struct Mapping {
    windows: Vec<Window>,
    universe_channels: usize,
    first_universe: u16,
    first_address: u16,
    pub shape: FrameShape,
}

impl Mapping {
    pub fn new(layout: &Layout, cfg: &RealtimeConfig) -> Mapping {
        let shape = FrameShape::new(layout);
        let uch = universe_channels(layout);
        let mut strip_base = Vec::with_capacity(layout.strips.len());
        let mut acc = 0u64;
        for s in &layout.strips {
            strip_base.push(acc);
            acc += (s.len * channels_per_pixel(s)) as u64;
        }
        let mut windows = Vec::new();
        for (zi, z) in layout.zones.iter().enumerate() {
            let cpp = shape.cpp[zi];
            let (start, reversed) = match (cfg.per_zone(), cfg.zones.get(zi).copied().flatten()) {
                (false, _) => (strip_base[z.strip] + (z.start * cpp) as u64, z.reversed),
                (true, None) => continue,
                (true, Some(ZoneOrigin::Pixel(p))) => (p as u64 * cpp as u64, false),
                (true, Some(ZoneOrigin::Universe { universe, address })) => {
                    let ch = (universe.saturating_sub(cfg.e131_universe) as i64) * uch as i64
                        + address as i64
                        - cfg.e131_address as i64;
                    (ch.max(0) as u64, false)
                }
            };
            windows.push(Window {
                zone: zi,
                start,
                pixels: z.len,
                cpp,
                reversed,
                base: shape.base[zi],
            });
        }
        Mapping {
            windows,
            universe_channels: uch,
            first_universe: cfg.e131_universe,
            first_address: cfg.e131_address,
            shape,
        }
    }

    /// Zones that have a window.
    pub fn mapped_zones(&self) -> impl Iterator<Item = usize> + '_ {
        self.windows.iter().map(|w| w.zone)
    }

    /// Writes `data` at channel `offset` of the space into `channels` (a frame buffer) and marks the
    /// zones it reached in `touched`. Returns whether any zone was reached.
    pub fn write(
        &self,
        offset: u64,
        data: &[u8],
        channels: &mut [u8],
        touched: &mut [bool],
    ) -> bool {
        let end = offset + data.len() as u64;
        let mut any = false;
        for w in &self.windows {
            let (lo, hi) = (offset.max(w.start), end.min(w.end()));
            if lo >= hi {
                continue;
            }
            any = true;
            touched[w.zone] = true;
            let src = &data[(lo - offset) as usize..(hi - offset) as usize];
            let rel = (lo - w.start) as usize;
            if !w.reversed {
                channels[w.base + rel..w.base + rel + src.len()].copy_from_slice(src);
                continue;
            }
            for (i, &b) in src.iter().enumerate() {
                let r = rel + i;
                let (p, comp) = (r / w.cpp, r % w.cpp);
                channels[w.base + (w.pixels - 1 - p) * w.cpp + comp] = b;
            }
        }
        any
    }

    /// Writes the slots of one E1.31 universe (slot 1 first); see [`Mapping::write`].
    pub fn write_universe(
        &self,
        universe: u16,
        slots: &[u8],
        channels: &mut [u8],
        touched: &mut [bool],
    ) -> bool {
        match self.universe_span(universe, slots.len()) {
            Some((offset, skip, n)) => {
                self.write(offset, &slots[skip..skip + n], channels, touched)
            }
            None => false,
        }
    }

    /// Marks the zones universe `universe` reaches (a full universe), without writing.
    pub fn reach_universe(&self, universe: u16, touched: &mut [bool]) {
        if let Some((offset, _, n)) = self.universe_span(universe, MAX_SLOTS) {
            let end = offset + n as u64;
            for w in &self.windows {
                if offset.max(w.start) < end.min(w.end()) {
                    touched[w.zone] = true;
                }
            }
        }
    }

    /// Where `slots` slots of `universe` land: (channel offset, slots to skip, slots to use).
    fn universe_span(&self, universe: u16, slots: usize) -> Option<(u64, usize, usize)> {
        if universe < self.first_universe {
            return None;
        }
        let usable = slots.min(self.universe_channels);
        let ubase = (universe - self.first_universe) as i64 * self.universe_channels as i64
            - (self.first_address as i64 - 1);
        let skip = (-ubase).max(0) as usize;
        (skip < usable).then(|| (ubase.max(0) as u64, skip, usable - skip))
    }

    /// The universes a window reaches (for multicast joins), in order, at most `limit`.
    pub fn universes(&self, limit: usize) -> Vec<u16> {
        let lead = self.first_address as u64 - 1;
        let mut out: Vec<u16> = Vec::new();
        for w in &self.windows {
            let first = (w.start + lead) / self.universe_channels as u64;
            let last = (w.end() - 1 + lead) / self.universe_channels as u64;
            for u in first..=last {
                let u = self.first_universe as u64 + u;
                if u <= 63999 && !out.contains(&(u as u16)) && out.len() < limit {
                    out.push(u as u16);
                }
            }
        }
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(extra: &str) -> Config {
        Config::from_toml(&format!(
            r#"
[realtime]
enabled = true
{extra}
[[strips]]
id = "a"
gpio = 18
dma = 10
[[strips]]
id = "b"
gpio = 19
dma = 11
[[zones]]
id = "one"
strip = "a"
pixels = 3
[[zones]]
id = "two"
strip = "a"
pixels = 2
reversed = true
[[zones]]
id = "three"
strip = "b"
pixels = 200
"#
        ))
        .unwrap()
    }

    fn run<R>(m: &Mapping, f: impl FnOnce(&mut [u8], &mut [bool]) -> R) -> (Vec<u8>, Vec<bool>) {
        let mut ch = vec![0u8; m.shape.total];
        let mut touched = vec![false; 3];
        f(&mut ch, &mut touched);
        (ch, touched)
    }

    #[test]
    fn wire_order_by_default_with_reversed_zones() {
        let c = config("");
        let m = Mapping::new(&c.layout, &c.realtime);
        // Pixels 0..5 of the space are strip a: zone one (0..3) then zone two (3..5, reversed).
        let data: Vec<u8> = (1..=15).collect();
        let (ch, touched) = run(&m, |ch, t| assert!(m.write(0, &data, ch, t)));
        assert_eq!(touched, [true, true, false]);
        assert_eq!(&ch[..9], &data[..9]);
        // Space pixel 3 = physical pixel 3 = zone two's last logical pixel.
        assert_eq!(&ch[9..15], &[13, 14, 15, 10, 11, 12]);
        // Strip b starts at space pixel 5.
        let (ch, touched) = run(&m, |ch, t| m.write(15, &[7, 8, 9], ch, t));
        assert_eq!(touched, [false, false, true]);
        assert_eq!(&ch[15..18], &[7, 8, 9]);
    }

    #[test]
    fn partial_and_out_of_range_writes() {
        let c = config("");
        let m = Mapping::new(&c.layout, &c.realtime);
        // A write starting mid-pixel lands channel by channel.
        let (ch, _) = run(&m, |ch, t| m.write(4, &[1, 2], ch, t));
        assert_eq!(&ch[3..6], &[0, 1, 2]);
        // Past the end of every zone: nothing, no panic.
        let total = (5 + 200) * 3;
        let (_, touched) = run(&m, |ch, t| assert!(!m.write(total, &[1; 30], ch, t)));
        assert_eq!(touched, [false; 3]);
        let (_, _) = run(&m, |ch, t| {
            assert!(!m.write(u32::MAX as u64, &[1; 1440], ch, t))
        });
    }

    #[test]
    fn e131_universes_hold_170_pixels_from_the_start_address() {
        let c = config("e131_universe = 2\ne131_address = 4");
        let m = Mapping::new(&c.layout, &c.realtime);
        // Universe 2 from address 4 carries space pixels 0..169; address 1-3 are not ours.
        let mut slots = vec![0u8; 512];
        slots[3..6].copy_from_slice(&[9, 8, 7]);
        let (ch, touched) = run(&m, |ch, t| m.write_universe(2, &slots, ch, t));
        assert_eq!(&ch[..3], &[9, 8, 7]);
        assert!(touched[0] && touched[2]);
        // Universe 3 starts at space pixel 169 (509 channels of universe 2 were used).
        let (ch, touched) = run(&m, |ch, t| m.write_universe(3, &[1, 2, 3], ch, t));
        assert_eq!(touched, [false, false, true]);
        let z3 = m.shape.base[2] + (169 - 5) * 3;
        assert_eq!(&ch[z3..z3 + 3], &[1, 2, 3]);
        let (_, touched) = run(&m, |ch, t| m.write_universe(1, &[1; 512], ch, t));
        assert_eq!(
            touched, [false; 3],
            "a universe before the first is ignored"
        );
        assert_eq!(m.universes(64), vec![2, 3]);
    }

    #[test]
    fn per_zone_windows_leave_other_zones_alone() {
        let c = config(
            "[realtime.zones.two]\nstart = 0\n[realtime.zones.three]\nuniverse = 5\naddress = 4",
        );
        let m = Mapping::new(&c.layout, &c.realtime);
        assert_eq!(m.mapped_zones().collect::<Vec<_>>(), vec![1, 2]);
        // Zone two in logical order (no wire reversal) from pixel 0.
        let (ch, touched) = run(&m, |ch, t| m.write(0, &[1, 2, 3, 4, 5, 6], ch, t));
        assert_eq!(touched, [false, true, false]);
        assert_eq!(&ch[9..15], &[1, 2, 3, 4, 5, 6]);
        let (ch, touched) = run(&m, |ch, t| m.write_universe(5, &[0, 0, 0, 7, 7, 7], ch, t));
        assert_eq!(touched, [false, false, true]);
        assert_eq!(&ch[15..18], &[7, 7, 7]);
        assert_eq!(m.universes(64), vec![1, 5, 6]);
    }
}
