//! The master light (`B/all/set`, "All zones"): how one command fans out to the zones.
//!
//! The master's brightness is a multiplier over every zone (zone output = zone × master). Everything
//! else goes to the zones: colour, effect and palette to every zone that is on, so Home Assistant's
//! "set the colour of all lights" does not light zones the user left off. `OFF` turns every zone off
//! and remembers which were on; an `ON` (or any colour, effect or brightness) while every zone is off
//! brings those back (every zone when nothing is remembered). The master reports the colour and
//! effect of its last command, so its state is truthful about what it did even when zones differ.
//! An `rgbw` or `white` colour stays one only if some strip lights a white LED ([`for_device`]).

use super::zone::{EffectChoice, LightCommand, MasterState, ZoneState};

/// The command as the master takes it: with no white LED on any strip the master offers no `rgbw` or
/// `white` mode (`mqtt/discovery.rs`), so such a colour becomes its RGB equivalent, as on an RGB zone.
/// With one, zones without a white LED convert their share themselves (the render loop's `apply_zone`).
pub fn for_device(cmd: &LightCommand, any_white: bool) -> LightCommand {
    if any_white { *cmd } else { cmd.without_white() }
}

/// Turns one master command into per-zone commands; updates `master` and the remembered on-set.
/// Returns `(zone, command)` pairs; zones not listed are left alone.
pub fn fan_out(
    cmd: &LightCommand,
    master: &mut MasterState,
    zones: &[ZoneState],
    saved_on: &mut Option<Vec<bool>>,
) -> Vec<(usize, LightCommand)> {
    if let Some(b) = cmd.brightness {
        master.brightness = b.max(1);
    }
    if let Some(c) = cmd.color {
        let (rgb, mode) = c.resolve();
        master.color = Some((rgb, mode));
    }
    if let Some(e) = cmd.effect {
        master.effect = Some(match e {
            EffectChoice::Static => None,
            EffectChoice::Effect(e) => Some(e),
        });
    }
    let any_on = zones.iter().any(|z| z.on);
    let per_zone = LightCommand {
        brightness: None,
        ..*cmd
    };
    if cmd.on == Some(false) {
        if any_on {
            *saved_on = Some(zones.iter().map(|z| z.on).collect());
        }
        return on_zones(zones)
            .map(|z| {
                let c = LightCommand {
                    color: None,
                    effect: None,
                    palette: None,
                    ..per_zone
                };
                (z, c)
            })
            .collect();
    }
    if any_on {
        // Adjust the zones that are on; an explicit ON does not light the others.
        let c = LightCommand {
            on: None,
            ..per_zone
        };
        return on_zones(zones).map(|z| (z, c)).collect();
    }
    let wakes = cmd.on == Some(true)
        || cmd.brightness.is_some()
        || cmd.color.is_some()
        || cmd.effect.is_some();
    if !wakes {
        // Only a flash (or nothing) while all are off: blink every zone, change nothing.
        return (0..zones.len())
            .filter(|_| cmd.flash.is_some())
            .map(|z| {
                let flash = LightCommand {
                    flash: cmd.flash,
                    ..Default::default()
                };
                (z, flash)
            })
            .collect();
    }
    let saved = saved_on.take();
    let c = LightCommand {
        on: Some(true),
        ..per_zone
    };
    (0..zones.len())
        .filter(|&z| {
            saved
                .as_ref()
                .and_then(|s| s.get(z).copied())
                .unwrap_or(true)
        })
        .map(|z| (z, c))
        .collect()
}

fn on_zones(zones: &[ZoneState]) -> impl Iterator<Item = usize> + '_ {
    zones
        .iter()
        .enumerate()
        .filter(|(_, z)| z.on)
        .map(|(i, _)| i)
}

/// The master's reported colour and effect before any master command: those of the first zone that is
/// on (or the first zone).
pub fn init_from_zones(master: &mut MasterState, zones: &[ZoneState]) {
    if let Some(z) = zones.iter().find(|z| z.on).or(zones.first()) {
        master.color.get_or_insert((z.color, z.color_mode));
        master.effect.get_or_insert(z.effect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::color::Rgb;
    use crate::engine::{ColorMode, ColorSet};

    fn zones() -> Vec<ZoneState> {
        vec![
            ZoneState::new(Rgb::new(255, 0, 0), 100, true, None),
            ZoneState::new(Rgb::new(0, 0, 255), 50, false, None),
            ZoneState::new(Rgb::new(0, 255, 0), 70, true, Some(3)),
        ]
    }

    fn cmd(f: impl FnOnce(&mut LightCommand)) -> LightCommand {
        let mut c = LightCommand::default();
        f(&mut c);
        c
    }

    #[test]
    fn colour_and_effect_go_to_zones_that_are_on() {
        let zs = zones();
        let mut m = MasterState::default();
        let mut saved = None;
        let c = cmd(|c| {
            c.on = Some(true);
            c.color = Some(ColorSet::Hs { h: 30.0, s: 100.0 });
            c.brightness = Some(80);
        });
        let out = fan_out(&c, &mut m, &zs, &mut saved);
        assert_eq!(out.iter().map(|(z, _)| *z).collect::<Vec<_>>(), [0, 2]);
        for (_, zc) in &out {
            assert_eq!(zc.brightness, None, "brightness stays a multiplier");
            assert_eq!(zc.on, None, "ON does not light the zones that are off");
            assert_eq!(zc.color, c.color);
        }
        assert_eq!(m.brightness, 80);
        assert_eq!(
            m.color.map(|c| c.1),
            Some(ColorMode::Hs { h: 30.0, s: 100.0 })
        );
    }

    #[test]
    fn off_then_on_brings_back_the_zones_that_were_on() {
        let mut zs = zones();
        let mut m = MasterState::default();
        let mut saved = None;
        let off = cmd(|c| c.on = Some(false));
        let out = fan_out(&off, &mut m, &zs, &mut saved);
        assert_eq!(out.iter().map(|(z, _)| *z).collect::<Vec<_>>(), [0, 2]);
        for z in &mut zs {
            z.on = false;
        }
        let on = cmd(|c| c.on = Some(true));
        let out = fan_out(&on, &mut m, &zs, &mut saved);
        assert_eq!(out.iter().map(|(z, _)| *z).collect::<Vec<_>>(), [0, 2]);
        assert!(out.iter().all(|(_, c)| c.on == Some(true)));
        // Nothing remembered: every zone.
        let out = fan_out(&on, &mut m, &zs, &mut saved);
        assert_eq!(out.len(), 3);
        // A flash alone while all are off changes nothing but blinks.
        let flash = cmd(|c| c.flash = Some(2.0));
        let out = fan_out(&flash, &mut m, &zs, &mut saved);
        assert!(
            out.iter()
                .all(|(_, c)| c.on.is_none() && c.flash == Some(2.0))
        );
    }

    #[test]
    fn white_colours_stay_white_only_where_a_white_led_exists() {
        let zs = zones();
        let rgbw = cmd(|c| c.color = Some(ColorSet::Rgbw(Rgb::new(1, 2, 3), 40)));
        let mut m = MasterState::default();
        fan_out(&for_device(&rgbw, true), &mut m, &zs, &mut None);
        assert_eq!(
            m.color,
            Some((Rgb::new(1, 2, 3), ColorMode::Rgbw { w: 40 }))
        );
        let out = fan_out(&for_device(&rgbw, false), &mut m, &zs, &mut None);
        assert_eq!(m.color, Some((Rgb::new(1, 2, 3), ColorMode::Rgb)));
        assert!(
            out.iter()
                .all(|(_, c)| c.color == Some(ColorSet::Rgb(Rgb::new(1, 2, 3))))
        );
        let white = cmd(|c| c.color = Some(ColorSet::White));
        fan_out(&for_device(&white, false), &mut m, &zs, &mut None);
        assert_eq!(m.color, Some((Rgb::WHITE, ColorMode::Rgb)));
    }

    #[test]
    fn reports_first_zone_until_commanded() {
        let zs = zones();
        let mut m = MasterState::default();
        init_from_zones(&mut m, &zs);
        assert_eq!(m.color, Some((Rgb::new(255, 0, 0), ColorMode::Rgb)));
        assert_eq!(m.effect, Some(None));
    }
}
