//! Parsing `B/set` device commands: `{"edit_mode":true}`, `{"selected_zone":"floor"}`,
//! `{"edit_target":"hue"}`, `{"lamp":false}`, `{"power":"OFF"}`, `{"preset":"red","zone":"desk"}`,
//! `{"identify":true}` — any subset, validated all-or-nothing like light commands. Unlike a light
//! command (whose keys Home Assistant extends over time), `B/set` is our own protocol: an unknown key is
//! a mistake worth reporting, and so is a payload with no command in it.

use serde_json::{Map, Value, json};

use super::light::{CommandError, parse_object};
use crate::color::DEFAULT_PRESETS;
use crate::engine::{DeviceCommand, DeviceState, EditTarget};

fn bad(field: &'static str, reason: String) -> CommandError {
    CommandError::Field { field, reason }
}

fn boolean(v: &Value, field: &'static str) -> Result<bool, CommandError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("on") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("off") => Ok(false),
        _ => Err(bad(
            field,
            format!("expected true/false or \"ON\"/\"OFF\", got {v}"),
        )),
    }
}

fn zone(v: &Value, field: &'static str, zone_ids: &[String]) -> Result<usize, CommandError> {
    let id = v
        .as_str()
        .ok_or_else(|| bad(field, format!("expected a zone id, got {v}")))?;
    zone_ids.iter().position(|z| z == id).ok_or_else(|| {
        bad(
            field,
            format!(
                "unknown zone \"{}\"",
                id.chars().take(64).collect::<String>()
            ),
        )
    })
}

/// The device keys of `B/set` (the scene keys are in `scenes.rs`).
pub const KEYS: &[&str] = &[
    "edit_mode",
    "selected_zone",
    "edit_target",
    "lamp",
    "power",
    "preset",
    "zone",
    "frame_step",
    "step",
    "identify",
];

/// Rejects an object with a key outside `known` (naming them and the known ones), or with no key at all.
pub fn check_keys(m: &Map<String, Value>, known: &[&[&str]]) -> Result<(), CommandError> {
    let all: Vec<&str> = known.iter().flat_map(|k| k.iter().copied()).collect();
    let unknown: Vec<&str> = m
        .keys()
        .map(String::as_str)
        .filter(|k| !all.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(bad(
            "B/set",
            format!(
                "unknown key(s) {}; known: {}",
                unknown.join(", "),
                all.join(", ")
            ),
        ));
    }
    if m.is_empty() {
        return Err(bad(
            "B/set",
            format!("no device command in {{}}; known keys: {}", all.join(", ")),
        ));
    }
    Ok(())
}

/// Parses the device keys of a `B/set` command (others are left to the caller, see [`check_keys`]);
/// `lamp_configured` says whether lamp mode exists.
pub fn parse_device(
    payload: &[u8],
    zone_ids: &[String],
    lamp_configured: bool,
) -> Result<DeviceCommand, CommandError> {
    let m = parse_object(payload)?;
    let mut cmd = DeviceCommand::default();
    if let Some(v) = m.get("edit_mode") {
        cmd.edit_mode = Some(boolean(v, "edit_mode")?);
    }
    if let Some(v) = m.get("selected_zone") {
        cmd.selected_zone = Some(zone(v, "selected_zone", zone_ids)?);
    }
    if let Some(v) = m.get("edit_target") {
        cmd.edit_target = Some(v.as_str().and_then(EditTarget::parse).ok_or_else(|| {
            bad(
                "edit_target",
                format!(
                    "expected \"hue\", \"preset\", \"brightness\" or a parameter name, got {v}"
                ),
            )
        })?);
    }
    if let Some(v) = m.get("lamp") {
        if !lamp_configured {
            return Err(bad(
                "lamp",
                "no lamp zone is configured ([lamp] zone = ...)".into(),
            ));
        }
        cmd.lamp = Some(boolean(v, "lamp")?);
    }
    if let Some(v) = m.get("power") {
        cmd.power = Some(boolean(v, "power")?);
    }
    if let Some(v) = m.get("preset") {
        let name = v
            .as_str()
            .ok_or_else(|| bad("preset", format!("expected a preset name, got {v}")))?;
        cmd.preset = Some(
            DEFAULT_PRESETS
                .iter()
                .position(|(n, _)| *n == name)
                .ok_or_else(|| {
                    bad(
                        "preset",
                        format!(
                            "unknown preset \"{}\"",
                            name.chars().take(64).collect::<String>()
                        ),
                    )
                })?,
        );
    }
    if let Some(v) = m.get("zone") {
        cmd.zone = Some(zone(v, "zone", zone_ids)?);
    }
    if let Some(v) = m.get("frame_step") {
        cmd.frame_step = Some(boolean(v, "frame_step")?);
    }
    if let Some(v) = m.get("step") {
        let n = v.as_i64().filter(|n| (-1000..=1000).contains(n) && *n != 0);
        cmd.step = Some(n.ok_or_else(|| {
            bad(
                "step",
                format!("expected a non-zero whole number of frames, got {v}"),
            )
        })? as i32);
    }
    if let Some(v) = m.get("identify") {
        cmd.identify = boolean(v, "identify")?;
    }
    Ok(cmd)
}

/// The JSON of `B/state`.
pub fn device_json(s: &DeviceState, preset: &str, zone_ids: &[String]) -> Value {
    json!({
        "edit_mode": s.edit_mode,
        "selected_zone": zone_ids.get(s.selected_zone),
        "edit_target": s.edit_target.name(),
        "lamp": s.lamp,
        "frame_step": s.frame_step,
        "preset": preset,
        "scenes": s.scenes,
        "scene": s.scene,
        "scene_name": s.scene_name,
        "playlists": s.playlists,
        "playlist": s.playlist.as_deref().unwrap_or(super::scenes::NO_PLAYLIST),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["floor".into(), "desk".into()]
    }

    #[test]
    fn parses_device_commands() {
        let c = parse_device(br#"{"edit_mode":true,"selected_zone":"desk","preset":"red","power":"ON","identify":true}"#, &ids(), false).unwrap();
        assert_eq!(c.edit_mode, Some(true));
        assert_eq!(c.selected_zone, Some(1));
        assert_eq!(c.preset, Some(0));
        assert_eq!(c.power, Some(true));
        assert!(c.identify);
    }

    #[test]
    fn unknown_keys_and_empty_objects_are_named() {
        let check = |p: &[u8]| {
            let m = parse_object(p).unwrap();
            check_keys(&m, &[KEYS, &["scene"]]).map_err(|e| e.to_string())
        };
        assert_eq!(check(br#"{"edit_mode":true,"scene":"x"}"#), Ok(()));
        let e = check(br#"{"edit_mdoe":true}"#).unwrap_err();
        assert!(
            e.contains("unknown key(s) edit_mdoe") && e.contains("scene"),
            "{e}"
        );
        assert!(check(b"{}").unwrap_err().contains("no device command"));
    }

    #[test]
    fn rejects_bad_device_commands() {
        for (p, needle) in [
            (&br#"{"selected_zone":"attic"}"#[..], "unknown zone"),
            (br#"{"preset":"beige"}"#, "unknown preset"),
            (br#"{"lamp":true}"#, "no lamp zone"),
            (br#"{"edit_mode":3}"#, "edit_mode"),
            (br#"{"edit_target":"warp"}"#, "edit_target"),
            (br#"{"step":0}"#, "step"),
        ] {
            let e = parse_device(p, &ids(), false).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
