//! The local inputs as the render loop consumes them: a knob turned or clicked, one of the four
//! buttons pressed, held or released, a keyboard shortcut. The input edges (`src/input/`) produce these;
//! how they are published on `B/event` is the MQTT bridge's business (`mqtt/event.rs`).

/// What a button did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ButtonAction {
    Press,
    LongPress,
    Release,
}

/// The four buttons of the control surface, by what they do (BTN1..BTN4 on the wiring diagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Button {
    /// BTN1: toggle edit mode.
    Edit,
    /// BTN2: toggle lamp mode.
    Lamp,
    /// BTN3: every zone off and on again.
    Power,
    /// BTN4: the selected zone between static and its effect; a long press recalls the next scene.
    Effect,
}

impl Button {
    /// In wiring order (`input.buttons[0]` is BTN1).
    pub const ALL: [Button; 4] = [Button::Edit, Button::Lamp, Button::Power, Button::Effect];

    /// Its number on the wiring diagram and on `B/event` (1–4).
    pub fn number(self) -> u8 {
        match self {
            Button::Edit => 1,
            Button::Lamp => 2,
            Button::Power => 3,
            Button::Effect => 4,
        }
    }

    /// BTN`n` (1–4).
    pub fn from_number(n: u8) -> Option<Button> {
        Button::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }
}

/// One input, as the render loop sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputEvent {
    /// Selector turned by this many detents (positive = clockwise).
    Selector(i32),
    /// Modulator turned by this many detents.
    Modulator(i32),
    SelectorClick,
    ModulatorClick,
    Button(Button, ButtonAction),
    /// Keyboard: the selected zone to its static colour / its effect.
    Static,
    Effect,
    /// Keyboard or `B/set`: toggle frame-step mode.
    FrameStep,
    /// Step the paused clock by this many frames.
    Step(i32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_numbered_as_wired() {
        for (i, b) in Button::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(b.number()), i + 1);
            assert_eq!(Button::from_number(b.number()), Some(b));
        }
        assert_eq!(Button::from_number(0), None);
        assert_eq!(Button::from_number(5), None);
    }
}
