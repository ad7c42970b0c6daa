//! Table-driven tests of configuration validation: each bad file must name the key at fault.

use super::*;

mod strips;

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
            "log level",
            r#"log_level = "loud"
[[strips]]
id="a"
[[zones]]
id="z"
strip="a"
pixels=3"#,
            "log_level",
        ),
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
        ("DIUNA_INPUT__KEYBOARD", "none"),
        ("PATH", "/bin"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let m = env_overrides(vars.into_iter());
    let mut keys: Vec<_> = m.keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["DIUNA_FPS", "DIUNA_INPUT__KEYBOARD", "DIUNA_MQTT__HOST"]
    );
}

#[test]
fn every_section_key_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("diuna.toml");
    std::fs::write(&path, GOOD).unwrap();
    let vars = [
        ("DIUNA_FPS", "30"),
        ("DIUNA_MQTT__HOST", "broker.lan"),
        ("DIUNA_INPUT__KEYBOARD", "none"),
        ("DIUNA_INPUT__SIM_SOCKET", "/run/diuna-input.sock"),
        ("DIUNA_RENDER__FADE_IN", "3s"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let c = Config::load_with_env(&path, vars.into_iter()).expect("valid");
    assert_eq!(c.render.fps, 30);
    assert_eq!(c.mqtt.host, "broker.lan");
    assert_eq!(c.input.keyboard, crate::input::KeyboardSource::None);
    assert_eq!(
        c.input.sim_socket.as_deref(),
        Some(Path::new("/run/diuna-input.sock"))
    );
    assert_eq!(c.render.fade_in, std::time::Duration::from_secs(3));
}

#[test]
fn mqtt_settings_compare_by_value_and_never_debug_print_the_password() {
    let with = |pw: &str| {
        Config::from_toml(&GOOD.replace(
            "host = \"127.0.0.1\"",
            &format!("host = \"127.0.0.1\"\nusername = \"u\"\npassword = \"{pw}\""),
        ))
        .expect("valid")
    };
    let (a, b) = (with("hunter2-secret"), with("other-secret"));
    assert_eq!(a.mqtt, with("hunter2-secret").mqtt);
    assert_ne!(a.mqtt, b.mqtt, "a changed password is a change");
    let shown = format!("{:?} {:?}", a.mqtt, a);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"));
}

#[test]
fn input_errors_name_their_keys() {
    let base = "[[strips]]\nid=\"a\"\ngpio=18\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=3\n";
    let cases = [
        (
            "[input]\nselector = { a = 5, b = 18 }",
            "input.selector.b: GPIO 18 is already used by strips[0].gpio",
        ),
        (
            "[input]\nselector = { a = 5, b = 6 }\nmodulator = { a = 6, b = 7 }",
            "input.modulator.a: GPIO 6 is already used by input.selector.b",
        ),
        (
            "[input]\nselector = { a = 5, b = 6, button = 13 }\nbuttons = [13]",
            "input.buttons[0]: GPIO 13 is already used by input.selector.button",
        ),
        (
            "[input]\nbuttons = [40]",
            "input.buttons[0]: GPIO 40 does not exist",
        ),
        (
            "[input]\nselector = { a = 5 }",
            "input.selector: both a and b",
        ),
        (
            "[input]\nselector = { a = 5, b = 6, device = \"/dev/input/event1\" }",
            "input.selector: give either a and b",
        ),
        (
            "[input]\nmodulator = { device = \"event1\" }",
            "input.modulator.device",
        ),
    ];
    for (input, needle) in cases {
        let errs = errors_for(&format!("{base}{input}"));
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{input}: no error says {needle:?}: {errs:?}"
        );
    }
    let ok = Config::from_toml(&format!(
        "{base}[input]\nselector = {{ device = \"/dev/input/by-path/platform-rotary@5-event\", button = 13 }}"
    ))
    .unwrap();
    assert_eq!(
        ok.input.pins(),
        [13],
        "a device encoder claims only its button pin"
    );
}
