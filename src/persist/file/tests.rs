//! State file tests: round trip, atomic replace, corrupt/missing/foreign files, config changes.

use super::*;
use crate::config::Config;

fn layout(zones: &[&str]) -> Layout {
    let mut t = String::from("[[strips]]\nid=\"a\"\n");
    for z in zones {
        t.push_str(&format!("[[zones]]\nid=\"{z}\"\nstrip=\"a\"\npixels=3\n"));
    }
    Config::from_toml(&t).unwrap().layout
}

fn zones(n: usize) -> Vec<ZoneState> {
    (0..n)
        .map(|_| ZoneState::new(Rgb::WHITE, 100, true, None))
        .collect()
}

fn snapshot() -> Snapshot {
    let mut zs = zones(2);
    zs[0].color = Rgb::new(1, 2, 3);
    zs[0].color_mode = ColorMode::Hs { h: 10.0, s: 50.0 };
    zs[0].on = false;
    let snake = effects::find("snake").unwrap();
    zs[1].effect = Some(snake);
    zs[1].last_effect = snake;
    zs[1].params[snake].set(ParamId::Speed, 77.0);
    Snapshot {
        zones: zs,
        master: MasterState { brightness: 99 },
        device: DeviceState {
            edit_mode: true,
            selected_zone: 1,
            edit_target: EditTarget::Brightness,
            ..Default::default()
        },
        preset: "red",
    }
}

#[test]
fn round_trips_through_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let l = layout(&["a", "b"]);
    let s = snapshot();
    save(&path, &StateFile::from_snapshot(&s, &l)).unwrap();
    assert!(
        !dir.path().join("state.json.tmp").exists(),
        "temp file renamed away"
    );
    let loaded = load(&path).unwrap();
    let (mut zs, mut m, mut d) = (zones(2), MasterState::default(), DeviceState::default());
    loaded.restore(&l, &mut zs, &mut m, &mut d);
    assert_eq!(zs, s.zones);
    assert_eq!(m, s.master);
    assert_eq!(
        (d.edit_mode, d.selected_zone, d.edit_target),
        (true, 1, EditTarget::Brightness)
    );
}

#[test]
fn missing_and_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    assert!(matches!(load(&path), Err(LoadError::Missing)));
    std::fs::write(&path, b"{\"zones\": {\"a\": trunc").unwrap();
    match load(&path) {
        Err(LoadError::Corrupt { moved_to, .. }) => assert!(moved_to.ends_with("state.json.bad")),
        other => panic!("{other:?}"),
    }
    assert!(!path.exists());
    assert!(dir.path().join("state.json.bad").exists());
    // Binary garbage too.
    std::fs::write(&path, [0xff, 0, 1, 2]).unwrap();
    assert!(matches!(load(&path), Err(LoadError::Corrupt { .. })));
}

#[test]
fn foreign_and_partial_files_keep_what_matches() {
    let l = layout(&["a", "b", "new"]);
    let text = r#"{"version": 7, "future": {"x": 1},
        "zones": {"gone": {"on": true, "brightness": 5, "color": [9,9,9], "color_mode": {"mode":"rgb"}, "effect": null, "last_effect": null},
                  "b": {"on": false, "brightness": 42, "color": [4,5,6], "color_mode": {"mode":"rgb"},
                        "effect": "no_such_effect", "last_effect": "snake", "extra": true,
                        "params": {"snake": {"speed": 500, "warp": 3}, "nope": {"speed": 1}}}}}"#;
    let f: StateFile = serde_json::from_str(text).unwrap();
    let (mut zs, mut m, mut d) = (zones(3), MasterState::default(), DeviceState::default());
    f.restore(&l, &mut zs, &mut m, &mut d);
    assert_eq!(
        zs[0],
        ZoneState::new(Rgb::WHITE, 100, true, None),
        "zone not in file keeps defaults"
    );
    assert_eq!(
        (zs[1].on, zs[1].brightness, zs[1].color),
        (false, 42, Rgb::new(4, 5, 6))
    );
    assert_eq!(zs[1].effect, None, "unknown effect → static");
    let snake = effects::find("snake").unwrap();
    assert_eq!(zs[1].last_effect, snake);
    assert_eq!(
        zs[1].params[snake].get(ParamId::Speed),
        100.0,
        "clamped to the declared range"
    );
    assert_eq!(
        zs[2],
        ZoneState::new(Rgb::WHITE, 100, true, None),
        "new zone gets defaults"
    );
}

#[test]
fn white_colour_modes_round_trip_and_fall_back_to_rgb() {
    let text = "[[strips]]\nid=\"w\"\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\n\
                [[zones]]\nid=\"a\"\nstrip=\"w\"\npixels=3\n[[zones]]\nid=\"b\"\nstrip=\"w\"\npixels=3\n";
    let l = Config::from_toml(text).unwrap().layout;
    let mut s = snapshot();
    s.zones[0].color_mode = ColorMode::Rgbw { w: 40 };
    s.zones[1].color = Rgb::BLACK;
    s.zones[1].color_mode = ColorMode::White;
    let file = StateFile::from_snapshot(&s, &l);
    assert_eq!(
        file.zones["a"]["color_mode"],
        serde_json::json!({"mode": "rgbw", "w": 40})
    );
    assert_eq!(
        file.zones["b"]["color_mode"],
        serde_json::json!({"mode": "white"})
    );
    let (mut zs, mut m, mut d) = (zones(2), MasterState::default(), DeviceState::default());
    file.restore(&l, &mut zs, &mut m, &mut d);
    assert_eq!(zs, s.zones);
    // The same file after the strip became RGB: the colours are kept as RGB.
    let rgb = layout(&["a", "b"]);
    let mut zs = zones(2);
    file.restore(&rgb, &mut zs, &mut m, &mut d);
    assert_eq!(
        (zs[0].color, zs[0].color_mode),
        (Rgb::new(1, 2, 3), ColorMode::Rgb)
    );
    assert_eq!(
        (zs[1].color, zs[1].color_mode),
        (Rgb::WHITE, ColorMode::Rgb)
    );
}
