//! The wire format of local inputs on `B/event` (Home Assistant's `event` entity): each typed
//! [`InputEvent`] the render loop announces becomes `{"event_type", …, "zone"}` here, at the MQTT edge,
//! and the event types are listed once for discovery.

use serde_json::{Value, json};

use crate::engine::{ButtonAction, InputEvent};

/// Event types the `event` entity announces (the local control surface's inputs).
pub const EVENT_TYPES: &[&str] = &[
    "selector_cw",
    "selector_ccw",
    "selector_click",
    "modulator_cw",
    "modulator_ccw",
    "modulator_click",
    "button_press",
    "button_long_press",
    "button_release",
    "key",
];

/// The `event_type` published for `ev` (one of [`EVENT_TYPES`]).
pub fn event_type(ev: &InputEvent) -> &'static str {
    match ev {
        InputEvent::Selector(d) if *d >= 0 => "selector_cw",
        InputEvent::Selector(_) => "selector_ccw",
        InputEvent::Modulator(d) if *d >= 0 => "modulator_cw",
        InputEvent::Modulator(_) => "modulator_ccw",
        InputEvent::SelectorClick => "selector_click",
        InputEvent::ModulatorClick => "modulator_click",
        InputEvent::Button(_, ButtonAction::Press) => "button_press",
        InputEvent::Button(_, ButtonAction::LongPress) => "button_long_press",
        InputEvent::Button(_, ButtonAction::Release) => "button_release",
        InputEvent::Static | InputEvent::Effect | InputEvent::FrameStep | InputEvent::Step(_) => {
            "key"
        }
    }
}

/// The `B/event` payload: the event type, detents or button number where they apply, and the zone
/// selected when it happened (by id).
pub fn event_json(ev: &InputEvent, zone: Option<&str>) -> Value {
    let kind = event_type(ev);
    match ev {
        InputEvent::Selector(d) | InputEvent::Modulator(d) => {
            json!({"event_type": kind, "detents": d.abs(), "zone": zone})
        }
        InputEvent::Button(b, _) => json!({"event_type": kind, "button": b.number(), "zone": zone}),
        _ => json!({"event_type": kind, "zone": zone}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Button;

    #[test]
    fn every_event_type_is_announced_in_discovery() {
        let all = [
            InputEvent::Selector(2),
            InputEvent::Selector(-1),
            InputEvent::Modulator(1),
            InputEvent::Modulator(-3),
            InputEvent::SelectorClick,
            InputEvent::ModulatorClick,
            InputEvent::Button(Button::Edit, ButtonAction::Press),
            InputEvent::Button(Button::Edit, ButtonAction::LongPress),
            InputEvent::Button(Button::Edit, ButtonAction::Release),
            InputEvent::Static,
        ];
        for e in all {
            assert!(EVENT_TYPES.contains(&event_type(&e)), "{e:?}");
        }
    }

    #[test]
    fn payloads_carry_detents_button_numbers_and_the_zone() {
        assert_eq!(
            event_json(&InputEvent::Modulator(-3), Some("desk")),
            json!({"event_type": "modulator_ccw", "detents": 3, "zone": "desk"})
        );
        let long = InputEvent::Button(Button::Effect, ButtonAction::LongPress);
        assert_eq!(
            event_json(&long, None),
            json!({"event_type": "button_long_press", "button": 4, "zone": null})
        );
        assert_eq!(
            event_json(&InputEvent::Step(1), Some("a")),
            json!({"event_type": "key", "zone": "a"})
        );
    }
}
