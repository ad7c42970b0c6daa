//! Reading the state file safely: whatever sits at the path, reading it neither blocks nor eats memory.
//!
//! - Only a regular file is read. The path is `stat`ed first (so a device node is never opened: opening
//!   some, like a watchdog, has side effects), then opened `O_NONBLOCK` (a FIFO swapped in meanwhile
//!   cannot block the open) and `fstat`ed again, which is what counts.
//! - At most [`MAX_STATE_FILE`] bytes are read, so a huge file costs nothing; it is moved aside unread.
//! - Parsing keeps only what this config can use: the top level borrows from the read buffer, unknown
//!   keys are skipped unread, and of `zones` only the records of configured zones are kept (as raw text,
//!   parsed one by one in `restore.rs`). Memory stays within a small multiple of the file's size.
//!
//! Anything unusable at the path (not JSON, not a regular file, too large) is renamed to
//! `<path>.bad` so the writer can put a good file in its place.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::file::bad_path;
use super::library::LibraryRecord;
use crate::layout::Layout;

/// The largest state file read: 4 MiB. Today's file takes about 2 KiB per zone (a few hundred bytes
/// of colour and mode, plus every effect's parameter memory), so a 16-zone device writes ~30 KiB; the
/// rest is headroom for what later versions may add (saved scenes, schedules) without a format change.
/// A larger file is not a state file this daemon wrote: it is moved aside unread.
pub const MAX_STATE_FILE: u64 = 4 * 1024 * 1024;

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
    #[error("{path} is not a usable state file ({reason}); moved aside to {moved_to}")]
    Unusable {
        path: String,
        reason: String,
        moved_to: String,
    },
}

/// The sections of a state file, each still raw so that one bad section cannot spoil the others.
#[derive(Debug, Default)]
pub struct SavedState {
    pub version: u32,
    /// Records of the zones the layout has, by zone id.
    pub zones: BTreeMap<String, Box<RawValue>>,
    pub master: Option<Box<RawValue>>,
    pub device: Option<Box<RawValue>>,
    /// Why `zones` could not be read, if it could not.
    pub zones_error: Option<String>,
    /// Scenes, playlists, zone palettes and the clean-shutdown marker (validated in `library.rs`).
    pub library: LibraryRecord,
}

/// Reads the state file at `path`, keeping the zone records of `layout`'s zones.
pub fn load(path: &Path, layout: &Layout) -> Result<SavedState, LoadError> {
    let bytes = match read_regular(path) {
        Ok(b) => b,
        Err(ReadError::Missing) => return Err(LoadError::Missing),
        Err(ReadError::Io(source)) => {
            return Err(LoadError::Read {
                path: path.display().to_string(),
                source,
            });
        }
        Err(ReadError::Unusable(reason)) => {
            let moved_to = move_aside(path);
            return Err(LoadError::Unusable {
                path: path.display().to_string(),
                reason,
                moved_to,
            });
        }
    };
    parse(&bytes, layout).map_err(|e| LoadError::Corrupt {
        path: path.display().to_string(),
        reason: e.to_string(),
        moved_to: move_aside(path),
    })
}

/// Parses the file's text (see the module doc for what is kept).
pub fn parse(bytes: &[u8], layout: &Layout) -> Result<SavedState, serde_json::Error> {
    #[derive(Deserialize)]
    struct Top<'a> {
        #[serde(default)]
        version: u32,
        #[serde(borrow, default)]
        zones: Option<&'a RawValue>,
        #[serde(borrow, default)]
        master: Option<&'a RawValue>,
        #[serde(borrow, default)]
        device: Option<&'a RawValue>,
        #[serde(borrow, default)]
        scenes: Option<&'a RawValue>,
        #[serde(borrow, default)]
        playlists: Option<&'a RawValue>,
        #[serde(borrow, default)]
        zone_palettes: Option<&'a RawValue>,
        #[serde(default)]
        clean_shutdown: bool,
    }
    // serde would also take `Top` from an array (`[1, {...}]`); a state file is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(serde::de::Error::custom("not a JSON object"));
    }
    let top: Top = serde_json::from_slice(bytes)?;
    let mut saved = SavedState {
        version: top.version,
        master: top.master.map(RawValue::to_owned),
        device: top.device.map(RawValue::to_owned),
        library: LibraryRecord {
            scenes: section(top.scenes, "scenes"),
            playlists: section(top.playlists, "playlists"),
            zone_palettes: section(top.zone_palettes, "zone_palettes"),
            clean_shutdown: top.clean_shutdown,
        },
        ..Default::default()
    };
    if let Some(zones) = top.zones {
        let wanted = ConfiguredZones(layout);
        let mut de = serde_json::Deserializer::from_str(zones.get());
        match wanted.deserialize(&mut de) {
            Ok(z) => saved.zones = z,
            Err(e) => saved.zones_error = Some(e.to_string()),
        }
    }
    Ok(saved)
}

/// One optional top-level section; a malformed one is logged and read as empty, sparing the rest.
fn section<T: serde::de::DeserializeOwned + Default>(raw: Option<&RawValue>, key: &str) -> T {
    raw.map_or_else(T::default, |r| {
        serde_json::from_str(r.get()).unwrap_or_else(|e| {
            tracing::warn!(key, error = %e, "state file: ignoring a malformed section");
            T::default()
        })
    })
}

enum ReadError {
    Missing,
    Io(std::io::Error),
    Unusable(String),
}

/// The file's top-level JSON object, read as safely as [`load`] reads it (for rewriting one key).
pub fn load_object(path: &Path) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = read_regular(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads `path` if it is a regular file of at most [`MAX_STATE_FILE`] bytes.
fn read_regular(path: &Path) -> Result<Vec<u8>, ReadError> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing,
        _ => ReadError::Io(e),
    };
    // stat first: never open a device node or FIFO at all.
    check_regular(&fs::metadata(path).map_err(io)?)?;
    let mut f: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    // fstat the file actually opened: the path may have been swapped since the stat.
    let meta = f.metadata().map_err(io)?;
    check_regular(&meta)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(MAX_STATE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_STATE_FILE {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn check_regular(meta: &fs::Metadata) -> Result<(), ReadError> {
    let t = meta.file_type();
    if !t.is_file() {
        return Err(ReadError::Unusable(format!(
            "it is {}, not a regular file",
            kind_of(&t)
        )));
    }
    if meta.len() > MAX_STATE_FILE {
        return Err(too_large(meta.len()));
    }
    Ok(())
}

fn too_large(len: u64) -> ReadError {
    ReadError::Unusable(format!(
        "{len} bytes, more than the {} MiB a state file may have",
        MAX_STATE_FILE / (1024 * 1024)
    ))
}

/// What kind of file `t` is, for messages.
pub fn kind_of(t: &fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_file() {
        "a regular file"
    } else {
        "something other than a file"
    }
}

/// Renames `path` to `<path>.bad`; says where it went (or why it could not).
fn move_aside(path: &Path) -> String {
    let bad = bad_path(path);
    match fs::rename(path, &bad) {
        Ok(()) => bad.display().to_string(),
        Err(err) => format!("(could not move it: {err})"),
    }
}

/// Deserializes the `zones` object keeping only the records of configured zones, each as raw JSON;
/// the others are skipped unread.
struct ConfiguredZones<'l>(&'l Layout);

impl<'de> DeserializeSeed<'de> for ConfiguredZones<'_> {
    type Value = BTreeMap<String, Box<RawValue>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ConfiguredZones<'_> {
    type Value = BTreeMap<String, Box<RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of zone records keyed by zone id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(id) = map.next_key::<String>()? {
            if self.0.zone_index(&id).is_some() {
                out.insert(id, map.next_value::<Box<RawValue>>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}
