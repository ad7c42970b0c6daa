//! The state file's scenes, playlists, zone palettes and clean-shutdown marker, and the boot sequence
//! that restores them and applies each zone's power-on behaviour.
//!
//! These are extra top-level keys of the state file (`scenes`, `playlists`, `zone_palettes`,
//! `clean_shutdown`), each entry kept as JSON so one malformed scene cannot spoil the others, and every
//! restored scene and playlist is validated like an MQTT command before it is used. The marker is
//! set by [`mark_clean`], the last step of a clean stop (after the final flush, when nothing else
//! writes the file); at boot it tells a restart from a power cut and is cleared on disk at once, so a
//! power cut later in this run is not taken for a clean stop.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::file;
use crate::config::Config;
use crate::config::library::{PowerOn, PowerOnRule};
use crate::engine::playlist::Playlist;
use crate::engine::scene::{Library, LibrarySnapshot, Scene, check_name};
use crate::engine::{DeviceState, MasterState, ZoneState};
use crate::palette::Palettes;

/// The keys this module adds to the state file (flattened into [`StateFile`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LibraryRecord {
    /// Saved scenes by name (config-declared ones live in the config).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scenes: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playlists: BTreeMap<String, serde_json::Value>,
    /// Zone id → palette name (zones using their own colour are absent).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zone_palettes: BTreeMap<String, String>,
    /// True only after a clean stop.
    #[serde(default)]
    pub clean_shutdown: bool,
}

impl LibraryRecord {
    /// Records a snapshot's library; `ids` are the zone ids in zone order.
    pub fn from_snapshot(s: &LibrarySnapshot, ids: impl Iterator<Item = String>) -> LibraryRecord {
        LibraryRecord {
            scenes: s.scenes.iter().map(|(n, v)| (n.clone(), json(v))).collect(),
            playlists: s
                .playlists
                .iter()
                .map(|(n, v)| (n.clone(), json(v)))
                .collect(),
            zone_palettes: ids
                .zip(&s.zone_palettes)
                .filter_map(|(id, p)| Some((id, p.clone()?)))
                .collect(),
            clean_shutdown: false,
        }
    }

    /// The saved scenes that pass validation (each problem logged).
    pub fn scenes(&self, palettes: &Palettes) -> Vec<(String, Scene)> {
        self.scenes
            .iter()
            .filter_map(|(name, v)| {
                let scene = check_name(name)
                    .map_err(|e| e.to_string())
                    .and_then(|_| serde_json::from_value::<Scene>(v.clone()).map_err(|e| e.to_string()));
                match scene {
                    Ok(s) => Some((
                        name.clone(),
                        s.validated(palettes, &mut |w| tracing::warn!(scene = %name, "state file: {w}")),
                    )),
                    Err(e) => {
                        tracing::warn!(scene = %name, error = %e, "ignoring a malformed scene in the state file");
                        None
                    }
                }
            })
            .collect()
    }

    /// The saved playlists that pass validation (each problem logged).
    pub fn playlists(&self) -> Vec<(String, Playlist)> {
        self.playlists
            .iter()
            .filter_map(|(name, v)| {
                let p = check_name(name)
                    .and_then(|_| serde_json::from_value::<Playlist>(v.clone()).map_err(|e| e.to_string()))
                    .and_then(|p| p.check().map(|_| p));
                p.inspect_err(|e| {
                    tracing::warn!(playlist = %name, error = %e, "ignoring a malformed playlist in the state file")
                })
                .ok()
                .map(|p| (name.clone(), p))
            })
            .collect()
    }
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Restores zones, master, device and library from the state file, then applies the power-on
/// behaviour. Never fails: a missing or bad file means the config's defaults.
pub fn boot(
    config: &Config,
    zones: &mut [ZoneState],
    master: &mut MasterState,
    device: &mut DeviceState,
) -> Library {
    let palettes = &config.library.palettes;
    let path = &config.state_path;
    let Some(f) = super::restore(path, &config.layout, zones, master, device) else {
        return library(config, Vec::new(), Vec::new());
    };
    restore_palettes(&f.library, config, zones);
    let lib = library(config, f.library.scenes(palettes), f.library.playlists());
    let clean = f.library.clean_shutdown;
    let ids: Vec<&str> = config.layout.zones.iter().map(|z| z.id.as_str()).collect();
    power_on(&config.library.power_on, clean, &ids, zones, &lib, palettes);
    if clean {
        // Only the next clean stop sets it again: a power cut later in this run is not a clean stop.
        set_marker(path, false);
    }
    lib
}

fn library(
    config: &Config,
    scenes: Vec<(String, Scene)>,
    lists: Vec<(String, Playlist)>,
) -> Library {
    let c = &config.library;
    Library::new(c.scenes.clone(), c.playlists.clone(), scenes, lists)
}

fn restore_palettes(r: &LibraryRecord, config: &Config, zones: &mut [ZoneState]) {
    for (id, name) in &r.zone_palettes {
        let Some(z) = config.layout.zone_index(id) else {
            continue;
        };
        match config.library.palettes.find(name) {
            Some(p) => zones[z].palette = Some(p),
            None => {
                tracing::warn!(zone = %id, palette = %name, "unknown palette in the state file: zone colour instead")
            }
        }
    }
}

/// Applies each zone's rule for how the daemon last stopped (`clean` = a clean stop).
pub fn power_on(
    rules: &[PowerOnRule],
    clean: bool,
    ids: &[&str],
    zones: &mut [ZoneState],
    lib: &Library,
    palettes: &Palettes,
) {
    for ((rule, id), z) in rules.iter().zip(ids).zip(zones.iter_mut()) {
        let what = if clean {
            &rule.after_restart
        } else {
            &rule.after_power_loss
        };
        match what {
            PowerOn::Previous => {}
            PowerOn::On => z.on = true,
            PowerOn::Off => z.on = false,
            PowerOn::Scene(name) => {
                let applied = lib
                    .scene(name)
                    .map(|s| s.apply_zone(id, z, palettes))
                    .unwrap_or(false);
                if !applied {
                    tracing::warn!(zone = %id, scene = %name, "power-on scene unknown or without this zone; previous state kept");
                }
            }
        }
    }
}

/// Sets the clean-shutdown marker in the state file (the last step of a clean stop).
pub fn mark_clean(path: &Path) {
    set_marker(path, true);
}

/// Rewrites the state file with `clean_shutdown` set to `clean`, everything else as it is.
fn set_marker(path: &Path, clean: bool) {
    let Some(mut top) = super::load::load_object(path) else {
        tracing::warn!(path = %path.display(), "clean-shutdown marker not updated: no readable state file");
        return;
    };
    top.insert("clean_shutdown".into(), serde_json::Value::Bool(clean));
    match file::save(path, &serde_json::Value::Object(top)) {
        Ok(()) => tracing::debug!(path = %path.display(), clean, "clean-shutdown marker updated"),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot update the clean-shutdown marker")
        }
    }
}

#[cfg(test)]
mod tests;
