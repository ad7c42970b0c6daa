//! Device-level state and commands (`B/set`, `B/state`): edit mode, selected zone, edit target, lamp
//! mode, power, presets and identify.
//!
//! [`Control`] is owned by the render loop next to the zones it acts on, so a device command and the zone
//! changes it causes happen in one step. It returns which zones changed and how fast to fade them; the
//! render loop does the fading and announces the changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::zone::{ColorMode, ZoneState};
use crate::color::{DEFAULT_PRESETS, Rgb, nearest_preset};

/// Power toggle fades (SPEC §5).
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
}

impl EditTarget {
    pub fn name(self) -> &'static str {
        match self {
            EditTarget::Hue => "hue",
            EditTarget::Preset => "preset",
            EditTarget::Brightness => "brightness",
        }
    }
}

/// The control surface's state, reported on `B/state`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceState {
    pub edit_mode: bool,
    pub selected_zone: usize,
    pub edit_target: EditTarget,
    pub lamp: bool,
    pub frame_step: bool,
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
}
