//! The systemd drop-in a configuration needs: exactly the device nodes its drivers and inputs open, and
//! root only when a ws281x strip on PWM/PCM needs `/dev/mem`. `diuna --systemd-drop-in` prints it;
//! `deploy/install.sh` and the Debian package write it to
//! `/etc/systemd/system/diuna.service.d/10-devices.conf` (see deploy/RASPBERRY-PI.md).
//!
//! The base unit (`deploy/diuna.service`) runs as the unprivileged user `diuna` in the groups `spi`,
//! `gpio` and `input`; the drop-in first clears its `DeviceAllow=` list, then allows what this config
//! uses. Nodes that do not exist on this model (say `/dev/gpiomem0` on a Pi 4) only log a warning.

use std::fmt::Write as _;

use crate::config::Config;
use crate::input::{EncoderSource, KeyboardSource};
use crate::layout::Driver;
use crate::output::preflight::device_nodes;

/// What the service needs from the system for one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// `/dev/mem` (rpi_ws281x on PWM or PCM): the service must run as root.
    pub root: bool,
    /// `DeviceAllow=` entries: a path or a `char-…` class, and `r` or `rw`.
    pub devices: Vec<(String, &'static str)>,
}

impl Needs {
    pub fn of(config: &Config) -> Needs {
        let mut n = Needs::default();
        let mut allow = |d: &str, mode| {
            if !n.devices.iter().any(|(x, _)| x == d) {
                n.devices.push((d.to_string(), mode));
            }
        };
        for node in device_nodes(&config.layout) {
            allow(&node.display().to_string(), "rw");
        }
        let mut root = false;
        let mut gpio = !config.input.pins().is_empty();
        for s in &config.layout.strips {
            if s.driver == Driver::Ws281x {
                // rpi_ws281x maps /dev/gpiomem to switch GPIO 10 to SPI; PWM/PCM map /dev/mem and
                // ask the firmware for DMA memory through /dev/vcio.
                gpio |= s.gpio == 10;
                root |= s.gpio != 10;
            }
        }
        if root {
            allow("/dev/mem", "rw");
            allow("/dev/vcio", "rw");
        }
        if gpio {
            // rppal: /dev/gpiomem (Pi 0-4) or /dev/gpiomem0 (Pi 5), and the gpiochip for interrupts.
            allow("/dev/gpiomem", "rw");
            allow("/dev/gpiomem0", "rw");
            allow("char-gpiochip", "rw");
        }
        if let KeyboardSource::Evdev(path) = &config.input.keyboard {
            allow(&path.display().to_string(), "r");
        }
        // An encoder decoded by the kernel's rotary-encoder overlay is an input device.
        for enc in [&config.input.selector, &config.input.modulator]
            .into_iter()
            .flatten()
        {
            if let EncoderSource::Evdev(path) = &enc.source {
                allow(&path.display().to_string(), "r");
            }
        }
        n.root = root;
        n
    }

    /// The drop-in's text.
    pub fn drop_in(&self) -> String {
        let mut t = String::from(
            "# Written by `diuna --systemd-drop-in` for this configuration; run it again after\n\
             # changing drivers or inputs:\n\
             #   diuna --systemd-drop-in --config /etc/diuna/diuna.toml \\\n\
             #     | sudo tee /etc/systemd/system/diuna.service.d/10-devices.conf\n\
             #   sudo systemctl daemon-reload && sudo systemctl restart diuna\n\
             [Service]\n",
        );
        if self.root {
            t.push_str(
                "# A ws281x strip on PWM/PCM: rpi_ws281x maps /dev/mem, which only root can.\n\
                 User=root\nGroup=root\nSupplementaryGroups=\n",
            );
        }
        t.push_str(
            "# Only these devices (the empty line clears the base unit's list).\nDeviceAllow=\n",
        );
        for (d, mode) in &self.devices {
            let _ = writeln!(t, "DeviceAllow={d} {mode}");
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(text: &str) -> Needs {
        Needs::of(&Config::from_toml(text).expect("valid"))
    }

    const ZONE: &str = "[[zones]]\nid=\"z\"\nstrip=\"s\"\npixels=3\n";

    #[test]
    fn each_driver_gets_exactly_its_devices() {
        let spi = needs(&format!("[[strips]]\nid=\"s\"\ndriver=\"spi\"\n{ZONE}"));
        assert_eq!(
            (spi.root, spi.devices.clone()),
            (false, vec![("/dev/spidev0.0".into(), "rw")])
        );
        let pio = needs(&format!(
            "[[strips]]\nid=\"s\"\ndriver=\"pio\"\ngpio=4\ndevice=\"/dev/leds1\"\n{ZONE}"
        ));
        assert_eq!(pio.devices, [("/dev/leds1".into(), "rw")]);
        let pwm = needs(&format!("[[strips]]\nid=\"s\"\ndriver=\"ws281x\"\n{ZONE}"));
        assert!(pwm.root);
        assert_eq!(
            pwm.devices,
            [("/dev/mem".into(), "rw"), ("/dev/vcio".into(), "rw")]
        );
        assert!(pwm.drop_in().contains("User=root\n"));
        let ws_spi = needs(&format!(
            "[[strips]]\nid=\"s\"\ndriver=\"ws281x\"\ngpio=10\n{ZONE}"
        ));
        assert!(!ws_spi.root);
        assert!(ws_spi.devices.iter().any(|d| d.0 == "/dev/spidev0.0"));
        assert!(ws_spi.devices.iter().any(|d| d.0 == "/dev/gpiomem"));
        let sim = needs(&format!("[[strips]]\nid=\"s\"\n{ZONE}"));
        assert_eq!(sim, Needs::default());
        let text = sim.drop_in();
        assert!(
            !text.contains("User=root") && text.ends_with("DeviceAllow=\n"),
            "{text}"
        );
    }

    #[test]
    fn inputs_add_the_gpio_and_keyboard_nodes() {
        let n = needs(&format!(
            "[input]\nbuttons=[17]\nkeyboard=\"/dev/input/event3\"\nselector = {{ device = \"/dev/input/event5\" }}\n[[strips]]\nid=\"s\"\ndriver=\"spi\"\n{ZONE}"
        ));
        let text = n.drop_in();
        for line in [
            "DeviceAllow=/dev/spidev0.0 rw",
            "DeviceAllow=/dev/gpiomem0 rw",
            "DeviceAllow=char-gpiochip rw",
            "DeviceAllow=/dev/input/event3 r",
            "DeviceAllow=/dev/input/event5 r",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!n.root);
    }
}
