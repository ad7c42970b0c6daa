//! The state of one zone and of the master, as users see it (homeassistant/README.md §3), and how commands change it.
//!
//! These are plain values owned by the render loop; other tasks only ever see clones carried by events.
//! Applying a [`LightCommand`] is all-or-nothing: it is validated before it arrives here (at the MQTT or
//! input edge) and applied in one step, so a zone is never left half-changed.

use serde::{Deserialize, Serialize};

use crate::color::{Rgb, hsv, kelvin_to_rgb, xy_to_rgb};
use crate::effects::{self, ParamValues};

/// Which colour model the user last set, so state is reported back in the same mode.
///
/// `Rgbw` and `White` exist only on zones whose strip lights a white LED: they carry an explicit white
/// level besides the zone's RGB colour (see [`ZoneState::white`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ColorMode {
    Rgb,
    Hs {
        h: f32,
        s: f32,
    },
    ColorTemp {
        kelvin: u32,
    },
    /// RGB plus an explicit white level `w` (0–255) on the W LED.
    Rgbw {
        w: u8,
    },
    /// The W LED alone (Home Assistant's `white` mode); the zone brightness is its level.
    White,
}

/// A colour as a command sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColorSet {
    Rgb(Rgb),
    Hs {
        h: f32,
        s: f32,
    },
    Xy {
        x: f32,
        y: f32,
    },
    Kelvin(u32),
    /// RGB plus a white level, for a strip with a white LED.
    Rgbw(Rgb, u8),
    /// The white LED alone.
    White,
}

impl ColorSet {
    /// The RGB shown and the mode reported.
    pub fn resolve(self) -> (Rgb, ColorMode) {
        match self {
            ColorSet::Rgb(c) => (c, ColorMode::Rgb),
            ColorSet::Hs { h, s } => (hsv(h, s / 100.0, 1.0), ColorMode::Hs { h, s }),
            ColorSet::Xy { x, y } => (xy_to_rgb(x, y), ColorMode::Rgb),
            ColorSet::Kelvin(k) => (kelvin_to_rgb(k), ColorMode::ColorTemp { kelvin: k }),
            ColorSet::Rgbw(c, w) => (c, ColorMode::Rgbw { w }),
            ColorSet::White => (Rgb::BLACK, ColorMode::White),
        }
    }

    /// The same request for a zone without a white LED: an RGBW colour keeps its RGB part (the `w` is
    /// ignored, as before RGBW support) and white becomes full RGB white.
    pub fn without_white(self) -> ColorSet {
        match self {
            ColorSet::Rgbw(c, _) => ColorSet::Rgb(c),
            ColorSet::White => ColorSet::Rgb(Rgb::WHITE),
            other => other,
        }
    }
}

/// Static colour or a named effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EffectChoice {
    Static,
    Effect(usize),
}

/// One Home Assistant JSON-schema light command, already validated: any subset of fields.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LightCommand {
    pub on: Option<bool>,
    /// 1–255; 0 has already been turned into `on: Some(false)`.
    pub brightness: Option<u8>,
    pub color: Option<ColorSet>,
    pub effect: Option<EffectChoice>,
    /// Seconds; `None` means the configured default.
    pub transition: Option<f32>,
    /// Seconds of flashing.
    pub flash: Option<f32>,
    /// A palette for the zone's effects: `Some(None)` = the zone colour, `Some(Some(i))` = palette `i`.
    pub palette: Option<Option<usize>>,
}

impl LightCommand {
    /// This command for a zone whose strip has no white LED (see [`ColorSet::without_white`]).
    pub fn without_white(self) -> LightCommand {
        LightCommand {
            color: self.color.map(ColorSet::without_white),
            ..self
        }
    }
}

/// Everything a zone remembers.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneState {
    pub on: bool,
    /// 1–255: the last non-zero brightness, kept while off.
    pub brightness: u8,
    pub color: Rgb,
    pub color_mode: ColorMode,
    /// The running effect, if any (`None` = static colour).
    pub effect: Option<usize>,
    /// The effect chosen last, resumed by "static ↔ effect".
    pub last_effect: usize,
    /// Per-effect parameter memory, indexed like `effects::REGISTRY`.
    pub params: Vec<ParamValues>,
    /// The palette effects draw from (index into the daemon's palettes); `None` = the zone colour.
    pub palette: Option<usize>,
}

impl ZoneState {
    pub fn new(color: Rgb, brightness: u8, on: bool, effect: Option<usize>) -> Self {
        ZoneState {
            on,
            brightness: brightness.max(1),
            color,
            color_mode: ColorMode::Rgb,
            effect,
            last_effect: effect.unwrap_or(0),
            params: effects::REGISTRY
                .iter()
                .map(|e| ParamValues::defaults(e.params()))
                .collect(),
            palette: None,
        }
    }

    /// The explicit white level (0–255, before brightness) this zone puts on a white LED.
    #[inline]
    pub fn white(&self) -> u8 {
        match self.color_mode {
            ColorMode::Rgbw { w } => w,
            ColorMode::White => 255,
            _ => 0,
        }
    }

    /// Turns an RGBW or white colour into its RGB equivalent, for a zone whose strip has no lit white
    /// LED (e.g. a state file written before the strip's config changed).
    pub fn drop_white(&mut self) {
        if let Some(set) = match self.color_mode {
            ColorMode::Rgbw { .. } => Some(ColorSet::Rgbw(self.color, 0)),
            ColorMode::White => Some(ColorSet::White),
            _ => None,
        } {
            (self.color, self.color_mode) = set.without_white().resolve();
        }
    }

    /// Whether this zone's base layer changes by itself over time.
    pub fn animates(&self) -> bool {
        self.on && self.effect.is_some()
    }

    /// Applies the state fields of `cmd` (not transition/flash). Returns whether anything changed.
    pub fn apply(&mut self, cmd: &LightCommand) -> bool {
        let before = self.clone();
        if let Some(b) = cmd.brightness {
            self.brightness = b.max(1);
            self.on = true;
        }
        if let Some(c) = cmd.color {
            let (rgb, mode) = c.resolve();
            self.color = rgb;
            self.color_mode = mode;
            self.on = true;
        }
        match cmd.effect {
            Some(EffectChoice::Static) => self.effect = None,
            Some(EffectChoice::Effect(e)) => {
                self.effect = Some(e);
                self.last_effect = e;
                self.on = true;
            }
            None => {}
        }
        if let Some(p) = cmd.palette {
            self.palette = p;
        }
        if let Some(on) = cmd.on {
            self.on = on;
        }
        *self != before
    }

    /// The parameters of the running (or last) effect.
    pub fn current_params(&self) -> &ParamValues {
        &self.params[self.effect.unwrap_or(self.last_effect)]
    }
}

/// The device-wide master: scales every zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MasterState {
    pub brightness: u8,
    /// Colour (and mode) of the last master command, reported in its state (see `engine/master.rs`).
    pub color: Option<(Rgb, ColorMode)>,
    /// Effect of the last master command (`Some(None)` = static), reported in its state.
    pub effect: Option<Option<usize>>,
}

impl Default for MasterState {
    fn default() -> Self {
        MasterState {
            brightness: 255,
            color: None,
            effect: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brightness_or_colour_turns_on_and_off_wins() {
        let mut z = ZoneState::new(Rgb::WHITE, 100, false, None);
        assert!(z.apply(&LightCommand {
            brightness: Some(50),
            ..Default::default()
        }));
        assert!(z.on);
        assert_eq!(z.brightness, 50);
        z.apply(&LightCommand {
            on: Some(false),
            color: Some(ColorSet::Rgb(Rgb::new(1, 2, 3))),
            ..Default::default()
        });
        assert!(!z.on, "explicit OFF wins over the implicit ON of a colour");
        assert_eq!(z.color, Rgb::new(1, 2, 3));
        assert!(
            !z.apply(&LightCommand::default()),
            "empty command changes nothing"
        );
    }

    #[test]
    fn effect_memory_survives_static() {
        let mut z = ZoneState::new(Rgb::WHITE, 100, true, None);
        z.apply(&LightCommand {
            effect: Some(EffectChoice::Effect(2)),
            ..Default::default()
        });
        z.apply(&LightCommand {
            effect: Some(EffectChoice::Static),
            ..Default::default()
        });
        assert_eq!((z.effect, z.last_effect), (None, 2));
    }

    #[test]
    fn colour_modes_resolve() {
        assert_eq!(
            ColorSet::Hs { h: 120.0, s: 100.0 }.resolve().0,
            Rgb::new(0, 255, 0)
        );
        let (c, m) = ColorSet::Kelvin(6600).resolve();
        assert_eq!(c, Rgb::WHITE);
        assert_eq!(m, ColorMode::ColorTemp { kelvin: 6600 });
    }

    #[test]
    fn white_level_follows_the_colour_mode() {
        let mut z = ZoneState::new(Rgb::WHITE, 100, true, None);
        assert_eq!(z.white(), 0);
        z.apply(&LightCommand {
            color: Some(ColorSet::Rgbw(Rgb::new(1, 2, 3), 40)),
            ..Default::default()
        });
        assert_eq!(
            (z.color, z.color_mode, z.white()),
            (Rgb::new(1, 2, 3), ColorMode::Rgbw { w: 40 }, 40)
        );
        z.apply(&LightCommand {
            brightness: Some(9),
            ..Default::default()
        });
        assert_eq!(z.white(), 40, "brightness keeps the white level");
        z.apply(&LightCommand {
            color: Some(ColorSet::White),
            ..Default::default()
        });
        assert_eq!((z.color, z.white()), (Rgb::BLACK, 255));
        z.apply(&LightCommand {
            color: Some(ColorSet::Hs { h: 0.0, s: 100.0 }),
            ..Default::default()
        });
        assert_eq!(z.white(), 0, "a new colour drops the white level");
        // A zone without a white LED: RGB part only, white as RGB white.
        let cmd = LightCommand {
            color: Some(ColorSet::Rgbw(Rgb::new(1, 2, 3), 40)),
            brightness: Some(7),
            ..Default::default()
        }
        .without_white();
        assert_eq!(cmd.color, Some(ColorSet::Rgb(Rgb::new(1, 2, 3))));
        assert_eq!(cmd.brightness, Some(7));
        assert_eq!(ColorSet::White.without_white(), ColorSet::Rgb(Rgb::WHITE));
    }
}
