//! The state file's format and its atomic write.
//!
//! Zones and effects are keyed by id and name (not index), so adding, removing or reordering zones and
//! effects in the config or the registry keeps what still matches. Writes go to a fresh temporary file
//! in the same directory (any old one, even a FIFO, is removed first and the new one is created with
//! `O_EXCL`, so the writer never opens something that could block it), which is fsynced, renamed over
//! the old file, and then the directory is fsynced: after a power cut the file is either the old one or
//! the new one, never torn. Reading is in `load.rs`, validation in `restore.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::effects::{self, ParamId};
use crate::engine::{ColorMode, EditTarget, Snapshot};
use crate::layout::Layout;

pub const FORMAT_VERSION: u32 = 1;

/// Everything persisted, as written to disk.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateFile {
    pub version: u32,
    pub zones: BTreeMap<String, ZoneRecord>,
    pub master: MasterRecord,
    pub device: DeviceRecord,
    /// Scenes, playlists, zone palettes, clean-shutdown marker (`persist/library.rs`).
    #[serde(flatten)]
    pub library: super::library::LibraryRecord,
}

/// One zone as stored. Reading it checks only the types; `restore.rs` checks the values.
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
    pub params: ParamMemory,
}

/// Effect name → parameter name → value. Reading keeps only the effects and parameters this version
/// knows (the rest is skipped unread), so its size is bounded by the registry, not by the file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ParamMemory(pub BTreeMap<String, BTreeMap<String, f32>>);

/// The master as stored: its brightness (the last master colour and effect are not kept).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterRecord {
    pub brightness: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub edit_mode: bool,
    pub selected_zone: Option<String>,
    pub edit_target: EditTarget,
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
                    params: ParamMemory(params),
                };
                (spec.id.clone(), rec)
            })
            .collect();
        StateFile {
            version: FORMAT_VERSION,
            zones,
            master: MasterRecord {
                brightness: s.master.brightness,
            },
            device: DeviceRecord {
                edit_mode: s.device.edit_mode,
                selected_zone: layout
                    .zones
                    .get(s.device.selected_zone)
                    .map(|z| z.id.clone()),
                edit_target: s.device.edit_target,
            },
            library: super::library::LibraryRecord::from_snapshot(
                &s.library,
                layout.zones.iter().map(|z| z.id.clone()),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for ParamMemory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let known = |k: &str| effects::find(k).is_some();
        let m = d.deserialize_map(KnownKeys::<_, KnownParams>::new(known))?;
        Ok(ParamMemory(m.into_iter().map(|(k, v)| (k, v.0)).collect()))
    }
}

/// Parameter name → value, for the parameter names this version knows.
struct KnownParams(BTreeMap<String, f32>);

impl<'de> Deserialize<'de> for KnownParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let known = |k: &str| ParamId::parse(k).is_some();
        d.deserialize_map(KnownKeys::<_, f32>::new(known))
            .map(KnownParams)
    }
}

/// A map visitor that keeps the entries whose key passes `keep` and skips the others unread.
struct KnownKeys<K, T> {
    keep: K,
    value: PhantomData<T>,
}

impl<K, T> KnownKeys<K, T> {
    fn new(keep: K) -> Self {
        KnownKeys {
            keep,
            value: PhantomData,
        }
    }
}

impl<'de, K: Fn(&str) -> bool, T: Deserialize<'de>> Visitor<'de> for KnownKeys<K, T> {
    type Value = BTreeMap<String, T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if (self.keep)(&key) {
                out.insert(key, map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// `state.json` → `state.json<suffix>`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// `state.json` → `state.json.bad`.
pub fn bad_path(path: &Path) -> PathBuf {
    with_suffix(path, ".bad")
}

/// Writes atomically: fresh temp file, fsync, rename, fsync the directory. Never blocks on a FIFO or
/// follows a symlink planted at the temp path.
pub fn save<T: Serialize>(path: &Path, state: &T) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(path, ".tmp");
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
        f.write_all(&json)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}
