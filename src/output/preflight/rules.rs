//! The judgements: every problem that would stop a strip from lighting, each with its exact fix.

use std::path::Path;

use super::{Access, System};
use crate::layout::timing::{spi_frame_bytes, ws281x_buffer_bytes};
use crate::layout::{Driver, Layout, StripSpec};
use crate::output::board::{is_rp1_board, is_videocore_board, ws281x_knows};
use crate::output::pio::Overlay;

const CONFIG_TXT: &str = "/boot/firmware/config.txt";
const CMDLINE_TXT: &str = "/boot/firmware/cmdline.txt";

/// Every problem that would stop the real (non-simulated) strips from working, with its fix.
pub fn check(layout: &Layout, sys: &System) -> Vec<String> {
    let real: Vec<&StripSpec> = layout
        .strips
        .iter()
        .filter(|s| s.driver != Driver::Sim)
        .collect();
    let mut problems = Vec::new();
    if real.is_empty() {
        return problems;
    }
    if let Some(p) = not_a_pi(sys) {
        problems.push(p);
        return problems;
    }
    let mut said_board = false;
    for s in real {
        match s.driver {
            Driver::Ws281x => ws281x(s, sys, &mut said_board, &mut problems),
            Driver::Spi => spi(s, sys, &mut problems),
            Driver::Pio => pio(s, sys, &mut problems),
            Driver::Sim => {}
        }
    }
    problems
}

fn not_a_pi(sys: &System) -> Option<String> {
    match sys.model.as_deref() {
        None => Some(
            "this does not look like a Raspberry Pi (no /proc/device-tree/model); \
             use driver = \"sim\" on other machines"
                .into(),
        ),
        Some(m) if !m.contains("Raspberry Pi") => Some(format!(
            "\"{m}\" is not a Raspberry Pi; use driver = \"sim\" on other machines"
        )),
        Some(_) => None,
    }
}

fn ws281x(s: &StripSpec, sys: &System, said_board: &mut bool, problems: &mut Vec<String>) {
    let id = &s.id;
    if !*said_board {
        *said_board = true;
        if let Some(p) = ws281x_board(sys) {
            problems.push(p);
            return;
        }
    }
    let pwm = matches!(s.gpio, 12 | 13 | 18 | 19);
    let needs_mem = pwm || s.gpio == 21;
    if needs_mem && !sys.is_root {
        problems.push(format!(
            "strip \"{id}\" on GPIO {} (PWM/PCM) needs root for /dev/mem: run it through the systemd \
             unit with the drop-in `diuna --systemd-drop-in` writes (it switches to root), or use \
             driver = \"spi\" on GPIO 10, which needs only the spi group",
            s.gpio
        ));
    }
    if needs_mem && !sys.dev_mem {
        problems.push(format!(
            "strip \"{id}\": /dev/mem does not exist (a container or a kernel without it); \
             use driver = \"spi\" on GPIO 10"
        ));
    }
    if pwm && sys.audio_loaded {
        problems.push(format!(
            "strip \"{id}\" on GPIO {} uses PWM, which the on-board audio driver (snd_bcm2835) holds: \
             add dtparam=audio=off to {CONFIG_TXT}, create /etc/modprobe.d/snd-blacklist.conf \
             containing the line `blacklist snd_bcm2835`, and reboot",
            s.gpio
        ));
    }
    if s.gpio == 10 {
        spi_node(s, Path::new("/dev/spidev0.0"), sys, problems);
        let bytes = ws281x_buffer_bytes(s.len, s.frequency);
        bufsiz(s, bytes, "rpi_ws281x sends 12 bytes per LED", sys, problems);
    }
}

/// The board-level reasons rpi_ws281x cannot start: a Pi 5, or a revision it does not know.
fn ws281x_board(sys: &System) -> Option<String> {
    let model = sys.model.as_deref().unwrap_or("this Pi");
    if is_rp1_board(sys.model.as_deref(), sys.revision) {
        return Some(format!(
            "{model}: rpi_ws281x cannot drive the RP1 chip of a Pi 5 / Pi 500 / CM5; use \
             driver = \"spi\" (GPIO 10, dtparam=spi=on) or driver = \"pio\" (any GPIO, \
             dtoverlay=ws2812-pio) instead of \"ws281x\""
        ));
    }
    let rev = sys.revision?;
    (!ws281x_knows(rev, sys.aarch64)).then(|| {
        let why = if sys.aarch64 {
            "its 64-bit build matches revision codes exactly (maker and warranty bits included)"
        } else {
            "it is not in its table even with the maker and warranty bits masked"
        };
        format!(
            "{model} (revision {rev:06x}) is unknown to rpi_ws281x 1.1.0 ({why}), so it fails with \
             \"Hardware not supported\": use driver = \"spi\" (move the data line to GPIO 10; no \
             root needed){}",
            if sys.aarch64 && ws281x_knows(rev, false) {
                ", or install 32-bit (armhf) Pi OS, where the library accepts this board"
            } else {
                ""
            }
        )
    })
}

fn spi(s: &StripSpec, sys: &System, problems: &mut Vec<String>) {
    let Some(node) = s.device.as_deref() else {
        return;
    };
    spi_node(s, node, sys, problems);
    let bpp = s.bytes_per_pixel();
    let bytes = spi_frame_bytes(s.len, bpp, s.reset, s.frequency);
    let why = format!(
        "the spi driver sends {} bytes per {} LED plus the reset",
        bpp * 4,
        if bpp == 4 { "RGBW" } else { "RGB" }
    );
    bufsiz(s, bytes, &why, sys, problems);
    if s.gpio == 20 && is_videocore_board(sys.model.as_deref()) {
        problems.push(format!(
            "strip \"{}\" on GPIO 20 (SPI1): on a Pi 0-4 SPI1 is the auxiliary SPI without DMA, whose \
             FIFO refills leave gaps that latch the strip mid-frame; move the data line to GPIO 10 (SPI0)",
            s.id
        ));
    }
}

fn spi_node(s: &StripSpec, node: &Path, sys: &System, problems: &mut Vec<String>) {
    let fix = if node == Path::new("/dev/spidev1.0") {
        "add dtoverlay=spi1-1cs"
    } else {
        "add dtparam=spi=on"
    };
    match sys.access(node) {
        Access::Missing => problems.push(format!(
            "strip \"{}\" needs {}: {fix} to {CONFIG_TXT} and reboot",
            s.id,
            node.display()
        )),
        Access::Denied => problems.push(format!(
            "strip \"{}\": {} is not writable: add the service user to the spi group \
             (sudo usermod -aG spi diuna; the unit has SupplementaryGroups=spi) or run as root",
            s.id,
            node.display()
        )),
        Access::Writable => {}
    }
}

fn bufsiz(s: &StripSpec, bytes: usize, why: &str, sys: &System, problems: &mut Vec<String>) {
    let limit = sys.spidev_bufsiz.unwrap_or(4096);
    if bytes > limit {
        let want = bytes.next_power_of_two().max(65536);
        problems.push(format!(
            "strip \"{}\" ({} LEDs) needs {bytes}-byte SPI transfers ({why}) but spidev.bufsiz is \
             {limit}, so every frame would fail and the strip stay dark: append \
             ` spidev.bufsiz={want}` to the single line in {CMDLINE_TXT} and reboot",
            s.id, s.len
        ));
    }
}

fn pio(s: &StripSpec, sys: &System, problems: &mut Vec<String>) {
    let id = &s.id;
    if !is_rp1_board(sys.model.as_deref(), sys.revision) {
        problems.push(format!(
            "strip \"{id}\": driver = \"pio\" needs a Raspberry Pi 5, Pi 500 or CM5 (the RP1 chip); \
             on this Pi use driver = \"spi\" (GPIO 10)"
        ));
        return;
    }
    let rgbw = s.bytes_per_pixel() == 4;
    let line = Overlay::config_line(s.gpio, s.len, rgbw);
    match sys.pio_overlays.iter().find(|o| o.gpio == s.gpio as u32) {
        None => problems.push(format!(
            "strip \"{id}\": no ws2812-pio overlay drives GPIO {}: add `{line}` to {CONFIG_TXT} and reboot",
            s.gpio
        )),
        Some(o) if o.num_leds as usize != s.len || o.rgbw != rgbw => problems.push(format!(
            "strip \"{id}\": the ws2812-pio overlay on GPIO {} is set up for {} {} LEDs but the strip \
             has {} {}: change its line in {CONFIG_TXT} to `{line}` and reboot",
            s.gpio,
            o.num_leds,
            if o.rgbw { "RGBW" } else { "RGB" },
            s.len,
            if rgbw { "RGBW" } else { "RGB" },
        )),
        Some(_) => {}
    }
    let Some(node) = s.device.as_deref() else {
        return;
    };
    match sys.access(node) {
        Access::Missing => problems.push(format!(
            "strip \"{id}\": {} does not exist: the overlay did not load, or its instance got another \
             number (the kernel logs \"Instantiated N LEDs on GPIO G as /dev/ledsK\": \
             journalctl -k | grep ws2812) — set device to that node",
            node.display()
        )),
        Access::Denied => problems.push(format!(
            "strip \"{id}\": {} is root-only: install deploy/99-diuna-leds.rules as \
             /etc/udev/rules.d/99-diuna-leds.rules (SUBSYSTEM==\"ws2812-pio-rp1\", GROUP=\"gpio\", \
             MODE=\"0660\") and reboot, or run as root",
            node.display()
        )),
        Access::Writable => {}
    }
}
