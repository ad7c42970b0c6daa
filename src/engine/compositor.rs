//! The compositor: turns zone state into one frame of wire bytes per strip.
//!
//! Per zone it draws the base layer (static colour 10, or the running effect 20) at zone × master
//! brightness, the realtime stream 25 when one shows there (`stream_layer.rs`; in a sync group effects
//! read `sync_time`), then the overlays above it in priority order — the edit-mode indicator 30, transition 40
//! (a cross-fade from what was last shown), flash 45 — and places the result on the zone's strip pixels (honouring `reversed`).
//! Per strip it then runs the output pipeline (gamma → power limit → colour order). Every buffer is
//! allocated once at start; [`Compositor::render`] and [`Compositor::encode`] allocate nothing.
//! An overlay that ends simply stops being applied, so the zone is back on its base output at once.

use std::time::{Duration, Instant};

use super::stream_layer::StreamLayer;
use super::zone::{MasterState, ZoneState};
use crate::color::Rgb;
use crate::config::Easing;
use crate::effects::{self, EffectCtx};
use crate::layout::Layout;
use crate::output::OutFrame;
use crate::output::pipeline::StripPipeline;
use crate::palette::Palettes;

/// Half-period of the flash blink.
const FLASH_HALF: Duration = Duration::from_millis(500);

mod fade;

use fade::{Fade, FadeKind};

/// Per-zone render state (never seen outside the render loop).
struct ZoneRuntime {
    /// What the zone showed in the last frame (post brightness).
    shown: Vec<Rgb>,
    /// Scratch for the base layer.
    base: Vec<Rgb>,
    /// Snapshot the running transition fades from.
    from: Vec<Rgb>,
    /// Fractional part (1/256) of `shown` while a fade runs (see `fade.rs`); zero otherwise.
    frac: Vec<[u8; 3]>,
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
    strip_frac: Vec<Vec<[u8; 3]>>,
    pipelines: Vec<StripPipeline>,
    last_wire: Vec<Vec<u8>>,
    easing: Easing,
    /// Estimated current per strip in the last encode (mA, before limiting).
    pub current_ma: Vec<f32>,
    /// Forces every zone dark (shutdown fade-out) without touching zone state.
    pub blackout: bool,
    /// The zone showing the edit-mode indicator, and since when.
    indicator: Option<(usize, Instant)>,
    /// Realtime input (DDP / E1.31), the layer at priority 25.
    pub stream: StreamLayer,
    /// In a sync group: the effect time of this frame (wall-clock seconds since the group origin),
    /// used for every zone instead of the time since its effect started.
    pub sync_time: Option<f64>,
    /// Palettes the zones' effects draw from (zone state holds indexes into it).
    palettes: Palettes,
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
            .map(|(i, z)| ZoneRuntime {
                shown: vec![Rgb::BLACK; z.len],
                base: vec![Rgb::BLACK; z.len],
                from: vec![Rgb::BLACK; z.len],
                frac: vec![[0; 3]; z.len],
                transition: None,
                flash: None,
                epoch: now,
                seed: 0x5EED_0000 + i as u64,
            })
            .collect();
        Compositor {
            zones,
            strip_px: layout
                .strips
                .iter()
                .map(|s| vec![Rgb::BLACK; s.len])
                .collect(),
            strip_frac: layout.strips.iter().map(|s| vec![[0; 3]; s.len]).collect(),
            pipelines: layout.strips.iter().map(StripPipeline::new).collect(),
            last_wire: layout.strips.iter().map(|s| vec![0; s.len * 3]).collect(),
            current_ma: vec![0.0; layout.strips.len()],
            layout: layout.clone(),
            easing,
            blackout: false,
            indicator: None,
            stream: StreamLayer::new(layout),
            sync_time: None,
            palettes: Palettes::default(),
        }
    }

    /// The palettes zone state's indexes refer to (built-in and user ones, from the config).
    pub fn set_palettes(&mut self, palettes: Palettes) {
        self.palettes = palettes;
    }

    /// Rebuilds the output pipelines (gamma, power limit) from a reloaded layout of the same shape.
    pub fn reload_output(&mut self, layout: &Layout, easing: Easing) {
        self.pipelines = layout.strips.iter().map(StripPipeline::new).collect();
        self.easing = easing;
        self.stream.reload(layout);
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
        rt.transition = Some(Fade::new(now, duration));
    }

    /// Starts a sunrise on zone `z`: from dark along the curve of `engine/sunrise.rs` to its state.
    pub fn begin_sunrise(&mut self, z: usize, s: &crate::engine::sunrise::Sunrise, now: Instant) {
        let rt = &mut self.zones[z];
        rt.from.fill(Rgb::BLACK);
        rt.transition = (!s.duration.is_zero()).then_some(Fade {
            kind: FadeKind::Sunrise { kelvin: s.kelvin },
            ..Fade::new(now, s.duration)
        });
    }

    /// Restarts zone `z`'s effect clock (a newly selected effect starts at t = 0).
    pub fn restart_effect(&mut self, z: usize, now: Instant) {
        self.zones[z].epoch = now;
    }

    /// Blinks zone `z` for `duration`, then restores it.
    pub fn flash(&mut self, z: usize, duration: Duration, now: Instant) {
        self.zones[z].flash = (!duration.is_zero()).then_some(Fade::new(now, duration));
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

    /// How often frames are needed for the overlays at `now`: every `full` interval for the indicator,
    /// a flash or a quick fade, less often for a slow fade (`fade.rs`), `None` when none runs.
    pub fn pace(&self, now: Instant, full: Duration) -> Option<Duration> {
        if self.indicator.is_some() {
            return Some(full);
        }
        let mut pace: Option<Duration> = None;
        for (rt, spec) in self.zones.iter().zip(&self.layout.zones) {
            if rt.flash.is_some_and(|f| f.active(now)) {
                return Some(full);
            }
            if let Some(f) = rt.transition.filter(|f| f.active(now)) {
                let step = self.pipelines[spec.strip].max_step();
                let every = f.step_interval(step, self.easing).max(full);
                pace = Some(pace.map_or(every, |p| p.min(every)));
            }
        }
        pace
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
            } else if let Some(e) = st.effect {
                let ctx = EffectCtx {
                    t: self.sync_time.unwrap_or_else(|| {
                        effect_now.saturating_duration_since(rt.epoch).as_secs_f64()
                    }),
                    color: st.color,
                    params: &st.params[e],
                    seed: rt.seed,
                    palette: st.palette.and_then(|i| self.palettes.get(i)),
                };
                effects::REGISTRY[e].render(&ctx, &mut rt.base);
                if level < 255 {
                    for p in rt.base.iter_mut() {
                        *p = p.scale8(level);
                    }
                }
            } else {
                rt.base.fill(st.color.scale8(level));
            }
            // Realtime stream (25).
            if !self.blackout {
                self.stream.draw(zi, level, &mut rt.base);
            }
            // Edit-mode indicator (30).
            if let Some((iz, since)) = self.indicator
                && iz == zi
                && !self.blackout
            {
                let t = now.saturating_duration_since(since).as_secs_f32();
                indicate(st, t, &mut rt.base);
            }
            // Transition overlay (40): cross-fade from the snapshot (or the sunrise curve), exact to
            // 1/256 of a level.
            match rt.transition.map(|f| (f.progress(now), f.kind)) {
                Some((p, FadeKind::Cross)) if p < 1.0 => {
                    let k = self.easing.apply(p);
                    fade::blend(&rt.from, &rt.base, k, &mut rt.shown, &mut rt.frac);
                }
                Some((p, FadeKind::Sunrise { kelvin })) if p < 1.0 => {
                    let level = if self.blackout || !st.on { 0 } else { level };
                    fade::sunrise(p, kelvin, level, &mut rt.shown, &mut rt.frac);
                }
                other => {
                    if other.is_some() {
                        rt.transition = None;
                    }
                    rt.shown.copy_from_slice(&rt.base);
                    rt.frac.fill([0; 3]);
                }
            }
            // Flash overlay (45): dark on every other half-second.
            if let Some(f) = rt.flash {
                let elapsed = now.saturating_duration_since(f.start);
                if elapsed >= f.duration {
                    rt.flash = None;
                } else if (elapsed.as_millis() / FLASH_HALF.as_millis()) % 2 == 1 {
                    rt.shown.fill(Rgb::BLACK);
                    rt.frac.fill([0; 3]);
                }
            }
            let strip = &mut self.strip_px[spec.strip];
            let frac = &mut self.strip_frac[spec.strip];
            let range = spec.start..spec.start + spec.len;
            strip[range.clone()].copy_from_slice(&rt.shown);
            frac[range.clone()].copy_from_slice(&rt.frac);
            if spec.reversed {
                strip[range.clone()].reverse();
                frac[range].reverse();
            }
        }
    }

    /// Encodes the strips into `frame`; a strip is marked dirty when its bytes changed or `force`.
    /// Returns whether any strip is dirty.
    pub fn encode(&mut self, frame: &mut OutFrame, force: bool) -> bool {
        let mut any = false;
        for s in 0..self.pipelines.len() {
            let rep = self.pipelines[s].encode_fine(
                &self.strip_px[s],
                &self.strip_frac[s],
                &mut frame.strips[s],
            );
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
}

/// Draws the indicator over a zone's base layer: a static zone pulses 15→100 % every 0.5 s, an effect
/// zone blinks white briefly every 0.35 s, an off zone blinks blue every 0.25 s.
fn indicate(st: &ZoneState, t: f32, base: &mut [Rgb]) {
    if !st.on {
        let lit = (t % OFF_BLINK_PERIOD) < OFF_BLINK_PERIOD / 2.0;
        base.fill(if lit { Rgb::new(0, 0, 160) } else { Rgb::BLACK });
    } else if st.effect.is_some() {
        if (t % EFFECT_BLINK_PERIOD) < EFFECT_BLINK_ON {
            base.fill(Rgb::new(200, 200, 200));
        }
    } else {
        let phase = (1.0 - (std::f32::consts::TAU * t / PULSE_PERIOD).cos()) / 2.0;
        let level = 0.15 + 0.85 * phase;
        for p in base.iter_mut() {
            *p = p.scale(level);
        }
    }
}

#[cfg(test)]
mod tests;
