//! Validation of `[[strips]]`: the driver, its pins and its settings, one strip at a time
//! ([`build_strip`]) and across strips ([`check_drivers`]). Each rule exists because the hardware would
//! otherwise fail silently (a dark strip, a corrupted SD card); every message names the key and the fix.
//!
//! A simulated strip with `emulate = "…"` is validated as the driver it stands in for, so a config
//! rehearsed on a laptop passes on the Pi. A colour order with W (an SK6812 RGBW strip) is valid on
//! every driver: each sends 4 bytes a pixel (`StripSpec::bytes_per_pixel`); `white` and
//! `white_kelvin` are accepted only next to such an order.

use std::path::PathBuf;
use std::time::Duration;

use super::raw::RawStrip;
use crate::layout::{
    ColorOrder, DEFAULT_WHITE_KELVIN, Driver, LedType, StripSpec, WhiteMode, ws281x_channel,
};

/// Pins the rpi_ws281x library can drive: PWM0, PWM1, SPI0 MOSI, PCM DOUT.
pub const WS281X_PINS: [u8; 6] = [10, 12, 13, 18, 19, 21];

/// The `spi` driver's pins and the spidev node each maps to (SPI0 MOSI, SPI1 MOSI).
pub const SPI_PINS: [(u8, &str); 2] = [(10, "/dev/spidev0.0"), (20, "/dev/spidev1.0")];

/// The DMA channel used when none is given (the rpi_ws281x README's safe choice).
pub const DEFAULT_DMA: u8 = 10;

/// Why rpi_ws281x must not be given DMA channel `ch`, or `None` when it may (only 9 and 10).
///
/// Sources: Pi 0–3 device trees give the kernel the channels of mask 0x7f35 (bcm2835-common.dtsi) and
/// the firmware keeps 1, 3, 6, 7; the kernel's SD host took channel 5, which corrupts SD cards
/// (rpi_ws281x issues #224, #188; PR #253 moved the default to 10). Pi 4 downstream trees give the
/// kernel 0, 2, 4–8 (mask 0x1f5, raspberrypi/linux #3896) and the DMA4 engines 12–14 (dma40 mask
/// 0x7000), and "the VPU firmware uses DMA channel 11 for VCHIQ" (bcm2711-rpi-ds.dtsi); 11–14 are DMA4
/// engines, whose registers rpi_ws281x does not program.
pub fn dma_channel_problem(ch: u8) -> Option<&'static str> {
    match ch {
        9 | 10 => None,
        0 => Some("channel 0 belongs to the kernel on every Pi"),
        1 | 3 => Some("the VideoCore firmware uses it"),
        2 | 4 | 8 => Some("the kernel hands it to drivers (SD card, SPI, audio)"),
        5 => Some("the kernel's SD card driver uses it: the SD card gets corrupted"),
        6 | 7 => Some("the firmware (Pi 0-3) or the kernel (Pi 4) uses it"),
        11 => Some(
            "the Pi 4 firmware uses it for VCHIQ, and it is a DMA4 engine rpi_ws281x cannot drive",
        ),
        12..=14 => {
            Some("on the Pi 4 it is a DMA4 engine the kernel uses and rpi_ws281x cannot drive")
        }
        _ => Some("rpi_ws281x knows channels 0-14 only"),
    }
}

/// Validates one `[[strips]]` entry; `len` is filled in later from the zones.
pub(super) fn build_strip(i: usize, s: &RawStrip, errs: &mut Vec<String>) -> StripSpec {
    let key = format!("strips[{i}]");
    let driver = parse_driver(&key, s, errs);
    let emulate = parse_emulate(&key, s, driver, errs);
    let rules = emulate.unwrap_or(driver);
    let gpio = s.gpio.unwrap_or(match rules {
        Driver::Spi => 10,
        _ => 18,
    });
    check_pin(&key, rules, gpio, errs);
    let led_type = LedType::parse(s.led_type.as_deref().unwrap_or("ws2812")).unwrap_or_else(|| {
        errs.push(format!(
            "{key}.led_type: \"{}\" is not one of ws2811, ws2812, ws2813, sk6812 (an SK6812 RGBW \
             strip is led_type = \"sk6812\" with a colour order such as \"GRBW\")",
            s.led_type.as_deref().unwrap_or_default()
        ));
        LedType::Ws2812
    });
    let color_order = color_order(&key, s, led_type, errs);
    let (white, white_kelvin) = white(&key, s, color_order, errs);
    let spec = StripSpec {
        id: s.id.clone(),
        driver,
        emulate,
        device: device(&key, s, (driver, rules), gpio, errs),
        gpio,
        dma: dma(&key, s, rules, errs),
        led_type,
        color_order,
        white,
        white_kelvin,
        frequency: frequency(&key, s, rules, errs),
        invert: invert(&key, s, rules, gpio, errs),
        gamma: s.gamma.unwrap_or(2.2),
        max_current_ma: s.max_current_ma.unwrap_or(0),
        ma_per_channel: s.ma_per_channel.unwrap_or(20.0),
        reset: reset(&key, s, led_type, errs),
        capture: s.capture.as_ref().map(PathBuf::from),
        len: 0,
    };
    check_ranges(&key, &spec, errs);
    if spec.capture.is_some() && driver != Driver::Sim {
        errs.push(format!(
            "{key}.capture: only simulated strips (driver = \"sim\") capture frames"
        ));
    }
    spec
}

fn parse_driver(key: &str, s: &RawStrip, errs: &mut Vec<String>) -> Driver {
    let name = s.driver.as_deref().unwrap_or("sim");
    Driver::parse(name).unwrap_or_else(|| {
        errs.push(format!(
            "{key}.driver: \"{name}\" is not \"sim\", \"ws281x\", \"spi\" or \"pio\""
        ));
        Driver::Sim
    })
}

fn parse_emulate(
    key: &str,
    s: &RawStrip,
    driver: Driver,
    errs: &mut Vec<String>,
) -> Option<Driver> {
    let name = s.emulate.as_deref()?;
    if driver != Driver::Sim {
        errs.push(format!(
            "{key}.emulate: only simulated strips (driver = \"sim\") emulate a driver; remove it"
        ));
        return None;
    }
    match Driver::parse(name) {
        Some(d) if d != Driver::Sim => Some(d),
        _ => {
            errs.push(format!(
                "{key}.emulate: \"{name}\" is not \"ws281x\", \"spi\" or \"pio\""
            ));
            None
        }
    }
}

/// `color_order`: a permutation of RGB, or of RGBW on an LED type that has a white LED (SK6812).
fn color_order(key: &str, s: &RawStrip, led_type: LedType, errs: &mut Vec<String>) -> ColorOrder {
    let text = s.color_order.as_deref().unwrap_or("GRB");
    let Some(order) = ColorOrder::parse(text) else {
        errs.push(format!(
            "{key}.color_order: \"{text}\" is not a colour order: write R, G and B once each in wire \
             order (RGB, GRB, BRG, …), plus W for an RGBW strip (GRBW, RGBW, …)"
        ));
        return ColorOrder::GRB;
    };
    if order.has_white() && led_type != LedType::Sk6812 {
        errs.push(format!(
            "{key}.color_order: \"{text}\" has a white channel but led_type \"{}\" has three colour \
             channels; use led_type = \"sk6812\" for an RGBW strip, or an order without W",
            s.led_type.as_deref().unwrap_or("ws2812")
        ));
        return ColorOrder::GRB;
    }
    order
}

/// `white` and `white_kelvin`: only for RGBW strips; white defaults to accurate there.
fn white(key: &str, s: &RawStrip, order: ColorOrder, errs: &mut Vec<String>) -> (WhiteMode, u32) {
    if !order.has_white() {
        for (name, set) in [
            ("white", s.white.is_some()),
            ("white_kelvin", s.white_kelvin.is_some()),
        ] {
            if set {
                errs.push(format!(
                    "{key}.{name}: only RGBW strips have a white channel; give color_order a W \
                     (e.g. \"GRBW\") or remove {name}"
                ));
            }
        }
        return (WhiteMode::None, DEFAULT_WHITE_KELVIN);
    }
    let text = s.white.as_deref().unwrap_or("accurate");
    let mode = WhiteMode::parse(text).unwrap_or_else(|| {
        errs.push(format!(
            "{key}.white: \"{text}\" is not one of \"none\", \"accurate\", \"brighter\""
        ));
        WhiteMode::Accurate
    });
    let kelvin = s.white_kelvin.unwrap_or(DEFAULT_WHITE_KELVIN);
    if !(2000..=10_000).contains(&kelvin) {
        errs.push(format!(
            "{key}.white_kelvin: {kelvin} is out of range 2000–10000 (a warm white LED is about \
             3000, a neutral one 4000, a cool one 6500)"
        ));
    }
    (mode, kelvin.clamp(2000, 10_000))
}

fn check_pin(key: &str, rules: Driver, gpio: u8, errs: &mut Vec<String>) {
    let problem = match rules {
        Driver::Sim | Driver::Ws281x if !WS281X_PINS.contains(&gpio) => Some(
            "cannot drive WS281x; use 18 or 12 (PWM0), 13 or 19 (PWM1), 10 (SPI), 21 (PCM), \
             or driver = \"pio\" (Pi 5, any GPIO 0-27)",
        ),
        Driver::Spi if SPI_PINS.iter().all(|(p, _)| *p != gpio) => Some(
            "is not an SPI MOSI pin; use 10 (SPI0, /dev/spidev0.0) or 20 (SPI1, /dev/spidev1.0)",
        ),
        Driver::Pio if gpio > 27 => Some("is not an RP1 bank-0 GPIO; use 0-27"),
        _ => None,
    };
    if let Some(p) = problem {
        errs.push(format!("{key}.gpio: {gpio} {p}"));
    }
}

/// The device node: `drivers` is (the strip's driver, the driver whose rules apply).
fn device(
    key: &str,
    s: &RawStrip,
    drivers: (Driver, Driver),
    gpio: u8,
    errs: &mut Vec<String>,
) -> Option<PathBuf> {
    let (driver, rules) = drivers;
    match (rules, s.device.as_deref()) {
        (Driver::Spi, Some(d)) if d.starts_with("/dev/spidev") => Some(d.into()),
        (Driver::Spi, Some(d)) => {
            errs.push(format!(
                "{key}.device: \"{d}\" is not a /dev/spidevB.C node (or leave it out: GPIO {gpio} picks it)"
            ));
            None
        }
        (Driver::Spi, None) => SPI_PINS
            .iter()
            .find(|(p, _)| *p == gpio)
            .map(|(_, d)| d.into()),
        (Driver::Pio, Some(d)) if d.starts_with("/dev/") && d.len() > 5 => Some(d.into()),
        // A simulated stand-in needs no node.
        (Driver::Pio, None) if driver == Driver::Sim => None,
        (Driver::Pio, other) => {
            errs.push(format!(
                "{key}.device: {} the PIO driver needs its device node, e.g. device = \"/dev/leds0\" \
                 (from dtoverlay=ws2812-pio,gpio={gpio},num_leds=...)",
                other.map_or("missing:".to_string(), |d| format!("\"{d}\" is not a /dev path:"))
            ));
            None
        }
        (_, Some(_)) => {
            errs.push(format!(
                "{key}.device: only driver = \"spi\" or \"pio\" strips have a device; remove it"
            ));
            None
        }
        (_, None) => None,
    }
}

fn dma(key: &str, s: &RawStrip, rules: Driver, errs: &mut Vec<String>) -> u8 {
    let dma = s.dma.unwrap_or(DEFAULT_DMA);
    match rules {
        Driver::Ws281x => {
            if let Some(why) = dma_channel_problem(dma) {
                errs.push(format!(
                    "{key}.dma: DMA channel {dma} is unsafe: {why}; use dma = 10 (or leave it out)"
                ));
            }
        }
        Driver::Spi | Driver::Pio if s.dma.is_some() => errs.push(format!(
            "{key}.dma: only driver = \"ws281x\" strips use a DMA channel; remove it"
        )),
        _ => {}
    }
    dma
}

fn frequency(key: &str, s: &RawStrip, rules: Driver, errs: &mut Vec<String>) -> u32 {
    let frequency = s.frequency.unwrap_or(800_000);
    if !(400_000..=1_000_000).contains(&frequency) {
        errs.push(format!(
            "{key}.frequency: {frequency} Hz is out of range 400000–1000000"
        ));
    } else if rules == Driver::Pio && frequency != 800_000 {
        errs.push(format!(
            "{key}.frequency: the Pi 5 PIO driver always sends 800 kHz; remove frequency = {frequency}"
        ));
    }
    frequency
}

fn invert(key: &str, s: &RawStrip, rules: Driver, gpio: u8, errs: &mut Vec<String>) -> bool {
    let invert = s.invert.unwrap_or(false);
    let problem = match rules {
        _ if !invert => None,
        Driver::Ws281x if matches!(gpio, 10 | 21) => Some(
            "rpi_ws281x inverts only the data on SPI/PCM, not the reset after it, so an inverting \
             level shifter never latches; use a non-inverting buffer (74AHCT125) or a PWM pin (18, 12, 13, 19)",
        ),
        Driver::Spi => Some(
            "SPI cannot invert its idle level, so an inverting level shifter holds the line high; \
             use a non-inverting buffer (74AHCT125)",
        ),
        Driver::Pio => Some(
            "the Pi 5 PIO driver has no inverted output; use a non-inverting buffer (74AHCT125)",
        ),
        _ => None,
    };
    if let Some(p) = problem {
        errs.push(format!("{key}.invert: {p}"));
    }
    invert
}

fn reset(key: &str, s: &RawStrip, led_type: LedType, errs: &mut Vec<String>) -> Duration {
    let Some(t) = &s.reset else {
        return led_type.default_reset();
    };
    match humantime::parse_duration(t) {
        Ok(d) if d >= Duration::from_micros(50) => d,
        Ok(_) => {
            errs.push(format!(
                "{key}.reset: \"{t}\" is below the 50µs minimum latch time"
            ));
            led_type.default_reset()
        }
        Err(e) => {
            errs.push(format!("{key}.reset: \"{t}\" is not a duration ({e})"));
            led_type.default_reset()
        }
    }
}

fn check_ranges(key: &str, s: &StripSpec, errs: &mut Vec<String>) {
    if !(0.5..=4.0).contains(&s.gamma) {
        errs.push(format!("{key}.gamma: {} is out of range 0.5–4.0", s.gamma));
    }
    if !(0.0..=100.0).contains(&s.ma_per_channel) {
        errs.push(format!(
            "{key}.ma_per_channel: {} is out of range 0–100",
            s.ma_per_channel
        ));
    }
}

/// Rules across strips: one ws281x controller (one DMA channel, one frequency, at most one strip per
/// channel, SPI/PCM alone), one strip per pin and per device node.
pub(super) fn check_drivers(strips: &[StripSpec], errs: &mut Vec<String>) {
    for sim in [false, true] {
        let ws: Vec<(usize, &StripSpec)> = strips
            .iter()
            .enumerate()
            .filter(|(_, s)| s.timing_driver() == Some(Driver::Ws281x))
            .filter(|(_, s)| (s.driver == Driver::Sim) == sim)
            .collect();
        check_ws281x_controller(&ws, errs);
    }
    for (j, s) in strips.iter().enumerate() {
        let earlier = &strips[..j];
        if earlier.iter().any(|o| o.gpio == s.gpio) {
            errs.push(format!(
                "strips[{j}].gpio: pin {} is used by another strip",
                s.gpio
            ));
        }
        if let Some(d) = &s.device {
            if earlier.iter().any(|o| o.device.as_ref() == Some(d)) {
                errs.push(format!(
                    "strips[{j}].device: {} is used by another strip",
                    d.display()
                ));
            }
        }
    }
}

fn check_ws281x_controller(ws: &[(usize, &StripSpec)], errs: &mut Vec<String>) {
    let Some(&(first_i, first)) = ws.first() else {
        return;
    };
    for &(j, s) in &ws[1..] {
        if s.dma != first.dma {
            errs.push(format!(
                "strips[{j}].dma: the ws281x controller has one DMA channel for all its strips \
                 (strips[{first_i}] has {}); set the same dma on every ws281x strip, or leave it out",
                first.dma
            ));
        }
        if s.frequency != first.frequency {
            errs.push(format!(
                "strips[{j}].frequency: the ws281x controller runs all its strips at one frequency \
                 (strips[{first_i}] has {}); use the same on every ws281x strip",
                first.frequency
            ));
        }
    }
    for (n, &(j, s)) in ws.iter().enumerate() {
        for &(k, o) in &ws[..n] {
            if matches!(o.gpio, 10 | 21) || matches!(s.gpio, 10 | 21) {
                let (spi, other) = if matches!(o.gpio, 10 | 21) {
                    (k, j)
                } else {
                    (j, k)
                };
                errs.push(format!(
                    "strips[{other}].gpio: with strips[{spi}] on GPIO {} (rpi_ws281x's {} mode) the library \
                     drives a single strip and this one would stay dark; use driver = \"spi\" for the \
                     GPIO 10 strip, or put the two strips on 18 (PWM0) and 13/19 (PWM1)",
                    strips_gpio(ws, spi),
                    if strips_gpio(ws, spi) == 10 { "SPI" } else { "PCM" }
                ));
            } else if ws281x_channel(o.gpio) == ws281x_channel(s.gpio) {
                errs.push(format!(
                    "strips[{j}].gpio: pin {} is on the same PWM channel as strips[{k}] (GPIO {}); \
                     use one of 18/12 (PWM0) and one of 13/19 (PWM1)",
                    s.gpio, o.gpio
                ));
            }
        }
    }
}

fn strips_gpio(ws: &[(usize, &StripSpec)], i: usize) -> u8 {
    ws.iter().find(|(j, _)| *j == i).map_or(0, |(_, s)| s.gpio)
}
