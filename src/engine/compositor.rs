//! The compositor: turns zone state into one frame of wire bytes per strip.
//!
//! Per zone it draws the base layer (static colour 10, or the running effect 20) at zone × master
//! brightness, then the overlays above it in priority order — the edit-mode indicator 30, transition 40
//! (a cross-fade from what was last shown), flash 45 — and places the result on the zone's strip pixels (honouring `reversed`).
//! Per strip it then runs the output pipeline (gamma → white extraction → power limit → colour order).
//! Every buffer is allocated once at start; [`Compositor::render`] and [`Compositor::encode`] allocate
//! nothing. An overlay that ends simply stops being applied, so the zone is back on its base output at once.
//!
//! Zones on a strip that lights a white LED also carry a *white plane*: one explicit white level per
//! pixel (from an `rgbw` or `white` colour), drawn, faded and flashed with the RGB pixels. The plane is
//! empty on every other zone, so RGB strips pay nothing for it. Effects draw RGB only: a zone's explicit
//! white reaches an effect folded into its colour (as the white LED's colour), and the strip's white
//! extraction puts it back on the W LED.

use std::time::{Duration, Instant};

use super::zone::{MasterState, ZoneState};
use crate::color::{Rgb, kelvin_to_rgb, lerp8, scale8};
use crate::config::Easing;
use crate::effects::{self, EffectCtx};
use crate::layout::Layout;
use crate::output::OutFrame;
use crate::output::pipeline::StripPipeline;

/// Half-period of the flash blink.
const FLASH_HALF: Duration = Duration::from_millis(500);

#[derive(Clone, Copy, Debug)]
struct Fade {
    start: Instant,
    duration: Duration,
}

impl Fade {
    fn progress(&self, now: Instant) -> f32 {
        (now.saturating_duration_since(self.start).as_secs_f32() / self.duration.as_secs_f32())
            .min(1.0)
    }
}

/// Per-zone render state (never seen outside the render loop).
struct ZoneRuntime {
    /// What the zone showed in the last frame (post brightness).
    shown: Vec<Rgb>,
    /// Scratch for the base layer.
    base: Vec<Rgb>,
    /// Snapshot the running transition fades from.
    from: Vec<Rgb>,
    /// White planes matching `shown`, `base` and `from` (empty unless the strip lights a white LED).
    shown_w: Vec<u8>,
    base_w: Vec<u8>,
    from_w: Vec<u8>,
    /// The white LED's colour, for folding an explicit white into an effect's colour.
    white_rgb: Rgb,
    transition: Option<Fade>,
    flash: Option<Fade>,
    /// When the running effect started (its t = 0).
    epoch: Instant,
    seed: u64,
}

/// Owns every frame buffer.
pub struct Compositor {
    layout: Layout,
    zones: Vec<ZoneRuntime>,
    strip_px: Vec<Vec<Rgb>>,
    /// Explicit white per strip pixel (empty for strips without a lit white LED).
    strip_w: Vec<Vec<u8>>,
    pipelines: Vec<StripPipeline>,
    last_wire: Vec<Vec<u8>>,
    easing: Easing,
    /// Estimated current per strip in the last encode (mA, before limiting).
    pub current_ma: Vec<f32>,
    /// Forces every zone dark (shutdown fade-out) without touching zone state.
    pub blackout: bool,
    /// The zone showing the edit-mode indicator, and since when.
    indicator: Option<(usize, Instant)>,
}

/// Indicator timings (SPEC §5).
const PULSE_PERIOD: f32 = 0.5;
const EFFECT_BLINK_PERIOD: f32 = 0.35;
const EFFECT_BLINK_ON: f32 = 0.07;
const OFF_BLINK_PERIOD: f32 = 0.25;

impl Compositor {
    pub fn new(layout: &Layout, easing: Easing, now: Instant) -> Self {
        let zones = layout
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let strip = &layout.strips[z.strip];
                let w_len = if strip.uses_white() { z.len } else { 0 };
                ZoneRuntime {
                    shown: vec![Rgb::BLACK; z.len],
                    base: vec![Rgb::BLACK; z.len],
                    from: vec![Rgb::BLACK; z.len],
                    shown_w: vec![0; w_len],
                    base_w: vec![0; w_len],
                    from_w: vec![0; w_len],
                    white_rgb: kelvin_to_rgb(strip.white_kelvin),
                    transition: None,
                    flash: None,
                    epoch: now,
                    seed: 0x5EED_0000 + i as u64,
                }
            })
            .collect();
        Compositor {
            zones,
            strip_px: layout
                .strips
                .iter()
                .map(|s| vec![Rgb::BLACK; s.len])
                .collect(),
            strip_w: layout
                .strips
                .iter()
                .map(|s| vec![0; if s.uses_white() { s.len } else { 0 }])
                .collect(),
            pipelines: layout.strips.iter().map(StripPipeline::new).collect(),
            last_wire: layout
                .strips
                .iter()
                .map(|s| vec![0; s.len * s.channels()])
                .collect(),
            current_ma: vec![0.0; layout.strips.len()],
            layout: layout.clone(),
            easing,
            blackout: false,
            indicator: None,
        }
    }

    /// Rebuilds the output pipelines (gamma, power limit, white mode and white point) from a reloaded
    /// layout of the same shape (the caller checks that).
    pub fn reload_output(&mut self, layout: &Layout, easing: Easing) {
        self.pipelines = layout.strips.iter().map(StripPipeline::new).collect();
        for (rt, z) in self.zones.iter_mut().zip(&layout.zones) {
            rt.white_rgb = kelvin_to_rgb(layout.strips[z.strip].white_kelvin);
        }
        self.easing = easing;
        self.layout = layout.clone();
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Starts a cross-fade of zone `z` from what it shows now to whatever its state renders next.
    pub fn begin_transition(&mut self, z: usize, duration: Duration, now: Instant) {
        let rt = &mut self.zones[z];
        if duration.is_zero() {
            rt.transition = None;
            return;
        }
        rt.from.copy_from_slice(&rt.shown);
        rt.from_w.copy_from_slice(&rt.shown_w);
        rt.transition = Some(Fade {
            start: now,
            duration,
        });
    }

    /// Restarts zone `z`'s effect clock (a newly selected effect starts at t = 0).
    pub fn restart_effect(&mut self, z: usize, now: Instant) {
        self.zones[z].epoch = now;
    }

    /// Blinks zone `z` for `duration`, then restores it.
    pub fn flash(&mut self, z: usize, duration: Duration, now: Instant) {
        self.zones[z].flash = (!duration.is_zero()).then_some(Fade {
            start: now,
            duration,
        });
    }

    /// Shows the edit-mode indicator on zone `z` (or nowhere). Moving it restarts its cycle.
    pub fn set_indicator(&mut self, z: Option<usize>, now: Instant) {
        if self.indicator.map(|(i, _)| i) != z {
            self.indicator = z.map(|z| (z, now));
        }
    }

    /// Whether a transition (e.g. the shutdown fade-out) is still running at `now`.
    pub fn transitions_active(&self, now: Instant) -> bool {
        self.zones
            .iter()
            .any(|z| z.transition.is_some_and(|f| f.progress(now) < 1.0))
    }

    /// Whether any indicator, transition or flash is still running at `now`.
    pub fn overlays_active(&self, now: Instant) -> bool {
        self.indicator.is_some()
            || self.zones.iter().any(|z| {
                z.transition.is_some_and(|f| f.progress(now) < 1.0)
                    || z.flash.is_some_and(|f| f.progress(now) < 1.0)
            })
    }

    /// Composes every zone at real time `now` onto the strip pixel buffers; effects are drawn at
    /// `effect_now` (the frame-step clock, equal to `now` unless paused).
    pub fn render(
        &mut self,
        now: Instant,
        effect_now: Instant,
        states: &[ZoneState],
        master: &MasterState,
    ) {
        for (zi, (rt, st)) in self.zones.iter_mut().zip(states).enumerate() {
            let spec = &self.layout.zones[zi];
            // Base layer at zone × master brightness.
            let level = ((st.brightness as u16 * master.brightness as u16 + 127) / 255) as u8;
            if self.blackout || !st.on || level == 0 {
                rt.base.fill(Rgb::BLACK);
                rt.base_w.fill(0);
            } else if let Some(e) = st.effect {
                let mut color = st.color;
                if !rt.base_w.is_empty() && st.white() > 0 {
                    color = color.saturating_add(rt.white_rgb.scale8(st.white()));
                }
                rt.base_w.fill(0);
                let ctx = EffectCtx {
                    t: effect_now.saturating_duration_since(rt.epoch).as_secs_f64(),
                    color,
                    params: &st.params[e],
                    seed: rt.seed,
                };
                effects::REGISTRY[e].render(&ctx, &mut rt.base);
                if level < 255 {
                    for p in rt.base.iter_mut() {
                        *p = p.scale8(level);
                    }
                }
            } else {
                rt.base.fill(st.color.scale8(level));
                rt.base_w.fill(scale8(st.white(), level));
            }
            // Edit-mode indicator (30).
            if let Some((iz, since)) = self.indicator
                && iz == zi
                && !self.blackout
            {
                let t = now.saturating_duration_since(since).as_secs_f32();
                indicate(st, t, &mut rt.base, &mut rt.base_w);
            }
            // Transition overlay (40): cross-fade from the snapshot.
            match rt.transition.map(|f| f.progress(now)) {
                Some(p) if p < 1.0 => {
                    let k = self.easing.apply(p);
                    for ((out, from), to) in rt.shown.iter_mut().zip(&rt.from).zip(&rt.base) {
                        *out = from.lerp(*to, k);
                    }
                    for ((out, from), to) in rt.shown_w.iter_mut().zip(&rt.from_w).zip(&rt.base_w) {
                        *out = lerp8(*from, *to, k);
                    }
                }
                other => {
                    if other.is_some() {
                        rt.transition = None;
                    }
                    rt.shown.copy_from_slice(&rt.base);
                    rt.shown_w.copy_from_slice(&rt.base_w);
                }
            }
            // Flash overlay (45): dark on every other half-second.
            if let Some(f) = rt.flash {
                let elapsed = now.saturating_duration_since(f.start);
                if elapsed >= f.duration {
                    rt.flash = None;
                } else if (elapsed.as_millis() / FLASH_HALF.as_millis()) % 2 == 1 {
                    rt.shown.fill(Rgb::BLACK);
                    rt.shown_w.fill(0);
                }
            }
            place(spec, &rt.shown, &mut self.strip_px[spec.strip]);
            if !rt.shown_w.is_empty() {
                place(spec, &rt.shown_w, &mut self.strip_w[spec.strip]);
            }
        }
    }

    /// Encodes the strips into `frame`; a strip is marked dirty when its bytes changed or `force`.
    /// Returns whether any strip is dirty.
    pub fn encode(&mut self, frame: &mut OutFrame, force: bool) -> bool {
        let mut any = false;
        for s in 0..self.pipelines.len() {
            let rep =
                self.pipelines[s].encode(&self.strip_px[s], &self.strip_w[s], &mut frame.strips[s]);
            self.current_ma[s] = rep.requested_ma;
            let dirty = force || frame.strips[s] != self.last_wire[s];
            if dirty {
                self.last_wire[s].copy_from_slice(&frame.strips[s]);
            }
            frame.dirty[s] = dirty;
            any |= dirty;
        }
        any
    }

    /// Pixels of strip `s` after composition, before the output pipeline (tests, benches).
    pub fn strip_pixels(&self, s: usize) -> &[Rgb] {
        &self.strip_px[s]
    }

    /// Explicit white levels of strip `s` after composition (empty without a lit white LED).
    pub fn strip_white(&self, s: usize) -> &[u8] {
        &self.strip_w[s]
    }
}

/// Copies a zone's pixels (or white levels) onto its strip, honouring `reversed`.
#[inline]
fn place<T: Copy>(spec: &crate::layout::ZoneSpec, zone: &[T], strip: &mut [T]) {
    let dst = &mut strip[spec.start..spec.start + spec.len];
    if spec.reversed {
        for (d, p) in dst.iter_mut().rev().zip(zone) {
            *d = *p;
        }
    } else {
        dst.copy_from_slice(zone);
    }
}

/// Draws the indicator over a zone's base layer: a static zone pulses 15→100 % every 0.5 s, an effect
/// zone blinks white briefly every 0.35 s, an off zone blinks blue every 0.25 s. `white` is the zone's
/// white plane (empty without a white LED): it pulses with a static zone and is dark under a blink.
fn indicate(st: &ZoneState, t: f32, base: &mut [Rgb], white: &mut [u8]) {
    if !st.on {
        let lit = (t % OFF_BLINK_PERIOD) < OFF_BLINK_PERIOD / 2.0;
        base.fill(if lit { Rgb::new(0, 0, 160) } else { Rgb::BLACK });
        white.fill(0);
    } else if st.effect.is_some() {
        if (t % EFFECT_BLINK_PERIOD) < EFFECT_BLINK_ON {
            base.fill(Rgb::new(200, 200, 200));
            white.fill(0);
        }
    } else {
        let phase = (1.0 - (std::f32::consts::TAU * t / PULSE_PERIOD).cos()) / 2.0;
        let level = 0.15 + 0.85 * phase;
        for p in base.iter_mut() {
            *p = p.scale(level);
        }
        for w in white.iter_mut() {
            *w = (*w as f32 * level + 0.5) as u8;
        }
    }
}

#[cfg(test)]
mod tests;
