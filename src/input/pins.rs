//! What can go wrong claiming a GPIO input pin, said with the pin, its config key and the fix; and the
//! kernel's edge timestamps turned into `Instant`s.
//!
//! Pure, so it is tested without a Pi: `gpio.rs` (feature `hardware`) finds the trouble and the time,
//! this module words and converts them. A pin switched to a peripheral (SPI, I2C, UART, PWM) must be
//! refused before it is claimed: claiming it would silently switch it to an input and break that
//! interface (the Pi's pin controller does not refuse).

use std::time::{Duration, Instant};

/// Why a pin cannot be used as an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinTrouble {
    /// Switched to a peripheral function (`ALTn`) by an interface enabled in `config.txt`.
    Peripheral { alt: u8 },
    /// Requested by a kernel driver (`EBUSY`): an overlay, SPI chip selects, 1-wire, …
    Busy,
    /// The board has no such GPIO.
    Missing,
    /// Claimed twice by this process.
    Twice,
    /// Anything else, as the GPIO library said it.
    Other(String),
}

/// One pin that cannot be used, with the config key that asked for it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: GPIO {pin} {}", self.explain())]
pub struct PinProblem {
    pub key: String,
    pub pin: u8,
    pub trouble: PinTrouble,
}

impl PinProblem {
    fn explain(&self) -> String {
        let owner = usual_owner(self.pin)
            .map(|o| format!(", probably {o}"))
            .unwrap_or_default();
        match &self.trouble {
            PinTrouble::Peripheral { alt } => format!(
                "is switched to a peripheral function (ALT{alt}){owner}: choose a free pin, or turn \
                 that interface off in /boot/firmware/config.txt and reboot"
            ),
            PinTrouble::Busy => format!(
                "is held by a kernel driver{owner}: choose a free pin, or remove the overlay that \
                 claims it from /boot/firmware/config.txt (`gpioinfo` names the holder)"
            ),
            PinTrouble::Missing => "does not exist on this board".into(),
            PinTrouble::Twice => "is claimed twice".into(),
            PinTrouble::Other(e) => format!("cannot be claimed: {e}"),
        }
    }
}

/// The interface that usually owns `pin` on the 40-pin header, with the `config.txt` line enabling it.
pub fn usual_owner(pin: u8) -> Option<&'static str> {
    Some(match pin {
        0 | 1 => "the HAT EEPROM bus I2C0",
        2 | 3 => "I2C1 (dtparam=i2c_arm=on)",
        4 => "1-wire (dtoverlay=w1-gpio)",
        7..=11 => "SPI0 (dtparam=spi=on; GPIO 7 and 8 are its chip selects)",
        14 | 15 => "the serial port (enable_uart=1, or the serial console)",
        12 | 13 => "PWM (audio or dtoverlay=pwm-2chan)",
        18 | 19 => "PWM or PCM/I2S audio (an LED strip, a sound HAT), or SPI1",
        16 | 17 | 20 | 21 => "SPI1 (dtoverlay=spi1-…) or PCM/I2S audio",
        _ => return None,
    })
}

/// The `Instant` of a kernel timestamp `event` on `CLOCK_MONOTONIC` (GPIO character device events),
/// given that clock's reading `mono_now` taken at `now`. Rust's `Instant` is the same clock on Linux,
/// but cannot be built from a raw reading, hence the offset. A timestamp from the future is `now`.
pub fn kernel_instant(event: Duration, mono_now: Duration, now: Instant) -> Instant {
    now.checked_sub(mono_now.saturating_sub(event))
        .unwrap_or(now)
}

/// `CLOCK_MONOTONIC` now, as the kernel stamps GPIO events.
pub fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(pin: u8, trouble: PinTrouble) -> String {
        PinProblem {
            key: "input.selector.a".into(),
            pin,
            trouble,
        }
        .to_string()
    }

    #[test]
    fn each_trouble_names_the_key_the_pin_and_the_fix() {
        let spi = problem(10, PinTrouble::Peripheral { alt: 0 });
        assert!(
            spi.starts_with(
                "input.selector.a: GPIO 10 is switched to a peripheral function (ALT0)"
            )
        );
        assert!(spi.contains("SPI0") && spi.contains("config.txt"), "{spi}");
        let i2c = problem(3, PinTrouble::Peripheral { alt: 0 });
        assert!(i2c.contains("dtparam=i2c_arm=on"), "{i2c}");
        let uart = problem(14, PinTrouble::Peripheral { alt: 5 });
        assert!(uart.contains("serial") && uart.contains("ALT5"), "{uart}");
        let cs = problem(8, PinTrouble::Busy);
        assert!(
            cs.contains("kernel driver") && cs.contains("chip selects") && cs.contains("gpioinfo"),
            "{cs}"
        );
        assert_eq!(
            problem(5, PinTrouble::Busy).matches("probably").count(),
            0,
            "no guess for a free pin"
        );
        assert!(problem(40, PinTrouble::Missing).contains("does not exist"));
        assert!(problem(5, PinTrouble::Twice).contains("twice"));
    }

    #[test]
    fn kernel_timestamps_become_instants() {
        let now = Instant::now();
        let mono = Duration::from_secs(1000);
        let at = kernel_instant(Duration::from_millis(999_997), mono, now);
        assert_eq!(now - at, Duration::from_millis(3));
        assert_eq!(
            kernel_instant(mono + Duration::from_secs(1), mono, now),
            now,
            "future → now"
        );
        let real = monotonic_now();
        assert!(real > Duration::ZERO && monotonic_now() >= real);
    }
}
