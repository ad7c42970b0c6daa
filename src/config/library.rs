//! The config sections above zones and effects: user palettes (`[[palettes]]`), declared scenes
//! (`[[scenes]]`), playlists (`[[playlists]]`), the wake-up defaults (`[sunrise]`, `[nightlight]`) and
//! the power-on behaviour (`[power_on]`). Raw structs mirror the file; [`build`] validates them into
//! a [`LibraryConfig`], pushing one message per problem, naming the key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::duration;
use crate::color::Rgb;
use crate::engine::playlist::{MAX_PLAYLISTS, Playlist, PlaylistEntry};
use crate::engine::scene::{MAX_SCENES, Scene, SceneZone, check_name};
use crate::engine::{ColorMode, ZoneState};
use crate::layout::Layout;
use crate::palette::{self, Palette, Palettes};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPalette {
    pub name: String,
    /// `[position 0–255, r, g, b]` per stop.
    pub stops: Option<Vec<[u8; 4]>>,
    /// Evenly spaced colours, `[r, g, b]` each (instead of `stops`).
    pub colors: Option<Vec<[u8; 3]>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScene {
    pub name: String,
    pub master_brightness: Option<u8>,
    /// Zone id → its state in the scene.
    #[serde(default)]
    pub zones: BTreeMap<String, RawSceneZone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSceneZone {
    pub on: Option<bool>,
    pub brightness: Option<u8>,
    pub color: Option<[u8; 3]>,
    pub color_temp: Option<u32>,
    pub effect: Option<String>,
    pub palette: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, f32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlaylist {
    pub name: String,
    pub repeat: Option<u32>,
    pub end: Option<String>,
    #[serde(default)]
    pub entries: Vec<RawPlaylistEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlaylistEntry {
    pub scene: String,
    pub duration: String,
    pub transition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSunrise {
    pub duration: Option<String>,
    pub brightness: Option<u8>,
    pub color_temp: Option<u32>,
    pub zones: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNightlight {
    pub duration: Option<String>,
    pub zones: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPowerOn {
    pub after_restart: Option<String>,
    pub after_power_loss: Option<String>,
    /// Zone id → overrides for that zone.
    #[serde(default)]
    pub zones: BTreeMap<String, RawPowerOnZone>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPowerOnZone {
    pub after_restart: Option<String>,
    pub after_power_loss: Option<String>,
}

/// What a zone does when the daemon starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PowerOn {
    /// As it was (the default).
    Previous,
    /// As it was, but on.
    On,
    /// As it was, but off.
    Off,
    /// This zone's part of the named scene.
    Scene(String),
}

/// The power-on behaviour of one zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerOnRule {
    /// After a clean stop (the state file says so): a restart, an upgrade, a reboot.
    pub after_restart: PowerOn,
    /// After anything else: a power cut, a crash, a kill.
    pub after_power_loss: PowerOn,
}

/// Sunrise defaults (the Home Assistant button, `{"sunrise":true}`).
#[derive(Clone, Debug, PartialEq)]
pub struct SunriseConfig {
    pub duration: Duration,
    pub brightness: u8,
    pub kelvin: u32,
    pub zones: Option<Vec<usize>>,
}

/// Nightlight defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct NightlightConfig {
    pub duration: Duration,
    pub zones: Option<Vec<usize>>,
}

/// The validated sections.
#[derive(Clone, Debug)]
pub struct LibraryConfig {
    pub palettes: Palettes,
    pub scenes: Vec<(String, Scene)>,
    pub playlists: Vec<(String, Playlist)>,
    pub sunrise: SunriseConfig,
    pub nightlight: NightlightConfig,
    /// One rule per zone, in zone order.
    pub power_on: Vec<PowerOnRule>,
}

/// Longest sunrise, nightlight or playlist step.
pub const MAX_WAKE: Duration = Duration::from_secs(86_400);

/// The raw sections, as `RawConfig` holds them.
pub struct RawLibrary<'a> {
    pub palettes: &'a [RawPalette],
    pub scenes: &'a [RawScene],
    pub playlists: &'a [RawPlaylist],
    pub sunrise: &'a RawSunrise,
    pub nightlight: &'a RawNightlight,
    pub power_on: &'a RawPowerOn,
}

impl<'a> RawLibrary<'a> {
    /// The library's sections of the whole file.
    pub fn of(raw: &'a super::raw::RawConfig) -> Self {
        RawLibrary {
            palettes: &raw.palettes,
            scenes: &raw.scenes,
            playlists: &raw.playlists,
            sunrise: &raw.sunrise,
            nightlight: &raw.nightlight,
            power_on: &raw.power_on,
        }
    }
}

pub fn build(raw: RawLibrary, layout: &Layout, errs: &mut Vec<String>) -> LibraryConfig {
    let palettes = Palettes::new(user_palettes(raw.palettes, errs));
    let scenes = scenes(raw.scenes, layout, &palettes, errs);
    let playlists = playlists(raw.playlists, errs);
    let zones = |key: &str, ids: &Option<Vec<String>>, errs: &mut Vec<String>| {
        ids.as_ref().map(|ids| {
            ids.iter()
                .filter_map(|id| {
                    let z = layout.zone_index(id);
                    if z.is_none() {
                        errs.push(format!("{key}.zones: no zone \"{id}\""));
                    }
                    z
                })
                .collect()
        })
    };
    let wake = |key: &str, v: &Option<String>, default: u64, errs: &mut Vec<String>| {
        let d = duration(key, v, Duration::from_secs(default), errs);
        if d.is_zero() || d > MAX_WAKE {
            errs.push(format!(
                "{key}: {} must be more than 0 and at most 24h",
                humantime::format_duration(d)
            ));
        }
        d
    };
    let kelvin = raw.sunrise.color_temp.unwrap_or(4000);
    if !(1000..=40000).contains(&kelvin) {
        errs.push(format!(
            "sunrise.color_temp: {kelvin} K is out of range 1000–40000"
        ));
    }
    let sunrise = SunriseConfig {
        duration: wake("sunrise.duration", &raw.sunrise.duration, 1800, errs),
        brightness: raw.sunrise.brightness.unwrap_or(255).max(1),
        kelvin,
        zones: zones("sunrise", &raw.sunrise.zones, errs),
    };
    let nightlight = NightlightConfig {
        duration: wake("nightlight.duration", &raw.nightlight.duration, 1800, errs),
        zones: zones("nightlight", &raw.nightlight.zones, errs),
    };
    let power_on = power_on(raw.power_on, layout, errs);
    LibraryConfig {
        palettes,
        scenes,
        playlists,
        sunrise,
        nightlight,
        power_on,
    }
}

fn user_palettes(raw: &[RawPalette], errs: &mut Vec<String>) -> Vec<Palette> {
    if raw.len() > palette::MAX_USER {
        errs.push(format!(
            "palettes: {} given, at most {}",
            raw.len(),
            palette::MAX_USER
        ));
    }
    let builtin = Palettes::default();
    let mut out: Vec<Palette> = Vec::new();
    for (i, p) in raw.iter().enumerate().take(palette::MAX_USER) {
        let key = format!("palettes[{i}]");
        if !super::is_slug(&p.name) {
            errs.push(format!(
                "{key}.name: \"{}\" must be a lower-case slug",
                p.name
            ));
        }
        if builtin.find(&p.name).is_some() || out.iter().any(|o| o.name == p.name) {
            errs.push(format!(
                "{key}.name: a palette \"{}\" already exists",
                p.name
            ));
        }
        let stops: Vec<(u8, Rgb)> = match (&p.stops, &p.colors) {
            (Some(s), None) => s
                .iter()
                .map(|&[at, r, g, b]| (at, Rgb::new(r, g, b)))
                .collect(),
            (None, Some(c)) if c.len() >= 2 => {
                let last = (c.len() - 1) as f32;
                c.iter()
                    .enumerate()
                    .map(|(k, &[r, g, b])| {
                        ((k as f32 * 255.0 / last).round() as u8, Rgb::new(r, g, b))
                    })
                    .collect()
            }
            _ => {
                errs.push(format!("{key}: give either stops or colors (at least two)"));
                continue;
            }
        };
        match Palette::from_stops(&p.name, &stops) {
            Ok(pal) => out.push(pal),
            Err(e) => errs.push(format!("{key}.stops: {e}")),
        }
    }
    out
}

fn scenes(
    raw: &[RawScene],
    layout: &Layout,
    pal: &Palettes,
    errs: &mut Vec<String>,
) -> Vec<(String, Scene)> {
    if raw.len() > MAX_SCENES {
        errs.push(format!("scenes: {} given, at most {MAX_SCENES}", raw.len()));
    }
    let mut out: Vec<(String, Scene)> = Vec::new();
    for (i, s) in raw.iter().enumerate().take(MAX_SCENES) {
        let key = format!("scenes[{i}]");
        let name = match check_name(&s.name) {
            Ok(n) if out.iter().all(|(o, _)| *o != n) => n,
            Ok(n) => {
                errs.push(format!("{key}.name: duplicate scene \"{n}\""));
                continue;
            }
            Err(e) => {
                errs.push(format!("{key}.name: {e}"));
                continue;
            }
        };
        let mut scene = Scene {
            master_brightness: s.master_brightness,
            ..Default::default()
        };
        for (id, z) in &s.zones {
            let zkey = format!("{key}.zones.{id}");
            if layout.zone_index(id).is_none() {
                errs.push(format!("{zkey}: no zone \"{id}\""));
            }
            if let Some(sz) = scene_zone(z, &zkey, pal, errs) {
                scene.zones.insert(id.clone(), sz);
            }
        }
        out.push((name, scene));
    }
    out
}

fn scene_zone(
    z: &RawSceneZone,
    key: &str,
    pal: &Palettes,
    errs: &mut Vec<String>,
) -> Option<SceneZone> {
    let before = errs.len();
    let [r, g, b] = z.color.unwrap_or([255, 200, 150]);
    let color_mode = match (z.color, z.color_temp) {
        (Some(_), Some(_)) => {
            errs.push(format!("{key}: give color or color_temp, not both"));
            ColorMode::Rgb
        }
        (_, Some(k)) if !(1000..=40000).contains(&k) => {
            errs.push(format!(
                "{key}.color_temp: {k} K is out of range 1000–40000"
            ));
            ColorMode::Rgb
        }
        (_, Some(k)) => ColorMode::ColorTemp { kelvin: k },
        _ => ColorMode::Rgb,
    };
    let color = match color_mode {
        ColorMode::ColorTemp { kelvin } => crate::color::kelvin_to_rgb(kelvin),
        _ => Rgb::new(r, g, b),
    };
    let e = z.effect.as_deref().map(|name| {
        let e = crate::effects::find(name);
        if e.is_none() {
            errs.push(format!("{key}.effect: unknown effect \"{name}\""));
        }
        e
    });
    if let Some(p) = &z.palette
        && pal.parse(p).is_none()
    {
        errs.push(format!("{key}.palette: unknown palette \"{p}\""));
    }
    for (name, v) in &z.params {
        let spec = e
            .flatten()
            .and_then(|e| crate::effects::param_spec(e, crate::effects::ParamId::parse(name)?));
        match spec {
            Some(s) if s.accepts(*v) => {}
            Some(s) => errs.push(format!(
                "{key}.params.{name}: {v} is out of range {}–{}",
                s.min, s.max
            )),
            None => errs.push(format!(
                "{key}.params.{name}: the effect has no such parameter"
            )),
        }
    }
    if errs.len() > before {
        return None;
    }
    let mut zone = ZoneState::new(
        color,
        z.brightness.unwrap_or(255),
        z.on.unwrap_or(true),
        e.flatten(),
    );
    zone.color_mode = color_mode;
    zone.palette = z.palette.as_deref().and_then(|p| pal.parse(p)).flatten();
    if let Some(e) = e.flatten() {
        for (name, v) in &z.params {
            if let Some(id) = crate::effects::ParamId::parse(name) {
                zone.params[e].set(id, *v);
            }
        }
    }
    Some(SceneZone::capture(&zone, pal))
}

fn playlists(raw: &[RawPlaylist], errs: &mut Vec<String>) -> Vec<(String, Playlist)> {
    if raw.len() > MAX_PLAYLISTS {
        errs.push(format!(
            "playlists: {} given, at most {MAX_PLAYLISTS}",
            raw.len()
        ));
    }
    let mut out: Vec<(String, Playlist)> = Vec::new();
    for (i, p) in raw.iter().enumerate().take(MAX_PLAYLISTS) {
        let key = format!("playlists[{i}]");
        let name = match check_name(&p.name) {
            Ok(n) => n,
            Err(e) => {
                errs.push(format!("{key}.name: {e}"));
                continue;
            }
        };
        let secs = |k: String, v: &str, errs: &mut Vec<String>| {
            duration(&k, &Some(v.to_string()), Duration::ZERO, errs).as_secs_f64()
        };
        let entries = p
            .entries
            .iter()
            .enumerate()
            .map(|(j, e)| PlaylistEntry {
                scene: e.scene.clone(),
                duration: secs(format!("{key}.entries[{j}].duration"), &e.duration, errs),
                transition: e
                    .transition
                    .as_ref()
                    .map(|t| secs(format!("{key}.entries[{j}].transition"), t, errs)),
            })
            .collect();
        let list = Playlist {
            entries,
            repeat: p.repeat.unwrap_or(0),
            end: p.end.clone(),
        };
        match list.check() {
            Ok(()) => out.push((name, list)),
            Err(e) => errs.push(format!("{key}: {e}")),
        }
    }
    out
}

fn power_on(raw: &RawPowerOn, layout: &Layout, errs: &mut Vec<String>) -> Vec<PowerOnRule> {
    let parse = |key: &str, v: &Option<String>, errs: &mut Vec<String>| match v.as_deref() {
        None | Some("previous") => PowerOn::Previous,
        Some("on") => PowerOn::On,
        Some("off") => PowerOn::Off,
        Some(scene) => match check_name(scene) {
            Ok(n) => PowerOn::Scene(n),
            Err(e) => {
                errs.push(format!(
                    "{key}: \"{scene}\" is not previous, on, off or a scene name ({e})"
                ));
                PowerOn::Previous
            }
        },
    };
    for id in raw.zones.keys() {
        if layout.zone_index(id).is_none() {
            errs.push(format!("power_on.zones.{id}: no zone \"{id}\""));
        }
    }
    let restart = parse("power_on.after_restart", &raw.after_restart, errs);
    let loss = parse("power_on.after_power_loss", &raw.after_power_loss, errs);
    layout
        .zones
        .iter()
        .map(|z| {
            let o = raw.zones.get(&z.id);
            let key = format!("power_on.zones.{}", z.id);
            PowerOnRule {
                after_restart: match o.and_then(|o| o.after_restart.clone()) {
                    Some(v) => parse(&format!("{key}.after_restart"), &Some(v), errs),
                    None => restart.clone(),
                },
                after_power_loss: match o.and_then(|o| o.after_power_loss.clone()) {
                    Some(v) => parse(&format!("{key}.after_power_loss"), &Some(v), errs),
                    None => loss.clone(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
