//! Strip validation tests: the driver rules that keep a strip from staying dark, each driver's fps
//! limit, and RGBW strips (colour orders with W, white modes) on every driver.

use super::*;
use crate::layout::{ColorOrder, Driver, WhiteMode};

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
    assert_eq!((w.color_order, w.bytes_per_pixel()), (ColorOrder::GRBW, 4));
    assert_eq!(
        (w.white, w.white_kelvin),
        (WhiteMode::Accurate, 4000),
        "defaults"
    );
    assert_eq!(
        (b.color_order, b.white, b.white_kelvin),
        (ColorOrder::RGBW, WhiteMode::Brighter, 2700)
    );
    assert_eq!((rgb.bytes_per_pixel(), rgb.white), (3, WhiteMode::None));
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
fn a_w_colour_order_is_valid_on_every_driver() {
    let grbw = "led_type=\"sk6812\"; color_order=\"GRBW\"";
    for driver in [
        "driver=\"ws281x\"",
        "driver=\"ws281x\"; gpio=10",
        "driver=\"spi\"",
        "driver=\"pio\"; gpio=4; device=\"/dev/leds0\"",
        "emulate=\"pio\"; gpio=4",
    ] {
        let c = Config::from_toml(&strips(&[&format!("{driver}; {grbw}")]))
            .unwrap_or_else(|e| panic!("{driver}: {e}"));
        let s = &c.layout.strips[0];
        assert_eq!(
            (s.bytes_per_pixel(), s.white),
            (4, WhiteMode::Accurate),
            "{driver}"
        );
    }
}
