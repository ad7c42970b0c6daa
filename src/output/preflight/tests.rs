//! Preflight judgements on made-up machines: each problem is found and its message carries the fix.

use super::*;
use crate::config::Config;

fn layout(strip: &str, pixels: usize) -> Layout {
    Config::from_toml(&format!(
        "fps = 1\n[[strips]]\nid=\"s\"\n{}\n[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels={pixels}\n",
        strip.replace("; ", "\n")
    ))
    .unwrap()
    .layout
}

fn pi4() -> System {
    System {
        model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
        revision: Some(0xc03114),
        aarch64: true,
        is_root: true,
        dev_mem: true,
        spidev_bufsiz: Some(4096),
        audio_loaded: false,
        pio_overlays: Vec::new(),
        devices: vec![
            ("/dev/spidev0.0".into(), Access::Writable),
            ("/dev/spidev1.0".into(), Access::Writable),
        ],
    }
}

fn pi5() -> System {
    System {
        model: Some("Raspberry Pi 5 Model B Rev 1.0".into()),
        revision: Some(0xd04170),
        is_root: false,
        dev_mem: false,
        pio_overlays: vec![Overlay {
            gpio: 18,
            num_leds: 30,
            rgbw: false,
            brightness: 255,
        }],
        devices: vec![
            ("/dev/spidev0.0".into(), Access::Writable),
            ("/dev/leds0".into(), Access::Writable),
        ],
        ..pi4()
    }
}

const WS: &str = "driver=\"ws281x\"";
const PIO: &str = "driver=\"pio\"; gpio=18; device=\"/dev/leds0\"";

#[test]
fn well_set_up_pis_pass() {
    assert!(check(&layout(WS, 30), &pi4()).is_empty());
    assert!(check(&layout("driver=\"spi\"", 300), &pi4()).is_empty());
    assert!(check(&layout("driver=\"spi\"", 300), &pi5()).is_empty());
    assert!(check(&layout(PIO, 30), &pi5()).is_empty());
    assert!(check(&layout("driver=\"sim\"", 3), &System::default()).is_empty());
    // RGBW: a PWM strip through rpi_ws281x, and a PIO strip whose overlay says `rgbw`.
    let grbw = "led_type=\"sk6812\"; color_order=\"GRBW\"";
    assert!(check(&layout(&format!("{WS}; {grbw}"), 30), &pi4()).is_empty());
    let rgbw_overlay = System {
        pio_overlays: vec![Overlay {
            rgbw: true,
            ..pi5().pio_overlays[0].clone()
        }],
        ..pi5()
    };
    assert!(check(&layout(&format!("{PIO}; {grbw}"), 30), &rgbw_overlay).is_empty());
    // SPI through rpi_ws281x needs no root.
    let user = System {
        is_root: false,
        ..pi4()
    };
    assert!(check(&layout("driver=\"ws281x\"; gpio=10", 30), &user).is_empty());
}

#[test]
fn each_problem_says_how_to_fix_it() {
    let cases: Vec<(&str, &str, usize, System, &str)> = vec![
        (
            "PWM without root",
            WS,
            30,
            System {
                is_root: false,
                ..pi4()
            },
            "diuna --systemd-drop-in",
        ),
        (
            "audio holds PWM: the blacklist file and its line",
            WS,
            30,
            System {
                audio_loaded: true,
                ..pi4()
            },
            "create /etc/modprobe.d/snd-blacklist.conf containing the line `blacklist snd_bcm2835`",
        ),
        (
            "no /dev/mem",
            "driver=\"ws281x\"; gpio=21",
            30,
            System {
                dev_mem: false,
                ..pi4()
            },
            "/dev/mem does not exist",
        ),
        (
            "not a Pi",
            WS,
            30,
            System {
                model: None,
                ..pi4()
            },
            "not look like a Raspberry Pi",
        ),
        (
            "ws281x on a Pi 5",
            WS,
            30,
            pi5(),
            "use driver = \"spi\" (GPIO 10, dtparam=spi=on) or driver = \"pio\"",
        ),
        (
            "ws281x on a CM5",
            WS,
            30,
            System {
                model: Some("Raspberry Pi Compute Module 5 Rev 1.0".into()),
                revision: None,
                ..pi4()
            },
            "RP1",
        ),
        (
            "64-bit Pi OS on a Pi 3 rpi_ws281x does not list",
            WS,
            30,
            System {
                model: Some("Raspberry Pi 3 Model B Rev 1.2".into()),
                revision: Some(0xa52082),
                ..pi4()
            },
            "or install 32-bit (armhf) Pi OS",
        ),
        (
            "a Pi 3 A+ 1.1, unknown on 32-bit too",
            WS,
            30,
            System {
                model: Some("Raspberry Pi 3 Model A Plus Rev 1.1".into()),
                revision: Some(0x9020e1),
                aarch64: false,
                ..pi4()
            },
            "\"Hardware not supported\": use driver = \"spi\"",
        ),
        (
            "rpi_ws281x SPI longer than bufsiz (12 bytes per LED: 340 LEDs > 4096)",
            "driver=\"ws281x\"; gpio=10",
            340,
            pi4(),
            "needs 4104-byte SPI transfers (rpi_ws281x sends 12 bytes per LED) but spidev.bufsiz is 4096",
        ),
        (
            "SPI disabled",
            "driver=\"spi\"",
            30,
            System {
                devices: vec![],
                ..pi4()
            },
            "add dtparam=spi=on to /boot/firmware/config.txt",
        ),
        (
            "SPI1 overlay missing",
            "driver=\"spi\"; gpio=20",
            30,
            System {
                devices: vec![],
                ..pi5()
            },
            "add dtoverlay=spi1-1cs",
        ),
        (
            "spidev not writable",
            "driver=\"spi\"",
            30,
            System {
                devices: vec![("/dev/spidev0.0".into(), Access::Denied)],
                ..pi4()
            },
            "sudo usermod -aG spi diuna",
        ),
        (
            "spi longer than bufsiz",
            "driver=\"spi\"",
            400,
            pi4(),
            "` spidev.bufsiz=65536` to the single line in /boot/firmware/cmdline.txt",
        ),
        (
            "SPI1 on a Pi 4 is the aux SPI",
            "driver=\"spi\"; gpio=20",
            30,
            pi4(),
            "move the data line to GPIO 10",
        ),
        ("pio on a Pi 4", PIO, 30, pi4(), "needs a Raspberry Pi 5"),
        (
            "pio overlay missing",
            "driver=\"pio\"; gpio=12; device=\"/dev/leds0\"",
            30,
            pi5(),
            "add `dtoverlay=ws2812-pio,gpio=12,num_leds=30`",
        ),
        (
            "pio overlay with another LED count",
            PIO,
            60,
            pi5(),
            "set up for 30 RGB LEDs but the strip has 60 RGB: change its line in /boot/firmware/config.txt to `dtoverlay=ws2812-pio,gpio=18,num_leds=60`",
        ),
        (
            "RGBW pio strip on an RGB overlay (the W byte would never be sent)",
            "driver=\"pio\"; gpio=18; device=\"/dev/leds0\"; led_type=\"sk6812\"; color_order=\"GRBW\"",
            30,
            pi5(),
            "set up for 30 RGB LEDs but the strip has 30 RGBW: change its line in /boot/firmware/config.txt to `dtoverlay=ws2812-pio,gpio=18,num_leds=30,rgbw`",
        ),
        (
            "RGBW spi longer than bufsiz (16 bytes per LED: 300 LEDs > 4096)",
            "driver=\"spi\"; led_type=\"sk6812\"; color_order=\"GRBW\"",
            300,
            pi4(),
            "needs 4833-byte SPI transfers (the spi driver sends 16 bytes per RGBW LED plus the reset)",
        ),
        (
            "pio node missing",
            PIO,
            30,
            System {
                devices: vec![],
                ..pi5()
            },
            "journalctl -k | grep ws2812",
        ),
        (
            "pio node root-only",
            PIO,
            30,
            System {
                devices: vec![("/dev/leds0".into(), Access::Denied)],
                ..pi5()
            },
            "99-diuna-leds.rules",
        ),
    ];
    for (what, strip, pixels, sys, needle) in cases {
        let p = check(&layout(strip, pixels), &sys);
        assert!(
            p.iter().any(|m| m.contains(needle)),
            "{what}: no message contains {needle:?}: {p:?}"
        );
    }
}

#[test]
fn spi_fits_the_default_bufsiz_up_to_331_leds() {
    // 12 bytes per LED + 116 bytes of 280 µs reset at 3.3 MHz.
    assert!(check(&layout("driver=\"spi\"", 331), &pi4()).is_empty());
    assert_eq!(check(&layout("driver=\"spi\"", 332), &pi4()).len(), 1);
    let big = System {
        spidev_bufsiz: Some(65536),
        ..pi4()
    };
    assert!(check(&layout("driver=\"spi\"", 4000), &big).is_empty());
}

#[test]
fn device_nodes_and_revision_parsing() {
    let l = layout("driver=\"spi\"; gpio=20", 3);
    assert_eq!(device_nodes(&l), [PathBuf::from("/dev/spidev1.0")]);
    assert_eq!(
        device_nodes(&layout("driver=\"ws281x\"; gpio=10", 3)),
        [PathBuf::from("/dev/spidev0.0")]
    );
    assert!(device_nodes(&layout(WS, 3)).is_empty());
    let cpuinfo = "processor\t: 0\nHardware\t: BCM2835\nRevision\t: a02082\nSerial\t\t: 0000\n";
    assert_eq!(parse_cpuinfo_revision(cpuinfo), Some(0xa02082));
    assert_eq!(parse_cpuinfo_revision("model name: x\n"), None);
}
