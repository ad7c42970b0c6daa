//! State file tests: round trip, atomic replace, corrupt/missing/foreign files, FIFOs and oversized
//! files at the path, and validation of every restored value.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use super::file::{StateFile, bad_path, save};
use super::load::{LoadError, MAX_STATE_FILE, SavedState, load, parse};
use crate::color::Rgb;
use crate::config::Config;
use crate::effects::{self, ParamId};
use crate::engine::{ColorMode, DeviceState, EditTarget, MasterState, Snapshot, ZoneState};
use crate::layout::Layout;

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
        master: MasterState {
            brightness: 99,
            ..Default::default()
        },
        device: DeviceState {
            edit_mode: true,
            selected_zone: 1,
            edit_target: EditTarget::Brightness,
            ..Default::default()
        },
        preset: "red",
        library: Default::default(),
    }
}

/// Restores `f` onto fresh defaults for `n` zones.
fn restored(f: &SavedState, l: &Layout, n: usize) -> (Vec<ZoneState>, MasterState, DeviceState) {
    let (mut zs, mut m, mut d) = (zones(n), MasterState::default(), DeviceState::default());
    f.restore(l, &mut zs, &mut m, &mut d);
    (zs, m, d)
}

/// Runs `f` on another thread and fails the test if it does not finish in time (instead of hanging).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} blocked"))
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a directory entry.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
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
    let (zs, m, d) = restored(&load(&path, &l).unwrap(), &l, 2);
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
    let l = layout(&["a"]);
    assert!(matches!(load(&path, &l), Err(LoadError::Missing)));
    for garbage in [
        &b"{\"zones\": {\"a\": trunc"[..],
        &[0xff, 0, 1, 2],
        b"[1, 2]",
        b"",
    ] {
        std::fs::write(&path, garbage).unwrap();
        match load(&path, &l) {
            Err(LoadError::Corrupt { moved_to, .. }) => {
                assert!(moved_to.ends_with("state.json.bad"))
            }
            other => panic!("{garbage:?}: {other:?}"),
        }
        assert!(!path.exists());
        assert_eq!(std::fs::read(bad_path(&path)).unwrap(), garbage);
    }
}

#[test]
fn a_fifo_at_the_state_path_neither_blocks_nor_stays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    mkfifo(&path);
    let (p, l) = (path.clone(), layout(&["a"]));
    match within("loading a FIFO", move || load(&p, &l)) {
        Err(LoadError::Unusable { reason, .. }) => assert!(reason.contains("FIFO"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(!path.exists(), "moved aside so the writer can replace it");
    assert!(bad_path(&path).exists());
    // The writer replaces whatever is there, and a FIFO at its temp path cannot block it either.
    mkfifo(&path);
    mkfifo(&dir.path().join("state.json.tmp"));
    let l = layout(&["a", "b"]);
    let state = StateFile::from_snapshot(&snapshot(), &l);
    let p = path.clone();
    within("saving over FIFOs", move || save(&p, &state)).unwrap();
    assert!(std::fs::metadata(&path).unwrap().is_file());
    assert!(load(&path, &l).is_ok());
}

#[test]
fn other_non_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = layout(&["a"]);
    // A directory at the path.
    let path = dir.path().join("state.json");
    std::fs::create_dir(&path).unwrap();
    assert!(
        matches!(load(&path, &l), Err(LoadError::Unusable { reason, .. }) if reason.contains("directory"))
    );
    // A symlink to a device: refused from the stat, without opening the device.
    let link = dir.path().join("dev.json");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    assert!(
        matches!(load(&link, &l), Err(LoadError::Unusable { reason, .. }) if reason.contains("character device"))
    );
    // A symlink to a regular file is followed as before.
    let real = dir.path().join("real.json");
    std::fs::write(&real, br#"{"zones": {}}"#).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(load(&link, &l).is_ok());
}

#[test]
fn oversized_files_are_moved_aside_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let l = layout(&["a"]);
    // 50 MB (sparse: reading it would take the time and memory this must not take).
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(50 << 20).unwrap();
    drop(f);
    let p = path.clone();
    match within("refusing a 50 MB file", move || load(&p, &l)) {
        Err(LoadError::Unusable { reason, .. }) => assert!(reason.contains("4 MiB"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(bad_path(&path).exists());
    // One byte over the cap is too much; valid JSON at the cap is read.
    let l = layout(&["a"]);
    let body = br#"{"zones": {}, "pad": ""}"#;
    let pad = MAX_STATE_FILE as usize - body.len();
    let mut text = body[..body.len() - 2].to_vec();
    text.extend(std::iter::repeat_n(b'x', pad));
    text.extend(b"\"}");
    assert_eq!(text.len() as u64, MAX_STATE_FILE);
    std::fs::write(&path, &text).unwrap();
    assert!(load(&path, &l).is_ok(), "exactly at the cap");
    text.insert(text.len() - 2, b'x');
    std::fs::write(&path, &text).unwrap();
    assert!(matches!(load(&path, &l), Err(LoadError::Unusable { .. })));
}

#[test]
fn only_configured_zones_and_known_params_are_kept() {
    // A file of many unknown zones and a zone with thousands of unknown parameters: nothing of it is
    // held after reading, only the configured zone's record.
    let mut text = String::from(r#"{"zones": {"#);
    for i in 0..50_000 {
        text.push_str(&format!(
            r#""ghost{i}": {{"on": true, "junk": [1, 2, 3]}}, "#
        ));
    }
    text.push_str(r#""a": {"on": true, "brightness": 9, "color": [1, 2, 3], "color_mode": {"mode": "rgb"}, "effect": null, "last_effect": "snake", "params": {"snake": {"#);
    for i in 0..20_000 {
        text.push_str(&format!(r#""p{i}": {i}, "#));
    }
    text.push_str(r#""speed": 60}}}}}"#);
    let l = layout(&["a"]);
    let saved = parse(text.as_bytes(), &l).unwrap();
    assert_eq!(saved.zones.keys().collect::<Vec<_>>(), ["a"]);
    let (zs, ..) = restored(&saved, &l, 1);
    let snake = effects::find("snake").unwrap();
    assert_eq!(
        (zs[0].brightness, zs[0].params[snake].get(ParamId::Speed)),
        (9, 60.0)
    );
}

/// A valid record of zone `b` with `key` replaced by `value`.
fn record_with(key: &str, value: serde_json::Value) -> serde_json::Value {
    let mut r = serde_json::json!({"on": false, "brightness": 42, "color": [4, 5, 6],
        "color_mode": {"mode": "rgb"}, "effect": "snake", "last_effect": "snake",
        "params": {"snake": {"speed": 70}}});
    r[key] = value;
    r
}

#[test]
fn each_invalid_value_drops_only_its_zone() {
    use serde_json::json;
    let l = layout(&["a", "b"]);
    let good = json!({"on": true, "brightness": 7, "color": [9, 8, 7], "color_mode": {"mode": "rgb"}, "effect": null, "last_effect": null});
    let cases = [
        ("color_mode", json!({"mode": "hs", "h": 1e30, "s": 50})),
        ("color_mode", json!({"mode": "hs", "h": 361, "s": 50})),
        ("color_mode", json!({"mode": "hs", "h": -1, "s": 50})),
        ("color_mode", json!({"mode": "hs", "h": 10, "s": 101})),
        ("color_mode", json!({"mode": "hs", "h": 1e300, "s": 1})),
        ("color_mode", json!({"mode": "color_temp", "kelvin": 50})),
        ("color_mode", json!({"mode": "color_temp", "kelvin": 99999})),
        ("color_mode", json!({"mode": "color_temp", "kelvin": 1e12})),
        ("color_mode", json!({"mode": "xyz"})),
        ("brightness", json!(300)),
        ("brightness", json!(-1)),
        ("color", json!([256, 0, 0])),
        ("color", json!([1, 2])),
        ("on", json!("yes")),
        ("effect", json!("warp")),
        ("effect", json!(7)),
        ("last_effect", json!("warp")),
        ("params", json!({"snake": {"speed": 500}})),
        ("params", json!({"snake": {"speed": 0}})),
        ("params", json!({"snake": {"intensity": -5}})),
        ("params", json!({"snake": {"speed": "fast"}})),
    ];
    for (key, value) in cases {
        let text = json!({"zones": {"a": good, "b": record_with(key, value.clone())}}).to_string();
        let saved = parse(text.as_bytes(), &l).unwrap();
        let (zs, ..) = restored(&saved, &l, 2);
        assert_eq!(
            zs[1],
            ZoneState::new(Rgb::WHITE, 100, true, None),
            "{key} = {value}: zone falls back to its defaults"
        );
        assert_eq!(
            (zs[0].brightness, zs[0].color),
            (7, Rgb::new(9, 8, 7)),
            "{key} = {value}: the other zone is kept"
        );
    }
}

#[test]
fn valid_values_at_the_edges_are_restored() {
    use serde_json::json;
    let l = layout(&["b"]);
    let snake = effects::find("snake").unwrap();
    for (key, value) in [
        ("color_mode", json!({"mode": "hs", "h": 360, "s": 100})),
        ("color_mode", json!({"mode": "color_temp", "kelvin": 2700})),
        ("brightness", json!(0)),
        ("effect", json!(null)),
        ("last_effect", json!(null)),
        (
            "params",
            json!({"snake": {"speed": 100, "warp": 3}, "no_such_fx": {"speed": 9000}}),
        ),
    ] {
        let text = json!({"zones": {"b": record_with(key, value.clone())}}).to_string();
        let (zs, ..) = restored(&parse(text.as_bytes(), &l).unwrap(), &l, 1);
        assert_eq!(zs[0].color, Rgb::new(4, 5, 6), "{key} = {value}");
        assert!(zs[0].brightness >= 1);
    }
    // A value inside the command range but outside the effect's own is clamped, as a command would be.
    let text = json!({"zones": {"b": record_with("params", json!({"snake": {"length": 30}}))}});
    let (zs, ..) = restored(&parse(text.to_string().as_bytes(), &l).unwrap(), &l, 1);
    let own = effects::param_spec(snake, ParamId::Length).unwrap();
    assert_eq!(zs[0].params[snake].get(ParamId::Length), own.max);
}

#[test]
fn foreign_and_partial_files_keep_what_matches() {
    let l = layout(&["a", "b", "new"]);
    let text = r#"{"version": 7, "future": {"x": 1},
        "zones": {"gone": {"on": true, "brightness": 5, "color": [9,9,9], "color_mode": {"mode":"rgb"}, "effect": null, "last_effect": null},
                  "b": {"on": false, "brightness": 42, "color": [4,5,6], "color_mode": {"mode":"rgb"},
                        "effect": null, "last_effect": "snake", "extra": true,
                        "params": {"snake": {"speed": 80, "warp": 3}, "nope": {"speed": 1}}}},
        "master": {"brightness": "loud"},
        "device": {"edit_mode": true, "selected_zone": "b", "edit_target": "hue"}}"#;
    let saved = parse(text.as_bytes(), &l).unwrap();
    let (zs, m, d) = restored(&saved, &l, 3);
    let fresh = ZoneState::new(Rgb::WHITE, 100, true, None);
    assert_eq!(zs[0], fresh, "zone not in file keeps defaults");
    assert_eq!(
        (zs[1].on, zs[1].brightness, zs[1].color),
        (false, 42, Rgb::new(4, 5, 6))
    );
    let snake = effects::find("snake").unwrap();
    assert_eq!(zs[1].last_effect, snake);
    assert_eq!(zs[1].params[snake].get(ParamId::Speed), 80.0);
    assert_eq!(zs[2], fresh, "new zone gets defaults");
    assert_eq!(m, MasterState::default(), "invalid master record ignored");
    assert_eq!((d.edit_mode, d.selected_zone), (true, 1), "device kept");
}

#[test]
fn a_zones_section_of_the_wrong_shape_keeps_the_rest() {
    let l = layout(&["a"]);
    let saved = parse(br#"{"zones": [1, 2], "master": {"brightness": 50}}"#, &l).unwrap();
    assert!(saved.zones_error.is_some());
    let (zs, m, _) = restored(&saved, &l, 1);
    assert_eq!(zs[0], ZoneState::new(Rgb::WHITE, 100, true, None));
    assert_eq!(m.brightness, 50);
}

#[test]
fn white_colour_modes_round_trip_and_fall_back_to_rgb() {
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let text = "[[strips]]\nid=\"w\"\nled_type=\"sk6812\"\ncolor_order=\"GRBW\"\n\
                [[zones]]\nid=\"a\"\nstrip=\"w\"\npixels=3\n[[zones]]\nid=\"b\"\nstrip=\"w\"\npixels=3\n";
    let l = Config::from_toml(text).unwrap().layout;
    let mut s = snapshot();
    s.zones[0].color_mode = ColorMode::Rgbw { w: 40 };
    s.zones[1].color = Rgb::BLACK;
    s.zones[1].color_mode = ColorMode::White;
    let file = StateFile::from_snapshot(&s, &l);
    let record = serde_json::to_value(&file).unwrap();
    assert_eq!(
        record["zones"]["a"]["color_mode"],
        json!({"mode": "rgbw", "w": 40})
    );
    assert_eq!(record["zones"]["b"]["color_mode"], json!({"mode": "white"}));
    save(&path, &file).unwrap();
    // Validated like commands ({"color":{r,g,b,w}}, {"white":…}) and restored as they were.
    let (zs, ..) = restored(&load(&path, &l).unwrap(), &l, 2);
    assert_eq!(zs, s.zones);
    // The same file after the strip became RGB: the colours are kept as RGB.
    let rgb = layout(&["a", "b"]);
    let (zs, ..) = restored(&load(&path, &rgb).unwrap(), &rgb, 2);
    assert_eq!(
        (zs[0].color, zs[0].color_mode),
        (Rgb::new(1, 2, 3), ColorMode::Rgb)
    );
    assert_eq!(
        (zs[1].color, zs[1].color_mode, zs[1].brightness),
        (Rgb::WHITE, ColorMode::Rgb, 100)
    );
    // A white level no command could send drops the zone, as any invalid value does.
    for bad in [json!({"mode": "rgbw", "w": 256}), json!({"mode": "rgbw"})] {
        let text = json!({"zones": {"a": record_with("color_mode", bad.clone())}}).to_string();
        let (zs, ..) = restored(&parse(text.as_bytes(), &l).unwrap(), &l, 1);
        assert_eq!(zs[0], ZoneState::new(Rgb::WHITE, 100, true, None), "{bad}");
    }
}

#[test]
fn changes_waiting_on_the_bus_are_told_from_other_events() {
    use crate::engine::Event;
    use tokio::sync::broadcast;
    let master = || Event::Master {
        state: MasterState::default(),
        any_on: true,
    };
    let (tx, mut rx) = broadcast::channel(4);
    assert!(!super::changed_since(&mut rx).unwrap(), "nothing waiting");
    tx.send(Event::FirstFrame).unwrap();
    tx.send(Event::Rejected("no such scene".into())).unwrap();
    assert!(
        !super::changed_since(&mut rx).unwrap(),
        "no change among them"
    );
    tx.send(Event::FirstFrame).unwrap();
    tx.send(master()).unwrap();
    assert!(super::changed_since(&mut rx).unwrap(), "a master change");
    assert!(!super::changed_since(&mut rx).unwrap(), "all taken");
    for _ in 0..6 {
        tx.send(Event::FirstFrame).unwrap();
    }
    assert!(
        super::changed_since(&mut rx).unwrap(),
        "a lag may have hidden a change"
    );
    drop(tx);
    assert!(super::changed_since(&mut rx).is_err(), "the engine is gone");
}
