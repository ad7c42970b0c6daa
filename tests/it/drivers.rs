//! Every driver's frame rate, through the simulator standing in for it (`emulate = "spi" | "pio" |
//! "ws281x"`): a flood of knob turns makes frames queue behind the wire, so consecutive captured frames
//! are spaced by exactly the driver's wire time, which must equal the model in `layout::timing` — the
//! same model `--check-config` holds `fps` to, for RGB and RGBW (32 bits a pixel) strips alike. No
//! wall-clock sleeps: the spacing comes from the capture's `t_us`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::support::{Capture, Daemon, wait_for};
use crate::testconfig::TestConfig;

const PIXELS: usize = 300;

/// The strip lines of a plain simulated strip and of each driver's stand-in, on that driver's pin.
const IDEAL: &str = "gpio = 18";
const SPI: &str = "gpio = 10\nemulate = \"spi\"";
const PIO: &str = "gpio = 4\nemulate = \"pio\"";
const WS281X: &str = "gpio = 18\nemulate = \"ws281x\"";
/// An SK6812 RGBW strip: 32 bits a pixel on every driver.
const RGBW: &str = "led_type = \"sk6812\"\ncolor_order = \"GRBW\"";

/// A config with one 300-pixel strip described by `emulate`'s lines (RGB unless it names a colour order).
fn config(emulate: &str, fps: u32) -> String {
    let strip: Vec<&str> = emulate.lines().collect();
    TestConfig::new("wire")
        .top(&format!("fps = {fps}"))
        .set_all(
            "input",
            &[
                "sim_socket = \"{dir}/input.sock\"",
                "keyboard = \"none\"",
                "acceleration = false",
            ],
        )
        .strip_with("s", &strip)
        .zone("a", "s", PIXELS, [255, 0, 0])
        .build()
}

/// The model's frame time and the highest `fps` the config accepts for it.
fn model(emulate: &str) -> (Duration, u32) {
    let cfg = diuna::config::Config::from_toml(&config(emulate, 1).replace("{dir}", "/tmp"))
        .expect("valid config");
    let t = cfg.layout.frame_time(&[true]);
    (t, (1.0 / t.as_secs_f64()).floor() as u32)
}

fn send(w: &mut UnixStream, r: &mut BufReader<UnixStream>, line: &str) {
    writeln!(w, "{line}").unwrap();
    let mut reply = String::new();
    r.read_line(&mut reply).unwrap();
    assert_eq!(reply.trim(), "ok", "{line}");
}

/// Spacings (µs) between consecutive captured frames while knob turns keep the render loop producing
/// frames faster than the wire takes them.
fn flooded_spacings(emulate: &str, fps: u32) -> Vec<u64> {
    let d = Daemon::start(&config(emulate, fps));
    let mut cap = Capture::new(&d.path("s.jsonl"));
    cap.wait_frame("s", "first frame", |_| true);
    let path = d.path("input.sock");
    let mut w = wait_for(Duration::from_secs(10), "input socket", || {
        UnixStream::connect(&path).ok()
    });
    let mut r = BufReader::new(w.try_clone().unwrap());
    send(&mut w, &mut r, "key e");
    cap.poll();
    let before = cap.frames.len();
    // Each detent changes the hue and is shown at once, between deadlines: with two per poll the
    // render loop always has a frame waiting when the wire frees.
    wait_for(
        Duration::from_secs(20),
        "40 frames under a flood of turns",
        || {
            send(&mut w, &mut r, "turn modulator 1");
            send(&mut w, &mut r, "turn modulator -1");
            cap.poll();
            (cap.frames.len() >= before + 40).then_some(())
        },
    );
    let t: Vec<u64> = cap.frames[before..].iter().map(|f| f.t_us).collect();
    t.windows(2).map(|p| p[1] - p[0]).collect()
}

/// One stand-in's captured frames are spaced by its model's wire time.
fn check_rate(emulate: &str) {
    let (t, fps) = model(emulate);
    // The config holds fps to the same model.
    assert!(
        diuna::config::Config::from_toml(&config(emulate, fps + 1).replace("{dir}", "/tmp"))
            .is_err(),
        "{emulate:?}: fps {} accepted above the wire limit",
        fps + 1
    );
    let spacings = flooded_spacings(emulate, fps);
    let want = t.as_micros() as u64;
    let back_to_back = spacings.iter().filter(|&&s| s.abs_diff(want) <= 2).count();
    let min = spacings.iter().copied().min().unwrap_or(0);
    assert!(
        min + 2 >= want && back_to_back >= 5,
        "{emulate:?}: model {want} µs per frame; captured spacings {spacings:?}"
    );
}

#[test]
fn simulated_stand_ins_run_at_each_driver_s_wire_rate() {
    for emulate in [IDEAL, SPI, PIO, WS281X] {
        check_rate(emulate);
    }
    // The drivers really differ at 300 LEDs: rpi_ws281x's 40 µs per LED is the slowest.
    let (ws, _) = model(WS281X);
    let (ideal, _) = model(IDEAL);
    let (spi, _) = model(SPI);
    assert_eq!(ws, Duration::from_micros(12_080));
    assert_eq!(ideal, Duration::from_micros(9_280));
    assert!(spi < ideal && spi > Duration::from_micros(8_900), "{spi:?}");
}

#[test]
fn rgbw_stand_ins_run_at_32_bits_a_pixel() {
    let rgbw = |emulate: &str| format!("{emulate}\n{RGBW}");
    // The Pi 5's PIO driver (overlay with `rgbw`) and rpi_ws281x, whose render gap now counts 4 colours
    // per LED and outlasts its DMA buffer.
    for emulate in [rgbw(PIO), rgbw(WS281X)] {
        check_rate(&emulate);
    }
    assert_eq!(model(&rgbw(PIO)).0, Duration::from_micros(12_000 + 80));
    assert_eq!(model(&rgbw(WS281X)).0, Duration::from_micros(12_300));
    assert_eq!(model(&rgbw(IDEAL)).0, Duration::from_micros(12_000 + 80));
    // SPI: 16 bytes a pixel + 33 reset bytes at 3.3 MHz.
    assert_eq!(model(&rgbw(SPI)).0.as_micros(), 11_716);
}
