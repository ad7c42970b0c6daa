//! Home Assistant MQTT discovery payloads: every entity of the device, all on one `device` block.
//!
//! Per zone a JSON-schema light and one `number` per effect parameter; the master light; a `switch` for
//! edit mode (and lamp mode when a lamp zone is configured); `select`s for the selected zone and colour
//! presets; diagnostic `sensor`s read from `B/health`; an `event` entity for local inputs; an identify
//! `button`. `unique_id`s are derived from `device_id` and zone ids only, so they survive restarts.
//! No deprecated keys (`color_mode: true`, `rgb`/`hs`/`xy` flags, `object_id`). Every entity that
//! sends commands asks for `qos: 1`: Home Assistant then publishes its commands at QoS 1, the broker
//! delivers them to our QoS 1 subscription (and keeps them for our persistent session while we are
//! away), and our immediate PUBACK also acknowledges the TCP segment at once (see `outbox.rs`).
//!
//! A zone's colour modes follow its strip: [`RGB_MODES`], plus `rgbw` and `white` ([`RGBW_MODES`]) when
//! the strip lights a white LED (Home Assistant allows `white` only beside a colour mode). The master
//! light offers the RGBW modes when any zone has them; zones without a white LED take its RGBW or white
//! commands as RGB (`engine/zone.rs`, `LightCommand::without_white`).

use serde_json::{Value, json};

use super::light::{FLASH_LONG, FLASH_SHORT, MAX_KELVIN, MIN_KELVIN, effect_list};
use super::topics::Topics;
use crate::color::DEFAULT_PRESETS;
use crate::config::Config;
use crate::effects::ParamId;

/// Colour modes of a zone on an RGB strip (or an RGBW strip with `white = "none"`).
pub const RGB_MODES: &[&str] = &["hs", "rgb", "color_temp"];
/// Colour modes of a zone on a strip that lights a white LED.
pub const RGBW_MODES: &[&str] = &["hs", "rgb", "rgbw", "color_temp", "white"];

/// The master light's colour modes: [`RGBW_MODES`] when any zone's strip lights a white LED.
pub fn master_modes(config: &Config) -> &'static [&'static str] {
    if config.layout.strips.iter().any(|s| s.uses_white()) {
        RGBW_MODES
    } else {
        RGB_MODES
    }
}

/// One discovery message: topic and retained JSON payload.
#[derive(Clone, Debug)]
pub struct Discovery {
    pub topic: String,
    pub payload: Value,
}

/// One entity's discovery message: `payload` plus the keys every entity shares (unique id, stable
/// entity id, the device block, origin, availability).
pub fn entity(
    config: &Config,
    t: &Topics,
    component: &str,
    object: &str,
    mut p: Value,
) -> Discovery {
    let dev = &config.device_id;
    let mut device = json!({
        "identifiers": [format!("diuna_{dev}")],
        "name": config.device_name,
        "manufacturer": "Diuna",
        "model": "Diuna WS281x zone controller",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(area) = &config.suggested_area {
        device["suggested_area"] = json!(area);
    }
    p["unique_id"] = json!(format!("{dev}_{object}"));
    // Stable entity ids (Home Assistant 2025.10+; replaces the deprecated object_id).
    p["default_entity_id"] = json!(format!("{component}.{dev}_{object}"));
    p["device"] = device;
    p["origin"] = json!({"name": "diuna", "sw_version": env!("CARGO_PKG_VERSION")});
    p["availability_topic"] = json!(t.availability);
    if p.get("command_topic").is_some() {
        p["qos"] = json!(1);
    }
    Discovery {
        topic: t.discovery(component, object),
        payload: p,
    }
}

/// An entity before the keys every entity shares are added: component, object id, payload.
type Entity = (&'static str, String, Value);

/// Builds every discovery message for `config` (the scene and playlist selects, whose options
/// change at run time, come from `scenes::library_entities`).
pub fn all(config: &Config, t: &Topics) -> Vec<Discovery> {
    let mut out = Vec::new();
    each(config, t, &mut |d| out.push(d));
    out
}

/// Hands every discovery message for `config` to `f`, one at a time, so that whoever serialises them
/// never holds them all as JSON values at once (they are the heap's peak at start-up otherwise).
pub fn each(config: &Config, t: &Topics, f: &mut dyn FnMut(Discovery)) {
    let mut emit = |(component, object, p): Entity| f(entity(config, t, component, &object, p));
    zone_entities(config, t, &mut emit);
    emit(("light", "all".into(), master_light(config, t)));
    control_entities(config, t).into_iter().for_each(&mut emit);
    health_sensors(t).into_iter().for_each(&mut emit);
    input_and_identify(t).into_iter().for_each(&mut emit);
    let mut push =
        |component: &str, object: &str, p: Value| f(entity(config, t, component, object, p));
    super::realtime::discovery(config, t, &mut push);
    super::group::discovery(config, &t.prefix)
        .into_iter()
        .for_each(&mut *f);
    super::scenes::entities(config, t).into_iter().for_each(f);
}

/// A JSON-schema light (zones and the master alike): colour (`modes`), colour temperature, effects,
/// flash (transition is implied).
fn light(name: &str, command: String, state: String, modes: &[&str]) -> Value {
    json!({
        "name": name,
        "schema": "json",
        "command_topic": command,
        "state_topic": state,
        "brightness": true,
        "brightness_scale": 255,
        "supported_color_modes": modes,
        "color_temp_kelvin": true,
        "min_kelvin": MIN_KELVIN,
        "max_kelvin": MAX_KELVIN,
        "effect": true,
        "effect_list": effect_list(),
        "flash_time_short": FLASH_SHORT,
        "flash_time_long": FLASH_LONG,
    })
}

/// Per zone: its light (with the RGBW modes when its strip lights a white LED) and one slider per
/// effect parameter.
fn zone_entities(config: &Config, t: &Topics, emit: &mut dyn FnMut(Entity)) {
    for (z, zone) in config.layout.zones.iter().enumerate() {
        let modes = if config.layout.strips[zone.strip].uses_white() {
            RGBW_MODES
        } else {
            RGB_MODES
        };
        let payload = light(
            &zone.name,
            t.zone_set(z),
            t.zone_state(z).to_string(),
            modes,
        );
        emit(("light", zone.id.clone(), payload));
        for p in ParamId::ALL {
            let object = format!("{}_{}", zone.id, p.name());
            emit(("number", object, param_number(&zone.name, z, p, t)));
        }
    }
}

/// The slider of parameter `p` of zone `z`.
fn param_number(zone_name: &str, z: usize, p: ParamId, t: &Topics) -> Value {
    let spec = p.global();
    let mut number = json!({
        "name": format!("{zone_name} {}", p.label().to_lowercase()),
        "command_topic": t.param_set(z, p),
        "state_topic": t.param_state(z, p),
        "min": spec.min,
        "max": spec.max,
        "step": 1,
        "mode": "slider",
        "entity_category": "config",
    });
    if !spec.unit.is_empty() {
        number["unit_of_measurement"] = json!(spec.unit);
    }
    number
}

/// The master light, `B/all`.
fn master_light(config: &Config, t: &Topics) -> Value {
    let (set, state) = (t.all_set.clone(), t.all_state.clone());
    light("All zones", set, state, master_modes(config))
}

/// The control surface on `B/set`: edit and lamp mode switches, the selected zone and preset selects.
fn control_entities(config: &Config, t: &Topics) -> Vec<Entity> {
    let switch = |name: &str, key: &str| {
        json!({
            "name": name,
            "command_topic": t.device_set,
            "payload_on": format!("{{\"{key}\":true}}"),
            "payload_off": format!("{{\"{key}\":false}}"),
            "state_topic": t.device_state,
            "value_template": format!("{{{{ 'ON' if value_json.{key} else 'OFF' }}}}"),
            // The template renders ON/OFF; without these Home Assistant compares it to payload_on/off.
            "state_on": "ON",
            "state_off": "OFF",
            "entity_category": "config",
        })
    };
    let select = |name: &str, key: &str, options: Vec<&str>| {
        json!({
            "name": name,
            "command_topic": t.device_set,
            "command_template": format!("{{\"{key}\":\"{{{{ value }}}}\"}}"),
            "state_topic": t.device_state,
            "value_template": format!("{{{{ value_json.{key} }}}}"),
            "options": options,
            "entity_category": "config",
        })
    };
    let mut out = vec![(
        "switch",
        "edit_mode".into(),
        switch("Edit mode", "edit_mode"),
    )];
    if config.lamp_zone.is_some() {
        out.push(("switch", "lamp".into(), switch("Lamp mode", "lamp")));
    }
    let zones = t.zone_ids.iter().map(String::as_str).collect();
    let presets = DEFAULT_PRESETS.iter().map(|(n, _)| *n).collect();
    out.push((
        "select",
        "selected_zone".into(),
        select("Selected zone", "selected_zone", zones),
    ));
    out.push((
        "select",
        "preset".into(),
        select("Colour preset", "preset", presets),
    ));
    out
}

/// Diagnostic sensors read from `B/health`.
fn health_sensors(t: &Topics) -> Vec<Entity> {
    let sensor = |object: &str, name: &str, key: &str, unit: &str, class: Option<&str>| {
        let mut p = json!({
            "name": name,
            "state_topic": t.health,
            "value_template": format!("{{{{ value_json.{key} }}}}"),
            "unit_of_measurement": unit,
            "state_class": "measurement",
            "entity_category": "diagnostic",
        });
        if let Some(c) = class {
            p["device_class"] = json!(c);
        }
        ("sensor", object.to_string(), p)
    };
    vec![
        sensor("fps", "Frame rate", "fps", "fps", None),
        sensor(
            "frame_time_p99",
            "Frame time p99",
            "frame_time_p99_ms",
            "ms",
            Some("duration"),
        ),
        sensor("uptime", "Uptime", "uptime_s", "s", Some("duration")),
        sensor(
            "cpu_temperature",
            "CPU temperature",
            "cpu_temp_c",
            "°C",
            Some("temperature"),
        ),
        sensor(
            "current",
            "Estimated current",
            "current_ma",
            "mA",
            Some("current"),
        ),
    ]
}

/// The `event` entity of local inputs and the identify button.
fn input_and_identify(t: &Topics) -> Vec<Entity> {
    let event = json!({
        "name": "Local input",
        "state_topic": t.event,
        "event_types": super::event::EVENT_TYPES,
    });
    let identify = json!({
        "name": "Identify",
        "command_topic": t.device_set,
        "payload_press": "{\"identify\":true}",
        "device_class": "identify",
        "entity_category": "config",
    });
    vec![
        ("event", "input".into(), event),
        ("button", "identify".into(), identify),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_is_on_one_device_with_stable_unique_ids() {
        let c = Config::from_toml(
            "device_id=\"dev\"\n[lamp]\nzone=\"floor\"\n[[strips]]\nid=\"a\"\n[[zones]]\nid=\"floor\"\nname=\"Floor\"\nstrip=\"a\"\npixels=3\n",
        )
        .unwrap();
        let t = Topics::new("diuna", "dev", "homeassistant", &c.layout);
        let all = all(&c, &t);
        let again = super::all(&c, &t);
        let mut ids = std::collections::HashSet::new();
        for (d, d2) in all.iter().zip(&again) {
            assert_eq!(d.payload, d2.payload, "deterministic");
            let uid = d.payload["unique_id"].as_str().unwrap();
            assert!(uid.starts_with("dev_"));
            assert!(ids.insert(uid.to_string()), "duplicate {uid}");
            assert_eq!(d.payload["device"]["identifiers"][0], "diuna_dev");
            assert!(d.payload.get("object_id").is_none());
            let component = d.topic.split('/').nth(1).unwrap();
            assert_eq!(d.payload["default_entity_id"], format!("{component}.{uid}"));
            assert!(d.payload.get("color_mode").is_none());
        }
        let light = all
            .iter()
            .find(|d| d.topic == "homeassistant/light/dev/floor/config")
            .unwrap();
        assert_eq!(light.payload["schema"], "json");
        assert_eq!(light.payload["command_topic"], "diuna/dev/floor/set");
        assert_eq!(light.payload["effect_list"][0], "off");
        assert_eq!(light.payload["qos"], 1, "commands at QoS 1");
        let fps = all
            .iter()
            .find(|d| d.topic.ends_with("/fps/config"))
            .unwrap();
        assert!(
            fps.payload.get("qos").is_none(),
            "a sensor sends no commands"
        );
        let switch = all.iter().find(|d| d.topic.contains("/switch/")).unwrap();
        assert_eq!(
            switch.payload["state_on"], "ON",
            "switch state must match its template"
        );
        // 1 light + 5 numbers + a palette select per zone, master, 2 switches, 2 selects, 5 sensors,
        // event, identify; scene-name text, save, sunrise and nightlight buttons.
        assert_eq!(all.len(), 7 + 1 + 2 + 2 + 5 + 1 + 1 + 4);
        assert_eq!(light.payload["supported_color_modes"], json!(RGB_MODES));
        let master = all
            .iter()
            .find(|d| d.topic == "homeassistant/light/dev/all/config")
            .unwrap();
        assert_eq!(
            master.payload["supported_color_modes"],
            json!(RGB_MODES),
            "no white LED anywhere: the master offers no white either"
        );
    }

    #[test]
    fn zones_with_a_white_led_offer_rgbw_and_white() {
        let c = Config::from_toml(
            r#"device_id="dev"
[[strips]]
id="rgb"
gpio=18
[[strips]]
id="w"
gpio=19
dma=11
led_type="sk6812"
color_order="GRBW"
[[strips]]
id="dark"
gpio=21
dma=12
led_type="sk6812"
color_order="GRBW"
white="none"
[[zones]]
id="a"
strip="rgb"
pixels=3
[[zones]]
id="b"
strip="w"
pixels=3
[[zones]]
id="c"
strip="dark"
pixels=3
"#,
        )
        .unwrap();
        let t = Topics::new("diuna", "dev", "homeassistant", &c.layout);
        let all = all(&c, &t);
        let modes = |zone: &str| {
            all.iter()
                .find(|d| d.topic == format!("homeassistant/light/dev/{zone}/config"))
                .map(|d| d.payload["supported_color_modes"].clone())
                .unwrap()
        };
        assert_eq!(modes("a"), json!(["hs", "rgb", "color_temp"]));
        assert_eq!(
            modes("b"),
            json!(["hs", "rgb", "rgbw", "color_temp", "white"])
        );
        assert_eq!(modes("c"), json!(RGB_MODES), "white = none: W stays dark");
        assert_eq!(
            modes("all"),
            json!(RGBW_MODES),
            "the master offers white when a zone has it"
        );
    }
}
