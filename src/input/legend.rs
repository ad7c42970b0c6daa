//! The one-line key legend the terminal preview shows under the strips, built from the key map in
//! force (`[input] keys` over the defaults), so it names the keys that really do each thing.

use std::collections::BTreeMap;

use super::{Action, parse_action};

/// The legend's entries, most useful first (a narrow terminal cuts the end): what a newcomer reads,
/// and the actions whose keys it names, joined by `/` (`←/→ zone`).
const ENTRIES: [(&str, &[&str]); 13] = [
    ("edit", &["edit_mode"]),
    ("zone", &["selector_ccw", "selector_cw"]),
    ("value", &["modulator_cw", "modulator_ccw"]),
    ("target", &["modulator_click"]),
    ("quit", &["quit"]),
    ("next effect", &["selector_click"]),
    ("static/effect", &["toggle_effect"]),
    ("lamp", &["lamp"]),
    ("power", &["power"]),
    ("pause", &["frame_step"]),
    ("step", &["step", "step_back"]),
    ("static", &["static"]),
    ("effect", &["effect"]),
];

/// `e edit  ←/→ zone  ↑/↓ value  Enter target  q quit  …` for `keys`; entries without a key are left
/// out.
pub fn legend(keys: &BTreeMap<String, Action>) -> String {
    let mut parts = Vec::new();
    for (label, actions) in ENTRIES {
        let names: Vec<String> = actions
            .iter()
            .filter_map(|a| parse_action(a))
            .filter_map(|action| {
                let bound: Vec<&str> = keys
                    .iter()
                    .filter(|(_, a)| **a == action)
                    .map(|(k, _)| shown(k))
                    .collect();
                (!bound.is_empty()).then(|| bound.join("/"))
            })
            .collect();
        if !names.is_empty() {
            parts.push(format!("{} {label}", names.join("/")));
        }
    }
    parts.join("  ")
}

/// How a key name (as `keyboard.rs` spells it) is shown.
fn shown(key: &str) -> &str {
    match key {
        "left" => "←",
        "right" => "→",
        "up" => "↑",
        "down" => "↓",
        "enter" => "Enter",
        "tab" => "Tab",
        "space" => "Space",
        "backspace" => "Bksp",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::default_keys;

    #[test]
    fn the_default_legend_names_every_binding() {
        assert_eq!(
            legend(&default_keys()),
            "e edit  ←/→ zone  ↑/↓ value  Enter target  q quit  Tab next effect  t static/effect  \
             l lamp  p power  f pause  Space/Bksp step  z static  x effect"
        );
    }

    #[test]
    fn the_legend_follows_the_configured_keys() {
        let mut keys = default_keys();
        // Rebound, doubled and removed keys.
        keys.remove("e");
        keys.insert("1".into(), parse_action("edit_mode").unwrap());
        keys.insert("k".into(), parse_action("btn1").unwrap());
        keys.insert("j".into(), parse_action("selector_ccw").unwrap());
        keys.remove("q");
        let l = legend(&keys);
        assert!(l.starts_with("1/k edit  j/←/→ zone  ↑/↓ value"), "{l}");
        assert!(!l.contains("quit"), "{l}");
        assert_eq!(legend(&BTreeMap::new()), "");
    }
}
