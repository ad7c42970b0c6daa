//! Table-driven tests of configuration validation: each bad file must name the key at fault.

use super::*;
use crate::layout::{ColorOrder, WhiteMode};

const GOOD: &str = r#"
device_id = "test"
fps = 60
[mqtt]
host = "127.0.0.1"
[[strips]]
id = "a"
gpio = 18
dma = 10
led_type = "ws2811"
color_order = "BRG"
[[strips]]
id = "b"
gpio = 19
dma = 11
[[zones]]
id = "one"
strip = "a"
pixels = 10
[[zones]]
id = "two"
strip = "b"
pixels = 5
reversed = true
[[zones]]
id = "three"
strip = "a"
pixels = 4
color = [1, 2, 3]
brightness = 40
on = false
"#;

#[test]
fn good_config_lays_out_zones_in_order_per_strip() {
    let c = Config::from_toml(GOOD).expect("valid");
    let l = &c.layout;
    assert_eq!(l.strips[0].len, 14);
    assert_eq!(l.strips[1].len, 5);
    let three = &l.zones[2];
    assert_eq!((three.strip, three.start, three.len), (0, 10, 4));
    let two = &l.zones[1];
    assert_eq!((two.strip, two.start, two.reversed), (1, 0, true));
    assert_eq!(two.physical(0), 4);
    assert_eq!(c.zone_init[2].color, Rgb::new(1, 2, 3));
    assert_eq!(c.zone_init[2].brightness, 40);
    assert!(!c.zone_init[2].on);
    assert_eq!(c.mqtt.base_topic, "diuna");
    assert_eq!(c.render.transition, Duration::from_millis(500));
    assert!(l.describe().contains("zone three"));
}

fn errors_for(text: &str) -> Vec<String> {
    match Config::from_toml(text) {
        Err(ConfigError::Invalid(e)) => e,
        Err(other) => vec![other.to_string()],
        Ok(_) => panic!("accepted a bad config:\n{text}"),
    }
}

#[test]
fn bad_configs_name_their_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown strip",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="nope"
pixels=3"#,
            "zones[0].strip",
        ),
        (
            "zero pixels",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=0"#,
            "zones[0].pixels",
        ),
        (
            "duplicate zone",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=3
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "duplicate zone id",
        ),
        (
            "shared dma",
            r#"[[strips]]
id="a"
gpio=18
[[strips]]
id="b"
gpio=19
[[zones]]
id="z"
strip="a"
pixels=3
[[zones]]
id="y"
strip="b"
pixels=3"#,
            "strips[1].dma",
        ),
        (
            "shared pin",
            r#"[[strips]]
id="a"
dma=5
[[strips]]
id="b"
dma=6
[[zones]]
id="z"
strip="a"
pixels=3
[[zones]]
id="y"
strip="b"
pixels=3"#,
            "strips[1].gpio",
        ),
        (
            "overlap",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=3
[[zones]]
id="y"
strip="a"
pixels=3
start=1"#,
            "overlaps zone \"z\"",
        ),
        (
            "gap",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=3
[[zones]]
id="y"
strip="a"
pixels=3
start=9"#,
            "gap",
        ),
        (
            "fps over wire limit",
            r#"fps = 400
[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=300"#,
            "wire limit",
        ),
        (
            "bad duration",
            r#"[render]
transition="soon"
[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "render.transition",
        ),
        (
            "bad colour order",
            r#"[[strips]]
id="a"
color_order="RGBW"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].color_order",
        ),
        (
            "W order on a three-channel LED type",
            r#"[[strips]]
id="a"
led_type="ws2811"
color_order="GRBW"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].color_order: \"GRBW\" has a white channel but led_type \"ws2811\"",
        ),
        (
            "colour order with a letter twice",
            r#"[[strips]]
id="a"
led_type="sk6812"
color_order="GRBB"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].color_order",
        ),
        (
            "white mode on an RGB strip",
            r#"[[strips]]
id="a"
white="accurate"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].white: only RGBW strips",
        ),
        (
            "white point on an RGB strip",
            r#"[[strips]]
id="a"
white_kelvin=3000
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].white_kelvin: only RGBW strips",
        ),
        (
            "unknown white mode",
            r#"[[strips]]
id="a"
led_type="sk6812"
color_order="GRBW"
white="max"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].white: \"max\"",
        ),
        (
            "white point out of range",
            r#"[[strips]]
id="a"
led_type="sk6812"
color_order="GRBW"
white_kelvin=1000
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "strips[0].white_kelvin: 1000",
        ),
        (
            "zone id not a slug",
            r#"[[strips]]
id="a"
[[zones]]
id="Living Room"
strip="a"
pixels=3"#,
            "zones[0].id",
        ),
        (
            "unknown key",
            r#"[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixls=3"#,
            "pixls",
        ),
    ];
    for (what, text, needle) in cases {
        let errs = errors_for(text);
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{what}: no error mentions {needle:?}: {errs:?}"
        );
    }
}

#[test]
fn rgbw_strips_take_a_w_order_and_a_white_mode() {
    let c = Config::from_toml(
        r#"[[strips]]
id="w"
gpio=18
led_type="sk6812"
color_order="grbw"
[[strips]]
id="b"
gpio=19
dma=11
led_type="SK6812"
color_order="RGBW"
white="brighter"
white_kelvin=2700
[[strips]]
id="rgb"
gpio=21
dma=12
led_type="sk6812"
color_order="GRB"
[[zones]]
id="x"
strip="w"
pixels=3
[[zones]]
id="y"
strip="b"
pixels=3
[[zones]]
id="z"
strip="rgb"
pixels=3
"#,
    )
    .expect("valid");
    let [w, b, rgb] = &c.layout.strips[..] else {
        panic!("three strips")
    };
    assert_eq!((w.color_order, w.channels()), (ColorOrder::GRBW, 4));
    assert_eq!(
        (w.white, w.white_kelvin),
        (WhiteMode::Accurate, 4000),
        "defaults"
    );
    assert_eq!(
        (b.color_order, b.white, b.white_kelvin),
        (ColorOrder::RGBW, WhiteMode::Brighter, 2700)
    );
    assert_eq!((rgb.channels(), rgb.white), (3, WhiteMode::None));
    let map = c.layout.describe();
    assert!(
        map.contains("GRBW channels=4 white=accurate@4000K"),
        "{map}"
    );
    assert!(
        map.contains("RGBW channels=4 white=brighter@2700K"),
        "{map}"
    );
    assert!(map.contains("GRB channels=3 pixels=3"), "{map}");
    // 40 µs a pixel on the wire.
    assert_eq!(w.wire_time(), Duration::from_micros(3 * 40 + 80));
}

#[test]
fn shipped_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/diuna.toml");
    let c = Config::load(&path).expect("config/diuna.toml must be valid");
    assert_eq!(c.layout.strips.len(), 2);
    assert!(c.layout.zones.len() >= 5);
}

#[test]
fn only_config_keys_are_taken_from_the_environment() {
    let vars = [
        ("DIUNA_MQTT__HOST", "broker"),
        ("DIUNA_FPS", "30"),
        ("DIUNA_MQTT_PASSWORD", "secret"),
        ("DIUNA_FAIL_ONCE", "mqtt"),
        ("PATH", "/bin"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let m = env_overrides(vars.into_iter());
    let mut keys: Vec<_> = m.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["DIUNA_FPS", "DIUNA_MQTT__HOST"]);
}
