//! Scene tests: capture and recall, zones that no longer exist, validation, limits, read-only names.

use super::*;

fn ids() -> Vec<String> {
    vec!["floor".into(), "desk".into()]
}

fn zones() -> Vec<ZoneState> {
    let mut a = ZoneState::new(Rgb::new(255, 0, 0), 100, true, None);
    let snake = effects::find("snake").unwrap();
    a.effect = Some(snake);
    a.last_effect = snake;
    a.params[snake].set(ParamId::Speed, 80.0);
    a.palette = Some(3);
    let mut b = ZoneState::new(Rgb::new(0, 0, 255), 40, false, None);
    b.color_mode = ColorMode::ColorTemp { kelvin: 2700 };
    vec![a, b]
}

#[test]
fn capture_then_recall_restores_every_zone_and_the_master() {
    let p = Palettes::default();
    let zs = zones();
    let master = MasterState {
        brightness: 77,
        ..Default::default()
    };
    let scene = Scene::capture(&zs, &ids(), &master, &p);
    assert_eq!(scene.zones["floor"].effect.as_deref(), Some("snake"));
    assert_eq!(scene.zones["floor"].params["speed"], 80.0);
    assert_eq!(
        scene.zones["desk"].params.len(),
        0,
        "a static zone has no parameters"
    );
    let mut other = vec![ZoneState::new(Rgb::WHITE, 255, true, None); 2];
    let mut m = MasterState::default();
    let r = scene.apply(&ids(), &mut other, &mut m, &p);
    assert_eq!(r.changed, vec![0, 1]);
    assert_eq!(r.restarted, vec![0]);
    assert!(r.missing.is_empty());
    assert_eq!(other, zs);
    assert_eq!(m.brightness, 77);
    // Through JSON (the state file) and back: the same.
    let text = serde_json::to_string(&scene).unwrap();
    let back: Scene = serde_json::from_str(&text).unwrap();
    assert_eq!(back.validated(&p, &mut |w| panic!("{w}")), scene);
}

#[test]
fn a_zone_that_no_longer_exists_is_reported_and_the_rest_applied() {
    let p = Palettes::default();
    let scene = Scene::capture(&zones(), &ids(), &MasterState::default(), &p);
    let now_ids = vec!["desk".to_string(), "attic".to_string()];
    let mut zs = vec![ZoneState::new(Rgb::WHITE, 255, true, None); 2];
    let r = scene.apply(&now_ids, &mut zs, &mut MasterState::default(), &p);
    assert_eq!(r.changed, vec![0]);
    assert_eq!(r.missing, vec!["floor".to_string()]);
    assert_eq!(zs[0].brightness, 40);
    assert_eq!(
        zs[1].brightness, 255,
        "a zone the scene does not name is untouched"
    );
}

#[test]
fn validation_clamps_like_a_command_would() {
    let p = Palettes::default();
    let text = r#"{"zones":{"floor":{"on":true,"brightness":0,"color":[1,2,3],
        "color_mode":{"mode":"hs","h":900.0,"s":-5.0},"effect":"snake",
        "params":{"speed":5000,"warp":1,"hue2":4},"palette":"nope"},
        "desk":{"on":true,"brightness":9,"color":[1,2,3],"color_mode":{"mode":"color_temp","kelvin":5},
        "effect":"no_such_effect"}},"master_brightness":0}"#;
    let s: Scene = serde_json::from_str(text).unwrap();
    let mut warnings = Vec::new();
    let s = s.validated(&p, &mut |w| warnings.push(w));
    let f = &s.zones["floor"];
    assert_eq!(f.brightness, 1);
    assert_eq!(f.color_mode, ColorMode::Hs { h: 360.0, s: 0.0 });
    assert_eq!(f.params.get("speed"), Some(&100.0));
    assert!(!f.params.contains_key("warp") && !f.params.contains_key("hue2"));
    assert_eq!(f.palette, None);
    let d = &s.zones["desk"];
    assert_eq!(d.color_mode, ColorMode::ColorTemp { kelvin: 1000 });
    assert_eq!(d.effect, None);
    assert_eq!(s.master_brightness, Some(1));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn ten_thousand_scenes_stop_at_the_limit() {
    let mut lib = Library::default();
    let scene = Scene::capture(
        &zones(),
        &ids(),
        &MasterState::default(),
        &Palettes::default(),
    );
    let mut refused = 0;
    for i in 0..10_000 {
        if lib.save_scene(&format!("s{i}"), scene.clone()) == Err(SceneError::TooMany) {
            refused += 1;
        }
    }
    assert_eq!(lib.scene_names().len(), MAX_SCENES);
    assert_eq!(refused, 10_000 - MAX_SCENES);
    // Overwriting an existing one is still allowed at the limit.
    assert!(lib.save_scene("s0", scene).is_ok());
}

#[test]
fn the_byte_budget_is_enforced() {
    let mut lib = Library::default();
    let mut big = Scene::default();
    for i in 0..2000 {
        big.zones.insert(
            format!("zone_{i:04}_with_a_long_name_to_fill_the_budget_quickly_xxxxxxxxxxxx"),
            SceneZone::capture(&zones()[0], &Palettes::default()),
        );
    }
    let mut full = None;
    for i in 0..50 {
        if let Err(e) = lib.save_scene(&format!("big{i}"), big.clone()) {
            full = Some(e);
            break;
        }
    }
    assert!(matches!(full, Some(SceneError::Full(_))), "{full:?}");
    let (saved, _) = lib.saved();
    assert!(serde_json::to_vec(&saved).unwrap().len() <= LIBRARY_BUDGET);
}

#[test]
fn declared_scenes_are_read_only_and_names_are_checked() {
    let s = Scene::default();
    let mut lib = Library::new(vec![("evening".into(), s.clone())], vec![], vec![], vec![]);
    assert_eq!(
        lib.save_scene("evening", s.clone()),
        Err(SceneError::ReadOnly("evening".into()))
    );
    assert!(lib.delete_scene("evening").is_err());
    lib.save_scene("mine", s.clone()).unwrap();
    assert_eq!(
        lib.rename_scene("mine", "evening"),
        Err(SceneError::ReadOnly("evening".into()))
    );
    lib.rename_scene("mine", "yours").unwrap();
    assert_eq!(
        lib.scene_names(),
        vec!["evening".to_string(), "yours".into()]
    );
    assert_eq!(
        lib.saved().0.len(),
        1,
        "only saved scenes go to the state file"
    );
    assert_eq!(
        lib.delete_scene("gone"),
        Err(SceneError::Unknown("gone".into()))
    );
    assert!(check_name("").is_err());
    assert!(check_name(&"x".repeat(65)).is_err());
    assert!(check_name("a\nb").is_err());
    assert!(check_name("None").is_err());
    assert_eq!(check_name("  Evening glow ").unwrap(), "Evening glow");
}

#[test]
fn next_scene_cycles_in_name_order() {
    let mut lib = Library::default();
    assert_eq!(lib.next_scene(), Err(SceneError::Empty));
    for n in ["b", "a", "c"] {
        lib.save_scene(n, Scene::default()).unwrap();
    }
    assert_eq!(lib.next_scene().unwrap(), "a");
    lib.current = Some("a".into());
    assert_eq!(lib.next_scene().unwrap(), "b");
    lib.current = Some("c".into());
    assert_eq!(lib.next_scene().unwrap(), "a", "wraps");
}
