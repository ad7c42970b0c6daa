//! The compositor: turns zone state into one frame of wire bytes per strip.
//!
//! Per zone it draws the base layer (static colour 10, or the running effect 20) at zone × master
//! brightness, the realtime stream 25 when one shows there (`stream_layer.rs`; in a sync group effects
//! read `sync_time`), then the overlays above it in priority order — the edit-mode indicator 30, transition 40
//! (a cross-fade from what was last shown, or a sunrise), flash 45 — and places the result on the
//! zone's strip pixels (honouring `reversed`). Per strip it then runs the output pipeline
//! (`output/pipeline.rs`: gamma → white extraction → power limit → colour order). Every buffer is
//! allocated once at start; [`Compositor::render`] and [`Compositor::encode`] allocate nothing. An
//! overlay that ends simply stops being applied, so the zone is back on its base output at once.
//!
//! A fade keeps each channel's fractional part (1/256 of a level, `fade.rs`) beside the pixels; the
//! fractions reach the pipeline only for strips where a fade runs, so every other frame takes the
//! plain path.
//!
//! Zones on a strip that lights a white LED also carry a *white plane*: one explicit white level per
//! pixel (from an `rgbw` or `white` colour), drawn, faded (with its fractions) and flashed with the RGB
//! pixels. The plane is empty on every other zone, so RGB strips pay nothing for it. Effects and
//! palettes draw RGB only: a zone's explicit white reaches an effect folded into its colour (as the
//! white LED's colour), and the strip's white extraction puts it back on the W LED.

use std::time::{Duration, Instant};

use super::settings::Easing;
use super::stream_layer::StreamLayer;
use super::zone::{MasterState, ZoneState};
use crate::color::{Rgb, kelvin_to_rgb, scale8, scale8_all};
use crate::effects::{self, EffectCtx};
use crate::layout::Layout;
use crate::layout::ZoneSpec;
use crate::output::OutFrame;
use crate::output::pipeline::{Planes, StripPipeline};
use crate::palette::Palettes;

/// Half-period of the flash blink.
const FLASH_HALF: Duration = Duration::from_millis(500);

mod fade;

use fade::{Fade, FadeKind};

/// Per-zone render state (never seen outside the render loop).
struct ZoneRuntime {
    /// What the zone showed in the last frame (post brightness), unless `shown_is_base`.
    shown: Vec<Rgb>,
    /// No overlay changed the last frame: `base` (and `base_w`) is what it showed, and `shown` was
    /// not written (a copy per zone per frame saved).
    shown_is_base: bool,
    /// Scratch for the base layer.
    base: Vec<Rgb>,
    /// Snapshot the running transition fades from.
    from: Vec<Rgb>,
    /// Fractional part (1/256) of `shown` while a fade runs (see `fade.rs`); zero otherwise.
    frac: Vec<[u8; 3]>,
    /// White planes matching `shown`, `base`, `from` and `frac` (empty unless the strip lights a white
    /// LED).
    shown_w: Vec<u8>,
    base_w: Vec<u8>,
    from_w: Vec<u8>,
    frac_w: Vec<u8>,
    /// Whether `frac`/`frac_w` may hold non-zero fractions (a fade ran in the last frame).
    frac_live: bool,
    /// The white LED's colour, for folding an explicit white into an effect's colour.
    white_rgb: Rgb,
    transition: Option<Fade>,
    flash: Option<Fade>,
    /// When the running effect started (its t = 0).
    epoch: Instant,
    seed: u64,
}

/// One strip's composed planes, handed to its pipeline as [`Planes`].
struct StripBuffers {
    px: Vec<Rgb>,
    frac: Vec<[u8; 3]>,
    /// Explicit white per pixel (empty for strips without a lit white LED), and its fractions.
    white: Vec<u8>,
    white_frac: Vec<u8>,
    /// A fade runs on the strip this frame: the pipeline takes the fractions.
    fine: bool,
}

impl StripBuffers {
    fn planes(&self) -> Planes<'_> {
        Planes {
            pixels: &self.px,
            frac: if self.fine { &self.frac } else { &[] },
            white: &self.white,
            white_frac: if self.fine { &self.white_frac } else { &[] },
        }
    }
}

/// Owns every frame buffer.
pub struct Compositor {
    layout: Layout,
    zones: Vec<ZoneRuntime>,
    strips: Vec<StripBuffers>,
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

/// Indicator timings of the local control surface (the selection and edit-target flashes).
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
                    shown_is_base: false,
                    base: vec![Rgb::BLACK; z.len],
                    from: vec![Rgb::BLACK; z.len],
                    frac: vec![[0; 3]; z.len],
                    shown_w: vec![0; w_len],
                    base_w: vec![0; w_len],
                    from_w: vec![0; w_len],
                    frac_w: vec![0; w_len],
                    frac_live: false,
                    white_rgb: kelvin_to_rgb(strip.white_kelvin),
                    transition: None,
                    flash: None,
                    epoch: now,
                    seed: 0x5EED_0000 + i as u64,
                }
            })
            .collect();
        let strips = layout
            .strips
            .iter()
            .map(|s| {
                let w_len = if s.uses_white() { s.len } else { 0 };
                StripBuffers {
                    px: vec![Rgb::BLACK; s.len],
                    frac: vec![[0; 3]; s.len],
                    white: vec![0; w_len],
                    white_frac: vec![0; w_len],
                    fine: false,
                }
            })
            .collect();
        Compositor {
            zones,
            strips,
            pipelines: layout.strips.iter().map(StripPipeline::new).collect(),
            last_wire: layout
                .strips
                .iter()
                .map(|s| vec![0; s.len * s.bytes_per_pixel()])
                .collect(),
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

    /// Rebuilds the output pipelines (gamma, power limit, white mode and white point) from a reloaded
    /// layout of the same shape (the caller checks that).
    pub fn reload_output(&mut self, layout: &Layout, easing: Easing) {
        self.pipelines = layout.strips.iter().map(StripPipeline::new).collect();
        for (rt, z) in self.zones.iter_mut().zip(&layout.zones) {
            rt.white_rgb = kelvin_to_rgb(layout.strips[z.strip].white_kelvin);
        }
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
        if rt.shown_is_base {
            rt.from.copy_from_slice(&rt.base);
            rt.from_w.copy_from_slice(&rt.base_w);
        } else {
            rt.from.copy_from_slice(&rt.shown);
            rt.from_w.copy_from_slice(&rt.shown_w);
        }
        rt.transition = Some(Fade::new(now, duration));
    }

    /// Starts a sunrise on zone `z`: from dark along the curve of `engine/sunrise.rs` to its state.
    pub fn begin_sunrise(&mut self, z: usize, s: &crate::engine::sunrise::Sunrise, now: Instant) {
        let rt = &mut self.zones[z];
        rt.from.fill(Rgb::BLACK);
        rt.from_w.fill(0);
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
        for s in &mut self.strips {
            s.fine = false;
        }
        for (zi, (rt, st)) in self.zones.iter_mut().zip(states).enumerate() {
            let spec = &self.layout.zones[zi];
            // Base layer at zone × master brightness.
            let level = ((st.brightness as u16 * master.brightness as u16 + 127) / 255) as u8;
            let level = if self.blackout || !st.on { 0 } else { level };
            let palette = st.palette.and_then(|i| self.palettes.get(i));
            rt.draw_base(st, level, effect_now, self.sync_time, palette);
            // Realtime stream (25).
            if !self.blackout {
                self.stream.draw(zi, level, &mut rt.base, &mut rt.base_w);
            }
            // Edit-mode indicator (30).
            if let Some((iz, since)) = self.indicator
                && iz == zi
                && !self.blackout
            {
                let t = now.saturating_duration_since(since).as_secs_f32();
                indicate(st, t, &mut rt.base, &mut rt.base_w);
            }
            let fading = rt.overlay(now, level, self.easing);
            let strip = &mut self.strips[spec.strip];
            rt.place(spec, fading, strip);
            strip.fine |= fading;
        }
    }

    /// Encodes the strips into `frame`; a strip is marked dirty when its bytes changed or `force`.
    /// Returns whether any strip is dirty.
    pub fn encode(&mut self, frame: &mut OutFrame, force: bool) -> bool {
        let mut any = false;
        for s in 0..self.pipelines.len() {
            let planes = self.strips[s].planes();
            let rep = self.pipelines[s].encode_fine(&planes, &mut frame.strips[s]);
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
        &self.strips[s].px
    }

    /// Explicit white levels of strip `s` after composition (empty without a lit white LED).
    pub fn strip_white(&self, s: usize) -> &[u8] {
        &self.strips[s].white
    }
}

impl ZoneRuntime {
    /// Draws the base layer (static colour or effect) at `level` (zone × master; 0 = dark).
    fn draw_base(
        &mut self,
        st: &ZoneState,
        level: u8,
        effect_now: Instant,
        sync_time: Option<f64>,
        palette: Option<&crate::palette::Palette>,
    ) {
        if level == 0 {
            self.base.fill(Rgb::BLACK);
            self.base_w.fill(0);
        } else if let Some(e) = st.effect {
            // Effects draw RGB: an explicit white joins the colour as the white LED's colour.
            let mut color = st.color;
            if !self.base_w.is_empty() && st.white() > 0 {
                color = color.saturating_add(self.white_rgb.scale8(st.white()));
            }
            self.base_w.fill(0);
            let ctx = EffectCtx {
                t: sync_time.unwrap_or_else(|| {
                    effect_now
                        .saturating_duration_since(self.epoch)
                        .as_secs_f64()
                }),
                color,
                params: &st.params[e],
                seed: self.seed,
                palette,
            };
            effects::REGISTRY[e].render(&ctx, &mut self.base);
            if level < 255 {
                scale8_all(&mut self.base, level);
            }
        } else {
            self.base.fill(st.color.scale8(level));
            self.base_w.fill(scale8(st.white(), level));
        }
    }

    /// The transition (40) and flash (45) overlays: fills `shown` (and `frac`) from the base layer, or
    /// leaves `base` as what is shown when neither changes it. Returns whether a fade ran, i.e.
    /// whether the fractions are live.
    fn overlay(&mut self, now: Instant, level: u8, easing: Easing) -> bool {
        // Cross-fade from the snapshot (or the sunrise curve), exact to 1/256 of a level.
        let fading = match self.transition.map(|f| (f.progress(now), f.kind)) {
            Some((p, FadeKind::Cross)) if p < 1.0 => {
                let k = easing.apply(p);
                fade::blend(&self.from, &self.base, k, &mut self.shown, &mut self.frac);
                fade::blend_levels(
                    &self.from_w,
                    &self.base_w,
                    k,
                    &mut self.shown_w,
                    &mut self.frac_w,
                );
                true
            }
            Some((p, FadeKind::Sunrise { kelvin })) if p < 1.0 => {
                fade::sunrise(p, kelvin, level, &mut self.shown, &mut self.frac);
                self.shown_w.fill(0);
                self.frac_w.fill(0);
                true
            }
            other => {
                if other.is_some() {
                    self.transition = None;
                }
                false
            }
        };
        self.shown_is_base = !fading;
        // Flash: dark on every other half-second.
        if let Some(f) = self.flash {
            let elapsed = now.saturating_duration_since(f.start);
            if elapsed >= f.duration {
                self.flash = None;
            } else if (elapsed.as_millis() / FLASH_HALF.as_millis()) % 2 == 1 {
                self.shown.fill(Rgb::BLACK);
                self.shown_w.fill(0);
                self.frac.fill([0; 3]);
                self.frac_w.fill(0);
                self.shown_is_base = false;
            }
        }
        fading
    }

    /// Copies the zone's planes onto its strip. Fractions are copied while a fade runs and once more
    /// (as zeros) after it ends, so the strip's fraction buffer is zero wherever no fade runs.
    fn place(&mut self, spec: &ZoneSpec, fading: bool, strip: &mut StripBuffers) {
        let (shown, shown_w) = if self.shown_is_base {
            (&self.base, &self.base_w)
        } else {
            (&self.shown, &self.shown_w)
        };
        place(spec, shown, &mut strip.px);
        if !shown_w.is_empty() {
            place(spec, shown_w, &mut strip.white);
        }
        if fading || self.frac_live {
            if !fading {
                self.frac.fill([0; 3]);
                self.frac_w.fill(0);
            }
            place(spec, &self.frac, &mut strip.frac);
            if !self.frac_w.is_empty() {
                place(spec, &self.frac_w, &mut strip.white_frac);
            }
        }
        self.frac_live = fading;
    }
}

/// Copies one of a zone's planes onto its strip, honouring `reversed`.
#[inline]
fn place<T: Copy>(spec: &ZoneSpec, zone: &[T], strip: &mut [T]) {
    let dst = &mut strip[spec.start..spec.start + spec.len];
    if spec.reversed {
        for (d, s) in dst.iter_mut().zip(zone.iter().rev()) {
            *d = *s;
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
        let phase = (1.0 - libm::cosf(std::f32::consts::TAU * t / PULSE_PERIOD)) / 2.0;
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
