//! Device-level state and commands (`B/set`, `B/state`): edit mode, selected zone, edit target, lamp
//! mode, power, presets and identify.
//!
//! [`Control`] is owned by the render loop next to the zones it acts on, so a device command and the zone
//! changes it causes happen in one step. It returns which zones changed and how fast to fade them; the
//! render loop does the fading and announces the changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::input_event::{Button, ButtonAction, InputEvent};
use super::zone::{ColorMode, ZoneState};
use crate::color::{DEFAULT_PRESETS, Rgb, hsv, nearest_preset};
use crate::effects::{self, ParamId};

/// Power toggle fades (homeassistant/README.md §5, `power`).
pub const POWER_OFF_FADE: Duration = Duration::from_millis(800);
pub const POWER_ON_FADE: Duration = Duration::from_millis(1700);

/// What the modulator knob changes on the selected zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditTarget {
    #[default]
    Hue,
    Preset,
    Brightness,
    /// An effect parameter of an effect zone.
    Param(ParamId),
}

impl EditTarget {
    pub fn name(self) -> &'static str {
        match self {
            EditTarget::Hue => "hue",
            EditTarget::Preset => "preset",
            EditTarget::Brightness => "brightness",
            EditTarget::Param(p) => p.name(),
        }
    }

    /// Parses what `name` returns.
    pub fn parse(s: &str) -> Option<EditTarget> {
        match s {
            "hue" => Some(EditTarget::Hue),
            "preset" => Some(EditTarget::Preset),
            "brightness" => Some(EditTarget::Brightness),
            other => ParamId::parse(other).map(EditTarget::Param),
        }
    }
}

/// The control surface's state, reported on `B/state`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceState {
    pub edit_mode: bool,
    pub selected_zone: usize,
    pub edit_target: EditTarget,
    pub lamp: bool,
    pub frame_step: bool,
    /// Scene names, the scene recalled last and the name typed for the next save (`engine/scene.rs`).
    pub scenes: Vec<String>,
    pub scene: Option<String>,
    pub scene_name: String,
    /// Playlist names and the one playing.
    pub playlists: Vec<String>,
    pub playlist: Option<String>,
}

/// A validated `B/set` command: any subset.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DeviceCommand {
    pub edit_mode: Option<bool>,
    pub selected_zone: Option<usize>,
    pub edit_target: Option<EditTarget>,
    pub lamp: Option<bool>,
    pub power: Option<bool>,
    /// Preset index, applied to `zone` or else the selected zone.
    pub preset: Option<usize>,
    pub zone: Option<usize>,
    pub identify: bool,
    /// Pause (true) or resume (false) the effect clock.
    pub frame_step: Option<bool>,
    /// Step the paused clock by this many frames (negative = back).
    pub step: Option<i32>,
}

/// What an input did beyond zone changes, for the render loop to carry out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputOutcome {
    /// Zones changed, with the fade each gets.
    pub changed: Vec<(usize, Duration)>,
    /// Zones whose effect was switched (their effect clock restarts).
    pub restarted: Vec<usize>,
    /// Toggle frame-step mode.
    pub toggle_frame_step: bool,
    /// Frames to step.
    pub step: i32,
}

/// Device state plus what it needs to restore (lamp, power).
#[derive(Clone, Debug, Default)]
pub struct Control {
    pub state: DeviceState,
    pub lamp_zone: Option<usize>,
    pub lamp_color: Rgb,
    lamp_saved: Option<ZoneState>,
    power_saved: Option<Vec<bool>>,
}

impl Control {
    pub fn new(lamp_zone: Option<usize>, lamp_color: Rgb) -> Self {
        Control {
            lamp_zone,
            lamp_color,
            ..Default::default()
        }
    }

    /// The preset name nearest the selected zone's colour (for the preset select entity).
    pub fn preset_name(&self, zones: &[ZoneState]) -> &'static str {
        let c = zones
            .get(self.state.selected_zone)
            .map(|z| z.color)
            .unwrap_or_default();
        DEFAULT_PRESETS[nearest_preset(c)].0
    }

    /// Carries out a local input (README "The knobs, buttons and keys"). Encoders act on zones only in edit mode.
    pub fn on_input(&mut self, ev: InputEvent, zones: &mut [ZoneState]) -> InputOutcome {
        let mut out = InputOutcome::default();
        let sel = self.state.selected_zone.min(zones.len().saturating_sub(1));
        match ev {
            InputEvent::Button(Button::Edit, ButtonAction::Press) => {
                self.state.edit_mode = !self.state.edit_mode
            }
            InputEvent::Button(Button::Lamp, ButtonAction::Press) => {
                let cmd = DeviceCommand {
                    lamp: Some(!self.state.lamp),
                    ..Default::default()
                };
                out.changed = self.apply(&cmd, zones);
            }
            InputEvent::Button(Button::Power, ButtonAction::Press) => {
                let any_on = zones.iter().any(|z| z.on);
                out.changed = self.apply(
                    &DeviceCommand {
                        power: Some(!any_on),
                        ..Default::default()
                    },
                    zones,
                );
            }
            InputEvent::Button(Button::Effect, ButtonAction::Press) => {
                let to_effect = zones[sel].effect.is_none();
                self.set_effect_mode(sel, to_effect, zones, &mut out);
            }
            InputEvent::Static => self.set_effect_mode(sel, false, zones, &mut out),
            InputEvent::Effect => self.set_effect_mode(sel, true, zones, &mut out),
            InputEvent::FrameStep => out.toggle_frame_step = true,
            InputEvent::Step(n) => out.step = n,
            InputEvent::Button(..) => {}
            _ if !self.state.edit_mode => {}
            InputEvent::Selector(d) => {
                let n = zones.len() as i32;
                self.state.selected_zone = (sel as i32 + d).rem_euclid(n.max(1)) as usize;
                self.state.edit_target = default_target(&zones[self.state.selected_zone]);
            }
            InputEvent::SelectorClick => {
                if let Some(e) = zones[sel].effect {
                    let next = (e + 1) % effects::count();
                    zones[sel].effect = Some(next);
                    zones[sel].last_effect = next;
                    self.state.edit_target = default_target(&zones[sel]);
                    out.changed.push((sel, Duration::from_millis(300)));
                    out.restarted.push(sel);
                }
            }
            InputEvent::ModulatorClick => {
                self.state.edit_target = next_target(self.state.edit_target, &zones[sel])
            }
            InputEvent::Modulator(d) => {
                if self.modulate(sel, d, zones) {
                    out.changed.push((sel, Duration::ZERO));
                }
            }
        }
        out
    }

    fn set_effect_mode(
        &mut self,
        z: usize,
        effect: bool,
        zones: &mut [ZoneState],
        out: &mut InputOutcome,
    ) {
        let zone = &mut zones[z];
        let want = effect.then_some(zone.last_effect);
        if zone.effect != want {
            zone.effect = want;
            zone.on = true;
            out.changed.push((z, Duration::from_millis(500)));
            if effect {
                out.restarted.push(z);
            }
            self.state.edit_target = default_target(zone);
        }
    }

    /// Turns the modulator `d` detents on zone `z`; returns whether the zone changed.
    fn modulate(&mut self, z: usize, d: i32, zones: &mut [ZoneState]) -> bool {
        let zone = &mut zones[z];
        if !zone.on {
            return false; // an off zone is left alone (its indicator says so)
        }
        let target = match (zone.effect, self.state.edit_target) {
            (Some(_), EditTarget::Param(p)) => EditTarget::Param(p),
            (Some(_), _) => default_target(zone),
            (None, EditTarget::Param(_)) => EditTarget::Hue,
            (None, t) => t,
        };
        self.state.edit_target = target;
        match target {
            EditTarget::Hue => {
                let (h, s, _) = zone.color.to_hsv();
                let s = if s < 0.2 { 1.0 } else { s };
                let h = (h + 10.0 * d as f32).rem_euclid(360.0);
                zone.color = hsv(h, s, 1.0);
                zone.color_mode = ColorMode::Hs {
                    h: h.round(),
                    s: (s * 100.0).round(),
                };
            }
            EditTarget::Preset => {
                let n = DEFAULT_PRESETS.len() as i32;
                let i = (nearest_preset(zone.color) as i32 + d).rem_euclid(n) as usize;
                zone.color = DEFAULT_PRESETS[i].1;
                zone.color_mode = ColorMode::Rgb;
            }
            EditTarget::Brightness => {
                let pct = (zone.brightness as f32 * 100.0 / 255.0).round() as i32 + d;
                zone.brightness = ((pct.clamp(1, 100) as f32) * 2.55).round().max(1.0) as u8;
            }
            EditTarget::Param(p) => {
                let e = zone.effect.unwrap_or(zone.last_effect);
                let spec = effects::param_spec(e, p).unwrap_or_else(|| p.global());
                let v = zone.params[e].get(p) + spec.step * d as f32;
                zone.params[e].set(p, spec.clamp(v));
            }
        }
        true
    }

    /// Applies `cmd`; returns the zones it changed with the fade each should get.
    pub fn apply(
        &mut self,
        cmd: &DeviceCommand,
        zones: &mut [ZoneState],
    ) -> Vec<(usize, Duration)> {
        let mut changed = Vec::new();
        if let Some(e) = cmd.edit_mode {
            self.state.edit_mode = e;
        }
        if let Some(z) = cmd.selected_zone.filter(|&z| z < zones.len()) {
            self.state.selected_zone = z;
        }
        if let Some(t) = cmd.edit_target {
            self.state.edit_target = t;
        }
        if let Some(p) = cmd.preset.filter(|&p| p < DEFAULT_PRESETS.len()) {
            let z = cmd.zone.unwrap_or(self.state.selected_zone);
            if let Some(zone) = zones.get_mut(z) {
                zone.color = DEFAULT_PRESETS[p].1;
                zone.color_mode = ColorMode::Rgb;
                zone.effect = None;
                zone.on = true;
                changed.push((z, Duration::from_millis(300)));
            }
        }
        if let (Some(on), Some(z)) = (cmd.lamp, self.lamp_zone)
            && on != self.state.lamp
        {
            self.state.lamp = on;
            if on {
                self.lamp_saved = Some(zones[z].clone());
                let zone = &mut zones[z];
                zone.color = self.lamp_color;
                zone.color_mode = ColorMode::Rgb;
                zone.brightness = 255;
                zone.effect = None;
                zone.on = true;
            } else if let Some(saved) = self.lamp_saved.take() {
                zones[z] = saved;
            }
            changed.push((z, Duration::from_millis(500)));
        }
        if let Some(on) = cmd.power {
            if !on && zones.iter().any(|z| z.on) {
                self.power_saved = Some(zones.iter().map(|z| z.on).collect());
                for (i, z) in zones.iter_mut().enumerate() {
                    if z.on {
                        z.on = false;
                        changed.push((i, POWER_OFF_FADE));
                    }
                }
            } else if on && !zones.iter().any(|z| z.on) {
                let saved = self.power_saved.take();
                for (i, z) in zones.iter_mut().enumerate() {
                    let restore = saved
                        .as_ref()
                        .and_then(|s| s.get(i).copied())
                        .unwrap_or(true);
                    if restore {
                        z.on = true;
                        changed.push((i, POWER_ON_FADE));
                    }
                }
            }
        }
        changed
    }
}

/// The first edit target for a zone: hue on a static zone, the first parameter of its effect otherwise.
fn default_target(z: &ZoneState) -> EditTarget {
    match z.effect {
        Some(e) => effects::REGISTRY[e]
            .params()
            .first()
            .map(|p| EditTarget::Param(p.id))
            .unwrap_or(EditTarget::Hue),
        None => EditTarget::Hue,
    }
}

/// Modulator click: hue → preset → brightness on a static zone; the effect's parameters in turn otherwise.
fn next_target(t: EditTarget, z: &ZoneState) -> EditTarget {
    match z.effect {
        None => match t {
            EditTarget::Hue => EditTarget::Preset,
            EditTarget::Preset => EditTarget::Brightness,
            _ => EditTarget::Hue,
        },
        Some(e) => {
            let params = effects::REGISTRY[e].params();
            let i = params.iter().position(|p| EditTarget::Param(p.id) == t);
            match i {
                Some(i) => EditTarget::Param(params[(i + 1) % params.len()].id),
                None => default_target(z),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones() -> Vec<ZoneState> {
        vec![
            ZoneState::new(Rgb::new(255, 0, 0), 100, true, Some(1)),
            ZoneState::new(Rgb::new(0, 0, 255), 50, false, None),
            ZoneState::new(Rgb::new(0, 255, 0), 70, true, None),
        ]
    }

    #[test]
    fn lamp_mode_restores_the_zone_exactly() {
        let mut zs = zones();
        let before = zs[0].clone();
        let mut c = Control::new(Some(0), Rgb::new(255, 200, 150));
        c.apply(
            &DeviceCommand {
                lamp: Some(true),
                ..Default::default()
            },
            &mut zs,
        );
        assert_eq!(
            (zs[0].color, zs[0].brightness, zs[0].effect),
            (Rgb::new(255, 200, 150), 255, None)
        );
        assert!(c.state.lamp);
        c.apply(
            &DeviceCommand {
                lamp: Some(false),
                ..Default::default()
            },
            &mut zs,
        );
        assert_eq!(zs[0], before);
    }

    #[test]
    fn power_toggle_restores_only_zones_that_were_on() {
        let mut zs = zones();
        let mut c = Control::default();
        let ch = c.apply(
            &DeviceCommand {
                power: Some(false),
                ..Default::default()
            },
            &mut zs,
        );
        assert_eq!(ch, vec![(0, POWER_OFF_FADE), (2, POWER_OFF_FADE)]);
        assert!(zs.iter().all(|z| !z.on));
        c.apply(
            &DeviceCommand {
                power: Some(true),
                ..Default::default()
            },
            &mut zs,
        );
        assert_eq!(
            zs.iter().map(|z| z.on).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert_eq!(zs[0].effect, Some(1), "effect kept");
        assert_eq!(zs[0].brightness, 100, "brightness kept");
    }

    #[test]
    fn preset_goes_to_the_selected_zone() {
        let mut zs = zones();
        let mut c = Control::default();
        c.apply(
            &DeviceCommand {
                selected_zone: Some(1),
                preset: Some(0),
                ..Default::default()
            },
            &mut zs,
        );
        assert_eq!(zs[1].color, Rgb::new(255, 0, 0));
        assert!(zs[1].on);
        assert_eq!(c.preset_name(&zs), "red");
    }

    fn press(b: Button) -> InputEvent {
        InputEvent::Button(b, ButtonAction::Press)
    }

    #[test]
    fn encoders_act_only_in_edit_mode() {
        let mut zs = zones();
        let before = zs.clone();
        let mut c = Control::default();
        c.on_input(InputEvent::Selector(1), &mut zs);
        c.on_input(InputEvent::Modulator(3), &mut zs);
        assert_eq!((c.state.selected_zone, &zs), (0, &before));
        c.on_input(press(Button::Edit), &mut zs);
        assert!(c.state.edit_mode);
        c.on_input(InputEvent::Selector(-1), &mut zs);
        assert_eq!(c.state.selected_zone, 2, "selection wraps backwards");
        c.on_input(InputEvent::Selector(2), &mut zs);
        assert_eq!(c.state.selected_zone, 1, "and forwards");
    }

    #[test]
    fn static_zone_edit_session() {
        let mut zs = zones();
        let mut c = Control::default();
        c.on_input(press(Button::Edit), &mut zs);
        c.on_input(InputEvent::Selector(2), &mut zs); // zone 2: green, static, on
        assert_eq!(c.state.edit_target, EditTarget::Hue);
        let out = c.on_input(InputEvent::Modulator(3), &mut zs);
        assert_eq!(out.changed, vec![(2, Duration::ZERO)]);
        assert_eq!(zs[2].color_mode, ColorMode::Hs { h: 150.0, s: 100.0 });
        c.on_input(InputEvent::Modulator(-22), &mut zs);
        assert_eq!(
            zs[2].color_mode,
            ColorMode::Hs { h: 290.0, s: 100.0 },
            "hue wraps below 0"
        );
        c.on_input(InputEvent::ModulatorClick, &mut zs);
        assert_eq!(c.state.edit_target, EditTarget::Preset);
        zs[2].color = Rgb::new(255, 0, 0);
        c.on_input(InputEvent::Modulator(1), &mut zs);
        assert_eq!(zs[2].color, DEFAULT_PRESETS[1].1, "red → orange");
        c.on_input(InputEvent::Modulator(-2), &mut zs);
        assert_eq!(
            zs[2].color, DEFAULT_PRESETS[19].1,
            "wraps to the last preset"
        );
        c.on_input(InputEvent::ModulatorClick, &mut zs);
        assert_eq!(c.state.edit_target, EditTarget::Brightness);
        c.on_input(InputEvent::Modulator(-10), &mut zs); // 70 ≈ 27 % → 17 %
        assert_eq!(zs[2].brightness, 43);
        c.on_input(InputEvent::Modulator(-100), &mut zs);
        assert_eq!(zs[2].brightness, 3, "never below 1 %");
        c.on_input(InputEvent::ModulatorClick, &mut zs);
        assert_eq!(c.state.edit_target, EditTarget::Hue);
    }

    #[test]
    fn effect_zone_edit_session_and_off_zone_respected() {
        let mut zs = zones();
        let mut c = Control::default();
        c.on_input(press(Button::Edit), &mut zs);
        // Zone 0 runs effect 1 (color_fade: speed only).
        let first = effects::REGISTRY[1].params()[0].id;
        c.on_input(InputEvent::Modulator(2), &mut zs);
        assert_eq!(c.state.edit_target, EditTarget::Param(first));
        let spec = effects::param_spec(1, first).unwrap();
        assert_eq!(
            zs[0].params[1].get(first),
            spec.clamp(spec.default + 2.0 * spec.step)
        );
        let out = c.on_input(InputEvent::SelectorClick, &mut zs);
        assert_eq!(zs[0].effect, Some(2), "selector click: next effect");
        assert_eq!(out.restarted, vec![0]);
        c.on_input(InputEvent::ModulatorClick, &mut zs);
        assert_eq!(
            c.state.edit_target,
            EditTarget::Param(effects::REGISTRY[2].params()[1].id)
        );
        // Zone 1 is off: the modulator leaves it alone.
        c.on_input(InputEvent::Selector(1), &mut zs);
        let before = zs[1].clone();
        assert!(
            c.on_input(InputEvent::Modulator(5), &mut zs)
                .changed
                .is_empty()
        );
        assert_eq!(zs[1], before);
        // BTN4 toggles static ↔ effect on the selected zone and turns it on.
        c.on_input(press(Button::Effect), &mut zs);
        assert_eq!((zs[1].effect, zs[1].on), (Some(zs[1].last_effect), true));
        c.on_input(press(Button::Effect), &mut zs);
        assert_eq!(zs[1].effect, None);
    }
}
