//! Restoring a saved state: every value is checked exactly as if it arrived as a command.
//!
//! A zone record is turned into the Home Assistant light command that would set it and parsed by the
//! MQTT edge's own parser (`mqtt::light::parse_command`: brightness, colour components, hue and
//! saturation, kelvin, effect names), and each remembered effect parameter is checked against the
//! range a `B/<zone>/<param>/set` command must meet, then clamped to the effect's own range as the
//! render loop does. An `rgbw` or `white` colour is checked the same way (`{"color":{"r","g","b","w"}}`,
//! `{"white":…}`); restored onto a zone whose strip no longer lights a white LED it becomes the RGB
//! colour a command would have made of it. A record that fails any check is dropped whole: that zone
//! starts from its config defaults, with one log line saying why; the other zones keep what they
//! saved. Entries this version does not know (zones no longer configured, effects no longer
//! registered, unknown keys) are ignored.

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::file::{DeviceRecord, MasterRecord, ZoneRecord};
use super::load::SavedState;
use crate::color::Rgb;
use crate::effects::{self, ParamId};
use crate::engine::{ColorMode, DeviceState, MasterState, ZoneState};
use crate::layout::Layout;
use crate::mqtt::light::{CommandError, parse_command};

/// Why a saved record was not restored.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("not a valid record: {0}")]
    Format(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(#[from] CommandError),
    #[error("unknown effect \"{0}\"")]
    UnknownEffect(String),
    #[error("{effect}.{param}: {value} is outside {min}–{max}")]
    Param {
        effect: String,
        param: &'static str,
        value: f32,
        min: f32,
        max: f32,
    },
}

impl SavedState {
    /// Applies the valid parts onto `zones` (already at their config defaults), `master` and `device`.
    /// Returns how many zones were restored.
    pub fn restore(
        &self,
        layout: &Layout,
        zones: &mut [ZoneState],
        master: &mut MasterState,
        device: &mut DeviceState,
    ) -> usize {
        if let Some(e) = &self.zones_error {
            tracing::warn!(error = %e, "state file: unreadable \"zones\"; every zone starts from the config");
        }
        let mut restored = 0;
        for (spec, z) in layout.zones.iter().zip(zones.iter_mut()) {
            let Some(raw) = self.zones.get(&spec.id) else {
                continue;
            };
            match zone_from_record(raw, z) {
                Ok(mut state) => {
                    if !layout.strips[spec.strip].uses_white() {
                        // Saved on a strip that had a white LED: keep the colour, as RGB.
                        state.drop_white();
                    }
                    *z = state;
                    restored += 1;
                }
                Err(e) => tracing::warn!(
                    zone = %spec.id,
                    error = %e,
                    "state file: invalid zone record ignored; this zone starts from the config"
                ),
            }
        }
        if let Some(raw) = &self.master {
            match serde_json::from_str::<MasterRecord>(raw.get()) {
                Ok(m) => master.brightness = m.brightness.max(1),
                Err(e) => tracing::warn!(error = %e, "state file: invalid master record ignored"),
            }
        }
        if let Some(raw) = &self.device {
            match serde_json::from_str::<DeviceRecord>(raw.get()) {
                Ok(d) => restore_device(&d, layout, device),
                Err(e) => tracing::warn!(error = %e, "state file: invalid device record ignored"),
            }
        }
        restored
    }
}

fn restore_device(d: &DeviceRecord, layout: &Layout, device: &mut DeviceState) {
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

/// The zone `raw` describes, on top of `defaults` (which keeps the parameters the record lacks).
pub fn zone_from_record(raw: &RawValue, defaults: &ZoneState) -> Result<ZoneState, RecordError> {
    let r: ZoneRecord = serde_json::from_str(raw.get())?;
    // The same parser and ranges as a command from Home Assistant.
    let cmd = command_for(&r).to_string();
    parse_command(cmd.as_bytes())?;
    let mut z = defaults.clone();
    z.on = r.on;
    z.brightness = r.brightness.max(1);
    z.color = Rgb::new(r.color[0], r.color[1], r.color[2]);
    z.color_mode = r.color_mode;
    z.effect = r.effect.as_deref().and_then(effects::find);
    if let Some(name) = &r.last_effect {
        z.last_effect = effects::find(name).ok_or_else(|| RecordError::UnknownEffect(cut(name)))?;
    }
    for (name, values) in &r.params.0 {
        // Reading already dropped effects and parameters this version does not know.
        let Some(e) = effects::find(name) else {
            continue;
        };
        for (p, &value) in values {
            let Some(id) = ParamId::parse(p) else {
                continue;
            };
            let range = id.global();
            if !range.accepts(value) {
                return Err(RecordError::Param {
                    effect: cut(name),
                    param: id.name(),
                    value,
                    min: range.min,
                    max: range.max,
                });
            }
            let own = effects::param_spec(e, id).unwrap_or(range);
            z.params[e].set(id, own.clamp(value));
        }
    }
    Ok(z)
}

/// The light command that would put a zone in the state `r` records.
fn command_for(r: &ZoneRecord) -> Value {
    let mut m = Map::new();
    m.insert("state".into(), json!(if r.on { "ON" } else { "OFF" }));
    m.insert("brightness".into(), json!(r.brightness));
    match r.color_mode {
        ColorMode::Rgb => {
            let [r, g, b] = r.color;
            m.insert("color".into(), json!({"r": r, "g": g, "b": b}));
        }
        // Non-finite numbers become `null`, which the parser rejects.
        ColorMode::Hs { h, s } => {
            m.insert("color".into(), json!({"h": h, "s": s}));
        }
        ColorMode::ColorTemp { kelvin } => {
            m.insert("color_temp".into(), json!(kelvin));
        }
        ColorMode::Rgbw { w } => {
            let [r, g, b] = r.color;
            m.insert("color".into(), json!({"r": r, "g": g, "b": b, "w": w}));
        }
        // The W LED alone: its level is the brightness (also sent, so it wins).
        ColorMode::White => {
            m.insert("white".into(), json!(r.brightness));
        }
    }
    m.insert("effect".into(), json!(r.effect.as_deref().unwrap_or("off")));
    Value::Object(m)
}

/// At most 64 characters of a name, for messages.
fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}
