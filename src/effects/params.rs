//! Effect parameters: the one place where each parameter's name, range, default and step are declared.
//!
//! MQTT (number entities and validation), the modulator knob (step size), the state file and the docs all
//! read these declarations, so a range is never written twice. Values live in a fixed-size array indexed
//! by [`ParamId`], so a zone's parameters never allocate.

use serde::{Deserialize, Serialize};

/// Every parameter any effect understands. An effect lists the subset it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamId {
    Speed,
    Intensity,
    Length,
    Density,
    Hue2,
}

pub const PARAM_COUNT: usize = 5;

impl ParamId {
    pub const ALL: [ParamId; PARAM_COUNT] = [
        ParamId::Speed,
        ParamId::Intensity,
        ParamId::Length,
        ParamId::Density,
        ParamId::Hue2,
    ];

    /// The key used in topics (`B/<zone>/<name>/set`) and the state file.
    pub fn name(self) -> &'static str {
        match self {
            ParamId::Speed => "speed",
            ParamId::Intensity => "intensity",
            ParamId::Length => "length",
            ParamId::Density => "density",
            ParamId::Hue2 => "hue2",
        }
    }

    pub fn parse(s: &str) -> Option<ParamId> {
        ParamId::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Human name for Home Assistant entities and docs.
    pub fn label(self) -> &'static str {
        match self {
            ParamId::Speed => "Effect speed",
            ParamId::Intensity => "Effect intensity",
            ParamId::Length => "Effect length",
            ParamId::Density => "Effect density",
            ParamId::Hue2 => "Effect second hue",
        }
    }

    /// The widest range any effect accepts; MQTT number entities use it, each effect clamps to its own.
    pub fn global(self) -> ParamSpec {
        match self {
            ParamId::Speed => SPEED,
            ParamId::Intensity => INTENSITY,
            ParamId::Length => ParamSpec::new(ParamId::Length, 1.0, 30.0, 5.0, 1.0, "px"),
            ParamId::Density => DENSITY,
            ParamId::Hue2 => HUE2,
        }
    }
}

/// Declaration of one parameter of one effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    pub id: ParamId,
    pub min: f32,
    pub max: f32,
    pub default: f32,
    pub step: f32,
    pub unit: &'static str,
}

impl ParamSpec {
    pub const fn new(
        id: ParamId,
        min: f32,
        max: f32,
        default: f32,
        step: f32,
        unit: &'static str,
    ) -> Self {
        ParamSpec {
            id,
            min,
            max,
            default,
            step,
            unit,
        }
    }

    /// Clamps to the range; whole-step parameters are rounded to integers.
    pub fn clamp(&self, v: f32) -> f32 {
        let v = v.clamp(self.min, self.max);
        if self.step >= 1.0 { v.round() } else { v }
    }

    /// Whether `v` is inside the declared range.
    pub fn accepts(&self, v: f32) -> bool {
        v.is_finite() && v >= self.min && v <= self.max
    }
}

/// `speed` 1–100, default 50 (docs/EFFECTS.md).
pub const SPEED: ParamSpec = ParamSpec::new(ParamId::Speed, 1.0, 100.0, 50.0, 5.0, "");
/// `intensity` 0–100 %, default 100 (docs/EFFECTS.md).
pub const INTENSITY: ParamSpec = ParamSpec::new(ParamId::Intensity, 0.0, 100.0, 100.0, 5.0, "%");
/// `density` 0–100 %, how many pixels a sparse effect lights.
pub const DENSITY: ParamSpec = ParamSpec::new(ParamId::Density, 0.0, 100.0, 30.0, 5.0, "%");
/// `hue2` 0–359°, the second colour of two-colour effects.
pub const HUE2: ParamSpec = ParamSpec::new(ParamId::Hue2, 0.0, 359.0, 240.0, 10.0, "°");

/// One value per [`ParamId`]; entries an effect does not declare are ignored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamValues(pub [f32; PARAM_COUNT]);

impl ParamValues {
    /// The defaults of an effect's declared parameters (global defaults elsewhere).
    pub fn defaults(specs: &[ParamSpec]) -> Self {
        let mut v = ParamValues(ParamId::ALL.map(|p| p.global().default));
        for s in specs {
            v.0[s.id as usize] = s.default;
        }
        v
    }

    #[inline]
    pub fn get(&self, id: ParamId) -> f32 {
        self.0[id as usize]
    }

    #[inline]
    pub fn set(&mut self, id: ParamId, v: f32) {
        self.0[id as usize] = v;
    }

    /// `speed` mapped to 0–1 (1 → 0, 100 → 1).
    #[inline]
    pub fn speed01(&self) -> f32 {
        ((self.get(ParamId::Speed) - 1.0) / 99.0).clamp(0.0, 1.0)
    }

    /// `intensity` as a fraction 0–1.
    #[inline]
    pub fn intensity01(&self) -> f32 {
        (self.get(ParamId::Intensity) / 100.0).clamp(0.0, 1.0)
    }

    /// `density` as a fraction 0–1.
    #[inline]
    pub fn density01(&self) -> f32 {
        (self.get(ParamId::Density) / 100.0).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_rounds_to_step_and_range() {
        let len = ParamSpec::new(ParamId::Length, 3.0, 15.0, 7.0, 1.0, "px");
        assert_eq!(len.clamp(100.0), 15.0);
        assert_eq!(len.clamp(0.0), 3.0);
        assert_eq!(len.clamp(6.6), 7.0);
        assert_eq!(SPEED.clamp(50.4), 50.0);
        assert!(SPEED.accepts(100.0) && !SPEED.accepts(0.0) && !SPEED.accepts(f32::NAN));
    }

    #[test]
    fn defaults_follow_declarations() {
        let specs = [ParamSpec::new(ParamId::Length, 3.0, 15.0, 7.0, 1.0, "px")];
        let v = ParamValues::defaults(&specs);
        assert_eq!(v.get(ParamId::Length), 7.0);
        assert_eq!(v.get(ParamId::Speed), 50.0);
        assert_eq!(v.intensity01(), 1.0);
        assert_eq!(ParamId::parse("hue2"), Some(ParamId::Hue2));
    }
}
