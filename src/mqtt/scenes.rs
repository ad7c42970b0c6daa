//! The MQTT edge of scenes, playlists, wake-up and palettes: parsing their `B/set` keys and the
//! `palette` key of light commands into typed commands, the `palette` in zone state, and their Home
//! Assistant entities (scene and playlist selects, whose options follow the library; a "scene name"
//! text with a "save scene" button; sunrise and nightlight buttons; a palette select per zone).
//!
//! Only the form is checked here (names, types, ranges); whether a scene exists is the render loop's
//! business (it owns the library) and it answers on `B/error` through `Event::Rejected`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::device::parse_device;
use super::discovery::{Discovery, entity};
use super::light::{CommandError, StateJson, parse_object};
use super::topics::Topics;
use crate::config::Config;
use crate::config::library::{LibraryConfig, MAX_WAKE};
use crate::engine::playlist::{Playlist, PlaylistEntry};
use crate::engine::scene::check_name;
use crate::engine::sunrise::Sunrise;
use crate::engine::{Command, DeviceState, LightCommand, SceneCommand, ZoneState};
use crate::palette::{Palettes, ZONE_COLOUR};

/// The playlist select's option (and `B/state` value) when no playlist plays.
pub const NO_PLAYLIST: &str = "off";
/// Longest transition of a scene recall, in seconds (24 h).
pub const MAX_TRANSITION: f64 = 86_400.0;

fn bad(field: &'static str, reason: impl Into<String>) -> CommandError {
    CommandError::Field {
        field,
        reason: reason.into(),
    }
}

/// Parses a whole `B/set`: the device keys and the scene keys, all-or-nothing.
pub fn parse_set(
    payload: &[u8],
    zone_ids: &[String],
    lamp_configured: bool,
    lib: &LibraryConfig,
) -> Result<Command, CommandError> {
    let m = parse_object(payload)?;
    super::device::check_keys(&m, &[super::device::KEYS, SCENE_KEYS])?;
    let device = parse_device(payload, zone_ids, lamp_configured)?;
    let scenes = parse_scene_keys(&m, zone_ids, lib)?;
    Ok(if scenes.is_empty() {
        Command::Device(device)
    } else {
        Command::Scenes { device, scenes }
    })
}

fn name(v: &Value, field: &'static str) -> Result<String, CommandError> {
    let s = v
        .as_str()
        .ok_or_else(|| bad(field, format!("expected a name, got {v}")))?;
    check_name(s).map_err(|e| bad(field, e))
}

/// The scene, playlist, sunrise and nightlight keys of `B/set` (with the device keys, all it accepts).
pub const SCENE_KEYS: &[&str] = &[
    "scene_name",
    "scene_save",
    "scene_rename",
    "scene_delete",
    "scene",
    "transition",
    "scene_next",
    "playlist_save",
    "playlist_delete",
    "playlist",
    "sunrise",
    "nightlight",
];

/// The scene, playlist, sunrise and nightlight keys of a `B/set`, in a fixed order.
fn parse_scene_keys(
    m: &Map<String, Value>,
    zone_ids: &[String],
    lib: &LibraryConfig,
) -> Result<Vec<SceneCommand>, CommandError> {
    let mut out = scene_library_keys(m)?;
    out.extend(scene_recall_keys(m)?);
    out.extend(playlist_keys(m)?);
    out.extend(wake_keys(m, zone_ids, lib)?);
    Ok(out)
}

/// `scene_name`, `scene_save`, `scene_rename`, `scene_delete`.
fn scene_library_keys(m: &Map<String, Value>) -> Result<Vec<SceneCommand>, CommandError> {
    let mut out = Vec::new();
    if let Some(v) = m.get("scene_name") {
        let s = v
            .as_str()
            .ok_or_else(|| bad("scene_name", format!("expected text, got {v}")))?;
        let n = if s.trim().is_empty() {
            String::new()
        } else {
            name(v, "scene_name")?
        };
        out.push(SceneCommand::SetName(n));
    }
    if let Some(v) = m.get("scene_save") {
        out.push(SceneCommand::Save(match v {
            Value::Bool(true) => None,
            _ => Some(name(v, "scene_save")?),
        }));
    }
    if let Some(v) = m.get("scene_rename") {
        let (from, to) = (v.get("from"), v.get("to"));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(bad(
                "scene_rename",
                "expected {\"from\":\"…\",\"to\":\"…\"}",
            ));
        };
        out.push(SceneCommand::Rename {
            from: name(from, "scene_rename")?,
            to: name(to, "scene_rename")?,
        });
    }
    if let Some(v) = m.get("scene_delete") {
        out.push(SceneCommand::Delete(name(v, "scene_delete")?));
    }
    Ok(out)
}

/// `scene` (with its optional `transition`) and `scene_next`.
fn scene_recall_keys(m: &Map<String, Value>) -> Result<Vec<SceneCommand>, CommandError> {
    let mut out = Vec::new();
    let transition = m
        .get("transition")
        .map(|v| seconds(v, "transition", 0.0, MAX_TRANSITION))
        .transpose()?;
    match m.get("scene") {
        Some(v) => out.push(SceneCommand::Recall {
            name: name(v, "scene")?,
            transition: transition.map(|t| t as f32),
        }),
        None if transition.is_some() => {
            return Err(bad(
                "transition",
                "applies to a scene recall: add \"scene\"",
            ));
        }
        None => {}
    }
    if let Some(v) = m.get("scene_next") {
        if v != &Value::Bool(true) {
            return Err(bad("scene_next", "expected true"));
        }
        out.push(SceneCommand::Next);
    }
    Ok(out)
}

/// `playlist_save`, `playlist_delete`, `playlist` (start, or stop with null / "none").
fn playlist_keys(m: &Map<String, Value>) -> Result<Vec<SceneCommand>, CommandError> {
    let mut out = Vec::new();
    if let Some(v) = m.get("playlist_save") {
        let (n, p) = parse_playlist(v)?;
        out.push(SceneCommand::PlaylistSave(n, p));
    }
    if let Some(v) = m.get("playlist_delete") {
        out.push(SceneCommand::PlaylistDelete(name(v, "playlist_delete")?));
    }
    if let Some(v) = m.get("playlist") {
        out.push(match v {
            Value::Null => SceneCommand::PlaylistStop,
            Value::String(s) if s == NO_PLAYLIST || s == "none" => SceneCommand::PlaylistStop,
            _ => SceneCommand::PlaylistStart(name(v, "playlist")?),
        });
    }
    Ok(out)
}

/// `sunrise` and `nightlight`, with the configured defaults for what they leave out.
fn wake_keys(
    m: &Map<String, Value>,
    zone_ids: &[String],
    lib: &LibraryConfig,
) -> Result<Vec<SceneCommand>, CommandError> {
    let mut out = Vec::new();
    if let Some(v) = m.get("sunrise") {
        out.push(SceneCommand::Sunrise(parse_sunrise(v, zone_ids, lib)?));
    }
    if let Some(v) = m.get("nightlight") {
        let o = options(v, "nightlight")?;
        out.push(SceneCommand::Nightlight {
            duration: wake_duration(&o, "nightlight", lib.nightlight.duration)?,
            zones: zones(&o, "nightlight", zone_ids)?.or(lib.nightlight.zones.clone()),
        });
    }
    Ok(out)
}

/// `true` (the defaults) or an object of options.
fn options(v: &Value, field: &'static str) -> Result<Map<String, Value>, CommandError> {
    match v {
        Value::Bool(true) => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(bad(field, format!("expected true or an object, got {v}"))),
    }
}

fn seconds(v: &Value, field: &'static str, min: f64, max: f64) -> Result<f64, CommandError> {
    let n = v
        .as_f64()
        .ok_or_else(|| bad(field, format!("expected seconds, got {v}")))?;
    if !(min..=max).contains(&n) {
        return Err(bad(field, format!("{n} s is out of range {min}–{max} s")));
    }
    Ok(n)
}

/// `minutes` (0 < m ≤ 1440) or `duration` (seconds, 0 < d ≤ 86400), else `default`.
fn wake_duration(
    o: &Map<String, Value>,
    field: &'static str,
    default: Duration,
) -> Result<Duration, CommandError> {
    let max = MAX_WAKE.as_secs_f64();
    let secs = match (o.get("minutes"), o.get("duration")) {
        (Some(_), Some(_)) => return Err(bad(field, "give minutes or duration, not both")),
        (Some(m), None) => seconds(m, field, 0.0, max / 60.0)? * 60.0,
        (None, Some(d)) => seconds(d, field, 0.0, max)?,
        (None, None) => return Ok(default),
    };
    if secs <= 0.0 {
        return Err(bad(field, "the duration must be more than 0"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn zones(
    o: &Map<String, Value>,
    field: &'static str,
    zone_ids: &[String],
) -> Result<Option<Vec<usize>>, CommandError> {
    let Some(v) = o.get("zones") else {
        return Ok(None);
    };
    let list = v
        .as_array()
        .ok_or_else(|| bad(field, "zones must be a list of zone ids"))?;
    list.iter()
        .map(|id| {
            id.as_str()
                .and_then(|id| zone_ids.iter().position(|z| z == id))
                .ok_or_else(|| bad(field, format!("unknown zone {id}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_sunrise(
    v: &Value,
    zone_ids: &[String],
    lib: &LibraryConfig,
) -> Result<Sunrise, CommandError> {
    let o = options(v, "sunrise")?;
    let d = &lib.sunrise;
    let brightness = match o.get("brightness") {
        Some(b) => seconds(b, "sunrise", 1.0, 255.0)
            .map_err(|_| bad("sunrise", format!("brightness must be 1–255, got {b}")))?
            as u8,
        None => d.brightness,
    };
    let kelvin = match o.get("color_temp") {
        Some(k) => seconds(k, "sunrise", 1000.0, 40000.0).map_err(|_| {
            bad(
                "sunrise",
                format!("color_temp must be 1000–40000 K, got {k}"),
            )
        })? as u32,
        None => d.kelvin,
    };
    Ok(Sunrise {
        zones: zones(&o, "sunrise", zone_ids)?.or(d.zones.clone()),
        duration: wake_duration(&o, "sunrise", d.duration)?,
        brightness,
        kelvin,
    })
}

fn parse_playlist(v: &Value) -> Result<(String, Playlist), CommandError> {
    let n = v
        .get("name")
        .ok_or_else(|| bad("playlist_save", "missing \"name\""))?;
    let n = name(n, "playlist_save")?;
    let entries = v
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("playlist_save", "missing \"entries\" (a list)"))?;
    let entries = entries
        .iter()
        .map(|e| serde_json::from_value::<PlaylistEntry>(e.clone()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            bad(
                "playlist_save",
                format!("an entry is not {{\"scene\",\"duration\",\"transition\"}}: {e}"),
            )
        })?;
    let repeat = match v.get("repeat") {
        None => 0,
        Some(r) => r
            .as_u64()
            .and_then(|r| u32::try_from(r).ok())
            .ok_or_else(|| {
                bad(
                    "playlist_save",
                    format!("repeat must be a whole number, got {r}"),
                )
            })?,
    };
    let end = v
        .get("end")
        .filter(|e| !e.is_null())
        .map(|e| name(e, "playlist_save"))
        .transpose()?;
    let p = Playlist {
        entries,
        repeat,
        end,
    };
    p.check().map_err(|e| bad("playlist_save", e))?;
    Ok((n, p))
}

/// Adds the `palette` key of a light command (`"palette":"<name>"`, `"zone colour"` or null).
pub fn with_palette(
    mut cmd: LightCommand,
    payload: &[u8],
    palettes: &Palettes,
) -> Result<LightCommand, CommandError> {
    let m = parse_object(payload)?;
    if let Some(v) = m.get("palette") {
        cmd.palette = Some(match v {
            Value::Null => None,
            Value::String(s) => palettes.parse(s).ok_or_else(|| {
                bad(
                    "palette",
                    format!(
                        "unknown palette \"{}\"",
                        s.chars().take(64).collect::<String>()
                    ),
                )
            })?,
            _ => return Err(bad("palette", format!("expected a palette name, got {v}"))),
        });
    }
    Ok(cmd)
}

/// Adds the zone's palette to its JSON state (Home Assistant ignores the key; the palette select reads it).
pub fn add_palette<'a>(state: &mut StateJson<'a>, z: &ZoneState, palettes: &'a Palettes) {
    state.palette = Some(palettes.name_of(z.palette));
}

/// Entities that depend only on the config: a palette select per zone, the scene-name text, the
/// save button, sunrise and nightlight buttons.
pub fn entities(config: &Config, t: &Topics) -> Vec<Discovery> {
    let options: Vec<&str> = std::iter::once(ZONE_COLOUR)
        .chain(config.library.palettes.iter().map(|p| p.name.as_str()))
        .collect();
    let mut out: Vec<Discovery> = config
        .layout
        .zones
        .iter()
        .enumerate()
        .map(|(z, zone)| {
            let p = json!({
                "name": format!("{} palette", zone.name),
                "command_topic": t.zone_set(z),
                "command_template": "{\"palette\": {{ value | tojson }}}",
                "state_topic": t.zone_state(z),
                "value_template": "{{ value_json.palette }}",
                "options": options,
            });
            entity(config, t, "select", &format!("{}_palette", zone.id), p)
        })
        .collect();
    out.push(entity(
        config,
        t,
        "text",
        "scene_name",
        json!({
            "name": "Scene name",
            "command_topic": t.device_set,
            "command_template": "{\"scene_name\": {{ value | tojson }}}",
            "state_topic": t.device_state,
            "value_template": "{{ value_json.scene_name }}",
            "max": crate::engine::scene::MAX_NAME,
            "entity_category": "config",
        }),
    ));
    for (object, name, payload) in [
        ("scene_save", "Save scene", "{\"scene_save\":true}"),
        ("sunrise", "Sunrise", "{\"sunrise\":true}"),
        ("nightlight", "Nightlight", "{\"nightlight\":true}"),
    ] {
        let p = json!({"name": name, "command_topic": t.device_set, "payload_press": payload});
        out.push(entity(config, t, "button", object, p));
    }
    out
}

/// The scene and playlist selects, whose options are the library's current names.
pub fn library_entities(config: &Config, t: &Topics, s: &DeviceState) -> Vec<Discovery> {
    let scene = json!({
        "name": "Scene",
        "command_topic": t.device_set,
        "command_template": "{\"scene\": {{ value | tojson }}}",
        "state_topic": t.device_state,
        "value_template": "{{ value_json.scene }}",
        "options": s.scenes,
    });
    let playlists: Vec<&str> = std::iter::once(NO_PLAYLIST)
        .chain(s.playlists.iter().map(String::as_str))
        .collect();
    let playlist = json!({
        "name": "Playlist",
        "command_topic": t.device_set,
        "command_template": "{\"playlist\": {{ value | tojson }}}",
        "state_topic": t.device_state,
        "value_template": "{{ value_json.playlist }}",
        "options": playlists,
    });
    vec![
        entity(config, t, "select", "scene", scene),
        entity(config, t, "select", "playlist", playlist),
    ]
}

/// Topics of [`library_entities`] (so they are never taken for stale entities).
pub fn library_topics(t: &Topics) -> [String; 2] {
    [
        t.discovery("select", "scene"),
        t.discovery("select", "playlist"),
    ]
}

#[cfg(test)]
mod tests;
