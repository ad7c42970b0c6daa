//! The state file's format and its atomic read/write.
//!
//! Zones and effects are keyed by id and name (not index), so adding, removing or reordering zones and
//! effects in the config or the registry keeps what still matches. Unknown keys are ignored. Writes go
//! to a temporary file in the same directory, which is fsynced, renamed over the old file, and then the
//! directory is fsynced: after a power cut the file is either the old one or the new one, never torn.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::color::Rgb;
use crate::effects::{self, ParamId, ParamValues};
use crate::engine::{ColorMode, DeviceState, EditTarget, MasterState, Snapshot, ZoneState};
use crate::layout::Layout;

pub const FORMAT_VERSION: u32 = 1;

/// Everything persisted, as written to disk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    #[serde(default)]
    pub version: u32,
    /// Zone id → [`ZoneRecord`], kept as JSON so one malformed entry cannot spoil the others.
    #[serde(default)]
    pub zones: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub master: Option<MasterState>,
    #[serde(default)]
    pub device: Option<DeviceRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneRecord {
    pub on: bool,
    pub brightness: u8,
    pub color: [u8; 3],
    pub color_mode: ColorMode,
    /// Running effect name, `None` for static.
    pub effect: Option<String>,
    pub last_effect: Option<String>,
    /// Per-effect parameter memory: effect name → parameter name → value.
    #[serde(default)]
    pub params: BTreeMap<String, BTreeMap<String, f32>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub edit_mode: bool,
    pub selected_zone: Option<String>,
    pub edit_target: EditTarget,
}

/// What reading the state file found.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no state file yet")]
    Missing,
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is corrupt ({reason}); moved aside to {moved_to}")]
    Corrupt {
        path: String,
        reason: String,
        moved_to: String,
    },
}

impl StateFile {
    /// Records a snapshot.
    pub fn from_snapshot(s: &Snapshot, layout: &Layout) -> StateFile {
        let name = |e: usize| effects::REGISTRY.get(e).map(|fx| fx.name().to_string());
        let zones = s
            .zones
            .iter()
            .zip(&layout.zones)
            .map(|(z, spec)| {
                let params = effects::REGISTRY
                    .iter()
                    .zip(&z.params)
                    .map(|(fx, v)| {
                        let m = fx
                            .params()
                            .iter()
                            .map(|p| (p.id.name().to_string(), v.get(p.id)))
                            .collect();
                        (fx.name().to_string(), m)
                    })
                    .collect();
                let rec = ZoneRecord {
                    on: z.on,
                    brightness: z.brightness,
                    color: [z.color.r, z.color.g, z.color.b],
                    color_mode: z.color_mode,
                    effect: z.effect.and_then(name),
                    last_effect: name(z.last_effect),
                    params,
                };
                (
                    spec.id.clone(),
                    serde_json::to_value(rec).unwrap_or_default(),
                )
            })
            .collect();
        StateFile {
            version: FORMAT_VERSION,
            zones,
            master: Some(s.master),
            device: Some(DeviceRecord {
                edit_mode: s.device.edit_mode,
                selected_zone: layout
                    .zones
                    .get(s.device.selected_zone)
                    .map(|z| z.id.clone()),
                edit_target: s.device.edit_target,
            }),
        }
    }

    /// Applies what this file knows onto `zones` (already at their config defaults), `master` and
    /// `device`. Zones or effects the file does not know keep their defaults; entries the config no
    /// longer has are ignored.
    pub fn restore(
        &self,
        layout: &Layout,
        zones: &mut [ZoneState],
        master: &mut MasterState,
        device: &mut DeviceState,
    ) {
        for (spec, z) in layout.zones.iter().zip(zones.iter_mut()) {
            let Some(v) = self.zones.get(&spec.id) else {
                continue;
            };
            let r: ZoneRecord = match serde_json::from_value(v.clone()) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(zone = %spec.id, error = %e, "ignoring a malformed zone entry in the state file");
                    continue;
                }
            };
            z.on = r.on;
            z.brightness = r.brightness.max(1);
            z.color = Rgb::new(r.color[0], r.color[1], r.color[2]);
            z.color_mode = r.color_mode;
            if !layout.strips[spec.strip].uses_white() {
                z.drop_white();
            }
            z.effect = r.effect.as_deref().and_then(effects::find);
            if let Some(e) = r.last_effect.as_deref().and_then(effects::find) {
                z.last_effect = e;
            }
            for (name, values) in &r.params {
                let Some(e) = effects::find(name) else {
                    continue;
                };
                let mut v: ParamValues = z.params[e];
                for (p, value) in values {
                    if let Some(id) = ParamId::parse(p) {
                        let decl = effects::param_spec(e, id).unwrap_or_else(|| id.global());
                        if value.is_finite() {
                            v.set(id, decl.clamp(*value));
                        }
                    }
                }
                z.params[e] = v;
            }
        }
        if let Some(m) = self.master {
            master.brightness = m.brightness.max(1);
        }
        if let Some(d) = &self.device {
            device.edit_mode = d.edit_mode;
            device.edit_target = d.edit_target;
            if let Some(z) = d
                .selected_zone
                .as_deref()
                .and_then(|id| layout.zone_index(id))
            {
                device.selected_zone = z;
            }
        }
    }
}

/// Reads the state file. A corrupt file is renamed to `<path>.bad` (the reason is in the error).
pub fn load(path: &Path) -> Result<StateFile, LoadError> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
        Err(source) => {
            return Err(LoadError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    serde_json::from_slice::<StateFile>(&text).map_err(|e| {
        let bad = bad_path(path);
        let moved_to = match fs::rename(path, &bad) {
            Ok(()) => bad.display().to_string(),
            Err(err) => format!("(could not move it: {err})"),
        };
        LoadError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
            moved_to,
        }
    })
}

/// `state.json` → `state.json.bad`.
pub fn bad_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".bad");
    PathBuf::from(p)
}

/// Writes atomically: temp file, fsync, rename, fsync the directory.
pub fn save(path: &Path, state: &StateFile) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
