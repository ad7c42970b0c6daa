//! Scenes: named snapshots of every zone (on, brightness, colour, effect, its parameters, palette) and
//! the master dimmer, and the [`Library`] that holds them next to the playlists.
//!
//! A scene names zones by id and effects, parameters and palettes by name, so it survives config
//! changes: recalling a scene that names a zone which no longer exists applies it to the zones that do
//! and reports the missing ones. Scenes come from the config file (read-only: changed only there) or
//! are saved over MQTT (stored in the state file). Every scene from outside — config, state file — goes
//! through [`Scene::validated`], which clamps or drops what an MQTT command could not have set, so a
//! hand-edited state file cannot put a zone into a state no command could. The library is bounded
//! ([`MAX_SCENES`], [`LIBRARY_BUDGET`]) so the state file stays small whatever clients send.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::playlist::Playlist;
use super::zone::{ColorMode, MasterState, ZoneState};
use crate::color::Rgb;
use crate::effects::{self, ParamId};
use crate::palette::Palettes;

/// Most scenes (config and saved together).
pub const MAX_SCENES: usize = 100;
/// Longest scene or playlist name, in characters.
pub const MAX_NAME: usize = 64;
/// Most bytes the saved scenes and playlists may take as JSON (the state file stays far below its cap).
pub const LIBRARY_BUDGET: usize = 1 << 20;

/// One zone in a scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneZone {
    pub on: bool,
    pub brightness: u8,
    pub color: [u8; 3],
    pub color_mode: ColorMode,
    /// Running effect name; `None` = static colour.
    #[serde(default)]
    pub effect: Option<String>,
    /// Parameters of that effect, by name.
    #[serde(default)]
    pub params: BTreeMap<String, f32>,
    /// Palette name; `None` = the zone colour.
    #[serde(default)]
    pub palette: Option<String>,
}

/// A named snapshot of the device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Zone id → its state.
    #[serde(default)]
    pub zones: BTreeMap<String, SceneZone>,
    #[serde(default)]
    pub master_brightness: Option<u8>,
}

/// Why a scene or playlist operation was refused (the text goes to `B/error`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SceneError {
    #[error("unknown scene \"{0}\"")]
    Unknown(String),
    #[error("unknown playlist \"{0}\"")]
    UnknownPlaylist(String),
    #[error("\"{0}\" is declared in the config file; change it there")]
    ReadOnly(String),
    #[error("too many scenes (at most {MAX_SCENES}); delete one first")]
    TooMany,
    #[error(
        "scene and playlist storage is full ({0} of {LIBRARY_BUDGET} bytes); delete some first"
    )]
    Full(usize),
    #[error("\"{0}\" already exists")]
    Exists(String),
    #[error("no scene name set: send {{\"scene_name\":\"...\"}} first or give the name")]
    NoName,
    #[error("no scenes to cycle through")]
    Empty,
    #[error("{0}")]
    Invalid(String),
}

/// Checks a scene or playlist name: 1–64 characters after trimming, no control characters, not the
/// reserved "none".
pub fn check_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(format!(
            "a name must be 1–{MAX_NAME} characters without control characters"
        ));
    }
    if n.eq_ignore_ascii_case("none") || n.eq_ignore_ascii_case("off") {
        return Err(format!(
            "\"{n}\" is reserved (it means no scene or playlist)"
        ));
    }
    Ok(n.to_string())
}

impl SceneZone {
    /// Captures a zone: its effect and only that effect's parameters.
    pub fn capture(z: &ZoneState, palettes: &Palettes) -> SceneZone {
        let fx = z.effect.map(|e| effects::REGISTRY[e]);
        let params = fx
            .map(|fx| {
                let values = &z.params[z.effect.unwrap_or(0)];
                fx.params()
                    .iter()
                    .map(|p| (p.id.name().to_string(), values.get(p.id)))
                    .collect()
            })
            .unwrap_or_default();
        SceneZone {
            on: z.on,
            brightness: z.brightness,
            color: [z.color.r, z.color.g, z.color.b],
            color_mode: z.color_mode,
            effect: fx.map(|fx| fx.name().to_string()),
            params,
            palette: z
                .palette
                .and_then(|p| palettes.get(p))
                .map(|p| p.name.clone()),
        }
    }

    /// Puts this onto `z` (already validated). Returns whether its effect changed.
    fn apply(&self, z: &mut ZoneState, palettes: &Palettes) -> bool {
        let before = z.effect;
        z.on = self.on;
        z.brightness = self.brightness.max(1);
        z.color = Rgb::new(self.color[0], self.color[1], self.color[2]);
        z.color_mode = self.color_mode;
        z.effect = self.effect.as_deref().and_then(effects::find);
        if let Some(e) = z.effect {
            z.last_effect = e;
            for (name, v) in &self.params {
                if let Some(spec) = ParamId::parse(name).and_then(|id| effects::param_spec(e, id)) {
                    z.params[e].set(spec.id, spec.clamp(*v));
                }
            }
        }
        z.palette = self.palette.as_deref().and_then(|p| palettes.find(p));
        z.effect != before && z.effect.is_some()
    }

    /// Clamps or drops what no command could have set; `warn` hears about each change.
    fn validated(mut self, palettes: &Palettes, warn: &mut dyn FnMut(String)) -> SceneZone {
        self.brightness = self.brightness.max(1);
        self.color_mode = match self.color_mode {
            ColorMode::Hs { h, s } if h.is_finite() && s.is_finite() => ColorMode::Hs {
                h: h.clamp(0.0, 360.0),
                s: s.clamp(0.0, 100.0),
            },
            ColorMode::Hs { .. } => ColorMode::Rgb,
            ColorMode::ColorTemp { kelvin } => ColorMode::ColorTemp {
                kelvin: kelvin.clamp(1000, 40000),
            },
            m => m,
        };
        if let Some(name) = &self.effect
            && effects::find(name).is_none()
        {
            warn(format!("unknown effect \"{name}\": static colour instead"));
            self.effect = None;
        }
        let e = self.effect.as_deref().and_then(effects::find);
        self.params.retain(|name, v| {
            v.is_finite()
                && e.and_then(|e| effects::param_spec(e, ParamId::parse(name)?))
                    .is_some()
        });
        if let Some(e) = e {
            for (name, v) in self.params.iter_mut() {
                if let Some(spec) = ParamId::parse(name).and_then(|id| effects::param_spec(e, id)) {
                    *v = spec.clamp(*v);
                }
            }
        }
        if let Some(p) = &self.palette
            && palettes.find(p).is_none()
        {
            warn(format!("unknown palette \"{p}\": the zone colour instead"));
            self.palette = None;
        }
        self
    }
}

/// What recalling a scene did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recall {
    /// Zones set from the scene.
    pub changed: Vec<usize>,
    /// Zones whose effect switched (their effect clock restarts).
    pub restarted: Vec<usize>,
    /// Zone ids the scene names that the config no longer has.
    pub missing: Vec<String>,
}

impl Scene {
    /// Captures every zone (`ids` are the zone ids, in zone order) and the master dimmer.
    pub fn capture(
        zones: &[ZoneState],
        ids: &[String],
        master: &MasterState,
        palettes: &Palettes,
    ) -> Scene {
        Scene {
            zones: ids
                .iter()
                .zip(zones)
                .map(|(id, z)| (id.clone(), SceneZone::capture(z, palettes)))
                .collect(),
            master_brightness: Some(master.brightness),
        }
    }

    /// Applies the scene to the zones that exist (and the master).
    pub fn apply(
        &self,
        ids: &[String],
        zones: &mut [ZoneState],
        master: &mut MasterState,
        palettes: &Palettes,
    ) -> Recall {
        let mut out = Recall::default();
        for (id, sz) in &self.zones {
            match ids.iter().position(|z| z == id) {
                Some(i) => {
                    if sz.apply(&mut zones[i], palettes) {
                        out.restarted.push(i);
                    }
                    out.changed.push(i);
                }
                None => out.missing.push(id.clone()),
            }
        }
        out.changed.sort_unstable();
        if let Some(b) = self.master_brightness {
            master.brightness = b.max(1);
        }
        out
    }

    /// The zone `id`'s part of the scene applied to `z` alone (power-on behaviour). False if absent.
    pub fn apply_zone(&self, id: &str, z: &mut ZoneState, palettes: &Palettes) -> bool {
        self.zones.get(id).map(|sz| sz.apply(z, palettes)).is_some()
    }

    /// The scene with every field checked like an MQTT command (see the module doc).
    pub fn validated(self, palettes: &Palettes, warn: &mut dyn FnMut(String)) -> Scene {
        Scene {
            zones: self
                .zones
                .into_iter()
                .map(|(id, z)| {
                    let z = z.validated(palettes, &mut |w| warn(format!("zone \"{id}\": {w}")));
                    (id, z)
                })
                .collect(),
            master_brightness: self.master_brightness.map(|b| b.max(1)),
        }
    }
}

/// What a snapshot carries for the state file beyond zones, master and device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LibrarySnapshot {
    pub scenes: BTreeMap<String, Scene>,
    pub playlists: BTreeMap<String, Playlist>,
    /// Palette name per zone (zone order); `None` = the zone colour.
    pub zone_palettes: Vec<Option<String>>,
}

/// Every scene and playlist, owned by the render loop.
#[derive(Clone, Debug, Default)]
pub struct Library {
    scenes: BTreeMap<String, Scene>,
    playlists: BTreeMap<String, Playlist>,
    /// Names declared in the config file (read-only over MQTT).
    declared: BTreeSet<String>,
    /// The scene recalled last.
    pub current: Option<String>,
    /// The name typed into Home Assistant's "scene name" text, used by a save without a name.
    pub pending_name: String,
    /// JSON size of the saved scenes and playlists, kept up to date entry by entry (checking the
    /// budget never re-serialises the whole library on the render thread).
    bytes: usize,
}

/// JSON size of one saved entry (name, value and separators).
fn entry_size<T: Serialize>(name: &str, value: &T) -> usize {
    name.len() + 4 + serde_json::to_vec(value).map(|v| v.len()).unwrap_or(0)
}

impl Library {
    /// A library of the config's scenes and playlists (read-only) plus saved ones; the config wins a
    /// name clash, and anything over the limits is dropped with a warning.
    pub fn new(
        declared: Vec<(String, Scene)>,
        declared_playlists: Vec<(String, Playlist)>,
        saved: Vec<(String, Scene)>,
        saved_playlists: Vec<(String, Playlist)>,
    ) -> Library {
        let mut lib = Library::default();
        for (name, s) in declared {
            lib.declared.insert(name.clone());
            lib.scenes.insert(name, s);
        }
        for (name, p) in declared_playlists {
            lib.declared.insert(name.clone());
            lib.playlists.insert(name, p);
        }
        for (name, s) in saved {
            if let Err(e) = lib.save_scene(&name, s) {
                tracing::warn!(scene = %name, error = %e, "saved scene not restored");
            }
        }
        for (name, p) in saved_playlists {
            if let Err(e) = lib.save_playlist(&name, p) {
                tracing::warn!(playlist = %name, error = %e, "saved playlist not restored");
            }
        }
        lib
    }

    pub fn scene(&self, name: &str) -> Result<&Scene, SceneError> {
        self.scenes
            .get(name)
            .ok_or_else(|| SceneError::Unknown(name.into()))
    }

    pub fn playlist(&self, name: &str) -> Result<&Playlist, SceneError> {
        self.playlists
            .get(name)
            .ok_or_else(|| SceneError::UnknownPlaylist(name.into()))
    }

    pub fn scene_names(&self) -> Vec<String> {
        self.scenes.keys().cloned().collect()
    }

    pub fn playlist_names(&self) -> Vec<String> {
        self.playlists.keys().cloned().collect()
    }

    /// The scene after `current` in name order (wrapping), for the knob.
    pub fn next_scene(&self) -> Result<String, SceneError> {
        let after = self.current.as_deref().and_then(|c| {
            self.scenes
                .range::<str, _>((std::ops::Bound::Excluded(c), std::ops::Bound::Unbounded))
                .next()
        });
        after
            .or_else(|| self.scenes.iter().next())
            .map(|(n, _)| n.clone())
            .ok_or(SceneError::Empty)
    }

    fn writable(&self, name: &str) -> Result<(), SceneError> {
        if self.declared.contains(name) {
            return Err(SceneError::ReadOnly(name.into()));
        }
        Ok(())
    }

    /// The library's byte count with an entry of `old` bytes replaced by one of `new`, if within budget.
    fn budget(&self, old: usize, new: usize) -> Result<usize, SceneError> {
        let total = self.bytes.saturating_sub(old) + new;
        if total > LIBRARY_BUDGET {
            return Err(SceneError::Full(total));
        }
        Ok(total)
    }

    /// Saves (or overwrites) scene `name`, within the limits.
    pub fn save_scene(&mut self, name: &str, scene: Scene) -> Result<(), SceneError> {
        self.writable(name)?;
        if !self.scenes.contains_key(name) && self.scenes.len() >= MAX_SCENES {
            return Err(SceneError::TooMany);
        }
        let old = self.scenes.get(name).map_or(0, |s| entry_size(name, s));
        self.bytes = self.budget(old, entry_size(name, &scene))?;
        self.scenes.insert(name.into(), scene);
        Ok(())
    }

    pub fn delete_scene(&mut self, name: &str) -> Result<(), SceneError> {
        self.scene(name)?;
        self.writable(name)?;
        if let Some(s) = self.scenes.remove(name) {
            self.bytes = self.bytes.saturating_sub(entry_size(name, &s));
        }
        if self.current.as_deref() == Some(name) {
            self.current = None;
        }
        Ok(())
    }

    pub fn rename_scene(&mut self, from: &str, to: &str) -> Result<(), SceneError> {
        self.scene(from)?;
        self.writable(from)?;
        self.writable(to)?;
        if self.scenes.contains_key(to) {
            return Err(SceneError::Exists(to.into()));
        }
        let s = self.scenes.remove(from).unwrap_or_default();
        self.bytes = (self.bytes + to.len()).saturating_sub(from.len());
        self.scenes.insert(to.into(), s);
        if self.current.as_deref() == Some(from) {
            self.current = Some(to.into());
        }
        Ok(())
    }

    pub fn save_playlist(&mut self, name: &str, p: Playlist) -> Result<(), SceneError> {
        self.writable(name)?;
        let max = super::playlist::MAX_PLAYLISTS;
        if !self.playlists.contains_key(name) && self.playlists.len() >= max {
            return Err(SceneError::Invalid(format!(
                "too many playlists (at most {max}); delete one first"
            )));
        }
        let old = self.playlists.get(name).map_or(0, |p| entry_size(name, p));
        self.bytes = self.budget(old, entry_size(name, &p))?;
        self.playlists.insert(name.into(), p);
        Ok(())
    }

    pub fn delete_playlist(&mut self, name: &str) -> Result<(), SceneError> {
        self.playlist(name)?;
        self.writable(name)?;
        if let Some(p) = self.playlists.remove(name) {
            self.bytes = self.bytes.saturating_sub(entry_size(name, &p));
        }
        Ok(())
    }

    /// What the state file keeps of the library: the saved scenes and playlists (owned), with each
    /// zone's palette name.
    pub fn snapshot(&self, zone_palettes: Vec<Option<String>>) -> LibrarySnapshot {
        let (scenes, playlists) = self.saved();
        LibrarySnapshot {
            scenes: scenes
                .into_iter()
                .map(|(n, s)| (n.clone(), s.clone()))
                .collect(),
            playlists: playlists
                .into_iter()
                .map(|(n, p)| (n.clone(), p.clone()))
                .collect(),
            zone_palettes,
        }
    }

    /// The saved (not config-declared) scenes and playlists, as stored in the state file.
    pub fn saved(&self) -> (BTreeMap<&String, &Scene>, BTreeMap<&String, &Playlist>) {
        let keep = |n: &&String| !self.declared.contains(n.as_str());
        (
            self.scenes.iter().filter(|(n, _)| keep(n)).collect(),
            self.playlists.iter().filter(|(n, _)| keep(n)).collect(),
        )
    }
}

#[cfg(test)]
mod tests;
