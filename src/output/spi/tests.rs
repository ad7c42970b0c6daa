//! The SPI bit stream decoded back the way a WS2812B reads it, with the datasheet's timing windows, at
//! the SPI clocks the Pis really produce.

use std::time::Duration;

use super::*;
use crate::layout::timing::spi_reset_bytes;

/// WS2812B timing, from the Worldsemi WS2812B datasheet ("Data transfer time (TH+TL=1.25µs±600ns)"):
/// T0H 0.4 µs ±150 ns, T1H 0.8 µs ±150 ns, T0L 0.85 µs ±150 ns, T1L 0.45 µs ±150 ns, RES above 50 µs.
/// In nanoseconds, inclusive.
const T0H: (f64, f64) = (250.0, 550.0);
const T1H: (f64, f64) = (650.0, 950.0);
const T0L: (f64, f64) = (700.0, 1000.0);
const T1L: (f64, f64) = (300.0, 600.0);
const RES_NS: f64 = 50_000.0;

/// Runs of equal level in the SPI stream (MSB first), as (high?, duration in ns) at `spi_hz`.
fn runs(spi: &[u8], spi_hz: f64) -> Vec<(bool, f64)> {
    let symbol = 1e9 / spi_hz;
    let mut out: Vec<(bool, f64)> = Vec::new();
    for byte in spi {
        for k in (0..8).rev() {
            let high = (byte >> k) & 1 == 1;
            match out.last_mut() {
                Some((level, t)) if *level == high => *t += symbol,
                _ => out.push((high, symbol)),
            }
        }
    }
    out
}

fn within(t: f64, (lo, hi): (f64, f64)) -> bool {
    (lo..=hi).contains(&t)
}

/// Decodes a WS2812B bit stream into bytes: each high pulse and the low after it must fall in the
/// T0/T1 windows; the stream must end with a low of at least RES (the latch). Errors say where it broke.
fn decode(spi: &[u8], spi_hz: f64) -> Result<Vec<u8>, String> {
    let runs = runs(spi, spi_hz);
    let mut bits = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let (high, th) = runs[i];
        if !high {
            return Err(format!("bit {}: starts low ({th:.0} ns)", bits.len()));
        }
        let tl = runs.get(i + 1).map_or(0.0, |r| r.1);
        let last = i + 2 >= runs.len();
        let bit = if within(th, T0H) {
            false
        } else if within(th, T1H) {
            true
        } else {
            return Err(format!("bit {}: high for {th:.0} ns", bits.len()));
        };
        if last {
            if tl < RES_NS {
                return Err(format!("frame ends with {tl:.0} ns low, not a reset"));
            }
        } else if !within(tl, if bit { T1L } else { T0L }) {
            return Err(format!("bit {} ({bit}): low for {tl:.0} ns", bits.len()));
        }
        bits.push(bit);
        i += 2;
    }
    if bits.len() % 8 != 0 {
        return Err(format!("{} bits is not whole bytes", bits.len()));
    }
    Ok(bits
        .chunks(8)
        .map(|b| b.iter().fold(0u8, |acc, &x| acc << 1 | x as u8))
        .collect())
}

/// The clock spi-bcm2835 (Pi 0–4) really runs: `cdiv = ⌈clk / hz⌉`, rounded up to even.
fn bcm2835_clock(core_hz: f64, hz: f64) -> f64 {
    let cdiv = (core_hz / hz).ceil();
    core_hz / (cdiv + cdiv % 2.0)
}

/// The clock spi-dw (the Pi 5's RP1, 200 MHz) really runs: `(⌈clk / hz⌉ + 1) & !1`.
fn dw_clock(clk_hz: f64, hz: f64) -> f64 {
    let div = ((clk_hz / hz).ceil() as u64 + 1) & !1;
    clk_hz / div as f64
}

fn encoded(wire: &[u8], reset: Duration) -> Vec<u8> {
    let reset_bytes = spi_reset_bytes(reset, 800_000);
    let mut out = vec![0xAA; wire.len() * 4 + reset_bytes];
    let n = encode(wire, reset_bytes, &mut out);
    assert_eq!(n, out.len());
    out
}

/// A frame with every byte value, RGB and RGBW-sized pixels alike (the driver does not care).
fn frame() -> Vec<u8> {
    (0..=255u8).chain([0, 255, 0x55, 0xAA]).collect()
}

#[test]
fn every_byte_decodes_back_at_the_clocks_pis_produce() {
    let asked = spi_clock_hz(800_000) as f64;
    assert_eq!(asked, 3_300_000.0);
    let clocks = [
        ("as asked", asked),
        ("Pi 3 / Zero, core_freq=250", bcm2835_clock(250e6, asked)),
        ("Pi 4, core_freq=500", bcm2835_clock(500e6, asked)),
        ("Pi 4, core_freq=550 (4kp60)", bcm2835_clock(550e6, asked)),
        ("Pi 5, RP1 200 MHz", dw_clock(200e6, asked)),
    ];
    let wire = frame();
    let spi = encoded(&wire, Duration::from_micros(280));
    for (what, hz) in clocks {
        assert_eq!(
            decode(&spi, hz).as_deref(),
            Ok(&wire[..]),
            "{what}: {hz:.0} Hz"
        );
    }
    // Four-byte (RGBW) pixels are just more bytes.
    let rgbw = [1u8, 2, 3, 4, 250, 251, 252, 253];
    assert_eq!(
        decode(&encoded(&rgbw, Duration::from_micros(80)), asked).unwrap(),
        rgbw
    );
}

#[test]
fn the_decoder_rejects_what_a_ws2812b_would_misread() {
    let wire = frame();
    let spi = encoded(&wire, Duration::from_micros(280));
    // Too slow a clock (the core clock not pinned, a Pi 4 idling at 200 MHz → 3.125 MHz is still fine;
    // 2.4 MHz is not): the long symbols leave the windows.
    assert!(decode(&spi, 2_400_000.0).is_err());
    // No reset at the end: the strip would never latch.
    assert!(decode(&spi[..wire.len() * 4], 3_300_000.0).is_err());
    // A reset shorter than 50 µs is not one.
    assert!(decode(&encoded(&wire, Duration::from_micros(10)), 3_300_000.0).is_err());
}

#[test]
fn the_reset_is_low_bytes_after_the_data() {
    let spi = encoded(&[0xFF, 0x00], Duration::from_micros(280));
    assert_eq!(&spi[..8], &[0xEE, 0xEE, 0xEE, 0xEE, 0x88, 0x88, 0x88, 0x88]);
    assert_eq!(spi.len(), 8 + 116);
    assert!(spi[8..].iter().all(|&b| b == 0));
    // Every SPI byte ends low: an idle bit inserted between bytes only stretches a low phase.
    assert!(PAIR.iter().all(|b| b & 1 == 0));
}

#[test]
fn ioctl_numbers_match_linux_spidev_h() {
    assert_eq!(std::mem::size_of::<SpiIocTransfer>(), 32);
    assert_eq!(SPI_IOC_MESSAGE_1, 0x4020_6b00);
    assert_eq!(SPI_IOC_WR_MODE, 0x4001_6b01);
    assert_eq!(SPI_IOC_WR_BITS_PER_WORD, 0x4001_6b03);
    assert_eq!(SPI_IOC_WR_MAX_SPEED_HZ, 0x4004_6b04);
}

#[test]
fn a_file_that_is_not_spidev_fails_with_the_path_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-spi");
    std::fs::write(&path, b"").unwrap();
    let mut layout = crate::config::Config::from_toml(
        "[[strips]]\nid=\"s\"\ndriver=\"spi\"\n[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels=3\n",
    )
    .unwrap()
    .layout;
    layout.strips[0].device = Some(path.clone());
    let Err(OutputError::Open(msg)) = SpiOutput::open(&layout) else {
        panic!("a plain file accepted as an SPI device");
    };
    assert!(
        msg.contains("SPI mode 0") && msg.contains(&path.display().to_string()),
        "{msg}"
    );
}
