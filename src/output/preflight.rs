//! Start-up checks before the WS281x driver opens the hardware, so a misconfigured Pi fails with a
//! message that says how to fix it instead of a bare "mmap error".
//!
//! The checks read facts about the machine into [`System`] and judge them in a pure function, which is
//! what the tests exercise; only [`System::probe`] touches the file system.

use std::path::Path;

use crate::layout::{Driver, Layout};

/// What the checks need to know about the machine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct System {
    /// `/proc/device-tree/model`, e.g. "Raspberry Pi 4 Model B Rev 1.4".
    pub model: Option<String>,
    pub is_root: bool,
    pub dev_mem: bool,
    pub spidev: bool,
    /// The on-board audio driver is loaded (it owns the PWM peripheral).
    pub audio_loaded: bool,
}

impl System {
    /// Reads the facts from this machine.
    pub fn probe() -> System {
        let model = std::fs::read_to_string("/proc/device-tree/model")
            .ok()
            .map(|m| m.trim_end_matches('\0').trim().to_string());
        let modules = std::fs::read_to_string("/proc/modules").unwrap_or_default();
        System {
            model,
            // SAFETY: geteuid has no preconditions and cannot fail.
            is_root: unsafe { libc::geteuid() } == 0,
            dev_mem: Path::new("/dev/mem").exists(),
            spidev: Path::new("/dev/spidev0.0").exists(),
            audio_loaded: modules.lines().any(|l| l.starts_with("snd_bcm2835 ")),
        }
    }
}

/// Every problem that would stop the `ws281x` strips from working, with its fix.
pub fn check(layout: &Layout, sys: &System) -> Vec<String> {
    let hw: Vec<_> = layout
        .strips
        .iter()
        .filter(|s| s.driver == Driver::Ws281x)
        .collect();
    let mut problems = Vec::new();
    if hw.is_empty() {
        return problems;
    }
    match sys.model.as_deref() {
        None => problems.push(
            "this does not look like a Raspberry Pi (no /proc/device-tree/model); \
             use driver = \"sim\" on other machines"
                .into(),
        ),
        Some(m) if !m.contains("Raspberry Pi") => {
            problems.push(format!("\"{m}\" is not a Raspberry Pi; use driver = \"sim\" on other machines"))
        }
        Some(m) if m.contains("Raspberry Pi 5") => problems.push(
            "the Raspberry Pi 5 is not supported by the rpi_ws281x driver (its RP1 chip has no compatible PWM/DMA)"
                .into(),
        ),
        Some(_) => {}
    }
    for s in &hw {
        let needs_mem = matches!(s.gpio, 12 | 13 | 18 | 19 | 21);
        if needs_mem && !sys.is_root {
            problems.push(format!(
                "strip \"{}\" on GPIO {} (PWM/PCM) needs root for /dev/mem: run as root \
                 (the systemd unit does), or move the strip to GPIO 10 (SPI), which does not",
                s.id, s.gpio
            ));
        }
        if needs_mem && !sys.dev_mem {
            problems.push(format!("strip \"{}\": /dev/mem does not exist", s.id));
        }
        if s.gpio == 10 && !sys.spidev {
            problems.push(format!(
                "strip \"{}\" on GPIO 10 needs SPI: add dtparam=spi=on to /boot/firmware/config.txt and reboot",
                s.id
            ));
        }
        if matches!(s.gpio, 12 | 13 | 18 | 19) && sys.audio_loaded {
            problems.push(format!(
                "strip \"{}\" on GPIO {} uses PWM, which the on-board audio driver (snd_bcm2835) holds: \
                 set dtparam=audio=off in /boot/firmware/config.txt and reboot",
                s.id, s.gpio
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn layout(gpio: u8, driver: &str) -> Layout {
        Config::from_toml(&format!(
            "[[strips]]\nid=\"s\"\ndriver=\"{driver}\"\ngpio={gpio}\n[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels=3\n"
        ))
        .unwrap()
        .layout
    }

    fn pi() -> System {
        System {
            model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
            is_root: true,
            dev_mem: true,
            spidev: true,
            audio_loaded: false,
        }
    }

    #[test]
    fn a_well_set_up_pi_passes() {
        assert!(check(&layout(18, "ws281x"), &pi()).is_empty());
        assert!(
            check(&layout(18, "sim"), &System::default()).is_empty(),
            "sim needs nothing"
        );
    }

    #[test]
    fn each_problem_says_how_to_fix_it() {
        let cases: [(u8, System, &str); 6] = [
            (
                18,
                System {
                    is_root: false,
                    ..pi()
                },
                "needs root",
            ),
            (
                18,
                System {
                    audio_loaded: true,
                    ..pi()
                },
                "dtparam=audio=off",
            ),
            (
                10,
                System {
                    spidev: false,
                    ..pi()
                },
                "dtparam=spi=on",
            ),
            (
                18,
                System {
                    model: None,
                    ..pi()
                },
                "not look like a Raspberry Pi",
            ),
            (
                18,
                System {
                    model: Some("Raspberry Pi 5 Model B".into()),
                    ..pi()
                },
                "Pi 5 is not supported",
            ),
            (
                21,
                System {
                    dev_mem: false,
                    ..pi()
                },
                "/dev/mem",
            ),
        ];
        for (gpio, sys, needle) in cases {
            let p = check(&layout(gpio, "ws281x"), &sys);
            assert!(p.iter().any(|m| m.contains(needle)), "{needle}: {p:?}");
        }
        // SPI does not need root.
        assert!(
            check(
                &layout(10, "ws281x"),
                &System {
                    is_root: false,
                    ..pi()
                }
            )
            .is_empty()
        );
    }
}
