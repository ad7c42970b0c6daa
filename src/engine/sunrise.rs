//! The wake-up light: a sunrise from off to a target brightness and colour temperature over N minutes.
//!
//! The curve, at progress u = elapsed / duration (0–1):
//! - colour temperature K(u) = 1800 K + (target − 1800 K) · u^1.5 — deep orange at first, staying warm
//!   for most of the ramp and cooling towards the target at the end (as daylight does);
//! - level L(u) = u × target brightness, linear before gamma, so on the wire (gamma 2.2) the light grows
//!   like u^2.2: a barely visible glow for the first minutes, then faster.
//!
//! It is pure and smooth: [`color_at`] returns unrounded channels, which the compositor carries with
//! sub-LSB precision to the output pipeline, so a half-hour sunrise never steps by more than one
//! output level per frame. Its end state is what the zone then holds (on, target brightness, colour
//! temperature target), so the ramp simply ends on the zone's own static colour.

use std::time::Duration;

use crate::color::kelvin_to_rgb_f32;

/// Colour temperature a sunrise starts at.
pub const START_KELVIN: f32 = 1800.0;

/// A sunrise request.
#[derive(Clone, Debug, PartialEq)]
pub struct Sunrise {
    /// Zones to wake (all when `None`).
    pub zones: Option<Vec<usize>>,
    pub duration: Duration,
    /// Final brightness 1–255.
    pub brightness: u8,
    /// Final colour temperature.
    pub kelvin: u32,
}

/// Colour temperature and level (0–1 of the target brightness) at progress `u`.
pub fn curve(u: f32, target_kelvin: u32) -> (f32, f32) {
    let u = if u.is_finite() {
        u.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let target = target_kelvin as f32;
    (
        START_KELVIN + (target - START_KELVIN) * libm::powf(u, 1.5),
        u,
    )
}

/// Pre-gamma channels (0.0–255.0) at progress `u` for a sunrise to `brightness` and `kelvin`.
pub fn color_at(u: f32, kelvin: u32, brightness: u8) -> [f32; 3] {
    let (k, level) = curve(u, kelvin);
    let scale = level * brightness as f32 / 255.0;
    kelvin_to_rgb_f32(k).map(|c| c * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_dark_and_warm_ends_at_the_target() {
        assert_eq!(color_at(0.0, 4000, 255), [0.0, 0.0, 0.0]);
        let end = color_at(1.0, 4000, 200);
        let target = kelvin_to_rgb_f32(4000.0).map(|c| c * 200.0 / 255.0);
        for (a, b) in end.iter().zip(target) {
            assert!((a - b).abs() < 1e-3, "{end:?} vs {target:?}");
        }
        // Warm to cool: blue relative to red only grows.
        let mut last = -1.0;
        for k in 1..=100 {
            let [r, _, b] = color_at(k as f32 / 100.0, 5000, 255);
            let ratio = b / r;
            assert!(ratio >= last, "at {k}%");
            last = ratio;
        }
        let (k, _) = curve(0.5, 5000);
        assert!(k < 1800.0 + 0.5 * 3200.0, "still warm half way: {k} K");
        assert_eq!(curve(f32::NAN, 5000), (START_KELVIN, 0.0));
    }

    #[test]
    fn never_moves_more_than_one_level_per_frame_over_30_minutes() {
        // 30 min at 60 FPS: consecutive frames differ by far less than one 8-bit level before gamma.
        let frames = 30 * 60 * 60;
        let mut prev = color_at(0.0, 6500, 255);
        for f in 1..=frames {
            let c = color_at(f as f32 / frames as f32, 6500, 255);
            for (a, b) in c.iter().zip(prev) {
                assert!((a - b).abs() < 0.05, "frame {f}: {c:?} after {prev:?}");
            }
            prev = c;
        }
    }
}
