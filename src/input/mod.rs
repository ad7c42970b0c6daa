//! The local control surface's inputs: rotary encoders and buttons (GPIO, or the kernel's
//! rotary-encoder device), keyboards (terminal, evdev) and a simulated source for tests and scripts,
//! all turned into typed [`InputEvent`]s for the render loop, which owns the behaviour
//! (`engine/control.rs`).
//!
//! Raw edges from GPIO or the simulator go through the same [`edges::EdgeSorter`] (kernel timestamp
//! order), [`encoder::Quadrature`] decoder and [`button::Button`] debouncer in the [`hub`], so the
//! simulator exercises exactly the code the knob on the wall does.

pub mod button;
pub mod edges;
pub mod encoder;
pub mod evdev_reader;
#[cfg(feature = "hardware")]
pub mod gpio;
pub mod hub;
pub mod keyboard;
pub mod legend;
pub mod pins;
pub mod rotary;
pub mod sim;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::engine::{Button, ButtonAction, InputEvent};

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Input(InputEvent),
    Quit,
}

/// Parses an action name from the config's key map.
pub fn parse_action(name: &str) -> Option<Action> {
    use ButtonAction::Press;
    Some(Action::Input(match name {
        "selector_cw" => InputEvent::Selector(1),
        "selector_ccw" => InputEvent::Selector(-1),
        "selector_click" => InputEvent::SelectorClick,
        "modulator_cw" => InputEvent::Modulator(1),
        "modulator_ccw" => InputEvent::Modulator(-1),
        "modulator_click" => InputEvent::ModulatorClick,
        "edit_mode" | "btn1" => InputEvent::Button(Button::Edit, Press),
        "lamp" | "btn2" => InputEvent::Button(Button::Lamp, Press),
        "power" | "btn3" => InputEvent::Button(Button::Power, Press),
        "toggle_effect" | "btn4" => InputEvent::Button(Button::Effect, Press),
        "static" => InputEvent::Static,
        "effect" => InputEvent::Effect,
        "frame_step" => InputEvent::FrameStep,
        "step" => InputEvent::Step(1),
        "step_back" => InputEvent::Step(-1),
        "quit" => return Some(Action::Quit),
        _ => return None,
    }))
}

/// The default key map (key names as `keyboard.rs` spells them).
pub fn default_keys() -> BTreeMap<String, Action> {
    [
        ("left", "selector_ccw"),
        ("right", "selector_cw"),
        ("tab", "selector_click"),
        ("down", "modulator_ccw"),
        ("up", "modulator_cw"),
        ("enter", "modulator_click"),
        ("e", "edit_mode"),
        ("l", "lamp"),
        ("p", "power"),
        ("t", "toggle_effect"),
        ("z", "static"),
        ("x", "effect"),
        ("f", "frame_step"),
        ("space", "step"),
        ("backspace", "step_back"),
        ("q", "quit"),
    ]
    .into_iter()
    .filter_map(|(k, a)| Some((k.to_string(), parse_action(a)?)))
    .collect()
}

/// Where an encoder's turns come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncoderSource {
    /// Its A and B lines on GPIO pins (BCM), decoded here from their edges.
    Gpio { a: u8, b: u8 },
    /// An input device of the kernel's `rotary-encoder` overlay, which decodes the lines itself.
    Evdev(std::path::PathBuf),
}

/// One encoder: its turns and its push switch (a GPIO pin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncoderPins {
    pub source: EncoderSource,
    pub button: Option<u8>,
}

/// Which keyboard to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyboardSource {
    /// The terminal when stdin is interactive, else nothing.
    Auto,
    Terminal,
    None,
    /// A Linux input device (a USB keypad).
    Evdev(std::path::PathBuf),
}

/// Validated input configuration.
#[derive(Clone, Debug)]
pub struct InputConfig {
    pub selector: Option<EncoderPins>,
    pub modulator: Option<EncoderPins>,
    pub buttons: Vec<u8>,
    pub long_press: Duration,
    pub debounce: Duration,
    pub acceleration: bool,
    pub keyboard: KeyboardSource,
    pub sim_socket: Option<std::path::PathBuf>,
    pub keys: BTreeMap<String, Action>,
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            selector: None,
            modulator: None,
            buttons: Vec::new(),
            long_press: Duration::from_secs(1),
            debounce: button::DEBOUNCE,
            acceleration: true,
            keyboard: KeyboardSource::Auto,
            sim_socket: None,
            keys: default_keys(),
        }
    }
}

impl InputConfig {
    /// Every GPIO pin the inputs use.
    pub fn pins(&self) -> Vec<u8> {
        self.pin_keys().into_iter().map(|(_, pin)| pin).collect()
    }

    /// Every GPIO pin the inputs use, with the config key that names it (`input.selector.a`, …).
    pub fn pin_keys(&self) -> Vec<(String, u8)> {
        let mut out = Vec::new();
        for (name, enc) in [("selector", &self.selector), ("modulator", &self.modulator)] {
            let Some(e) = enc else { continue };
            if let EncoderSource::Gpio { a, b } = e.source {
                out.push((format!("input.{name}.a"), a));
                out.push((format!("input.{name}.b"), b));
            }
            if let Some(p) = e.button {
                out.push((format!("input.{name}.button"), p));
            }
        }
        for (i, &p) in self.buttons.iter().enumerate() {
            out.push((format!("input.buttons[{i}]"), p));
        }
        out
    }

    /// The encoders read from a rotary-encoder input device.
    pub fn encoder_devices(&self) -> Vec<(hub::Knob, &std::path::Path)> {
        [
            (hub::Knob::Selector, &self.selector),
            (hub::Knob::Modulator, &self.modulator),
        ]
        .into_iter()
        .filter_map(|(knob, e)| match &e.as_ref()?.source {
            EncoderSource::Evdev(path) => Some((knob, path.as_path())),
            EncoderSource::Gpio { .. } => None,
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_cover_the_spec() {
        let k = default_keys();
        assert_eq!(k["right"], Action::Input(InputEvent::Selector(1)));
        assert_eq!(k["enter"], Action::Input(InputEvent::ModulatorClick));
        assert_eq!(
            k["e"],
            Action::Input(InputEvent::Button(Button::Edit, ButtonAction::Press))
        );
        assert_eq!(k["q"], Action::Quit);
        assert_eq!(k["space"], Action::Input(InputEvent::Step(1)));
        assert_eq!(parse_action("warp"), None);
    }

    #[test]
    fn pins_are_named_by_their_config_keys() {
        let cfg = InputConfig {
            selector: Some(EncoderPins {
                source: EncoderSource::Gpio { a: 5, b: 6 },
                button: Some(13),
            }),
            modulator: Some(EncoderPins {
                source: EncoderSource::Evdev("/dev/input/event3".into()),
                button: Some(26),
            }),
            buttons: vec![17, 27],
            ..Default::default()
        };
        let keys: Vec<(String, u8)> = cfg.pin_keys();
        let want = [
            ("input.selector.a", 5),
            ("input.selector.b", 6),
            ("input.selector.button", 13),
            ("input.modulator.button", 26),
            ("input.buttons[0]", 17),
            ("input.buttons[1]", 27),
        ];
        assert_eq!(keys, want.map(|(k, p)| (k.to_string(), p)));
        assert_eq!(cfg.pins(), [5, 6, 13, 26, 17, 27]);
        assert_eq!(
            cfg.encoder_devices(),
            [(
                hub::Knob::Modulator,
                std::path::Path::new("/dev/input/event3")
            )]
        );
    }
}
