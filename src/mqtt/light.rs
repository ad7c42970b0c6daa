//! Home Assistant's JSON-schema light: parsing a command into a validated [`LightCommand`], and rendering
//! a zone's state back.
//!
//! Parsing is all-or-nothing: any wrong type or out-of-range value rejects the whole command with a
//! message naming the field, so a zone is never half-changed. Unknown keys are ignored (Home Assistant
//! adds some over time). State always carries `color_mode` with only that mode's colour keys, and never
//! `brightness: 0`.
//!
//! Zones on a strip with a white LED also take `{"color":{"r","g","b","w"}}` (reported back as
//! `color_mode: "rgbw"`) and `{"white": level}` (the W LED alone at that brightness, reported as
//! `color_mode: "white"`). On any other zone the render loop reads an RGBW colour as its RGB part.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::color::Rgb;
use crate::effects;
use crate::engine::{ColorMode, ColorSet, LightCommand, MasterState, ZoneState, parse_effect};

/// Colour temperatures accepted and advertised, in kelvin.
pub const MIN_KELVIN: u32 = 2000;
pub const MAX_KELVIN: u32 = 6500;
/// Flash lengths Home Assistant sends for `short` / `long` (advertised in discovery).
pub const FLASH_SHORT: u32 = 2;
pub const FLASH_LONG: u32 = 10;

/// Why a command was rejected (the text goes to `B/error`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CommandError {
    #[error("payload is not valid UTF-8 JSON: {0}")]
    NotJson(String),
    #[error("payload must be a JSON object")]
    NotAnObject,
    #[error("\"{field}\": {reason}")]
    Field { field: &'static str, reason: String },
    #[error("unknown effect \"{0}\"")]
    UnknownEffect(String),
}

fn field(field: &'static str, reason: impl Into<String>) -> CommandError {
    CommandError::Field {
        field,
        reason: reason.into(),
    }
}

/// A number in `[min, max]`, or an error naming `name`.
fn number(v: &Value, name: &'static str, min: f64, max: f64) -> Result<f64, CommandError> {
    let n = v
        .as_f64()
        .ok_or_else(|| field(name, format!("expected a number, got {}", type_name(v))))?;
    if !(min..=max).contains(&n) {
        return Err(field(name, format!("{n} is out of range {min}–{max}")));
    }
    Ok(n)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses the payload as a JSON object.
pub fn parse_object(payload: &[u8]) -> Result<Map<String, Value>, CommandError> {
    let text = std::str::from_utf8(payload).map_err(|e| CommandError::NotJson(e.to_string()))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(CommandError::NotAnObject),
        Err(e) => Err(CommandError::NotJson(e.to_string())),
    }
}

/// Parses a Home Assistant JSON-schema light command.
pub fn parse_command(payload: &[u8]) -> Result<LightCommand, CommandError> {
    let m = parse_object(payload)?;
    let mut cmd = LightCommand::default();
    power_keys(&m, &mut cmd)?;
    colour_keys(&m, &mut cmd)?;
    effect_keys(&m, &mut cmd)?;
    Ok(cmd)
}

/// `state` and `brightness` (0 from another client means off).
fn power_keys(m: &Map<String, Value>, cmd: &mut LightCommand) -> Result<(), CommandError> {
    if let Some(v) = m.get("state") {
        cmd.on = Some(match v.as_str().map(str::to_ascii_uppercase).as_deref() {
            Some("ON") => true,
            Some("OFF") => false,
            Some("TOGGLE") => {
                return Err(field("state", "TOGGLE is not supported; send ON or OFF"));
            }
            _ => {
                return Err(field(
                    "state",
                    format!("expected \"ON\" or \"OFF\", got {v}"),
                ));
            }
        });
    }
    if let Some(v) = m.get("brightness") {
        let b = number(v, "brightness", 0.0, 255.0)?.round() as u8;
        if b == 0 {
            cmd.on = Some(false);
        } else {
            cmd.brightness = Some(b);
        }
    }
    Ok(())
}

/// One of `color`, `color_temp` or `white`.
fn colour_keys(m: &Map<String, Value>, cmd: &mut LightCommand) -> Result<(), CommandError> {
    if let Some(v) = m.get("color") {
        cmd.color = Some(parse_color(v)?);
    }
    if let Some(v) = m.get("color_temp") {
        let k = number(v, "color_temp", 1000.0, 40000.0)?;
        if cmd.color.is_some() {
            return Err(field(
                "color_temp",
                "send either color or color_temp, not both",
            ));
        }
        cmd.color = Some(ColorSet::Kelvin(k.round() as u32));
    }
    if let Some(v) = m.get("white") {
        // Home Assistant's white mode: the white LED alone, `white` being its brightness (1–255).
        let level = number(v, "white", 0.0, 255.0)?.round() as u8;
        if cmd.color.is_some() {
            return Err(field(
                "white",
                "send one of color, color_temp or white, not several",
            ));
        }
        cmd.color = Some(ColorSet::White);
        if !m.contains_key("brightness") {
            if level == 0 {
                cmd.on = Some(false);
            } else {
                cmd.brightness = Some(level);
            }
        }
    }
    Ok(())
}

/// `effect`, `transition` and `flash`.
fn effect_keys(m: &Map<String, Value>, cmd: &mut LightCommand) -> Result<(), CommandError> {
    if let Some(v) = m.get("effect") {
        let name = v
            .as_str()
            .ok_or_else(|| field("effect", format!("expected a string, got {}", type_name(v))))?;
        cmd.effect = Some(
            parse_effect(name)
                .ok_or_else(|| CommandError::UnknownEffect(name.chars().take(64).collect()))?,
        );
    }
    if let Some(v) = m.get("transition") {
        // Up to 24 h: long fades are smooth and cheap (see `engine/compositor/fade.rs`).
        cmd.transition = Some(number(v, "transition", 0.0, 86_400.0)? as f32);
    }
    if let Some(v) = m.get("flash") {
        cmd.flash = Some(match v {
            Value::String(s) if s == "short" => FLASH_SHORT as f32,
            Value::String(s) if s == "long" => FLASH_LONG as f32,
            Value::Number(_) => number(v, "flash", 0.0, 60.0)? as f32,
            _ => {
                return Err(field(
                    "flash",
                    format!("expected \"short\", \"long\" or seconds, got {v}"),
                ));
            }
        });
    }
    Ok(())
}

fn parse_color(v: &Value) -> Result<ColorSet, CommandError> {
    let m = v
        .as_object()
        .ok_or_else(|| field("color", format!("expected an object, got {}", type_name(v))))?;
    let get = |k: &'static str, max: f64| -> Result<Option<f64>, CommandError> {
        m.get(k)
            .map(|v| {
                number(v, "color", 0.0, max)
                    .map_err(|_| field("color", format!("{k} must be a number 0–{max}, got {v}")))
            })
            .transpose()
    };
    if let (Some(r), Some(g), Some(b)) = (get("r", 255.0)?, get("g", 255.0)?, get("b", 255.0)?) {
        let rgb = Rgb::new(r.round() as u8, g.round() as u8, b.round() as u8);
        return Ok(match get("w", 255.0)? {
            Some(w) => ColorSet::Rgbw(rgb, w.round() as u8),
            None => ColorSet::Rgb(rgb),
        });
    }
    if let (Some(h), Some(s)) = (get("h", 360.0)?, get("s", 100.0)?) {
        return Ok(ColorSet::Hs {
            h: h as f32,
            s: s as f32,
        });
    }
    if let (Some(x), Some(y)) = (get("x", 1.0)?, get("y", 1.0)?) {
        return Ok(ColorSet::Xy {
            x: x as f32,
            y: y as f32,
        });
    }
    Err(field(
        "color",
        "expected {\"r\",\"g\",\"b\"}, {\"r\",\"g\",\"b\",\"w\"}, {\"h\",\"s\"} or {\"x\",\"y\"}",
    ))
}

/// A zone's JSON state, as Home Assistant's JSON light schema reads it: serialised straight into a
/// reused buffer on every state change (no `serde_json::Value` tree per command, issue 16). Keys come
/// in alphabetical order, as a `serde_json::Map` writes them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StateJson<'a> {
    pub brightness: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<ColorJson>,
    color_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    color_temp: Option<u32>,
    pub effect: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub palette: Option<&'a str>,
    pub state: &'static str,
}

/// The `color` object of [`StateJson`] (keys alphabetical).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
enum ColorJson {
    Rgb { b: u8, g: u8, r: u8 },
    Rgbw { b: u8, g: u8, r: u8, w: u8 },
    Hs { h: f64, s: f64 },
}

impl StateJson<'static> {
    /// One colour mode and never a zero brightness (Home Assistant reads 0 as off).
    pub fn of(z: &ZoneState) -> Self {
        let (r, g, b) = (z.color.r, z.color.g, z.color.b);
        let (color_mode, color, color_temp) = match z.color_mode {
            ColorMode::Rgb => ("rgb", Some(ColorJson::Rgb { b, g, r }), None),
            ColorMode::Hs { h, s } => (
                "hs",
                Some(ColorJson::Hs {
                    h: round2(h),
                    s: round2(s),
                }),
                None,
            ),
            ColorMode::ColorTemp { kelvin } => ("color_temp", None, Some(kelvin)),
            ColorMode::Rgbw { w } => ("rgbw", Some(ColorJson::Rgbw { b, g, r, w }), None),
            // The level is the brightness; Home Assistant reads no colour keys in white mode.
            ColorMode::White => ("white", None, None),
        };
        StateJson {
            brightness: z.brightness.max(1),
            color,
            color_mode,
            color_temp,
            effect: z
                .effect
                .map(|e| effects::REGISTRY[e].name())
                .unwrap_or("off"),
            palette: None,
            state: if z.on { "ON" } else { "OFF" },
        }
    }

    /// The master light's state: on while any zone is on, the master dimmer as its brightness, and
    /// the colour, colour mode and effect of its last command (before any: those of the first zone
    /// that is on).
    pub fn master(m: &MasterState, any_on: bool) -> Self {
        let (color, mode) = m.color.unwrap_or((Rgb::WHITE, ColorMode::Rgb));
        let mut z = ZoneState::new(color, m.brightness, any_on, m.effect.flatten());
        z.color_mode = mode;
        StateJson::of(&z)
    }
}

impl StateJson<'_> {
    /// Replaces `buf` with the JSON text.
    pub fn write_to(&self, buf: &mut Vec<u8>) {
        buf.clear();
        // Writing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, self);
    }

    /// The state as a JSON value (tests read it by key).
    #[cfg(test)]
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn round2(v: f32) -> f64 {
    (v as f64 * 100.0).round() / 100.0
}

/// Effect names offered to Home Assistant (with "off" for the static colour first).
pub fn effect_list() -> Vec<&'static str> {
    std::iter::once("off")
        .chain(effects::REGISTRY.iter().map(|e| e.name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EffectChoice;
    use serde_json::json;

    fn state_json(z: &ZoneState) -> Value {
        StateJson::of(z).to_value()
    }

    fn ok(s: &str) -> LightCommand {
        parse_command(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &[u8]) -> String {
        parse_command(s).expect_err("should reject").to_string()
    }

    #[test]
    fn accepts_every_field_and_any_subset() {
        let c = ok(
            r#"{"state":"ON","brightness":128,"color":{"r":1,"g":2,"b":3},"effect":"snake","transition":1.5,"flash":"short","x-unknown":1}"#,
        );
        assert_eq!(c.on, Some(true));
        assert_eq!(c.brightness, Some(128));
        assert_eq!(c.color, Some(ColorSet::Rgb(Rgb::new(1, 2, 3))));
        assert_eq!(
            c.effect,
            Some(EffectChoice::Effect(effects::find("snake").unwrap()))
        );
        assert_eq!(c.transition, Some(1.5));
        assert_eq!(c.flash, Some(2.0));
        assert_eq!(ok("{}"), LightCommand::default());
        assert_eq!(
            ok(r#"{"color":{"h":120,"s":50}}"#).color,
            Some(ColorSet::Hs { h: 120.0, s: 50.0 })
        );
        assert_eq!(
            ok(r#"{"color_temp":2700}"#).color,
            Some(ColorSet::Kelvin(2700))
        );
        assert!(matches!(
            ok(r#"{"color":{"x":0.3,"y":0.3}}"#).color,
            Some(ColorSet::Xy { .. })
        ));
        assert_eq!(
            ok(r#"{"effect":"none"}"#).effect,
            Some(EffectChoice::Static)
        );
        assert_eq!(ok(r#"{"flash":10}"#).flash, Some(10.0));
        assert_eq!(ok(r#"{"transition":2}"#).transition, Some(2.0));
    }

    #[test]
    fn rgbw_and_white_commands() {
        assert_eq!(
            ok(r#"{"color":{"r":1,"g":2,"b":3,"w":4}}"#).color,
            Some(ColorSet::Rgbw(Rgb::new(1, 2, 3), 4))
        );
        let c = ok(r#"{"state":"ON","white":120}"#);
        assert_eq!((c.color, c.brightness), (Some(ColorSet::White), Some(120)));
        let c = ok(r#"{"white":120,"brightness":30}"#);
        assert_eq!(c.brightness, Some(30), "an explicit brightness wins");
        let c = ok(r#"{"white":0}"#);
        assert_eq!((c.on, c.brightness), (Some(false), None));
        for (payload, needle) in [
            (r#"{"color":{"r":1,"g":2,"b":3,"w":256}}"#, "w must be"),
            (r#"{"color":{"r":1,"g":2,"b":3,"w":"x"}}"#, "w must be"),
            (r#"{"white":300}"#, "\"white\""),
            (r#"{"white":true}"#, "\"white\""),
            (r#"{"white":9,"color_temp":3000}"#, "not several"),
        ] {
            let e = err(payload.as_bytes());
            assert!(e.contains(needle), "{payload}: {e}");
        }
    }

    #[test]
    fn rgbw_and_white_state() {
        let mut z = ZoneState::new(Rgb::new(1, 2, 3), 200, true, None);
        z.color_mode = ColorMode::Rgbw { w: 44 };
        let s = state_json(&z);
        assert_eq!(s["color_mode"], "rgbw");
        assert_eq!(s["color"], json!({"r":1,"g":2,"b":3,"w":44}));
        assert!(s.get("color_temp").is_none());
        z.apply(&ok(r#"{"white":90}"#));
        let s = state_json(&z);
        assert_eq!(s["color_mode"], "white");
        assert_eq!(s["brightness"], 90);
        assert!(s.get("color").is_none() && s.get("color_temp").is_none());
        // A command's colour comes back in the mode it was sent in.
        z.apply(&ok(r#"{"color":{"r":10,"g":20,"b":30,"w":40}}"#));
        assert_eq!(
            state_json(&z)["color"],
            json!({"r":10,"g":20,"b":30,"w":40})
        );
    }

    #[test]
    fn brightness_zero_means_off() {
        let c = ok(r#"{"brightness":0}"#);
        assert_eq!((c.on, c.brightness), (Some(false), None));
    }

    #[test]
    fn rejects_bad_input_naming_the_field() {
        let cases: &[(&[u8], &str)] = &[
            (b"not json", "not valid"),
            (b"[1,2]", "JSON object"),
            (b"\xff\xfe\x00", "UTF-8"),
            (br#"{"state":"MAYBE"}"#, "\"state\""),
            (br#"{"state":1}"#, "\"state\""),
            (br#"{"brightness":256}"#, "out of range"),
            (br#"{"brightness":"high"}"#, "expected a number"),
            (br#"{"color":{"r":300,"g":0,"b":0}}"#, "r must be"),
            (br#"{"color":"red"}"#, "expected an object"),
            (br#"{"color":{"q":1}}"#, "\"color\""),
            (br#"{"color_temp":50}"#, "color_temp"),
            (br#"{"effect":"warp"}"#, "unknown effect"),
            (br#"{"effect":7}"#, "\"effect\""),
            (br#"{"transition":-1}"#, "transition"),
            (br#"{"flash":"medium"}"#, "flash"),
        ];
        for (payload, needle) in cases {
            let e = err(payload);
            assert!(
                e.contains(needle),
                "{:?}: {e}",
                String::from_utf8_lossy(payload)
            );
        }
    }

    #[test]
    fn state_reports_one_colour_mode_and_never_zero_brightness() {
        let mut z = ZoneState::new(Rgb::new(1, 2, 3), 200, true, None);
        let s = state_json(&z);
        assert_eq!(s["color_mode"], "rgb");
        assert_eq!(s["color"], json!({"r":1,"g":2,"b":3}));
        assert_eq!(s["effect"], "off");
        assert!(s.get("color_temp").is_none());
        z.color_mode = ColorMode::ColorTemp { kelvin: 3000 };
        z.on = false;
        let s = state_json(&z);
        assert_eq!(s["state"], "OFF");
        assert_eq!(s["color_temp"], 3000);
        assert!(s.get("color").is_none());
        assert_eq!(s["brightness"], 200);
        z.effect = Some(0);
        assert_eq!(state_json(&z)["effect"], effects::REGISTRY[0].name());
    }

    #[test]
    fn state_text_is_what_a_json_map_writes_byte_for_byte() {
        // The text published before issue 16 (a serde_json::Value, keys sorted): retained state
        // compared across an upgrade stays equal, and no consumer sees a new layout.
        let text = |st: StateJson<'_>| {
            let mut buf = b"old".to_vec();
            st.write_to(&mut buf);
            assert_eq!(buf, st.to_value().to_string().into_bytes());
            String::from_utf8(buf).unwrap()
        };
        let mut z = ZoneState::new(Rgb::new(1, 2, 3), 0, true, Some(0));
        let mut s = StateJson::of(&z);
        s.palette = Some("fire");
        let effect = effects::REGISTRY[0].name();
        assert_eq!(
            text(s),
            format!(
                r#"{{"brightness":1,"color":{{"b":3,"g":2,"r":1}},"color_mode":"rgb","effect":"{effect}","palette":"fire","state":"ON"}}"#
            )
        );
        z.effect = None;
        z.color_mode = ColorMode::Hs { h: 12.345, s: 50.0 };
        assert_eq!(
            text(StateJson::of(&z)),
            r#"{"brightness":1,"color":{"h":12.35,"s":50.0},"color_mode":"hs","effect":"off","state":"ON"}"#
        );
        z.color_mode = ColorMode::Rgbw { w: 7 };
        z.on = false;
        assert_eq!(
            text(StateJson::of(&z)),
            r#"{"brightness":1,"color":{"b":3,"g":2,"r":1,"w":7},"color_mode":"rgbw","effect":"off","state":"OFF"}"#
        );
        z.color_mode = ColorMode::ColorTemp { kelvin: 2700 };
        assert_eq!(
            text(StateJson::of(&z)),
            r#"{"brightness":1,"color_mode":"color_temp","color_temp":2700,"effect":"off","state":"OFF"}"#
        );
        z.color_mode = ColorMode::White;
        assert_eq!(
            text(StateJson::of(&z)),
            r#"{"brightness":1,"color_mode":"white","effect":"off","state":"OFF"}"#
        );
    }
}
