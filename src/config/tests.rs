//! Table-driven tests of configuration validation: each bad file must name the key at fault.

use super::*;
use crate::layout::Driver;

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

/// One strip line per entry, each `[[strips]]` gets a 3-pixel zone.
fn strips(defs: &[&str]) -> String {
    let mut text = String::new();
    for (i, d) in defs.iter().enumerate() {
        text.push_str(&format!(
            "[[strips]]\nid=\"s{i}\"\n{}\n",
            d.replace("; ", "\n")
        ));
    }
    for i in 0..defs.len() {
        text.push_str(&format!(
            "[[zones]]\nid=\"z{i}\"\nstrip=\"s{i}\"\npixels=3\n"
        ));
    }
    text
}

/// Configurations that would leave a strip dark or harm the Pi: each must be refused at
/// `--check-config`, naming the key and the fix.
#[test]
fn hardware_traps_are_refused_with_their_fix() {
    let ws = "driver=\"ws281x\"";
    let cases: &[(&str, Vec<String>, &str)] = &[
        (
            "ws281x strips with different DMA channels",
            vec![
                format!("{ws}; gpio=18; dma=10"),
                format!("{ws}; gpio=19; dma=9"),
            ],
            "strips[1].dma: the ws281x controller has one DMA channel",
        ),
        (
            "DMA 5 corrupts the SD card",
            vec![format!("{ws}; dma=5")],
            "strips[0].dma: DMA channel 5 is unsafe: the kernel's SD card driver uses it",
        ),
        (
            "DMA 11 is the Pi 4 firmware's",
            vec![format!("{ws}; dma=11")],
            "strips[0].dma: DMA channel 11 is unsafe: the Pi 4 firmware uses it for VCHIQ",
        ),
        (
            "DMA 15 does not exist",
            vec![format!("{ws}; dma=15")],
            "use dma = 10",
        ),
        (
            "a simulated stand-in is held to the same DMA rule",
            vec!["emulate=\"ws281x\"; dma=5".into()],
            "strips[0].dma: DMA channel 5",
        ),
        (
            "SPI mode leaves the PWM1 strip dark",
            vec![format!("{ws}; gpio=10"), format!("{ws}; gpio=19")],
            "strips[1].gpio: with strips[0] on GPIO 10 (rpi_ws281x's SPI mode)",
        ),
        (
            "PCM mode leaves the PWM1 strip dark",
            vec![format!("{ws}; gpio=13"), format!("{ws}; gpio=21")],
            "strips[0].gpio: with strips[1] on GPIO 21 (rpi_ws281x's PCM mode)",
        ),
        (
            "two strips on one PWM channel",
            vec![format!("{ws}; gpio=18"), format!("{ws}; gpio=12")],
            "strips[1].gpio: pin 12 is on the same PWM channel",
        ),
        (
            "ws281x strips at different frequencies",
            vec![
                format!("{ws}; gpio=18"),
                format!("{ws}; gpio=19; frequency=400000"),
            ],
            "strips[1].frequency: the ws281x controller runs all its strips at one frequency",
        ),
        (
            "invert on rpi_ws281x SPI never latches",
            vec![format!("{ws}; gpio=10; invert=true")],
            "strips[0].invert: rpi_ws281x inverts only the data on SPI/PCM",
        ),
        (
            "invert on PCM never latches",
            vec![format!("{ws}; gpio=21; invert=true")],
            "strips[0].invert",
        ),
        (
            "invert on the spi driver",
            vec!["driver=\"spi\"; invert=true".into()],
            "strips[0].invert: SPI cannot invert its idle level",
        ),
        (
            "invert on pio",
            vec!["driver=\"pio\"; gpio=4; device=\"/dev/leds0\"; invert=true".into()],
            "strips[0].invert: the Pi 5 PIO driver has no inverted output",
        ),
        (
            "spi on a pin that is not MOSI",
            vec!["driver=\"spi\"; gpio=18".into()],
            "strips[0].gpio: 18 is not an SPI MOSI pin; use 10",
        ),
        (
            "spi with a device that is not spidev",
            vec!["driver=\"spi\"; device=\"/dev/leds0\"".into()],
            "strips[0].device: \"/dev/leds0\" is not a /dev/spidevB.C node",
        ),
        (
            "dma on an spi strip",
            vec!["driver=\"spi\"; dma=10".into()],
            "strips[0].dma: only driver = \"ws281x\" strips use a DMA channel",
        ),
        (
            "pio without its device",
            vec!["driver=\"pio\"; gpio=4".into()],
            "strips[0].device: missing: the PIO driver needs its device node, e.g. device = \"/dev/leds0\"",
        ),
        (
            "pio at 400 kHz",
            vec!["driver=\"pio\"; gpio=4; device=\"/dev/leds0\"; frequency=400000".into()],
            "strips[0].frequency: the Pi 5 PIO driver always sends 800 kHz",
        ),
        (
            "pio on a pin RP1 bank 0 does not have",
            vec!["driver=\"pio\"; gpio=30; device=\"/dev/leds0\"".into()],
            "strips[0].gpio: 30 is not an RP1 bank-0 GPIO",
        ),
        (
            "two pio strips on one device",
            vec![
                "driver=\"pio\"; gpio=4; device=\"/dev/leds0\"".into(),
                "driver=\"pio\"; gpio=5; device=\"/dev/leds0\"".into(),
            ],
            "strips[1].device: /dev/leds0 is used by another strip",
        ),
        (
            "two spi strips on one bus",
            vec![
                "driver=\"spi\"; gpio=10".into(),
                "driver=\"spi\"; gpio=20; device=\"/dev/spidev0.0\"".into(),
            ],
            "strips[1].device: /dev/spidev0.0 is used by another strip",
        ),
        (
            "emulate on a real strip",
            vec![format!("{ws}; emulate=\"spi\"")],
            "strips[0].emulate: only simulated strips",
        ),
        (
            "emulate of an unknown driver",
            vec!["emulate=\"dmx\"".into()],
            "strips[0].emulate: \"dmx\" is not",
        ),
        (
            "unknown driver",
            vec!["driver=\"apa102\"".into()],
            "strips[0].driver: \"apa102\" is not \"sim\", \"ws281x\", \"spi\" or \"pio\"",
        ),
    ];
    for (what, defs, needle) in cases {
        let refs: Vec<&str> = defs.iter().map(String::as_str).collect();
        let errs = errors_for(&strips(&refs));
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "{what}: no error contains {needle:?}: {errs:?}"
        );
    }
}

#[test]
fn the_fps_limit_is_the_real_driver_s() {
    // 300 LEDs: an ideal wire allows 107 FPS, rpi_ws281x's 40 µs per LED only 82.
    let text = |driver: &str| {
        format!(
            "fps = 90\n[[strips]]\nid=\"a\"\n{driver}\n[[zones]]\nid=\"z\"\nstrip=\"a\"\npixels=300\n"
        )
    };
    assert!(Config::from_toml(&text("driver=\"sim\"")).is_ok());
    assert!(Config::from_toml(&text("driver=\"spi\"")).is_ok());
    for ws in ["driver=\"ws281x\"", "emulate=\"ws281x\""] {
        let errs = errors_for(&text(ws));
        assert!(
            errs.iter()
                .any(|e| e.contains("fps: 90 is above the wire limit")),
            "{ws}: {errs:?}"
        );
    }
}

#[test]
fn driver_spellings_scripts_rely_on() {
    let c = Config::from_toml(&strips(&[
        "driver=\"spi\"",
        "driver=\"spi\"; gpio=20",
        "driver=\"pio\"; gpio=4; device=\"/dev/leds0\"",
        "driver=\"ws281x\"; gpio=18",
        "driver=\"sim\"; gpio=19; emulate=\"pio\"",
    ]))
    .expect("valid");
    let s = &c.layout.strips;
    let dev = |i: usize| s[i].device.as_ref().map(|d| d.display().to_string());
    assert_eq!((s[0].driver, s[0].gpio), (Driver::Spi, 10));
    assert_eq!(dev(0).as_deref(), Some("/dev/spidev0.0"));
    assert_eq!(dev(1).as_deref(), Some("/dev/spidev1.0"));
    assert_eq!(
        (s[2].driver, dev(2).as_deref()),
        (Driver::Pio, Some("/dev/leds0"))
    );
    assert_eq!((s[3].driver, s[3].dma), (Driver::Ws281x, 10));
    assert_eq!(
        (s[4].driver, s[4].emulate),
        (Driver::Sim, Some(Driver::Pio))
    );
    // A plain simulated strip keeps ignoring dma, as before.
    assert!(Config::from_toml(&strips(&["dma=11"])).is_ok());
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
